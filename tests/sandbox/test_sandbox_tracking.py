"""Dataverse change tracking (api-protocols.md A8) over a real socket: the full read that ends
in a deltaLink, deltas with updates and ``$deletedEntity`` rows, paging, rejected options and
rejected tokens."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from reconciler.sandbox import RunningSandbox, Sandbox, start
from tests.sandbox.batch_body import batch, changeset, operation

from .conftest import service_client

WAREHOUSES = "msdyn_warehouses"
ID = "msdyn_warehouseid"
SELECT = {"$select": "msdyn_name"}
EXPIRED = {
    "code": "0x80044352",
    "message": "Version stamp associated with the client has expired. Please perform a full sync.",
}


def _prefer(page_size: int | None = None) -> dict[str, str]:
    size = "" if page_size is None else f", odata.maxpagesize={page_size}"
    return {"Prefer": f"odata.track-changes{size}"}


def _read_all(
    client: httpx.Client, first: httpx.Response, headers: dict[str, str]
) -> tuple[list[list[dict[str, Any]]], dict[str, Any]]:
    """Follow nextLinks from ``first``: every page's rows, and the last page's body."""
    pages = []
    response = first
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["value"])
        if "@odata.nextLink" not in body:
            return pages, body
        assert "@odata.deltaLink" not in body
        response = client.get(body["@odata.nextLink"], headers=headers)


def _delta_link(client: httpx.Client, page_size: int = 5000) -> str:
    first = client.get(WAREHOUSES, params=SELECT, headers=_prefer(page_size))
    _, last = _read_all(client, first, _prefer(page_size))
    return str(last["@odata.deltaLink"])


def _follow(client: httpx.Client, link: str, page_size: int = 5000) -> list[dict[str, Any]]:
    """All rows of a delta and, as the last element, its final body."""
    pages, last = _read_all(client, client.get(link, headers=_prefer(page_size)), _prefer())
    return [*(row for page in pages for row in page), last]


def _ids(sandbox: Sandbox) -> list[str]:
    return [row[ID] for row in sandbox.dataverse.rows(WAREHOUSES)]


def test_full_read_pages_then_gives_delta_link(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    first = dataverse.get(WAREHOUSES, params=SELECT, headers=_prefer(4))
    assert first.headers.get_list("Preference-Applied") == [
        "odata.track-changes",
        "odata.maxpagesize=4",
    ]
    pages, last = _read_all(dataverse, first, _prefer(4))
    rows = [row for page in pages for row in page]
    assert len(pages) > 1 and all(len(page) <= 4 for page in pages)
    assert sorted(row[ID] for row in rows) == sorted(_ids(sandbox))
    assert all(set(row) == {"@odata.etag", "msdyn_name", ID} for row in rows)
    link = last["@odata.deltaLink"]
    assert link.startswith(f"{dataverse.base_url}{WAREHOUSES}?$select=msdyn_name&$deltatoken=")
    token = link.split("$deltatoken=")[1]
    assert "$skiptoken" not in link and "!" not in token and "%21" in token


def test_delta_lists_exactly_the_changes(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    link = _delta_link(dataverse)
    updated, deleted, untouched = _ids(sandbox)[:3]
    sandbox.edit_dataverse_row(WAREHOUSES, updated, {"msdyn_name": "first edit"})
    sandbox.edit_dataverse_row(WAREHOUSES, updated, {"msdyn_name": "second edit"})
    sandbox.dataverse.delete(WAREHOUSES, deleted)
    created = sandbox.dataverse.insert(WAREHOUSES, {"msdyn_name": "created"})
    transient = sandbox.dataverse.insert(WAREHOUSES, {"msdyn_name": "created then deleted"})
    sandbox.dataverse.delete(WAREHOUSES, transient)
    *rows, last = _follow(dataverse, link)
    root = str(dataverse.base_url)
    assert last["@odata.context"] == f"{root}$metadata#{WAREHOUSES}(msdyn_name)/$delta"
    current = sandbox.dataverse.get(WAREHOUSES, updated)
    assert current is not None
    gone = f"{root}$metadata#{WAREHOUSES}/$deletedEntity"
    assert rows == [
        {"@odata.etag": current["@odata.etag"], "msdyn_name": "second edit", ID: updated},
        {"@odata.etag": rows[1]["@odata.etag"], "msdyn_name": "created", ID: created},
        {"@odata.context": gone, "id": deleted, "reason": "deleted"},
        {"@odata.context": gone, "id": transient, "reason": "deleted"},
    ]
    assert untouched not in str(rows)
    *again, _ = _follow(dataverse, last["@odata.deltaLink"])
    assert again == []


def test_delta_pages_and_writes_between_pages_are_not_lost(
    dataverse: httpx.Client, sandbox: Sandbox
) -> None:
    link = _delta_link(dataverse)
    ids = _ids(sandbox)
    for record_id in ids[:5]:
        sandbox.edit_dataverse_row(WAREHOUSES, record_id, {"msdyn_name": "renamed"})
    for record_id in ids[5:7]:
        sandbox.dataverse.delete(WAREHOUSES, record_id)
    first = dataverse.get(link, headers=_prefer(3))
    late = ids[8]
    sandbox.edit_dataverse_row(WAREHOUSES, late, {"msdyn_name": "while paging"})
    pages, last = _read_all(dataverse, first, _prefer(3))
    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [row.get(ID) or row["id"] for page in pages for row in page]
    assert seen == ids[:7]
    *rows, _ = _follow(dataverse, last["@odata.deltaLink"])
    assert [row[ID] for row in rows] == [late]


def test_writes_during_the_full_read_come_in_the_first_delta(
    dataverse: httpx.Client, sandbox: Sandbox
) -> None:
    first = dataverse.get(WAREHOUSES, params=SELECT, headers=_prefer(3))
    already_read = first.json()["value"][0][ID]
    sandbox.edit_dataverse_row(WAREHOUSES, already_read, {"msdyn_name": "edited mid-read"})
    _, last = _read_all(dataverse, first, _prefer(3))
    *rows, _ = _follow(dataverse, last["@odata.deltaLink"])
    assert [(row[ID], row["msdyn_name"]) for row in rows] == [(already_read, "edited mid-read")]


def test_rolled_back_change_set_is_not_a_change(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    link = _delta_link(dataverse)
    first, second = _ids(sandbox)[:2]
    missing = uuid.uuid4()
    operations = [
        operation("PATCH", f"{WAREHOUSES}({first})", {"msdyn_name": "rolled back"}, "1"),
        operation("DELETE", f"{WAREHOUSES}({second})", None, "2"),
        operation("POST", WAREHOUSES, {"msdyn_name": "rolled back too"}, "3"),
        operation("DELETE", f"{WAREHOUSES}({missing})", None, "4"),
    ]
    headers, body = batch([changeset("changeset_r", operations)])
    assert dataverse.post("$batch", content=body, headers=headers).status_code == 404
    *rows, _ = _follow(dataverse, link)
    assert rows == []
    sandbox.edit_dataverse_row(WAREHOUSES, second, {"msdyn_name": "real change"})
    *rows, _ = _follow(dataverse, link)
    assert [row[ID] for row in rows] == [second]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("$filter", "msdyn_name eq 'A'"),
        ("$orderby", "msdyn_name"),
        ("$expand", "msdyn_Warehouse"),
        ("$top", "2"),
    ],
)
def test_query_options_rejected_with_tracking(
    dataverse: httpx.Client, name: str, value: str
) -> None:
    response = dataverse.get(WAREHOUSES, params={name: value}, headers=_prefer())
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "0x80060888",
            "message": f'The "{name}" query parameter isn\'t supported when Change Tracking is '
            "enabled.",
        }
    }


def test_expired_tokens(running: RunningSandbox) -> None:
    sandbox = running.sandbox
    with service_client(running, "dataverse") as client:
        link = _delta_link(client)
        assert client.get(link).status_code == 200
        sandbox.expire_change_tokens()
        expired = client.get(link)
        assert expired.status_code == 400 and expired.json() == {"error": EXPIRED}
        fresh = _delta_link(client)
        assert client.get(fresh).status_code == 200
        sandbox.config.change_tracking_retention_s = 0
        assert client.get(fresh).json() == {"error": EXPIRED}


@pytest.mark.parametrize(
    "token", ["garbage", "", "1000000!13/45/2024 99:00:00", "99999999999!01/01/2024 00:00:00"]
)
def test_garbled_or_unknown_tokens(dataverse: httpx.Client, token: str) -> None:
    response = dataverse.get(WAREHOUSES, params={**SELECT, "$deltatoken": token})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "0x80044352"
    expected = f"The $deltatoken '{token}' is not valid. Please perform a full sync."
    assert error["message"] == expected


def test_count_of_changes_and_request_stats(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    link = _delta_link(dataverse)
    token = link.split("$deltatoken=")[1]
    for record_id in _ids(sandbox)[:2]:
        sandbox.dataverse.delete(WAREHOUSES, record_id)
    before = sandbox.stats.requests["dataverse"]
    counted = dataverse.get(f"{WAREHOUSES}/$count?$deltatoken={token}")
    assert (counted.status_code, counted.text) == (200, "2")
    with_count = dataverse.get(f"{link}&$count=true").json()
    assert with_count["@odata.count"] == 2 and len(with_count["value"]) == 2
    plain = dataverse.get(f"{WAREHOUSES}/$count", headers=_prefer())
    assert plain.text == str(sandbox.dataverse.count(WAREHOUSES))
    assert sandbox.stats.requests["dataverse"] == before + 3


def test_bulk_seed_delta_reads_only_the_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    levels = "msdyn_productinventories"
    sandbox = Sandbox.from_seed("bulk", onhand_rows=3000, products=30)
    with start(sandbox) as running, service_client(running, "dataverse") as client:
        first = client.get(levels, params={"$select": "msdyn_qtyonhand"}, headers=_prefer())
        pages, last = _read_all(client, first, _prefer())
        assert sum(map(len, pages)) == sandbox.dataverse.count(levels)
        records = sandbox.dataverse.snapshot(levels)
        changed = [record.row["msdyn_productinventoryid"] for record in records[::100]]
        for record_id in changed:
            sandbox.edit_dataverse_row(levels, record_id, {"msdyn_qtyonhand": 42})

        def no_scans(entity_set: str) -> list[Any]:
            raise AssertionError(f"a delta read all of {entity_set}")

        monkeypatch.setattr(sandbox.dataverse, "snapshot", no_scans)
        *rows, _ = _follow(client, last["@odata.deltaLink"])
    assert [row["msdyn_productinventoryid"] for row in rows] == changed
    assert {row["msdyn_qtyonhand"] for row in rows} == {42}
