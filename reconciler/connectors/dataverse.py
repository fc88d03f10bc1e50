"""Field Service (Dataverse Web API) connector."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.connectors import batching
from reconciler.connectors.base import (
    ChangePage,
    Created,
    Document,
    Link,
    Row,
    Write,
    Written,
)
from reconciler.errors import ServiceError
from reconciler.odata.batch import BatchRequest, BatchResponse, ChangeSet
from reconciler.odata.client import ODataClient, TrackedPages
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

    @property
    def throttled_count(self) -> int:
        return self.client.retry.throttled

    def read_pages(
        self, entity: str, columns: Sequence[str], *, filter: str | None, order_by: Sequence[str]
    ) -> Iterator[list[Row]]:
        return self.client.iter_pages(entity, select=columns, filter=filter, orderby=order_by)

    def read_changes(
        self, entity: str, columns: Sequence[str], delta_link: str | None
    ) -> TrackedChanges:
        return TrackedChanges(
            self.client.iter_tracked(entity, select=columns, delta_link=delta_link)
        )

    def find(self, entity: str, match: Mapping[str, Any], columns: Sequence[str]) -> list[Row]:
        rows: list[Row] = []
        for page in self.client.iter_pages(entity, select=columns, filter=_condition(match)):
            rows.extend(page)
        return rows

    def fetch(self, entity: str, record_id: str, columns: Sequence[str]) -> Row | None:
        return self.client.get(_path(entity, record_id), select=columns)

    def find_many(
        self, entity: str, matches: Sequence[Mapping[str, Any]], columns: Sequence[str]
    ) -> list[list[Row]]:
        conditions = [_condition(match) for match in matches]
        return batching.find_collections(
            self.client,
            entity,
            conditions,
            columns,
            lambda index: self.find(entity, matches[index], columns),
        )

    def fetch_many(
        self, entity: str, record_ids: Sequence[str], columns: Sequence[str]
    ) -> list[Row | None]:
        paths = [_path(entity, record_id) for record_id in record_ids]
        return batching.fetch_entities(self.client, paths, columns)

    def write_many(self, writes: Sequence[Write]) -> list[Written]:
        operations = [self._operation(write) for write in writes]
        answers = batching.send_writes(self.client, operations, one_change_set_each=False)
        return [
            batching.written(self.client, answer, operation, self._created(answer))
            for operation, answer in zip(operations, answers, strict=True)
        ]

    def _operation(self, write: Write) -> BatchRequest:
        body = _with_binds(write.values, write.links)
        if write.record_id is None:
            return self.client.create_operation(write.entity, body)
        return self.client.update_operation(
            _path(write.entity, write.record_id), body, if_match=write.etag
        )

    def _created(self, answer: BatchResponse | None) -> Created | None:
        if answer is None or answer.status >= 400:
            return None
        result = self.client.created_from(answer)
        return Created(result.record_id or "", result.etag)

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
        self.client.update(_path(entity, record_id), _with_binds(values, links), if_match=etag)

    def create_document(self, document: Document) -> list[Created]:
        """One change set: the header, then lines bound to it by Content-ID."""
        (result,) = self.create_documents([document])
        if isinstance(result, ServiceError):
            raise result
        return result

    def create_documents(self, documents: Sequence[Document]) -> list[list[Created] | ServiceError]:
        """One change set per document; Content-IDs run across the batch, so each line binds
        to its own header (``$<n>``)."""
        change_sets: list[ChangeSet] = []
        next_id = 1
        for document in documents:
            change_sets.append(_document_change_set(document, next_id))
            next_id += 1 + len(document.lines)
        return [
            parts
            if isinstance(parts, ServiceError)
            else [Created(_entity_id(a.headers), a.headers.get("etag")) for a in parts]
            for parts in batching.send_change_sets(self.client, change_sets)
        ]


class TrackedChanges:
    """A change-tracking read split per page into current rows and deleted ids."""

    def __init__(self, pages: TrackedPages) -> None:
        self._pages = pages

    @property
    def delta_link(self) -> str | None:
        return self._pages.delta_link

    def __iter__(self) -> Iterator[ChangePage]:
        for page in self._pages:
            rows: list[Row] = []
            deleted: list[str] = []
            for row in page:
                if "$deletedEntity" in str(row.get("@odata.context", "")):
                    deleted.append(str(row.get("id", "")))
                else:
                    rows.append(row)
            yield ChangePage(rows, deleted)


def _document_change_set(document: Document, first_id: int) -> ChangeSet:
    header = BatchRequest(
        "POST",
        document.entity,
        body=_with_binds(document.values, document.links),
        content_id=str(first_id),
    )
    requests = [header]
    for offset, (entity, values, links) in enumerate(document.lines, start=1):
        body = _with_binds(values, links) | {f"{document.parent}@odata.bind": f"${first_id}"}
        requests.append(BatchRequest("POST", entity, body=body, content_id=str(first_id + offset)))
    return ChangeSet(requests)


def _path(entity: str, record_id: str) -> str:
    return f"{entity}{key_segment(uuid.UUID(record_id))}"


def _condition(match: Mapping[str, Any]) -> str:
    return and_(*(eq(name, _typed(name, value)) for name, value in match.items()))


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
