"""Dataverse rows per entity set, keyed by primary id (a GUID).

Every write bumps the organisation-wide ``versionnumber`` (SQL rowversion, so the ETag is
``W/"<versionnumber>"``, A5) and ``modifiedon``. Rows hold every known column, null when
empty, because that is what a GET without ``$select`` returns. Lookup values remember which
entity set they point at, for ``lookuplogicalname`` annotations and polymorphic owners.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox.schema import DATAVERSE_TABLES, TableDef
from reconciler.sandbox.state import (
    DuplicateKey,
    InvalidRecord,
    Journal,
    RecordNotFound,
    UnknownEntitySet,
)

_SYSTEM_DEFAULTS = {"statecode": 0, "statuscode": 1}


def format_timestamp(moment: datetime) -> str:
    """Dataverse's UTC timestamp form, e.g. ``2024-03-01T08:15:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> datetime:
    return datetime.now(UTC)


def normalize_id(value: object) -> str:
    """Canonical lower-case GUID text; anything else is an InvalidRecord."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise InvalidRecord(f"'{value}' is not a valid GUID.") from exc


@dataclass(frozen=True)
class DataverseRecord:
    row: Mapping[str, Any]
    targets: Mapping[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return f'W/"{self.row.get("versionnumber")}"'

    def with_etag(self) -> dict[str, Any]:
        return {"@odata.etag": self.etag, **self.row}


class DataverseStore:
    """Entity set name -> {primary id -> record}."""

    def __init__(
        self,
        lock: threading.RLock,
        journal: Journal,
        owner_id: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._lock = lock
        self._journal = journal
        self._clock = clock
        self.owner_id = owner_id
        self._tables: dict[str, dict[str, DataverseRecord]] = {}
        self._learned: dict[str, set[str]] = {}
        self._versions = itertools.count(1_000_001)

    # --- schema -----------------------------------------------------------------------
    def table(self, entity_set: str) -> TableDef:
        table = DATAVERSE_TABLES.get(entity_set)
        if table is None:
            raise UnknownEntitySet(entity_set)
        return table

    def known_columns(self, entity_set: str) -> frozenset[str]:
        """Schema columns plus columns learned from loaded rows (custom columns)."""
        table = self.table(entity_set)
        with self._lock:
            return frozenset(table.columns) | frozenset(self._learned.get(entity_set, ()))

    def learn_columns(self, entity_set: str, names: Iterable[str]) -> None:
        table = self.table(entity_set)
        new = {name for name in names if name not in table.columns and "@" not in name}
        with self._lock:
            self._learned.setdefault(entity_set, set()).update(new)

    # --- reads ------------------------------------------------------------------------
    def snapshot(self, entity_set: str) -> list[DataverseRecord]:
        self.table(entity_set)
        with self._lock:
            return list(self._tables.get(entity_set, {}).values())

    def rows(self, entity_set: str) -> list[dict[str, Any]]:
        """Copies of all rows with ``@odata.etag``, in insertion order."""
        return [record.with_etag() for record in self.snapshot(entity_set)]

    def record(self, entity_set: str, record_id: object) -> DataverseRecord | None:
        self.table(entity_set)
        with self._lock:
            return self._tables.get(entity_set, {}).get(normalize_id(record_id))

    def get(self, entity_set: str, record_id: object) -> dict[str, Any] | None:
        record = self.record(entity_set, record_id)
        return None if record is None else record.with_etag()

    # --- writes -----------------------------------------------------------------------
    def insert(
        self,
        entity_set: str,
        row: Mapping[str, Any],
        targets: Mapping[str, str] | None = None,
    ) -> str:
        """Create a row; a missing primary id gets a new GUID. Returns the id."""
        table = self.table(entity_set)
        values = {k: v for k, v in row.items() if "@" not in k}
        record_id = normalize_id(values.get(table.primary_id) or uuid.uuid4())
        self.learn_columns(entity_set, values)
        with self._lock:
            rows = self._tables.setdefault(entity_set, {})
            if record_id in rows:
                raise DuplicateKey(f"{table.logical_name} {record_id}")
            full = self._new_row(table, values, record_id)
            rows[record_id] = DataverseRecord(full, self._targets(table, full, {}, targets))
            self._journal.record(lambda: rows.pop(record_id, None))
        return record_id

    def update(
        self,
        entity_set: str,
        record_id: object,
        changes: Mapping[str, Any],
        targets: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Merge changes; bumps versionnumber and modifiedon. Returns the new row."""
        table = self.table(entity_set)
        values = {k: v for k, v in changes.items() if "@" not in k and k != table.primary_id}
        self.learn_columns(entity_set, values)
        with self._lock:
            rows, key, current = self._locate(table, record_id)
            merged = {**current.row, **values}
            merged["versionnumber"] = next(self._versions)
            merged["modifiedon"] = values.get("modifiedon") or format_timestamp(self._clock())
            new_targets = self._targets(table, merged, current.targets, targets)
            rows[key] = DataverseRecord(merged, new_targets)
            self._journal.record(lambda: rows.__setitem__(key, current))
            return rows[key].with_etag()

    def delete(self, entity_set: str, record_id: object) -> None:
        table = self.table(entity_set)
        with self._lock:
            rows, key, current = self._locate(table, record_id)
            del rows[key]
            self._journal.record(lambda: rows.__setitem__(key, current))

    def root_business_unit_id(self) -> str | None:
        """The business unit without a parent (every org has exactly one)."""
        for record in self.snapshot("businessunits"):
            if record.row.get("_parentbusinessunitid_value") is None:
                return str(record.row["businessunitid"])
        return None

    # --- helpers ----------------------------------------------------------------------
    def _locate(
        self, table: TableDef, record_id: object
    ) -> tuple[dict[str, DataverseRecord], str, DataverseRecord]:
        rows = self._tables.setdefault(table.entity_set, {})
        key = normalize_id(record_id)
        current = rows.get(key)
        if current is None:
            raise RecordNotFound(f"{table.logical_name} With Id = {key} Does Not Exist")
        return rows, key, current

    def _new_row(
        self, table: TableDef, values: Mapping[str, Any], record_id: str
    ) -> dict[str, Any]:
        now = format_timestamp(self._clock())
        row: dict[str, Any] = dict.fromkeys(self.known_columns(table.entity_set))
        row.update(values)
        row[table.primary_id] = record_id
        row["versionnumber"] = next(self._versions)
        row["createdon"] = values.get("createdon") or now
        row["modifiedon"] = values.get("modifiedon") or now
        for name, default in _SYSTEM_DEFAULTS.items():
            if name in table.columns and row.get(name) is None:
                row[name] = default
        if table.user_owned:
            row["_ownerid_value"] = row.get("_ownerid_value") or self.owner_id
            row["_owningbusinessunit_value"] = (
                row.get("_owningbusinessunit_value") or self.root_business_unit_id()
            )
        return row

    @staticmethod
    def _targets(
        table: TableDef,
        row: Mapping[str, Any],
        previous: Mapping[str, str],
        given: Mapping[str, str] | None,
    ) -> dict[str, str]:
        """Entity set each non-null lookup points at: given > previous > first binding."""
        result: dict[str, str] = {}
        for name in table.lookup_properties:
            if row.get(name) is None:
                continue
            binding = table.binding_for_lookup(name)
            fallback = binding.targets[0] if binding else ""
            result[name] = (given or {}).get(name) or previous.get(name) or fallback
        return result
