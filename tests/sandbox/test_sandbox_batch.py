"""``$batch`` on both services (A7, B5): change sets, Content-ID references, rollback,
stop-on-error and continue-on-error."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx

from reconciler.sandbox import Sandbox

ADJUSTMENTS = "msdyn_inventoryadjustments"
LINES = "msdyn_inventoryadjustmentproducts"


def _operation(method: str, url: str, body: object = None, content_id: str | None = None) -> str:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        head.append(f"Content-ID: {content_id}")
    request = [f"{method} {url} HTTP/1.1"]
    if body is not None:
        request.append("Content-Type: application/json; type=entry")
    text = "\r\n".join(head) + "\r\n\r\n" + "\r\n".join(request) + "\r\n\r\n"
    return text + (json.dumps(body) if body is not None else "")


def _changeset(name: str, operations: list[str]) -> str:
    parts = "".join(f"--{name}\r\n{operation}\r\n" for operation in operations)
    return f"Content-Type: multipart/mixed; boundary={name}\r\n\r\n{parts}--{name}--"


def _batch(items: list[str]) -> tuple[dict[str, str], str]:
    body = "".join(f"--batch_x\r\n{item}\r\n" for item in items) + "--batch_x--\r\n"
    return {"Content-Type": 'multipart/mixed; boundary="batch_x"'}, body


@dataclass
class Part:
    status: int
    headers: dict[str, str]
    body: str
    content_id: str | None


def _parts(response: httpx.Response) -> list[Part]:
    """Flat list of answered operations (nested change sets expanded), parsed naively."""
    found = []
    for chunk in re.split(r"--(?:batch|changeset)response_[0-9a-f-]+(?:--)?", response.text):
        match = re.search(r"HTTP/1\.1 (\d{3})[^\r\n]*\r\n(.*?)\r\n\r\n(.*)", chunk, re.S)
        if match is None:
            continue
        headers = dict(line.split(": ", 1) for line in match.group(2).split("\r\n"))
        content_id = re.search(r"Content-ID: (\S+)", chunk.split("HTTP/1.1")[0])
        found.append(
            Part(
                int(match.group(1)),
                headers,
                match.group(3).strip(),
                content_id.group(1) if content_id else None,
            )
        )
    return found


def test_changeset_with_content_id_references(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    warehouse = sandbox.seed_manifest["in_sync"][0]["fs_id"]
    root = "/dataverse/api/data/v9.2/"
    operations = [
        _operation(
            "POST",
            f"{root}{ADJUSTMENTS}",
            {
                "msdyn_description": "count fix",
                "msdyn_warehouse@odata.bind": f"/msdyn_warehouses({warehouse})",
            },
            "1",
        ),
        _operation(
            "POST",
            f"{root}{LINES}",
            {"msdyn_quantity": 3, "msdyn_inventoryadjustment@odata.bind": "$1"},
            "2",
        ),
        _operation("PATCH", "$1", {"msdyn_description": "count fix (checked)"}, "3"),
    ]
    headers, body = _batch([_changeset("changeset_a", operations)])
    response = dataverse.post("$batch", content=body, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    parts = _parts(response)
    assert [p.status for p in parts] == [204, 204, 204]
    assert [p.content_id for p in parts] == ["1", "2", "3"]
    adjustment = sandbox.dataverse.rows(ADJUSTMENTS)[0]
    line = sandbox.dataverse.rows(LINES)[0]
    assert adjustment["msdyn_description"] == "count fix (checked)"
    assert adjustment["_msdyn_warehouse_value"] == warehouse
    assert line["_msdyn_inventoryadjustment_value"] == adjustment["msdyn_inventoryadjustmentid"]
    assert sandbox.stats.batch_parts["dataverse"] == 3


def test_failed_changeset_rolls_back_and_stops(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    missing = "00000000-0000-0000-0000-0000000000ff"
    operations = [
        _operation("POST", ADJUSTMENTS, {"msdyn_description": "kept?"}, "1"),
        _operation("POST", LINES, {"msdyn_product@odata.bind": f"/products({missing})"}, "2"),
    ]
    later = _operation("POST", ADJUSTMENTS, {"msdyn_description": "never"})
    headers, body = _batch([_changeset("changeset_b", operations), later])
    response = dataverse.post("$batch", content=body, headers=headers)
    parts = _parts(response)
    assert response.status_code == 404
    assert [p.status for p in parts] == [404]
    assert json.loads(parts[0].body)["error"]["code"] == "0x80040217"
    assert sandbox.dataverse.rows(ADJUSTMENTS) == []


def test_continue_on_error(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    items = [
        _operation("POST", WAREHOUSE_URL, {"msdyn_colour": "red"}),
        _operation("POST", WAREHOUSE_URL, {"msdyn_name": "FROM-BATCH"}),
        _operation(
            "GET", f"{WAREHOUSE_URL}?$select=msdyn_name&$filter=msdyn_name%20eq%20'FROM-BATCH'"
        ),
    ]
    headers, body = _batch(items)
    headers["Prefer"] = "odata.continue-on-error"
    response = dataverse.post("$batch", content=body, headers=headers)
    parts = _parts(response)
    assert response.status_code == 200
    assert [p.status for p in parts] == [400, 204, 200]
    assert parts[1].headers["OData-EntityId"].startswith("http://127.0.0.1:")
    assert json.loads(parts[2].body)["value"][0]["msdyn_name"] == "FROM-BATCH"


WAREHOUSE_URL = "msdyn_warehouses"


def test_undeclared_content_id_reference(dataverse: httpx.Client) -> None:
    operations = [_operation("POST", LINES, {"msdyn_inventoryadjustment@odata.bind": "$7"}, "1")]
    headers, body = _batch([_changeset("changeset_c", operations)])
    response = dataverse.post("$batch", content=body, headers=headers)
    parts = _parts(response)
    assert response.status_code == 400
    assert "Content-ID Reference: '$7' does not exist in the batch context." in parts[0].body


def test_unencoded_space_in_request_line_is_rejected(dataverse: httpx.Client) -> None:
    headers, body = _batch([_operation("GET", "msdyn_warehouses?$filter=msdyn_name eq 'A'")])
    response = dataverse.post("$batch", content=body, headers=headers)
    assert response.status_code == 400
    assert "percent-encoded" in response.json()["error"]["message"]


def test_get_is_not_allowed_in_a_changeset(dataverse: httpx.Client) -> None:
    headers, body = _batch([_changeset("changeset_d", [_operation("GET", WAREHOUSE_URL)])])
    assert dataverse.post("$batch", content=body, headers=headers).status_code == 400


def test_malformed_batch_is_400(dataverse: httpx.Client, fno: httpx.Client) -> None:
    for client in (dataverse, fno):
        response = client.post("$batch", content="nope", headers={"Content-Type": "text/plain"})
        assert response.status_code == 400


def test_fno_changeset_failure_keeps_outer_200(fno: httpx.Client, sandbox: Sandbox) -> None:
    before = len(sandbox.fno.rows("Warehouses"))
    operations = [
        _operation(
            "POST", "/fno/data/Warehouses", {"dataAreaId": "usmf", "WarehouseId": "B-1"}, "1"
        ),
        _operation("POST", "Warehouses", {"dataAreaId": "usmf", "WarehouseId": "O'BRIEN"}, "2"),
    ]
    headers, body = _batch([_changeset("changeset_e", operations)])
    response = fno.post("$batch", content=body, headers=headers)
    parts = _parts(response)
    assert response.status_code == 200
    assert [p.status for p in parts] == [500]
    assert parts[0].content_id == "2"
    inner = json.loads(parts[0].body)["error"]["innererror"]["message"]
    assert "The record already exists." in inner
    assert len(sandbox.fno.rows("Warehouses")) == before


def test_fno_changeset_success_and_key_urls(fno: httpx.Client, sandbox: Sandbox) -> None:
    key = "Warehouses(dataAreaId='usmf',WarehouseId='O''BRIEN')"
    operations = [
        _operation("PATCH", key, {"WarehouseName": "Renamed in batch"}, "1"),
        _operation("POST", "Warehouses", {"dataAreaId": "demf", "WarehouseId": "B-2"}, "2"),
    ]
    headers, body = _batch([_changeset("changeset_f", operations), _operation("GET", key)])
    response = fno.post("$batch", content=body, headers=headers)
    parts = _parts(response)
    assert [p.status for p in parts] == [204, 201, 200]
    assert json.loads(parts[2].body)["WarehouseName"] == "Renamed in batch"
    assert sandbox.fno.get("Warehouses", {"dataAreaId": "demf", "WarehouseId": "B-2"})
    assert sandbox.stats.batch_parts["fno"] == 3
