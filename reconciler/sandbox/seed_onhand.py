"""Seed part: on-hand per product and warehouse (fs-scm-templates.md section 5).

SCM ``WarehousesOnHandV2`` (key dataAreaId, ItemNumber, the five product dimensions, site,
warehouse) is the master of FS ``msdyn_productinventories`` (one row per product and
warehouse, quantities in the product's inventory unit). Only FS warehouses maintained
externally take part. The sandbox's column pairing, which the manifest's quantities follow:
OnHandQuantity -> msdyn_qtyonhand, AvailableOnHandQuantity -> msdyn_qtyavailable,
ReservedOnHandQuantity -> msdyn_qtyallocated, OrderedQuantity (inbound) -> msdyn_qtyonorder.

VAN-07 is an FS-only warehouse in the warehouse seed; its SCM on-hand stands for stock in a
warehouse that the warehouses flow filters out, so the SCM Warehouses table stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from reconciler.sandbox.seed_base import COMPANIES, COMPANY_BY_AREA, SeedContext
from reconciler.sandbox.seed_catalog import DIMENSIONS, Catalog, ProductSpec

_STOCK_WAREHOUSES = {"usmf": ("MAIN", "SPARE", "D'ARCY"), "demf": ("MAIN",), "gbsi": ()}
_BULK_WAREHOUSES_PER_COMPANY = 2


@dataclass(frozen=True)
class Quantities:
    """SCM's on-hand figures for one row."""

    on_hand: float
    reserved: float = 0.0
    ordered: float = 0.0
    on_order: float = 0.0

    @property
    def available(self) -> float:
        return round(self.on_hand - self.reserved, 6)


@dataclass(frozen=True)
class OnHandPlan:
    """One (company, item + dims, warehouse): SCM quantities and/or the FS level."""

    company: str
    item: str
    warehouse: str
    scm: Quantities | None
    fs_on_hand: float | None
    dims: tuple[tuple[str, str], ...] = ()
    fs_unit: str | None = None
    kinds: tuple[str, ...] = ("in_sync",)

    @property
    def dimensions(self) -> dict[str, str]:
        return {name: dict(self.dims).get(name, "") for name in DIMENSIONS}


@dataclass
class WarehouseIndex:
    """FS warehouse ids and flags per (company, msdyn_name); SCM sites per warehouse."""

    fs: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    sites: dict[tuple[str, str], str] = field(default_factory=dict)


def seed_onhand(context: SeedContext, catalog: Catalog) -> None:
    """Every on-hand drift kind (``onhand.*``) beside a bulk of rows that agree."""
    warehouses = warehouse_index(context)
    drift = _drift_plans()
    taken = {(p.company, p.item, p.dims, p.warehouse) for p in drift}
    for plan in [*_bulk_plans(context, catalog, warehouses, taken), *drift]:
        _create(context, catalog, warehouses, plan)


def warehouse_index(context: SeedContext) -> WarehouseIndex:
    found = WarehouseIndex()
    units = {unit: area for area, unit in context.sandbox.companies.items()}
    for row in context.sandbox.dataverse.rows("msdyn_warehouses"):
        area = units.get(str(row["_owningbusinessunit_value"]))
        if area is not None:
            flag = bool(row["msdynce_ismaintainedexternally"])
            found.fs[(area, str(row["msdyn_name"]))] = (str(row["msdyn_warehouseid"]), flag)
    for row in context.sandbox.fno.rows("Warehouses"):
        found.sites[(row["dataAreaId"], row["WarehouseId"])] = row["OperationalSiteId"]
    return found


def stock_warehouses(area: str, warehouses: WarehouseIndex) -> list[str]:
    """The externally maintained warehouses that carry the agreeing bulk of a company."""
    prefix = COMPANY_BY_AREA[area].prefix
    numbered = sorted(
        wid
        for (company, wid) in warehouses.sites
        if company == area and wid.removeprefix(prefix).isdigit()
    )
    chosen = [*_STOCK_WAREHOUSES[area], *numbered[:_BULK_WAREHOUSES_PER_COMPANY]]
    return [wid for wid in chosen if warehouses.fs.get((area, wid), ("", False))[1]]


def _bulk_plans(
    context: SeedContext,
    catalog: Catalog,
    warehouses: WarehouseIndex,
    taken: set[tuple[str, str, tuple[tuple[str, str], ...], str]],
) -> Iterator[OnHandPlan]:
    for company in COMPANIES:
        for warehouse in stock_warehouses(company.area, warehouses):
            for spec in _stocked(catalog, company.area):
                key = (company.area, spec.item_number, spec.dims, warehouse)
                if key not in taken and context.rng.random() < 0.7:
                    quantities = _random_quantities(context, spec)
                    yield OnHandPlan(
                        company.area,
                        spec.item_number,
                        warehouse,
                        quantities,
                        quantities.on_hand,
                        spec.dims,
                    )


def _stocked(catalog: Catalog, area: str) -> list[ProductSpec]:
    """Inventory products released in the company that FS has and agrees on."""
    return [
        spec
        for spec in catalog.products.values()
        if area in spec.companies
        and spec.fs_type == "Inventory"
        and spec.fs == {}
        and spec.number in catalog.fs_products
    ]


def _random_quantities(context: SeedContext, spec: ProductSpec) -> Quantities:
    rng = context.rng
    if spec.inventory_unit == "kg":
        on_hand = round(rng.uniform(0, 250), 2)
        reserved = round(rng.uniform(0, min(on_hand, 5.0)), 2)
    else:
        on_hand = float(rng.randrange(0, 400))
        reserved = float(rng.randrange(0, int(min(on_hand, 10)) + 1))
    return Quantities(
        on_hand, reserved, float(rng.choice((0, 0, 10, 25))), float(rng.choice((0, 5)))
    )


def _drift_plans() -> list[OnHandPlan]:
    """One row per drift kind; all in usmf except the GB-NEW warehouse case."""
    green = (("ProductColorId", "GRN"), ("ProductSizeId", "M"))
    return [
        OnHandPlan("usmf", "P-1001", "MAIN", Quantities(120, 20), 100, kinds=("fs_lower",)),
        OnHandPlan("usmf", "P-1002", "MAIN", Quantities(40), 55, kinds=("fs_higher",)),
        OnHandPlan("usmf", "P-1003", "MAIN", Quantities(10.004), 10.0, kinds=("within_tolerance",)),
        OnHandPlan("usmf", "P-1004", "SPARE", Quantities(25, 5), None, kinds=("missing_in_fs",)),
        OnHandPlan(
            "usmf", "P-2001", "MAIN", Quantities(30), None, kinds=("product_missing_in_fs",)
        ),
        OnHandPlan(
            "usmf", "P-1001", "O'BRIEN", Quantities(12), None, kinds=("warehouse_missing_in_fs",)
        ),
        OnHandPlan(
            "gbsi", "P-1001", "GB-NEW", Quantities(7), None, kinds=("warehouse_missing_in_fs",)
        ),
        OnHandPlan("usmf", "X-4040", "MAIN", Quantities(3), None, kinds=("no_released_product",)),
        OnHandPlan(
            "usmf", "T-3000", "MAIN", Quantities(4), None, green, kinds=("no_released_product",)
        ),
        OnHandPlan(
            "usmf", "P-1001", "VAN-07", Quantities(5), None, kinds=("fs_not_maintained_externally",)
        ),
        OnHandPlan("usmf", "P-1005", "SPARE", Quantities(-3), 0, kinds=("negative",)),
        OnHandPlan("usmf", "P-1006", "MAIN", Quantities(3.14159), 3.14, kinds=("precision",)),
        OnHandPlan(
            "usmf", "P-1002", "SPARE", Quantities(18), 18, fs_unit="pcs", kinds=("unit_differs",)
        ),
        OnHandPlan("usmf", "P-1003", "SPARE", None, 9, kinds=("fs_orphan",)),
        OnHandPlan(
            "usmf",
            "T-3000",
            "MAIN",
            Quantities(6, 1),
            6,
            (("ProductColorId", "BLK"), ("ProductSizeId", "M")),
            kinds=("in_sync", "variant"),
        ),
    ]


def _create(
    context: SeedContext, catalog: Catalog, warehouses: WarehouseIndex, plan: OnHandPlan
) -> None:
    spec = catalog.released(plan.company, plan.item, plan.dimensions)
    site = warehouses.sites.get((plan.company, plan.warehouse), "1")
    entry = _entry(catalog, warehouses, plan, spec, site)
    if plan.scm is not None:
        name = spec.name if spec else f"Unreleased {plan.item}"
        context.sandbox.fno.insert("WarehousesOnHandV2", scm_onhand_row(plan, site, name))
    has_targets = entry["fs_product_id"] is not None and entry["fs_warehouse_id"] is not None
    if plan.fs_on_hand is not None and spec is not None and has_targets:
        entry["fs_unit"] = plan.fs_unit or spec.inventory_unit
        entry["fs_id"] = _fs_row(context, catalog, plan, entry)
    for kind in plan.kinds:
        context.record(f"onhand.{kind}", dict(entry))


def _entry(
    catalog: Catalog,
    warehouses: WarehouseIndex,
    plan: OnHandPlan,
    spec: ProductSpec | None,
    site: str,
) -> dict[str, Any]:
    """The manifest entry: both sides' view of the row (FS parts filled by ``_create``)."""
    fs_warehouse = warehouses.fs.get((plan.company, plan.warehouse))
    return {
        "company": plan.company,
        "item_number": plan.item,
        "dims": plan.dimensions,
        "product_number": spec.number if spec else None,
        "warehouse_id": plan.warehouse,
        "site_id": site,
        "scm_onhand": plan.scm.on_hand if plan.scm else None,
        "scm_unit": spec.inventory_unit if spec else None,
        "fs_warehouse_id": fs_warehouse[0] if fs_warehouse else None,
        "fs_product_id": catalog.fs_products.get(spec.number) if spec else None,
        "fs_onhand": plan.fs_on_hand,
        "fs_unit": None,
        "fs_id": None,
    }


def scm_onhand_row(plan: OnHandPlan, site: str, name: str) -> dict[str, Any]:
    quantities = plan.scm or Quantities(0)
    return {
        "dataAreaId": plan.company,
        "ItemNumber": plan.item,
        **plan.dimensions,
        "InventorySiteId": site,
        "InventoryWarehouseId": plan.warehouse,
        "OnHandQuantity": quantities.on_hand,
        "AvailableOnHandQuantity": quantities.available,
        "ReservedOnHandQuantity": quantities.reserved,
        "OrderedQuantity": quantities.ordered,
        "AvailableOrderedQuantity": quantities.ordered,
        "OnOrderQuantity": quantities.on_order,
        "TotalAvailableQuantity": round(quantities.available + quantities.ordered, 6),
        "ProductName": name,
        "AreWarehouseManagementProcessesUsed": "No",
    }


def _fs_row(context: SeedContext, catalog: Catalog, plan: OnHandPlan, entry: dict[str, Any]) -> str:
    """The FS level: SCM's figures except ``msdyn_qtyonhand`` (and available moved alike)."""
    quantities = plan.scm or Quantities(plan.fs_on_hand or 0.0)
    on_hand = float(plan.fs_on_hand or 0.0)
    shift = on_hand - quantities.on_hand
    created = context.moment()
    key = (plan.company, entry["product_number"], plan.warehouse)
    return context.sandbox.dataverse.insert(
        "msdyn_productinventories",
        {
            "msdyn_productinventoryid": context.row_id("productinventory", *key),
            "_msdyn_product_value": entry["fs_product_id"],
            "_msdyn_warehouse_value": entry["fs_warehouse_id"],
            "_msdyn_unit_value": catalog.fs_units[entry["fs_unit"]],
            "msdyn_qtyonhand": on_hand,
            "msdyn_qtyavailable": round(quantities.available + shift, 2),
            "msdyn_qtyallocated": quantities.reserved,
            "msdyn_qtyonorder": quantities.ordered,
            "createdon": created,
            "modifiedon": created,
        },
    )
