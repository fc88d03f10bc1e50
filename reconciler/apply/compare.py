"""What a planned action writes, how its record is found, and whether a row already holds
the planned values (used by re-reads before writing and after an unknown outcome)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.connectors.base import Row
from reconciler.plan import Action
from reconciler.rules import FieldMap, Rule

__all__ = ["columns", "differences", "match", "plain", "same_as_before", "values"]

Conflicts = dict[str, dict[str, Any]]


def values(action: Action) -> dict[str, Any]:
    """Planned values to write: lookup columns (``a.b``) and linked fields go as binds."""
    linked = {link.get("field") for link in action.links.values()}
    return {
        name: change["to"]
        for name, change in action.changes.items()
        if "." not in name and name not in linked
    }


def match(action: Action, rule: Rule) -> dict[str, Any]:
    """The target columns and values that find the record a create makes."""
    found: dict[str, Any] = {}
    if rule.target.company and rule.target.company_bind:
        found[rule.target.company] = action.links[rule.target.company_bind.navigation]["id"]
    elif rule.target.company:
        found[rule.target.company] = action.key["company"]
    found.update({key.target: action.key[key.target] for key in rule.keys})
    return found


def columns(action: Action, rule: Rule) -> list[str]:
    """Columns to read back for a create's record: its id and the planned fields."""
    return ([rule.target.id] if rule.target.id else []) + plain(action.changes)


def plain(changes: Mapping[str, Any]) -> list[str]:
    """Changed fields that are columns of the record (not ``lookup.column`` paths)."""
    return [name for name in changes if "." not in name]


def differences(action: Action, rule: Rule, row: Row) -> Conflicts:
    """Planned fields whose current value is not the planned one: before, planned, now."""
    return {
        name: {"before": change["from"], "planned": change["to"], "now": row.get(name)}
        for name, change in _plain_changes(action)
        if not _same(change["to"], row.get(name), rule, name)
    }


def same_as_before(action: Action, rule: Rule, row: Row) -> bool:
    """Every planned field still holds the value the plan saw: safe to write even when the
    row's ETag moved (someone changed other fields, which a PATCH of ours leaves alone)."""
    return all(
        _same(change["from"], row.get(name), rule, name) for name, change in _plain_changes(action)
    )


def _plain_changes(action: Action) -> list[tuple[str, dict[str, Any]]]:
    # a lookup's column (``a.b``) is re-checked through the link, not the row
    return [(name, change) for name, change in action.changes.items() if "." not in name]


def _same(planned: Any, now: Any, rule: Rule, name: str) -> bool:
    if name in {key.target for key in rule.keys}:
        return str(planned or "").strip().casefold() == str(now or "").strip().casefold()
    mapped = next((m for m in rule.fields if m.target == name), None)
    return _same_value(planned, now, mapped)


def _same_value(planned: Any, now: Any, mapped: FieldMap | None) -> bool:
    kind = mapped.compare if mapped else "text"
    if kind == "number":
        if planned is None or now is None:
            return planned is None and now is None
        return abs(float(planned) - float(now)) <= (mapped.tolerance if mapped else 0) + 1e-9
    if kind == "boolean":
        return bool(planned) == bool(now)
    return (planned or "") == (now or "")
