"""Dataverse Web API endpoint (``<org>/api/data/v9.2/...``, api-protocols.md A): routing,
collection reads with server-driven paging, reads by id, and ``$batch``. Writes live in
dataverse_writes.py, query semantics in dataverse_query.py, change tracking in
dataverse_tracking.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from reconciler.sandbox import dataverse_paging
from reconciler.sandbox.batch_runner import BatchContext, BatchPolicy, BatchRunner
from reconciler.sandbox.dataverse_query import (
    COUNT_CAP,
    INVALID_QUERY,
    Annotations,
    DataverseFilter,
    collection_context,
    count_annotations,
    resolve_select,
    serialize,
    unknown_property,
)
from reconciler.sandbox.dataverse_store import DataverseRecord, DataverseStore
from reconciler.sandbox.dataverse_tracking import ChangeTracking, has_delta_token, is_tracked
from reconciler.sandbox.dataverse_writes import DataverseWriter, not_found
from reconciler.sandbox.keys import KeySyntaxError, Segment, parse_segment, split_path
from reconciler.sandbox.messages import (
    ApiRequest,
    ApiResponse,
    empty_response,
    json_response,
    preferences,
    text_response,
)
from reconciler.sandbox.odata_filter import Binary, Literal, Node, Property
from reconciler.sandbox.odata_query import (
    OrderItem,
    QueryOptions,
    first_after,
    parse_query,
    sort_rows,
)
from reconciler.sandbox.query_cache import QueryCache
from reconciler.sandbox.schema import DATAVERSE_TABLES, TableDef
from reconciler.sandbox.service_errors import ServiceError, dataverse_error, dataverse_error_from
from reconciler.sandbox.state import Transaction, UnknownEntitySet

_COLLECTION_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$count", "$skiptoken"}


class DataverseService:
    """Answers ApiRequests for one Dataverse organisation."""

    def __init__(
        self,
        store: DataverseStore,
        max_page_size: Callable[[], int],
        organization_id: str,
        atomic: Callable[[], AbstractContextManager[Transaction]],
        count_parts: Callable[[int], None],
        retention_s: Callable[[], float],
    ) -> None:
        self._store = store
        self._max_page_size = max_page_size
        self._organization_id = organization_id
        self._writer = DataverseWriter(store, atomic)
        self._results: QueryCache[DataverseRecord] = QueryCache()
        by_id = QueryOptions()
        self._tracking = ChangeTracking(
            store,
            max_page_size,
            retention_s,
            lambda table: self._ordered(table, by_id, [OrderItem(table.primary_id)]),
        )
        context = BatchContext(
            BatchPolicy(failure_sets_outer_status=True, max_operations=1000),
            "/api/data/v9.2/",
            self.handle,
            lambda status, message: dataverse_error(status, "", message),
            atomic,
            count_parts,
        )
        self._batch = BatchRunner(context)

    def handle(self, request: ApiRequest) -> ApiResponse:
        try:
            return self._route(request)
        except ServiceError as exc:
            return dataverse_error_from(exc)
        except KeySyntaxError as exc:
            return dataverse_error(400, INVALID_QUERY, str(exc))

    # --- routing ----------------------------------------------------------------------
    def _route(self, request: ApiRequest) -> ApiResponse:
        segments = split_path(request.path)
        if not segments:
            return self._service_document(request)
        if segments == ["$batch"]:
            _require(request, "POST")
            return self._batch.run(request)
        if segments == ["WhoAmI"]:
            _require(request, "GET")
            return self._who_am_i(request)
        segment = parse_segment(segments[0])
        table = self._table(segment.name)
        rest = segments[1:]
        if segment.key is None:
            return self._collection(request, table, rest)
        record_id = _record_id(table, segment)
        if not rest:
            return self._single(request, table, record_id)
        if len(rest) == 1:
            return self._property(request, table, record_id, rest[0])
        raise _not_found_segment(rest[1])

    def _table(self, name: str) -> TableDef:
        try:
            return self._store.table(name)
        except UnknownEntitySet:
            raise _not_found_segment(name) from None

    def _collection(self, request: ApiRequest, table: TableDef, rest: list[str]) -> ApiResponse:
        if rest == ["$count"]:
            _require(request, "GET")
            return self._count(request, table)
        if rest:
            raise _not_found_segment(rest[0])
        if request.method == "POST":
            return self._writer.create(request, table)
        _require(request, "GET")
        return self._query(request, table)

    def _single(self, request: ApiRequest, table: TableDef, record_id: str) -> ApiResponse:
        if request.method == "GET":
            return self._get(request, table, record_id)
        if request.method == "PATCH":
            return self._writer.upsert(request, table, record_id)
        if request.method == "DELETE":
            return self._writer.delete(request, table, record_id)
        raise ServiceError(405, f"The HTTP method '{request.method}' is not allowed here.")

    def _property(
        self, request: ApiRequest, table: TableDef, record_id: str, column: str
    ) -> ApiResponse:
        if request.method in ("PUT", "DELETE"):
            return self._writer.write_property(request, table, record_id, column)
        _require(request, "GET")
        record = self._existing(table, record_id)
        if column not in self._store.known_columns(table.entity_set):
            raise unknown_property(column, table)
        context = f"{request.service_root_url}$metadata#{table.entity_set}({record_id})/{column}"
        return json_response(200, {"@odata.context": context, "value": record.row.get(column)})

    # --- reads ------------------------------------------------------------------------
    def _service_document(self, request: ApiRequest) -> ApiResponse:
        sets = [{"name": name, "kind": "EntitySet", "url": name} for name in DATAVERSE_TABLES]
        context = request.service_root_url + "$metadata"
        return json_response(200, {"@odata.context": context, "value": sets})

    def _who_am_i(self, request: ApiRequest) -> ApiResponse:
        payload = {
            "@odata.context": f"{request.service_root_url}$metadata"
            "#Microsoft.Dynamics.CRM.WhoAmIResponse",
            "BusinessUnitId": self._store.root_business_unit_id(),
            "UserId": self._store.owner_id,
            "OrganizationId": self._organization_id,
        }
        return json_response(200, payload)

    def _options(self, request: ApiRequest, table: TableDef, supported: set[str]) -> QueryOptions:
        pairs = request.query_pairs()
        if any(name == "$skip" for name, _ in pairs):
            raise ServiceError(
                400, "The query parameter $skip is not supported", code=INVALID_QUERY
            )
        try:
            options = parse_query(pairs, supported)
        except ServiceError as exc:
            exc.code = exc.code or INVALID_QUERY
            raise
        columns = self._store.known_columns(table.entity_set)
        for item in options.orderby:
            if item.name not in columns:
                raise unknown_property(item.name, table)
        if options.filter is not None:
            DataverseFilter(options.filter, table, columns).validate()
        return options

    def _matching(self, table: TableDef, options: QueryOptions) -> list[DataverseRecord]:
        if options.filter is None:
            return self._store.snapshot(table.entity_set)
        lookups = _indexed_lookups(options.filter)
        if not lookups:
            records = self._store.snapshot(table.entity_set)
        else:  # like Dataverse's index on every lookup column: the most selective one is read
            best = min(lookups, key=lambda found: self._store.count_of(table.entity_set, *found))
            records = self._store.find(table.entity_set, *best)
        columns = self._store.known_columns(table.entity_set)
        evaluator = DataverseFilter(options.filter, table, columns)
        return [record for record in records if evaluator.matches(record.row)]

    def _count(self, request: ApiRequest, table: TableDef) -> ApiResponse:
        if has_delta_token(request):
            return self._tracking.count(request, table)
        options = self._options(request, table, {"$filter"})
        return text_response(200, str(min(len(self._matching(table, options)), COUNT_CAP)))

    def _query(self, request: ApiRequest, table: TableDef) -> ApiResponse:
        if is_tracked(request):
            return self._tracking.read(request, table)
        prefs = preferences(request.headers)
        options = self._options(request, table, _COLLECTION_OPTIONS)
        columns = self._store.known_columns(table.entity_set)
        select = resolve_select(options.select, table, columns)
        annotations = Annotations(prefs.get("odata.include-annotations"))
        order = [*options.orderby, OrderItem(table.primary_id)]
        records = self._ordered(table, options, order)
        start, page_number = 0, 1
        if options.skiptoken is not None:
            cursor = dataverse_paging.decode(options.skiptoken, order, table.primary_id)
            start = first_after(records, cursor.values, order, lambda record: record.row)
            page_number = cursor.page_number
        size, applied = dataverse_paging.page_size(prefs, self._max_page_size(), options.top)
        page = records[start : start + size]
        payload: dict[str, Any] = {"@odata.context": _context(request, table, options)}
        payload.update(count_annotations(len(records), options.count, annotations))
        payload["value"] = [serialize(record, table, select, annotations) for record in page]
        if applied is not None and len(records) - start > size and page:
            token = dataverse_paging.encode(
                page_number + 1, order, table.primary_id, page[0].row, page[-1].row
            )
            payload["@odata.nextLink"] = dataverse_paging.link(request, "$skiptoken", token)
        headers = dataverse_paging.preference_headers(applied, prefs)
        return json_response(200, payload, headers)

    def _ordered(
        self, table: TableDef, options: QueryOptions, order: list[OrderItem]
    ) -> list[DataverseRecord]:
        """Matching rows in page order, cached across the pages of one read."""
        signature = (table.entity_set, options.filter_text, tuple(order))
        generation = self._store.generation(table.entity_set)
        return self._results.results(
            signature, generation, lambda: _ordered(self._matching(table, options), order)
        )

    def _get(self, request: ApiRequest, table: TableDef, record_id: str) -> ApiResponse:
        options = self._options(request, table, {"$select"})
        record = self._existing(table, record_id)
        if_none_match = request.headers.get("If-None-Match")
        prefs = preferences(request.headers)
        annotations = Annotations(prefs.get("odata.include-annotations"))
        if if_none_match == record.etag and not annotations:
            return empty_response(304, [("ETag", record.etag)])
        columns = self._store.known_columns(table.entity_set)
        select = resolve_select(options.select, table, columns)
        context = _context(request, table, options) + "/$entity"
        payload = {"@odata.context": context, **serialize(record, table, select, annotations)}
        return json_response(200, payload, [("ETag", record.etag)])

    def _existing(self, table: TableDef, record_id: str) -> DataverseRecord:
        record = self._store.record(table.entity_set, record_id)
        if record is None:
            raise not_found(table, record_id)
        return record


def _require(request: ApiRequest, *methods: str) -> None:
    if request.method not in methods:
        raise ServiceError(405, f"The HTTP method '{request.method}' is not allowed here.")


def _not_found_segment(name: str) -> ServiceError:
    return ServiceError(404, f"Resource not found for the segment '{name}'.", code=INVALID_QUERY)


def _record_id(table: TableDef, segment: Segment) -> str:
    """``set(<guid>)``; alternate keys are not defined in the sandbox."""
    positional, value = segment.single_value()
    if not positional:
        raise ServiceError(
            400,
            f"The key in the request URI is not valid for resource '{table.qualified_type}'. "
            "Ensure that the names and number of key properties match the declared or "
            f"alternate key properties for the resource '{table.qualified_type}'.",
            code=INVALID_QUERY,
        )
    if not isinstance(value, uuid.UUID):
        raise ServiceError(400, "Bad Request - Error in query syntax.", code=INVALID_QUERY)
    return str(value)


def _indexed_lookups(node: Node) -> list[tuple[str, str]]:
    """Top-level ``_x_value eq <guid>`` and ``column eq 'text'`` conjuncts: (column, value)
    to read candidates through an index, as Dataverse does for lookups and name columns."""
    if isinstance(node, Binary) and node.op == "and":
        return _indexed_lookups(node.left) + _indexed_lookups(node.right)
    if not (
        isinstance(node, Binary)
        and node.op == "eq"
        and isinstance(node.left, Property)
        and isinstance(node.right, Literal)
    ):
        return []
    name, value = node.left.name, node.right.value
    if name.startswith("_") and name.endswith("_value") and isinstance(value, uuid.UUID):
        return [(name, str(value))]
    if isinstance(value, str):
        return [(name, value)]
    return []


def _ordered(records: list[DataverseRecord], order: list[OrderItem]) -> list[DataverseRecord]:
    if len(order) == 1 and not order[0].descending:
        # Only the primary id: canonical lower-case GUID text, which sorts as sort_key would.
        name = order[0].name
        return sorted(records, key=lambda record: str(record.row[name]))
    return sort_rows(records, order, lambda record: record.row)


def _context(request: ApiRequest, table: TableDef, options: QueryOptions) -> str:
    return collection_context(request, table.entity_set, options.select)
