"""Key rules: one TOML file per flow, validated into frozen models.

A rule says which SCM/FS entity masters the data (``source``) and which receives it
(``target``), how rows match (company + ``keys``), which fields must agree (``fields``) and
what each kind of difference becomes (``actions``). Errors name the file, the line where it
can be found, the rule and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reconciler.errors import RuleError

__all__ = [
    "Actions",
    "CompanyBind",
    "FieldMap",
    "KeyMap",
    "Rule",
    "RuleSet",
    "Side",
    "default_rules_dir",
    "load_rules",
]

System = Literal["fno", "dataverse"]
Compare = Literal["text", "number", "boolean"]
Scalar = str | int | float | bool
_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
STATE = "statecode"
"""Dataverse row state: 0 active, 1 inactive (deactivation writes 1 with statuscode 2)."""
_REF = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CompanyBind(_Model):
    """How a create names the FS company: ``<navigation>@odata.bind = /<entity_set>(<id>)``."""

    navigation: str = Field(pattern=_NAME)
    entity_set: str = Field(pattern=_NAME)


class Lookup(_Model):
    """Rows of another entity joined to a side's rows; read their columns as ``name.column``.

    ``on`` maps the lookup entity's columns to the side's columns (or earlier lookups'
    ``name.column``); values match trimmed and case-insensitively, like the keys. ``company``
    names the lookup entity's company column, so only rows of the same company match.
    """

    name: str = Field(pattern=_NAME)
    entity: str = Field(pattern=_NAME)
    on: dict[str, str] = Field(default_factory=dict)
    company: str | None = Field(default=None, pattern=_NAME)
    where: dict[str, Scalar] = Field(default_factory=dict)
    required: bool = False

    @property
    def finding(self) -> str:
        """The finding raised for a row whose required lookup matches nothing."""
        return f"unknown_{self.name}"

    @model_validator(mode="after")
    def _names(self) -> Lookup:
        if not self.on and not self.where:
            raise ValueError("a lookup needs 'on' (columns to match) or 'where' (a fixed record)")
        for theirs, ours in self.on.items():
            _check_name(theirs)
            _check_ref(ours)
        for column in self.where:
            _check_name(column)
        return self


class Link(Lookup):
    """A target-system record the write must point at, found from the source row's values.

    Written as ``<navigation>@odata.bind = /<entity>(<id>)``. When no record matches, a
    create planned by ``rule`` satisfies the link (the action then depends on it);
    otherwise the row becomes a finding.
    """

    navigation: str = Field(pattern=_NAME)
    id: str = Field(pattern=_NAME)
    rule: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    within: dict[str, str] = Field(default_factory=dict)
    """Column of the linked entity -> another link of the rule whose record it must point
    at: a unit is looked up only among the uoms of the product's unit group."""


class Side(_Model):
    """One end of a rule: a system, an entity set, and how to read the rows that take part."""

    system: System
    entity: str = Field(pattern=_NAME)
    company: str | None = Field(default=None, pattern=_REF)
    filter: str | None = None
    id: str | None = Field(default=None, pattern=_NAME)
    company_bind: CompanyBind | None = None
    lookups: tuple[Lookup, ...] = ()
    label: str | None = Field(default=None, pattern=_REF)


class KeyMap(_Model):
    """One key column pair; values are compared trimmed and case-insensitively."""

    source: str = Field(pattern=_REF)
    target: str = Field(pattern=_REF)


class FieldMap(_Model):
    """A target field that must equal a source field (or a constant ``value``).

    ``map`` translates source values (e.g. enum names to option-set numbers); ``decimals``
    is the precision the target stores (the source is rounded to it, and a rounding
    larger than ``tolerance`` is a finding); ``adjust`` marks the quantity an ``adjust``
    action moves; ``link`` writes the field as that link's lookup instead of a value.
    """

    target: str = Field(pattern=_REF)
    source: str | None = Field(default=None, pattern=_REF)
    value: Scalar | None = None
    compare: Compare = "text"
    tolerance: float = Field(default=0.0, ge=0)
    map: dict[str, Scalar] = Field(default_factory=dict)
    decimals: int | None = Field(default=None, ge=0, le=10)
    adjust: bool = False
    link: str | None = Field(default=None, pattern=_NAME)

    @model_validator(mode="after")
    def _one_origin(self) -> FieldMap:
        if (self.source is None) == (self.value is None):
            raise ValueError(
                "give exactly one of 'source' (a source field) or 'value' (a constant)"
            )
        if (
            self.tolerance or self.decimals is not None or self.adjust
        ) and self.compare != "number":
            raise ValueError(
                "'tolerance', 'decimals' and 'adjust' apply to compare = \"number\" only"
            )
        if self.value is not None and not _value_fits(self.value, self.compare):
            raise ValueError(f"constant {self.value!r} is not a {self.compare}")
        for mapped in self.map.values():
            if not _value_fits(mapped, self.compare):
                raise ValueError(f"map value {mapped!r} is not a {self.compare}")
        return self

    @property
    def writable(self) -> bool:
        """Plain target columns and links are written; lookup columns are compared only."""
        return self.link is not None or "." not in self.target


class Check(_Model):
    """A data-quality finding raised for every source row whose ``source`` is below ``min``."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: str = Field(pattern=_REF)
    min: float
    message: str = ""


class Actions(_Model):
    """What each kind of difference becomes. The default plan never deletes."""

    missing: Literal["create", "adjust", "report", "ignore"] = "create"
    changed: Literal["update", "adjust", "report", "ignore"] = "update"
    orphan: Literal["report", "ignore", "deactivate"] = "report"
    orphan_when: dict[str, Scalar] = Field(default_factory=dict)
    adjust_with: Literal["fs_inventory_adjustment"] | None = None
    mode: Literal["sync", "reference"] = "sync"


class Rule(_Model):
    """One flow's key rule."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    depends_on: tuple[str, ...] = ()
    source: Side
    target: Side
    keys: tuple[KeyMap, ...] = Field(min_length=1)
    fields: tuple[FieldMap, ...] = ()
    links: tuple[Link, ...] = ()
    checks: tuple[Check, ...] = ()
    actions: Actions = Actions()

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.source.system == self.target.system:
            raise ValueError("source and target must be different systems")
        if self.target.system == "dataverse" and self.target.id is None:
            raise ValueError("target.id (the Dataverse primary id column) is required")
        if self.target.company and not self.source.company:
            raise ValueError("target.company needs source.company (the SCM legal entity column)")
        if self.target.company_bind and not self.target.company:
            raise ValueError("target.company_bind needs target.company")
        targets = [key.target for key in self.keys] + [f.target for f in self.fields]
        duplicates = sorted({name for name in targets if targets.count(name) > 1})
        if duplicates:
            raise ValueError(f"target field(s) mapped twice: {', '.join(duplicates)}")
        self._check_references()
        self._check_within()
        self._check_adjust()
        if self.actions.orphan == "deactivate" and self.target.system != "dataverse":
            raise ValueError('orphan = "deactivate" needs a Dataverse target (statecode)')
        if self.actions.mode == "reference":
            if self.source.label is None:
                raise ValueError('mode = "reference" needs source.label (how rows are named)')
            if self.actions.missing != "report" or self.actions.changed != "report":
                raise ValueError('mode = "reference" only reports: missing and changed = "report"')
        return self

    def _check_within(self) -> None:
        links = {link.name: link for link in self.links}
        for link in self.links:
            for column, other in link.within.items():
                _check_name(column)
                if other not in links or other == link.name:
                    raise ValueError(
                        f"link {link.name!r}: within.{column} names {other!r}, which is not "
                        f"another link of this rule (links: {', '.join(sorted(links))})"
                    )
                if links[other].within:
                    raise ValueError(
                        f"link {link.name!r}: within.{column} names link {other!r}, which has "
                        "'within' itself; scope by a link that is found directly"
                    )

    def _check_references(self) -> None:
        names = {
            "source": {lk.name for lk in self.source.lookups},
            "target": {lk.name for lk in self.target.lookups},
        }
        links = {link.name for link in self.links}
        refs = [("source", key.source) for key in self.keys] + [
            ("target", key.target) for key in self.keys
        ]
        refs += [("source", f.source) for f in self.fields if f.source]
        refs += [("target", f.target) for f in self.fields]
        refs += [("source", check.source) for check in self.checks]
        refs += [
            (side, getattr(self, side).company)
            for side in ("source", "target")
            if getattr(self, side).company
        ]
        if self.source.label:
            refs.append(("source", self.source.label))
        for side, ref in refs:
            prefix = ref.split(".")[0] if "." in ref else None
            if prefix is not None and prefix not in names[side]:
                raise ValueError(
                    f"{side} reference {ref!r} names no {side}.lookups entry {prefix!r}"
                )
        for mapped in self.fields:
            if mapped.link is not None and mapped.link not in links:
                raise ValueError(
                    f"field {mapped.target!r} names no [[links]] entry {mapped.link!r}"
                )

    def _check_adjust(self) -> None:
        adjusted = [f for f in self.fields if f.adjust]
        uses_adjust = "adjust" in (self.actions.missing, self.actions.changed)
        if uses_adjust and (len(adjusted) != 1 or self.actions.adjust_with is None):
            raise ValueError(
                "an 'adjust' action needs exactly one field with adjust = true and "
                "actions.adjust_with naming how adjustments are posted"
            )
        if adjusted and not uses_adjust:
            raise ValueError('adjust = true needs actions.missing or actions.changed = "adjust"')

    def side(self, name: str) -> Side:
        return self.source if name == "source" else self.target

    def columns_needed(self) -> dict[tuple[str, str], dict[str, Compare]]:
        """Every (system, entity) this rule reads, with the columns and their types."""
        needed: dict[tuple[str, str], dict[str, Compare]] = {}

        def want(system: str, entity: str, column: str, kind: Compare = "text") -> None:
            needed.setdefault((system, entity), {})[column] = kind

        for side_name in ("source", "target"):
            side = self.side(side_name)
            aliases = {lk.name: lk.entity for lk in side.lookups}
            own = (side.system, side.entity)
            needed.setdefault(own, {})

            def want_ref(
                ref: str,
                kind: Compare = "text",
                side: Side = side,
                aliases: dict[str, str] = aliases,
            ) -> None:
                if "." in ref:
                    alias, column = ref.split(".", 1)
                    want(side.system, aliases[alias], column, kind)
                else:
                    want(side.system, side.entity, ref, kind)

            for key in self.keys:
                want_ref(getattr(key, side_name))
            if side.company:
                want_ref(side.company)
            if side.id:
                want_ref(side.id)
            if side.label:
                want_ref(side.label)
            for lookup in side.lookups:
                for theirs, ours in lookup.on.items():
                    want(side.system, lookup.entity, theirs)
                    want_ref(ours)
                if lookup.company:
                    want(side.system, lookup.entity, lookup.company)
                for column, value in lookup.where.items():
                    want(side.system, lookup.entity, column, _compare_of(value))
            for mapped in self.fields:
                if side_name == "source" and mapped.source:
                    want_ref(mapped.source, "text" if mapped.map else mapped.compare)
                if side_name == "target":
                    want_ref(mapped.target, mapped.compare)
            if side_name == "source":
                for check in self.checks:
                    want_ref(check.source, "number")
            else:
                for column, value in self.actions.orphan_when.items():
                    want_ref(column, _compare_of(value))
                if self.actions.orphan == "deactivate":
                    want_ref(STATE, "number")
        source_aliases = {lk.name: lk.entity for lk in self.source.lookups}
        for link in self.links:
            want(self.target.system, link.entity, link.id)
            if link.company:
                want(self.target.system, link.entity, link.company)
            for theirs, ours in link.on.items():
                want(self.target.system, link.entity, theirs)
                if "." in ours:
                    alias, column = ours.split(".", 1)
                    want(self.source.system, source_aliases[alias], column)
                else:
                    want(self.source.system, self.source.entity, ours)
            for column, value in link.where.items():
                want(self.target.system, link.entity, column, _compare_of(value))
            for column in link.within:
                want(self.target.system, link.entity, column)
        return needed

    def company_columns(self) -> dict[tuple[str, str], str]:
        """Which column of each entity holds its company (for the snapshot's ``_company``)."""
        found: dict[tuple[str, str], str] = {}
        for side_name in ("source", "target"):
            side = self.side(side_name)
            aliases = {lk.name: lk.entity for lk in side.lookups}
            if side.company:
                if "." in side.company:
                    alias, column = side.company.split(".", 1)
                    found[(side.system, aliases[alias])] = column
                else:
                    found[(side.system, side.entity)] = side.company
            for lookup in side.lookups:
                if lookup.company:
                    found[(side.system, lookup.entity)] = lookup.company
        for link in self.links:
            if link.company:
                found[(self.target.system, link.entity)] = link.company
        return found

    def normalised_columns(self) -> dict[tuple[str, str], set[str]]:
        """Columns that joins compare: the snapshot stores ``_nk_<column>`` for each."""
        result: dict[tuple[str, str], set[str]] = {}
        for side_name in ("source", "target"):
            side = self.side(side_name)
            for key in self.keys:
                ref = getattr(key, side_name)
                if "." not in ref:
                    result.setdefault((side.system, side.entity), set()).add(ref)
            for lookup in side.lookups:
                result.setdefault((side.system, lookup.entity), set()).update(lookup.on)
                result[(side.system, side.entity)] = result.get(
                    (side.system, side.entity), set()
                ) | {ours for ours in lookup.on.values() if "." not in ours}
        for link in self.links:
            result.setdefault((self.target.system, link.entity), set()).update(link.on)
            result[(self.source.system, self.source.entity)] = result.get(
                (self.source.system, self.source.entity), set()
            ) | {ours for ours in link.on.values() if "." not in ours}
        return result


class RuleSet:
    """All rules of a run, in dependency order, with a content hash for plan fingerprints."""

    def __init__(self, rules: Sequence[Rule], files: dict[str, Path]) -> None:
        self.rules = tuple(rules)
        self.files = files
        self.hash = _hash_rules(self.rules)

    def __iter__(self) -> Any:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def names(self) -> list[str]:
        return [rule.name for rule in self.rules]

    def get(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise RuleError(f"no rule named {name!r}; known rules: {', '.join(self.names())}")

    def columns(self, system: str, entity: str) -> dict[str, Compare]:
        """Union of the columns every rule needs from one entity (types agree: checked on load)."""
        merged: dict[str, Compare] = {}
        for rule in self.rules:
            merged.update(rule.columns_needed().get((system, entity), {}))
        return merged

    def entities(self) -> list[tuple[str, str]]:
        """Distinct (system, entity) pairs in first-use order."""
        seen: dict[tuple[str, str], None] = {}
        for rule in self.rules:
            seen.update(dict.fromkeys(rule.columns_needed()))
        return list(seen)

    def reads(self) -> list[tuple[str, str, str | None]]:
        """What a snapshot reads: (system, entity, OData filter or None), first use first.

        A rule's side is read with its filter; lookups and links read the whole entity.
        """
        seen: dict[tuple[str, str, str | None], None] = {}
        for rule in self.rules:
            for side in (rule.source, rule.target):
                seen.setdefault((side.system, side.entity, side.filter), None)
            for system, entity in rule.columns_needed():
                if (system, entity) not in (
                    (rule.source.system, rule.source.entity),
                    (rule.target.system, rule.target.entity),
                ):
                    seen.setdefault((system, entity, None), None)
        return list(seen)

    def dataverse_ids(self, entity: str) -> list[str]:
        """Columns the rules treat as a Dataverse table's primary id: a side's ``id``, a
        link's ``id``, or a lookup matched on one ``_x_value`` column."""
        found: list[str] = []
        for rule in self.rules:
            for side in (rule.source, rule.target):
                if side.system != "dataverse":
                    continue
                if side.entity == entity and side.id:
                    found.append(side.id)
                for lookup in side.lookups:
                    pairs = list(lookup.on.items())
                    if (
                        lookup.entity == entity
                        and len(pairs) == 1
                        and pairs[0][1].endswith("_value")
                    ):
                        found.append(pairs[0][0])
            if rule.target.system == "dataverse":
                found += [link.id for link in rule.links if link.entity == entity]
        return list(dict.fromkeys(found))

    def company_column(self, system: str, entity: str) -> str | None:
        """The entity's company column, if any rule names one (one per entity: checked on load)."""
        for rule in self.rules:
            column = rule.company_columns().get((system, entity))
            if column:
                return column
        return None

    def normalised_columns(self, system: str, entity: str) -> list[str]:
        """Columns joined on, stored normalised as ``_nk_<column>`` in the snapshot."""
        found: set[str] = set()
        for rule in self.rules:
            found |= rule.normalised_columns().get((system, entity), set())
        return sorted(found)


def default_rules_dir() -> Path:
    """The rule set shipped with the tool: the checkout's rules/ folder, or its installed copy.

    A source checkout (or editable install) reads rules/ directly; a wheel carries the same
    files as the ``reconciler.default_rules`` package data.
    """
    checkout = Path(__file__).resolve().parent.parent / "rules"
    if (checkout / "warehouses.toml").is_file():
        return checkout
    return Path(str(resources.files("reconciler.default_rules")))


def load_rules(folder: Path, only: Iterable[str] = ()) -> RuleSet:
    """Load and validate every ``*.toml`` in ``folder``; ``only`` limits to named rules."""
    if not folder.is_dir():
        raise RuleError(f"rules folder {folder} does not exist; set [paths] rules in the profile")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise RuleError(f"rules folder {folder} has no *.toml rule files")
    rules: list[Rule] = []
    origin: dict[str, Path] = {}
    for path in files:
        rule = _load_file(path)
        if rule.name in origin:
            raise RuleError(f"{path}: rule name {rule.name!r} is also used by {origin[rule.name]}")
        origin[rule.name] = path
        rules.append(rule)
    _check_dependencies(rules, origin)
    _check_column_types(rules, origin)
    ordered = _dependency_order(rules)
    wanted = set(only)
    if wanted:
        unknown = wanted - set(origin)
        if unknown:
            raise RuleError(
                f"unknown rule(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(origin))}"
            )
        ordered = [rule for rule in ordered if rule.name in wanted]
    return RuleSet(ordered, origin)


def _load_file(path: Path) -> Rule:
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: not valid TOML: {exc}") from None
    document = _flatten_rule_table(raw)
    name = str(document.get("name", path.stem))
    try:
        return Rule.model_validate(document)
    except ValidationError as exc:
        raise RuleError(_describe(path, text, name, exc)) from None


def _flatten_rule_table(raw: dict[str, Any]) -> dict[str, Any]:
    """``[rule]`` holds name/description/depends_on; the other tables sit beside it."""
    document = dict(raw)
    header = document.pop("rule", {})
    if isinstance(header, dict):
        document = {**header, **document}
    return document


def _describe(path: Path, text: str, rule_name: str, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = [part for part in error["loc"]]
        where = _format_loc(loc)
        line = _find_line(text, loc)
        position = f"{path}:{line}" if line else str(path)
        got = error.get("input")
        shown = f" (got {got!r})" if got is not None and not isinstance(got, dict) else ""
        lines.append(f"{position}: rule {rule_name!r}, field {where}: {error['msg']}{shown}")
    return "\n".join(lines)


def _format_loc(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(rule)"


def _find_line(text: str, loc: Sequence[int | str]) -> int | None:
    """Best-effort line of the offending setting: walk tables, array items, then the key."""
    lines = text.splitlines()
    start = 0
    for depth, part in enumerate(loc):
        if isinstance(part, int):
            header = re.compile(rf"^\s*\[\[\s*{re.escape(str(loc[depth - 1]))}\s*\]\]")
            hits = [i for i, line in enumerate(lines) if header.match(line)]
            if part < len(hits):
                start = hits[part]
            continue
        found = _line_of_key(lines, start, part)
        if found is not None:
            start = found
    return start + 1 if start or loc else None


def _line_of_key(lines: list[str], start: int, key: str) -> int | None:
    pattern = re.compile(rf"^\s*(\[+\s*([\w.]*\.)?{re.escape(key)}\s*\]+|{re.escape(key)}\s*=)")
    for index in range(start, len(lines)):
        if pattern.match(lines[index]):
            return index
    return None


def _check_dependencies(rules: Sequence[Rule], origin: dict[str, Path]) -> None:
    for rule in rules:
        for link in rule.links:
            if link.rule and link.rule not in rule.depends_on:
                raise RuleError(
                    f"{origin[rule.name]}: rule {rule.name!r}, field links.{link.name}.rule: "
                    f"{link.rule!r} must also be listed in depends_on"
                )
        for needed in rule.depends_on:
            if needed not in origin:
                raise RuleError(
                    f"{origin[rule.name]}: rule {rule.name!r}, field depends_on: no rule named "
                    f"{needed!r}; known rules: {', '.join(sorted(origin))}"
                )


def _check_column_types(rules: Sequence[Rule], origin: dict[str, Path]) -> None:
    seen: dict[tuple[str, str, str], tuple[Compare, str]] = {}
    companies: dict[tuple[str, str], tuple[str, str]] = {}
    for rule in rules:
        for (system, entity), columns in rule.columns_needed().items():
            for column, kind in columns.items():
                previous = seen.setdefault((system, entity, column), (kind, rule.name))
                if previous[0] != kind:
                    raise RuleError(
                        f"{origin[rule.name]}: rule {rule.name!r} compares {entity}.{column} "
                        f"as {kind}, but rule {previous[1]!r} compares it as {previous[0]}; "
                        "use one type for a column"
                    )
        for slot, column in rule.company_columns().items():
            known = companies.setdefault(slot, (column, rule.name))
            if known[0] != column:
                raise RuleError(
                    f"{origin[rule.name]}: rule {rule.name!r} takes the company of {slot[1]} "
                    f"from {column}, but rule {known[1]!r} from {known[0]}; use one column"
                )


def _check_name(value: str) -> None:
    if not re.fullmatch(_NAME, value):
        raise ValueError(f"{value!r} is not a column name")


def _check_ref(value: str) -> None:
    if not re.fullmatch(_REF, value):
        raise ValueError(f"{value!r} is not a column or lookup.column reference")


def _dependency_order(rules: Sequence[Rule]) -> list[Rule]:
    """Topological order, ties broken by name, so plans are deterministic."""
    by_name = {rule.name: rule for rule in rules}
    ordered: list[Rule] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            cycle = " -> ".join((*chain, name))
            raise RuleError(f"rules depend on each other in a cycle: {cycle}")
        state[name] = "active"
        for needed in sorted(by_name[name].depends_on):
            visit(needed, (*chain, name))
        state[name] = "done"
        ordered.append(by_name[name])

    for name in sorted(by_name):
        visit(name, ())
    return ordered


def _hash_rules(rules: Sequence[Rule]) -> str:
    canonical = json.dumps(
        [rule.model_dump(mode="json") for rule in sorted(rules, key=lambda r: r.name)],
        sort_keys=True,
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _value_fits(value: Scalar, compare: Compare) -> bool:
    if compare == "boolean":
        return isinstance(value, bool)
    if compare == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


def _compare_of(value: Scalar) -> Compare:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "text"
