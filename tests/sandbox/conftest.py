"""Fixtures: a seeded sandbox served on a real loopback socket, and httpx clients that carry
tokens fetched from the sandbox's own token endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.sandbox import RunningSandbox, Sandbox, SandboxConfig, start

# Building an SSL context costs ~50 ms per httpx client; the tests create hundreds of
# plain-http clients, so they share one.
SSL_CONTEXT = httpx.create_ssl_context()


def http_client(base_url: str = "", headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=headers, verify=SSL_CONTEXT, timeout=10.0)


def fetch_token(
    running: RunningSandbox, audience: str, tenant: str | None = None, **overrides: str
) -> httpx.Response:
    """POST the token endpoint the way MSAL does (form body, client secret in the body)."""
    config = running.sandbox.config
    resource = running.fno_url if audience == "fno" else running.dataverse_url
    form = {
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "grant_type": "client_credentials",
        "scope": f"{resource}/.default",
        **overrides,
    }
    url = f"{running.identity_url}/{tenant or config.tenant_id}/oauth2/v2.0/token"
    with http_client() as client:
        return client.post(url, data=form)


def service_client(running: RunningSandbox, audience: str) -> httpx.Client:
    token = fetch_token(running, audience).json()["access_token"]
    root = (
        running.fno_url + "/data/"
        if audience == "fno"
        else running.dataverse_url + "/api/data/v9.2/"
    )
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return http_client(base_url=root, headers=headers)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain client for calls that choose their own URL and headers."""
    with http_client() as client:
        yield client


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig()


@pytest.fixture
def sandbox(config: SandboxConfig) -> Sandbox:
    return Sandbox.from_seed(config=config)


@pytest.fixture
def running(sandbox: Sandbox) -> Iterator[RunningSandbox]:
    with start(sandbox) as served:
        yield served


@pytest.fixture
def fno(running: RunningSandbox) -> Iterator[httpx.Client]:
    with service_client(running, "fno") as client:
        yield client


@pytest.fixture
def dataverse(running: RunningSandbox) -> Iterator[httpx.Client]:
    with service_client(running, "dataverse") as client:
        yield client
