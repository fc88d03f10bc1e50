"""Dataverse writes (api-protocols.md A5, A6): create, update/upsert with conditional
headers, delete, single-property writes, and ``<nav>@odata.bind`` resolution."""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reconciler.sandbox.dataverse_plugins import CreatePipeline
from reconciler.sandbox.dataverse_query import Annotations, resolve_select, serialize
from reconciler.sandbox.dataverse_store import DataverseStore, normalize_id
from reconciler.sandbox.keys import KeySyntaxError, decode_path, parse_segment
from reconciler.sandbox.messages import (
    ApiRequest,
    ApiResponse,
    empty_response,
    json_response,
    preferences,
)
from reconciler.sandbox.odata_query import parse_query
from reconciler.sandbox.schema import DATAVERSE_TABLES, TableDef
from reconciler.sandbox.service_errors import ServiceError
from reconciler.sandbox.state import DuplicateKey, InvalidRecord, Transaction

PAYLOAD_ERROR = "0x80048d19"
NOT_FOUND = "0x80040217"
DUPLICATE = "0x80040237"
_READ_ONLY = {"createdon", "modifiedon", "versionnumber"}
API_MARKER = "/api/data/v9.2/"


@dataclass(frozen=True)
class WriteBody:
    values: dict[str, Any]
    targets: dict[str, str]


def not_found(table: TableDef, record_id: str) -> ServiceError:
    return ServiceError(
        404, f"{table.logical_name} With Id = {record_id} Does Not Exist", code=NOT_FOUND
    )


def _payload_error(table: TableDef, detail: str) -> ServiceError:
    return ServiceError(
        400,
        f"Error identified in Payload provided by the user for Entity :'{table.entity_set}', "
        "For more information on this error please follow this help link "
        "https://go.microsoft.com/fwlink/?linkid=2195293  ---->  InnerException : "
        f"Microsoft.OData.ODataException: {detail}",
        code=PAYLOAD_ERROR,
    )


class DataverseWriter:
    """Writes for one organisation; ``atomic`` makes a create and its server-side logic one
    unit (nested inside a change set's unit when the create is part of one)."""

    def __init__(
        self, store: DataverseStore, atomic: Callable[[], AbstractContextManager[Transaction]]
    ) -> None:
        self._store = store
        self._atomic = atomic
        self._pipeline = CreatePipeline(store)

    # --- body -------------------------------------------------------------------------
    def parse_body(self, request: ApiRequest, table: TableDef) -> WriteBody:
        try:
            body = request.json_body()
        except ValueError as exc:
            raise _payload_error(table, str(exc)) from None
        if not isinstance(body, dict):
            raise _payload_error(table, "The request body must be a JSON object.")
        columns = self._store.known_columns(table.entity_set)
        values: dict[str, Any] = {}
        targets: dict[str, str] = {}
        for name, value in body.items():
            self._take(table, columns, name, value, values, targets)
        return WriteBody(values, targets)

    def _take(
        self,
        table: TableDef,
        columns: Collection[str],
        name: str,
        value: Any,
        values: dict[str, Any],
        targets: dict[str, str],
    ) -> None:
        if name.endswith("@odata.bind"):
            self._bind(table, name[: -len("@odata.bind")], value, values, targets)
        elif "@" in name or name in _READ_ONLY:
            return
        elif name.startswith("_") and name.endswith("_value"):
            raise _payload_error(
                table,
                "CRM do not support direct update of Entity Reference properties, Use "
                "Navigation properties instead.",
            )
        elif name not in columns:
            raise _payload_error(
                table,
                f"The property '{name}' does not exist on type '{table.qualified_type}'. Make "
                "sure to only use property names that are defined by the type or mark the type "
                "as open type.",
            )
        else:
            values[name] = value

    def _bind(
        self,
        table: TableDef,
        navigation: str,
        value: Any,
        values: dict[str, Any],
        targets: dict[str, str],
    ) -> None:
        """Navigation names are case-sensitive; the target must exist (A6)."""
        binding = table.bindings.get(navigation)
        if binding is None:
            raise _payload_error(
                table,
                f"An undeclared property '{navigation}' which only has property annotations in "
                "the payload but no property value was found in the payload. In OData, only "
                "declared navigation properties and declared named streams can be represented "
                "as properties without values.",
            )
        if value is None:
            values[binding.value_property] = None
            return
        target_set, target_id = self._reference(str(value))
        if target_set not in binding.targets:
            raise _payload_error(
                table,
                f"The entity set '{target_set}' is not a valid target of the navigation "
                f"property '{navigation}' (expected {', '.join(binding.targets)}).",
            )
        target_table = DATAVERSE_TABLES.get(target_set)
        if target_table is None or self._store.record(target_set, target_id) is None:
            logical = target_table.logical_name if target_table else target_set.removesuffix("s")
            raise ServiceError(
                404, f"{logical} With Id = {target_id} Does Not Exist", code=NOT_FOUND
            )
        values[binding.value_property] = target_id
        targets[binding.value_property] = target_set

    @staticmethod
    def _reference(url: str) -> tuple[str, str]:
        """``/set(id)``, ``set(id)`` or an absolute record URL -> (set, id)."""
        path = urlsplit(url).path
        at = path.find(API_MARKER)
        path = path[at + len(API_MARKER) :] if at >= 0 else path.lstrip("/")
        try:
            segment = parse_segment(decode_path(path))
            positional, value = segment.single_value()
            if not positional:
                raise KeySyntaxError(url)
            return segment.name, normalize_id(value)
        except (KeySyntaxError, InvalidRecord):
            raise ServiceError(
                400, f"The @odata.bind value '{url}' is not a valid entity URL.", code=PAYLOAD_ERROR
            ) from None

    # --- operations -------------------------------------------------------------------
    def create(
        self, request: ApiRequest, table: TableDef, record_id: str | None = None
    ) -> ApiResponse:
        """POST (or the create branch of an upsert): 204 + OData-EntityId, or 201 + body."""
        body = self.parse_body(request, table)
        values = dict(body.values)
        if record_id is not None:
            values[table.primary_id] = record_id
        with self._atomic():
            self._pipeline.check(table.entity_set, values)
            try:
                new_id = self._store.insert(table.entity_set, values, body.targets)
            except DuplicateKey:
                raise self.duplicate() from None
            except InvalidRecord as exc:
                raise _payload_error(table, str(exc)) from None
            self._pipeline.after(table.entity_set, new_id)
        return self._answer(request, table, new_id, created=True)

    def update(self, request: ApiRequest, table: TableDef, record_id: str) -> ApiResponse:
        body = self.parse_body(request, table)
        self._store.update(table.entity_set, record_id, body.values, body.targets)
        return self._answer(request, table, record_id, created=False)

    def upsert(self, request: ApiRequest, table: TableDef, record_id: str) -> ApiResponse:
        """PATCH: If-Match forces update (404 when missing, 412 on a stale ETag);
        If-None-Match: * forces create (412 when it exists); neither means upsert."""
        record = self._store.record(table.entity_set, record_id)
        if_match = request.headers.get("If-Match")
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None and if_none_match.strip() == "*":
            if record is not None:
                raise self.duplicate()
            return self.create(request, table, record_id)
        if if_match is not None:
            if record is None:
                raise not_found(table, record_id)
            check_etag(if_match, record.etag)
        if record is None:
            return self.create(request, table, record_id)
        return self.update(request, table, record_id)

    def delete(self, request: ApiRequest, table: TableDef, record_id: str) -> ApiResponse:
        record = self._store.record(table.entity_set, record_id)
        if record is None:
            raise not_found(table, record_id)
        if_match = request.headers.get("If-Match")
        if if_match is not None:
            check_etag(if_match, record.etag)
        self._store.delete(table.entity_set, record_id)
        return empty_response(204)

    def write_property(
        self, request: ApiRequest, table: TableDef, record_id: str, column: str
    ) -> ApiResponse:
        """``PUT set(id)/column {"value": x}`` sets one column; DELETE clears it (A6)."""
        if self._store.record(table.entity_set, record_id) is None:
            raise not_found(table, record_id)
        if column not in self._store.known_columns(table.entity_set) or column in _READ_ONLY:
            raise _payload_error(table, f"The property '{column}' cannot be written.")
        value = None
        if request.method == "PUT":
            body = request.json_body()
            if not isinstance(body, dict) or "value" not in body:
                raise _payload_error(table, 'A property PUT needs a body {"value": ...}.')
            value = body["value"]
        self._store.update(table.entity_set, record_id, {column: value})
        return empty_response(204)

    @staticmethod
    def duplicate() -> ServiceError:
        return ServiceError(
            412, "A record with matching key values already exists.", code=DUPLICATE
        )

    def _answer(
        self, request: ApiRequest, table: TableDef, record_id: str, *, created: bool
    ) -> ApiResponse:
        url = f"{request.service_root_url}{table.entity_set}({record_id})"
        if preferences(request.headers).get("return") == "representation":
            record = self._store.record(table.entity_set, record_id)
            if record is None:
                raise not_found(table, record_id)
            # A6: an update ignores $expand; a create would honour it (not emulated -> 501).
            pairs = [(n, v) for n, v in request.query_pairs() if created or n != "$expand"]
            options = parse_query(pairs, {"$select"})
            columns = self._store.known_columns(table.entity_set)
            select = resolve_select(options.select, table, columns)
            context = f"{request.service_root_url}$metadata#{table.entity_set}/$entity"
            payload = {
                "@odata.context": context,
                **serialize(record, table, select, Annotations(None)),
            }
            headers = [("Preference-Applied", "return=representation")]
            return json_response(201 if created else 200, payload, headers)
        return empty_response(204, [("Location", url), ("OData-EntityId", url)])


def check_etag(expected: str, current: str) -> None:
    """``If-Match`` with a stale ETag -> 412 with an empty code (A5)."""
    if expected.strip() == "*":
        return
    if current not in [tag.strip() for tag in expected.split(",")]:
        raise ServiceError(
            412,
            "The version of the existing record doesn't match the RowVersion property provided.",
        )
