"""Supply Chain Management (F&O OData) connector."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.connectors import batching
from reconciler.connectors.base import Created, Document, Link, Row, Write, Written
from reconciler.errors import ServiceError
from reconciler.odata.batch import BatchRequest, BatchResponse, ChangeSet
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

    @property
    def throttled_count(self) -> int:
        return self.client.retry.throttled

    def read_pages(
        self, entity: str, columns: Sequence[str], *, filter: str | None, order_by: Sequence[str]
    ) -> Iterator[list[Row]]:
        return self.client.iter_pages(
            entity, select=columns, filter=filter, orderby=order_by, cross_company=True
        )

    def find(self, entity: str, match: Mapping[str, Any], columns: Sequence[str]) -> list[Row]:
        # F&O treats '*' inside eq as a wildcard, so re-check matches exactly (as F&O's
        # case-insensitive collation would) before trusting them.
        found: list[Row] = []
        for page in self.client.iter_pages(
            entity, select=columns, filter=_condition(match), cross_company=True
        ):
            found.extend(row for row in page if _matches(row, match))
        return found

    def fetch(self, entity: str, record_id: str, columns: Sequence[str]) -> Row | None:
        return self.client.get(_path(entity, record_id), select=columns)

    def find_many(
        self, entity: str, matches: Sequence[Mapping[str, Any]], columns: Sequence[str]
    ) -> list[list[Row]]:
        conditions = [_condition(match) for match in matches]
        found = batching.find_collections(
            self.client,
            entity,
            conditions,
            columns,
            lambda index: self.find(entity, matches[index], columns),
        )
        # as in find: '*' is a wildcard inside eq, so keep exact matches only
        return [
            [row for row in rows if _matches(row, match)]
            for match, rows in zip(matches, found, strict=True)
        ]

    def fetch_many(
        self, entity: str, record_ids: Sequence[str], columns: Sequence[str]
    ) -> list[Row | None]:
        paths = [_path(entity, record_id) for record_id in record_ids]
        return batching.fetch_entities(self.client, paths, columns)

    def write_many(self, writes: Sequence[Write]) -> list[Written]:
        """Each write in its own change set: F&O answers the batch 200 and each set alone."""
        for write in writes:
            _no_links(write.links)
        operations = [self._operation(write) for write in writes]
        answers = batching.send_writes(self.client, operations, one_change_set_each=True)
        return [
            batching.written(self.client, answer, operation, self._created(write, answer))
            for write, operation, answer in zip(writes, operations, answers, strict=True)
        ]

    def _operation(self, write: Write) -> BatchRequest:
        if write.record_id is None:
            return self.client.create_operation(write.entity, write.values)
        path = _path(write.entity, write.record_id)
        return self.client.update_operation(path, write.values, if_match=write.etag)

    def _created(self, write: Write, answer: BatchResponse | None) -> Created | None:
        if write.record_id is not None or answer is None or answer.status >= 400:
            return None
        result = self.client.created_from(answer)
        return self._key_of(write.entity, write.values, result.body, result.etag)

    def create(self, entity: str, values: Mapping[str, Any], links: Sequence[Link]) -> Created:
        _no_links(links)
        result = self.client.create(entity, dict(values))
        return self._key_of(entity, values, result.body, result.etag)

    def _key_of(
        self,
        entity: str,
        values: Mapping[str, Any],
        body: Mapping[str, Any] | None,
        etag: str | None,
    ) -> Created:
        """The record id: its key fields as canonical JSON, from what was sent and echoed."""
        written = {**values, **(body or {})}
        key = {name: written.get(name) for name in self._key_fields.get(entity, ())}
        return Created(json.dumps(key, sort_keys=True), etag)

    def update(
        self,
        entity: str,
        record_id: str,
        values: Mapping[str, Any],
        *,
        etag: str | None,
        links: Sequence[Link] = (),
    ) -> None:
        _no_links(links)
        self.client.update(_path(entity, record_id), values, if_match=etag)

    def create_document(self, document: Document) -> list[Created]:
        """A header and its lines in one change set: the header, then each line."""
        (result,) = self.create_documents([document])
        if isinstance(result, ServiceError):
            raise result
        return result

    def create_documents(self, documents: Sequence[Document]) -> list[list[Created] | ServiceError]:
        """One change set per document in one ``$batch`` with continue-on-error. Each line is
        posted to the header's lines navigation (``$<n>/<parent>``), so F&O fills in the
        header's key (a journal's number is only known once F&O assigns it). F&O answers the
        batch 200; a failed change set rolled back as a whole and is answered by its one
        failing part."""
        change_sets: list[ChangeSet] = []
        next_id = 1
        for document in documents:
            for _entity, _values, links in document.lines:
                _no_links(links)
            _no_links(document.links)
            change_sets.append(_document_change_set(document, next_id))
            next_id += 1 + len(document.lines)
        answered = batching.send_change_sets(self.client, change_sets)
        return [
            parts
            if isinstance(parts, ServiceError)
            else self._document_created(document, requests, parts)
            for document, requests, parts in zip(
                documents, (c.requests for c in change_sets), answered, strict=True
            )
        ]

    def _document_created(
        self,
        document: Document,
        requests: Sequence[BatchRequest],
        answers: Sequence[BatchResponse],
    ) -> list[Created]:
        entities = [document.entity] + [entity for entity, _values, _links in document.lines]
        created = []
        for entity, request, answer in zip(entities, requests, answers, strict=True):
            result = self.client.created_from(answer)
            created.append(self._key_of(entity, request.body or {}, result.body, result.etag))
        return created


def _document_change_set(document: Document, first_id: int) -> ChangeSet:
    header = BatchRequest(
        "POST", document.entity, body=dict(document.values), content_id=str(first_id)
    )
    lines = [
        BatchRequest(
            "POST",
            f"${first_id}/{document.parent}",
            body=dict(values),
            content_id=str(first_id + offset),
        )
        for offset, (_entity, values, _links) in enumerate(document.lines, start=1)
    ]
    return ChangeSet([header, *lines])


def _no_links(links: Sequence[Link]) -> None:
    if links:
        raise ValueError("F&O entities take related keys as plain fields, not links")


def _path(entity: str, record_id: str) -> str:
    return f"{entity}{key_segment(json.loads(record_id))}"


def _condition(match: Mapping[str, Any]) -> str:
    return and_(*(eq(name, value) for name, value in match.items()))


def _matches(row: Row, match: Mapping[str, Any]) -> bool:
    def folded(value: Any) -> Any:
        return value.strip().casefold() if isinstance(value, str) else value

    return all(folded(row.get(name)) == folded(value) for name, value in match.items())
