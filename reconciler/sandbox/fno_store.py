"""F&O records per entity set, keyed by the entity's key fields.

Keys compare the way SQL Server does (case-insensitive, trailing blanks ignored), so
``WH-01`` and ``wh-01 `` are the same record and inserting both is a duplicate. Stored rows are
never mutated in place: a write replaces the dict, so a query's snapshot stays consistent.
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections.abc import Mapping
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


@dataclass(frozen=True)
class FnoRecord:
    row: Mapping[str, Any]
    etag: str

    def with_etag(self) -> dict[str, Any]:
        return {"@odata.etag": self.etag, **self.row}


class FnoStore:
    """Entity set name -> rows; every write gets a new ``W/"<base64>"`` ETag (B4)."""

    def __init__(self, lock: threading.RLock, journal: Journal, default_company: str) -> None:
        self._lock = lock
        self._journal = journal
        self.default_company = default_company.lower()
        self._sets: dict[str, dict[KeyTuple, FnoRecord]] = {}
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
            table[key] = FnoRecord(full, self._next_etag())
            self._journal.record(lambda: table.pop(key, None))
        return {name: full[name] for name in entity.keys}

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
            table, normal, current = self._locate(entity, key)
            merged = {**current.row, **values}
            if self.key_of(entity, merged) != normal:
                raise InvalidRecord("Key fields cannot be changed.")
            self._replace(table, normal, current, merged)
            return table[normal].with_etag()

    def replace(
        self, entity_set: str, key: Mapping[str, Any], row: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Overwrite a record (PUT): omitted fields fall back to their defaults."""
        entity = self.entity(entity_set)
        with self._lock:
            table, normal, current = self._locate(entity, key)
            full = self._complete(entity, {**row, **{k: current.row[k] for k in entity.keys}})
            self._replace(table, normal, current, full)
            return table[normal].with_etag()

    def delete(self, entity_set: str, key: Mapping[str, Any]) -> None:
        entity = self.entity(entity_set)
        with self._lock:
            table, normal, current = self._locate(entity, key)
            del table[normal]
            self._journal.record(lambda: table.__setitem__(normal, current))

    # --- helpers ----------------------------------------------------------------------
    def _locate(
        self, entity: EntityDef, key: Mapping[str, Any]
    ) -> tuple[dict[KeyTuple, FnoRecord], KeyTuple, FnoRecord]:
        table = self._sets.setdefault(entity.entity_set, {})
        normal = self.key_of(entity, key)
        current = table.get(normal)
        if current is None:
            raise RecordNotFound(self._describe(entity, key))
        return table, normal, current

    def _replace(
        self,
        table: dict[KeyTuple, FnoRecord],
        normal: KeyTuple,
        current: FnoRecord,
        row: Mapping[str, Any],
    ) -> None:
        table[normal] = FnoRecord(dict(row), self._next_etag())
        self._journal.record(lambda: table.__setitem__(normal, current))

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
