"""Dataverse service protection (A9) and injected faults."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from reconciler.sandbox import RunningSandbox, Sandbox, SandboxConfig

from .conftest import service_client


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(dataverse_request_limit=3, protection_retry_after=7)


def test_request_limit_gives_429_with_retry_after(
    dataverse: httpx.Client, fno: httpx.Client, sandbox: Sandbox
) -> None:
    statuses = [dataverse.get("businessunits").status_code for _ in range(4)]
    throttled = dataverse.get("businessunits")
    assert statuses == [200, 200, 200, 429]
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.json() == {
        "error": {
            "code": "0x80072322",
            "message": "Number of requests exceeded the limit of 3 over time window of "
            "300 seconds.",
        }
    }
    assert fno.get("Warehouses").status_code == 200
    assert sandbox.stats.throttled["dataverse"] == 2


def test_window_slides(running: RunningSandbox) -> None:
    running.sandbox.config.dataverse_window_seconds = 0.3
    with service_client(running, "dataverse") as client:
        assert [client.get("businessunits").status_code for _ in range(4)][-1] == 429
        time.sleep(0.35)
        assert client.get("businessunits").status_code == 200


def test_concurrency_limit(running: RunningSandbox) -> None:
    running.sandbox.config.dataverse_concurrency_limit = 1
    running.sandbox.faults.inject("dataverse", "slow", 1, delay=0.5)
    results: list[httpx.Response] = []
    with service_client(running, "dataverse") as slow, service_client(running, "dataverse") as fast:
        worker = threading.Thread(target=lambda: results.append(slow.get("businessunits")))
        worker.start()
        time.sleep(0.2)
        rejected = fast.get("businessunits")
        worker.join()
    assert results[0].status_code == 200
    assert rejected.status_code == 429
    assert rejected.json()["error"] == {
        "code": "0x80072326",
        "message": "Number of concurrent requests exceeded the limit of 1.",
    }


def test_injected_fno_429_then_recovery(fno: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.inject("fno", "429", 2, retry_after=3, path_contains="Warehouses")
    assert fno.get("LegalEntities").status_code == 200
    first, second, third = (fno.get("Warehouses") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "3"
    assert "high resource utilization" in first.json()["error"]["innererror"]["message"]
    assert sandbox.faults.pending() == 0


def test_injected_dataverse_503_and_clear(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.inject("dataverse", "503", 5)
    assert dataverse.get("msdyn_warehouses").status_code == 503
    sandbox.faults.clear()
    assert dataverse.get("msdyn_warehouses").status_code == 200


def test_slow_fault_delays_then_answers(fno: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.inject("fno", "slow", 1, delay=0.3)
    started = time.monotonic()
    assert fno.get("Warehouses").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_faults_need_authentication_first(running: RunningSandbox, http: httpx.Client) -> None:
    running.sandbox.faults.inject("fno", "503", 1)
    assert http.get(f"{running.fno_url}/data/Warehouses").status_code == 401
    assert running.sandbox.faults.pending() == 1


@pytest.mark.parametrize(
    ("service", "kind", "count"), [("crm", "429", 1), ("fno", "drop", 1), ("fno", "503", 0)]
)
def test_inject_validates_arguments(sandbox: Sandbox, service: str, kind: str, count: int) -> None:
    with pytest.raises(ValueError):
        sandbox.faults.inject(service, kind, count)  # type: ignore[arg-type]
