"""Apply: run exactly the saved plan, never overwriting what changed since it was made.

Before anything is written the plan must match the rules and profile in use. Then each
action runs in plan order:

* ``create`` first looks the key up, so re-running a plan never creates a duplicate: a
  record already in the planned state counts as done, one in another state is a conflict.
* ``update`` sends only the planned fields with ``If-Match: <planned ETag>``; on 412 the row
  is re-read: already in the planned state -> done, otherwise a conflict that is left alone.
* ``report`` actions are findings and are never written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.adjustments import post_fs_inventory_adjustments
from reconciler.config import Profile, profile_identity
from reconciler.connectors.base import Connector, Link, Row
from reconciler.errors import PlanError, PreconditionFailedError, ServiceError, StalePlanError
from reconciler.journal import DONE, Journal
from reconciler.outcomes import ApplyResult, Outcome
from reconciler.plan import Action, Plan
from reconciler.rules import FieldMap, Rule, RuleSet

__all__ = ["ApplyResult", "Outcome", "apply_plan", "check_plan_fits"]

ProgressCallback = Callable[[Action, Outcome], None]


def check_plan_fits(plan: Plan, rules: RuleSet, profile: Profile) -> None:
    """Refuse a plan made from other rules or for another profile (StalePlanError)."""
    if plan.rules_hash != rules.hash:
        raise StalePlanError(
            f"the plan was made from other rules ({plan.rules_hash[:19]}…) than the ones in "
            f"{profile.rules_dir} ({rules.hash[:19]}…). Re-run `reconcile plan` with the current "
            "rules, or restore the rules the plan was made with."
        )
    ours = profile_identity(profile)
    theirs = {name: plan.profile.get(name) for name in ours}
    differing = [name for name in ours if name != "name" and ours[name] != theirs[name]]
    if differing:
        details = ", ".join(
            f"{name}: plan {theirs[name]!r} vs profile {ours[name]!r}" for name in differing
        )
        raise StalePlanError(
            f"the plan was made for another environment ({details}). Apply it with the profile "
            "it was made with, or re-plan."
        )


def apply_plan(
    plan: Plan,
    rules: RuleSet,
    profile: Profile,
    connectors: Mapping[str, Connector],
    *,
    on_outcome: ProgressCallback | None = None,
    journal: Journal | None = None,
    allow_deactivate: bool = False,
) -> ApplyResult:
    """Execute the plan's actions in order and return every outcome.

    With a ``journal``, actions an earlier run of this plan finished are not repeated, and
    actions whose earlier outcome is unknown (``sent``, then the process died) are checked
    before anything is sent again.
    """
    check_plan_fits(plan, rules, profile)
    deactivations = sum(1 for action in plan.actions if action.kind == "deactivate")
    if deactivations and not allow_deactivate:
        raise PlanError(
            f"the plan deactivates {deactivations} record(s); nothing was written. Review them "
            "(`reconcile show`) and pass --allow-deactivate to apply them."
        )
    result = ApplyResult()
    before = sum(connector.request_count for connector in connectors.values())
    previous = journal.previous() if journal else {}
    finished: dict[str, Outcome] = {}
    label = f"reconciler {plan.plan_id[7:19]} {plan.created_at}"
    for group in _groups(plan.actions):
        outcomes = [_earlier(previous[a.id]) for a in group if _is_done(previous.get(a.id))]
        todo = [a for a in group if not _is_done(previous.get(a.id))]
        if todo:
            uncertain = {a.id for a in todo if previous.get(a.id) == "sent"}
            outcomes += _run_group(todo, rules, connectors, finished, label, uncertain, journal)
        by_id = {action.id: action for action in group}
        for outcome in outcomes:
            finished[outcome.action_id] = outcome
            result.outcomes.append(outcome)
            if on_outcome:
                on_outcome(by_id[outcome.action_id], outcome)
    result.requests = sum(connector.request_count for connector in connectors.values()) - before
    return result


def _run_group(
    todo: list[Action],
    rules: RuleSet,
    connectors: Mapping[str, Connector],
    finished: Mapping[str, Outcome],
    label: str,
    uncertain: set[str],
    journal: Journal | None,
) -> list[Outcome]:
    """Run single actions or one rule's adjustments, journaling before and after."""
    first = todo[0]
    rule = rules.get(first.rule)
    connector = connectors[first.system]
    writes = [a.id for a in todo if a.kind != "report"]
    if journal and writes:
        journal.sent(writes)
    if first.kind == "adjust":
        outcomes = _adjust(todo, rule, connector, finished, label, uncertain)
    else:
        outcomes = [_run_one(first, rule, connector, finished)]
    if journal:
        for outcome in outcomes:
            if outcome.status != "reported":
                journal.record(outcome)
    return outcomes


def _is_done(previous: Outcome | str | None) -> bool:
    return isinstance(previous, Outcome) and previous.status in DONE


def _earlier(previous: Outcome | str) -> Outcome:
    assert isinstance(previous, Outcome)
    return replace(previous, detail=f"{previous.detail} (in an earlier run)".strip())


def _groups(actions: Sequence[Action]) -> list[list[Action]]:
    """Single actions, except consecutive adjustments of one rule, which post together."""
    groups: list[list[Action]] = []
    for action in actions:
        previous = groups[-1][0] if groups else None
        if (
            action.kind == "adjust"
            and previous is not None
            and previous.kind == "adjust"
            and previous.rule == action.rule
        ):
            groups[-1].append(action)
        else:
            groups.append([action])
    return groups


def _adjust(
    group: list[Action],
    rule: Rule,
    connector: Connector,
    finished: Mapping[str, Outcome],
    label: str,
    uncertain: set[str],
) -> list[Outcome]:
    def resolve(action: Action) -> list[Link] | str:
        return _resolve_links(action, finished)

    return post_fs_inventory_adjustments(group, rule, connector, resolve, label, uncertain)


def _run_one(
    action: Action, rule: Rule, connector: Connector, finished: Mapping[str, Outcome]
) -> Outcome:
    if action.kind == "report":
        return Outcome(action.id, "reported", action.message or "")
    links = _resolve_links(action, finished)
    if isinstance(links, str):
        return Outcome(action.id, "skipped", links)
    try:
        if action.kind == "create":
            return _create(action, rule, connector, links)
        if action.kind in ("update", "deactivate"):
            return _update(action, rule, connector, links)
    except ServiceError as exc:
        return Outcome(action.id, "failed", str(exc))
    return Outcome(
        action.id, "failed", f"action kind {action.kind!r} is not supported by this version"
    )


def _resolve_links(action: Action, finished: Mapping[str, Outcome]) -> list[Link] | str:
    """Links as written: known ids, or ids of records this run created. A string says why not."""
    blocked = [dep for dep in action.depends_on if finished.get(dep, _MISSING).status not in _DONE]
    if blocked:
        return f"depends on {', '.join(blocked)}, which did not apply"
    links = []
    for navigation, link in sorted(action.links.items()):
        record_id = link.get("id")
        if record_id is None and "action" in link:
            record_id = finished.get(link["action"], _MISSING).record_id
        if not record_id:
            return f"the record for {navigation} is not known (depends on {link.get('action')})"
        links.append(Link(navigation, link["entity_set"], str(record_id)))
    return links


def _values(action: Action) -> dict[str, Any]:
    """Planned values to write: lookup columns (``a.b``) and linked fields go as binds."""
    linked = {link.get("field") for link in action.links.values()}
    return {
        name: change["to"]
        for name, change in action.changes.items()
        if "." not in name and name not in linked
    }


def _create(action: Action, rule: Rule, connector: Connector, links: list[Link]) -> Outcome:
    existing = connector.find(action.entity, _match(action, rule), _columns(action, rule))
    if existing:
        return _already_there(action, rule, existing)
    created = connector.create(action.entity, _values(action), links)
    return Outcome(action.id, "applied", "created", record_id=created.record_id)


def _already_there(action: Action, rule: Rule, existing: list[Row]) -> Outcome:
    """A create whose key exists: done if it matches the plan, else a conflict."""
    record_id = str(existing[0].get(rule.target.id or "", "")) or None
    if len(existing) == 1:
        conflicts = _differences(action, rule, existing[0])
        if not conflicts:
            return Outcome(action.id, "unchanged", "already created", record_id=record_id)
        return Outcome(
            action.id,
            "conflict",
            "a record with this key was created since the plan with other values; left alone",
            record_id=record_id,
            conflicts=conflicts,
        )
    return Outcome(
        action.id,
        "conflict",
        f"{len(existing)} records with this key exist since the plan; left alone",
    )


def _update(action: Action, rule: Rule, connector: Connector, links: list[Link]) -> Outcome:
    record_id = action.target_id or ""
    try:
        connector.update(action.entity, record_id, _values(action), etag=action.etag, links=links)
        return Outcome(action.id, "applied", "updated", record_id=record_id)
    except PreconditionFailedError:
        current = connector.fetch(action.entity, record_id, _plain(action.changes))
    except ServiceError as exc:
        if exc.status != 404:
            raise
        current = None
    if current is None:
        return Outcome(
            action.id,
            "conflict",
            "the record was deleted since the plan; left alone",
            record_id=record_id,
        )
    conflicts = _differences(action, rule, current)
    if not conflicts:
        return Outcome(action.id, "unchanged", "already in the planned state", record_id=record_id)
    return Outcome(
        action.id,
        "conflict",
        "the record changed since the plan; left alone",
        record_id=record_id,
        conflicts=conflicts,
    )


def _match(action: Action, rule: Rule) -> dict[str, Any]:
    match: dict[str, Any] = {}
    if rule.target.company and rule.target.company_bind:
        match[rule.target.company] = action.links[rule.target.company_bind.navigation]["id"]
    elif rule.target.company:
        match[rule.target.company] = action.key["company"]
    match.update({key.target: action.key[key.target] for key in rule.keys})
    return match


def _columns(action: Action, rule: Rule) -> list[str]:
    return ([rule.target.id] if rule.target.id else []) + _plain(action.changes)


def _plain(changes: Mapping[str, Any]) -> list[str]:
    """Changed fields that are columns of the record (not ``lookup.column`` paths)."""
    return [name for name in changes if "." not in name]


def _differences(action: Action, rule: Rule, row: Row) -> dict[str, dict[str, Any]]:
    """Planned fields whose current value is not the planned one."""
    compare = {mapped.target: mapped for mapped in rule.fields}
    keys = {key.target for key in rule.keys}
    found = {}
    for name, change in action.changes.items():
        if "." in name:
            continue  # a lookup's column: re-checked through the link, not the row
        now = row.get(name)
        if not _same(change["to"], now, compare.get(name), is_key=name in keys):
            found[name] = {"before": change["from"], "planned": change["to"], "now": now}
    return found


def _same(planned: Any, now: Any, mapped: FieldMap | None, *, is_key: bool) -> bool:
    if is_key:
        return str(planned or "").strip().casefold() == str(now or "").strip().casefold()
    kind = mapped.compare if mapped else "text"
    if kind == "number":
        if planned is None or now is None:
            return planned is None and now is None
        return abs(float(planned) - float(now)) <= (mapped.tolerance if mapped else 0) + 1e-9
    if kind == "boolean":
        return bool(planned) == bool(now)
    return (planned or "") == (now or "")


_DONE = {"applied", "unchanged"}
_MISSING = Outcome("", "skipped")
