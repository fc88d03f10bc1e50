"""``$batch`` on both services (A7, B5): change sets, Content-ID references, rollback,
stop-on-error and continue-on-error."""

from __future__ import annotations

import json

import httpx
import pytest

from reconciler.sandbox import Sandbox, SandboxConfig
from tests.sandbox.batch_body import batch as _batch
from tests.sandbox.batch_body import changeset as _changeset
from tests.sandbox.batch_body import operation as _operation
from tests.sandbox.batch_body import parts as _parts

ADJUSTMENTS = "msdyn_inventoryadjustments"
LINES = "msdyn_inventoryadjustmentproducts"


@pytest.fixture
def sandbox(config: SandboxConfig) -> Sandbox:
    """The demo seed without its FS adjustments and transfers: these tests count the rows
    their own requests post to the adjustment tables."""
    return Sandbox.from_seed(config=config, inventory_journals=False)


def test_changeset_with_content_id_references(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    warehouse = sandbox.seed_manifest["in_sync"][0]["fs_id"]
    product = sandbox.seed_manifest["products.in_sync"][0]["fs_id"]
    unit = sandbox.seed_manifest["units.in_fs"][0]["fs_id"]
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
            {
                "msdyn_quantity": 3,
                "msdyn_inventoryadjustment@odata.bind": "$1",
                "msdyn_product@odata.bind": f"/products({product})",
                "msdyn_unit@odata.bind": f"/uoms({unit})",
            },
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
