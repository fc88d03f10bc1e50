"""Business rules F&O applies when a client writes the documents of fno_documents.py: number
sequences, required fields, a line's header and item must exist, and frozen documents.

The rules run in the OData layer (like X++ ``validateWrite`` behind an entity), not in the
store, so seeds and data folders can load any state, posted documents included. A refused
write answers 400 with the write-failure JSON of api-protocols.md B7, the reason in the
Infolog text of ``innererror.message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.sandbox.fno_documents import (
    BY_HEADER,
    BY_LINES,
    NUMBERED_HEADERS,
    Document,
    is_blank,
    journal_number,
    sequence_of,
)
from reconciler.sandbox.fno_store import FnoRecord, FnoStore
from reconciler.sandbox.odata_eval import collate
from reconciler.sandbox.schema import EntityDef
from reconciler.sandbox.service_errors import FNO_WRITE_EXCEPTION, ServiceError

PRODUCTS = "CDSReleasedDistinctProducts"


def refused(entity: EntityDef, reason: str) -> ServiceError:
    """A write the entity's validation rejects (B7 shape, status 400)."""
    return ServiceError(
        400,
        f"Write failed for table row of type '{entity.type_name}'. Infolog: Error: {reason}",
        inner_type=FNO_WRITE_EXCEPTION,
    )


class DocumentRules:
    """Checks and defaults for creates, updates and deletes of document entities."""

    def __init__(self, store: FnoStore) -> None:
        self._store = store

    # --- creates ----------------------------------------------------------------------
    def prepare_create(self, entity: EntityDef, body: Mapping[str, Any]) -> dict[str, Any]:
        """The body to insert: numbers assigned where the client left them out. Raises
        ServiceError when F&O's validation would refuse the record."""
        values = dict(body)
        header_of = BY_HEADER.get(entity.entity_set)
        if header_of is not None:
            self._prepare_header(entity, header_of, values)
        lines_of = BY_LINES.get(entity.entity_set)
        if lines_of is not None:
            self._prepare_line(entity, lines_of, values)
        return values

    def _company(self, values: Mapping[str, Any]) -> str:
        return str(values.get("dataAreaId") or self._store.default_company).lower()

    def _prepare_header(
        self, entity: EntityDef, document: Document, values: dict[str, Any]
    ) -> None:
        if document.numbered and is_blank(values.get(document.number_field)):
            values[document.number_field] = self.next_journal_number(self._company(values))
        _require(entity, document.header_required, values)

    def _prepare_line(self, entity: EntityDef, document: Document, values: dict[str, Any]) -> None:
        company = self._company(values)
        number = values.get(document.number_field)
        if is_blank(number):
            raise refused(entity, f"Field '{document.number_field}' must be filled in.")
        header = self._store.get(
            document.header, {"dataAreaId": company, **_number(document, number)}
        )
        if header is None:
            raise refused(entity, f"{document.label} {number} does not exist.")
        if document.is_frozen(header):
            raise refused(entity, _frozen(document, header))
        _require(entity, document.line_required, values)
        item = document.item_field
        if item is not None and not self._released(company, item, values[item]):
            label = dict(document.line_required)[item]
            raise refused(entity, f"{label} {values[item]} does not exist in company {company}.")
        line_field = document.line_number_field
        if line_field is not None and not values.get(line_field):
            values[line_field] = self._next_line_number(document, header)

    def _released(self, company: str, field: str, value: object) -> bool:
        """The item/product is released to the company (CDSReleasedDistinctProducts)."""
        wanted = (collate(company), collate(value))
        return any(
            (collate(record.row.get("dataAreaId")), collate(record.row.get(field))) == wanted
            for record in self._store.snapshot(PRODUCTS)
        )

    def next_journal_number(self, company: str) -> str:
        """One past the highest number of the company's sequence in either journal type."""
        used = [
            sequence_of(company, record.row.get("JournalNumber"))
            for header in NUMBERED_HEADERS
            for record in self._store.snapshot(header)
            if collate(record.row.get("dataAreaId")) == collate(company)
        ]
        return journal_number(company, max([n for n in used if n is not None], default=0) + 1)

    def _next_line_number(self, document: Document, header: Mapping[str, Any]) -> int:
        field = document.line_number_field or ""
        numbers = [int(line.row.get(field) or 0) for line in self.lines_of(document, header)]
        return max(numbers, default=0) + 1

    def lines_of(self, document: Document, header: Mapping[str, Any]) -> list[FnoRecord]:
        """The header's lines (key fields compared the SQL Server way)."""
        wanted = [collate(header.get(name)) for name in document.parent_fields]
        return [
            record
            for record in self._store.snapshot(document.lines)
            if [collate(record.row.get(name)) for name in document.parent_fields] == wanted
        ]

    # --- updates and deletes ----------------------------------------------------------
    def check_change(self, entity: EntityDef, key: Mapping[str, Any]) -> None:
        """PATCH, PUT and DELETE are refused on a frozen document and on its lines."""
        document = BY_HEADER.get(entity.entity_set)
        if document is not None:
            header = self._store.get(entity.entity_set, key)
        else:
            document = BY_LINES.get(entity.entity_set)
            line = None if document is None else self._store.get(entity.entity_set, key)
            if document is None or line is None:
                return
            company = {"dataAreaId": line.get("dataAreaId")}
            header = self._store.get(
                document.header, {**company, **_number(document, line.get(document.number_field))}
            )
        if header is not None and document.is_frozen(header):
            raise refused(entity, _frozen(document, header))


def _number(document: Document, number: object) -> dict[str, Any]:
    return {document.number_field: number}


def _frozen(document: Document, header: Mapping[str, Any]) -> str:
    number = header.get(document.number_field)
    return f"{document.label} {number} {document.frozen_reason} and cannot be changed."


def _require(
    entity: EntityDef, required: tuple[tuple[str, str], ...], values: Mapping[str, Any]
) -> None:
    """X++'s mandatory-field message for the first blank mandatory field."""
    for name, label in required:
        if is_blank(values.get(name)):
            raise refused(entity, f"Field '{label}' must be filled in.")
