"""Emulated server-side logic of creates: FS posts inventory adjustment lines into on-hand,
the platform requires a product's unit group and default unit."""

from __future__ import annotations

import json
from typing import Any

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


INVENTORIES = "msdyn_productinventories"
ROOT = "/dataverse/api/data/v9.2/"


def _synced_level(sandbox: Sandbox) -> dict[str, Any]:
    """An on-hand pair both sides agree on, with its FS row."""
    entry = sandbox.seed_manifest["onhand.in_sync"][0]
    row = sandbox.dataverse.get(INVENTORIES, entry["fs_id"])
    assert row is not None
    return row


def _unit(sandbox: Sandbox, symbol: str) -> str:
    return next(e["fs_id"] for e in sandbox.seed_manifest["units.in_fs"] if e["unit"] == symbol)


def _line(product: str, unit: str, quantity: float, header: str) -> dict[str, Any]:
    return {
        "msdyn_quantity": quantity,
        "msdyn_product@odata.bind": f"/products({product})",
        "msdyn_unit@odata.bind": f"/uoms({unit})",
        "msdyn_inventoryadjustment@odata.bind": header,
    }


def _header(dataverse: httpx.Client, warehouse: str | None) -> str:
    body: dict[str, Any] = {"msdyn_description": "count correction"}
    if warehouse is not None:
        body["msdyn_warehouse@odata.bind"] = f"/msdyn_warehouses({warehouse})"
    response = dataverse.post(ADJUSTMENTS, json=body)
    assert response.status_code == 204, response.text
    entity_id = response.headers["OData-EntityId"]
    return "/" + ADJUSTMENTS + entity_id[entity_id.rindex("(") :]


def test_direct_line_moves_on_hand_and_bumps_the_etag(
    dataverse: httpx.Client, sandbox: Sandbox
) -> None:
    before = _synced_level(sandbox)
    header = _header(dataverse, before["_msdyn_warehouse_value"])
    line = _line(before["_msdyn_product_value"], before["_msdyn_unit_value"], -2.5, header)
    assert dataverse.post(LINES, json=line).status_code == 204
    after = sandbox.dataverse.get(INVENTORIES, before["msdyn_productinventoryid"])
    assert after is not None
    assert after["msdyn_qtyonhand"] == round(before["msdyn_qtyonhand"] - 2.5, 2)
    assert after["msdyn_qtyavailable"] == round(before["msdyn_qtyavailable"] - 2.5, 2)
    assert after["msdyn_qtyallocated"] == before["msdyn_qtyallocated"]
    assert after["@odata.etag"] != before["@odata.etag"]
    read = dataverse.get(f"{INVENTORIES}({before['msdyn_productinventoryid']})")
    assert read.headers["ETag"] == after["@odata.etag"]


def test_line_creates_the_inventory_row_when_absent(
    dataverse: httpx.Client, sandbox: Sandbox
) -> None:
    (missing,) = sandbox.seed_manifest["onhand.missing_in_fs"]
    unit = _unit(sandbox, "pcs")
    header = _header(dataverse, missing["fs_warehouse_id"])
    line = _line(missing["fs_product_id"], unit, 4, header)
    assert dataverse.post(LINES, json=line).status_code == 204
    (created,) = [
        row
        for row in sandbox.dataverse.rows(INVENTORIES)
        if row["_msdyn_product_value"] == missing["fs_product_id"]
        and row["_msdyn_warehouse_value"] == missing["fs_warehouse_id"]
    ]
    assert created["msdyn_qtyonhand"] == created["msdyn_qtyavailable"] == 4
    assert created["_msdyn_unit_value"] == unit
    annotated = dataverse.get(
        f"{INVENTORIES}({created['msdyn_productinventoryid']})",
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()
    assert annotated["_msdyn_unit_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "uom"


def test_changeset_with_content_id_binds_posts_lines(
    dataverse: httpx.Client, sandbox: Sandbox
) -> None:
    level = _synced_level(sandbox)
    header = {
        "msdyn_name": "ADJ-1",
        "msdyn_warehouse@odata.bind": f"/msdyn_warehouses({level['_msdyn_warehouse_value']})",
    }
    product, unit = level["_msdyn_product_value"], level["_msdyn_unit_value"]
    operations = [
        _operation("POST", f"{ROOT}{ADJUSTMENTS}", header, "1"),
        _operation("POST", f"{ROOT}{LINES}", _line(product, unit, 5, "$1"), "2"),
        _operation("POST", f"{ROOT}{LINES}", _line(product, unit, -1, "$1"), "3"),
    ]
    headers, body = _batch([_changeset("changeset_inv", operations)])
    response = dataverse.post("$batch", content=body, headers=headers)
    assert [part.status for part in _parts(response)] == [204, 204, 204]
    after = sandbox.dataverse.get(INVENTORIES, level["msdyn_productinventoryid"])
    assert after is not None and after["msdyn_qtyonhand"] == level["msdyn_qtyonhand"] + 4


def test_failed_changeset_undoes_the_posting(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    level = _synced_level(sandbox)
    (missing,) = sandbox.seed_manifest["onhand.missing_in_fs"]
    inventories = sandbox.dataverse.rows(INVENTORIES)
    warehouse = f"/msdyn_warehouses({level['_msdyn_warehouse_value']})"
    unit = level["_msdyn_unit_value"]
    operations = [
        _operation("POST", ADJUSTMENTS, {"msdyn_warehouse@odata.bind": warehouse}, "1"),
        _operation("POST", LINES, _line(level["_msdyn_product_value"], unit, 7, "$1"), "2"),
        _operation("POST", LINES, _line(missing["fs_product_id"], unit, 3, "$1"), "3"),
        _operation("POST", ADJUSTMENTS, {"msdyn_colour": "red"}, "4"),
    ]
    headers, body = _batch([_changeset("changeset_rb", operations)])
    response = dataverse.post("$batch", content=body, headers=headers)
    assert response.status_code == 400
    assert [part.content_id for part in _parts(response)] == ["4"]
    assert sandbox.dataverse.rows(INVENTORIES) == inventories
    assert sandbox.dataverse.rows(ADJUSTMENTS) == sandbox.dataverse.rows(LINES) == []


def test_line_rejected_without_warehouse_or_binds(
    dataverse: httpx.Client, sandbox: Sandbox
) -> None:
    level = _synced_level(sandbox)
    product, unit = level["_msdyn_product_value"], level["_msdyn_unit_value"]
    no_warehouse = _header(dataverse, None)
    with_warehouse = _header(dataverse, level["_msdyn_warehouse_value"])
    incomplete = _line(product, unit, 1, with_warehouse)
    del incomplete["msdyn_unit@odata.bind"]
    orphan_line = _line(product, unit, 1, with_warehouse)
    del orphan_line["msdyn_inventoryadjustment@odata.bind"]
    for body, fragment in (
        (_line(product, unit, 1, no_warehouse), "has no Warehouse"),
        (incomplete, "required field(s) missing: Unit"),
        (orphan_line, "Inventory Adjustment or an Inventory Transfer is required"),
    ):
        response = dataverse.post(LINES, json=body)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "0x80040265" and fragment in error["message"]
    assert sandbox.dataverse.rows(LINES) == []
    assert sandbox.dataverse.get(INVENTORIES, level["msdyn_productinventoryid"]) == level


def test_product_needs_unit_group_and_default_unit(
    dataverse: httpx.Client, sandbox: Sandbox
) -> None:
    group = sandbox.dataverse.rows("uomschedules")[0]["uomscheduleid"]
    unit = _unit(sandbox, "ea")
    complete = {
        "productnumber": "NEW-1",
        "name": "New product",
        "msdyn_fieldserviceproducttype": 690970000,
        "defaultuomid@odata.bind": f"/uoms({unit})",
        "defaultuomscheduleid@odata.bind": f"/uomschedules({group})",
        "msdynce_inventoryunit@odata.bind": f"/uoms({unit})",
    }
    for missing, code in (
        ("defaultuomscheduleid@odata.bind", "0x80043b0a"),
        ("defaultuomid@odata.bind", "0x80040203"),
    ):
        body = {k: v for k, v in complete.items() if k != missing}
        response = dataverse.post("products", json=body)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == code
    response = dataverse.post(
        "products", json=complete, headers={"Prefer": "return=representation"}
    )
    assert response.status_code == 201
    created = response.json()
    assert created["_msdynce_inventoryunit_value"] == unit
    assert created["_defaultuomscheduleid_value"] == group


def test_batch_error_bodies_are_dataverse_shaped(dataverse: httpx.Client) -> None:
    operations = [_operation("POST", "products", {"name": "no units"}, "1")]
    headers, body = _batch([_changeset("changeset_p", operations)])
    (part,) = _parts(dataverse.post("$batch", content=body, headers=headers))
    assert part.status == 400
    assert json.loads(part.body)["error"]["message"] == "The unit schedule id is missing."
