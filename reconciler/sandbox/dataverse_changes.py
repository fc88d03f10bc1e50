"""Per-table log of Dataverse changes, the basis of change tracking (api-protocols.md A8).

Every insert and update appends ``(versionnumber, id)``; every delete appends a fresh
version and leaves a tombstone. Versions come from the organisation-wide counter, so each
table's log is in ascending version order and a delta token only needs a version: the
changes since a token start at a binary search, and reading them costs O(changes since the
token), never a pass over a million-row table. An entry is current only while it is its
row's latest change (the row's ``versionnumber`` or tombstone equals it), so a row changed
several times is reported once, by its last change.

Deletes are also kept in a log of their own, so that a delta's deletions are found without
walking its updates. Undo (a rolled-back change set) pops the entries it added, which is
exact because undo runs in reverse order under the world lock.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store imports this module
    from reconciler.sandbox.dataverse_store import DataverseRecord


@dataclass(frozen=True, slots=True)
class Change:
    """One row in a delta: its current record, or None when it is deleted."""

    version: int
    record_id: str
    record: DataverseRecord | None


class _VersionLog:
    """Parallel arrays of ascending versions and the ids they belong to."""

    def __init__(self) -> None:
        self.versions = array("q")
        self.ids: list[str] = []

    def append(self, version: int, record_id: str) -> None:
        self.versions.append(version)
        self.ids.append(record_id)

    def pop(self) -> None:
        self.versions.pop()
        self.ids.pop()

    def after(self, version: int, upto: int) -> Iterator[tuple[int, str]]:
        """Entries with ``version < v <= upto``, oldest first."""
        versions, ids = self.versions, self.ids
        for index in range(bisect_right(versions, version), len(versions)):
            found = versions[index]
            if found > upto:
                return
            yield found, ids[index]


class ChangeLog:
    """Changes of one table; reads take the table's current rows to tell current entries."""

    def __init__(self) -> None:
        self._all = _VersionLog()
        self._deletes = _VersionLog()
        self._tombstones: dict[str, int] = {}

    def changed(self, record_id: str, version: int) -> Callable[[], None]:
        """Log an insert or update; returns its undo."""
        self._all.append(version, record_id)
        return self._all.pop

    def deleted(self, record_id: str, version: int) -> Callable[[], None]:
        """Log a delete and leave a tombstone; returns its undo."""
        self._all.append(version, record_id)
        self._deletes.append(version, record_id)
        previous = self._tombstones.get(record_id)
        self._tombstones[record_id] = version

        def undo() -> None:
            self._all.pop()
            self._deletes.pop()
            if previous is None:
                self._tombstones.pop(record_id, None)
            else:
                self._tombstones[record_id] = previous

        return undo

    def bulk_inserted(self, record_ids: list[str], first_version: int) -> Callable[[], None]:
        """Log rows inserted with consecutive versions from ``first_version``; returns the
        undo (truncate back)."""
        mark = len(self._all.ids)
        self._all.versions.extend(range(first_version, first_version + len(record_ids)))
        self._all.ids.extend(record_ids)

        def undo() -> None:
            del self._all.versions[mark:]
            del self._all.ids[mark:]

        return undo

    def updated_since(
        self, rows: Mapping[str, DataverseRecord], after: int, upto: int, limit: int | None
    ) -> list[Change]:
        """Rows inserted or updated in ``(after, upto]`` and still present, by version."""
        found: list[Change] = []
        for version, record_id in self._all.after(after, upto):
            record = rows.get(record_id)
            if record is not None and record.row.get("versionnumber") == version:
                found.append(Change(version, record_id, record))
                if limit is not None and len(found) >= limit:
                    break
        return found

    def deleted_since(
        self, rows: Mapping[str, DataverseRecord], after: int, upto: int, limit: int | None
    ) -> list[Change]:
        """Rows deleted in ``(after, upto]`` and not re-created since, by version. A row
        created and deleted after ``after`` is listed too (as the SDK does, A8)."""
        found: list[Change] = []
        for version, record_id in self._deletes.after(after, upto):
            if record_id not in rows and self._tombstones.get(record_id) == version:
                found.append(Change(version, record_id, None))
                if limit is not None and len(found) >= limit:
                    break
        return found
