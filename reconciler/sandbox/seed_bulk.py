"""Seed ``bulk``: a large on-hand world for benchmarks.

``products`` Inventory products released in usmf and present in FS, enough warehouses (both
sides, externally maintained) to hold ``onhand_rows`` distinct product-warehouse pairs, and
``onhand_rows`` SCM ``WarehousesOnHandV2`` rows whose FS ``msdyn_productinventories`` agree
except for about 1%: 0.4% lower in FS, 0.4% higher, 0.2% absent, plus one FS orphan per
thousand rows. A million rows generate in seconds because rows are plain dicts inserted
through the stores' bulk paths, ids are counters under a seed-derived GUID prefix, and the
manifest lists only the drift (``bulk.summary`` carries the counts, not the agreeing rows).
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.seed_base import COMPANY_BY_AREA, SeedContext
from reconciler.sandbox.seed_catalog import (
    DIMENSIONS,
    Catalog,
    ProductSpec,
    fs_product_row,
    fs_view,
    scm_product_row,
    seed_units,
)

DEFAULT_ONHAND_ROWS = 10_000
DEFAULT_PRODUCTS = 1_000
AREA = "usmf"
_LOWER, _HIGHER, _ABSENT = 0.004, 0.008, 0.010
_NO_DIMENSIONS = dict.fromkeys(DIMENSIONS, "")


@dataclass(frozen=True)
class BulkShape:
    onhand_rows: int
    products: int
    orphans: int

    @property
    def warehouses(self) -> int:
        pairs = self.onhand_rows + self.orphans
        return max(1, -(-pairs // self.products))


@dataclass
class _Side:
    """Ids on the FS side that on-hand rows point at."""

    products: list[str]
    warehouses: list[str]
    unit: str
    id_prefix: str


def seed_bulk(context: SeedContext, onhand_rows: int, products: int) -> None:
    if onhand_rows < 0 or products < 1:
        raise ValueError("onhand_rows must be >= 0 and products >= 1")
    shape = BulkShape(onhand_rows, products, onhand_rows // 1000)
    catalog = seed_units(context.fork("units"))
    side = _Side(
        _products(context, catalog, shape.products),
        _warehouses(context, shape.warehouses),
        catalog.fs_units["ea"],
        context.row_id("productinventory", "bulk")[:24],
    )
    in_sync = _onhand(context.fork("onhand"), shape, side)
    summary = {
        "company": AREA,
        "onhand_rows": shape.onhand_rows,
        "products": shape.products,
        "warehouses": shape.warehouses,
        "in_sync": in_sync,
        "fs_rows": context.sandbox.dataverse.count("msdyn_productinventories"),
    }
    context.record("bulk.summary", summary)


def product_number(index: int) -> str:
    return f"B-{index:06d}"


def warehouse_id(index: int) -> str:
    return f"BW-{index:04d}"


def _products(context: SeedContext, catalog: Catalog, count: int) -> list[str]:
    company = COMPANY_BY_AREA[AREA]
    specs = [ProductSpec(product_number(i), f"Bulk part {i}") for i in range(count)]
    context.sandbox.fno.bulk_insert(
        "CDSReleasedDistinctProducts",
        (scm_product_row(spec, company, spec.name, (10.0, 6.0)) for spec in specs),
    )
    rows = [fs_product_row(context, catalog, fs_view(spec)) for spec in specs]
    context.sandbox.dataverse.bulk_insert("products", rows)
    return [str(row["productid"]) for row in rows]


def _warehouses(context: SeedContext, count: int) -> list[str]:
    sandbox = context.sandbox
    created = context.moment()
    ids = []
    for index in range(count):
        wid = warehouse_id(index)
        sandbox.fno.insert(
            "Warehouses",
            {
                "dataAreaId": AREA,
                "WarehouseId": wid,
                "WarehouseName": f"Bulk warehouse {index}",
                "OperationalSiteId": str(index % 3 + 1),
            },
        )
        row = {
            "msdyn_warehouseid": context.row_id("msdyn_warehouse", AREA, wid),
            "msdyn_name": wid,
            "msdyn_description": f"Bulk warehouse {index}",
            "_owningbusinessunit_value": sandbox.companies[AREA],
            "msdynce_ismaintainedexternally": True,
            "createdon": created,
            "modifiedon": created,
        }
        ids.append(sandbox.dataverse.insert("msdyn_warehouses", row))
    return ids


def _onhand(context: SeedContext, shape: BulkShape, side: _Side) -> int:
    """Insert both tables from the planned levels, rows made lazily so that only the stored
    copy of each exists; record the drift. Returns how many pairs agree."""
    scm, fs = _levels(context, shape)
    created = context.moment()
    warehouses = shape.warehouses
    context.sandbox.fno.bulk_insert(
        "WarehousesOnHandV2",
        (_scm_row(warehouses, i, q) for i, q in enumerate(scm) if not math.isnan(q)),
    )
    context.sandbox.dataverse.bulk_insert(
        "msdyn_productinventories",
        (_fs_row(warehouses, side, i, q, created) for i, q in enumerate(fs) if not math.isnan(q)),
    )
    agreeing = 0
    for index, (quantity, level) in enumerate(zip(scm, fs, strict=True)):
        if quantity == level:
            agreeing += 1
        else:
            _record(context, warehouses, side, index, _number(quantity), _number(level))
    return agreeing


def _levels(context: SeedContext, shape: BulkShape) -> tuple[array[float], array[float]]:
    """SCM quantity and FS level per product-warehouse pair; NaN where a side has no row."""
    scm: array[float] = array("d")
    fs: array[float] = array("d")
    for _ in range(shape.onhand_rows):
        quantity = float(context.rng.randrange(500))
        level = _fs_level(context, quantity)
        scm.append(quantity)
        fs.append(math.nan if level is None else level)
    for _ in range(shape.orphans):
        scm.append(math.nan)
        fs.append(1.0)
    return scm, fs


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _fs_level(context: SeedContext, quantity: float) -> float | None:
    """The FS level planted for an SCM quantity: equal for ~99% of rows."""
    draw = context.rng.random()
    if draw >= _ABSENT:
        return quantity
    if draw < _LOWER:
        return quantity - 1 - context.rng.randrange(20)
    return None if draw >= _HIGHER else quantity + 1 + context.rng.randrange(20)


def _scm_row(warehouses: int, index: int, quantity: float) -> dict[str, Any]:
    product, warehouse = divmod(index, warehouses)
    reserved = float(index % 7) if quantity >= 7 else 0.0
    return {
        "dataAreaId": AREA,
        "ItemNumber": product_number(product),
        **_NO_DIMENSIONS,
        "InventorySiteId": str(warehouse % 3 + 1),
        "InventoryWarehouseId": warehouse_id(warehouse),
        "OnHandQuantity": quantity,
        "AvailableOnHandQuantity": quantity - reserved,
        "ReservedOnHandQuantity": reserved,
        "TotalAvailableQuantity": quantity - reserved,
        "ProductName": f"Bulk part {product}",
    }


def _fs_row(warehouses: int, side: _Side, index: int, level: float, created: str) -> dict[str, Any]:
    product, warehouse = divmod(index, warehouses)
    return {
        "msdyn_productinventoryid": f"{side.id_prefix}{index:012x}",
        "_msdyn_product_value": side.products[product],
        "_msdyn_warehouse_value": side.warehouses[warehouse],
        "_msdyn_unit_value": side.unit,
        "msdyn_qtyonhand": level,
        "msdyn_qtyavailable": level,
        "msdyn_qtyallocated": 0.0,
        "msdyn_qtyonorder": 0.0,
        "createdon": created,
        "modifiedon": created,
    }


def _record(
    context: SeedContext,
    warehouses: int,
    side: _Side,
    index: int,
    scm: float | None,
    fs: float | None,
) -> None:
    product, warehouse = divmod(index, warehouses)
    kind = "fs_orphan" if scm is None else "missing_in_fs" if fs is None else "fs_lower"
    if scm is not None and fs is not None and fs > scm:
        kind = "fs_higher"
    context.record(
        f"onhand.{kind}",
        {
            "company": AREA,
            "item_number": product_number(product),
            "dims": dict(_NO_DIMENSIONS),
            "product_number": product_number(product),
            "warehouse_id": warehouse_id(warehouse),
            "site_id": str(warehouse % 3 + 1),
            "scm_onhand": scm,
            "scm_unit": "ea",
            "fs_warehouse_id": side.warehouses[warehouse],
            "fs_product_id": side.products[product],
            "fs_onhand": fs,
            "fs_unit": "ea" if fs is not None else None,
            "fs_id": f"{side.id_prefix}{index:012x}" if fs is not None else None,
        },
    )
