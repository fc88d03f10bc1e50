"""Serving: start/stop, serve_forever's readiness callback, profile values, and the rule that
the sandbox shares no code with the client."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import httpx
import pytest

from reconciler.sandbox import RunningSandbox, Sandbox, serve_forever, start

from .conftest import http_client, service_client

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler" / "sandbox"


def test_profile_values_point_at_the_running_server(running: RunningSandbox) -> None:
    values = running.profile_values()
    assert values["fno_url"] == f"http://127.0.0.1:{running.port}/fno"
    assert values["dataverse_url"] == running.base_url + "/dataverse"
    assert values["identity_url"] == running.base_url + "/login"
    assert values["client_secret"] == running.sandbox.config.client_secret
    assert values["companies"] == running.sandbox.companies


def test_stop_releases_the_port() -> None:
    running = start(Sandbox())
    port = running.port
    running.stop()
    with http_client() as client, pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{port}/fno/data/")


def test_serve_forever_announces_readiness_and_stops() -> None:
    ready = threading.Event()
    served: list[RunningSandbox] = []

    def on_ready(running: RunningSandbox) -> None:
        served.append(running)
        ready.set()

    sandbox = Sandbox.from_seed()
    worker = threading.Thread(target=serve_forever, args=(sandbox, "127.0.0.1", 0, on_ready))
    worker.start()
    assert ready.wait(10)
    with service_client(served[0], "fno") as client:
        assert client.get("LegalEntities").status_code == 200
    served[0].stop()
    worker.join(10)
    assert not worker.is_alive()


def test_sandbox_imports_no_client_code() -> None:
    """Key escaping, paging, filters and batch parsing must not be shared with the client."""
    offenders = []
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {name}"
                for name in names
                if name.startswith("reconciler") and not name.startswith("reconciler.sandbox")
            ]
    assert offenders == []
