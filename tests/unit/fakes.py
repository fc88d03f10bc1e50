"""An in-memory Connector for pure-stage unit tests (the real ones are tested on the sandbox)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from reconciler.connectors.base import Created, Link, Row, Write, Written


class MemoryConnector:
    """Rows per entity in lists; pages of ``page_size``; case-insensitive ``find``. OData
    filters are not parsed: ``filters`` gives a predicate per filter text (others read all)."""

    def __init__(
        self,
        system: str,
        tables: dict[str, list[Row]],
        page_size: int = 2,
        filters: Mapping[str, Callable[[Row], bool]] | None = None,
    ) -> None:
        self.system = system
        self.url = f"memory://{system}"
        self.tables = tables
        self.page_size = page_size
        self.filters = dict(filters or {})
        self._requests = 0

    @property
    def request_count(self) -> int:
        return self._requests

    @property
    def throttled_count(self) -> int:
        return 0

    def read_pages(
        self, entity: str, columns: Sequence[str], *, filter: str | None, order_by: Sequence[str]
    ) -> Iterator[list[Row]]:
        rows = self.tables.get(entity, [])
        if filter in self.filters:
            rows = [row for row in rows if self.filters[filter](row)]
        for start in range(0, max(len(rows), 1), self.page_size):
            self._requests += 1
            yield [
                {name: row.get(name) for name in (*columns, "@odata.etag")}
                for row in rows[start : start + self.page_size]
            ]

    def find(self, entity: str, match: Mapping[str, Any], columns: Sequence[str]) -> list[Row]:
        self._requests += 1

        def same(a: Any, b: Any) -> bool:
            return str(a or "").strip().casefold() == str(b or "").strip().casefold()

        return [
            row
            for row in self.tables.get(entity, [])
            if all(same(row.get(k), v) for k, v in match.items())
        ]

    def fetch(self, entity: str, record_id: str, columns: Sequence[str]) -> Row | None:
        self._requests += 1
        for row in self.tables.get(entity, []):
            if record_id in row.values():
                return row
        return None

    def create(self, entity: str, values: Mapping[str, Any], links: Sequence[Link]) -> Created:
        self._requests += 1
        record_id = str(uuid.uuid4())
        row = dict(values)
        for link in links:
            row[f"_{link.navigation.lower()}_value"] = link.record_id
        row["@odata.etag"] = 'W/"1"'
        self.tables.setdefault(entity, []).append(row)
        return Created(record_id, row["@odata.etag"])

    def update(
        self, entity: str, record_id: str, values: Mapping[str, Any], *, etag: str | None
    ) -> None:
        self._requests += 1
        row = self.fetch(entity, record_id, [])
        assert row is not None
        row.update(values)

    def find_many(
        self, entity: str, matches: Sequence[Mapping[str, Any]], columns: Sequence[str]
    ) -> list[list[Row]]:
        return [self.find(entity, match, columns) for match in matches]

    def fetch_many(
        self, entity: str, record_ids: Sequence[str], columns: Sequence[str]
    ) -> list[Row | None]:
        return [self.fetch(entity, record_id, columns) for record_id in record_ids]

    def write_many(self, writes: Sequence[Write]) -> list[Written]:
        results = []
        for write in writes:
            if write.record_id is None:
                results.append(
                    Written(created=self.create(write.entity, write.values, write.links))
                )
            else:
                self.update(write.entity, write.record_id, write.values, etag=write.etag)
                results.append(Written())
        return results
