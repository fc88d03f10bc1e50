"""Entra ID stand-in: tenant discovery and the client-credentials token endpoint that MSAL
talks to (api-protocols.md C, loopback option 1), plus bearer-token checks for the services.

Tokens are opaque random strings remembered with their audience and expiry; the error bodies
follow the AADSTS shapes Entra returns (error, error_description, error_codes, ...).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.messages import ApiResponse, json_response

AUTHORITY_HOST = "https://login.microsoftonline.com"
AUDIENCES = ("fno", "dataverse")


@dataclass(frozen=True)
class IssuedToken:
    audience: str
    client_id: str
    expires_at: float


class TokenRegistry:
    """Issued access tokens; thread-safe because tests may issue tokens directly."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[str, IssuedToken] = {}
        self._lock = threading.Lock()

    def issue(self, audience: str, client_id: str, lifetime_seconds: float) -> str:
        token = secrets.token_urlsafe(32)
        expires_at = self._clock() + lifetime_seconds
        with self._lock:
            self._tokens[token] = IssuedToken(audience, client_id, expires_at)
        return token

    def validate(self, authorization: str | None, audience: str) -> IssuedToken | None:
        """The token behind an ``Authorization: Bearer`` header, if valid for ``audience``."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        with self._lock:
            issued = self._tokens.get(token.strip())
        if issued is None or issued.audience != audience or issued.expires_at <= self._clock():
            return None
        return issued

    def expire_all(self) -> None:
        """Make every issued token stale (tests of re-authentication)."""
        with self._lock:
            self._tokens = {
                token: IssuedToken(t.audience, t.client_id, 0.0)
                for token, t in self._tokens.items()
            }


def aad_error(status: int, error: str, code: int, description: str) -> ApiResponse:
    """Entra's OAuth error body; the description ends with trace/correlation ids like the
    real service so clients that surface it verbatim look the same."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    payload = {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\n"
            f"Correlation ID: {correlation}\r\nTimestamp: {now}"
        ),
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"{AUTHORITY_HOST}/error?code={code}",
    }
    return json_response(status, payload)


def _tenant_not_found(tenant: str, error: str) -> ApiResponse:
    return aad_error(
        400,
        error,
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud. Check with your subscription administrator, this "
        "may happen if there are no active subscriptions for the tenant.",
    )


def openid_configuration(config: SandboxConfig, tenant: str) -> ApiResponse:
    """Discovery document. Endpoints keep the login.microsoftonline.com host: MSAL requires
    https and the client's http_client rewrites that host to the sandbox."""
    if tenant.lower() != config.tenant_id.lower():
        return _tenant_not_found(tenant, "invalid_tenant")
    base = f"{AUTHORITY_HOST}/{config.tenant_id}"
    document = {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
    }
    return json_response(200, document)


def _audience_of(resource: str, host: str) -> str | None:
    """Which service a ``<url>/.default`` resource names: ``http://<host>/fno`` or
    ``http://<host>/dataverse`` (a trailing slash is tolerated, as Entra does)."""
    parts = urlsplit(resource)
    if parts.netloc.lower() != host.lower():
        return None
    path = parts.path.rstrip("/")
    return path[1:] if path in ("/fno", "/dataverse") else None


class TokenEndpoint:
    """``POST /login/{tenant}/oauth2/v2.0/token`` for the client-credentials grant."""

    def __init__(self, config: SandboxConfig, tokens: TokenRegistry, count: Callable[[str], None]):
        self._config = config
        self._tokens = tokens
        self._count = count

    def handle(self, tenant: str, host: str, body: bytes) -> ApiResponse:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        rejection = self._reject_request(tenant, form)
        if rejection is not None:
            return rejection
        audience_or_error = self._audience(form.get("scope", ""), host)
        if isinstance(audience_or_error, ApiResponse):
            return audience_or_error
        self._count(audience_or_error)
        lifetime = self._config.token_lifetime_seconds
        token = self._tokens.issue(audience_or_error, form["client_id"], lifetime)
        payload = {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }
        return json_response(200, payload)

    def _reject_request(self, tenant: str, form: dict[str, str]) -> ApiResponse | None:
        """Checks in the order Entra applies them: tenant, grant, client, secret."""
        config = self._config
        client_id = form.get("client_id", "")
        if tenant.lower() != config.tenant_id.lower():
            return _tenant_not_found(tenant, "invalid_request")
        if form.get("grant_type") != "client_credentials":
            grant = form.get("grant_type", "")
            return aad_error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        if client_id.lower() != config.client_id.lower():
            return aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may "
                "have sent your authentication request to the wrong tenant.",
            )
        if "client_secret" not in form:
            return aad_error(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the "
                "'client_credentials' grant type.",
            )
        if not secrets.compare_digest(form["client_secret"], config.client_secret):
            return aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{config.client_id}'.",
            )
        return None

    def _audience(self, scope: str, host: str) -> str | ApiResponse:
        scopes = scope.split()
        if not scopes:
            return aad_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        resource = scopes[0][: -len("/.default")]
        audience = _audience_of(resource, host)
        if audience is None:
            return aad_error(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{self._config.tenant_id}. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in the "
                "tenant. You might have sent your authentication request to the wrong tenant.",
            )
        return audience
