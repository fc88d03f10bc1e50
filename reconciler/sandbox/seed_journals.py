"""Seed part: FS inventory adjustments and transfers, and the SCM journals they became
(fs-scm-templates.md sections 6-7).

FS: ``msdyn_inventoryadjustments`` (warehouse) and ``msdyn_inventorytransfers`` (source and
destination warehouse) with "Post status" ``msdynce_poststatus`` Created (1) or Posted (2);
their lines are ``msdyn_inventoryadjustmentproducts`` linked to one or the other. Only Posted
documents are journaled. SCM: ``InventoryAdjustmentJournalHeaders`` / ``...EntriesV2`` and
``InventoryTransferJournalHeaders`` / ``...Entries``, numbered from the company's journal
sequence (``USMF-000001``). The FS document number lives in the journal header's
``Description`` (the only free-text header field; the template's mapping is unreadable);
lines are numbered 1..n in FS line order.

Lines carry the item number and the product dimensions of the released distinct product (a
variant is its own FS product; adjustments ``Product…Id``, transfers ``Source…``/
``Destination…``) and FS quantities in the product's inventory unit, the unit the line
holds unless a plan says otherwise (``units``: an older line in another unit, which the
journal cannot take). ``scm_lines`` overrides fields of SCM's journal lines (drift).

The seeded FS rows did not move FS on-hand (they are history; the on-hand seed is
unchanged). Manifest keys ``inventory_journals.<kind>``; see ``_PLANS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.sandbox.fno_documents import ADJUSTMENT_JOURNAL, TRANSFER_JOURNAL, journal_number
from reconciler.sandbox.seed_base import SeedContext
from reconciler.sandbox.seed_catalog import ProductSpec
from reconciler.sandbox.seed_documents import Links, differences, fs_date, scm_date

CREATED, POSTED = 1, 2
ADJUSTMENT_JOURNAL_NAME = "IAdj"
TRANSFER_JOURNAL_NAME = "ITrf"


@dataclass(frozen=True)
class JournalPlan:
    """One FS document; ``destination`` set means a transfer. ``journaled``: SCM has its
    journal; ``journal_posted``: that journal is posted. ``units`` (line number -> unit
    symbol) puts a line in another unit than its product's inventory unit; ``scm_lines``
    (line number -> fields) changes SCM's line."""

    name: str
    kinds: tuple[str, ...]
    lines: tuple[tuple[str, float], ...]
    warehouse: str
    destination: str | None = None
    company: str = "usmf"
    posted: bool = True
    journaled: bool = False
    journal_posted: bool = False
    day: str = "2024-02-05"
    units: dict[int, str] = field(default_factory=dict)
    scm_lines: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def transfer(self) -> bool:
        return self.destination is not None


_PLANS = (
    JournalPlan(
        "ADJ-00101",
        ("adjustment_in_sync",),
        (("P-1001", 5), ("P-1002", -2)),
        "MAIN",
        journaled=True,
    ),
    JournalPlan(
        "ADJ-00102",
        ("adjustment_in_sync", "journal_posted"),
        (("P-1003", -1),),
        "SPARE",
        journaled=True,
        journal_posted=True,
    ),
    JournalPlan("ADJ-00103", ("adjustment_missing",), (("P-1004", 3), ("P-1006", 1.25)), "MAIN"),
    JournalPlan("ADJ-00104", ("adjustment_missing",), (("P-1001", -4),), "MAIN", company="demf"),
    JournalPlan("ADJ-00105", ("adjustment_not_posted",), (("P-1005", 2),), "MAIN", posted=False),
    JournalPlan(
        "TRF-00101",
        ("transfer_in_sync",),
        (("P-1001", 2), ("P-1002", 1)),
        "MAIN",
        destination="SPARE",
        journaled=True,
    ),
    JournalPlan("TRF-00102", ("transfer_missing",), (("P-1003", 6),), "SPARE", destination="MAIN"),
    JournalPlan(
        "TRF-00103", ("transfer_not_posted",), (("P-1004", 1),), "MAIN", "SPARE", posted=False
    ),
    JournalPlan(
        "ADJ-00106",
        ("adjustment_missing", "variant_line"),
        (("T-3000-BLK-M", 2), ("P-1005", 1)),
        "MAIN",
    ),
    JournalPlan(
        "ADJ-00107",
        ("variant_line", "variant_size_differs"),
        (("T-3000-BLK-L", -1),),
        "SPARE",
        journaled=True,
        scm_lines={1: {"ProductSizeId": "M"}},
    ),
    JournalPlan(
        "TRF-00104",
        ("transfer_missing", "variant_line"),
        (("T-3000-BLK-M", 1),),
        "MAIN",
        destination="SPARE",
    ),
    JournalPlan(
        "ADJ-00108",
        ("not_inventory_unit",),
        (("P-1002", 3), ("P-1007", 2)),
        "MAIN",
        units={2: "box"},  # P-1007 is stocked in ea, sold in boxes
    ),
)


def seed_inventory_journals(context: SeedContext, links: Links) -> None:
    sequences: dict[str, int] = {}
    for plan in _PLANS:
        entry = _fs_document(context, links, plan)
        expected_lines = {
            number: _expected_line(links, plan, product, quantity)
            for number, (product, quantity) in enumerate(plan.lines, start=1)
        }
        scm: dict[str, Any] | None = None
        scm_lines = {
            number: {**values, **plan.scm_lines.get(number, {})}
            for number, values in expected_lines.items()
        }
        if plan.journaled:
            sequences[plan.company] = sequences.get(plan.company, 0) + 1
            number = journal_number(plan.company, sequences[plan.company])
            scm = _scm_journal(context, links, plan, number, scm_lines)
            entry["journal_number"] = number
        entry["scm"] = scm
        entry["held_back"] = any(not line["in_inventory_unit"] for line in entry["lines"])
        entry.update(differences(entry["expected"], scm, expected_lines, scm_lines))
        for kind in plan.kinds:
            context.record(f"inventory_journals.{kind}", dict(entry))


def _expected_line(
    links: Links, plan: JournalPlan, product: str, quantity: float
) -> dict[str, Any]:
    spec = links.catalog.products[product]
    if plan.destination is None:
        return {
            "ItemNumber": spec.item_number,
            **spec.dimensions,
            "InventorySiteId": links.site(plan.company, plan.warehouse),
            "InventoryWarehouseId": plan.warehouse,
            "InventoryQuantity": float(quantity),
        }
    return {
        "ItemNumber": spec.item_number,
        **_dimensions("Source", spec),
        **_dimensions("Destination", spec),
        "SourceInventorySiteId": links.site(plan.company, plan.warehouse),
        "SourceWarehouseId": plan.warehouse,
        "DestinationInventorySiteId": links.site(plan.company, plan.destination),
        "DestinationWarehouseId": plan.destination,
        "InventoryQuantity": float(quantity),
    }


def _dimensions(side: str, spec: ProductSpec) -> dict[str, str]:
    """A transfer line's ``Source…``/``Destination…`` product dimensions."""
    return {f"{side}{name}": value for name, value in spec.dimensions.items()}


def _fs_document(context: SeedContext, links: Links, plan: JournalPlan) -> dict[str, Any]:
    store = context.sandbox.dataverse
    unit = context.sandbox.companies[plan.company]
    created = context.moment()
    common = {
        "msdyn_name": plan.name,
        "msdyn_description": f"Technician stock {plan.name}",
        "msdynce_poststatus": POSTED if plan.posted else CREATED,
        "_owningbusinessunit_value": unit,
        "createdon": created,
        "modifiedon": created,
    }
    source = links.fs_warehouse(plan.company, plan.warehouse)
    if plan.destination is None:
        document_id = store.insert(
            "msdyn_inventoryadjustments",
            {
                **common,
                "msdyn_inventoryadjustmentid": context.row_id("inventoryadjustment", plan.name),
                "msdyn_adjustmenttime": fs_date(plan.day),
                "_msdyn_warehouse_value": source,
            },
        )
    else:
        document_id = store.insert(
            "msdyn_inventorytransfers",
            {
                **common,
                "msdyn_inventorytransferid": context.row_id("inventorytransfer", plan.name),
                "msdyn_transfertime": fs_date(plan.day),
                "_msdyn_sourcewarehouse_value": source,
                "_msdyn_destinationwarehouse_value": links.fs_warehouse(
                    plan.company, plan.destination
                ),
            },
        )
    lines = [
        _fs_line(context, links, plan, document_id, number, product, quantity)
        for number, (product, quantity) in enumerate(plan.lines, start=1)
    ]
    return {
        "company": plan.company,
        "document": plan.name,
        "fs_id": document_id,
        "type": "transfer" if plan.transfer else "adjustment",
        "post_status": POSTED if plan.posted else CREATED,
        "warehouse_id": plan.warehouse,
        "destination_warehouse_id": plan.destination,
        "date": plan.day,
        "journal_number": None,
        "journal_posted": plan.journal_posted,
        "expected": {"Description": plan.name},
        "lines": lines,
    }


def _fs_line(
    context: SeedContext,
    links: Links,
    plan: JournalPlan,
    document_id: str,
    number: int,
    product: str,
    quantity: float,
) -> dict[str, Any]:
    spec = links.catalog.products[product]
    parent = (
        "_msdyn_inventorytransfer_value" if plan.transfer else "_msdyn_inventoryadjustment_value"
    )
    unit = plan.units.get(number, spec.inventory_unit)
    created = context.moment()
    line_id = context.sandbox.dataverse.insert(
        "msdyn_inventoryadjustmentproducts",
        {
            "msdyn_inventoryadjustmentproductid": context.row_id(
                "inventoryadjustmentproduct", plan.name, str(number)
            ),
            "msdyn_name": f"{plan.name}-{number}",
            parent: document_id,
            "_msdyn_product_value": links.catalog.fs_products[product],
            "_msdyn_unit_value": links.catalog.fs_units[unit],
            "msdyn_quantity": float(quantity),
            "_owningbusinessunit_value": context.sandbox.companies[plan.company],
            "createdon": created,
            "modifiedon": created,
        },
    )
    return {
        "line": number,
        "fs_id": line_id,
        "product_number": product,
        "item_number": spec.item_number,
        "dimensions": {name: value for name, value in spec.dimensions.items() if value},
        "quantity": float(quantity),
        "unit": unit,
        "inventory_unit": spec.inventory_unit,
        "in_inventory_unit": unit == spec.inventory_unit,
    }


def _scm_journal(
    context: SeedContext,
    links: Links,
    plan: JournalPlan,
    number: str,
    lines: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    site = links.site(plan.company, plan.warehouse)
    header = {
        "dataAreaId": plan.company,
        "JournalNumber": number,
        "JournalNameId": TRANSFER_JOURNAL_NAME if plan.transfer else ADJUSTMENT_JOURNAL_NAME,
        "Description": plan.name,
        "DefaultWarehouseId": plan.warehouse,
        "DefaultInventorySiteId": site,
        "IsPosted": "Yes" if plan.journal_posted else "No",
    }
    if plan.journal_posted:
        header.update(PostedDateTime=f"{plan.day}T18:00:00Z", PostedUserId="Admin")
    document = TRANSFER_JOURNAL if plan.transfer else ADJUSTMENT_JOURNAL
    context.sandbox.fno.insert(document.header, header)
    for line_number, values in lines.items():
        context.sandbox.fno.insert(
            document.lines,
            {
                **values,
                "dataAreaId": plan.company,
                "JournalNumber": number,
                "LineNumber": line_number,
                "JournalNameId": header["JournalNameId"],
                "TransactionDate": scm_date(plan.day),
            },
        )
    return {"Description": header["Description"]}
