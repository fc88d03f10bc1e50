"""Field Service (Dataverse Web API) connector."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.connectors.base import Created, Document, Link, Row
from reconciler.errors import ServiceError
from reconciler.odata.batch import BatchRequest, ChangeSet
from reconciler.odata.client import ODataClient
from reconciler.odata.literals import and_, eq, key_segment

__all__ = ["DataverseConnector"]

_GUID_AT_END = re.compile(r"\(([0-9A-Fa-f-]{36})\)/?$")


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
        self,
        entity: str,
        record_id: str,
        values: Mapping[str, Any],
        *,
        etag: str | None,
        links: Sequence[Link] = (),
    ) -> None:
        path = f"{entity}{key_segment(uuid.UUID(record_id))}"
        self.client.update(path, _with_binds(values, links), if_match=etag)

    def create_document(self, document: Document) -> list[Created]:
        """One change set: the header (Content-ID 1), then lines bound to it with ``$1``."""
        requests = [
            BatchRequest(
                "POST",
                document.entity,
                body=_with_binds(document.values, document.links),
                content_id="1",
            )
        ]
        for number, (entity, values, links) in enumerate(document.lines, start=2):
            body = _with_binds(values, links) | {f"{document.parent}@odata.bind": "$1"}
            requests.append(BatchRequest("POST", entity, body=body, content_id=str(number)))
        answers = self.client.batch([ChangeSet(requests)])
        for answer, request in zip(answers, requests, strict=False):
            if answer.status >= 400:
                raise self.client.part_error(answer, request)
        if len(answers) != len(requests):
            raise ServiceError(
                f"Dataverse $batch answered {len(answers)} parts for {len(requests)} requests"
            )
        return [
            Created(_entity_id(answer.headers), answer.headers.get("etag")) for answer in answers
        ]


def _with_binds(values: Mapping[str, Any], links: Sequence[Link]) -> dict[str, Any]:
    body = dict(values)
    for link in links:
        body[f"{link.navigation}@odata.bind"] = f"/{link.entity_set}({uuid.UUID(link.record_id)})"
    return body


def _entity_id(headers: Mapping[str, str]) -> str:
    """The new record's GUID from ``OData-EntityId`` (``…/set(<guid>)``)."""
    location = headers.get("odata-entityid") or headers.get("location") or ""
    match = _GUID_AT_END.search(location)
    return match.group(1) if match else ""


def _typed(column: str, value: Any) -> Any:
    """Lookup columns (``_x_value``) and primary ids compare as GUIDs, not strings."""
    if isinstance(value, str) and column.startswith("_") and column.endswith("_value"):
        return uuid.UUID(value)
    return value
