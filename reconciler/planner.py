"""Planning: diff every rule over one snapshot, link dependent actions, order the plan."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.config import Profile, profile_identity
from reconciler.diff import diff_rule
from reconciler.errors import SnapshotError
from reconciler.plan import Action, Plan, action_id, order_actions
from reconciler.rules import RuleSet
from reconciler.snapshot import open_snapshot, read_info
from reconciler.tables import PREPARED_LAYOUT

__all__ = ["attach_documents", "link_dependencies", "make_plan"]


def make_plan(snapshot_path: Path, rules: RuleSet, profile: Profile) -> Plan:
    """The plan for ``rules`` over the snapshot at ``snapshot_path`` (no network, no writes)."""
    info = read_info(snapshot_path)
    if info.rules_hash != rules.hash:
        raise SnapshotError(
            f"snapshot {snapshot_path} was taken with other rules ({info.rules_hash[:19]}…) than "
            f"the ones loaded ({rules.hash[:19]}…); take a new snapshot with `reconcile snapshot`."
        )
    if info.layout != PREPARED_LAYOUT:
        raise SnapshotError(
            f"snapshot {snapshot_path} was prepared by an older reconciler (layout "
            f"{info.layout}; this one reads {PREPARED_LAYOUT}); take a new snapshot with "
            "`reconcile snapshot`."
        )
    actions: list[Action] = []
    with open_snapshot(snapshot_path, profile.engine.duckdb_config()) as con:
        for rule in rules:
            header = rules.get(rule.document.header) if rule.document else None
            lines = [r for r in rules if r.document and r.document.header == rule.name]
            actions.extend(diff_rule(con, rule, profile.companies, header, lines))
    return Plan(
        created_at=info.taken_at,
        profile=profile_identity(profile),
        rules_hash=rules.hash,
        rules=tuple(rules.names()),
        snapshot={
            "id": info.snapshot_id,
            "path": snapshot_path.name,
            "taken_at": info.taken_at,
            "fingerprints": info.fingerprints(),
        },
        actions=order_actions(attach_documents(link_dependencies(actions)), rules.names()),
    )


def link_dependencies(actions: Sequence[Action]) -> list[Action]:
    """Point pending links at the creates that will make their records, or report them.

    An on-hand adjustment for a product that the same plan creates depends on that create;
    apply resolves the new record's id from it. A link no planned create satisfies turns
    its action into an ``unresolved_link`` finding: nothing is written for it.
    """
    creates = _CreateIndex(a for a in actions if a.kind == "create")
    linked: list[Action] = []
    for action in actions:
        pending = {nav: link for nav, link in action.links.items() if "pending" in link}
        if not pending:
            linked.append(action)
            continue
        resolved = dict(action.links)
        depends = list(action.depends_on)
        missing = []
        for navigation, link in sorted(pending.items()):
            found = creates.find(link["pending"])
            if found is None:
                missing.append((navigation, link))
                continue
            resolved[navigation] = {k: v for k, v in link.items() if k != "pending"} | {
                "action": found
            }
            depends.append(found)
        if missing:
            linked.append(_unresolved(action, missing))
        else:
            linked.append(replace(action, links=resolved, depends_on=tuple(sorted(set(depends)))))
    return linked


def attach_documents(actions: Sequence[Action]) -> list[Action]:
    """Point each line create whose header SCM lacks at the header's create: apply writes
    them in one change set. A line whose header is neither in SCM nor created by the plan
    (the header rule reported why) becomes a ``no_header`` finding."""
    headers: dict[tuple[str, str, tuple[tuple[str, str], ...]], str] = {}
    for action in actions:
        if action.kind == "create":
            company = str(action.key.get("company", ""))
            values = tuple(
                sorted(
                    (name, _fold(value)) for name, value in action.key.items() if name != "company"
                )
            )
            headers[(action.rule, company, values)] = action.id
    attached: list[Action] = []
    for action in actions:
        document = action.document
        if document is None or "match" not in document:
            attached.append(action)
            continue
        wanted = tuple(sorted((name, _fold(value)) for name, value in document["match"].items()))
        found = headers.get((document["rule"], str(document.get("company", "")), wanted))
        if found is None:
            attached.append(_headless(action))
            continue
        attached.append(
            replace(
                action,
                document={"rule": document["rule"], "action": found},
                depends_on=tuple(sorted({*action.depends_on, found})),
            )
        )
    return attached


def _headless(action: Action) -> Action:
    assert action.document is not None
    header = ", ".join(f"{k}={v!r}" for k, v in action.document["match"].items())
    return _instead_a_finding(
        action,
        "no_header",
        f"cannot create this line: its header ({header}) is not in SCM and this plan "
        f"does not create it; see rule {action.document['rule']!r}'s findings.",
    )


def _instead_a_finding(action: Action, finding: str, message: str) -> Action:
    """The ``report`` that takes the place of an action the plan cannot carry out."""
    company = str(action.key.get("company", ""))
    return Action(
        id=action_id(
            action.rule,
            "report",
            finding,
            company,
            [str(v) for k, v in action.key.items() if k != "company"],
        ),
        rule=action.rule,
        kind="report",
        system=action.system,
        entity=action.entity,
        key=action.key,
        changes=action.changes,
        finding=finding,
        message=message,
    )


class _CreateIndex:
    """Planned creates, findable by the values a link matches on (hash lookups, built lazily
    per rule and column set)."""

    def __init__(self, creates: Iterable[Action]) -> None:
        self._creates = list(creates)
        self._indexes: dict[tuple[str, tuple[str, ...], bool], dict[tuple[str, ...], str]] = {}

    def find(self, pending: dict[str, Any]) -> str | None:
        rule = pending.get("rule")
        if not rule:
            return None
        columns = tuple(sorted(pending["match"]))
        with_company = bool(pending.get("company"))
        index = self._index(rule, columns, with_company)
        probe = tuple(_fold(pending["match"][c]) for c in columns)
        return index.get(((pending["company"],) if with_company else ()) + probe)

    def _index(
        self, rule: str, columns: tuple[str, ...], with_company: bool
    ) -> dict[tuple[str, ...], str]:
        slot = (rule, columns, with_company)
        if slot not in self._indexes:
            index: dict[tuple[str, ...], str] = {}
            for create in self._creates:
                if create.rule != rule:
                    continue
                values = tuple(_fold(create.changes.get(c, {}).get("to")) for c in columns)
                company = (str(create.key.get("company")),) if with_company else ()
                index.setdefault(company + values, create.id)
            self._indexes[slot] = index
        return self._indexes[slot]


def _fold(value: Any) -> str:
    return str(value or "").strip().casefold()


def _unresolved(action: Action, missing: list[tuple[str, dict[str, Any]]]) -> Action:
    described = "; ".join(
        f"{navigation}: {link['entity_set']} with "
        + ", ".join(f"{col}={value!r}" for col, value in link["pending"]["match"].items())
        + "".join(
            f" among the {link['entity_set']} of its {other} ({column})"
            for column, other in link["pending"].get("within", {}).items()
        )
        + (
            f" (no create planned by rule {link['pending']['rule']!r})"
            if link["pending"].get("rule")
            else ""
        )
        for navigation, link in missing
    )
    return _instead_a_finding(
        action,
        "unresolved_link",
        f"cannot {action.kind}: FS has no {described}. Create it in FS (or in SCM for "
        "the flow that syncs it) and re-plan.",
    )
