"""Dataverse change tracking (api-protocols.md A8): a full read with ``Prefer:
odata.track-changes`` ends in an ``@odata.deltaLink``, and following it returns what changed.

- The first read pages like any other read (``$skiptoken``, ``odata.maxpagesize``); its last
  page carries ``@odata.deltaLink`` (the same URL plus ``$deltatoken``) instead of a nextLink.
  The token holds the version the read *started* at, so rows written while it was paging
  come again in the next delta rather than being missed.
- A delta (``$deltatoken``) lists rows inserted or updated since the token as ordinary
  entities, by version, then deleted rows as ``$deletedEntity`` objects; each row once, by
  its last change. A row created and deleted since the token is listed as deleted (A8, SDK).
  A delta pages with nextLinks too; its upper version is fixed on its first page, and its
  last page carries a new deltaLink from there.
- ``$filter``, ``$orderby``, ``$expand`` and ``$top`` are rejected with the documented
  message (status 400 and code ``0x80060888`` are the sandbox's choice, as for other query
  errors). ``$select`` and ``$count`` work (``$count`` counts the rows of the full read or
  the changes of the delta). Every table may be tracked.
- ``/<set>/$count?$deltatoken=…`` counts the changes (capped at 5,000 like any ``$count``).
- Token rejections are described in dataverse_delta_tokens.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from reconciler.sandbox import dataverse_paging
from reconciler.sandbox.dataverse_changes import Change
from reconciler.sandbox.dataverse_delta_tokens import DeltaCursor, DeltaToken, Phase
from reconciler.sandbox.dataverse_query import (
    COUNT_CAP,
    INVALID_QUERY,
    Annotations,
    collection_context,
    count_annotations,
    resolve_select,
    serialize,
)
from reconciler.sandbox.dataverse_store import DataverseRecord, DataverseStore, utc_now
from reconciler.sandbox.messages import (
    ApiRequest,
    ApiResponse,
    json_response,
    preferences,
    text_response,
)
from reconciler.sandbox.odata_query import OrderItem, QueryOptions, first_after, parse_query
from reconciler.sandbox.schema import TableDef
from reconciler.sandbox.service_errors import ServiceError

TRACK_CHANGES = "odata.track-changes"
_REJECTED = ("$filter", "$orderby", "$expand", "$top")
_SUPPORTED = {"$select", "$count", "$skiptoken", "$deltatoken"}


def has_delta_token(request: ApiRequest) -> bool:
    """A deltaLink being followed (or its changes counted)."""
    return any(name == "$deltatoken" for name, _ in request.query_pairs())


def is_tracked(request: ApiRequest) -> bool:
    """A change-tracking read: the preference, or a deltaLink being followed."""
    return TRACK_CHANGES in preferences(request.headers) or has_delta_token(request)


class ChangeTracking:
    """Tracked reads and deltas over one organisation's store."""

    def __init__(
        self,
        store: DataverseStore,
        max_page_size: Callable[[], int],
        retention_s: Callable[[], float],
        ordered: Callable[[TableDef], list[DataverseRecord]],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._max_page_size = max_page_size
        self._retention_s = retention_s
        self._ordered = ordered
        self._clock = clock

    def read(self, request: ApiRequest, table: TableDef) -> ApiResponse:
        prefs = preferences(request.headers)
        options = _options(request)
        size, applied = dataverse_paging.page_size(prefs, self._max_page_size(), None)
        annotations = Annotations(prefs.get("odata.include-annotations"))
        token = options.custom.get("$deltatoken")
        if token is None:
            payload = self._full_page(request, table, options, size, annotations)
        else:
            since = self._since(token)
            payload = self._delta_page(request, table, options, since, size, annotations)
        headers = dataverse_paging.preference_headers(applied, prefs)
        if TRACK_CHANGES in prefs:
            headers.insert(0, ("Preference-Applied", TRACK_CHANGES))
        return json_response(200, payload, headers)

    def count(self, request: ApiRequest, table: TableDef) -> ApiResponse:
        """``/<set>/$count?$deltatoken=…``: how many changes a delta would list."""
        options = _parse(request, {"$deltatoken"})
        since = self._since(options.custom.get("$deltatoken", ""))
        total = len(self._changes(table, since, self._store.current_version()))
        return text_response(200, str(min(total, COUNT_CAP)))

    # --- the full read ------------------------------------------------------------------
    def _full_page(
        self,
        request: ApiRequest,
        table: TableDef,
        options: QueryOptions,
        size: int,
        annotations: Annotations,
    ) -> dict[str, Any]:
        order = [OrderItem(table.primary_id)]
        version = self._store.current_version()
        records = self._ordered(table)
        start, page_number = 0, 1
        if options.skiptoken is not None:
            cursor = dataverse_paging.decode(options.skiptoken, order, table.primary_id)
            if cursor.tracking_version is None:
                raise ServiceError(
                    400,
                    "The $skiptoken value is not valid for this query: not a tracking cookie.",
                    code=INVALID_QUERY,
                )
            start = first_after(records, cursor.values, order, lambda record: record.row)
            page_number, version = cursor.page_number, cursor.tracking_version
        page = records[start : start + size]
        select = resolve_select(options.select, table, self._store.known_columns(table.entity_set))
        payload: dict[str, Any] = {
            "@odata.context": collection_context(request, table.entity_set, options.select)
        }
        payload.update(count_annotations(len(records), options.count, annotations))
        payload["value"] = [serialize(record, table, select, annotations) for record in page]
        if len(records) - start > size and page:
            token = dataverse_paging.encode(
                page_number + 1, order, table.primary_id, page[0].row, page[-1].row, version
            )
            payload["@odata.nextLink"] = dataverse_paging.link(request, "$skiptoken", token)
        else:
            payload["@odata.deltaLink"] = self._delta_link(request, version)
        return payload

    # --- deltas -------------------------------------------------------------------------
    def _delta_page(
        self,
        request: ApiRequest,
        table: TableDef,
        options: QueryOptions,
        since: int,
        size: int,
        annotations: Annotations,
    ) -> dict[str, Any]:
        if options.skiptoken is None:
            cursor = DeltaCursor(1, self._store.current_version(), "updated", since)
        else:
            cursor = DeltaCursor.decode(options.skiptoken)
            if not since <= cursor.upto <= self._store.current_version():
                raise ServiceError(
                    400,
                    "The $skiptoken value is not valid for this query: not from this delta.",
                    code=INVALID_QUERY,
                )
        changes, following = self._page_of_changes(table, since, cursor, size)
        select = resolve_select(options.select, table, self._store.known_columns(table.entity_set))
        context = collection_context(request, table.entity_set, options.select) + "/$delta"
        payload: dict[str, Any] = {"@odata.context": context}
        if options.count:  # costs a pass over the delta's changes, so only when asked
            total = len(self._changes(table, since, cursor.upto))
            payload.update(count_annotations(total, True, annotations))
        deleted_context = f"{request.service_root_url}$metadata#{table.entity_set}/$deletedEntity"
        payload["value"] = [
            serialize(change.record, table, select, annotations)
            if change.record is not None
            else {"@odata.context": deleted_context, "id": change.record_id, "reason": "deleted"}
            for change in changes
        ]
        if following is not None:
            payload["@odata.nextLink"] = dataverse_paging.link(
                request, "$skiptoken", following.encode()
            )
        else:
            payload["@odata.deltaLink"] = self._delta_link(request, cursor.upto)
        return payload

    def _page_of_changes(
        self, table: TableDef, since: int, cursor: DeltaCursor, size: int
    ) -> tuple[list[Change], DeltaCursor | None]:
        """Up to ``size`` changes from the cursor on, and the cursor after them if more
        remain. Each phase reads one row past the page to know whether more remain."""
        page: list[Change] = []
        phase, after = cursor.phase, cursor.after
        while True:
            room = size - len(page)
            found = self._fetch(phase, table, after, cursor.upto, room + 1)
            page.extend(found[:room])
            if len(found) > room:
                last = found[room - 1].version if room > 0 else after
                return page, DeltaCursor(cursor.page_number + 1, cursor.upto, phase, last)
            if phase == "deleted":
                return page, None
            phase, after = "deleted", since

    def _fetch(
        self, phase: Phase, table: TableDef, after: int, upto: int, limit: int | None
    ) -> list[Change]:
        if phase == "updated":
            return self._store.updated_since(table.entity_set, after, upto, limit)
        return self._store.deleted_since(table.entity_set, after, upto, limit)

    def _changes(self, table: TableDef, since: int, upto: int) -> list[Change]:
        updated = self._fetch("updated", table, since, upto, None)
        return updated + self._fetch("deleted", table, since, upto, None)

    # --- tokens -------------------------------------------------------------------------
    def _since(self, text: str) -> int:
        token = DeltaToken.parse(text)
        store = self._store
        token.check(
            store.current_version(),
            store.oldest_valid_version(),
            self._clock(),
            self._retention_s(),
        )
        return token.version

    def _delta_link(self, request: ApiRequest, version: int) -> str:
        token = DeltaToken(version, self._clock()).text()
        return dataverse_paging.link(request, "$deltatoken", token)


def _parse(request: ApiRequest, supported: set[str]) -> QueryOptions:
    try:
        return parse_query(request.query_pairs(), supported)
    except ServiceError as exc:
        exc.code = exc.code or INVALID_QUERY
        raise


def _options(request: ApiRequest) -> QueryOptions:
    """Options of a tracked read; the four A8 names are refused with its message."""
    for name, _ in request.query_pairs():
        if name in _REJECTED:
            raise ServiceError(
                400,
                f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.',
                code=INVALID_QUERY,
            )
    return _parse(request, _SUPPORTED)
