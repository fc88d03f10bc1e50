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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CompanyBind(_Model):
    """How a create names the FS company: ``<navigation>@odata.bind = /<entity_set>(<id>)``."""

    navigation: str = Field(pattern=_NAME)
    entity_set: str = Field(pattern=_NAME)


class Side(_Model):
    """One end of a rule: a system, an entity set, and how to read the rows that take part."""

    system: System
    entity: str = Field(pattern=_NAME)
    company: str | None = Field(default=None, pattern=_NAME)
    filter: str | None = None
    id: str | None = Field(default=None, pattern=_NAME)
    company_bind: CompanyBind | None = None


class KeyMap(_Model):
    """One key column pair; values are compared trimmed and case-insensitively."""

    source: str = Field(pattern=_NAME)
    target: str = Field(pattern=_NAME)


class FieldMap(_Model):
    """A target field that must equal a source field (or a constant ``value``)."""

    target: str = Field(pattern=_NAME)
    source: str | None = Field(default=None, pattern=_NAME)
    value: Scalar | None = None
    compare: Compare = "text"
    tolerance: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _one_origin(self) -> FieldMap:
        if (self.source is None) == (self.value is None):
            raise ValueError(
                "give exactly one of 'source' (a source field) or 'value' (a constant)"
            )
        if self.tolerance and self.compare != "number":
            raise ValueError("'tolerance' applies to compare = \"number\" only")
        if self.value is not None and not _value_fits(self.value, self.compare):
            raise ValueError(f"constant {self.value!r} is not a {self.compare}")
        return self


class Actions(_Model):
    """What each kind of difference becomes. The default plan never deletes."""

    missing: Literal["create", "report", "ignore"] = "create"
    changed: Literal["update", "report", "ignore"] = "update"
    orphan: Literal["report", "ignore"] = "report"
    orphan_when: dict[str, Scalar] = Field(default_factory=dict)


class Rule(_Model):
    """One flow's key rule."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    depends_on: tuple[str, ...] = ()
    source: Side
    target: Side
    keys: tuple[KeyMap, ...] = Field(min_length=1)
    fields: tuple[FieldMap, ...] = ()
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
        return self

    def source_columns(self) -> dict[str, Compare]:
        """Columns the snapshot must read from the source entity, with their types."""
        columns: dict[str, Compare] = {key.source: "text" for key in self.keys}
        if self.source.company:
            columns[self.source.company] = "text"
        for mapped in self.fields:
            if mapped.source:
                columns[mapped.source] = mapped.compare
        return columns

    def target_columns(self) -> dict[str, Compare]:
        """Columns the snapshot must read from the target entity, with their types."""
        columns: dict[str, Compare] = {key.target: "text" for key in self.keys}
        for side_column in (self.target.company, self.target.id):
            if side_column:
                columns[side_column] = "text"
        for mapped in self.fields:
            columns[mapped.target] = mapped.compare
        for name, value in self.actions.orphan_when.items():
            columns.setdefault(name, _compare_of(value))
        return columns


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
        """Union of the columns every rule needs from one entity (types must agree)."""
        merged: dict[str, Compare] = {}
        for rule in self.rules:
            for side, wanted in (
                (rule.source, rule.source_columns()),
                (rule.target, rule.target_columns()),
            ):
                if (side.system, side.entity) == (system, entity):
                    merged.update(wanted)
        return merged

    def entities(self) -> list[tuple[str, str]]:
        """Distinct (system, entity) pairs in first-use order."""
        seen: dict[tuple[str, str], None] = {}
        for rule in self.rules:
            seen.setdefault((rule.source.system, rule.source.entity), None)
            seen.setdefault((rule.target.system, rule.target.entity), None)
        return list(seen)


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
        for needed in rule.depends_on:
            if needed not in origin:
                raise RuleError(
                    f"{origin[rule.name]}: rule {rule.name!r}, field depends_on: no rule named "
                    f"{needed!r}; known rules: {', '.join(sorted(origin))}"
                )


def _check_column_types(rules: Sequence[Rule], origin: dict[str, Path]) -> None:
    seen: dict[tuple[str, str, str], tuple[Compare, str]] = {}
    for rule in rules:
        for side, columns in (
            (rule.source, rule.source_columns()),
            (rule.target, rule.target_columns()),
        ):
            for column, kind in columns.items():
                slot = (side.system, side.entity, column)
                previous = seen.setdefault(slot, (kind, rule.name))
                if previous[0] != kind:
                    raise RuleError(
                        f"{origin[rule.name]}: rule {rule.name!r} compares {side.entity}.{column} "
                        f"as {kind}, but rule {previous[1]!r} compares it as {previous[0]}; "
                        "use one type for a column"
                    )


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
