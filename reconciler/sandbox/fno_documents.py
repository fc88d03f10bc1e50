"""The F&O documents the FS -> SCM flows write: header entity, line entity, how a line names
its header, and the status that freezes a document (fs-scm-templates.md sections 2, 3, 6, 7).

Entity sets and keys are the ones in schemas/fo/entities.json that the templates name:
CDS sales order headers/lines (work orders), CDS free text invoice headers/lines (agreement
invoices), and the inventory adjustment and transfer journals (the CDS journal entities of
the template are not in the reference; these are their public OData counterparts with the
same header key). ``navigation`` is the header's collection-valued navigation property to
its lines, as entities.json lists it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from reconciler.sandbox.schema import FNO_EMPTY_DATE


@dataclass(frozen=True)
class Document:
    """One header/line pair of entity sets and its business rules."""

    label: str
    header: str
    lines: str
    navigation: str
    parent_fields: tuple[str, ...]
    frozen_field: str
    frozen_value: str
    frozen_reason: str
    header_required: tuple[tuple[str, str], ...] = ()
    line_required: tuple[tuple[str, str], ...] = ()
    item_field: str | None = None
    numbered: bool = False
    line_number_field: str | None = None

    @property
    def number_field(self) -> str:
        """The header's own document number (the last parent field)."""
        return self.parent_fields[-1]

    def is_frozen(self, header: Mapping[str, Any]) -> bool:
        return header.get(self.frozen_field) == self.frozen_value

    def parent_key(self, line: Mapping[str, Any]) -> dict[str, Any]:
        return {name: line.get(name) for name in self.parent_fields}


SALES_ORDER: Final = Document(
    label="Sales order",
    header="CDSSalesOrderHeaders",
    lines="CDSSalesOrderLinesV2",
    navigation="CDSSalesOrderLinesV2",
    parent_fields=("dataAreaId", "SalesOrderNumber"),
    frozen_field="SalesOrderStatus",
    frozen_value="Invoiced",
    frozen_reason="is invoiced",
    header_required=(("OrderingCustomerAccountNumber", "Customer account"),),
    line_required=(("ProductNumber", "Product number"),),
    item_field="ProductNumber",
)
FREE_TEXT_INVOICE: Final = Document(
    label="Free text invoice",
    header="CDSFreeTextInvoiceHeaders",
    lines="CDSFreeTextInvoiceLines",
    navigation="CDSFreeTextInvoiceLines",
    parent_fields=("dataAreaId", "ExternalInvoiceId"),
    frozen_field="IsPosted",
    frozen_value="Yes",
    frozen_reason="is posted",
    header_required=(("CustomerAccount", "Customer account"), ("InvoiceDate", "Invoice date")),
    line_required=(("MainAccountDisplayValue", "Main account"),),
)
ADJUSTMENT_JOURNAL: Final = Document(
    label="Journal",
    header="InventoryAdjustmentJournalHeaders",
    lines="InventoryAdjustmentJournalEntriesV2",
    navigation="InventoryAdjustmentJournalEntriesV2",
    parent_fields=("dataAreaId", "JournalNumber"),
    frozen_field="IsPosted",
    frozen_value="Yes",
    frozen_reason="has been posted",
    header_required=(("JournalNameId", "Name"),),
    line_required=(("ItemNumber", "Item number"),),
    item_field="ItemNumber",
    numbered=True,
    line_number_field="LineNumber",
)
TRANSFER_JOURNAL: Final = Document(
    label="Journal",
    header="InventoryTransferJournalHeaders",
    lines="InventoryTransferJournalEntries",
    navigation="InventoryTransferJournalEntry",
    parent_fields=("dataAreaId", "JournalNumber"),
    frozen_field="IsPosted",
    frozen_value="Yes",
    frozen_reason="has been posted",
    header_required=(("JournalNameId", "Name"),),
    line_required=(("ItemNumber", "Item number"),),
    item_field="ItemNumber",
    numbered=True,
    line_number_field="LineNumber",
)
DOCUMENTS: Final = (SALES_ORDER, FREE_TEXT_INVOICE, ADJUSTMENT_JOURNAL, TRANSFER_JOURNAL)
BY_HEADER: Final = {document.header: document for document in DOCUMENTS}
BY_LINES: Final = {document.lines: document for document in DOCUMENTS}
# Journal numbers come from one sequence per company shared by both journal types, as
# F&O's inventory "Journal ID" number sequence is.
NUMBERED_HEADERS: Final = tuple(d.header for d in DOCUMENTS if d.numbered)


def is_blank(value: object) -> bool:
    """Unset as F&O shows it: null, "" or the empty date."""
    return value is None or (isinstance(value, str) and value.strip() in ("", FNO_EMPTY_DATE))


def journal_number(company: str, sequence: int) -> str:
    """``USMF-000042``: the number sequence's format, prefixed with the company."""
    return f"{company.upper()}-{sequence:06d}"


def sequence_of(company: str, number: object) -> int | None:
    """The counter inside a number of ``company``'s format, or None for other numbers."""
    prefix = f"{company.upper()}-"
    if not isinstance(number, str) or not number.upper().startswith(prefix):
        return None
    digits = number[len(prefix) :]
    return int(digits) if digits.isdigit() else None
