"""Executes a parsed ``$batch`` through a service's own handler.

Semantics shared by both services (OData v4 and A7/B5): items run in order; a change set is
atomic (any failing operation rolls back the ones before it, and the set is answered by that
one failure); ``$n`` Content-ID references resolve within their change set; processing stops
after the first failure unless ``Prefer: odata.continue-on-error``. What differs is the outer
status after a failure: Dataverse answers with the failure's status, F&O with 200.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from urllib.parse import urlsplit

from reconciler.sandbox.batch import (
    BatchItem,
    BatchOperation,
    BatchSyntaxError,
    ChangeSet,
    PartResult,
    ResultItem,
    compose_batch,
    parse_batch,
)
from reconciler.sandbox.keys import decode_path
from reconciler.sandbox.messages import ApiRequest, ApiResponse, Headers
from reconciler.sandbox.state import Transaction


@dataclass(frozen=True)
class BatchPolicy:
    failure_sets_outer_status: bool
    max_operations: int | None


@dataclass(frozen=True)
class BatchContext:
    """What the runner needs from a service. ``service_marker`` is the service-root path as a
    client that knows only the real host writes it (``/data/``, ``/api/data/v9.2/``)."""

    policy: BatchPolicy
    service_marker: str
    execute: Callable[[ApiRequest], ApiResponse]
    error: Callable[[int, str], ApiResponse]
    atomic: Callable[[], AbstractContextManager[Transaction]]
    count_parts: Callable[[int], None]


class _ReferenceError(Exception):
    pass


def _operation_count(items: list[BatchItem]) -> int:
    return sum(len(item.operations) if isinstance(item, ChangeSet) else 1 for item in items)


def _failed(response: ApiResponse) -> bool:
    return response.status >= 400


class BatchRunner:
    def __init__(self, context: BatchContext) -> None:
        self._context = context

    def run(self, request: ApiRequest) -> ApiResponse:
        """Answer a ``POST $batch``."""
        try:
            items = parse_batch(request.body, request.headers.get("Content-Type"))
        except BatchSyntaxError as exc:
            return self._context.error(400, str(exc))
        count = _operation_count(items)
        self._context.count_parts(count)
        limit = self._context.policy.max_operations
        if limit is not None and count > limit:
            return self._context.error(
                400, f"The number of requests in a batch exceeds the limit of {limit}."
            )
        continue_on_error = "odata.continue-on-error" in (request.headers.get("Prefer") or "")
        results, outer = self._run_items(request, items, continue_on_error)
        content_type, body = compose_batch(results)
        headers = [("Content-Type", content_type), ("OData-Version", "4.0")]
        if continue_on_error:
            headers.append(("Preference-Applied", "odata.continue-on-error"))
        return ApiResponse(outer, headers, body)

    def _run_items(
        self, request: ApiRequest, items: list[BatchItem], continue_on_error: bool
    ) -> tuple[list[ResultItem], int]:
        results: list[ResultItem] = []
        for item in items:
            if isinstance(item, ChangeSet):
                result: ResultItem = self._run_changeset(request, item)
            else:
                result = self._run_single(request, item)
            results.append(result)
            failed = isinstance(result, PartResult) and _failed(result.response)
            if isinstance(result, PartResult) and failed and not continue_on_error:
                return results, self._outer_status(result.response)
        return results, 200

    def _outer_status(self, failure: ApiResponse) -> int:
        return failure.status if self._context.policy.failure_sets_outer_status else 200

    def _run_single(self, request: ApiRequest, operation: BatchOperation) -> PartResult:
        if operation.url.rstrip("/").endswith("$batch"):
            return PartResult(self._context.error(400, "Nested batch requests are not allowed."))
        return PartResult(self._execute(request, operation, {}), operation.content_id)

    def _run_changeset(self, request: ApiRequest, changeset: ChangeSet) -> ResultItem:
        references: dict[str, str] = {}
        results: list[PartResult] = []
        with self._context.atomic() as transaction:
            for operation in changeset.operations:
                response = self._changeset_operation(request, operation, references)
                if _failed(response):
                    transaction.rollback()
                    return PartResult(response, operation.content_id)
                results.append(PartResult(response, operation.content_id))
                self._remember(operation, response, references)
        return results

    def _changeset_operation(
        self, request: ApiRequest, operation: BatchOperation, references: dict[str, str]
    ) -> ApiResponse:
        if operation.method == "GET":
            return self._context.error(400, "GET requests are not allowed inside a change set.")
        return self._execute(request, operation, references)

    @staticmethod
    def _remember(
        operation: BatchOperation, response: ApiResponse, references: dict[str, str]
    ) -> None:
        location = response.header("OData-EntityId") or response.header("Location")
        if operation.content_id is not None and location:
            references["$" + operation.content_id] = location

    def _execute(
        self, request: ApiRequest, operation: BatchOperation, references: dict[str, str]
    ) -> ApiResponse:
        try:
            url = _resolve_reference(operation.url, references)
            body = _resolve_body(operation.body, references)
        except _ReferenceError as exc:
            return self._context.error(400, str(exc))
        path, query = _relative_target(url, (request.root, self._context.service_marker))
        inner = ApiRequest(
            method=operation.method,
            path=path,
            query=query,
            headers=Headers(operation.headers),
            body=body,
            base_url=request.base_url,
            root=request.root,
        )
        return self._context.execute(inner)


def _missing(reference: str) -> _ReferenceError:
    return _ReferenceError(
        f"Content-ID Reference: '{reference}' does not exist in the batch context."
    )


def _resolve_reference(url: str, references: dict[str, str]) -> str:
    if not url.startswith("$"):
        return url
    name, slash, rest = url.partition("/")
    if name not in references:
        raise _missing(name)
    return references[name] + slash + rest


def _resolve_body(body: bytes, references: dict[str, str]) -> bytes:
    """Replace ``"$n"`` values of ``@odata.bind``/``@odata.id`` properties."""
    if b'"$' not in body:
        return body
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return body
    if not isinstance(payload, dict):
        return body
    for key, value in payload.items():
        linked = key.endswith("@odata.bind") or key == "@odata.id"
        if linked and isinstance(value, str) and value.startswith("$"):
            if value not in references:
                raise _missing(value)
            payload[key] = references[value]
    return json.dumps(payload).encode("utf-8")


def _relative_target(url: str, markers: tuple[str, ...]) -> tuple[str, str]:
    """Path (decoded, relative to the service root) and raw query of an operation URL, which
    may be absolute, host-relative (``/fno/data/X``, ``/api/data/v9.2/x``) or relative."""
    parts = urlsplit(url)
    path = parts.path
    for candidate in markers:
        at = path.find(candidate)
        if at >= 0:
            path = path[at + len(candidate) :]
            break
    return decode_path(path.lstrip("/")), parts.query
