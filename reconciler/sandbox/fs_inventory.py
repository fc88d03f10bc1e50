"""Emulated Field Service behaviour: posting an inventory adjustment line moves on-hand.

In Field Service stock only moves through journals: when an ``msdyn_inventoryadjustmentproduct``
is created under an adjustment, FS writes an inventory journal and updates the
``msdyn_productinventory`` row of (product, the adjustment's warehouse), creating that row
when the product has never been stocked there. This is also how the SCM on-hand template
lands its levels ("absolute in, delta applied", fs-scm-templates.md section 5), so a client
that corrects FS stock by posting signed adjustment lines must see the level change. The
sandbox applies the delta directly (no journal rows) inside the create's atomic unit, so a
rolled-back change set leaves on-hand untouched.

Not emulated: lines linked to an inventory transfer instead of an adjustment are accepted
without moving stock, and updating or deleting a line does not move stock again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.sandbox.dataverse_store import DataverseRecord, DataverseStore
from reconciler.sandbox.service_errors import ServiceError

LINES = "msdyn_inventoryadjustmentproducts"
ADJUSTMENTS = "msdyn_inventoryadjustments"
INVENTORIES = "msdyn_productinventories"
PLUGIN_ERROR = "0x80040265"
# msdyn_qtyonhand/msdyn_qtyavailable are Double columns with precision 2 (key_columns.json).
QUANTITY_DECIMALS = 2
_REQUIRED = (
    ("_msdyn_product_value", "Product"),
    ("_msdyn_unit_value", "Unit"),
    ("msdyn_quantity", "Quantity"),
)


def _plugin_error(message: str) -> ServiceError:
    """Field Service plugins reject a write with 400 and the plugin's text (code 0x80040265,
    "ISV code aborted the operation")."""
    return ServiceError(400, message, code=PLUGIN_ERROR)


def validate_line(store: DataverseStore, values: Mapping[str, Any]) -> None:
    """Before the line is created: product, unit and quantity are required, and the
    adjustment it belongs to must name a warehouse."""
    missing = [label for column, label in _REQUIRED if values.get(column) is None]
    if missing:
        raise _plugin_error(
            "Inventory adjustment product: required field(s) missing: " + ", ".join(missing) + "."
        )
    if not isinstance(values["msdyn_quantity"], (int, float)) or isinstance(
        values["msdyn_quantity"], bool
    ):
        raise _plugin_error("Inventory adjustment product: Quantity must be a number.")
    header_id = values.get("_msdyn_inventoryadjustment_value")
    if header_id is None:
        if values.get("_msdyn_inventorytransfer_value") is None:
            raise _plugin_error(
                "Inventory adjustment product: an Inventory Adjustment or an Inventory "
                "Transfer is required."
            )
        return
    _warehouse_of(store, str(header_id))


def _warehouse_of(store: DataverseStore, header_id: str) -> str:
    header = store.record(ADJUSTMENTS, header_id)
    warehouse = None if header is None else header.row.get("_msdyn_warehouse_value")
    if warehouse is None:
        raise _plugin_error(
            f"Inventory adjustment {header_id} has no Warehouse; set the adjustment's "
            "warehouse before adding products."
        )
    return str(warehouse)


def post_line(store: DataverseStore, line_id: str) -> None:
    """After the line is created: apply its signed quantity to on-hand and available."""
    line = store.record(LINES, line_id)
    if line is None or line.row.get("_msdyn_inventoryadjustment_value") is None:
        return
    row = line.row
    warehouse = _warehouse_of(store, str(row["_msdyn_inventoryadjustment_value"]))
    product = str(row["_msdyn_product_value"])
    quantity = float(row["msdyn_quantity"])
    current = _inventory(store, product, warehouse)
    if current is None:
        _create_inventory(store, product, warehouse, str(row["_msdyn_unit_value"]), quantity)
    else:
        store.update(
            INVENTORIES, current.row["msdyn_productinventoryid"], _moved(current, quantity)
        )


def _inventory(store: DataverseStore, product: str, warehouse: str) -> DataverseRecord | None:
    """FS keeps one product inventory row per product and warehouse."""
    for record in store.find(INVENTORIES, "_msdyn_product_value", product):
        if record.row.get("_msdyn_warehouse_value") == warehouse:
            return record
    return None


def _moved(current: DataverseRecord, quantity: float) -> dict[str, float]:
    return {
        column: round(float(current.row.get(column) or 0) + quantity, QUANTITY_DECIMALS)
        for column in ("msdyn_qtyonhand", "msdyn_qtyavailable")
    }


def _create_inventory(
    store: DataverseStore, product: str, warehouse: str, unit: str, quantity: float
) -> None:
    level = round(quantity, QUANTITY_DECIMALS)
    store.insert(
        INVENTORIES,
        {
            "_msdyn_product_value": product,
            "_msdyn_warehouse_value": warehouse,
            "_msdyn_unit_value": unit,
            "msdyn_qtyonhand": level,
            "msdyn_qtyavailable": level,
            "msdyn_qtyallocated": 0,
            "msdyn_qtyonorder": 0,
        },
        {
            "_msdyn_product_value": "products",
            "_msdyn_warehouse_value": "msdyn_warehouses",
            "_msdyn_unit_value": "uoms",
        },
    )
