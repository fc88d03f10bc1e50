"""Plan and Action models, deterministic ordering, and the plan file contract.

The plan file is JSON with ``format_version`` "1.x" (minor versions only add fields).
The same snapshot and rules give a byte-identical file: ids are derived from content,
ordering is total, and ``created_at`` is the snapshot's time, not the wall clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from reconciler.errors import PlanError

__all__ = [
    "FORMAT_VERSION",
    "KIND_ORDER",
    "Action",
    "Kind",
    "Plan",
    "action_id",
    "action_id_after",
    "id_prefix",
    "load_plan",
    "order_actions",
    "save_plan",
    "scope_plan",
    "summarize",
]

FORMAT_VERSION = "1.1"
"""1.1 added ``document`` (the header a document line is created with)."""
Kind = Literal["create", "update", "adjust", "deactivate", "report"]
KIND_ORDER: dict[str, int] = {"create": 0, "update": 1, "adjust": 2, "deactivate": 3, "report": 4}


@dataclass(frozen=True)
class Action:
    """One change to one record (or, for ``report``, one finding that is never written)."""

    id: str
    rule: str
    kind: Kind
    system: str
    entity: str
    key: dict[str, Any]
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    etag: str | None = None
    target_id: str | None = None
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    finding: str | None = None
    message: str | None = None
    document: dict[str, Any] | None = None
    """A document line's create: its header rule and the header record (``id``) or the
    header's create action (``action``), with which it is written in one change set."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "rule": self.rule,
            "kind": self.kind,
            "system": self.system,
            "entity": self.entity,
            "key": self.key,
            "changes": self.changes,
            "depends_on": list(self.depends_on),
            "etag": self.etag,
        }
        if self.target_id is not None:
            data["target_id"] = self.target_id
        if self.links:
            data["links"] = self.links
        if self.finding is not None:
            data["finding"] = self.finding
            data["message"] = self.message
        if self.document is not None:
            data["document"] = self.document
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Action:
        return cls(
            id=data["id"],
            rule=data["rule"],
            kind=data["kind"],
            system=data["system"],
            entity=data["entity"],
            key=dict(data["key"]),
            changes={name: dict(change) for name, change in data.get("changes", {}).items()},
            depends_on=tuple(data.get("depends_on", ())),
            etag=data.get("etag"),
            target_id=data.get("target_id"),
            links={name: dict(link) for name, link in data.get("links", {}).items()},
            finding=data.get("finding"),
            message=data.get("message"),
            document=dict(data["document"]) if data.get("document") else None,
        )


@dataclass(frozen=True)
class Plan:
    """A saved plan: where it came from, what it will do."""

    created_at: str
    profile: dict[str, str]
    rules_hash: str
    rules: tuple[str, ...]
    snapshot: dict[str, Any]
    actions: tuple[Action, ...]
    format_version: str = FORMAT_VERSION

    @property
    def summary(self) -> dict[str, dict[str, int]]:
        return summarize(self.actions, self.rules)

    def changes_count(self) -> int:
        """Actions that would write (everything but ``report``)."""
        return sum(1 for action in self.actions if action.kind != "report")

    def has_drift(self) -> bool:
        """True when anything would be written or reported."""
        return bool(self.actions)

    @cached_property
    def plan_id(self) -> str:
        """Content hash: the journal keys apply progress by it, so a resumed apply continues
        exactly this plan (and a hand-edited plan is a different one)."""
        material = json.dumps(
            [
                self.profile,
                self.rules_hash,
                self.snapshot.get("id"),
                [action.to_json() for action in self.actions],
            ],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return "sha256:" + hashlib.sha256(material.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "plan_id": self.plan_id,
            "created_at": self.created_at,
            "profile": self.profile,
            "rules_hash": self.rules_hash,
            "rules": list(self.rules),
            "snapshot": self.snapshot,
            "summary": self.summary,
            "actions": [action.to_json() for action in self.actions],
        }


def action_id(rule: str, kind: str, finding: str | None, company: str, key: Sequence[str]) -> str:
    """Stable id from what the action is about, so the same drift keeps its id across plans."""
    return action_id_after(id_prefix(rule, kind, finding), company, key)


def id_prefix(rule: str, kind: str, finding: str | None) -> str:
    """The part of an action id's material shared by all actions of one rule and kind."""
    return f"{rule}\x1f{kind}\x1f{finding or ''}\x1f"


def action_id_after(prefix: str, company: str, key: Sequence[str]) -> str:
    """``action_id`` with its prefix made once. ``diff.drift.id_sql`` is its SQL twin (the
    diff makes drift ids in DuckDB): keep the two in step."""
    material = prefix + "\x1f".join((company, *(k.lower() for k in key)))
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def order_actions(actions: Iterable[Action], rule_order: Sequence[str]) -> tuple[Action, ...]:
    """Total order: rule dependency order, kind, company, key, id."""
    position = {name: index for index, name in enumerate(rule_order)}

    def sort_key(action: Action) -> tuple[Any, ...]:
        key_values = tuple(str(value).casefold() for value in action.key.values())
        return (
            position.get(action.rule, len(position)),
            KIND_ORDER[action.kind],
            action.finding or "",
            key_values,
            action.id,
        )

    return tuple(sorted(actions, key=sort_key))


def summarize(actions: Iterable[Action], rules: Sequence[str]) -> dict[str, dict[str, int]]:
    """Counts per rule and kind; every rule appears, with zeros, so a clean run is visible."""
    summary: dict[str, dict[str, int]] = {name: dict.fromkeys(KIND_ORDER, 0) for name in rules}
    for action in actions:
        summary.setdefault(action.rule, dict.fromkeys(KIND_ORDER, 0))[action.kind] += 1
    return summary


def dumps(plan: Plan) -> str:
    """The plan file's exact text."""
    return json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n"


def save_plan(plan: Plan, path: Path) -> None:
    """Write atomically: a reader never sees half a plan."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(dumps(plan), encoding="utf-8")
    partial.replace(path)


def load_plan(path: Path) -> Plan:
    """Read a plan file; PlanError names the file and what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(
            f"plan file {path} does not exist; create one with `reconcile plan --out`"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise PlanError(f"plan file {path} is not readable JSON: {exc}") from None
    version = str(data.get("format_version", ""))
    if version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise PlanError(
            f"plan file {path} has format_version {version!r}; this reconciler reads "
            f"{FORMAT_VERSION.split('.')[0]}.x. Re-create the plan with this version."
        )
    try:
        return Plan(
            created_at=data["created_at"],
            profile=dict(data["profile"]),
            rules_hash=data["rules_hash"],
            rules=tuple(data["rules"]),
            snapshot=dict(data["snapshot"]),
            actions=tuple(Action.from_json(item) for item in data["actions"]),
            format_version=version,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"plan file {path} is missing or has a malformed field: {exc}") from None


def scope_plan(plan: Plan, targets: Sequence[str] = (), excludes: Sequence[str] = ()) -> Plan:
    """The part of a plan that ``--target``/``--exclude`` select, dependencies honoured.

    Targeted rules bring along the actions they depend on (a create an adjustment needs);
    excluded rules take along the actions that depend on them, which could not apply.
    """
    unknown = sorted((set(targets) | set(excludes)) - set(plan.rules))
    if unknown:
        raise PlanError(
            f"no rule named {', '.join(unknown)} in this plan; its rules: {', '.join(plan.rules)}"
        )
    by_id = {action.id: action for action in plan.actions}
    keep = {a.id for a in plan.actions if not targets or a.rule in targets}
    pending = list(keep)
    while pending:
        for dependency in by_id[pending.pop()].depends_on:
            if dependency in by_id and dependency not in keep:
                keep.add(dependency)
                pending.append(dependency)
    dropped = {a.id for a in plan.actions if a.rule in excludes}
    changed = True
    while changed:
        extra = {a.id for a in plan.actions if a.id not in dropped and dropped & set(a.depends_on)}
        changed = bool(extra)
        dropped |= extra
    actions = tuple(a for a in plan.actions if a.id in keep and a.id not in dropped)
    return replace(plan, actions=actions)
