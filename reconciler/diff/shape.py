"""Shaping drift rows into actions.

Only rows that differ reach Python, but at 10M compared rows that can still be a hundred
thousand of them, so everything that does not depend on the row (column positions, names,
id prefixes, link templates) is worked out once per rule, and rows are read by position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reconciler.diff.actions import (
    conditions_text,
    describe,
    in_company,
    json_number,
    number_key,
    system_name,
)
from reconciler.plan import Action, Kind
from reconciler.rules import FieldMap, Link, Rule

__all__ = ["Shaper"]

Row = Sequence[Any]
Changes = dict[str, dict[str, Any]]
IDS = (
    "id_missing",
    "id_orphan",
    "id_adjust",
    "id_update",
    "id_changed",
    "id_frozen",
    "id_excluded",
    "id_incomplete",
)
DEACTIVATE: Changes = {"statecode": {"from": 0, "to": 1}, "statuscode": {"from": None, "to": 2}}


@dataclass(frozen=True)
class _Field:
    """Positions of one compared field in a drift row."""

    mapped: FieldMap
    source: int
    target: int
    differs: int
    delta: int | None
    number: bool

    def value(self, row: Row, side: int) -> Any:
        return json_number(row[side]) if self.number else row[side]


@dataclass(frozen=True)
class _LinkColumns:
    """Positions and constants of one link: the resolved id, or what a create must match."""

    link: Link
    field: str | None
    resolved: int
    match: tuple[tuple[str, int], ...]

    def entry(self, row: Row, company: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"entity_set": self.link.entity}
        if self.field:
            entry["field"] = self.field
        if row[self.resolved] is not None:
            entry["id"] = row[self.resolved]
        else:
            entry["pending"] = {
                "rule": self.link.rule,
                "company": company if self.link.company else None,
                "match": {theirs: row[position] for theirs, position in self.match},
            }
            if self.link.within:
                entry["pending"]["within"] = dict(self.link.within)
        return entry


class Shaper:
    """Turns the rows of one rule's drift query into actions (``header``: the header rule of
    a document line rule)."""

    def __init__(
        self,
        rule: Rule,
        columns: Sequence[str],
        companies: Mapping[str, str],
        header: Rule | None = None,
    ) -> None:
        at = {name: index for index, name in enumerate(columns)}
        self._rule = rule
        self._header = header
        self._companies = companies
        self._company, self._in_source, self._in_target = (
            at["company"],
            at["in_source"],
            at["in_target"],
        )
        self._id, self._etag = at["_id"], at["_etag"]
        # columns a rule cannot use are left out of its query: None here
        self._frozen, self._excluded = at.get("t_frozen"), at.get("t_excluded")
        self._incomplete = at.get("s_incomplete")
        self._header_columns = (
            (at["h_id"], at["h_frozen"], at["h_in_target"]) if "h_id" in at else None
        )
        self._numbers = {key.target: key.compare == "number" for key in rule.keys}
        self._key_parts = [(key.target, key.compare == "number") for key in rule.keys]
        self._with_company = bool(rule.source.company)
        self._ids = {name: at[name] for name in IDS if name in at}
        self._key_names = [key.target for key in rule.keys]
        self._source_keys = [at[f"s_o{i}"] for i in range(len(rule.keys))]
        self._target_keys = [at[f"t_o{i}"] for i in range(len(rule.keys))]
        self._fields = [
            _Field(
                mapped=m,
                source=at[f"s_f{i}"],
                target=at[f"t_f{i}"],
                differs=at[f"d{i}"],
                delta=at.get(f"delta{i}"),
                number=m.compare == "number",
            )
            for i, m in enumerate(rule.fields)
        ]
        self._links = [
            _link_columns(rule, index, link, at) for index, link in enumerate(rule.links)
        ]

    def shape(self, rows: Sequence[Row]) -> list[Action]:
        actions: list[Action] = []
        for row in rows:
            company = row[self._company] or ""
            if not row[self._in_target]:
                self._missing(row, company, actions)
            elif not row[self._in_source]:
                self._orphan(row, company, actions)
            else:
                self._changed(row, company, actions)
        return actions

    # ---------------------------------------------------------------- the three cases

    def _missing(self, row: Row, company: str, actions: list[Action]) -> None:
        rule = self._rule
        kind = rule.actions.missing
        if kind == "ignore":
            return
        values = self._key_values(row, self._source_keys)
        if self._header_frozen(row):
            assert self._header is not None
            message = (
                f"{describe(self._key_names, values)}{in_company(company)} is missing in SCM "
                f"{rule.target.entity}, but its {self._header.target.entity} is frozen "
                f"({conditions_text(self._header.target.frozen_when)}): reported, never written."
            )
            planned: Changes = {
                field.mapped.target: {"from": None, "to": field.value(row, field.source)}
                for field in self._fields
            }
            actions.append(
                self._finding(row, "id_frozen", company, values, message, planned, "frozen")
            )
            return
        if _flag(row, self._incomplete) and kind == "create":
            message = (
                f"{describe(self._key_names, values)}{in_company(company)} is not created in "
                f"SCM {rule.target.entity}: some of its lines cannot be written yet (see the "
                "line rules' findings), and a document is written whole or not at all."
            )
            planned = {
                field.mapped.target: {"from": None, "to": field.value(row, field.source)}
                for field in self._fields
            }
            actions.append(
                self._finding(
                    row, "id_incomplete", company, values, message, planned, "incomplete_document"
                )
            )
            return
        if kind == "report":
            message = f"{describe(self._key_names, values)} is missing in {rule.target.entity}"
            actions.append(self._finding(row, "id_missing", company, values, message))
            return
        if kind == "adjust":
            field = self._adjusted()
            changes: Changes = {field.mapped.target: self._adjustment(row, field, None)}
        else:
            changes = {
                name: {"from": None, "to": self._typed(name, value)}
                for name, value in zip(self._key_names, values, strict=True)
                if "." not in name
            }
            for field in self._fields:
                changes[field.mapped.target] = {"from": None, "to": field.value(row, field.source)}
        links = self._link_entries(row, company, self._links)
        action = self._action(kind, row, "id_missing", values, changes, links)
        if self._header_columns is not None:
            action = replace(action, document=self._document(row, company, values))
        actions.append(action)

    def _orphan(self, row: Row, company: str, actions: list[Action]) -> None:
        rule = self._rule
        values = self._key_values(row, self._target_keys)
        excluded = None if self._excluded is None else row[self._excluded]
        if excluded is not None:
            exclusion = rule.source.excluded[int(excluded)]
            message = (
                f"SCM {rule.target.entity} row {describe(self._key_names, values)}"
                f"{in_company(company)} belongs to an FS {rule.source.entity} row the rule "
                f"leaves out ({exclusion.name}){_colon(exclusion.message)}; reported, never "
                "written."
            )
            actions.append(
                self._finding(row, "id_excluded", company, values, message, None, exclusion.name)
            )
            return
        if rule.actions.orphan == "deactivate":
            changes = {name: dict(change) for name, change in DEACTIVATE.items()}
            actions.append(self._action("deactivate", row, "id_orphan", values, changes, {}))
        elif rule.actions.orphan == "report":
            gone = " (the line is gone from its FS document)" if rule.document else ""
            message = (
                f"{system_name(rule.target.system)} {rule.target.entity} row "
                f"{describe(self._key_names, values)}{in_company(company)} has no "
                f"{rule.source.entity} counterpart in {system_name(rule.source.system)}{gone}; "
                "reported, never deleted."
            )
            actions.append(self._finding(row, "id_orphan", company, values, message))

    def _changed(self, row: Row, company: str, actions: list[Action]) -> None:
        rule = self._rule
        values = self._key_values(row, self._source_keys)
        differing = [field for field in self._fields if row[field.differs]]
        own_frozen = _flag(row, self._frozen)
        if own_frozen or self._header_frozen(row):
            frozen_changes = self._from_to(row, differing)
            if own_frozen:
                when = conditions_text(rule.target.frozen_when)
                frozen = f"SCM {rule.target.entity} is frozen ({when})"
            else:
                assert self._header is not None
                frozen = (
                    f"its {self._header.target.entity} is frozen "
                    f"({conditions_text(self._header.target.frozen_when)})"
                )
            message = (
                f"{describe(self._key_names, values)}{in_company(company)}: {frozen}; FS differs "
                f"in {', '.join(frozen_changes)}: reported, never written."
            )
            actions.append(
                self._finding(row, "id_frozen", company, values, message, frozen_changes, "frozen")
            )
            return
        adjusted = [field for field in differing if field.mapped.adjust]
        if adjusted and rule.actions.changed == "adjust":
            field = adjusted[0]
            changes: Changes = {
                field.mapped.target: self._adjustment(row, field, field.value(row, field.target))
            }
            links = self._link_entries(row, company, self._links)
            actions.append(self._action("adjust", row, "id_adjust", values, changes, links))
        writable = [f for f in differing if not f.mapped.adjust and f.mapped.writable]
        readonly = [f for f in differing if not f.mapped.adjust and not f.mapped.writable]
        if writable and rule.actions.changed == "update":
            names = {f.mapped.link for f in writable}
            needed = [c for c in self._links if c.link.name in names]
            links = self._link_entries(row, company, needed)
            changes = self._from_to(row, writable)
            actions.append(self._action("update", row, "id_update", values, changes, links))
        elif writable and rule.actions.changed == "report":
            readonly += writable
        if readonly:
            changes = self._from_to(row, readonly)
            message = (
                f"{describe(self._key_names, values)} differs in {', '.join(changes)}; "
                "the rule does not write these fields."
            )
            actions.append(
                self._finding(row, "id_changed", company, values, message, changes, "changed")
            )

    # ---------------------------------------------------------------- parts

    def _header_frozen(self, row: Row) -> bool:
        return self._header_columns is not None and bool(row[self._header_columns[1]])

    def _document(self, row: Row, company: str, values: Sequence[Any]) -> dict[str, Any]:
        """Which header a line create belongs to: the header record (``id``) when SCM has
        it, else the header's key values, which the planner matches to the header's create."""
        assert self._header is not None and self._header_columns is not None
        document = self._rule.document
        assert document is not None
        header_id, _frozen, in_target = self._header_columns
        found: dict[str, Any] = {"rule": self._header.name}
        if row[in_target]:
            found["id"] = row[header_id]
            return found
        by_name = dict(zip(self._key_names, values, strict=True))
        found["match"] = {
            theirs: self._typed(ours, by_name[ours]) for ours, theirs in document.keys.items()
        }
        found["company"] = company
        return found

    def _typed(self, name: str, value: Any) -> Any:
        """Number keys leave SQL as canonical text (``-1``); writes need the number."""
        return number_key(value) if self._numbers.get(name) else value

    def _adjusted(self) -> _Field:
        return next(field for field in self._fields if field.mapped.adjust)

    @staticmethod
    def _adjustment(row: Row, field: _Field, before: Any) -> dict[str, Any]:
        assert field.delta is not None
        return {
            "from": before,
            "to": field.value(row, field.source),
            "delta": json_number(row[field.delta]),
        }

    @staticmethod
    def _from_to(row: Row, fields: Sequence[_Field]) -> Changes:
        return {
            f.mapped.target: {"from": f.value(row, f.target), "to": f.value(row, f.source)}
            for f in fields
        }

    def _link_entries(
        self, row: Row, company: str, links: Sequence[_LinkColumns]
    ) -> dict[str, dict[str, Any]]:
        """Resolved links carry the record id; unresolved ones what a create must match."""
        entries: dict[str, dict[str, Any]] = {}
        bind = self._rule.target.company_bind
        if bind is not None and company in self._companies:
            entries[bind.navigation] = {
                "entity_set": bind.entity_set,
                "id": self._companies[company],
            }
        for columns in links:
            entries[columns.link.navigation] = columns.entry(row, company)
        return entries

    def _action(
        self,
        kind: Kind,
        row: Row,
        id_column: str,
        values: Sequence[Any],
        changes: Changes,
        links: dict[str, dict[str, Any]],
    ) -> Action:
        """A write; on an existing target row it is guarded by that row's ETag."""
        rule = self._rule
        return Action(
            id=row[self._ids[id_column]],
            rule=rule.name,
            kind=kind,
            system=rule.target.system,
            entity=rule.target.entity,
            key=self._key(row[self._company] or "", values),
            changes=changes,
            links=links,
            etag=row[self._etag],
            target_id=row[self._id],
        )

    def _finding(
        self,
        row: Row,
        id_column: str,
        company: str,
        values: Sequence[Any],
        message: str,
        changes: Changes | None = None,
        name: str | None = None,
    ) -> Action:
        rule = self._rule
        return Action(
            id=row[self._ids[id_column]],
            rule=rule.name,
            kind="report",
            system=rule.target.system,
            entity=rule.target.entity,
            key=self._key(company, values),
            changes=changes or {},
            finding=name or ("missing" if id_column == "id_missing" else "orphan"),
            message=message,
        )

    def _key_values(self, row: Row, positions: Sequence[int]) -> list[Any]:
        """The row's key values, number keys as numbers (for keys, messages and writes)."""
        return [
            number_key(row[p]) if number else row[p]
            for p, (_name, number) in zip(positions, self._key_parts, strict=True)
        ]

    def _key(self, company: str, values: Sequence[Any]) -> dict[str, Any]:
        key: dict[str, Any] = {"company": company} if self._with_company else {}
        key.update(zip(self._key_names, values, strict=True))
        return key


def _flag(row: Row, position: int | None) -> bool:
    """A flag column's value; a column the rule's query leaves out is false."""
    return position is not None and bool(row[position])


def _colon(text: str) -> str:
    return f": {text}" if text else ""


def _link_columns(rule: Rule, index: int, link: Link, at: Mapping[str, int]) -> _LinkColumns:
    return _LinkColumns(
        link=link,
        field=next((m.target for m in rule.fields if m.link == link.name), None),
        resolved=at[f"l{index}"],
        match=tuple(
            (theirs, at[f"m{index}_{p}"])
            for p, (theirs, _ours) in enumerate(sorted(link.on.items()))
        ),
    )
