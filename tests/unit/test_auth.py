"""TokenProvider and BearerAuth against a fake Entra ID on a real loopback socket.

The fake speaks the two endpoints MSAL uses for client credentials (tenant discovery and
the token endpoint) with Entra's error JSON, so MSAL itself runs unmodified.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from reconciler.auth import BearerAuth, ClientCredential, TokenProvider
from reconciler.errors import AuthError, ConfigError, TokenRejectedError

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SECRET = "very-secret-value~123"
DATAVERSE = "https://org.crm.dynamics.com"
FNO = "https://env.operations.dynamics.com"


@dataclass
class FakeEntra:
    """State and answers of the fake identity provider."""

    secret: str = SECRET
    resources: tuple[str, ...] = (DATAVERSE, FNO)
    public_key: Any = None
    echo_secret: bool = False
    token_host: str = "login.microsoftonline.com"
    outage: bool = False
    token_posts: list[dict[str, str]] = field(default_factory=list)
    discovery_gets: int = 0

    def discovery(self, tenant: str) -> tuple[int, dict[str, Any]]:
        self.discovery_gets += 1
        if tenant != TENANT:
            return 400, _entra_error(
                "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure"
            )
        base = f"https://login.microsoftonline.com/{tenant}"
        return 200, {
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"https://{self.token_host}/{tenant}/oauth2/v2.0/token",
            "issuer": f"{base}/v2.0",
        }

    def token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_posts.append(form)
        if self.outage:
            return 503, {"error": "temporarily_unavailable", "error_description": "busy"}
        if form.get("client_id") != CLIENT_ID:
            return 400, _entra_error(
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' was "
                f"not found in the directory '{tenant}'.",
            )
        if not self._credential_ok(form, tenant):
            description = "AADSTS7000215: Invalid client secret provided."
            if self.echo_secret:
                description += f" You sent {form.get('client_secret')}."
            return 401, _entra_error("invalid_client", description)
        resource = form.get("scope", "").removesuffix("/.default")
        if resource not in self.resources:
            return 400, _entra_error(
                "invalid_scope", f"AADSTS1002012: The provided value for scope {resource} is bad."
            )
        return 200, {
            "token_type": "Bearer",
            "expires_in": 3599,
            "access_token": f"token-for-{resource}-{len(self.token_posts)}",
        }

    def _credential_ok(self, form: dict[str, str], tenant: str) -> bool:
        if "client_assertion" in form:
            return self.public_key is not None and _assertion_ok(
                form["client_assertion"], self.public_key, tenant
            )
        return form.get("client_secret") == self.secret


def _entra_error(error: str, description: str) -> dict[str, Any]:
    return {
        "error": error,
        "error_description": f"{description}\r\nTrace ID: 0\r\nCorrelation ID: 0",
        "error_codes": [int(description.split(":")[0].removeprefix("AADSTS"))],
    }


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _assertion_ok(assertion: str, public_key: Any, tenant: str) -> bool:
    """A real check of MSAL's client assertion: RS256 signature, x5t, issuer, audience."""
    header_b64, payload_b64, signature_b64 = assertion.split(".")
    header = json.loads(_b64decode(header_b64))
    payload = json.loads(_b64decode(payload_b64))
    public_key.verify(
        _b64decode(signature_b64),
        f"{header_b64}.{payload_b64}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    audience = f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
    return (
        header["alg"] == "RS256"
        and len(_b64decode(header["x5t"])) == 20
        and payload["iss"] == CLIENT_ID
        and payload["aud"] == audience
    )


def _handler(entra: FakeEntra) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = self.path.split("/")  # "", "login", tenant, "v2.0", ".well-known", …
            if parts[1:2] == ["login"] and self.path.endswith("/.well-known/openid-configuration"):
                self._answer(*entra.discovery(parts[2]))
            else:
                self._answer(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            parts = self.path.split("/")
            if parts[1:2] == ["login"] and self.path.endswith("/oauth2/v2.0/token"):
                self._answer(*entra.token(parts[2], form))
            else:
                self._answer(404, {"error": "not_found"})

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    return Handler


@pytest.fixture
def entra() -> Iterator[tuple[FakeEntra, str]]:
    state = FakeEntra()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/login"
    finally:
        server.shutdown()
        server.server_close()


def _provider(endpoint: str, **overrides: Any) -> TokenProvider:
    options: dict[str, Any] = {
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "credential": ClientCredential(secret=SECRET),
        "identity_endpoint": endpoint,
    }
    options.update(overrides)
    return TokenProvider(**options)


# --- tokens -------------------------------------------------------------------------------


def test_one_token_request_per_resource_however_often_asked(entra: tuple[FakeEntra, str]) -> None:
    state, endpoint = entra
    with _provider(endpoint) as provider:
        dataverse_tokens = {provider.token(DATAVERSE) for _ in range(5)}
        fno_tokens = {provider.token(FNO + "/") for _ in range(5)}

    assert len(dataverse_tokens) == len(fno_tokens) == 1
    assert provider.token_requests == 2
    assert state.discovery_gets == 1
    assert [post["scope"] for post in state.token_posts] == [
        f"{DATAVERSE}/.default",
        f"{FNO}/.default",
    ]
    assert state.token_posts[0]["grant_type"] == "client_credentials"


def test_bad_secret_names_tenant_client_and_resource_but_not_the_secret(
    entra: tuple[FakeEntra, str],
) -> None:
    state, endpoint = entra
    state.secret = "the-right-one"
    state.echo_secret = True  # a misbehaving server must not leak it either
    with _provider(endpoint) as provider, pytest.raises(AuthError) as caught:
        provider.token(DATAVERSE)

    message = str(caught.value)
    assert TENANT in message and CLIENT_ID in message and DATAVERSE in message
    assert "invalid_client" in message and "AADSTS7000215" in message
    assert "client secret" in message  # the hint says what to check
    assert SECRET not in message and SECRET not in repr(caught.value)
    assert "Trace ID" not in message


def test_unknown_application_gets_its_own_hint(entra: tuple[FakeEntra, str]) -> None:
    _, endpoint = entra
    other = "99999999-0000-0000-0000-000000000000"
    with _provider(endpoint, client_id=other) as provider, pytest.raises(AuthError) as caught:
        provider.token(FNO)
    assert "AADSTS700016" in str(caught.value)
    assert f"Application {other} is not known in tenant {TENANT}" in str(caught.value)


def test_unknown_tenant_fails_discovery_with_a_clear_error(entra: tuple[FakeEntra, str]) -> None:
    _, endpoint = entra
    provider = _provider(endpoint, tenant_id="no-such-tenant")
    with provider, pytest.raises(AuthError) as caught:
        provider.token(DATAVERSE)
    message = str(caught.value)
    assert "no-such-tenant" in message and "AADSTS90002" in message
    assert "Check the tenant id" in message


def test_unknown_resource_is_an_invalid_scope(entra: tuple[FakeEntra, str]) -> None:
    _, endpoint = entra
    with _provider(endpoint) as provider, pytest.raises(AuthError) as caught:
        provider.token("https://typo.crm.dynamics.com")
    assert "invalid_scope" in str(caught.value)
    assert "Check the resource URL https://typo.crm.dynamics.com" in str(caught.value)


def test_unreachable_identity_provider() -> None:
    provider = _provider(f"http://127.0.0.1:{_closed_port()}/login")
    with provider, pytest.raises(AuthError) as caught:
        provider.token(DATAVERSE)
    assert "cannot reach the identity provider" in str(caught.value)
    assert TENANT in str(caught.value)


def test_identity_provider_outage(entra: tuple[FakeEntra, str]) -> None:
    state, endpoint = entra
    state.outage = True
    with _provider(endpoint) as provider, pytest.raises(AuthError) as caught:
        provider.token(FNO)
    assert "HTTP 503" in str(caught.value) and "temporarily_unavailable" in str(caught.value)
    assert "try again later" in str(caught.value)


def test_traffic_off_the_authority_host_is_refused_in_emulator_mode(
    entra: tuple[FakeEntra, str],
) -> None:
    state, endpoint = entra
    state.token_host = "login.elsewhere.example"
    with _provider(endpoint) as provider, pytest.raises(AuthError) as caught:
        provider.token(FNO)
    assert "https://login.elsewhere.example" in str(caught.value)
    assert TENANT in str(caught.value) and FNO in str(caught.value)
    assert state.token_posts == []


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_certificate_credential_signs_a_valid_assertion(
    entra: tuple[FakeEntra, str], tmp_path: Path
) -> None:
    state, endpoint = entra
    pem, public_key = _certificate_pem(password=b"pem-password")
    (tmp_path / "app.pem").write_bytes(pem)
    state.public_key = public_key
    credential = ClientCredential(
        certificate_path=tmp_path / "app.pem", certificate_password="pem-password"
    )
    with _provider(endpoint, credential=credential) as provider:
        assert provider.token(FNO).startswith("token-for-")
    assert "client_secret" not in state.token_posts[0]


def test_wrong_certificate_password_is_a_config_error(
    entra: tuple[FakeEntra, str], tmp_path: Path
) -> None:
    _, endpoint = entra
    pem, _ = _certificate_pem(password=b"right")
    (tmp_path / "app.pem").write_bytes(pem)
    credential = ClientCredential(certificate_path=tmp_path / "app.pem", certificate_password="x")
    with pytest.raises(ConfigError, match="wrong certificate password") as caught:
        _provider(endpoint, credential=credential)
    assert "right" not in str(caught.value).replace("wrong", "")


def _certificate_pem(password: bytes) -> tuple[bytes, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reconciler-test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    return key_pem + certificate.public_bytes(serialization.Encoding.PEM), key.public_key()


# --- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://login.example.com/login",
        "https://10.1.2.3:8443/login",
        "ftp://127.0.0.1/login",
        "http://127.0.0.1.example.com/login",
        "http://user@127.0.0.1/login",
    ],
)
def test_non_loopback_identity_endpoint_is_refused(endpoint: str) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        _provider(endpoint)


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:8400/login", "https://[::1]:9/x", "http://localhost:1/"]
)
def test_loopback_identity_endpoints_are_accepted(endpoint: str) -> None:
    _provider(endpoint).close()


@pytest.mark.parametrize("host", ["http://login.microsoftonline.com", "https://x.com/tenant"])
def test_authority_host_must_be_https_without_path(host: str) -> None:
    with pytest.raises(ConfigError, match="authority_host"):
        _provider(None, authority_host=host)


def test_multi_tenant_aliases_are_refused() -> None:
    with pytest.raises(ConfigError, match="not a tenant"):
        _provider(None, tenant_id="common")


def test_credential_needs_exactly_one_kind() -> None:
    with pytest.raises(ConfigError):
        ClientCredential()
    with pytest.raises(ConfigError):
        ClientCredential(secret="x", certificate_path=Path("a.pem"))
    with pytest.raises(ConfigError, match="empty"):
        ClientCredential(secret="  ")


def test_reprs_never_show_secrets() -> None:
    secret = ClientCredential(secret=SECRET)
    cert = ClientCredential(certificate_path=Path("/k/app.pem"), certificate_password="pw-42")
    provider = TokenProvider(tenant_id=TENANT, client_id=CLIENT_ID, credential=secret)
    assert SECRET not in repr(secret) and SECRET not in repr(provider)
    assert "pw-42" not in repr(cert) and "/k/app.pem" in repr(cert)
    provider.close()


# --- BearerAuth -------------------------------------------------------------------------


def test_bearer_auth_adds_the_token_and_explains_a_401(entra: tuple[FakeEntra, str]) -> None:
    _, endpoint = entra
    seen: list[str] = []

    def service(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.url.path.endswith("accounts"):
            return httpx.Response(200, json={"value": []})
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    with _provider(endpoint) as provider:
        auth = BearerAuth(provider, DATAVERSE + "/")
        with httpx.Client(transport=httpx.MockTransport(service), auth=auth) as client:
            assert client.get(f"{DATAVERSE}/api/data/v9.2/accounts").status_code == 200
            with pytest.raises(TokenRejectedError) as caught:
                client.get(f"{DATAVERSE}/api/data/v9.2/contacts?$filter=x")

    assert seen[0] == seen[1] and seen[0].startswith("Bearer token-for-")
    message = str(caught.value)
    assert DATAVERSE in message and CLIENT_ID in message and "application user" in message
    assert "$filter" not in message
    assert caught.value.status == 401


# --- what MSAL sends on the wire (no emulator redirect) -------------------------------


@pytest.mark.parametrize(
    "host", ["https://login.microsoftonline.com", "https://login.microsoftonline.us"]
)
def test_well_known_hosts_skip_instance_discovery(host: str) -> None:
    seen: list[str] = []

    def identity(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        if request.method == "GET":
            base = f"{host}/{TENANT}"
            return httpx.Response(
                200,
                json={
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "issuer": f"{base}/v2.0",
                },
            )
        form = parse_qs(request.content.decode())
        assert form["client_secret"] == [SECRET] and "Authorization" not in request.headers
        return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})

    provider = TokenProvider(
        tenant_id=TENANT,
        client_id=CLIENT_ID,
        credential=ClientCredential(secret=SECRET),
        authority_host=host,
        transport=httpx.MockTransport(identity),
    )
    with provider:
        assert provider.token(DATAVERSE) == provider.token(DATAVERSE) == "t"
    assert seen == [
        f"GET {host}/{TENANT}/v2.0/.well-known/openid-configuration",
        f"POST {host}/{TENANT}/oauth2/v2.0/token",
    ]
