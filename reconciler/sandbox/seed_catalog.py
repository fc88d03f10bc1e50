"""Seed part: units of measure and products (fs-scm-templates.md section 1).

SCM masters products per company in ``CDSReleasedDistinctProducts`` (key dataAreaId +
ProductNumber; every variant has its own ProductNumber under a shared ItemNumber). FS keeps
one company-less ``products`` row per product number, with the sales unit as
``defaultuomid``, the unit group "Default Unit" as ``defaultuomscheduleid`` and the phase-2
inventory unit as ``msdynce_inventoryunit``. SCM has the unit ``m`` that FS lacks, so a product
sold in metres cannot be created in FS.

The demo catalog plants one product per drift kind (``products.*`` manifest keys) next to a
bulk of products released identically in all three companies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.sandbox.seed_base import COMPANIES, COMPANY_BY_AREA, Company, SeedContext

UNIT_GROUP = "Default Unit"
FS_PRODUCT_TYPES = {"Inventory": 690970000, "NonInventory": 690970001, "Service": 690970002}
DIMENSIONS = (
    "ProductColorId",
    "ProductConfigurationId",
    "ProductSizeId",
    "ProductStyleId",
    "ProductVersionId",
)
ALL_AREAS = tuple(company.area for company in COMPANIES)


@dataclass(frozen=True)
class Unit:
    """An SCM unit; ``fs_quantity`` is its factor in the FS unit group (None: not in FS)."""

    symbol: str
    description: str
    unit_class: str
    decimals: int
    fs_quantity: float | None


UNITS = (
    Unit("ea", "Each", "Quantity", 0, 1.0),
    Unit("pcs", "Pieces", "Quantity", 0, 1.0),
    Unit("kg", "Kilogram", "Mass", 3, 1.0),
    Unit("box", "Box", "Quantity", 0, 12.0),
    Unit("m", "Meter", "Length", 2, None),
)
UNIT_DECIMALS = {unit.symbol: unit.decimals for unit in UNITS}


@dataclass(frozen=True)
class ProductSpec:
    """One product number. ``fs`` holds the FS values that differ from SCM's; ``fs=None``
    means FS has no such product. ``other_name`` is the ProductName in every company after
    the first (the ambiguous case)."""

    number: str
    name: str
    fs_type: str = "Inventory"
    sales_unit: str = "ea"
    inventory_unit: str = "ea"
    item: str = ""
    dims: tuple[tuple[str, str], ...] = ()
    companies: tuple[str, ...] = ("usmf",)
    other_name: str | None = None
    fs: dict[str, Any] | None = field(default_factory=dict)
    kinds: tuple[str, ...] = ("in_sync",)

    @property
    def item_number(self) -> str:
        return self.item or self.number

    @property
    def dimensions(self) -> dict[str, str]:
        return {name: dict(self.dims).get(name, "") for name in DIMENSIONS}


@dataclass(frozen=True)
class FsProduct:
    """A product as FS holds it."""

    number: str
    item_number: str
    name: str
    fs_type: str
    sales_unit: str
    inventory_unit: str
    decimals: int
    maintained: bool = True


# ProductSpec/FsProduct attribute -> the FS column it lands in.
FS_COLUMNS = {
    "name": "name",
    "fs_type": "msdyn_fieldserviceproducttype",
    "sales_unit": "defaultuomid",
    "inventory_unit": "msdynce_inventoryunit",
    "decimals": "quantitydecimal",
}


@dataclass
class Catalog:
    """What later parts need: FS unit ids by symbol, and each product as seeded."""

    unit_group_id: str = ""
    fs_units: dict[str, str] = field(default_factory=dict)
    products: dict[str, ProductSpec] = field(default_factory=dict)
    fs_products: dict[str, str] = field(default_factory=dict)
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)

    def released(self, area: str, item: str, dims: dict[str, str]) -> ProductSpec | None:
        """The product SCM released in ``area`` for an item number and its dimensions."""
        for spec in self.products.values():
            same = spec.item_number == item and spec.dimensions == dims
            if same and area in spec.companies and spec.fs_type != "NotAvailable":
                return spec
        return None


# --- units ---------------------------------------------------------------------------------
def seed_units(context: SeedContext) -> Catalog:
    """SCM UnitsOfMeasure and the FS unit group with its units."""
    sandbox = context.sandbox
    catalog = Catalog(unit_group_id=context.row_id("uomschedule", UNIT_GROUP))
    created = context.moment()
    sandbox.dataverse.insert(
        "uomschedules",
        {
            "uomscheduleid": catalog.unit_group_id,
            "name": UNIT_GROUP,
            "baseuomname": "ea",
            "createdon": created,
            "modifiedon": created,
        },
    )
    for unit in UNITS:
        sandbox.fno.insert("UnitsOfMeasure", _scm_unit(unit))
        if unit.fs_quantity is not None:
            catalog.fs_units[unit.symbol] = _fs_unit(context, catalog, unit, created)
            context.record(
                "units.in_fs", {"unit": unit.symbol, "fs_id": catalog.fs_units[unit.symbol]}
            )
        else:
            context.record("units.missing_in_fs", {"unit": unit.symbol})
    return catalog


def _scm_unit(unit: Unit) -> dict[str, Any]:
    return {
        "UnitSymbol": unit.symbol,
        "UnitDescription": unit.description,
        "UnitClass": unit.unit_class,
        "DecimalPrecision": unit.decimals,
        "IsBaseUnit": "Yes" if unit.symbol in ("ea", "kg", "m") else "No",
        "SystemOfUnits": "Metric" if unit.unit_class != "Quantity" else "None",
    }


def _fs_unit(context: SeedContext, catalog: Catalog, unit: Unit, created: str) -> str:
    unit_id = context.row_id("uom", unit.symbol)
    base = unit.symbol == "ea"
    context.sandbox.dataverse.insert(
        "uoms",
        {
            "uomid": unit_id,
            "name": unit.symbol,
            "_uomscheduleid_value": catalog.unit_group_id,
            "_baseuom_value": None if base else catalog.fs_units["ea"],
            "quantity": unit.fs_quantity,
            "isschedulebaseuom": base,
            "createdon": created,
            "modifiedon": created,
        },
    )
    return unit_id


# --- products ------------------------------------------------------------------------------
_NOUNS = ("compressor", "filter", "valve", "pump", "sensor", "thermostat", "gasket", "fan motor")
_ADJECTIVES = ("Standard", "Heavy-duty", "Compact", "Industrial", "Quiet", "Smart")


def product_name(context: SeedContext) -> str:
    return f"{context.rng.choice(_ADJECTIVES)} {context.rng.choice(_NOUNS)}"


def demo_products(context: SeedContext) -> list[ProductSpec]:
    """The bulk (identical in all companies) and one product per drift kind."""
    name = product_name
    bulk = [
        ProductSpec(f"P-100{index}", name(context), companies=ALL_AREAS) for index in range(1, 6)
    ]
    bulk += [
        ProductSpec(
            "P-1006", name(context), sales_unit="kg", inventory_unit="kg", companies=ALL_AREAS
        ),
        ProductSpec("P-1007", name(context), sales_unit="box", companies=ALL_AREAS),
        ProductSpec("P-1008", "Cleaning agent", fs_type="NonInventory", companies=ALL_AREAS),
        ProductSpec("P-1009", "Inspection visit", fs_type="Service", companies=ALL_AREAS),
    ]
    return [*bulk, *_drift_products(context), *_variants(context)]


def _drift_products(context: SeedContext) -> list[ProductSpec]:
    name = product_name
    renamed = name(context)
    return [
        ProductSpec("P-2001", name(context), fs=None, kinds=("missing_in_fs",)),
        ProductSpec("P-2002", renamed, fs={"name": renamed + " (old)"}, kinds=("name_differs",)),
        ProductSpec(
            "P-2003", name(context), fs={"fs_type": "NonInventory"}, kinds=("type_differs",)
        ),
        ProductSpec(
            "P-2004",
            name(context),
            sales_unit="box",
            fs={"sales_unit": "ea"},
            kinds=("sales_unit_differs",),
        ),
        ProductSpec(
            "P-2005",
            name(context),
            sales_unit="pcs",
            inventory_unit="pcs",
            fs={"inventory_unit": "ea"},
            kinds=("inventory_unit_differs",),
        ),
        ProductSpec(
            "P-2006",
            name(context),
            sales_unit="kg",
            inventory_unit="kg",
            fs={"decimals": 0},
            kinds=("decimals_differ",),
        ),
        ProductSpec(
            "P-2007",
            "Copper pipe",
            sales_unit="m",
            inventory_unit="m",
            fs=None,
            kinds=("unit_not_in_fs",),
        ),
        ProductSpec(
            "P-2008",
            name(context),
            companies=("usmf", "demf"),
            kinds=("in_sync", "same_in_two_companies"),
        ),
        ProductSpec(
            "P-2009",
            "Pressure gauge",
            companies=("usmf", "demf"),
            other_name="Manometer",
            kinds=("ambiguous_across_companies",),
        ),
        ProductSpec("P-2010", "Demo unit", fs_type="NotAvailable", fs=None, kinds=("not_synced",)),
    ]


def _variants(context: SeedContext) -> list[ProductSpec]:
    """One item with three variants (color x size); FS lacks one of them."""
    base = f"Technician jacket {context.rng.choice(('Pro', 'Lite', 'Max'))}"
    variants = []
    for color, size, in_fs in (("BLK", "M", True), ("BLK", "L", True), ("RED", "M", False)):
        variants.append(
            ProductSpec(
                f"T-3000-{color}-{size}",
                base,
                item="T-3000",
                dims=(("ProductColorId", color), ("ProductSizeId", size)),
                fs={} if in_fs else None,
                kinds=("in_sync", "variant") if in_fs else ("missing_in_fs", "variant"),
            )
        )
    return variants


def seed_products(context: SeedContext, catalog: Catalog, specs: list[ProductSpec]) -> None:
    for spec in specs:
        _create_product(context, catalog, spec)
    for number, name, maintained, kind in (
        ("FS-9001", "Coffee for technicians", False, "fs_only"),
        ("P-9002", "Discontinued filter", True, "fs_orphan"),
    ):
        fs_id = _fs_product(context, catalog, fs_view(ProductSpec(number, name), maintained))
        entry = {"product_number": number, "fs_id": fs_id, "fs_name": name}
        context.record(f"products.{kind}", entry)


def _create_product(context: SeedContext, catalog: Catalog, spec: ProductSpec) -> None:
    catalog.products[spec.number] = spec
    price = round(context.rng.uniform(5, 900), 2)
    catalog.prices[spec.number] = (price, round(price * 0.6, 2))
    for index, area in enumerate(spec.companies):
        name = spec.other_name if index and spec.other_name else spec.name
        row = scm_product_row(spec, COMPANY_BY_AREA[area], name, catalog.prices[spec.number])
        context.sandbox.fno.insert("CDSReleasedDistinctProducts", row)
    entry: dict[str, Any] = {
        "product_number": spec.number,
        "item_number": spec.item_number,
        "companies": list(spec.companies),
        "scm_name": spec.name,
        "fs_id": None,
    }
    if spec.fs is not None:
        fs = fs_view(spec)
        entry["fs_id"] = catalog.fs_products[spec.number] = _fs_product(context, catalog, fs)
        entry["fs_name"] = fs.name
        entry.update(_difference(spec, fs))
    for kind in spec.kinds:
        context.record(f"products.{kind}", dict(entry))


def fs_view(spec: ProductSpec, maintained: bool = True) -> FsProduct:
    """The product as FS holds it: SCM's values with the planted differences applied."""
    values: dict[str, Any] = {
        "name": spec.name,
        "fs_type": spec.fs_type,
        "sales_unit": spec.sales_unit,
        "inventory_unit": spec.inventory_unit,
        "decimals": UNIT_DECIMALS[spec.sales_unit],
    }
    values.update(spec.fs or {})
    return FsProduct(spec.number, spec.item_number, maintained=maintained, **values)


def _difference(spec: ProductSpec, fs: FsProduct) -> dict[str, Any]:
    """The FS column a planted difference touches, with both sides' values."""
    name = next(iter(spec.fs or {}), None)
    if name is None:
        return {}
    scm = fs_view(replace(spec, fs={}))
    return {
        "field": FS_COLUMNS[name],
        "scm_value": getattr(scm, name),
        "fs_value": getattr(fs, name),
    }


def scm_product_row(
    spec: ProductSpec, company: Company, name: str, prices: tuple[float, float]
) -> dict[str, Any]:
    """A CDSReleasedDistinctProducts row; product type and stocking follow the FS type."""
    return {
        "dataAreaId": company.area,
        "ProductNumber": spec.number,
        "ItemNumber": spec.item_number,
        **spec.dimensions,
        "ProductName": name,
        "ProductDescription": f"{name} ({spec.item_number})",
        "ProductType": "Service" if spec.fs_type == "Service" else "Item",
        "IsStockedProduct": "Yes" if spec.fs_type == "Inventory" else "No",
        "FieldServiceProductType": spec.fs_type,
        "SalesUnitSymbol": spec.sales_unit,
        "InventoryUnitSymbol": spec.inventory_unit,
        "SalesUnitDecimalPrecision": UNIT_DECIMALS[spec.sales_unit],
        "InventoryUnitDecimalPrecision": UNIT_DECIMALS[spec.inventory_unit],
        "SalesPrice": prices[0],
        "UnitCost": prices[1],
        "CurrencyCode": company.currency,
    }


def fs_product_row(context: SeedContext, catalog: Catalog, fs: FsProduct) -> dict[str, Any]:
    created = context.moment()
    return {
        "productid": context.row_id("product", fs.number),
        "productnumber": fs.number,
        "name": fs.name,
        "description": f"{fs.name} ({fs.item_number})",
        "msdyn_fieldserviceproducttype": FS_PRODUCT_TYPES[fs.fs_type],
        "quantitydecimal": fs.decimals,
        "msdynce_ismaintainedexternally": fs.maintained,
        "_defaultuomid_value": catalog.fs_units[fs.sales_unit],
        "_defaultuomscheduleid_value": catalog.unit_group_id,
        "_msdynce_inventoryunit_value": catalog.fs_units[fs.inventory_unit],
        "statecode": 0,
        "statuscode": 1,
        "createdon": created,
        "modifiedon": created,
    }


def _fs_product(context: SeedContext, catalog: Catalog, fs: FsProduct) -> str:
    return context.sandbox.dataverse.insert("products", fs_product_row(context, catalog, fs))
