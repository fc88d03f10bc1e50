"""Connection-drop faults (``drop_before``, ``drop_after``), the ``method`` filter of fault
injection, and the hooks that change rows as a concurrent user would."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from reconciler.sandbox import RunningSandbox, Sandbox
from tests.sandbox.batch_body import batch, changeset, operation

from .conftest import service_client

WAREHOUSES = "msdyn_warehouses"
FNO_WAREHOUSE = "Warehouses(dataAreaId='usmf',WarehouseId='12')"
FNO_KEY = {"dataAreaId": "usmf", "WarehouseId": "12"}
# Whatever the exact exception, a drop must surface as a transport failure of the request.
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def server_log() -> Iterator[list[str]]:
    """Warnings and errors uvicorn logs (its loggers do not propagate to caplog)."""
    handler = _Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def _names(sandbox: Sandbox) -> set[str]:
    return {row["msdyn_name"] for row in sandbox.dataverse.rows(WAREHOUSES)}


def test_drop_before_writes_nothing(
    dataverse: httpx.Client, sandbox: Sandbox, server_log: list[str]
) -> None:
    sandbox.faults.inject("dataverse", "drop_before", 1, path_contains=WAREHOUSES)
    with pytest.raises(DROPPED):
        dataverse.post(WAREHOUSES, json={"msdyn_name": "NEVER STORED"})
    assert "NEVER STORED" not in _names(sandbox)
    assert sandbox.stats.dropped["dataverse"] == 1
    again = dataverse.post(WAREHOUSES, json={"msdyn_name": "STORED ON RETRY"})
    assert again.status_code == 204 and "STORED ON RETRY" in _names(sandbox)
    assert server_log == []


def test_drop_after_commits_whole_batch(
    dataverse: httpx.Client, sandbox: Sandbox, server_log: list[str]
) -> None:
    root = "/dataverse/api/data/v9.2/"
    creates = [
        operation("POST", f"{root}{WAREHOUSES}", {"msdyn_name": f"BATCHED {n}"}, str(n))
        for n in (1, 2)
    ]
    headers, body = batch([changeset("changeset_a", creates)])
    sandbox.faults.inject("dataverse", "drop_after", 1, path_contains="$batch", method="POST")
    with pytest.raises(DROPPED):
        dataverse.post("$batch", content=body, headers=headers)
    assert {"BATCHED 1", "BATCHED 2"} <= _names(sandbox)
    assert sandbox.stats.dropped["dataverse"] == 1
    assert sandbox.stats.batch_parts["dataverse"] == 2
    assert server_log == []


def test_drop_after_is_never_a_status_even_when_streaming(
    fno: httpx.Client, sandbox: Sandbox
) -> None:
    before = sandbox.fno.get("Warehouses", FNO_KEY)
    assert before is not None
    sandbox.faults.inject("fno", "drop_after", 1, method="PATCH")
    with pytest.raises(DROPPED), fno.stream("PATCH", FNO_WAREHOUSE, json={"WarehouseName": "X"}):
        pytest.fail("a dropped connection produced a response")
    after = sandbox.fno.get("Warehouses", FNO_KEY)
    assert after is not None and after["WarehouseName"] == "X"
    assert after["@odata.etag"] != before["@odata.etag"]
    assert sandbox.stats.dropped == {"fno": 1}


def test_method_filter_spares_reads(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.inject("dataverse", "drop_before", 1, method="post")
    assert dataverse.get(WAREHOUSES).status_code == 200
    assert sandbox.faults.pending() == 1
    with pytest.raises(DROPPED):
        dataverse.post(WAREHOUSES, json={"msdyn_name": "DROPPED"})
    assert sandbox.faults.pending() == 0
    assert "DROPPED" not in _names(sandbox)


def test_requests_are_counted_and_other_clients_unaffected(running: RunningSandbox) -> None:
    sandbox = running.sandbox
    sandbox.faults.inject("fno", "drop_before", 2, path_contains="Warehouses")
    with service_client(running, "fno") as client:
        for _ in range(2):
            with pytest.raises(DROPPED):
                client.get("Warehouses")
        assert client.get("Warehouses").status_code == 200
    assert sandbox.stats.requests["fno"] == 3
    assert sandbox.stats.dropped["fno"] == 2


def test_inject_rejects_unknown_method(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown method"):
        sandbox.faults.inject("fno", "drop_after", 1, method="FETCH")


def test_edit_dataverse_row_is_seen_as_a_concurrent_change(
    dataverse: httpx.Client, sandbox: Sandbox
) -> None:
    row = sandbox.dataverse.rows(WAREHOUSES)[0]
    url = f"{WAREHOUSES}({row['msdyn_warehouseid']})"
    edited = sandbox.edit_dataverse_row(WAREHOUSES, row["msdyn_warehouseid"], {"msdyn_name": "E"})
    assert edited["@odata.etag"] != row["@odata.etag"]
    assert edited["versionnumber"] > row["versionnumber"]
    stale = dataverse.patch(url, json={"msdyn_name": "F"}, headers={"If-Match": row["@odata.etag"]})
    assert stale.status_code == 412
    assert dataverse.get(url).json()["msdyn_name"] == "E"


def test_edit_fno_row_is_seen_as_a_concurrent_change(fno: httpx.Client, sandbox: Sandbox) -> None:
    etag = fno.get(FNO_WAREHOUSE).json()["@odata.etag"]
    edited = sandbox.edit_fno_row("Warehouses", FNO_KEY, {"WarehouseName": "Edited"})
    assert edited["@odata.etag"] != etag
    stale = fno.patch(FNO_WAREHOUSE, json={"WarehouseName": "Mine"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert fno.get(FNO_WAREHOUSE).json()["WarehouseName"] == "Edited"
