"""Turn an HTTP error answer from F&O or Dataverse into one readable :class:`ServiceError`.

Both services wrap errors in ``{"error": {...}}`` but put the useful text in different
places: Dataverse in ``message`` (plus optional ``@Microsoft.PowerApps.CDS.*`` annotations),
F&O in ``innererror.message`` behind a generic "An error has occurred." (api-protocols
A10, B7). Stack traces are never copied; gateway HTML is shown as a short snippet.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import httpx

from reconciler.errors import PreconditionFailedError, ServiceError, TokenRejectedError

__all__ = [
    "ErrorBody",
    "Service",
    "error_from_response",
    "error_from_status",
    "malformed_payload",
    "parse_error_body",
    "resource_name",
    "service_label",
    "url_without_query_values",
]

Service = Literal["fno", "dataverse"]

_LABELS: dict[str, str] = {"fno": "F&O", "dataverse": "Dataverse"}
_GENERIC_MESSAGES = frozenset({"", "an error has occurred."})
_DATAVERSE_INNER = "@Microsoft.PowerApps.CDS.InnerError.Message"
_REQUEST_ID_HEADERS = ("x-ms-service-request-id", "req_id", "request-id", "x-ms-request-id")
_MAX_TEXT = 1000
_MAX_SNIPPET = 200

_HINTS: dict[int, str] = {
    401: (
        "the service refused the access token: give the app registration access "
        "(Dataverse: an application user with a security role; F&O: a Microsoft Entra "
        "applications entry mapped to a user)"
    ),
    403: "the application's user lacks a privilege for this operation: check its roles",
    412: "the row changed since it was read: re-read it (re-run plan) before writing",
}


@dataclass(frozen=True)
class ErrorBody:
    """The parts of an OData error payload worth showing."""

    code: str
    message: str
    inner_message: str

    def text(self) -> str:
        """The human sentence: the inner message when the outer one says nothing."""
        if self.message.strip().lower() in _GENERIC_MESSAGES:
            return self.inner_message or self.message
        if self.inner_message and self.inner_message != self.message:
            return f"{self.message} ({self.inner_message})"
        return self.message


def service_label(service: str) -> str:
    """``fno`` → ``F&O``, ``dataverse`` → ``Dataverse``."""
    return _LABELS.get(service, service)


def url_without_query_values(url: httpx.URL | str) -> str:
    """The URL with query values replaced by ``…``: option names help, values may be secret."""
    parts = urlsplit(str(url))
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if not parts.query:
        return base
    names = [pair.split("=", 1)[0] for pair in parts.query.split("&") if pair]
    return base + "?" + "&".join(f"{unquote(name)}=…" for name in names)


def resource_name(url: httpx.URL | str, root_url: str) -> str:
    """The decoded path relative to the service root, e.g. ``Warehouses(dataAreaId='usmf',…)``."""
    path = urlsplit(str(url)).path
    root_path = urlsplit(root_url).path
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    return unquote(path) or "/"


def parse_error_body(text: str) -> ErrorBody | None:
    """The ``{"error": …}`` payload of either service, or None if the body is not one."""
    try:
        payload = json.loads(text)
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None
    return ErrorBody(
        code=_string(error.get("code")),
        message=_string(error.get("message")),
        inner_message=_inner_message(error),
    )


def _inner_message(error: Mapping[str, Any]) -> str:
    inner = error.get("innererror")
    if isinstance(inner, dict) and inner.get("message"):
        return _string(inner["message"])
    return _string(error.get(_DATAVERSE_INNER))


def _string(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def error_from_response(response: httpx.Response, *, service: str, root_url: str) -> ServiceError:
    """The ServiceError (or a subclass by status) for a failed response; reads the body."""
    response.read()
    request = response.request
    return error_from_status(
        status=response.status_code,
        reason=response.reason_phrase,
        body=response.text,
        headers=response.headers,
        method=request.method,
        url=str(request.url),
        service=service,
        root_url=root_url,
    )


def error_from_status(
    *,
    status: int,
    reason: str,
    body: str,
    headers: Mapping[str, str],
    method: str,
    url: str,
    service: str,
    root_url: str,
) -> ServiceError:
    """Shared by whole responses and ``$batch`` parts, which have no httpx.Response."""
    parsed = parse_error_body(body)
    text = _clip(parsed.text(), _MAX_TEXT) if parsed else _snippet(reason, body)
    message = f"{service_label(service)} {method} {resource_name(url, root_url)} failed: {status}"
    message += f" {text}" if text else ""
    if parsed and parsed.code:
        message += f" (code {parsed.code})"
    if status in _HINTS:
        message += f"; {_HINTS[status]}"
    message += _request_id(headers)
    return _error_class(status)(
        message,
        status=status,
        code=parsed.code if parsed else "",
        service_message=parsed.message if parsed else text,
        inner_message=parsed.inner_message if parsed else "",
        method=method,
        url=url_without_query_values(url),
    )


def _error_class(status: int) -> type[ServiceError]:
    if status == 412:
        return PreconditionFailedError
    if status == 401:
        return TokenRejectedError
    return ServiceError


def _snippet(reason: str, body: str) -> str:
    collapsed = " ".join(re.sub(r"<[^>]*>", " ", body).split()) if body else ""
    if not collapsed:
        return f"{reason} (empty body)" if reason else "(empty body)"
    snippet = _clip(collapsed, _MAX_SNIPPET)
    return f"{reason}: {snippet}" if reason else snippet


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _request_id(headers: Mapping[str, str]) -> str:
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in _REQUEST_ID_HEADERS:
        if lowered.get(name):
            return f" [request id {lowered[name]}]"
    return ""


def malformed_payload(
    *, service: str, method: str, url: httpx.URL | str, root_url: str, detail: str
) -> ServiceError:
    """A 2xx answer whose body is not what OData promises (e.g. no ``value`` array)."""
    message = (
        f"{service_label(service)} {method} {resource_name(url, root_url)} returned a malformed "
        f"payload: {detail} (URL {url_without_query_values(url)}); is the service root right?"
    )
    return ServiceError(message, method=method, url=url_without_query_values(url))
