"""Client-credential tokens from Microsoft Entra ID (MSAL), and an ``httpx.Auth`` that uses them.

MSAL does the OAuth work and the token caching; this module feeds it an HTTP client built
on httpx (so ``REQUESTS_CA_BUNDLE`` and the ``requests`` stack play no part) that can also
redirect MSAL's traffic to a loopback identity endpoint for local emulators
(api-protocols C, loopback option 1). Every failure becomes an :class:`AuthError` naming
tenant, client id and resource with a hint, and never the secret.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import msal
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from reconciler.errors import AuthError, ConfigError, TokenRejectedError

__all__ = ["BearerAuth", "ClientCredential", "TokenProvider"]

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
_MULTI_TENANT_ALIASES = frozenset({"common", "organizations", "consumers"})

_HINTS: dict[str, str] = {
    "invalid_client": (
        "Check the client secret or certificate of app registration {client_id}: wrong "
        "value, expired, or registered on another app?"
    ),
    "unauthorized_client": (
        "Application {client_id} is not known in tenant {tenant}: check the client id, "
        "the tenant id, and that the app is registered or consented there."
    ),
    "invalid_scope": (
        "Check the resource URL {resource}: it must be the environment URL, e.g. "
        "https://org.crm.dynamics.com or https://env.operations.dynamics.com."
    ),
    "invalid_resource": (
        "No service principal for {resource} in tenant {tenant}: check the profile's service "
        "URL and that the environment belongs to this tenant."
    ),
    "invalid_tenant": "Check the tenant id {tenant} (a GUID or a verified domain).",
    "invalid_request": "Check the tenant id {tenant} and the resource URL {resource}.",
}
_DEFAULT_HINT = "Check the tenant id, the client id and the credential in the profile."


@dataclass(frozen=True)
class ClientCredential:
    """Exactly one of a client secret or a PEM certificate file (private key + certificate).

    The secret and password are read from environment variables by the caller; they never
    appear in ``repr`` or in any message.
    """

    secret: str | None = field(default=None, repr=False)
    certificate_path: Path | None = None
    certificate_password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.secret is None) == (self.certificate_path is None):
            raise ConfigError(
                "give exactly one client credential: a client secret or a certificate file"
            )
        if self.secret is not None and not self.secret.strip():
            raise ConfigError("the client secret is empty: is its environment variable set?")

    def __repr__(self) -> str:
        if self.certificate_path is None:
            return "ClientCredential(secret=<hidden>)"
        password = "<hidden>" if self.certificate_password else "None"
        return (
            f"ClientCredential(certificate_path={str(self.certificate_path)!r}, "
            f"certificate_password={password})"
        )

    def describe(self) -> str:
        """Which kind of credential, for messages: never its value."""
        if self.certificate_path is None:
            return "client secret"
        return f"certificate {self.certificate_path}"

    def hidden_values(self) -> tuple[str, ...]:
        """Strings that must be scrubbed from any text before it is shown."""
        return tuple(v for v in (self.secret, self.certificate_password) if v)


def _msal_credential(credential: ClientCredential) -> str | dict[str, str]:
    """What MSAL's ``client_credential`` expects: the secret, or key PEM + SHA-1 thumbprint.

    The SHA-1 thumbprint (``x5t``) form works on every MSAL this project allows (>= 1.31);
    the key is decrypted here so a wrong password is reported against the file.
    """
    if credential.certificate_path is None:
        assert credential.secret is not None
        return credential.secret
    path = credential.certificate_path
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read certificate file {path}: {exc.strerror}") from exc
    key, certificate = _load_pem(pem, path, credential.certificate_password)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    thumbprint = certificate.fingerprint(hashes.SHA1()).hex().upper()
    return {"private_key": key_pem.decode("ascii"), "thumbprint": thumbprint}


def _load_pem(
    pem: bytes, path: Path, password: str | None
) -> tuple[PrivateKeyTypes, x509.Certificate]:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise ConfigError(f"no PEM certificate found in {path}") from exc
    try:
        key = serialization.load_pem_private_key(
            pem, password.encode("utf-8") if password else None
        )
    except TypeError as exc:
        raise ConfigError(
            f"the private key in {path} is encrypted and no certificate password was given"
            if password is None
            else f"the private key in {path} is not encrypted; remove the certificate password"
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError(
            f"cannot load the private key in {path}: wrong certificate password, or no "
            "PEM private key in the file"
        ) from exc
    if _public_der(key.public_key()) != _public_der(certificate.public_key()):
        raise ConfigError(f"the private key in {path} does not belong to its certificate")
    return key, certificate


def _public_der(public_key: Any) -> bytes:
    der: bytes = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


@dataclass
class _Failure:
    """The last error answer MSAL received, kept because MSAL's own messages drop it."""

    url: str
    status: int
    error: str
    description: str


class _MsalHttpClient:
    """The ``http_client`` MSAL calls instead of a ``requests.Session``.

    MSAL (1.39) wraps it in its ThrottledHttpClient and calls ``get(url, params=,
    headers=)`` for tenant discovery and ``post(url, params=, data=, headers=)`` for tokens
    (``data`` a dict, the client assertion as bytes); it reads ``status_code``, ``text`` and
    ``headers`` of the answer, and the wrapper's ``close()`` calls ours. An httpx.Response
    also has the ``raise_for_status()`` MSAL's HttpClient contract asks for. With an
    ``identity_endpoint``, URLs on the authority host go there and nothing leaves loopback.
    """

    def __init__(
        self, client: httpx.Client, authority_host: str, identity_endpoint: str | None
    ) -> None:
        self._client = client
        self._authority = _origin(authority_host)
        self._endpoint = identity_endpoint.rstrip("/") if identity_endpoint else None
        self.last_failure: _Failure | None = None

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str | None] | None = None,
        **_: Any,
    ) -> httpx.Response:
        return self._send("GET", url, params=params, headers=headers)

    def post(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, Any] | str | None = None,
        headers: Mapping[str, str | None] | None = None,
        **_: Any,
    ) -> httpx.Response:
        return self._send("POST", url, params=params, headers=headers, data=data)

    def close(self) -> None:
        self._client.close()

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str | None] | None,
        data: Mapping[str, Any] | str | None = None,
    ) -> httpx.Response:
        wire_headers = {k: v for k, v in (headers or {}).items() if v is not None}
        content: bytes | None = None
        if isinstance(data, Mapping):
            # urlencode, not httpx's data=: MSAL passes the client assertion as bytes,
            # which httpx would send as the text "b'...'".
            content = urlencode(data, doseq=True).encode("ascii")
            wire_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(data, str):
            content = data.encode("utf-8")
        request = self._client.build_request(
            method, self._route(url), params=params, headers=wire_headers, content=content
        )
        response = self._send_once_more_if_unconnected(request)
        if response.status_code >= 400:
            self.last_failure = _failure(url, response)
        return response

    def _send_once_more_if_unconnected(self, request: httpx.Request) -> httpx.Response:
        """A refused connection never delivered anything, so one more try is safe; this is
        the single retry MSAL's own ``requests`` adapter would make."""
        try:
            return self._client.send(request)
        except httpx.ConnectError:
            return self._client.send(request)

    def _route(self, url: str) -> str:
        if self._endpoint is None:
            return url
        parts = urlsplit(url)
        if _origin(url) == self._authority:
            query = f"?{parts.query}" if parts.query else ""
            return f"{self._endpoint}{parts.path}{query}"
        if _origin(url) == _origin(self._endpoint):
            return url
        raise _RefusedRoute(
            f"MSAL tried to reach {_origin(url)} while identity_endpoint={self._endpoint} is "
            "set; only the authority host is redirected there, so the request was refused"
        )


class _RefusedRoute(RuntimeError):
    """MSAL wanted a host other than the authority while traffic must stay on loopback."""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _failure(url: str, response: httpx.Response) -> _Failure:
    try:
        payload = json.loads(response.text)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return _Failure(url, response.status_code, "", " ".join(response.text.split())[:200])
    return _Failure(
        url,
        response.status_code,
        str(payload.get("error") or ""),
        str(payload.get("error_description") or ""),
    )


class TokenProvider:
    """One MSAL ConfidentialClientApplication per run; one token per resource, cached by MSAL.

    The application is created on the first ``token()`` call because MSAL's constructor
    already talks to the identity provider (tenant discovery); its failures then surface as
    AuthError at the point of use. Thread-safe: callers share one provider. ``transport``
    is httpx's seam for tests, as in ODataClient.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        credential: ClientCredential,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        identity_endpoint: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.tenant_id = _required("tenant_id", tenant_id)
        self.client_id = _required("client_id", client_id)
        if self.tenant_id.lower() in _MULTI_TENANT_ALIASES:
            raise ConfigError(
                f"tenant_id {tenant_id!r} is not a tenant: client credentials need the "
                "directory (tenant) id or domain of the app registration"
            )
        self.authority_host = _authority_host(authority_host)
        self.identity_endpoint = _loopback_endpoint(identity_endpoint)
        self.token_requests = 0
        self._credential = credential
        self._client_credential = _msal_credential(credential)  # bad files fail here, early
        self._lock = threading.Lock()
        self._app: Any = None
        self._http = _MsalHttpClient(
            httpx.Client(
                timeout=timeout, trust_env=self.identity_endpoint is None, transport=transport
            ),
            self.authority_host,
            self.identity_endpoint,
        )

    def __repr__(self) -> str:
        return (
            f"TokenProvider(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, "
            f"credential={self._credential!r}, authority_host={self.authority_host!r})"
        )

    def token(self, resource_url: str) -> str:
        """An access token for ``resource_url`` (scope ``<resource>/.default``)."""
        scope = f"{resource_url.rstrip('/')}/.default"
        with self._lock:
            self._http.last_failure = None
            result = self._acquire(scope, resource_url)
            token = result.get("access_token")
            if not isinstance(token, str) or not token:
                raise self._error(resource_url, self._result_detail(result), result.get("error"))
            if result.get("token_source") == "identity_provider":
                self.token_requests += 1
            return token

    def close(self) -> None:
        """Close the HTTP connections used for the identity provider."""
        self._http.close()

    def __enter__(self) -> TokenProvider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _acquire(self, scope: str, resource_url: str) -> dict[str, Any]:
        """MSAL raises ValueError, RuntimeError, KeyError, MsalServiceError or httpx errors
        depending on what broke; to the caller each means "no token", so all become
        AuthError here, with the identity provider's own error when one was received."""
        try:
            if self._app is None:
                self._app = self._application()
            result: dict[str, Any] = self._app.acquire_token_for_client(scopes=[scope])
        except httpx.HTTPError as exc:
            host = urlsplit(str(exc.request.url)).netloc if _has_request(exc) else "?"
            detail = f"cannot reach the identity provider at {host} ({type(exc).__name__}: {exc})"
            raise self._error(resource_url, detail, "unreachable") from exc
        except Exception as exc:
            raise self._error(resource_url, self._exception_detail(exc), None) from exc
        return result

    def _application(self) -> Any:
        emulated = self.identity_endpoint is not None
        return msal.ConfidentialClientApplication(
            self.client_id,
            client_credential=self._client_credential,
            authority=f"{self.authority_host}/{self.tenant_id}",
            http_client=self._http,
            azure_region=False if emulated else None,
            instance_discovery=False if emulated else None,
        )

    def _exception_detail(self, exc: Exception) -> str:
        failure = self._http.last_failure
        if failure is not None:
            return _failure_text(failure)
        if isinstance(exc, _RefusedRoute):
            return str(exc)
        cause = exc.__context__ if isinstance(exc, ValueError) and exc.__context__ else exc
        return f"{type(exc).__name__}: {cause}"

    def _result_detail(self, result: Mapping[str, Any]) -> str:
        error = str(result.get("error") or "no access_token in the answer")
        description = str(result.get("error_description") or "").split("\r\n")[0].strip()
        return f"{error}: {description}" if description else error

    def _error(self, resource_url: str, detail: str, error_code: object) -> AuthError:
        hint = self._hint(str(error_code or ""))
        message = (
            f"Could not get a token for {resource_url} (tenant {self.tenant_id}, client id "
            f"{self.client_id}, {self._credential.describe()}): {detail.rstrip('. ')}. "
            + hint.format(client_id=self.client_id, tenant=self.tenant_id, resource=resource_url)
        )
        return AuthError(self._scrub(message))

    def _hint(self, code: str) -> str:
        failure = self._http.last_failure
        if code == "unreachable":
            return f"Check the network or proxy, and the authority host {self.authority_host}."
        if failure is not None and failure.status >= 500:
            return "Microsoft Entra ID is unavailable right now: try again later."
        return _HINTS.get(code or (failure.error if failure else ""), _DEFAULT_HINT)

    def _scrub(self, text: str) -> str:
        for value in self._credential.hidden_values():
            text = text.replace(value, "<hidden>")
        return text


def _failure_text(failure: _Failure) -> str:
    first_line = failure.description.split("\r\n")[0].strip()
    what = f"{failure.error}: {first_line}" if failure.error else first_line
    return f"HTTP {failure.status} from {urlsplit(failure.url).path}: {what}"


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when the error has no request
    except RuntimeError:
        return False
    return True


def _required(name: str, value: str) -> str:
    if not value or not value.strip():
        raise ConfigError(f"{name} is empty: set it in the profile")
    return value.strip()


def _authority_host(url: str) -> str:
    parts = urlsplit(url.rstrip("/"))
    if parts.scheme != "https" or not parts.hostname or parts.path or parts.query:
        raise ConfigError(
            f"authority_host must be an https URL without a path, such as "
            f"{DEFAULT_AUTHORITY_HOST} or https://login.microsoftonline.us, not {url!r}"
        )
    return f"https://{parts.netloc}"


def _loopback_endpoint(url: str | None) -> str | None:
    """Only a loopback http(s) URL may receive MSAL's traffic: a local emulator."""
    if url is None:
        return None
    parts = urlsplit(url)
    plain = parts.scheme in ("http", "https") and not parts.query and not parts.username
    if plain and _is_loopback(parts.hostname):
        return url.rstrip("/")
    raise ConfigError(
        f"identity_endpoint must be a loopback http(s) URL such as http://127.0.0.1:8400/login "
        f"(local emulators only), not {url!r}"
    )


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer …`` for one resource; turns a 401 into a clear error.

    A 401 here means Entra issued the token but the service refuses this application, so
    asking again would not help: the fix is on the service side, and the message says so.
    """

    requires_response_body = True

    def __init__(self, provider: TokenProvider, resource_url: str) -> None:
        self._provider = provider
        self._resource = resource_url.rstrip("/")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._provider.token(self._resource)}"
        response = yield request
        if response.status_code == 401:
            raise self._rejected(request, response)

    def _rejected(self, request: httpx.Request, response: httpx.Response) -> TokenRejectedError:
        challenge = response.headers.get("WWW-Authenticate", "")
        detail = f" ({' '.join(challenge.split())[:200]})" if challenge else ""
        message = (
            f"{request.method} {request.url.copy_with(query=None)} was refused with 401 "
            f"Unauthorized{detail}: Entra ID issued a token for {self._resource}, but the "
            f"service does not accept application {self._provider.client_id}. For Dataverse, "
            "add it as an application user with a security role (Power Platform admin center "
            "> environment > Settings > Application users); for F&O, register it under "
            "System administration > Setup > Microsoft Entra applications, mapped to a user."
        )
        return TokenRejectedError(
            message,
            status=401,
            method=request.method,
            url=str(request.url.copy_with(query=None)),
        )
