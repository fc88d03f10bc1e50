"""Dataverse rows per entity set, keyed by primary id (a GUID).

Every write bumps the organisation-wide ``versionnumber`` (SQL rowversion, so the ETag is
``W/"<versionnumber>"``, A5) and ``modifiedon``. Rows hold every known column, null when
empty, because that is what a GET without ``$select`` returns. Lookup values remember which
entity set they point at, for ``lookuplogicalname`` annotations and polymorphic owners.
Like FnoStore, each table has a generation number for query caches, and ``find`` keeps
per-column indexes so that server-side logic can look rows up by a lookup value without
scanning a million-row table. Each table also has a ChangeLog (dataverse_changes.py) that
change tracking reads deltas from.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox.dataverse_changes import Change, ChangeLog
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


@dataclass(frozen=True, slots=True)
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
        self._generations: dict[str, int] = {}
        self._indexes: dict[str, dict[str, dict[object, set[str]]]] = {}
        self._learned: dict[str, set[str]] = {}
        self._changes: dict[str, ChangeLog] = {}
        self._version = 1_000_000
        self._oldest_valid_version = 0

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

    def generation(self, entity_set: str) -> int:
        """Advances on every change to the table; equal numbers mean identical contents."""
        with self._lock:
            return self._generations.get(entity_set, 0)

    def count(self, entity_set: str) -> int:
        with self._lock:
            return len(self._tables.get(entity_set, {}))

    def find(self, entity_set: str, column: str, value: object) -> list[DataverseRecord]:
        """Rows whose ``column`` equals ``value`` ignoring case (GUIDs are lower case anyway),
        through an index built on first use and kept current by every later write."""
        self.table(entity_set)
        with self._lock:
            index = self._indexes.setdefault(entity_set, {}).get(column)
            if index is None:
                index = self._build_index(entity_set, column)
            rows = self._tables.get(entity_set, {})
            return [rows[key] for key in sorted(index.get(_folded(value), ()))]

    def count_of(self, entity_set: str, column: str, value: object) -> int:
        """How many rows ``find`` would return, without reading them (to pick an index)."""
        self.table(entity_set)
        with self._lock:
            index = self._indexes.setdefault(entity_set, {}).get(column)
            if index is None:
                index = self._build_index(entity_set, column)
            return len(index.get(_folded(value), ()))

    def record(self, entity_set: str, record_id: object) -> DataverseRecord | None:
        self.table(entity_set)
        with self._lock:
            return self._tables.get(entity_set, {}).get(normalize_id(record_id))

    def get(self, entity_set: str, record_id: object) -> dict[str, Any] | None:
        record = self.record(entity_set, record_id)
        return None if record is None else record.with_etag()

    # --- change tracking ----------------------------------------------------------------
    def current_version(self) -> int:
        """The latest version handed out: a delta token taken now covers every change so far."""
        with self._lock:
            return self._version

    def oldest_valid_version(self) -> int:
        """Tokens for older versions are expired (see ``expire_change_tokens``)."""
        with self._lock:
            return self._oldest_valid_version

    def expire_change_tokens(self) -> None:
        """Make every token issued so far expired; tokens issued afterwards are valid."""
        with self._lock:
            self._oldest_valid_version = self._next_version()

    def updated_since(
        self, entity_set: str, after: int, upto: int, limit: int | None = None
    ) -> list[Change]:
        """Rows whose latest change is an insert or update in ``(after, upto]``, by version."""
        self.table(entity_set)
        with self._lock:
            rows = self._tables.get(entity_set, {})
            return self._log(entity_set).updated_since(rows, after, upto, limit)

    def deleted_since(
        self, entity_set: str, after: int, upto: int, limit: int | None = None
    ) -> list[Change]:
        """Rows deleted in ``(after, upto]`` and absent now, by version."""
        self.table(entity_set)
        with self._lock:
            rows = self._tables.get(entity_set, {})
            return self._log(entity_set).deleted_since(rows, after, upto, limit)

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
            if record_id in self._tables.get(entity_set, {}):
                raise DuplicateKey(f"{table.logical_name} {record_id}")
            full = self._new_row(table, values, record_id)
            self._put(
                entity_set,
                record_id,
                DataverseRecord(full, self._targets(table, full, {}, targets)),
            )
        return record_id

    def bulk_insert(self, entity_set: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert many generated rows fast (seeds of a million rows). Each row must carry its
        canonical lower-case primary id and only schema columns; owner, timestamps and
        version are filled as ``insert`` does. Returns the number inserted."""
        table = self.table(entity_set)
        template = self._bulk_template(table)
        shared: dict[tuple[str, ...], Mapping[str, str]] = {}
        with self._lock:
            current = self._tables.setdefault(entity_set, {})
            added: list[str] = []
            first_version = self._version + 1
            try:
                for row in rows:
                    if not template.keys() >= row.keys():
                        unknown = ", ".join(sorted(set(row) - set(template)))
                        raise InvalidRecord(f"unknown columns for {table.logical_name}: {unknown}")
                    full = {**template, **row}
                    record_id = full[table.primary_id]
                    if record_id in current:
                        raise DuplicateKey(f"{table.logical_name} {record_id}")
                    full["versionnumber"] = first_version + len(added)
                    current[record_id] = DataverseRecord(
                        full, self._shared_targets(table, row, full, shared)
                    )
                    added.append(record_id)
            finally:  # rows added before a bad one stay, so account for them too
                self._version += len(added)
                self._bump(entity_set)
                self._indexes.pop(entity_set, None)
                unlog = self._log(entity_set).bulk_inserted(added, first_version)

                def undo() -> None:
                    self._drop_all(entity_set, added)
                    unlog()

                self._journal.record(undo)
        return len(added)

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
            key, current = self._locate(table, record_id)
            merged = {**current.row, **values}
            merged["versionnumber"] = self._next_version()
            merged["modifiedon"] = values.get("modifiedon") or format_timestamp(self._clock())
            new_targets = self._targets(table, merged, current.targets, targets)
            record = DataverseRecord(merged, new_targets)
            self._put(entity_set, key, record)
            return record.with_etag()

    def delete(self, entity_set: str, record_id: object) -> None:
        table = self.table(entity_set)
        with self._lock:
            key, _ = self._locate(table, record_id)
            self._put(entity_set, key, None)

    def root_business_unit_id(self) -> str | None:
        """The business unit without a parent (every org has exactly one)."""
        for record in self.snapshot("businessunits"):
            if record.row.get("_parentbusinessunitid_value") is None:
                return str(record.row["businessunitid"])
        return None

    # --- helpers ----------------------------------------------------------------------
    def _locate(self, table: TableDef, record_id: object) -> tuple[str, DataverseRecord]:
        key = normalize_id(record_id)
        current = self._tables.get(table.entity_set, {}).get(key)
        if current is None:
            raise RecordNotFound(f"{table.logical_name} With Id = {key} Does Not Exist")
        return key, current

    def _put(self, entity_set: str, key: str, record: DataverseRecord | None) -> None:
        """Set or remove (None) a record, log the change and journal the inverse of both."""
        previous = self._set(entity_set, key, record)
        log = self._log(entity_set)
        if record is None:
            unlog = log.deleted(key, self._next_version())
        else:
            unlog = log.changed(key, int(record.row["versionnumber"]))

        def undo() -> None:
            self._set(entity_set, key, previous)
            unlog()

        self._journal.record(undo)

    def _log(self, entity_set: str) -> ChangeLog:
        log = self._changes.get(entity_set)
        if log is None:
            log = self._changes[entity_set] = ChangeLog()
        return log

    def _next_version(self) -> int:
        self._version += 1
        return self._version

    def _set(
        self, entity_set: str, key: str, record: DataverseRecord | None
    ) -> DataverseRecord | None:
        """The one place a record changes (undo included): keeps indexes and the generation."""
        rows = self._tables.setdefault(entity_set, {})
        previous = rows.get(key)
        if record is None:
            rows.pop(key, None)
        else:
            rows[key] = record
        for column, index in self._indexes.get(entity_set, {}).items():
            if previous is not None:
                index.get(_folded(previous.row.get(column)), set()).discard(key)
            if record is not None:
                index.setdefault(_folded(record.row.get(column)), set()).add(key)
        self._bump(entity_set)
        return previous

    def _drop_all(self, entity_set: str, keys: list[str]) -> None:
        rows = self._tables.get(entity_set, {})
        for key in keys:
            rows.pop(key, None)
        self._indexes.pop(entity_set, None)
        self._bump(entity_set)

    def _bump(self, entity_set: str) -> None:
        self._generations[entity_set] = self._generations.get(entity_set, 0) + 1

    def _build_index(self, entity_set: str, column: str) -> dict[object, set[str]]:
        index: dict[object, set[str]] = {}
        for key, record in self._tables.get(entity_set, {}).items():
            index.setdefault(_folded(record.row.get(column)), set()).add(key)
        self._indexes.setdefault(entity_set, {})[column] = index
        return index

    def _new_row(
        self, table: TableDef, values: Mapping[str, Any], record_id: str
    ) -> dict[str, Any]:
        now = format_timestamp(self._clock())
        row: dict[str, Any] = dict.fromkeys(self.known_columns(table.entity_set))
        row.update(values)
        row[table.primary_id] = record_id
        row["versionnumber"] = self._next_version()
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

    def _bulk_template(self, table: TableDef) -> dict[str, Any]:
        """What ``_new_row`` would add to an empty row, computed once for a bulk insert."""
        template: dict[str, Any] = dict.fromkeys(self.known_columns(table.entity_set))
        for name, default in _SYSTEM_DEFAULTS.items():
            if name in table.columns:
                template[name] = default
        if table.user_owned:
            template["_ownerid_value"] = self.owner_id
            template["_owningbusinessunit_value"] = self.root_business_unit_id()
        template["createdon"] = template["modifiedon"] = format_timestamp(self._clock())
        return template

    def _shared_targets(
        self,
        table: TableDef,
        given: Mapping[str, Any],
        full: Mapping[str, Any],
        shared: dict[tuple[str, ...], Mapping[str, str]],
    ) -> Mapping[str, str]:
        """One targets mapping per set of given column names, so bulk rows share it. It may
        name a lookup that is null in some row; readers only consult non-null lookups."""
        names = tuple(given)
        targets = shared.get(names)
        if targets is None:
            lookups = [n for n in table.lookup_properties if n in given or full.get(n) is not None]
            targets = shared[names] = self._targets(table, dict.fromkeys(lookups, ""), {}, None)
        return targets

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


def _folded(value: object) -> object:
    """Index keys compare like Dataverse's SQL collation: case-insensitively, trailing
    spaces ignored. Callers re-check candidates with the exact semantics they need."""
    return value.rstrip(" ").casefold() if isinstance(value, str) else value
