"""F&O records per entity set, keyed by the entity's key fields.

Keys compare the way SQL Server does (case-insensitive, trailing blanks ignored), so
``WH-01`` and ``wh-01 `` are the same record and inserting both is a duplicate. Stored rows are
never mutated in place: a write replaces the dict, so a query's snapshot stays consistent.
Each entity set has a generation number that every change (undo included) advances, so that
a cached query result can tell whether it is still current.
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.odata_eval import collate
from reconciler.sandbox.schema import FNO_ENTITIES, EntityDef, enum_members
from reconciler.sandbox.state import (
    DuplicateKey,
    InvalidRecord,
    Journal,
    MissingKey,
    RecordNotFound,
    UnknownEntitySet,
)

KeyTuple = tuple[object, ...]


class _Collated(dict[object, object]):
    """Collated key values, computed once per distinct value; the bulk keys share them."""

    def __missing__(self, value: object) -> object:
        folded = self[value] = collate(value)
        return folded


@dataclass(frozen=True, slots=True)
class FnoRecord:
    """A stored row, its ETag and its collated key (what key order sorts by)."""

    row: Mapping[str, Any]
    etag: str
    key: KeyTuple = ()

    def with_etag(self) -> dict[str, Any]:
        return {"@odata.etag": self.etag, **self.row}


class FnoStore:
    """Entity set name -> rows; every write gets a new ``W/"<base64>"`` ETag (B4)."""

    def __init__(self, lock: threading.RLock, journal: Journal, default_company: str) -> None:
        self._lock = lock
        self._journal = journal
        self.default_company = default_company.lower()
        self._sets: dict[str, dict[KeyTuple, FnoRecord]] = {}
        self._generations: dict[str, int] = {}
        self._versions = itertools.count(5637144576)

    # --- schema -----------------------------------------------------------------------
    def entity(self, entity_set: str) -> EntityDef:
        """Entity definition; set names are case-sensitive as in F&O (B1)."""
        entity = FNO_ENTITIES.get(entity_set)
        if entity is None:
            raise UnknownEntitySet(entity_set)
        return entity

    def key_of(self, entity: EntityDef, values: Mapping[str, Any]) -> KeyTuple:
        """Normalised key; every key field is required (B1)."""
        missing = [name for name in entity.keys if values.get(name) is None]
        if missing:
            names = ", ".join(missing)
            raise MissingKey(f"Field(s) {names} must be filled in.")
        return tuple(collate(values[name]) for name in entity.keys)

    # --- reads ------------------------------------------------------------------------
    def rows(self, entity_set: str) -> list[dict[str, Any]]:
        """Copies of all rows (with ``@odata.etag``), in insertion order."""
        return [record.with_etag() for record in self.snapshot(entity_set)]

    def snapshot(self, entity_set: str) -> list[FnoRecord]:
        """Immutable records for a query to read without holding the lock."""
        entity = self.entity(entity_set)
        with self._lock:
            return list(self._sets.get(entity.entity_set, {}).values())

    def generation(self, entity_set: str) -> int:
        """Advances on every change to the set; equal numbers mean identical contents."""
        with self._lock:
            return self._generations.get(entity_set, 0)

    def count(self, entity_set: str) -> int:
        with self._lock:
            return len(self._sets.get(entity_set, {}))

    def get(self, entity_set: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        record = self.record(entity_set, key)
        return None if record is None else record.with_etag()

    def record(self, entity_set: str, key: Mapping[str, Any]) -> FnoRecord | None:
        entity = self.entity(entity_set)
        with self._lock:
            return self._sets.get(entity_set, {}).get(self.key_of(entity, key))

    # --- writes -----------------------------------------------------------------------
    def insert(self, entity_set: str, row: Mapping[str, Any]) -> dict[str, Any]:
        """Create a record (defaults for omitted fields, default company when dataAreaId is
        missing); returns its key. Raises DuplicateKey when the key exists."""
        entity = self.entity(entity_set)
        full = self._complete(entity, row)
        with self._lock:
            table = self._sets.setdefault(entity_set, {})
            key = self.key_of(entity, full)
            if key in table:
                raise DuplicateKey(self._describe(entity, full))
            self._put(entity_set, key, FnoRecord(full, self._next_etag(), key))
        return {name: full[name] for name in entity.keys}

    def bulk_insert(self, entity_set: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert many generated rows at a fraction of ``insert``'s cost (seeds of a million
        rows): field names are checked once per distinct set of names rather than per row,
        and enum values are trusted. Duplicates still raise. Returns the number inserted."""
        entity = self.entity(entity_set)
        defaults = entity.default_row()
        checked: set[frozenset[str]] = set()
        folded = _Collated()
        with self._lock:
            table = self._sets.setdefault(entity_set, {})
            added: list[KeyTuple] = []
            for row in rows:
                names = frozenset(row)
                if names not in checked:
                    self._check_fields(entity, row)
                    checked.add(names)
                full = {**defaults, **row}
                key = tuple(map(folded.__getitem__, map(full.__getitem__, entity.keys)))
                if key in table:
                    raise DuplicateKey(self._describe(entity, full))
                table[key] = FnoRecord(full, self._next_etag(), key)
                added.append(key)
            self._bump(entity_set)
            self._journal.record(lambda: self._drop_all(entity_set, added))
        return len(added)

    def update(
        self, entity_set: str, key: Mapping[str, Any], changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Merge ``changes`` into a record (PATCH); key fields cannot change."""
        entity = self.entity(entity_set)
        values = {k: v for k, v in changes.items() if "@" not in k}
        self._check_fields(entity, values)
        if isinstance(values.get("dataAreaId"), str):
            values["dataAreaId"] = values["dataAreaId"].lower()
        with self._lock:
            normal, current = self._locate(entity, key)
            merged = {**current.row, **values}
            if self.key_of(entity, merged) != normal:
                raise InvalidRecord("Key fields cannot be changed.")
            return self._replace(entity_set, normal, merged)

    def replace(
        self, entity_set: str, key: Mapping[str, Any], row: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Overwrite a record (PUT): omitted fields fall back to their defaults."""
        entity = self.entity(entity_set)
        with self._lock:
            normal, current = self._locate(entity, key)
            full = self._complete(entity, {**row, **{k: current.row[k] for k in entity.keys}})
            return self._replace(entity_set, normal, full)

    def delete(self, entity_set: str, key: Mapping[str, Any]) -> None:
        entity = self.entity(entity_set)
        with self._lock:
            normal, _ = self._locate(entity, key)
            self._put(entity_set, normal, None)

    # --- helpers ----------------------------------------------------------------------
    def _locate(self, entity: EntityDef, key: Mapping[str, Any]) -> tuple[KeyTuple, FnoRecord]:
        normal = self.key_of(entity, key)
        current = self._sets.get(entity.entity_set, {}).get(normal)
        if current is None:
            raise RecordNotFound(self._describe(entity, key))
        return normal, current

    def _replace(self, entity_set: str, normal: KeyTuple, row: Mapping[str, Any]) -> dict[str, Any]:
        record = FnoRecord(dict(row), self._next_etag(), normal)
        self._put(entity_set, normal, record)
        return record.with_etag()

    def _put(self, entity_set: str, key: KeyTuple, record: FnoRecord | None) -> None:
        """Set or remove (None) a record and journal the inverse change."""
        previous = self._set(entity_set, key, record)
        self._journal.record(lambda: self._set(entity_set, key, previous))

    def _set(self, entity_set: str, key: KeyTuple, record: FnoRecord | None) -> FnoRecord | None:
        """The one place a record changes (undo included); returns what was there."""
        table = self._sets.setdefault(entity_set, {})
        previous = table.get(key)
        if record is None:
            table.pop(key, None)
        else:
            table[key] = record
        self._bump(entity_set)
        return previous

    def _drop_all(self, entity_set: str, keys: list[KeyTuple]) -> None:
        table = self._sets.get(entity_set, {})
        for key in keys:
            table.pop(key, None)
        self._bump(entity_set)

    def _bump(self, entity_set: str) -> None:
        self._generations[entity_set] = self._generations.get(entity_set, 0) + 1

    def _complete(self, entity: EntityDef, row: Mapping[str, Any]) -> dict[str, Any]:
        values = {k: v for k, v in row.items() if "@" not in k}
        self._check_fields(entity, values)
        if entity.company_specific:
            company = values.get("dataAreaId") or self.default_company
            values["dataAreaId"] = str(company).lower()
        return {**entity.default_row(), **values}

    def _check_fields(self, entity: EntityDef, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            if "@" in name:
                continue
            if name not in entity.fields:
                raise InvalidRecord(
                    f"The property '{name}' does not exist on type '{entity.qualified_type}'. "
                    "Make sure to only use property names that are defined by the type."
                )
            self._check_enum(entity, name, value)

    def _check_enum(self, entity: EntityDef, name: str, value: Any) -> None:
        enum_type = entity.enum_type(name)
        members = enum_members(enum_type) if enum_type else None
        if members is not None and value is not None and value not in members:
            raise InvalidRecord(
                f"The value '{value}' is not a valid member of enum type "
                f"'Microsoft.Dynamics.DataEntities.{enum_type}' (field {name})."
            )

    def _next_etag(self) -> str:
        token = base64.b64encode(f"'1,{next(self._versions)}'".encode()).decode()
        return f'W/"{token}"'

    @staticmethod
    def _describe(entity: EntityDef, values: Mapping[str, Any]) -> str:
        return ", ".join(f"{name}: {values.get(name)}" for name in entity.keys)
