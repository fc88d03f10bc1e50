"""Tables, lookups and filters the products, on-hand and project flows use, over HTTP."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from reconciler.sandbox import Sandbox

SYNCED = (
    "ProjectType eq Microsoft.Dynamics.DataEntities.ProjType'TimeMaterial' and "
    "ProjectStage eq Microsoft.Dynamics.DataEntities.ProjStatus'InProcess'"
)


def test_project_enum_filter(fno: httpx.Client, sandbox: Sandbox) -> None:
    params = {"cross-company": "true", "$filter": SYNCED, "$select": "dataAreaId,ProjectID"}
    response = fno.get("Projects", params=params)
    assert response.status_code == 200, response.text
    found = {(row["dataAreaId"], row["ProjectID"]) for row in response.json()["value"]}
    expected = {
        (row["dataAreaId"], row["ProjectID"])
        for row in sandbox.fno.rows("Projects")
        if row["ProjectType"] == "TimeMaterial" and row["ProjectStage"] == "InProcess"
    }
    assert found == expected and len({company for company, _ in found}) == 3
    everything = len(sandbox.fno.rows("Projects"))
    assert 0 < len(found) < everything
    wrong = fno.get("Projects", params={"$filter": "ProjectType eq ProjType'TimeMaterial'"})
    assert wrong.status_code == 400
    unknown = fno.get(
        "Projects",
        params={"$filter": "ProjectStage eq Microsoft.Dynamics.DataEntities.ProjStatus'Open'"},
    )
    assert unknown.status_code == 400


def test_product_type_filter_and_variant_keys(fno: httpx.Client, sandbox: Sandbox) -> None:
    not_available = (
        "FieldServiceProductType ne "
        "Microsoft.Dynamics.DataEntities.EcoResFieldServiceProductType'NotAvailable'"
    )
    rows = fno.get(
        "CDSReleasedDistinctProducts",
        params={"cross-company": "true", "$filter": not_available},
    ).json()["value"]
    assert rows and all(row["FieldServiceProductType"] != "NotAvailable" for row in rows)
    assert len(rows) == len(sandbox.fno.rows("CDSReleasedDistinctProducts")) - 1
    variant = next(e for e in sandbox.seed_manifest["onhand.variant"])
    dims = ",".join(f"{name}='{value}'" for name, value in variant["dims"].items())
    key = (
        f"dataAreaId='{variant['company']}',ItemNumber='{variant['item_number']}',{dims},"
        f"InventorySiteId='{variant['site_id']}',InventoryWarehouseId='{variant['warehouse_id']}'"
    )
    response = fno.get(f"WarehousesOnHandV2({quote(key, safe=chr(39) + ',=')})")
    assert response.status_code == 200, response.text
    assert response.json()["OnHandQuantity"] == variant["scm_onhand"]


def test_onhand_key_with_apostrophe_warehouse(fno: httpx.Client, sandbox: Sandbox) -> None:
    rows = [
        row
        for row in sandbox.fno.rows("WarehousesOnHandV2")
        if row["InventoryWarehouseId"] == "O'BRIEN"
    ]
    assert rows
    response = fno.get(
        "WarehousesOnHandV2",
        params={"$filter": "InventoryWarehouseId eq 'O''BRIEN'", "$select": "ItemNumber"},
    )
    assert [row["ItemNumber"] for row in response.json()["value"]] == [
        r["ItemNumber"] for r in rows
    ]


def test_external_project_lookup_on_work_orders(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    (order,) = sandbox.seed_manifest["workorders.project_other_company"]
    ok = sandbox.seed_manifest["workorders.project_ok"][0]
    path = f"msdyn_workorders({order['workorder_id']})"
    target = f"/msdynce_externalprojects({ok['external_project_id']})"
    assert dataverse.patch(path, json={"msdynce_externalproject@odata.bind": target}).is_success
    body = dataverse.get(
        path,
        params={"$select": "msdyn_name,msdynce_externalproject"},
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()
    assert body["_msdynce_externalproject_value"] == ok["external_project_id"]
    logical = "_msdynce_externalproject_value@Microsoft.Dynamics.CRM.lookuplogicalname"
    assert body[logical] == "msdynce_externalproject"
    assert dataverse.patch(path, json={"msdynce_externalproject@odata.bind": None}).is_success
    row = sandbox.dataverse.get("msdyn_workorders", order["workorder_id"])
    assert row is not None and row["_msdynce_externalproject_value"] is None


def test_external_projects_per_business_unit(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    unit = sandbox.companies["gbsi"]
    created = dataverse.post(
        "msdynce_externalprojects",
        json={
            "msdynce_projectid": "000399",
            "msdynce_name": "New project",
            "msdynce_customeraccount": "GB-001",
            "owningbusinessunit@odata.bind": f"/businessunits({unit})",
        },
    )
    assert created.status_code == 204, created.text
    filtered = dataverse.get(
        "msdynce_externalprojects",
        params={
            "$filter": f"_owningbusinessunit_value eq {unit} and msdynce_projectid eq '000399'"
        },
    ).json()["value"]
    assert len(filtered) == 1 and filtered[0]["statecode"] == 0


def test_unit_and_product_lookups(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    group = sandbox.dataverse.rows("uomschedules")[0]
    assert group["name"] == "Default Unit"
    created = dataverse.post(
        "uoms",
        json={
            "name": "m",
            "quantity": 1,
            "uomscheduleid@odata.bind": f"/uomschedules({group['uomscheduleid']})",
        },
        headers={"Prefer": "return=representation"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["_uomscheduleid_value"] == group["uomscheduleid"]
    products = dataverse.get(
        "products",
        params={"$select": "productnumber,msdynce_inventoryunit,defaultuomid,quantitydecimal"},
    ).json()["value"]
    assert products and all("_msdynce_inventoryunit_value" in row for row in products)
