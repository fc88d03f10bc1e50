"""What a planned action writes, how its record is found, and whether a row already holds
the planned values (used by re-reads before writing and after an unknown outcome)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.connectors.base import Row
from reconciler.plan import Action
from reconciler.rules import FieldMap, Rule

__all__ = ["columns", "differences", "match", "plain", "same_as_before", "values"]

Conflicts = dict[str, dict[str, Any]]


def values(action: Action, rule: Rule) -> dict[str, Any]:
    """Planned values to write: lookup columns (``a.b``) and linked fields go as binds. An
    F&O create also names its company, and a document line the header record's key."""
    linked = {link.get("field") for link in action.links.values()}
    written = {
        name: _written(change["to"], rule, name)
        for name, change in action.changes.items()
        if "." not in name and name not in linked
    }
    if action.kind == "create" and rule.target.system == "fno":
        if rule.target.company and "." not in rule.target.company:
            written.setdefault(rule.target.company, action.key.get("company"))
        written.update(header_key(action))
    return written


def header_key(action: Action) -> dict[str, Any]:
    """A document line's header record key (F&O key fields), when the header exists."""
    document = action.document or {}
    found = document.get("id")
    return dict(json.loads(found)) if isinstance(found, str) and found.startswith("{") else {}


def match(action: Action, rule: Rule) -> dict[str, Any]:
    """The target columns and values that find the record a create makes."""
    found: dict[str, Any] = {}
    if rule.target.company and rule.target.company_bind:
        found[rule.target.company] = action.links[rule.target.company_bind.navigation]["id"]
    elif rule.target.company:
        found[rule.target.company] = action.key["company"]
    found.update({key.target: action.key[key.target] for key in rule.keys if "." not in key.target})
    found.update(header_key(action))
    return found


def _written(value: Any, rule: Rule, name: str) -> Any:
    """Dates go to F&O as its date-only timestamps (noon UTC), to Dataverse as the day; F&O
    strings are never null (an unset one is empty)."""
    mapped = next((m for m in rule.fields if m.target == name), None)
    fno = rule.target.system == "fno"
    if mapped is not None and mapped.compare == "text" and value is None and fno:
        return ""
    if mapped is None or mapped.compare != "date" or value is None:
        return value
    day = str(value)[:10]
    return f"{day}T12:00:00Z" if fno else day


def columns(action: Action, rule: Rule) -> list[str]:
    """Columns to read back for a create's record: its id (F&O: key fields) and the planned
    fields."""
    if rule.target.system == "fno":
        ids = rule.record_key()
    else:
        ids = [rule.target.id] if rule.target.id else []
    return list(dict.fromkeys(ids + plain(action.changes)))


def record_id(rule: Rule, row: Row) -> str | None:
    """The id that addresses ``row``: Dataverse's primary id, or F&O's key fields as JSON
    (the form the F&O connector's record ids take)."""
    if rule.target.system == "fno":
        key = {name: row.get(name) for name in rule.record_key()}
        return json.dumps(key, sort_keys=True)
    found = row.get(rule.target.id or "")
    return str(found) if found else None


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
        if rule.key_kind(name) == "number":
            return _same_value(planned, now, FieldMap(target=name, value=0, compare="number"))
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
    if kind == "date":
        return _day(planned) == _day(now)
    return (planned or "") == (now or "")


def _day(value: Any) -> str | None:
    day = str(value)[:10] if value else None
    return None if day in (None, "", "1900-01-01") else day
