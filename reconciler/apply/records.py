"""Creates, updates and deactivations of one rule, batched.

For each batch of actions: re-read the target rows in one ``$batch`` of GETs, decide per
action (write, already done, or conflict), mark the writes ``sent`` in the journal, send
them in one ``$batch`` with continue-on-error, and sort out the answers. An update whose
row moved on (412) is re-read; a write whose answer was lost is looked up again before it
is sent again, so nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from reconciler.apply import compare
from reconciler.connectors.base import Connector, Link, Row, Write, Written
from reconciler.errors import OutcomeUnknownError, PreconditionFailedError, ServiceError
from reconciler.outcomes import Outcome
from reconciler.plan import Action
from reconciler.rules import Rule

__all__ = ["RecordBatch", "apply_records"]

ROUNDS = 5
"""How often a write whose answer was lost is looked up and, if absent, sent again."""

Sent = Callable[[list[str]], None]


@dataclass(frozen=True)
class RecordBatch:
    """One batch of actions of one rule and kind, with their resolved links."""

    rule: Rule
    connector: Connector
    actions: Sequence[tuple[Action, list[Link]]]
    uncertain: AbstractSet[str]


@dataclass(frozen=True)
class _Planned:
    action: Action
    links: list[Link]
    etag: str | None  # the ETag to send (the planned one, or the current one when safe)


def apply_records(batch: RecordBatch, sent: Sent) -> list[Outcome]:
    """Outcomes of every action of ``batch``; ``sent`` journals ids before they are written."""
    outcomes: list[Outcome] = []
    todo = list(batch.actions)
    for _ in range(ROUNDS):
        decided, writes = _precheck(batch, todo)
        outcomes += decided
        if not writes:
            return outcomes
        sent([planned.action.id for planned in writes])
        finished, lost = _write(batch, writes)
        outcomes += finished
        todo = [(planned.action, planned.links) for planned in lost]
        batch = RecordBatch(batch.rule, batch.connector, todo, {a.id for a, _ in todo})
        if not todo:
            return outcomes
    return outcomes + [
        Outcome(
            action.id,
            "failed",
            f"the answer was lost {ROUNDS} times and the record is still not there; "
            "re-run apply to try again",
        )
        for action, _ in todo
    ]


# ---------------------------------------------------------------- reading before writing


def _precheck(
    batch: RecordBatch, todo: Sequence[tuple[Action, list[Link]]]
) -> tuple[list[Outcome], list[_Planned]]:
    if not todo:
        return [], []
    creates = [(a, links) for a, links in todo if a.kind == "create"]
    updates = [(a, links) for a, links in todo if a.kind != "create"]
    outcomes: list[Outcome] = []
    writes: list[_Planned] = []
    try:
        for (action, links), rows in zip(creates, _find(batch, creates), strict=True):
            _decide_create(batch, action, links, rows, outcomes, writes)
        for (action, links), row in zip(updates, _fetch(batch, updates), strict=True):
            _decide_update(batch, action, links, row, outcomes, writes)
    except ServiceError as exc:
        return [
            Outcome(a.id, "failed", f"re-reading before writing failed: {exc}") for a, _ in todo
        ], []
    return outcomes, writes


def _find(batch: RecordBatch, creates: Sequence[tuple[Action, list[Link]]]) -> list[list[Row]]:
    if not creates:
        return []
    rule = batch.rule
    columns = sorted({c for action, _ in creates for c in compare.columns(action, rule)})
    matches = [compare.match(action, rule) for action, _ in creates]
    return batch.connector.find_many(rule.target.entity, matches, columns)


def _fetch(batch: RecordBatch, updates: Sequence[tuple[Action, list[Link]]]) -> list[Row | None]:
    if not updates:
        return []
    columns = sorted({c for action, _ in updates for c in compare.plain(action.changes)})
    ids = [action.target_id or "" for action, _ in updates]
    return batch.connector.fetch_many(batch.rule.target.entity, ids, columns)


def _decide_create(
    batch: RecordBatch,
    action: Action,
    links: list[Link],
    rows: list[Row],
    outcomes: list[Outcome],
    writes: list[_Planned],
) -> None:
    """A create whose key exists: done if it matches the plan, else a conflict."""
    if not rows:
        writes.append(_Planned(action, links, None))
        return
    rule = batch.rule
    record_id = compare.record_id(rule, rows[0])
    if len(rows) > 1:
        detail = f"{len(rows)} records with this key exist since the plan; left alone"
        outcomes.append(Outcome(action.id, "conflict", detail))
        return
    conflicts = compare.differences(action, rule, rows[0])
    if not conflicts:
        outcomes.append(_done(batch, action, "created", record_id))
        return
    outcomes.append(
        Outcome(
            action.id,
            "conflict",
            "a record with this key was created since the plan with other values; left alone",
            record_id=record_id,
            conflicts=conflicts,
            etag=_etag(rows[0]),
        )
    )


def _decide_update(
    batch: RecordBatch,
    action: Action,
    links: list[Link],
    row: Row | None,
    outcomes: list[Outcome],
    writes: list[_Planned],
) -> None:
    record_id = action.target_id
    if row is None:
        detail = "the record was deleted since the plan; left alone"
        outcomes.append(Outcome(action.id, "conflict", detail, record_id=record_id))
        return
    current = _etag(row)
    if action.etag and current == action.etag:
        writes.append(_Planned(action, links, action.etag))
        return
    if not compare.differences(action, batch.rule, row):
        outcomes.append(_done(batch, action, "updated", record_id))
    elif compare.same_as_before(action, batch.rule, row):
        writes.append(_Planned(action, links, current))  # other fields moved: ours did not
    else:
        outcomes.append(_conflict(action, batch.rule, row))


def _conflict(action: Action, rule: Rule, row: Row) -> Outcome:
    return Outcome(
        action.id,
        "conflict",
        "the record changed since the plan; left alone",
        record_id=action.target_id,
        conflicts=compare.differences(action, rule, row),
        etag=_etag(row),
    )


def _done(batch: RecordBatch, action: Action, verb: str, record_id: str | None) -> Outcome:
    if action.id in batch.uncertain:
        return Outcome(action.id, "applied", f"{verb} (confirmed by re-reading)", record_id)
    return Outcome(action.id, "unchanged", "already in the planned state", record_id)


def _etag(row: Row) -> str | None:
    etag = row.get("@odata.etag")
    return etag if isinstance(etag, str) else None


# ---------------------------------------------------------------- writing


def _write(batch: RecordBatch, writes: list[_Planned]) -> tuple[list[Outcome], list[_Planned]]:
    """Send the writes; returns final outcomes and the writes whose answer was lost."""
    entity = batch.rule.target.entity
    requests = [
        Write(
            entity=entity,
            values=compare.values(p.action, batch.rule),
            links=p.links,
            record_id=None if p.action.kind == "create" else p.action.target_id,
            etag=p.etag,
        )
        for p in writes
    ]
    try:
        answers = batch.connector.write_many(requests)
    except OutcomeUnknownError:
        return [], writes
    except ServiceError as exc:
        return [Outcome(p.action.id, "failed", str(exc)) for p in writes], []
    outcomes: list[Outcome] = []
    lost: list[_Planned] = []
    moved: list[_Planned] = []
    for planned, answer in zip(writes, answers, strict=True):
        if isinstance(answer.error, OutcomeUnknownError):
            lost.append(planned)
        elif isinstance(answer.error, PreconditionFailedError):
            moved.append(planned)
        else:
            outcomes.append(_answered(planned, answer))
    return outcomes + _reread(batch, moved), lost


def _answered(planned: _Planned, answer: Written) -> Outcome:
    action = planned.action
    if answer.error is None:
        if action.kind == "create":
            record_id = answer.created.record_id if answer.created else None
            return Outcome(action.id, "applied", "created", record_id=record_id)
        return Outcome(action.id, "applied", f"{action.kind}d", record_id=action.target_id)
    if answer.error.status == 404 and action.kind != "create":
        detail = "the record was deleted since the plan; left alone"
        return Outcome(action.id, "conflict", detail, record_id=action.target_id)
    return Outcome(action.id, "failed", str(answer.error), record_id=action.target_id)


def _reread(batch: RecordBatch, moved: list[_Planned]) -> list[Outcome]:
    """412: the row changed between our re-read and our write; read it once more."""
    if not moved:
        return []
    pairs = [(p.action, p.links) for p in moved]
    try:
        rows = _fetch(batch, pairs)
    except ServiceError as exc:
        return [Outcome(p.action.id, "conflict", f"changed while applying ({exc})") for p in moved]
    outcomes = []
    for planned, row in zip(moved, rows, strict=True):
        action = planned.action
        if row is None:
            detail = "the record was deleted since the plan; left alone"
            outcomes.append(Outcome(action.id, "conflict", detail, record_id=action.target_id))
        elif not compare.differences(action, batch.rule, row):
            detail = "already in the planned state"
            outcomes.append(Outcome(action.id, "unchanged", detail, record_id=action.target_id))
        else:
            outcomes.append(_conflict(action, batch.rule, row))
    return outcomes
