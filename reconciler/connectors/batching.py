"""Reading the answers of a ``$batch`` the way single requests would have been read.

Both connectors send many reads or independent writes in one ``$batch`` with
``Prefer: odata.continue-on-error``; each answer then carries its own status. These
helpers turn answers back into rows, ``None`` for a 404, or the ServiceError the same
request would have raised alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reconciler.connectors.base import Created, Row, Written
from reconciler.errors import OutcomeUnknownError, ServiceError
from reconciler.odata.batch import BatchRequest, BatchResponse, ChangeSet
from reconciler.odata.client import ODataClient
from reconciler.odata.errors import service_label

__all__ = [
    "collection",
    "entity_or_none",
    "fetch_entities",
    "find_collections",
    "send_change_sets",
    "send_reads",
    "send_writes",
    "written",
]


def send_reads(client: ODataClient, operations: Sequence[BatchRequest]) -> list[BatchResponse]:
    """GETs in one ``$batch``; an answer missing from the batch is an error, not a guess."""
    if not operations:
        return []
    answers = client.batch(list(operations), continue_on_error=True)
    if len(answers) != len(operations):
        raise ServiceError(
            f"{client.service} $batch answered {len(answers)} of {len(operations)} reads"
        )
    return answers


def send_writes(
    client: ODataClient, operations: Sequence[BatchRequest], *, one_change_set_each: bool
) -> list[BatchResponse | None]:
    """Independent writes in one ``$batch``; ``None`` for a write the batch did not answer
    (its outcome is unknown). ``one_change_set_each`` wraps each write in its own change
    set, as F&O expects writes to come."""
    if not operations:
        return []
    items: list[BatchRequest | ChangeSet] = (
        [ChangeSet([operation]) for operation in operations]
        if one_change_set_each
        else list(operations)
    )
    answers: list[BatchResponse | None] = list(client.batch(items, continue_on_error=True))
    return answers[: len(operations)] + [None] * (len(operations) - len(answers))


def send_change_sets(
    client: ODataClient, change_sets: Sequence[ChangeSet]
) -> list[list[BatchResponse] | ServiceError]:
    """Change sets in one ``$batch`` with continue-on-error: each one's answers, or the
    error that stopped it. A failed change set rolled back as a whole and is answered by its
    one failing part; one the batch did not answer may have been applied."""
    answers = client.batch(list(change_sets), continue_on_error=True) if change_sets else []
    results: list[list[BatchResponse] | ServiceError] = []
    position = 0
    for change_set in change_sets:
        first = answers[position : position + 1]
        failed = bool(first) and first[0].status >= 400
        parts = first if failed else answers[position : position + len(change_set.requests)]
        results.append(_change_set_answers(client, change_set.requests, parts))
        position += len(parts)
    return results


def _change_set_answers(
    client: ODataClient, requests: Sequence[BatchRequest], answers: Sequence[BatchResponse]
) -> list[BatchResponse] | ServiceError:
    service, subject = service_label(client.service), requests[0].url
    if not answers:
        return OutcomeUnknownError(
            f"{service} $batch gave no answer for the change set of {subject}; "
            "it may have been applied",
            method="POST",
        )
    failed = next((a for a in answers if a.status >= 400), None)
    if failed is not None:
        request = next((r for r in requests if r.content_id == failed.content_id), requests[0])
        return client.part_error(failed, request)
    if len(answers) != len(requests):
        return ServiceError(
            f"{service} $batch answered {len(answers)} parts for the {len(requests)} requests "
            f"of a {subject} change set"
        )
    return list(answers)


def find_collections(
    client: ODataClient,
    entity: str,
    conditions: Sequence[str],
    columns: Sequence[str],
    rest: Callable[[int], list[Row]],
) -> list[list[Row]]:
    """One filtered GET per condition in one ``$batch``; the first page of each answer, or,
    where there is more than a page, ``rest(index)`` (the connector's paged ``find``)."""
    operations = [
        client.get_operation(entity, select=columns, filter=condition) for condition in conditions
    ]
    answers = send_reads(client, operations)
    return [
        rest(index) if has_more(answer) else collection(client, answer, operation)
        for index, (operation, answer) in enumerate(zip(operations, answers, strict=True))
    ]


def fetch_entities(
    client: ODataClient, paths: Sequence[str], columns: Sequence[str]
) -> list[Row | None]:
    """One GET per entity path (``set(key)``) in one ``$batch``; None where it is gone."""
    operations = [client.get_operation(path, select=columns) for path in paths]
    answers = send_reads(client, operations)
    return [
        entity_or_none(client, answer, operation)
        for operation, answer in zip(operations, answers, strict=True)
    ]


def collection(client: ODataClient, answer: BatchResponse, request: BatchRequest) -> list[Row]:
    """The rows of a collection GET's answer (a first page only: callers ask for few)."""
    if answer.status >= 400:
        raise client.part_error(answer, request)
    body = answer.body_json if isinstance(answer.body_json, dict) else {}
    rows = body.get("value")
    if not isinstance(rows, list):
        raise ServiceError(f'{client.service} $batch GET {request.url}: no "value" array')
    return rows


def has_more(answer: BatchResponse) -> bool:
    body = answer.body_json
    return isinstance(body, dict) and bool(body.get("@odata.nextLink"))


def entity_or_none(client: ODataClient, answer: BatchResponse, request: BatchRequest) -> Row | None:
    """One entity, or None when the service answered 404."""
    if answer.status == 404:
        return None
    if answer.status >= 400:
        raise client.part_error(answer, request)
    body = answer.body_json
    if not isinstance(body, dict):
        raise ServiceError(f"{client.service} $batch GET {request.url}: body is not an object")
    return body


def written(
    client: ODataClient,
    answer: BatchResponse | None,
    request: BatchRequest,
    created: Created | None = None,
) -> Written:
    """The Written for one write's answer: ``created`` on success, else its error."""
    if answer is None:
        return Written(
            error=OutcomeUnknownError(
                f"{client.service} $batch gave no answer for {request.method} {request.url}; "
                "it may have been applied",
                method=request.method,
            )
        )
    if answer.status >= 400:
        return Written(error=client.part_error(answer, request))
    return Written(created=created)


def values_with_key(values: dict[str, Any], answer: BatchResponse) -> dict[str, Any]:
    """Written values merged with what the service echoed back (F&O fills number sequences)."""
    body = answer.body_json if isinstance(answer.body_json, dict) else {}
    return {**values, **body}
