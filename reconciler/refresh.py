"""``apply --refresh``: re-plan conflicted rows from what apply read just now.

A conflict means a row changed between plan and apply, so the planned write was left
alone. Apply re-read the row (its current values and ETag are in the outcome); from those
this module makes the plan that would bring the row to the planned state *now*: an update
guarded by the fresh ETag, or an adjustment by the fresh difference. The CLI shows it and
applies it only after confirmation. Rows that were deleted, or whose key is taken by
several records, cannot be re-planned this way and stay reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from reconciler.outcomes import Outcome
from reconciler.plan import Action, Kind, Plan

__all__ = ["refreshed_plan"]


def refreshed_plan(plan: Plan, outcomes: Sequence[Outcome]) -> Plan:
    """The plan for the conflicts among ``outcomes`` that can be re-planned (maybe empty)."""
    by_id = {action.id: action for action in plan.actions}
    records = {o.action_id: o.record_id for o in outcomes if o.record_id}
    actions = []
    for outcome in outcomes:
        if outcome.status != "conflict" or not outcome.conflicts:
            continue
        action = _refreshed(by_id[outcome.action_id], outcome)
        if action is not None:
            actions.append(replace(action, links=_known_links(action, records), depends_on=()))
    snapshot = dict(plan.snapshot) | {"refreshed_from": plan.plan_id}
    return replace(plan, actions=tuple(actions), snapshot=snapshot)


def _known_links(action: Action, records: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Links to records the first run created now carry those records' ids."""
    links = {}
    for navigation, link in action.links.items():
        made = link.get("action")
        if made is not None and made in records:
            link = {k: v for k, v in link.items() if k != "action"} | {"id": records[made]}
        links[navigation] = link
    return links


def _refreshed(action: Action, outcome: Outcome) -> Action | None:
    if action.kind == "adjust":
        return _adjustment(action, outcome)
    if action.kind not in ("create", "update", "deactivate"):
        return None
    record_id = outcome.record_id or action.target_id
    if not record_id:
        return None
    changes = {
        name: {"from": found["now"], "to": found["planned"]}
        for name, found in outcome.conflicts.items()
    }
    kind: Kind = "deactivate" if action.kind == "deactivate" else "update"
    links = {nav: link for nav, link in action.links.items() if link.get("field") in changes}
    return replace(
        action,
        kind=kind,
        changes=changes,
        etag=outcome.etag,
        target_id=record_id,
        links=links,
    )


def _adjustment(action: Action, outcome: Outcome) -> Action | None:
    field, found = next(iter(outcome.conflicts.items()))
    planned = found["planned"]
    if planned is None:
        return None
    now = found["now"]
    delta = _number(planned) - _number(now or 0)
    if abs(delta) < 1e-9:
        return None
    return replace(
        action,
        changes={field: {"from": now, "to": planned, "delta": delta}},
        etag=outcome.etag,
    )


def _number(value: Any) -> float:
    number = float(value)
    return int(number) if number.is_integer() else number
