"""Supply Chain Management (F&O OData) connector."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.connectors.base import Created, Link, Row
from reconciler.odata.client import ODataClient
from reconciler.odata.literals import and_, eq, key_segment

__all__ = ["FnoConnector"]


class FnoConnector:
    """Reads across companies with offset paging; records are addressed by their key fields.

    F&O has no single id column, so a record id here is the key as canonical JSON
    (``{"WarehouseId": "21", "dataAreaId": "usmf"}``), turned into a key segment on use.
    """

    system = "fno"

    def __init__(
        self, client: ODataClient, url: str, key_fields: Mapping[str, Sequence[str]]
    ) -> None:
        self.client = client
        self.url = url
        self._key_fields = {entity: tuple(fields) for entity, fields in key_fields.items()}

    @property
    def request_count(self) -> int:
        return self.client.request_count

    def read_pages(
        self, entity: str, columns: Sequence[str], *, filter: str | None, order_by: Sequence[str]
    ) -> Iterator[list[Row]]:
        return self.client.iter_pages(
            entity, select=columns, filter=filter, orderby=order_by, cross_company=True
        )

    def find(self, entity: str, match: Mapping[str, Any], columns: Sequence[str]) -> list[Row]:
        # F&O treats '*' inside eq as a wildcard, so re-check matches exactly (as F&O's
        # case-insensitive collation would) before trusting them.
        condition = and_(*(eq(name, value) for name, value in match.items()))
        found: list[Row] = []
        for page in self.client.iter_pages(
            entity, select=columns, filter=condition, cross_company=True
        ):
            found.extend(row for row in page if _matches(row, match))
        return found

    def fetch(self, entity: str, record_id: str, columns: Sequence[str]) -> Row | None:
        return self.client.get(f"{entity}{key_segment(json.loads(record_id))}", select=columns)

    def create(self, entity: str, values: Mapping[str, Any], links: Sequence[Link]) -> Created:
        if links:
            raise ValueError("F&O entities take related keys as plain fields, not links")
        result = self.client.create(entity, dict(values))
        written = {**values, **(result.body or {})}
        key = {name: written.get(name) for name in self._key_fields.get(entity, ())}
        return Created(json.dumps(key, sort_keys=True), result.etag)

    def update(
        self,
        entity: str,
        record_id: str,
        values: Mapping[str, Any],
        *,
        etag: str | None,
        links: Sequence[Link] = (),
    ) -> None:
        if links:
            raise ValueError("F&O entities take related keys as plain fields, not links")
        self.client.update(f"{entity}{key_segment(json.loads(record_id))}", values, if_match=etag)


def _matches(row: Row, match: Mapping[str, Any]) -> bool:
    def folded(value: Any) -> Any:
        return value.strip().casefold() if isinstance(value, str) else value

    return all(folded(row.get(name)) == folded(value) for name, value in match.items())
