"""Field Service (Dataverse Web API) connector."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.connectors.base import Created, Link, Row
from reconciler.odata.client import ODataClient
from reconciler.odata.literals import and_, eq, key_segment

__all__ = ["DataverseConnector"]


class DataverseConnector:
    """Reads with server-driven paging (``odata.maxpagesize``), writes by primary id."""

    system = "dataverse"

    def __init__(self, client: ODataClient, url: str, primary_ids: Mapping[str, str]) -> None:
        self.client = client
        self.url = url
        self._primary_ids = dict(primary_ids)

    @property
    def request_count(self) -> int:
        return self.client.request_count

    def read_pages(
        self, entity: str, columns: Sequence[str], *, filter: str | None, order_by: Sequence[str]
    ) -> Iterator[list[Row]]:
        return self.client.iter_pages(entity, select=columns, filter=filter, orderby=order_by)

    def find(self, entity: str, match: Mapping[str, Any], columns: Sequence[str]) -> list[Row]:
        condition = and_(*(eq(name, _typed(name, value)) for name, value in match.items()))
        rows: list[Row] = []
        for page in self.client.iter_pages(entity, select=columns, filter=condition):
            rows.extend(page)
        return rows

    def fetch(self, entity: str, record_id: str, columns: Sequence[str]) -> Row | None:
        return self.client.get(f"{entity}{key_segment(uuid.UUID(record_id))}", select=columns)

    def create(self, entity: str, values: Mapping[str, Any], links: Sequence[Link]) -> Created:
        body = dict(values)
        for link in links:
            body[f"{link.navigation}@odata.bind"] = (
                f"/{link.entity_set}({uuid.UUID(link.record_id)})"
            )
        primary = self._primary_ids.get(entity)
        result = self.client.create(
            entity, body, key_field=primary, select=[primary] if primary else ()
        )
        return Created(result.record_id or "", result.etag)

    def update(
        self, entity: str, record_id: str, values: Mapping[str, Any], *, etag: str | None
    ) -> None:
        self.client.update(f"{entity}{key_segment(uuid.UUID(record_id))}", values, if_match=etag)


def _typed(column: str, value: Any) -> Any:
    """Lookup columns (``_x_value``) and primary ids compare as GUIDs, not strings."""
    if isinstance(value, str) and column.startswith("_") and column.endswith("_value"):
        return uuid.UUID(value)
    return value
