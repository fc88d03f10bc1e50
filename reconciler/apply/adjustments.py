"""Posting ``adjust`` actions the way Field Service moves stock: inventory adjustments.

FS on-hand (``msdyn_productinventories``) is never overwritten. Each adjustment is one
``msdyn_inventoryadjustments`` header per warehouse with one ``msdyn_inventoryadjustmentproducts``
line per product carrying the signed difference, written in one change set; FS then moves
the product inventory (fs-scm-templates §5: absolute in, delta applied).

Work goes in batches of at most ``batch_size`` operations (headers and lines), each batch
one ``$batch`` with one change set per document. Before posting, the batch's rows are
re-read in one ``$batch`` of GETs: still the planned "from" -> post; already the planned
"to" -> nothing to do; anything else -> a conflict, left alone. Each line is named after
its action id (the idempotency key): when an answer is lost, the lines are looked up by
that name before anything is posted again, so no adjustment is ever posted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from reconciler.apply.pool import pack
from reconciler.connectors.base import Connector, Document, DocumentWriter, Link, Row
from reconciler.errors import OutcomeUnknownError, ServiceError
from reconciler.outcomes import Outcome
from reconciler.plan import Action
from reconciler.rules import Rule

__all__ = ["AdjustmentBatch", "adjustment_batches", "post_adjustments"]

HEADER = "msdyn_inventoryadjustments"
LINE = "msdyn_inventoryadjustmentproducts"
LINE_ID = "msdyn_inventoryadjustmentproductid"
HEADER_LINK = "msdyn_warehouse"
LINE_LINKS = ("msdyn_product", "msdyn_unit")
PARENT = "msdyn_inventoryadjustment"
ROUNDS = 5

LinkResolver = Callable[[Action], list[Link] | str]
Sent = Callable[[list[str]], None]
Item = tuple[Action, list[Link]]


@dataclass(frozen=True)
class AdjustmentBatch:
    """Adjustments of one rule that go in one ``$batch``: at most ``batch_size`` operations."""

    rule: Rule
    connector: Connector
    items: Sequence[Item]
    uncertain: AbstractSet[str]
    label: str


def adjustment_batches(
    actions: Sequence[Action],
    resolve: LinkResolver,
    batch_size: int,
) -> tuple[list[Outcome], list[list[Item]]]:
    """Actions with resolved links, grouped by warehouse and cut into batches; outcomes for
    actions that cannot be posted (a link did not resolve, or the rule lacks one)."""
    outcomes: list[Outcome] = []
    by_warehouse: dict[str, list[Item]] = {}
    for action in actions:
        links = resolve(action)
        if isinstance(links, str):
            outcomes.append(Outcome(action.id, "skipped", links))
            continue
        navigations = {link.navigation: link for link in links}
        missing = [nav for nav in (HEADER_LINK, *LINE_LINKS) if nav not in navigations]
        if missing:
            detail = (
                f"an FS inventory adjustment needs links {', '.join(missing)}; add them to the rule"
            )
            outcomes.append(Outcome(action.id, "failed", detail))
            continue
        by_warehouse.setdefault(navigations[HEADER_LINK].record_id, []).append((action, links))
    return outcomes, _cut(by_warehouse, max(2, batch_size))


def _cut(by_warehouse: dict[str, list[Item]], batch_size: int) -> list[list[Item]]:
    """Greedy: fill each batch with lines, counting one header per warehouse in it."""
    ordered = [item for warehouse in sorted(by_warehouse) for item in by_warehouse[warehouse]]

    def cost(item: Item, batch: list[Item]) -> int:  # items come warehouse by warehouse
        return 1 if batch and _warehouse(batch[-1]) == _warehouse(item) else 2

    return pack(ordered, cost, batch_size)


def _warehouse(item: Item) -> str:
    return next(link.record_id for link in item[1] if link.navigation == HEADER_LINK)


def post_adjustments(batch: AdjustmentBatch, sent: Sent) -> list[Outcome]:
    """Outcomes of every adjustment of ``batch``; ``sent`` journals ids before posting."""
    if not isinstance(batch.connector, DocumentWriter):
        reason = f"{batch.connector.system} cannot post adjustments"
        return [Outcome(a.id, "failed", reason) for a, _ in batch.items]
    outcomes: list[Outcome] = []
    for _ in range(ROUNDS):
        try:
            decided, ready = _precheck(batch)
        except ServiceError as exc:
            detail = f"re-reading before posting failed: {exc}"
            return outcomes + [Outcome(a.id, "failed", detail) for a, _ in batch.items]
        outcomes += decided
        if not ready:
            return outcomes
        sent([action.id for action, _ in ready])
        posted, lost = _post(batch, ready)
        outcomes += posted
        if not lost:
            return outcomes
        batch = AdjustmentBatch(
            batch.rule, batch.connector, lost, {a.id for a, _ in lost}, batch.label
        )
    return outcomes + [
        Outcome(a.id, "failed", f"the answer was lost {ROUNDS} times; re-run apply")
        for a, _ in batch.items
    ]


def _precheck(batch: AdjustmentBatch) -> tuple[list[Outcome], list[Item]]:
    """Posted before (found by idempotency key)? Else still at the planned quantity?"""
    outcomes: list[Outcome] = []
    uncertain = [(a, links) for a, links in batch.items if a.id in batch.uncertain]
    lines = batch.connector.find_many(
        LINE, [{"msdyn_name": action.id} for action, _ in uncertain], [LINE_ID]
    )
    posted = {}
    for (action, _), found in zip(uncertain, lines, strict=True):
        if found:
            posted[action.id] = str(found[0].get(LINE_ID) or "") or None
    outcomes += [
        Outcome(action_id, "applied", "adjusted (confirmed by its line)", record_id=record_id)
        for action_id, record_id in posted.items()
    ]
    remaining = [(a, links) for a, links in batch.items if a.id not in posted]
    rows = _current_rows(batch, remaining)
    ready: list[Item] = []
    for (action, links), found in zip(remaining, rows, strict=True):
        outcome = _recheck(action, batch.rule, found)
        if outcome is None:
            ready.append((action, links))
        else:
            outcomes.append(outcome)
    return outcomes, ready


def _current_rows(batch: AdjustmentBatch, items: Sequence[Item]) -> list[list[Row]]:
    rule = batch.rule
    field = next(iter(items[0][0].changes)) if items else ""
    matches = []
    for _, links in items:
        by_nav = {link.navigation: link.record_id for link in links}
        matches.append(
            {
                f"_{HEADER_LINK}_value": by_nav[HEADER_LINK],
                f"_{LINE_LINKS[0]}_value": by_nav[LINE_LINKS[0]],
            }
        )
    return batch.connector.find_many(rule.target.entity, matches, [rule.target.id or "", field])


def _recheck(action: Action, rule: Rule, rows: list[Row]) -> Outcome | None:
    """None when the row still holds the planned 'from'; else the outcome to report."""
    field, change = next(iter(action.changes.items()))
    tolerance = next((m.tolerance for m in rule.fields if m.target == field), 0.0)
    now = float(rows[0].get(field) or 0.0) if rows else None
    if _close(now, change["from"], tolerance):
        return None
    if _close(now, change["to"], tolerance):
        return Outcome(action.id, "unchanged", "already at the planned quantity")
    etag = rows[0].get("@odata.etag") if rows else None
    return Outcome(
        action.id,
        "conflict",
        "the on-hand quantity changed since the plan; left alone",
        conflicts={field: {"before": change["from"], "planned": change["to"], "now": now}},
        etag=etag if isinstance(etag, str) else None,
    )


def _post(batch: AdjustmentBatch, ready: list[Item]) -> tuple[list[Outcome], list[Item]]:
    """One document per warehouse; returns outcomes and the items whose answer was lost."""
    groups: dict[str, list[Item]] = {}
    for action, links in ready:
        warehouse = next(link for link in links if link.navigation == HEADER_LINK)
        groups.setdefault(warehouse.record_id, []).append((action, links))
    documents = [_document(items, batch.label) for items in groups.values()]
    assert isinstance(batch.connector, DocumentWriter)
    try:
        results = batch.connector.create_documents(documents)
    except OutcomeUnknownError:
        return [], ready
    except ServiceError as exc:
        return [Outcome(a.id, "failed", str(exc)) for a, _ in ready], []
    outcomes: list[Outcome] = []
    lost: list[Item] = []
    for items, result in zip(groups.values(), results, strict=True):
        if isinstance(result, OutcomeUnknownError):
            lost += items
        elif isinstance(result, ServiceError):
            outcomes += [Outcome(a.id, "failed", str(result)) for a, _ in items]
        else:
            outcomes += [
                Outcome(a.id, "applied", "adjusted", record_id=line.record_id)
                for (a, _), line in zip(items, result[1:], strict=False)
            ]
    return outcomes, lost


def _document(items: list[Item], label: str) -> Document:
    warehouse = next(link for link in items[0][1] if link.navigation == HEADER_LINK)
    lines = []
    for action, links in items:
        change = next(iter(action.changes.values()))
        line_links = [link for link in links if link.navigation in LINE_LINKS]
        lines.append(
            (LINE, {"msdyn_quantity": change["delta"], "msdyn_name": action.id}, line_links)
        )
    return Document(
        entity=HEADER,
        values={"msdyn_name": label[:100], "msdyn_description": f"{label}: {len(lines)} line(s)"},
        links=[warehouse],
        lines=lines,
        parent=PARENT,
    )


def _close(now: float | None, expected: Any, tolerance: float) -> bool:
    if now is None or expected is None:
        return now is None and expected is None
    return abs(now - float(expected)) <= tolerance + 1e-9
