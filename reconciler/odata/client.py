"""A small OData v4 client for F&O (``/data/``) and Dataverse (``/api/data/v9.2/``).

It knows each service's headers and paging rules (api-protocols A1-A7, B1-B5), retries
through :class:`RetryPolicy`, and turns every failure into a :class:`ServiceError`.
Connectors own entity knowledge; this module only speaks the protocol. Tests and the
sandbox plug in through ``transport=`` (httpx's seam), auth through ``auth=``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import httpx

from reconciler.errors import ServiceError
from reconciler.odata import batch as batch_codec
from reconciler.odata.batch import BatchRequest, BatchResponse, ChangeSet
from reconciler.odata.errors import (
    Service,
    error_from_response,
    error_from_status,
    malformed_payload,
    resource_name,
    service_label,
    url_without_query_values,
)
from reconciler.odata.literals import query_string
from reconciler.odata.retry import IDEMPOTENT_METHODS, RequestInfo, RetryPolicy

__all__ = ["CreateResult", "ODataClient", "TrackedPages"]

DATAVERSE_MAX_PAGE_SIZE: Final = 5000
"""Dataverse ignores larger ``odata.maxpagesize`` values (api-protocols A2)."""

DATAVERSE_MAX_BATCH: Final = 1000
"""Dataverse refuses batches of more than 1,000 requests (api-protocols A7)."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*")
_ORDER = re.compile(r"[A-Za-z_][A-Za-z0-9_/]*(?: (?:asc|desc))?")
_ENTITY_ID = re.compile(r"\(([0-9A-Fa-f-]{36})\)/?$")


@dataclass(frozen=True)
class CreateResult:
    """What a create returned.

    ``record_id`` is the new id: ``key_field`` read from the returned body, else the GUID
    at the end of ``OData-EntityId``/``Location``. F&O keys are composite and known to the
    caller, so it is usually None there. ``etag`` is the body's ``@odata.etag`` or the
    ``ETag`` header.
    """

    record_id: str | None
    etag: str | None
    body: dict[str, Any] | None
    entity_url: str | None


class ODataClient:
    """One service root, one connection pool, shared retry counters."""

    def __init__(
        self,
        *,
        service: Service,
        root_url: str,
        auth: httpx.Auth | None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 120.0,
        page_size: int | None = None,
        user_agent: str = "reconciler/0.1",
    ) -> None:
        if service not in ("fno", "dataverse"):
            raise ValueError(f"unknown OData service {service!r}; expected 'fno' or 'dataverse'")
        self.service: Service = service
        self.root_url = root_url.rstrip("/") + "/"
        self.retry = retry if retry is not None else RetryPolicy()
        self.page_size = page_size
        self._count_lock = threading.Lock()
        self._request_count = 0
        self._http = httpx.Client(
            auth=auth,
            transport=transport,
            timeout=timeout,
            headers=self._default_headers(user_agent),
            event_hooks={"request": [self._count_request]},
        )

    # --- lifecycle and counters -----------------------------------------------------------

    @property
    def request_count(self) -> int:
        """Every HTTP request sent, retries and batch POSTs included."""
        return self._request_count

    def _count_request(self, request: httpx.Request) -> None:
        with self._count_lock:
            self._request_count += 1

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> ODataClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- reads ----------------------------------------------------------------------------

    def iter_pages(
        self,
        entity_set: str,
        *,
        select: Sequence[str] = (),
        filter: str | None = None,
        orderby: Sequence[str] = (),
        cross_company: bool = False,
        page_size: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield one list of rows per server page, following ``@odata.nextLink`` verbatim.

        Nothing is kept between pages, so memory stays at one page. Arguments are checked
        now, not on the first ``next()``.
        """
        if cross_company and self.service != "fno":
            raise ValueError("cross_company applies to F&O only")
        options = _collection_options(select, filter, orderby, cross_company)
        headers = self._read_headers() | self._page_size_header(page_size)
        return self._pages(self._url(entity_set, options), headers)

    def _pages(self, url: str, headers: Mapping[str, str]) -> Iterator[list[dict[str, Any]]]:
        next_url: str | None = url
        while next_url is not None:
            current = next_url
            payload = self._json_object(self._send("GET", current, headers=headers))
            rows = payload.get("value")
            if not isinstance(rows, list):
                raise self._malformed("GET", current, 'no "value" array in the page')
            next_url = self._next_link(payload.get("@odata.nextLink"), current)
            del payload
            yield rows

    def iter_tracked(
        self, entity_set: str, *, select: Sequence[str] = (), delta_link: str | None = None
    ) -> TrackedPages:
        """A Dataverse change-tracking read (api-protocols A8): with no ``delta_link``, every
        row and, after the last page, a deltaLink; following a ``delta_link``, only what
        changed since it (deleted rows as ``$deletedEntity`` objects) and a new deltaLink."""
        if self.service != "dataverse":
            raise ValueError("change tracking is a Dataverse feature; F&O OData has none")
        if delta_link is None:
            options = _collection_options(select, None, (), False)
            url = self._url(entity_set, options)
        else:
            url = delta_link
        prefer = self._page_size_header(None).get("Prefer", "")
        headers = self._read_headers() | {"Prefer": f"odata.track-changes,{prefer}".rstrip(",")}
        return TrackedPages(self, url, headers)

    def _next_link(self, link: object, current: str) -> str | None:
        """The next page's URL, untouched (the link is opaque, api-protocols A2)."""
        if link is None:
            return None
        if not isinstance(link, str) or not link:
            raise self._malformed("GET", current, "@odata.nextLink is not a URL")
        absolute = link if httpx.URL(link).is_absolute_url else str(httpx.URL(current).join(link))
        if absolute == current:
            raise self._malformed("GET", current, "@odata.nextLink points at the same page")
        return absolute

    def get(self, path: str, *, select: Sequence[str] = ()) -> dict[str, Any] | None:
        """One entity by key path (``Warehouses(dataAreaId='usmf',WarehouseId='21')``), or
        None when the service answers 404."""
        options = {"$select": _names(select)} if select else {}
        url = self._url(path, options | self._key_options())
        response = self._send("GET", url, headers=self._read_headers(), check=False)
        if response.status_code == 404:
            return None
        return self._json_object(self._checked(response))

    # --- writes ---------------------------------------------------------------------------

    def create(
        self,
        entity_set: str,
        body: Mapping[str, Any],
        *,
        key_field: str | None = None,
        select: Sequence[str] = (),
    ) -> CreateResult:
        """POST a new entity. Dataverse is asked for the representation (201 with body);
        ``key_field`` names its primary key column so the new id can be read from it. For
        F&O the body's ``dataAreaId`` selects the company (api-protocols B1)."""
        headers = {"Prefer": "return=representation"} if self.service == "dataverse" else {}
        options = {"$select": _names(select)} if select else {}
        response = self._send("POST", self._url(entity_set, options), headers=headers, json=body)
        created = self._json_object(response) if response.content else None
        return _create_result(response, created, key_field)

    def update(self, path: str, body: Mapping[str, Any], *, if_match: str | None) -> None:
        """PATCH only the given fields. Dataverse always gets ``If-Match`` (``*`` when no
        ETag is known) so a vanished row is a 404, never an accidental upsert; a changed row
        raises PreconditionFailedError (412)."""
        if self.service == "dataverse" and not if_match:
            if_match = "*"
        headers = _if_match(if_match)
        url = self._url(path, self._key_options())
        self._send("PATCH", url, headers=headers, json=body)

    def delete(self, path: str, *, if_match: str | None) -> None:
        """DELETE one entity, guarded by ``If-Match`` when an ETag is given."""
        self._send("DELETE", self._url(path, self._key_options()), headers=_if_match(if_match))

    def batch(
        self, requests: Sequence[BatchRequest | ChangeSet], *, continue_on_error: bool = False
    ) -> list[BatchResponse]:
        """Send one ``$batch``; answers come back in request order, change sets flattened.

        A failed operation is a BatchResponse with its own status (see :meth:`part_error`);
        only a failure of the batch as a whole raises.
        """
        self._check_batch_size(requests)
        content_type, content = batch_codec.encode(self.root_url, requests)
        headers = {"Content-Type": content_type}
        if continue_on_error:
            headers["Prefer"] = "odata.continue-on-error"
        url = self._url("$batch", {})
        idempotent = all(r.method.upper() == "GET" for r in batch_codec.iter_requests(requests))
        response = self._send(
            "POST",
            url,
            headers=headers,
            content=content,
            idempotent=idempotent,
            final=_is_multipart,
            check=False,
        )
        return self._decode_batch(response, url)

    # --- operations for $batch ------------------------------------------------------------

    def get_operation(
        self, path: str, *, select: Sequence[str] = (), filter: str | None = None
    ) -> BatchRequest:
        """A GET to put in a ``$batch``: the same URL :meth:`get`/:meth:`iter_pages` send."""
        options = {"$select": _names(select)} if select else {}
        if filter:
            options["$filter"] = filter
        return BatchRequest("GET", path + query_string(options | self._key_options()))

    def create_operation(
        self, entity_set: str, body: Mapping[str, Any], content_id: str | None = None
    ) -> BatchRequest:
        """A POST to put in a ``$batch`` (the new id comes back in ``OData-EntityId``)."""
        return BatchRequest("POST", entity_set, body=dict(body), content_id=content_id)

    def update_operation(
        self, path: str, body: Mapping[str, Any], *, if_match: str | None
    ) -> BatchRequest:
        """A PATCH to put in a ``$batch``, guarded like :meth:`update`."""
        if self.service == "dataverse" and not if_match:
            if_match = "*"
        url = path + query_string(self._key_options())
        return BatchRequest("PATCH", url, headers=_if_match(if_match), body=dict(body))

    def created_from(self, answer: BatchResponse, key_field: str | None = None) -> CreateResult:
        """What a create inside a ``$batch`` returned."""
        body = answer.body_json if isinstance(answer.body_json, dict) else None
        entity_url = answer.headers.get("odata-entityid") or answer.headers.get("location")
        return _created(entity_url, answer.headers.get("etag"), body, key_field)

    def _check_batch_size(self, requests: Sequence[BatchRequest | ChangeSet]) -> None:
        count = sum(1 for _ in batch_codec.iter_requests(requests))
        if self.service == "dataverse" and count > DATAVERSE_MAX_BATCH:
            raise ValueError(
                f"a Dataverse $batch holds at most {DATAVERSE_MAX_BATCH} requests, not {count}"
            )

    def _decode_batch(self, response: httpx.Response, url: str) -> list[BatchResponse]:
        """A multipart answer is decoded whatever its status: Dataverse stops at the first
        failure and makes that operation's status the batch's (api-protocols A7)."""
        content_type = response.headers.get("Content-Type", "")
        if not _is_multipart(response):
            self._checked(response)
            raise self._malformed("POST", url, f"expected multipart/mixed, got {content_type!r}")
        try:
            return batch_codec.decode(content_type, response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._malformed("POST", url, str(exc)) from exc

    def part_error(self, part: BatchResponse, request: BatchRequest) -> ServiceError:
        """The ServiceError for one failed batch operation, as if it had been sent alone."""
        return error_from_status(
            status=part.status,
            reason=part.reason,
            body=part.text,
            headers=part.headers,
            method=request.method.upper(),
            url=self._url(request.url, {}) if not request.url.startswith("$") else request.url,
            service=self.service,
            root_url=self.root_url,
        )

    # --- plumbing -------------------------------------------------------------------------

    def _default_headers(self, user_agent: str) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": user_agent}
        if self.service == "dataverse":
            headers |= {"OData-MaxVersion": "4.0", "OData-Version": "4.0"}
        return headers

    def _read_headers(self) -> dict[str, str]:
        """Dataverse reads send ``If-None-Match: null`` so no cached collection comes back."""
        return {"If-None-Match": "null"} if self.service == "dataverse" else {}

    def _page_size_header(self, page_size: int | None) -> dict[str, str]:
        """Dataverse always gets a (capped) page size so every page asks for the same one;
        F&O only when one was chosen, since it does not document the preference."""
        size = page_size if page_size is not None else self.page_size
        if self.service == "dataverse":
            size = min(size or DATAVERSE_MAX_PAGE_SIZE, DATAVERSE_MAX_PAGE_SIZE)
        if size is None:
            return {}
        if size < 1:
            raise ValueError(f"page_size must be positive, not {size}")
        return {"Prefer": f"odata.maxpagesize={size}"}

    def _key_options(self) -> dict[str, str]:
        """F&O addresses other companies' rows only with ``cross-company=true`` (api-protocols
        B1, inferred); the key's own dataAreaId still pins the one row, so it is always safe."""
        return {"cross-company": "true"} if self.service == "fno" else {}

    def _url(self, path: str, options: Mapping[str, str]) -> str:
        if httpx.URL(path).is_absolute_url:
            raise ValueError(f"paths are relative to the service root {self.root_url}: {path!r}")
        base = self.root_url + path.lstrip("/")
        query = query_string(options)
        if query and "?" in base:
            query = "&" + query[1:]
        return base + query

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        idempotent: bool | None = None,
        final: Callable[[httpx.Response], bool] | None = None,
        check: bool = True,
    ) -> httpx.Response:
        """Send with retries; with ``check``, a 4xx/5xx answer raises ServiceError."""
        info = RequestInfo(
            description=f"{service_label(self.service)} {method} "
            f"{resource_name(url, self.root_url)}",
            method=method,
            url=url_without_query_values(url),
            idempotent=method in IDEMPOTENT_METHODS if idempotent is None else idempotent,
            final=final,
        )

        def attempt() -> httpx.Response:
            return self._http.request(method, url, headers=headers, json=json, content=content)

        response = self.retry.send(attempt, info)
        return self._checked(response) if check else response

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            raise error_from_response(response, service=self.service, root_url=self.root_url)
        if response.is_redirect:
            location = response.headers.get("Location", "?")
            detail = f"redirected ({response.status_code}) to {url_without_query_values(location)}"
            raise self._malformed(response.request.method, str(response.request.url), detail)
        return response

    def _json_object(self, response: httpx.Response) -> dict[str, Any]:
        method, url = response.request.method, str(response.request.url)
        try:
            payload = response.json()
        except ValueError as exc:
            raise self._malformed(method, url, f"body is not JSON ({exc})") from exc
        if not isinstance(payload, dict):
            kind = type(payload).__name__
            raise self._malformed(method, url, f"expected a JSON object, got {kind}")
        return payload

    def _malformed(self, method: str, url: str, detail: str) -> ServiceError:
        return malformed_payload(
            service=self.service, method=method, url=url, root_url=self.root_url, detail=detail
        )


class TrackedPages:
    """Pages of a change-tracking read; ``delta_link`` is set once the last page is read."""

    def __init__(self, client: ODataClient, url: str, headers: Mapping[str, str]) -> None:
        self._client = client
        self._url = url
        self._headers = headers
        self.delta_link: str | None = None

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        client = self._client
        next_url: str | None = self._url
        while next_url is not None:
            current = next_url
            payload = client._json_object(client._send("GET", current, headers=self._headers))
            rows = payload.get("value")
            if not isinstance(rows, list):
                raise client._malformed("GET", current, 'no "value" array in the page')
            next_url = client._next_link(payload.get("@odata.nextLink"), current)
            if next_url is None:
                link = payload.get("@odata.deltaLink")
                if not isinstance(link, str) or not link:
                    raise client._malformed("GET", current, "the last page has no deltaLink")
                self.delta_link = link
            yield rows


def _names(fields: Sequence[str]) -> str:
    for name in fields:
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid property name in $select: {name!r}")
    return ",".join(fields)


def _collection_options(
    select: Sequence[str], filter: str | None, orderby: Sequence[str], cross_company: bool
) -> dict[str, str]:
    options: dict[str, str] = {}
    if cross_company:
        options["cross-company"] = "true"
    if select:
        options["$select"] = _names(select)
    if filter:
        options["$filter"] = filter
    if orderby:
        for term in orderby:
            if not _ORDER.fullmatch(term):
                raise ValueError(f"invalid $orderby term {term!r}; use 'Field' or 'Field desc'")
        options["$orderby"] = ",".join(orderby)
    return options


def _is_multipart(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("Content-Type", "")
    return content_type.lower().startswith("multipart/")


def _if_match(etag: str | None) -> dict[str, str]:
    return {"If-Match": etag} if etag else {}


def _create_result(
    response: httpx.Response, body: dict[str, Any] | None, key_field: str | None
) -> CreateResult:
    entity_url = response.headers.get("OData-EntityId") or response.headers.get("Location")
    return _created(entity_url, response.headers.get("ETag"), body, key_field)


def _created(
    entity_url: str | None, header_etag: str | None, body: dict[str, Any] | None, key: str | None
) -> CreateResult:
    record_id: str | None = None
    if body is not None and key and body.get(key) is not None:
        record_id = str(body[key])
    elif entity_url and (match := _ENTITY_ID.search(entity_url)):
        record_id = match.group(1)
    etag = body.get("@odata.etag") if body else None
    return CreateResult(
        record_id=record_id,
        etag=etag if isinstance(etag, str) else header_etag,
        body=body,
        entity_url=entity_url,
    )
