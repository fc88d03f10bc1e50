"""The demo seed's products, units, on-hand, projects and work orders: deterministic, and
every planted drift kind true in the data (checked through the manifest, not hard-coded)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.sandbox import Sandbox

FNO_SETS = ("UnitsOfMeasure", "CDSReleasedDistinctProducts", "WarehousesOnHandV2", "Projects")
DATAVERSE_SETS = (
    "uomschedules",
    "uoms",
    "products",
    "msdyn_productinventories",
    "msdynce_externalprojects",
    "msdyn_workorders",
)
FLOW_KINDS = {
    "units.in_fs",
    "units.missing_in_fs",
    *(
        f"products.{kind}"
        for kind in (
            "in_sync",
            "missing_in_fs",
            "name_differs",
            "type_differs",
            "sales_unit_differs",
            "inventory_unit_differs",
            "decimals_differ",
            "unit_not_in_fs",
            "variant",
            "same_in_two_companies",
            "ambiguous_across_companies",
            "not_synced",
            "fs_only",
            "fs_orphan",
        )
    ),
    *(
        f"onhand.{kind}"
        for kind in (
            "in_sync",
            "fs_lower",
            "fs_higher",
            "within_tolerance",
            "missing_in_fs",
            "product_missing_in_fs",
            "warehouse_missing_in_fs",
            "no_released_product",
            "fs_not_maintained_externally",
            "negative",
            "precision",
            "unit_differs",
            "fs_orphan",
            "variant",
        )
    ),
    *(
        f"projects.{kind}"
        for kind in (
            "in_sync",
            "missing_in_fs",
            "name_differs",
            "fs_orphan",
            "not_synced_type",
            "not_synced_stage",
            "no_longer_synced",
            "same_id_two_companies",
        )
    ),
    *(
        f"workorders.{kind}"
        for kind in (
            "project_ok",
            "project_completed",
            "project_other_company",
            "project_missing_in_scm",
            "no_project",
        )
    ),
    *(
        f"work_orders.{kind}"
        for kind in (
            "in_sync",
            "posted",
            "missing",
            "changed_header",
            "changed_line_quantity",
            "changed_line_discount",
            "line_missing",
            "line_extra",
            "filtered_out",
            "canceled_synced",
            "invoiced_frozen",
            "with_project",
        )
    ),
    *(
        f"agreement_invoices.{kind}"
        for kind in (
            "in_sync",
            "missing",
            "changed_header",
            "changed_line_quantity",
            "line_missing",
            "line_extra",
            "filtered_out",
            "no_invoice_date",
            "posted_frozen",
        )
    ),
    *(
        f"inventory_journals.{kind}"
        for kind in (
            "adjustment_in_sync",
            "adjustment_missing",
            "adjustment_not_posted",
            "transfer_in_sync",
            "transfer_missing",
            "transfer_not_posted",
            "journal_posted",
            "variant_line",
            "variant_size_differs",
            "not_inventory_unit",
        )
    ),
}
FS_TYPES = {"Inventory": 690970000, "NonInventory": 690970001, "Service": 690970002}


@pytest.fixture(scope="module")
def world() -> Sandbox:
    return Sandbox.from_seed("demo", seed=7)


def _snapshot(sandbox: Sandbox) -> dict[str, Any]:
    tables: dict[str, Any] = {name: sandbox.fno.rows(name) for name in FNO_SETS}
    tables.update({name: sandbox.dataverse.rows(name) for name in DATAVERSE_SETS})
    return {"tables": tables, "manifest": sandbox.seed_manifest}


def test_same_seed_same_flows() -> None:
    first, second = Sandbox.from_seed(seed=7), Sandbox.from_seed(seed=7)
    assert _snapshot(first) == _snapshot(second)
    other = Sandbox.from_seed(seed=8)
    assert _snapshot(other)["tables"]["products"] != _snapshot(first)["tables"]["products"]


def test_every_flow_kind_is_planted(world: Sandbox) -> None:
    kinds = {kind for kind in world.seed_manifest if "." in kind}
    assert kinds == FLOW_KINDS
    assert all(world.seed_manifest[kind] for kind in kinds)


def test_demo_stays_small() -> None:
    sandbox = Sandbox.from_seed(warehouses_per_company=0)
    for name in FNO_SETS:
        assert 0 < len(sandbox.fno.rows(name)) < 100
    for name in DATAVERSE_SETS:
        assert 0 < len(sandbox.dataverse.rows(name)) < 100


# --- products ------------------------------------------------------------------------------
def _scm_products(sandbox: Sandbox, number: str) -> list[dict[str, Any]]:
    return [
        row
        for row in sandbox.fno.rows("CDSReleasedDistinctProducts")
        if row["ProductNumber"] == number
    ]


def _fs_products(sandbox: Sandbox, number: str) -> list[dict[str, Any]]:
    return [row for row in sandbox.dataverse.rows("products") if row["productnumber"] == number]


def _unit_name(sandbox: Sandbox, uom_id: str) -> str:
    row = sandbox.dataverse.get("uoms", uom_id)
    assert row is not None
    return str(row["name"])


def _fs_view(sandbox: Sandbox, fs: dict[str, Any]) -> dict[str, Any]:
    """An FS product in SCM terms, to compare with a CDSReleasedDistinctProducts row."""
    types = {value: name for name, value in FS_TYPES.items()}
    return {
        "ProductName": fs["name"],
        "FieldServiceProductType": types[fs["msdyn_fieldserviceproducttype"]],
        "SalesUnitSymbol": _unit_name(sandbox, fs["_defaultuomid_value"]),
        "InventoryUnitSymbol": _unit_name(sandbox, fs["_msdynce_inventoryunit_value"]),
        "SalesUnitDecimalPrecision": fs["quantitydecimal"],
    }


def _differing(sandbox: Sandbox, number: str) -> set[str]:
    (fs,) = _fs_products(sandbox, number)
    scm = _scm_products(sandbox, number)[0]
    return {name for name, value in _fs_view(sandbox, fs).items() if scm[name] != value}


def test_products_in_sync_and_changed(world: Sandbox) -> None:
    manifest = world.seed_manifest
    group = {row["uomscheduleid"]: row["name"] for row in world.dataverse.rows("uomschedules")}
    for entry in manifest["products.in_sync"]:
        assert _differing(world, entry["product_number"]) == set()
        (fs,) = _fs_products(world, entry["product_number"])
        assert fs["msdynce_ismaintainedexternally"] is True
        assert group[fs["_defaultuomscheduleid_value"]] == "Default Unit"
    changed = {
        "products.name_differs": "ProductName",
        "products.type_differs": "FieldServiceProductType",
        "products.sales_unit_differs": "SalesUnitSymbol",
        "products.inventory_unit_differs": "InventoryUnitSymbol",
        "products.decimals_differ": "SalesUnitDecimalPrecision",
    }
    for kind, column in changed.items():
        for entry in manifest[kind]:
            assert _differing(world, entry["product_number"]) == {column}
            assert entry["scm_value"] != entry["fs_value"]


def test_products_absent_or_not_synced(world: Sandbox) -> None:
    manifest = world.seed_manifest
    fs_units = {row["name"] for row in world.dataverse.rows("uoms")}
    for kind in ("products.missing_in_fs", "products.unit_not_in_fs", "products.not_synced"):
        for entry in manifest[kind]:
            assert _scm_products(world, entry["product_number"])
            assert _fs_products(world, entry["product_number"]) == []
    (metres,) = manifest["products.unit_not_in_fs"]
    scm = _scm_products(world, metres["product_number"])[0]
    assert scm["SalesUnitSymbol"] not in fs_units
    assert {e["unit"] for e in manifest["units.missing_in_fs"]} == {scm["SalesUnitSymbol"]}
    (demo,) = manifest["products.not_synced"]
    assert _scm_products(world, demo["product_number"])[0]["FieldServiceProductType"] == (
        "NotAvailable"
    )
    for kind, maintained in (("products.fs_only", False), ("products.fs_orphan", True)):
        (entry,) = manifest[kind]
        assert _scm_products(world, entry["product_number"]) == []
        (fs,) = _fs_products(world, entry["product_number"])
        assert fs["msdynce_ismaintainedexternally"] is maintained


def test_variants_and_companies(world: Sandbox) -> None:
    manifest = world.seed_manifest
    variants = manifest["products.variant"]
    assert len({e["item_number"] for e in variants}) == 1
    assert 2 <= len({e["product_number"] for e in variants}) <= 3
    dims = {
        (row["ProductColorId"], row["ProductSizeId"])
        for e in variants
        for row in _scm_products(world, e["product_number"])
    }
    assert len(dims) == len(variants)
    assert sum(1 for e in variants if e["fs_id"] is None) == 1
    assert all(len(_fs_products(world, e["product_number"])) == 1 for e in variants if e["fs_id"])
    (same,) = manifest["products.same_in_two_companies"]
    rows = _scm_products(world, same["product_number"])
    ignored = {"@odata.etag", "dataAreaId", "CurrencyCode"}
    first, second = ({k: v for k, v in r.items() if k not in ignored} for r in rows)
    assert first == second
    assert len(_fs_products(world, same["product_number"])) == 1
    (ambiguous,) = manifest["products.ambiguous_across_companies"]
    names = {row["ProductName"] for row in _scm_products(world, ambiguous["product_number"])}
    assert len(names) == 2


# --- on-hand -------------------------------------------------------------------------------
def _scm_level(sandbox: Sandbox, entry: dict[str, Any]) -> dict[str, Any] | None:
    key = {
        "dataAreaId": entry["company"],
        "ItemNumber": entry["item_number"],
        **entry["dims"],
        "InventorySiteId": entry["site_id"],
        "InventoryWarehouseId": entry["warehouse_id"],
    }
    return sandbox.fno.get("WarehousesOnHandV2", key)


def _fs_levels(sandbox: Sandbox, entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        row
        for row in sandbox.dataverse.rows("msdyn_productinventories")
        if row["_msdyn_product_value"] == entry["fs_product_id"]
        and row["_msdyn_warehouse_value"] == entry["fs_warehouse_id"]
    ]


def _fs_warehouse(sandbox: Sandbox, company: str, name: str) -> dict[str, Any] | None:
    unit = sandbox.companies[company]
    found = [
        row
        for row in sandbox.dataverse.rows("msdyn_warehouses")
        if row["_owningbusinessunit_value"] == unit and row["msdyn_name"] == name
    ]
    return found[0] if found else None


def _pair(sandbox: Sandbox, entry: dict[str, Any]) -> tuple[float, float]:
    scm = _scm_level(sandbox, entry)
    (fs,) = _fs_levels(sandbox, entry)
    assert scm is not None and fs["msdyn_productinventoryid"] == entry["fs_id"]
    warehouse = _fs_warehouse(sandbox, entry["company"], entry["warehouse_id"])
    assert warehouse is not None and warehouse["msdynce_ismaintainedexternally"] is True
    return float(scm["OnHandQuantity"]), float(fs["msdyn_qtyonhand"])


def test_onhand_levels(world: Sandbox) -> None:
    manifest = world.seed_manifest
    for entry in manifest["onhand.in_sync"]:
        scm, fs = _pair(world, entry)
        assert scm == fs
        (row,) = _fs_levels(world, entry)
        assert _unit_name(world, row["_msdyn_unit_value"]) == entry["scm_unit"]
        level = _scm_level(world, entry)
        assert level is not None and row["msdyn_qtyavailable"] == level["AvailableOnHandQuantity"]
    checks = {
        "onhand.fs_lower": lambda scm, fs: fs < scm,
        "onhand.fs_higher": lambda scm, fs: fs > scm,
        "onhand.within_tolerance": lambda scm, fs: 0 < abs(scm - fs) < 0.005,
        "onhand.negative": lambda scm, fs: scm < 0 <= fs,
        "onhand.precision": lambda scm, fs: round(scm, 2) != scm and fs == round(scm, 2),
    }
    for kind, check in checks.items():
        for entry in manifest[kind]:
            assert check(*_pair(world, entry)), kind
    (unit,) = manifest["onhand.unit_differs"]
    (row,) = _fs_levels(world, unit)
    assert _unit_name(world, row["_msdyn_unit_value"]) != unit["scm_unit"]
    assert any(e["dims"]["ProductColorId"] for e in manifest["onhand.variant"])


def test_onhand_rows_missing_somewhere(world: Sandbox) -> None:
    manifest = world.seed_manifest
    (missing,) = manifest["onhand.missing_in_fs"]
    assert _scm_level(world, missing) is not None and _fs_levels(world, missing) == []
    assert missing["fs_product_id"] and missing["fs_warehouse_id"]
    (no_product,) = manifest["onhand.product_missing_in_fs"]
    assert _scm_level(world, no_product) is not None
    absent = {e["product_number"] for e in manifest["products.missing_in_fs"]}
    assert no_product["product_number"] in absent
    assert _fs_products(world, no_product["product_number"]) == []
    for entry in manifest["onhand.warehouse_missing_in_fs"]:
        assert _scm_level(world, entry) is not None
        assert _fs_warehouse(world, entry["company"], entry["warehouse_id"]) is None
        key = {"dataAreaId": entry["company"], "WarehouseId": entry["warehouse_id"]}
        assert world.fno.get("Warehouses", key) is not None
    assert {e["company"] for e in manifest["onhand.warehouse_missing_in_fs"]} >= {"usmf", "gbsi"}
    (orphan,) = manifest["onhand.fs_orphan"]
    assert _scm_level(world, orphan) is None and len(_fs_levels(world, orphan)) == 1


def test_onhand_rows_outside_the_flow(world: Sandbox) -> None:
    manifest = world.seed_manifest
    released = world.fno.rows("CDSReleasedDistinctProducts")
    for entry in manifest["onhand.no_released_product"]:
        assert _scm_level(world, entry) is not None and entry["product_number"] is None
        assert not [
            row
            for row in released
            if row["dataAreaId"] == entry["company"]
            and row["ItemNumber"] == entry["item_number"]
            and all(row[name] == value for name, value in entry["dims"].items())
        ]
    (van,) = manifest["onhand.fs_not_maintained_externally"]
    assert _scm_level(world, van) is not None
    warehouse = _fs_warehouse(world, van["company"], van["warehouse_id"])
    assert warehouse is not None and warehouse["msdynce_ismaintainedexternally"] is False


# --- projects and work orders --------------------------------------------------------------
def _scm_project(sandbox: Sandbox, company: str, project_id: str) -> dict[str, Any] | None:
    return sandbox.fno.get("Projects", {"dataAreaId": company, "ProjectID": project_id})


def _fs_projects(sandbox: Sandbox, company: str, project_id: str) -> list[dict[str, Any]]:
    unit = sandbox.companies[company]
    return [
        row
        for row in sandbox.dataverse.rows("msdynce_externalprojects")
        if row["_owningbusinessunit_value"] == unit and row["msdynce_projectid"] == project_id
    ]


def _synced(project: dict[str, Any] | None) -> bool:
    return (
        project is not None
        and project["ProjectType"] == "TimeMaterial"
        and project["ProjectStage"] == "InProcess"
    )


def test_projects(world: Sandbox) -> None:
    manifest = world.seed_manifest
    for kind, in_fs, same_name in (
        ("projects.in_sync", True, True),
        ("projects.name_differs", True, False),
        ("projects.missing_in_fs", False, None),
    ):
        for entry in manifest[kind]:
            scm = _scm_project(world, entry["company"], entry["project_id"])
            assert _synced(scm) and scm is not None
            fs = _fs_projects(world, entry["company"], entry["project_id"])
            assert len(fs) == int(in_fs)
            if fs:
                assert (fs[0]["msdynce_name"] == scm["ProjectName"]) is same_name
    for kind in ("projects.not_synced_type", "projects.not_synced_stage"):
        (entry,) = manifest[kind]
        assert not _synced(_scm_project(world, entry["company"], entry["project_id"]))
        assert _fs_projects(world, entry["company"], entry["project_id"]) == []
    (stale,) = manifest["projects.no_longer_synced"]
    scm = _scm_project(world, stale["company"], stale["project_id"])
    assert scm is not None and scm["ProjectStage"] == "Completed"
    assert len(_fs_projects(world, stale["company"], stale["project_id"])) == 1
    (orphan,) = manifest["projects.fs_orphan"]
    assert [r for r in world.fno.rows("Projects") if r["ProjectID"] == orphan["project_id"]] == []
    shared = {e["project_id"] for e in manifest["projects.same_id_two_companies"]}
    for project_id in shared:
        companies = {
            r["dataAreaId"] for r in world.fno.rows("Projects") if r["ProjectID"] == project_id
        }
        assert len(companies) == 2


def test_work_order_project_links(world: Sandbox) -> None:
    manifest = world.seed_manifest
    company_of_unit = {unit: area for area, unit in world.companies.items()}
    for kind in (k for k in FLOW_KINDS if k.startswith("workorders.")):
        for entry in manifest[kind]:
            order = world.dataverse.get("msdyn_workorders", entry["workorder_id"])
            assert order is not None
            assert order["msdyn_systemstatus"] in (690970001, 690970002, 690970003)
            assert company_of_unit[order["_owningbusinessunit_value"]] == entry["company"]
            link = order["_msdynce_externalproject_value"]
            if kind == "workorders.no_project":
                assert link is None
                continue
            project = world.dataverse.get("msdynce_externalprojects", link)
            assert project is not None
            owner = company_of_unit[project["_owningbusinessunit_value"]]
            scm = _scm_project(world, owner, project["msdynce_projectid"])
            broken = {
                "workorders.project_ok": owner != entry["company"] or not _synced(scm),
                "workorders.project_completed": scm is None or scm["ProjectStage"] != "Completed",
                "workorders.project_other_company": owner == entry["company"],
                "workorders.project_missing_in_scm": scm is not None,
            }
            assert not broken[kind], (kind, entry)
