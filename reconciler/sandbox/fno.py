"""F&O OData endpoint (``<fno_url>/data/...``, api-protocols.md B): routing, reads by key,
writes with ETags and ``$batch``. Collection query logic lives in fno_query.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from reconciler.sandbox.batch_runner import BatchContext, BatchPolicy, BatchRunner
from reconciler.sandbox.fno_document_rules import DocumentRules
from reconciler.sandbox.fno_documents import BY_HEADER
from reconciler.sandbox.fno_query import (
    next_link,
    ordered,
    page_of,
    query_signature,
    scoped,
    select_row,
    validate_options,
)
from reconciler.sandbox.fno_store import FnoRecord, FnoStore
from reconciler.sandbox.keys import KeySyntaxError, Segment, parse_segment, split_path
from reconciler.sandbox.messages import (
    ApiRequest,
    ApiResponse,
    empty_response,
    json_response,
    text_response,
)
from reconciler.sandbox.odata_eval import collate
from reconciler.sandbox.odata_filter import EnumValue, LiteralValue
from reconciler.sandbox.odata_query import QueryOptions, parse_query
from reconciler.sandbox.query_cache import QueryCache
from reconciler.sandbox.schema import FNO_ENTITIES, EntityDef
from reconciler.sandbox.service_errors import (
    FNO_WRITE_EXCEPTION,
    ServiceError,
    fno_error,
    fno_error_from,
)
from reconciler.sandbox.state import (
    DuplicateKey,
    InvalidRecord,
    MissingKey,
    Transaction,
    UnknownEntitySet,
)

_COLLECTION_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$skip", "$count"}
_STRING_KEY_TYPES = {"Edm.String"}


def _literal(value: object) -> str:
    """Key value as it appears in a key segment (percent-encoded where needed)."""
    if isinstance(value, str):
        return "'" + quote(value.replace("'", "''"), safe="'-_.~!*,;:@") + "'"
    return str(value)


def _stored_form(value: LiteralValue) -> object:
    """Key literals as rows store them: enum member names, ISO-8601 UTC datetimes."""
    if isinstance(value, EnumValue):
        return value.member
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def entity_url(root_url: str, entity: EntityDef, row: Mapping[str, Any]) -> str:
    keys = ",".join(f"{name}={_literal(row.get(name))}" for name in entity.keys)
    return f"{root_url}{entity.entity_set}({keys})"


class FnoService:
    """Answers ApiRequests for one F&O environment."""

    def __init__(
        self,
        store: FnoStore,
        page_size: Callable[[], int],
        atomic: Callable[[], AbstractContextManager[Transaction]],
        count_parts: Callable[[int], None],
    ) -> None:
        self._store = store
        self._page_size = page_size
        self._atomic = atomic
        self._documents = DocumentRules(store)
        self._results: QueryCache[FnoRecord] = QueryCache()
        context = BatchContext(
            BatchPolicy(failure_sets_outer_status=False, max_operations=None),
            "/data/",
            self.handle,
            lambda status, message: fno_error(status, message),
            atomic,
            count_parts,
        )
        self._batch = BatchRunner(context)

    def handle(self, request: ApiRequest) -> ApiResponse:
        try:
            return self._route(request)
        except ServiceError as exc:
            return fno_error_from(exc)
        except KeySyntaxError as exc:
            return fno_error(400, str(exc))

    # --- routing ----------------------------------------------------------------------
    def _route(self, request: ApiRequest) -> ApiResponse:
        segments = split_path(request.path)
        if not segments:
            return self._service_document(request)
        if segments == ["$batch"]:
            self._require(request, "POST")
            return self._batch.run(request)
        segment = parse_segment(segments[0])
        entity = self._entity(segment.name, request)
        if segments[1:] == ["$count"] and segment.key is None:
            self._require(request, "GET")
            return self._count(request, entity)
        if len(segments) == 2 and segment.key is not None:
            return self._related(request, entity, self._key(entity, segment), segments[1])
        if len(segments) > 1:
            raise ServiceError(404, f"Resource not found for the segment '{segments[1]}'.")
        if segment.key is None:
            return self._collection(request, entity)
        return self._single(request, entity, self._key(entity, segment))

    def _entity(self, name: str, request: ApiRequest) -> EntityDef:
        try:
            return self._store.entity(name)
        except UnknownEntitySet:
            url = request.service_root_url + request.path
            raise ServiceError(
                404, f"No HTTP resource was found that matches the request URI '{url}'."
            ) from None

    @staticmethod
    def _require(request: ApiRequest, *methods: str) -> None:
        if request.method not in methods:
            raise ServiceError(405, f"The HTTP method '{request.method}' is not allowed here.")

    def _collection(self, request: ApiRequest, entity: EntityDef) -> ApiResponse:
        if request.method == "GET":
            return self._query(request, entity)
        if request.method == "POST":
            return self._create(request, entity)
        raise ServiceError(405, f"The HTTP method '{request.method}' is not allowed here.")

    def _single(self, request: ApiRequest, entity: EntityDef, key: dict[str, Any]) -> ApiResponse:
        handlers: dict[str, Callable[[ApiRequest, EntityDef, dict[str, Any]], ApiResponse]] = {
            "GET": self._get,
            "PATCH": self._patch,
            "PUT": self._put,
            "DELETE": self._delete,
        }
        handler = handlers.get(request.method)
        if handler is None:
            raise ServiceError(405, f"The HTTP method '{request.method}' is not allowed here.")
        return handler(request, entity, key)

    def _related(
        self, request: ApiRequest, entity: EntityDef, key: dict[str, Any], navigation: str
    ) -> ApiResponse:
        """A document header's lines through its navigation property: GET lists them, POST
        creates one with the header's key fields filled in (how a change set adds lines to a
        header it created, ``$1/<navigation>``, before the journal number is known)."""
        document = BY_HEADER.get(entity.entity_set)
        if document is None or navigation != document.navigation:
            raise ServiceError(404, f"Resource not found for the segment '{navigation}'.")
        header = self._existing(entity, key)
        lines = self._store.entity(document.lines)
        parent = document.parent_key(header)
        if request.method == "POST":
            body = self._body(request)
            clash = [n for n, v in parent.items() if n in body and collate(body[n]) != collate(v)]
            if clash:
                raise ServiceError(
                    400, f"The related entity's {', '.join(clash)} must match its header."
                )
            return self._create(request, lines, {**body, **parent})
        self._require(request, "GET")
        options = self._options(request, lines, _COLLECTION_OPTIONS)
        records = self._documents.lines_of(document, header)
        visible = ordered(
            lines, scoped(lines, records, options, str(header["dataAreaId"])), options
        )
        page = page_of(visible, options, self._page_size())
        context = f"{request.service_root_url}$metadata#{lines.entity_set}"
        payload: dict[str, Any] = {"@odata.context": context}
        if options.count:
            payload["@odata.count"] = page.total
        payload["value"] = [select_row(row, options.select) for row in page.rows]
        link = next_link(request.service_root_url + request.path, request.query_pairs(), page)
        if link is not None:
            payload["@odata.nextLink"] = link
        return json_response(200, payload)

    # --- reads ------------------------------------------------------------------------
    def _service_document(self, request: ApiRequest) -> ApiResponse:
        sets = [{"name": name, "kind": "EntitySet", "url": name} for name in FNO_ENTITIES]
        context = request.service_root_url + "$metadata"
        return json_response(200, {"@odata.context": context, "value": sets})

    def _options(self, request: ApiRequest, entity: EntityDef, supported: set[str]) -> QueryOptions:
        options = parse_query(request.query_pairs(), supported)
        validate_options(entity, options)
        return options

    def _query(self, request: ApiRequest, entity: EntityDef) -> ApiResponse:
        options = self._options(request, entity, _COLLECTION_OPTIONS)
        page = page_of(self._ordered(entity, options), options, self._page_size())
        payload: dict[str, Any] = {"@odata.context": self._context(request, entity, options)}
        if options.count:
            payload["@odata.count"] = page.total
        payload["value"] = [select_row(row, options.select) for row in page.rows]
        link = next_link(request.service_root_url + request.path, request.query_pairs(), page)
        if link is not None:
            payload["@odata.nextLink"] = link
        return json_response(200, payload)

    def _ordered(self, entity: EntityDef, options: QueryOptions) -> list[FnoRecord]:
        """Visible records in page order, cached across the pages of one read."""
        company = self._store.default_company

        def compute() -> list[FnoRecord]:
            records = self._store.snapshot(entity.entity_set)
            return ordered(entity, scoped(entity, records, options, company), options)

        signature = query_signature(entity, options, company)
        generation = self._store.generation(entity.entity_set)
        return self._results.results(signature, generation, compute)

    def _count(self, request: ApiRequest, entity: EntityDef) -> ApiResponse:
        options = self._options(request, entity, {"$filter"})
        records = self._store.snapshot(entity.entity_set)
        visible = scoped(entity, records, options, self._store.default_company)
        return text_response(200, str(len(visible)))

    @staticmethod
    def _context(request: ApiRequest, entity: EntityDef, options: QueryOptions) -> str:
        select = f"({','.join(options.select)})" if options.select else ""
        return f"{request.service_root_url}$metadata#{entity.entity_set}{select}"

    def _get(self, request: ApiRequest, entity: EntityDef, key: dict[str, Any]) -> ApiResponse:
        options = self._options(request, entity, {"$select"})
        row = self._existing(entity, key)
        return self._entity_response(200, request, entity, select_row(row, options.select))

    def _entity_response(
        self,
        status: int,
        request: ApiRequest,
        entity: EntityDef,
        row: dict[str, Any],
        headers: list[tuple[str, str]] | None = None,
    ) -> ApiResponse:
        context = f"{request.service_root_url}$metadata#{entity.entity_set}/$entity"
        etag = str(row.get("@odata.etag"))
        payload = {"@odata.context": context, **row}
        return json_response(status, payload, [("ETag", etag), *(headers or [])])

    # --- writes -----------------------------------------------------------------------
    def _create(
        self, request: ApiRequest, entity: EntityDef, body: dict[str, Any] | None = None
    ) -> ApiResponse:
        body = self._body(request) if body is None else body
        with self._atomic():
            key = self._insert(entity, self._documents.prepare_create(entity, body))
            row = self._existing(entity, key)
        location = entity_url(request.service_root_url, entity, row)
        headers = [("Location", location), ("OData-EntityId", location)]
        if "return=minimal" in (request.headers.get("Prefer") or ""):
            return empty_response(204, headers)
        return self._entity_response(201, request, entity, row, headers)

    def _insert(self, entity: EntityDef, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._store.insert(entity.entity_set, body)
        except DuplicateKey as exc:
            infolog = (
                f"Cannot create a record in {entity.type_name} ({entity.entity_set}). "
                f"{exc}. The record already exists."
            )
            raise self._write_failed(entity, infolog) from None
        except MissingKey as exc:
            raise self._write_failed(entity, str(exc)) from None
        except InvalidRecord as exc:
            raise ServiceError(400, str(exc)) from None

    def _patch(self, request: ApiRequest, entity: EntityDef, key: dict[str, Any]) -> ApiResponse:
        return self._write(request, entity, key, self._store.update)

    def _put(self, request: ApiRequest, entity: EntityDef, key: dict[str, Any]) -> ApiResponse:
        return self._write(request, entity, key, self._store.replace)

    def _write(
        self,
        request: ApiRequest,
        entity: EntityDef,
        key: dict[str, Any],
        apply: Callable[[str, Mapping[str, Any], Mapping[str, Any]], dict[str, Any]],
    ) -> ApiResponse:
        body = self._body(request)
        with self._atomic():
            self._check_etag(request, entity, key)
            self._documents.check_change(entity, key)
            try:
                row = apply(entity.entity_set, key, body)
            except InvalidRecord as exc:
                raise ServiceError(400, str(exc)) from None
        location = entity_url(request.service_root_url, entity, row)
        headers = [("ETag", str(row["@odata.etag"])), ("OData-EntityId", location)]
        if "return=representation" in (request.headers.get("Prefer") or ""):
            return self._entity_response(200, request, entity, row, headers[1:])
        return empty_response(204, headers)

    def _delete(self, request: ApiRequest, entity: EntityDef, key: dict[str, Any]) -> ApiResponse:
        with self._atomic():
            self._check_etag(request, entity, key)
            self._documents.check_change(entity, key)
            self._store.delete(entity.entity_set, key)
        return empty_response(204)

    def _check_etag(self, request: ApiRequest, entity: EntityDef, key: dict[str, Any]) -> None:
        """``If-Match`` must equal the current ETag (``*`` matches any existing record)."""
        current = self._existing(entity, key)
        expected = request.headers.get("If-Match")
        if expected is None or expected.strip() == "*":
            return
        if current["@odata.etag"] not in [tag.strip() for tag in expected.split(",")]:
            raise ServiceError(
                412,
                "The ETag value in the If-Match header does not match the current ETag of the "
                f"{entity.type_name} record ({self._describe(entity, key)}).",
            )

    # --- helpers ----------------------------------------------------------------------
    def _existing(self, entity: EntityDef, key: Mapping[str, Any]) -> dict[str, Any]:
        row = self._store.get(entity.entity_set, key)
        if row is None:
            raise ServiceError(
                404,
                f"Resource not found for the segment '{entity.entity_set}' "
                f"({self._describe(entity, key)}).",
            )
        return row

    @staticmethod
    def _describe(entity: EntityDef, key: Mapping[str, Any]) -> str:
        return ", ".join(f"{name}={key.get(name)!r}" for name in entity.keys)

    def _key(self, entity: EntityDef, segment: Segment) -> dict[str, Any]:
        """Key predicate -> {field: value}; every key field, with the right literal type."""
        positional, value = segment.single_value()
        key = {entity.keys[0]: value} if positional and len(entity.keys) == 1 else {}
        key = key or segment.named_key()
        unknown = [name for name in key if name not in entity.keys]
        missing = [name for name in entity.keys if name not in key]
        if unknown or missing or (positional and len(entity.keys) != 1):
            expected = ",".join(f"{name}=..." for name in entity.keys)
            raise ServiceError(
                400,
                f"The key in the request URI is not valid for resource '{entity.entity_set}'; "
                f"expected {entity.entity_set}({expected}).",
            )
        for name, item in key.items():
            if (entity.fields.get(name) in _STRING_KEY_TYPES) != isinstance(item, str):
                raise ServiceError(400, f"The key value for '{name}' has the wrong type: {item!r}.")
        return {name: _stored_form(item) for name, item in key.items()}

    @staticmethod
    def _body(request: ApiRequest) -> dict[str, Any]:
        try:
            body = request.json_body()
        except ValueError as exc:
            raise ServiceError(400, str(exc)) from None
        if not isinstance(body, dict):
            raise ServiceError(400, "The request body must be a JSON object.")
        return body

    @staticmethod
    def _write_failed(entity: EntityDef, infolog: str) -> ServiceError:
        """X++ write failures come back as 500 with the Infolog in innererror (B5, B7)."""
        return ServiceError(
            500,
            f"Write failed for table row of type '{entity.type_name}'. Infolog: Error: {infolog}",
            inner_type=FNO_WRITE_EXCEPTION,
        )
