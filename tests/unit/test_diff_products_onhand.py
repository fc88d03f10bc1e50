"""Products, on-hand and project links over in-memory snapshots: every drift kind and finding."""

from __future__ import annotations

from typing import Any

from reconciler.config import Profile
from reconciler.plan import Action, Plan
from reconciler.planner import make_plan
from reconciler.rules import load_rules
from reconciler.snapshot import take_snapshot

from .conftest import BU_DEMF, BU_USMF
from .fakes import MemoryConnector

Row = dict[str, Any]


def released(
    company: str, number: str, name: str = "n", item: str | None = None, **extra: Any
) -> Row:
    row: Row = {
        "dataAreaId": company,
        "ProductNumber": number,
        "ItemNumber": item or number,
        "ProductName": name,
        "ProductDescription": "",
        "FieldServiceProductType": "Inventory",
        "SalesUnitSymbol": "ea",
        "InventoryUnitSymbol": "ea",
        "SalesUnitDecimalPrecision": 2,
        "ProductColorId": "",
        "ProductConfigurationId": "",
        "ProductSizeId": "",
        "ProductStyleId": "",
        "ProductVersionId": "",
        "@odata.etag": 'W/"1"',
    }
    row.update(extra)
    return row


def fs_product(number: str, name: str = "n", pid: str | None = None, **extra: Any) -> Row:
    row: Row = {
        "productid": pid or f"p-{number}",
        "productnumber": number,
        "name": name,
        "description": "",
        "msdyn_fieldserviceproducttype": 690970000,
        "quantitydecimal": 2,
        "_defaultuomid_value": "u-ea",
        "_msdynce_inventoryunit_value": "u-ea",
        "msdynce_ismaintainedexternally": True,
        "@odata.etag": 'W/"3"',
    }
    row.update(extra)
    return row


def warehouse(company: str, wid: str) -> Row:
    return {"dataAreaId": company, "WarehouseId": wid, "WarehouseName": wid, "@odata.etag": "x"}


def fs_warehouse(bu: str, name: str, maintained: bool = True) -> Row:
    return {
        "msdyn_warehouseid": f"w-{bu[-1]}-{name}",
        "msdyn_name": name,
        "msdyn_description": name,
        "_owningbusinessunit_value": bu,
        "msdynce_ismaintainedexternally": maintained,
        "@odata.etag": "y",
    }


def onhand(company: str, item: str, wid: str, qty: float) -> Row:
    return {
        "dataAreaId": company,
        "ItemNumber": item,
        "InventoryWarehouseId": wid,
        "InventorySiteId": "1",
        "ProductColorId": "",
        "ProductConfigurationId": "",
        "ProductSizeId": "",
        "ProductStyleId": "",
        "ProductVersionId": "",
        "OnHandQuantity": qty,
        "@odata.etag": "z",
    }


def fs_onhand(product: str, wh: str, qty: float, rid: str) -> Row:
    return {
        "msdyn_productinventoryid": rid,
        "_msdyn_product_value": product,
        "_msdyn_warehouse_value": wh,
        "_msdyn_unit_value": "u-ea",
        "msdyn_qtyonhand": qty,
        "@odata.etag": f'W/"{rid}"',
    }


UOMS = [
    {"uomid": "u-ea", "name": "ea", "_uomscheduleid_value": "s-1", "@odata.etag": "u"},
    # Same name in another unit group, and a unit only that group has: neither may be used.
    {"uomid": "u-ea-2", "name": "ea", "_uomscheduleid_value": "s-2", "@odata.etag": "u"},
    {"uomid": "u-box", "name": "box", "_uomscheduleid_value": "s-2", "@odata.etag": "u"},
]
SCHEDULES = [
    {"uomscheduleid": "s-1", "name": "Default Unit", "@odata.etag": "s"},
    {"uomscheduleid": "s-2", "name": "Packaging", "@odata.etag": "s"},
]


def plan_for(profile: Profile, fno: dict[str, list[Row]], dataverse: dict[str, list[Row]]) -> Plan:
    rules = load_rules(profile.rules_dir)
    dataverse = {"uoms": UOMS, "uomschedules": SCHEDULES, **dataverse}
    connectors = {
        "fno": MemoryConnector("fno", fno, page_size=3),
        "dataverse": MemoryConnector("dataverse", dataverse, page_size=3),
    }
    return make_plan(take_snapshot(profile, rules, connectors).path, rules, profile)


def of(plan: Plan, rule: str) -> list[Action]:
    return [a for a in plan.actions if a.rule == rule]


def test_products_every_drift_kind(profile: Profile) -> None:
    plan = plan_for(
        profile,
        {
            "CDSReleasedDistinctProducts": [
                released("usmf", "P-1", "Same"),
                released("usmf", "P-2", "New name"),
                released("usmf", "P-3", "Missing in FS"),
                released("usmf", "P-4", "Metres", SalesUnitSymbol="m"),
                released("usmf", "P-5", "Shared"),
                released("demf", "P-5", "Shared"),
                released("usmf", "P-6", "Mine"),
                released("demf", "P-6", "Theirs"),
                released("usmf", "P-7", "Service", FieldServiceProductType="Service"),
                released("usmf", "P-8", "Boxed", InventoryUnitSymbol="box"),
            ]
        },
        {
            "products": [
                fs_product("P-1", "Same"),
                fs_product("p-2 ", "Old name"),
                fs_product("P-5", "Shared"),
                fs_product("P-7", "Service"),
                fs_product("OLD", "gone"),
                fs_product("LOCAL", "fs only", msdynce_ismaintainedexternally=False),
            ]
        },
    )
    got = {(a.kind, a.finding, str(a.key.get("productnumber"))) for a in of(plan, "products")}
    assert got == {
        ("update", None, "P-2"),
        ("update", None, "P-7"),
        ("create", None, "P-3"),
        ("report", "unresolved_link", "P-4"),
        ("report", "unresolved_link", "P-8"),
        ("report", "key_in_several_companies", "P-6"),
        ("report", "orphan", "OLD"),
    }
    create = next(a for a in plan.actions if a.kind == "create")
    assert create.links["defaultuomid"] == {
        "entity_set": "uoms",
        "field": "sales_unit.name",
        "id": "u-ea",
    }
    assert create.links["defaultuomscheduleid"] == {"entity_set": "uomschedules", "id": "s-1"}
    assert create.changes["msdyn_fieldserviceproducttype"]["to"] == 690970000
    service = next(a for a in plan.actions if a.key.get("productnumber") == "P-7")
    assert service.changes == {
        "msdyn_fieldserviceproducttype": {"from": 690970000, "to": 690970002}
    }
    unresolved = {
        a.key["productnumber"]: a.message or ""
        for a in of(plan, "products")
        if a.finding == "unresolved_link"
    }
    assert "uoms with name='m'" in unresolved["P-4"]
    assert "uoms with name='box' among the uoms of its unit_group" in unresolved["P-8"]


def test_onhand_adjustments_findings_and_dependencies(profile: Profile) -> None:
    fno = {
        "CDSReleasedDistinctProducts": [released("usmf", p) for p in ("A", "B", "C", "D", "NEW")],
        "Warehouses": [
            warehouse("usmf", "W1"),
            warehouse("usmf", "W2"),
            warehouse("usmf", "LOC"),
            warehouse("usmf", "W9"),
        ],
        "WarehousesOnHandV2": [
            onhand("usmf", "A", "W1", 10.0),  # in sync
            onhand("usmf", "B", "W1", 7.0),  # FS has 5 -> adjust +2
            onhand("usmf", "C", "W1", 3.14159),  # FS keeps 3.14: no adjust, a precision finding
            onhand("usmf", "D", "W2", 2.0004),  # inside tolerance: nothing at all
            onhand("usmf", "A", "W2", 4.0),  # FS row absent -> adjust creates it
            onhand("usmf", "NEW", "W1", 6.0),  # product created by this plan -> depends on it
            onhand("usmf", "A", "W9", 2.0),  # warehouse created by this plan
            onhand("usmf", "A", "LOC", 99.0),  # FS warehouse not maintained externally: skipped
            onhand("usmf", "GHOST", "W1", 1.0),  # no released product -> finding
            onhand("usmf", "GHOST", "W2", 1.0),  # ... one per warehouse, each its own id
            onhand("usmf", "C", "W2", -1.0),  # negative -> finding, still adjusted
            onhand("usmf", "B", "W2", 0.0),  # zero and absent in FS: nothing to do
        ],
    }
    dataverse = {
        "products": [fs_product(p) for p in ("A", "B", "C", "D", "E")],
        "msdyn_warehouses": [
            fs_warehouse(BU_USMF, "W1"),
            fs_warehouse(BU_USMF, "W2"),
            fs_warehouse(BU_USMF, "LOC", maintained=False),
        ],
        "msdyn_productinventories": [
            fs_onhand("p-A", "w-1-W1", 10.0, "r1"),
            fs_onhand("p-B", "w-1-W1", 5.0, "r2"),
            fs_onhand("p-C", "w-1-W1", 3.14, "r3"),
            fs_onhand("p-D", "w-1-W2", 2.0, "r6"),
            fs_onhand("p-C", "w-1-LOC", 1.0, "r4"),  # not maintained externally: no orphan
            fs_onhand("p-E", "w-1-W2", 8.0, "r5"),  # no SCM row -> orphan
        ],
    }
    plan = plan_for(profile, fno, dataverse)
    assert len({a.id for a in plan.actions}) == len(plan.actions), "action ids are unique"
    onhand_actions = of(plan, "onhand")
    got = {
        (a.kind, a.finding, a.key.get("product.productnumber"), a.key.get("warehouse.msdyn_name"))
        for a in onhand_actions
    }
    assert got == {
        ("adjust", None, "B", "W1"),
        ("adjust", None, "A", "W2"),
        ("adjust", None, "NEW", "W1"),
        ("adjust", None, "A", "W9"),
        ("adjust", None, "C", "W2"),
        ("report", "precision_loss", "C", "W1"),
        ("report", "negative_onhand", "C", "W2"),
        ("report", "orphan", "E", "W2"),
        ("report", "unknown_product", None, "W1"),
        ("report", "unknown_product", None, "W2"),
    }
    by_key = {
        (a.key.get("product.productnumber"), a.key.get("warehouse.msdyn_name")): a
        for a in onhand_actions
        if a.kind == "adjust"
    }
    assert by_key[("B", "W1")].changes == {
        "msdyn_qtyonhand": {"from": 5.0, "to": 7.0, "delta": 2.0}
    }
    assert by_key[("A", "W2")].changes == {
        "msdyn_qtyonhand": {"from": None, "to": 4.0, "delta": 4.0}
    }
    new_product = next(a for a in plan.actions if a.rule == "products" and a.kind == "create")
    assert by_key[("NEW", "W1")].depends_on == (new_product.id,)
    assert by_key[("NEW", "W1")].links["msdyn_product"]["action"] == new_product.id
    new_warehouse = next(
        a for a in plan.actions if a.rule == "warehouses" and a.key["msdyn_name"] == "W9"
    )
    assert by_key[("A", "W9")].depends_on == (new_warehouse.id,)
    assert [a.id for a in plan.actions].index(new_product.id) < [a.id for a in plan.actions].index(
        by_key[("NEW", "W1")].id
    )


def test_onhand_for_an_unknown_warehouse_is_a_finding_when_nothing_creates_it(
    profile: Profile,
) -> None:
    fno = {
        "CDSReleasedDistinctProducts": [released("demf", "A")],
        "WarehousesOnHandV2": [onhand("demf", "A", "NOWHERE", 3.0)],
    }
    plan = plan_for(profile, fno, {"products": [fs_product("A")]})
    finding = next(a for a in of(plan, "onhand"))
    assert finding.finding == "unresolved_link"
    assert "msdyn_warehouses with msdyn_name='NOWHERE'" in (finding.message or "")
    assert BU_DEMF  # the company map holds demf


def test_project_links_name_work_order_and_project(profile: Profile) -> None:
    fno = {
        "Projects": [
            {
                "dataAreaId": "usmf",
                "ProjectID": "PR-1",
                "ProjectName": "a",
                "CustomerAccount": "c",
                "ProjectStage": "InProcess",
                "ProjectType": "TimeMaterial",
                "@odata.etag": "1",
            },
            {
                "dataAreaId": "usmf",
                "ProjectID": "PR-2",
                "ProjectName": "b",
                "CustomerAccount": "c",
                "ProjectStage": "Completed",
                "ProjectType": "TimeMaterial",
                "@odata.etag": "1",
            },
            {
                "dataAreaId": "demf",
                "ProjectID": "PR-3",
                "ProjectName": "c",
                "CustomerAccount": "c",
                "ProjectStage": "InProcess",
                "ProjectType": "TimeMaterial",
                "@odata.etag": "1",
            },
        ]
    }
    external = [
        {
            "msdynce_externalprojectid": f"x-{n}",
            "msdynce_projectid": n,
            "msdynce_name": n,
            "msdynce_customeraccount": "c",
            "_owningbusinessunit_value": BU_USMF,
            "@odata.etag": "e",
        }
        for n in ("PR-1", "PR-2", "PR-3", "PR-9")
    ]
    orders = [
        {
            "msdyn_workorderid": f"wo-{i}",
            "msdyn_name": f"WO-{i}",
            "_owningbusinessunit_value": BU_USMF,
            "_msdynce_externalproject_value": target,
            "@odata.etag": "w",
        }
        for i, target in enumerate(["x-PR-1", "x-PR-2", "x-PR-3", "x-PR-9", "x-GONE"])
    ]
    plan = plan_for(
        profile, fno, {"msdynce_externalprojects": external, "msdyn_workorders": orders}
    )
    links = {
        a.key.get("source") or a.key.get("_msdynce_externalproject_value"): a
        for a in of(plan, "project_links")
    }
    assert set(links) == {"WO-1", "WO-2", "WO-3", "x-GONE"}
    assert "ProjectStage is 'Completed', expected 'InProcess'" in (links["WO-1"].message or "")
    assert "exists only in demf" in (links["WO-2"].message or "")
    assert "missing in SCM Projects" in (links["WO-3"].message or "")
    assert links["x-GONE"].finding == "unknown_project" and "WO-4" in (
        links["x-GONE"].message or ""
    )
