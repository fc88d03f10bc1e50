"""Each service's error payload (api-protocols.md A10 and B7) and the exception that carries
one out of deep code paths."""

from __future__ import annotations

from reconciler.sandbox.messages import ApiResponse, json_response

FNO_WRITE_EXCEPTION = "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"
ODATA_EXCEPTION = "Microsoft.OData.ODataException"
FNO_THROTTLE_MESSAGE = (
    "This request could not be processed at this time due to system experiencing high "
    "resource utilization."
)


class ServiceError(Exception):
    """Raised by handlers; the service turns it into its own error JSON."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        inner_type: str = ODATA_EXCEPTION,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.inner_type = inner_type
        self.headers = headers or []


def fno_error(
    status: int,
    inner_message: str,
    *,
    message: str = "An error has occurred.",
    inner_type: str = ODATA_EXCEPTION,
    headers: list[tuple[str, str]] | None = None,
) -> ApiResponse:
    """F&O puts a generic ``message`` and the useful text in ``innererror.message``."""
    payload = {
        "error": {
            "code": "",
            "message": message,
            "innererror": {"message": inner_message, "type": inner_type, "stacktrace": ""},
        }
    }
    return json_response(status, payload, headers)


def fno_error_from(exc: ServiceError) -> ApiResponse:
    return fno_error(exc.status, exc.message, inner_type=exc.inner_type, headers=exc.headers)


def dataverse_error(
    status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
) -> ApiResponse:
    """Dataverse's ``{"error":{"code","message"}}``; code is a hex string or empty."""
    return json_response(status, {"error": {"code": code, "message": message}}, headers)


def dataverse_error_from(exc: ServiceError) -> ApiResponse:
    return dataverse_error(exc.status, exc.code, exc.message, exc.headers)
