"""Property: any SCM/FS on-hand state plans, applies and re-plans to zero changes.

Runs against the sandbox over loopback: the adjustments are posted as FS inventory
adjustments and the sandbox moves msdyn_productinventories the way FS does.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.apply import apply_plan
from reconciler.config import SANDBOX_SECRET_ENV, load_profile
from reconciler.planner import make_plan
from reconciler.rules import load_rules
from reconciler.sandbox import Sandbox, start
from reconciler.session import open_connectors, snapshot_now
from tests.conftest import write_profile

PRODUCTS = ("A", "B", "C")
WAREHOUSES = ("W1", "W2")
CELLS = [(p, w) for p in PRODUCTS for w in WAREHOUSES]
quantity = st.one_of(
    st.none(),
    st.decimals(min_value=-20, max_value=500, places=3, allow_nan=False).map(float),
)


def build_world(
    scm: dict[tuple[str, str], float | None], fs: dict[tuple[str, str], float | None]
) -> tuple[Sandbox, dict[str, str], dict[str, str]]:
    world = Sandbox()
    bu = str(uuid.uuid5(uuid.NAMESPACE_URL, "bu-usmf"))
    world.dataverse.insert("businessunits", {"businessunitid": bu, "name": "usmf"})
    world.companies["usmf"] = bu
    schedule = world.dataverse.insert("uomschedules", {"name": "Default Unit", "baseuomname": "ea"})
    unit = world.dataverse.insert(
        "uoms", {"name": "ea", "_uomscheduleid_value": schedule, "quantity": 1}
    )
    product_ids = {}
    for number in PRODUCTS:
        world.fno.insert(
            "CDSReleasedDistinctProducts",
            {
                "dataAreaId": "usmf",
                "ProductNumber": number,
                "ItemNumber": number,
                "ProductName": number,
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
            },
        )
        product_ids[number] = world.dataverse.insert(
            "products",
            {
                "productnumber": number,
                "name": number,
                "description": "",
                "msdyn_fieldserviceproducttype": 690970000,
                "quantitydecimal": 2,
                "_defaultuomid_value": unit,
                "_msdynce_inventoryunit_value": unit,
                "_defaultuomscheduleid_value": schedule,
                "msdynce_ismaintainedexternally": True,
            },
        )
    warehouse_ids = {}
    for name in WAREHOUSES:
        world.fno.insert(
            "Warehouses", {"dataAreaId": "usmf", "WarehouseId": name, "WarehouseName": name}
        )
        warehouse_ids[name] = world.dataverse.insert(
            "msdyn_warehouses",
            {
                "msdyn_name": name,
                "msdyn_description": name,
                "_owningbusinessunit_value": bu,
                "msdynce_ismaintainedexternally": True,
            },
        )
    for (product, warehouse), qty in scm.items():
        if qty is not None:
            world.fno.insert(
                "WarehousesOnHandV2",
                {
                    "dataAreaId": "usmf",
                    "ItemNumber": product,
                    "ProductColorId": "",
                    "ProductConfigurationId": "",
                    "ProductSizeId": "",
                    "ProductStyleId": "",
                    "ProductVersionId": "",
                    "InventorySiteId": "1",
                    "InventoryWarehouseId": warehouse,
                    "OnHandQuantity": qty,
                },
            )
    for (product, warehouse), qty in fs.items():
        if qty is not None:
            world.dataverse.insert(
                "msdyn_productinventories",
                {
                    "_msdyn_product_value": product_ids[product],
                    "_msdyn_warehouse_value": warehouse_ids[warehouse],
                    "_msdyn_unit_value": unit,
                    "msdyn_qtyonhand": two_decimals(qty),
                    "msdyn_qtyavailable": two_decimals(qty),
                },
            )
    return world, product_ids, warehouse_ids


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scm=st.fixed_dictionaries({cell: quantity for cell in CELLS}),
    fs=st.fixed_dictionaries({cell: quantity for cell in CELLS}),
)
def test_onhand_always_reaches_zero_changes(
    scm: dict[tuple[str, str], float | None],
    fs: dict[tuple[str, str], float | None],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, products, warehouses = build_world(scm, fs)
    folder: Path = tmp_path_factory.mktemp("prop")
    with start(world) as server:
        monkeypatch.setenv(SANDBOX_SECRET_ENV, str(server.profile_values()["client_secret"]))
        profile = load_profile(write_profile(server, folder))
        rules = load_rules(profile.rules_dir)
        first = make_plan(snapshot_now(profile, rules).path, rules, profile)
        with open_connectors(profile, rules) as connectors:
            result = apply_plan(first, rules, profile, connectors)
        assert result.ok, [o for o in result.outcomes if o.status not in ("applied", "reported")]
        second = make_plan(snapshot_now(profile, rules).path, rules, profile)
    leftover = [a for a in second.actions if a.kind != "report"]
    assert leftover == []
    # every SCM level is now what FS holds (to FS's two decimals); FS-only rows are untouched
    levels = {
        (row["_msdyn_product_value"], row["_msdyn_warehouse_value"]): row["msdyn_qtyonhand"]
        for row in world.dataverse.rows("msdyn_productinventories")
    }
    for (product, warehouse), qty in scm.items():
        held = levels.get((products[product], warehouses[warehouse]))
        expected = fs[(product, warehouse)] if qty is None else qty
        if expected is None or (held is None and two_decimals(expected) == 0):
            assert held is None
        else:
            assert held is not None and abs(held - two_decimals(expected)) < 0.0051


def two_decimals(value: float) -> float:
    """FS stores 2 decimals and rounds half away from zero (SQL Server), unlike round()."""
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
