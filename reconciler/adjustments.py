"""Posting ``adjust`` actions the way Field Service moves stock: inventory adjustments.

FS on-hand (``msdyn_productinventories``) is never overwritten. Each adjustment is one
``msdyn_inventoryadjustments`` header per warehouse with one ``msdyn_inventoryadjustmentproducts``
line per product carrying the signed difference, written in one change set; FS then moves
the product inventory (fs-scm-templates §5: absolute in, delta applied).

Before posting, each row's current quantity is re-read: still the planned "from" -> post;
already the planned "to" -> nothing to do (a re-run); anything else -> a conflict, left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from reconciler.connectors.base import Connector, Document, DocumentWriter, Link
from reconciler.errors import ServiceError
from reconciler.outcomes import Outcome
from reconciler.plan import Action
from reconciler.rules import Rule

__all__ = ["post_fs_inventory_adjustments"]

HEADER = "msdyn_inventoryadjustments"
LINE = "msdyn_inventoryadjustmentproducts"
HEADER_LINK = "msdyn_warehouse"
LINE_LINKS = ("msdyn_product", "msdyn_unit")
PARENT = "msdyn_inventoryadjustment"


LinkResolver = Callable[[Action], list[Link] | str]


def post_fs_inventory_adjustments(
    actions: Sequence[Action],
    rule: Rule,
    connector: Connector,
    resolve: LinkResolver,
    label: str,
    uncertain: AbstractSet[str] = frozenset(),
) -> list[Outcome]:
    """Post the actions (all of one rule) as one adjustment document per warehouse.

    ``uncertain`` actions may have been posted by a run that died before recording it:
    their line (named after the action id, the idempotency key) is looked up first.
    """
    if not isinstance(connector, DocumentWriter):
        return [
            Outcome(a.id, "failed", f"{connector.system} cannot post adjustments") for a in actions
        ]
    outcomes: list[Outcome] = []
    for warehouse, group in _by_warehouse(actions, resolve, outcomes).items():
        ready: list[tuple[Action, list[Link]]] = []
        for action, links in group:
            outcome = _posted_before(action, connector) if action.id in uncertain else None
            outcome = outcome or _recheck(action, rule, connector, links)
            if outcome is None:
                ready.append((action, links))
            else:
                outcomes.append(outcome)
        if ready:
            outcomes.extend(_post(connector, warehouse, ready, rule, label))
    return outcomes


def _by_warehouse(
    actions: Sequence[Action], resolve: LinkResolver, outcomes: list[Outcome]
) -> dict[Link, list[tuple[Action, list[Link]]]]:
    groups: dict[Link, list[tuple[Action, list[Link]]]] = {}
    for action in actions:
        links = resolve(action)
        if isinstance(links, str):
            outcomes.append(Outcome(action.id, "skipped", links))
            continue
        by_nav = {link.navigation: link for link in links}
        missing = [nav for nav in (HEADER_LINK, *LINE_LINKS) if nav not in by_nav]
        if missing:
            outcomes.append(
                Outcome(
                    action.id,
                    "failed",
                    f"an FS inventory adjustment needs links {', '.join(missing)}; "
                    "add them to the rule",
                )
            )
            continue
        groups.setdefault(by_nav[HEADER_LINK], []).append((action, links))
    return groups


def _posted_before(action: Action, connector: Connector) -> Outcome | None:
    """The line an earlier run posted for this action, found by its idempotency key."""
    lines = connector.find(LINE, {"msdyn_name": action.id}, [f"{LINE[:-1]}id"])
    if not lines:
        return None
    record_id = str(lines[0].get(f"{LINE[:-1]}id") or "") or None
    return Outcome(action.id, "applied", "adjusted by an earlier run", record_id=record_id)


def _recheck(action: Action, rule: Rule, connector: Connector, links: list[Link]) -> Outcome | None:
    """None when the row still holds the planned 'from'; else the outcome to report."""
    field, change = next(iter(action.changes.items()))
    tolerance = next((m.tolerance for m in rule.fields if m.target == field), 0.0)
    by_nav = {link.navigation: link.record_id for link in links}
    rows = connector.find(
        action.entity,
        {
            f"_{HEADER_LINK}_value": by_nav[HEADER_LINK],
            f"_{LINE_LINKS[0]}_value": by_nav[LINE_LINKS[0]],
        },
        [rule.target.id or "", field],
    )
    now = float(rows[0].get(field) or 0.0) if rows else None
    planned_from = change["from"]
    if _close(now, planned_from, tolerance):
        return None
    if _close(now, change["to"], tolerance):
        return Outcome(action.id, "unchanged", "already at the planned quantity")
    return Outcome(
        action.id,
        "conflict",
        "the on-hand quantity changed since the plan; left alone",
        conflicts={field: {"before": planned_from, "planned": change["to"], "now": now}},
    )


def _post(
    connector: Connector,
    warehouse: Link,
    ready: list[tuple[Action, list[Link]]],
    rule: Rule,
    label: str,
) -> list[Outcome]:
    lines = []
    for action, links in ready:
        change = next(iter(action.changes.values()))
        line_links = [link for link in links if link.navigation in LINE_LINKS]
        lines.append(
            (LINE, {"msdyn_quantity": change["delta"], "msdyn_name": action.id}, line_links)
        )
    document = Document(
        entity=HEADER,
        values={"msdyn_name": label[:100], "msdyn_description": f"{label}: {len(lines)} line(s)"},
        links=[warehouse],
        lines=lines,
        parent=PARENT,
    )
    assert isinstance(connector, DocumentWriter)
    try:
        created = connector.create_document(document)
    except ServiceError as exc:
        return [Outcome(action.id, "failed", str(exc)) for action, _ in ready]
    return [
        Outcome(action.id, "applied", "adjusted", record_id=line.record_id)
        for (action, _), line in zip(ready, created[1:], strict=False)
    ]


def _close(now: float | None, expected: Any, tolerance: float) -> bool:
    if now is None or expected is None:
        return now is None and expected is None
    return abs(now - float(expected)) <= tolerance + 1e-9
