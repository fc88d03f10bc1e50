"""Identity endpoints (api-protocols.md C) and bearer-token checks on both services."""

from __future__ import annotations

from typing import Any

import httpx
import msal
import pytest
import requests

from reconciler.sandbox import RunningSandbox

from .conftest import fetch_token

AUTHORITY = "https://login.microsoftonline.com"


class _Rewriting(requests.Session):
    """MSAL http_client that sends login.microsoftonline.com traffic to the sandbox."""

    def __init__(self, identity_url: str) -> None:
        super().__init__()
        self.identity_url = identity_url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        verb = method.decode() if isinstance(method, bytes) else method
        text = url.decode() if isinstance(url, bytes) else url
        return super().request(verb, text.replace(AUTHORITY, self.identity_url), *args, **kwargs)


def _msal_app(running: RunningSandbox, tenant: str) -> msal.ConfidentialClientApplication:
    config = running.sandbox.config
    return msal.ConfidentialClientApplication(
        config.client_id,
        client_credential=config.client_secret,
        authority=f"{AUTHORITY}/{tenant}",
        http_client=_Rewriting(running.identity_url),
    )


def test_discovery_document_names_the_real_authority(
    running: RunningSandbox, http: httpx.Client
) -> None:
    tenant = running.sandbox.config.tenant_id
    url = f"{running.identity_url}/{tenant}/v2.0/.well-known/openid-configuration"
    document = http.get(url).json()
    assert document["token_endpoint"] == f"{AUTHORITY}/{tenant}/oauth2/v2.0/token"
    assert document["authorization_endpoint"] == f"{AUTHORITY}/{tenant}/oauth2/v2.0/authorize"
    assert document["issuer"] == f"{AUTHORITY}/{tenant}/v2.0"
    assert "client_secret_post" in document["token_endpoint_auth_methods_supported"]


def test_unknown_tenant_discovery_is_invalid_tenant(
    running: RunningSandbox, http: httpx.Client
) -> None:
    url = f"{running.identity_url}/nope/v2.0/.well-known/openid-configuration"
    response = http.get(url)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_tenant"
    assert "AADSTS90002: Tenant 'nope' not found" in response.json()["error_description"]


def test_msal_acquires_and_caches_a_token(running: RunningSandbox) -> None:
    app = _msal_app(running, running.sandbox.config.tenant_id)
    scopes = [f"{running.dataverse_url}/.default"]
    first = app.acquire_token_for_client(scopes)
    second = app.acquire_token_for_client(scopes)
    assert first["token_type"] == "Bearer" and first["access_token"]
    assert second["token_source"] == "cache"
    assert running.sandbox.stats.token_requests["dataverse"] == 1


def test_msal_reports_an_unknown_tenant(running: RunningSandbox) -> None:
    with pytest.raises(ValueError, match="tenant"):
        _msal_app(running, "11111111-2222-3333-4444-555555555555")


def test_token_success_counts_per_audience(running: RunningSandbox) -> None:
    response = fetch_token(running, "fno")
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3600
    assert running.sandbox.stats.token_requests == {"fno": 1}


@pytest.mark.parametrize(
    ("overrides", "status", "error", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", "AADSTS7000215"),
        (
            {"client_id": "22222222-0000-0000-0000-000000000000"},
            400,
            "unauthorized_client",
            "AADSTS700016",
        ),
        (
            {"scope": "https://example.crm.dynamics.com/.default"},
            400,
            "invalid_resource",
            "AADSTS500011",
        ),
        ({"scope": "user_impersonation"}, 400, "invalid_scope", "AADSTS1002012"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", "AADSTS70003"),
    ],
)
def test_token_errors(
    running: RunningSandbox, overrides: dict[str, str], status: int, error: str, code: str
) -> None:
    response = fetch_token(running, "fno", **overrides)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"].startswith(code)
    assert not running.sandbox.stats.token_requests


def test_wrong_secret_message_explains_secret_value(running: RunningSandbox) -> None:
    description = fetch_token(running, "fno", client_secret="x").json()["error_description"]
    assert "Invalid client secret provided" in description


def test_missing_token_is_401_on_both_services(running: RunningSandbox, http: httpx.Client) -> None:
    fno = http.get(f"{running.fno_url}/data/Warehouses")
    dataverse = http.get(f"{running.dataverse_url}/api/data/v9.2/msdyn_warehouses")
    assert fno.status_code == dataverse.status_code == 401
    assert dataverse.content == b""
    assert dataverse.headers["WWW-Authenticate"].startswith(
        "Bearer authorization_uri=https://login.microsoftonline.com/"
    )
    assert running.sandbox.stats.requests == {"fno": 1, "dataverse": 1}


def test_token_for_other_audience_is_rejected(running: RunningSandbox, http: httpx.Client) -> None:
    token = fetch_token(running, "fno").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{running.dataverse_url}/api/data/v9.2/msdyn_warehouses"
    assert http.get(url, headers=headers).status_code == 401
    assert http.get(f"{running.fno_url}/data/Warehouses", headers=headers).status_code == 200


def test_expired_token_is_rejected(running: RunningSandbox, http: httpx.Client) -> None:
    token = fetch_token(running, "fno").json()["access_token"]
    running.sandbox.tokens.expire_all()
    response = http.get(
        f"{running.fno_url}/data/Warehouses", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
