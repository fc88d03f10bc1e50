"""Creating documents: a missing header and its missing lines in one change set.

A header create with line creates attached (``Action.document``) is written as one F&O
document: the header, then each line posted to the header's lines navigation (``$1/…``),
in one change set, so F&O keeps all of it or none of it. When a line fails, the whole
document rolls back and every action of it fails with F&O's error.

Nothing is created twice. Before anything is sent, the headers are looked up by the rule's
key (one ``$batch`` of GETs): a journal is found by the FS number in its Description, an
order by its number. A header that exists already (made by an earlier, interrupted run of
this plan, or by someone else) is not created again; its lines are then checked and created
one by one, like any line of an existing header. A document whose answer was lost is looked
up the same way before it is sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import Any

from reconciler.apply import compare
from reconciler.apply.pool import pack
from reconciler.apply.records import RecordBatch, apply_records
from reconciler.connectors.base import Connector, Document, DocumentWriter, Link, Row
from reconciler.errors import OutcomeUnknownError, ServiceError
from reconciler.outcomes import Outcome
from reconciler.plan import Action
from reconciler.rules import Rule, RuleSet

__all__ = ["DocumentBatch", "DocumentItem", "cut_documents", "post_documents"]

ROUNDS = 5

Sent = Callable[[list[str]], None]


@dataclass(frozen=True)
class DocumentItem:
    """One header create, its resolved links, and the line creates written with it."""

    header: Action
    links: list[Link]
    lines: tuple[Action, ...]

    @property
    def ids(self) -> list[str]:
        return [self.header.id, *(line.id for line in self.lines)]


@dataclass(frozen=True)
class DocumentBatch:
    """Documents of one header rule that go in one ``$batch``."""

    rules: RuleSet
    rule: Rule
    connector: Connector
    items: Sequence[DocumentItem]
    uncertain: AbstractSet[str]


def cut_documents(items: Sequence[DocumentItem], batch_size: int) -> list[list[DocumentItem]]:
    """Batches of whole documents of at most ``batch_size`` operations (a bigger document
    goes alone: a change set cannot be split)."""
    return pack(items, lambda item, _batch: 1 + len(item.lines), batch_size)


def post_documents(batch: DocumentBatch, sent: Sent) -> list[Outcome]:
    """Outcomes of every header and line of ``batch``; ``sent`` journals ids before posting."""
    if not isinstance(batch.connector, DocumentWriter):
        reason = f"{batch.connector.system} cannot write documents"
        return [Outcome(i, "failed", reason) for item in batch.items for i in item.ids]
    outcomes: list[Outcome] = []
    for _ in range(ROUNDS):
        try:
            decided, ready = _precheck(batch, sent)
        except ServiceError as exc:
            detail = f"re-reading before writing failed: {exc}"
            return outcomes + [
                Outcome(i, "failed", detail) for item in batch.items for i in item.ids
            ]
        outcomes += decided
        if not ready:
            return outcomes
        sent([i for item in ready for i in item.ids])
        posted, lost = _post(batch, ready)
        outcomes += posted
        if not lost:
            return outcomes
        uncertain = {i for item in lost for i in item.ids}
        batch = replace(batch, items=lost, uncertain=uncertain)
    return outcomes + [
        Outcome(i, "failed", f"the answer was lost {ROUNDS} times; re-run apply")
        for item in batch.items
        for i in item.ids
    ]


def _precheck(batch: DocumentBatch, sent: Sent) -> tuple[list[Outcome], list[DocumentItem]]:
    """Headers that exist are not created again: done (or a conflict), and their lines are
    then handled as lines of an existing header."""
    rule = batch.rule
    columns = sorted({c for item in batch.items for c in compare.columns(item.header, rule)})
    matches = [compare.match(item.header, rule) for item in batch.items]
    found = batch.connector.find_many(rule.target.entity, matches, columns)
    outcomes: list[Outcome] = []
    ready: list[DocumentItem] = []
    existing: list[tuple[DocumentItem, str | None]] = []
    for item, rows in zip(batch.items, found, strict=True):
        if not rows:
            ready.append(item)
        elif len(rows) > 1:
            detail = f"{len(rows)} records with this key exist since the plan; left alone"
            outcomes.append(Outcome(item.header.id, "conflict", detail))
            outcomes += _skipped(item, "its header exists more than once")
        elif conflicts := compare.differences(item.header, rule, rows[0]):
            record_id = compare.record_id(rule, rows[0])
            outcomes.append(
                Outcome(
                    item.header.id,
                    "conflict",
                    "a record with this key was created since the plan with other values; "
                    "left alone",
                    record_id=record_id,
                    conflicts=conflicts,
                    etag=_etag(rows[0]),
                )
            )
            outcomes += _skipped(item, "its header conflicts with the plan")
        else:
            record_id = compare.record_id(rule, rows[0])
            outcomes.append(_found(batch, item.header, record_id))
            existing.append((item, record_id))
    outcomes += _lines_of_existing(batch, existing, sent)
    return outcomes, ready


def _found(batch: DocumentBatch, header: Action, record_id: str | None) -> Outcome:
    if header.id in batch.uncertain:
        return Outcome(header.id, "applied", "created (confirmed by re-reading)", record_id)
    return Outcome(header.id, "unchanged", "already in the planned state", record_id)


def _lines_of_existing(
    batch: DocumentBatch, existing: list[tuple[DocumentItem, str | None]], sent: Sent
) -> list[Outcome]:
    """Lines of headers that exist: looked up under that header, created when absent."""
    by_rule: dict[str, list[tuple[Action, list[Link]]]] = {}
    for item, record_id in existing:
        for line in item.lines:
            document = dict(line.document or {}) | {"id": record_id}
            by_rule.setdefault(line.rule, []).append((replace(line, document=document), []))
    outcomes: list[Outcome] = []
    for name, lines in by_rule.items():
        records = RecordBatch(batch.rules.get(name), batch.connector, lines, batch.uncertain)
        outcomes += apply_records(records, sent)
    return outcomes


def _skipped(item: DocumentItem, reason: str) -> list[Outcome]:
    return [Outcome(line.id, "skipped", f"not created: {reason}") for line in item.lines]


def _post(
    batch: DocumentBatch, ready: list[DocumentItem]
) -> tuple[list[Outcome], list[DocumentItem]]:
    """One change set per document; outcomes, and the documents whose answer was lost."""
    documents = [_document(batch, item) for item in ready]
    assert isinstance(batch.connector, DocumentWriter)
    try:
        results = batch.connector.create_documents(documents)
    except OutcomeUnknownError:
        return [], ready
    except ServiceError as exc:
        return [Outcome(i, "failed", str(exc)) for item in ready for i in item.ids], []
    outcomes: list[Outcome] = []
    lost: list[DocumentItem] = []
    for item, result in zip(ready, results, strict=True):
        if isinstance(result, OutcomeUnknownError):
            lost.append(item)
        elif isinstance(result, ServiceError):
            detail = (
                f"{result} (the document was rolled back as a whole: its header and "
                f"{len(item.lines)} line(s) were not written)"
            )
            outcomes += [Outcome(i, "failed", detail) for i in item.ids]
        else:
            header, *lines = result
            outcomes.append(Outcome(item.header.id, "applied", "created", header.record_id))
            outcomes += [
                Outcome(line.id, "applied", "created with its header", created.record_id)
                for line, created in zip(item.lines, lines, strict=True)
            ]
    return outcomes, lost


def _document(batch: DocumentBatch, item: DocumentItem) -> Document:
    lines: list[tuple[str, dict[str, Any], list[Link]]] = []
    navigation = ""
    for line in item.lines:
        rule = batch.rules.get(line.rule)
        assert rule.document is not None
        navigation = rule.document.navigation
        lines.append((rule.target.entity, compare.values(line, rule), []))
    return Document(
        entity=batch.rule.target.entity,
        values=compare.values(item.header, batch.rule),
        links=item.links,
        lines=lines,
        parent=navigation,
    )


def _etag(row: Row) -> str | None:
    etag = row.get("@odata.etag")
    return etag if isinstance(etag, str) else None
