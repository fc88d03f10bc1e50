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
    "Choice",
    "CompanyBind",
    "Condition",
    "DocumentOf",
    "Excluded",
    "FieldMap",
    "KeyMap",
    "Position",
    "Rule",
    "RuleSet",
    "Side",
    "Test",
    "default_rules_dir",
    "load_rules",
]

System = Literal["fno", "dataverse"]
Compare = Literal["text", "number", "boolean"]
"""How a snapshot stores a column."""
FieldCompare = Literal["text", "number", "boolean", "date"]
"""How a field is compared: a ``date`` column is stored as text and compared by its day."""
Scalar = str | int | float | bool
_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
STATE = "statecode"
"""Dataverse row state: 0 active, 1 inactive (deactivation writes 1 with statuscode 2)."""
_REF = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Test(_Model):
    """A comparison other than equality: ``{ ne = 690970004 }`` or ``{ in = [1, 2] }``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    ne: Scalar | None = None
    in_: tuple[Scalar, ...] | None = Field(default=None, alias="in", min_length=1)

    @model_validator(mode="after")
    def _one(self) -> Test:
        if (self.ne is None) == (self.in_ is None):
            raise ValueError("a test is { ne = value } or { in = [values] }")
        return self

    def values(self) -> tuple[Scalar, ...]:
        return (self.ne,) if self.ne is not None else tuple(self.in_ or ())


Condition = dict[str, Scalar | Test]
"""Column (or ``lookup.column``) -> the value it must equal, or a Test; all must hold."""


class Choice(_Model):
    """One branch of a field's ``choose``: the source to use when every ``when`` holds."""

    when: Condition = Field(default_factory=dict)
    source: str = Field(pattern=_REF)


class Position(_Model):
    """A key made by numbering rows 1, 2, … among the source rows with the same ``within``
    values, in ``order`` (e.g. journal line numbers from FS line order)."""

    within: tuple[str, ...] = Field(min_length=1)
    order: tuple[str, ...] = Field(min_length=1)


class Excluded(_Model):
    """Source rows the rule's filter leaves out but that still own their target row.

    Read with their own OData ``filter``; a target row with their key is then no orphan but
    the finding ``name`` (with ``message``), or, with ``report = false``, left alone.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    filter: str = Field(min_length=1)
    message: str = ""
    report: bool = True


class DocumentOf(_Model):
    """This rule's rows are lines of the documents another rule's rows head.

    ``keys`` maps this rule's key targets to the header rule's key targets (together they
    name the header). A missing header and its missing lines are created in one change set
    (lines are posted to the header's ``navigation``); lines of a frozen header are frozen
    too; lines of a header FS does not have are no orphans of their own.
    """

    header: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    keys: dict[str, str] = Field(min_length=1)
    navigation: str = Field(pattern=_NAME)


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
    inner: bool = False
    """Rows it matches nothing for take no part, silently (``required`` makes them findings)."""
    system: System | None = None
    """The system the entity lives in, when not the side's own: an FS row can look up the SCM
    warehouse of its warehouse name (both are in the snapshot)."""

    @property
    def finding(self) -> str:
        """The finding raised for a row whose required lookup matches nothing."""
        return f"unknown_{self.name}"

    @model_validator(mode="after")
    def _names(self) -> Lookup:
        if not self.on and not self.where:
            raise ValueError("a lookup needs 'on' (columns to match) or 'where' (a fixed record)")
        if self.required and self.inner:
            raise ValueError("a lookup is 'required' (findings) or 'inner' (silent), not both")
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

    @model_validator(mode="after")
    def _plain(self) -> Link:
        if self.system is not None or self.inner:
            raise ValueError("'system' and 'inner' apply to lookups, not links")
        return self


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
    frozen_when: Condition = Field(default_factory=dict)
    """Target: rows (documents) that may no longer be written, e.g. ``{ IsPosted = "Yes" }``
    or ``{ SalesOrderStatus = { in = ["Invoiced", "Canceled"] } }``; their differences are
    ``frozen`` findings."""
    excluded: tuple[Excluded, ...] = ()
    """Source: rows the filter leaves out that still own their target row (see Excluded)."""
    entity_key: tuple[str, ...] = ()
    """F&O target: the entity's own key fields, when the rule matches on others (a journal is
    matched by its Description but addressed by dataAreaId + JournalNumber)."""

    def lookup_system(self, lookup: Lookup) -> str:
        return lookup.system or self.system


class KeyMap(_Model):
    """One key column pair; values are compared trimmed and case-insensitively.

    ``compare = "number"`` compares numbers (``1`` and ``1.0`` agree); ``negate`` flips the
    source's sign (service lines' external line order); ``position`` numbers source rows
    instead of reading a column.
    """

    target: str = Field(pattern=_REF)
    source: str | None = Field(default=None, pattern=_REF)
    compare: Literal["text", "number"] = "text"
    negate: bool = False
    position: Position | None = None

    @model_validator(mode="after")
    def _origin(self) -> KeyMap:
        if (self.source is None) == (self.position is None):
            raise ValueError("give exactly one of 'source' (a column) or 'position' (a numbering)")
        if (self.negate or self.position) and self.compare != "number":
            raise ValueError("'negate' and 'position' need compare = \"number\"")
        return self

    def named(self, side: str) -> str:
        """How the key is called on one side, for messages."""
        if side == "target":
            return self.target
        if self.position is not None:
            return f"position within {'/'.join(self.position.within)}"
        return f"-{self.source}" if self.negate else str(self.source)


class FieldMap(_Model):
    """A target field that must equal a source field (or a constant ``value``).

    ``map`` translates source values (e.g. enum names to option-set numbers); ``decimals``
    is the precision the target stores (the source is rounded to it, and a rounding
    larger than ``tolerance`` is a finding); ``adjust`` marks the quantity an ``adjust``
    action moves; ``link`` writes the field as that link's lookup instead of a value;
    ``default`` stands in for a blank source value (FS leaves a discount empty where F&O's
    non-nullable decimal holds 0).
    """

    target: str = Field(pattern=_REF)
    source: str | None = Field(default=None, pattern=_REF)
    value: Scalar | None = None
    choose: tuple[Choice, ...] = ()
    compare: FieldCompare = "text"
    tolerance: float = Field(default=0.0, ge=0)
    map: dict[str, Scalar] = Field(default_factory=dict)
    decimals: int | None = Field(default=None, ge=0, le=10)
    negate: bool = False
    divide: float | None = Field(default=None, gt=0)
    required: bool = False
    adjust: bool = False
    link: str | None = Field(default=None, pattern=_NAME)
    default: Scalar | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> FieldMap:
        origins = (self.source is not None) + (self.value is not None) + bool(self.choose)
        if origins != 1:
            raise ValueError(
                "give exactly one of 'source' (a source field), 'value' (a constant) or "
                "'choose' (sources picked by conditions)"
            )
        numeric = self.tolerance or self.decimals is not None or self.adjust
        if (numeric or self.negate or self.divide) and self.compare != "number":
            raise ValueError(
                "'tolerance', 'decimals', 'negate', 'divide' and 'adjust' apply to "
                'compare = "number" only'
            )
        if self.choose:
            if self.map:
                raise ValueError("'map' translates one source; it cannot follow 'choose'")
            if self.choose[-1].when:
                raise ValueError(
                    "the last 'choose' entry must have no 'when': it is the source used "
                    "when no other entry's conditions hold"
                )
            if any(not choice.when for choice in self.choose[:-1]):
                raise ValueError("only the last 'choose' entry may leave out 'when'")
        if self.required and self.value is not None:
            raise ValueError("'required' applies to a source, not to a constant")
        if self.default is not None and (self.value is not None or self.required):
            raise ValueError(
                "'default' stands in for a blank source value: not with 'value' or 'required'"
            )
        if self.default is not None and not _value_fits(self.default, self.compare):
            raise ValueError(f"default {self.default!r} is not a {self.compare}")
        if self.value is not None and not _value_fits(self.value, self.compare):
            raise ValueError(f"constant {self.value!r} is not a {self.compare}")
        for mapped in self.map.values():
            if not _value_fits(mapped, self.compare):
                raise ValueError(f"map value {mapped!r} is not a {self.compare}")
        return self

    def sources(self) -> list[str]:
        """Every source column the field reads (its source, or each choice's)."""
        if self.source:
            return [self.source]
        return [choice.source for choice in self.choose]

    @property
    def described(self) -> str:
        """The source as messages name it."""
        if self.source:
            return self.source
        if self.choose:
            return " or ".join(self.sources())
        return repr(self.value)

    @property
    def writable(self) -> bool:
        """Plain target columns and links are written; lookup columns are compared only."""
        return self.link is not None or "." not in self.target


class Check(_Model):
    """A data-quality finding raised for every source row whose ``source`` is below ``min``,
    or differs from the column (or ``lookup.column``) ``equals`` names, compared as trimmed,
    case-insensitive text (blank on both sides agrees). ``blocks`` keeps such rows from being
    written, as a blank ``required`` value does: the row's document waits, whole."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: str = Field(pattern=_REF)
    min: float | None = None
    equals: str | None = Field(default=None, pattern=_REF)
    blocks: bool = False
    message: str = ""

    @model_validator(mode="after")
    def _one_test(self) -> Check:
        if (self.min is None) == (self.equals is None):
            raise ValueError(
                f"check {self.name!r}: give exactly one of 'min' (a number the source may not "
                "go below) or 'equals' (the column or lookup.column the source must equal)"
            )
        return self

    def refs(self) -> list[str]:
        """The source references the check reads."""
        return [self.source] + ([self.equals] if self.equals else [])

    @property
    def described(self) -> str:
        """What the check tests, for messages without one of their own."""
        if self.equals is not None:
            return f"{self.source} differs from {self.equals}"
        return f"{self.source} is below {self.min}"


class Actions(_Model):
    """What each kind of difference becomes. The default plan never deletes."""

    missing: Literal["create", "adjust", "report", "ignore"] = "create"
    changed: Literal["update", "adjust", "report", "ignore"] = "update"
    orphan: Literal["report", "ignore", "deactivate"] = "report"
    orphan_when: Condition = Field(default_factory=dict)
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
    document: DocumentOf | None = None

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
        self._check_sides()
        self._check_checks()
        self._check_references()
        self._check_within()
        self._check_adjust()
        self._check_document()
        if self.actions.orphan == "deactivate" and self.target.system != "dataverse":
            raise ValueError('orphan = "deactivate" needs a Dataverse target (statecode)')
        if self.actions.mode == "reference":
            if self.source.label is None:
                raise ValueError('mode = "reference" needs source.label (how rows are named)')
            if self.actions.missing != "report" or self.actions.changed != "report":
                raise ValueError('mode = "reference" only reports: missing and changed = "report"')
        return self

    def _check_sides(self) -> None:
        if self.source.frozen_when:
            raise ValueError("source.frozen_when: only the target side's records can be frozen")
        if self.target.excluded:
            raise ValueError("target.excluded: only source rows can be excluded")
        if self.source.entity_key:
            raise ValueError("source.entity_key: only an F&O target needs its entity key")
        if self.target.entity_key:
            if self.target.system != "fno":
                raise ValueError("target.entity_key applies to an F&O target only")
            for column in self.target.entity_key:
                _check_name(column)
        for side in (self.source, self.target):
            names = [lookup.name for lookup in side.lookups]
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"lookup name(s) used twice: {', '.join(repeated)}")
            for lookup in side.lookups:
                if lookup.system == side.system:
                    raise ValueError(
                        f"lookup {lookup.name!r}: 'system' is only needed for the other system"
                    )
        names = [exclusion.name for exclusion in self.source.excluded]
        if len(names) != len(set(names)):
            raise ValueError("source.excluded: each entry needs its own name")

    def _check_checks(self) -> None:
        """Each check has its own name (it is the finding's) and reads known lookups."""
        names = [check.name for check in self.checks]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"check name(s) used twice: {', '.join(repeated)}")
        lookups = {lookup.name for lookup in self.source.lookups}
        for check in self.checks:
            for ref in check.refs():
                prefix = ref.split(".")[0] if "." in ref else None
                if prefix is not None and prefix not in lookups:
                    raise ValueError(
                        f"check {check.name!r}: {ref!r} names no source.lookups entry {prefix!r}"
                    )

    def _check_document(self) -> None:
        document = self.document
        if document is None:
            return
        if self.target.system != "fno":
            raise ValueError("document: line documents are written to F&O (SCM) targets only")
        if document.header == self.name or document.header not in self.depends_on:
            raise ValueError(
                f"document.header {document.header!r} must be another rule, listed in depends_on"
            )
        keys = {key.target for key in self.keys}
        for ours in document.keys:
            if ours not in keys:
                raise ValueError(
                    f"document.keys: {ours!r} is not a key target of this rule "
                    f"(keys: {', '.join(sorted(keys))})"
                )
        if not self.target.company:
            raise ValueError("document lines need target.company (the header's company)")

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

    def source_refs(self) -> list[str]:
        """Every source reference the rule reads (keys, fields, conditions, checks…)."""
        refs: list[str] = []
        for key in self.keys:
            if key.source:
                refs.append(key.source)
            if key.position:
                refs += [*key.position.within, *key.position.order]
        for mapped in self.fields:
            refs += mapped.sources()
            for choice in mapped.choose:
                refs += list(choice.when)
        refs += [ref for check in self.checks for ref in check.refs()]
        refs += [ref for ref in (self.source.company, self.source.label) if ref]
        return refs

    def _check_references(self) -> None:
        names = {
            "source": {lk.name for lk in self.source.lookups},
            "target": {lk.name for lk in self.target.lookups},
        }
        links = {link.name for link in self.links}
        refs = [("source", ref) for ref in self.source_refs()]
        refs += [("target", key.target) for key in self.keys]
        refs += [("target", f.target) for f in self.fields]
        refs += [("target", column) for column in self.target.frozen_when]
        refs += [("target", column) for column in self.actions.orphan_when]
        if self.target.company:
            refs.append(("target", self.target.company))
        for side, ref in refs:
            if not re.fullmatch(_REF, ref):
                raise ValueError(f"{ref!r} is not a column or lookup.column reference")
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

    @property
    def joins_on_company(self) -> bool:
        """Both sides carry a company, so rows match only within one legal entity."""
        return bool(self.source.company and self.target.company)

    def record_key(self) -> list[str]:
        """The fields that address one target record of an F&O entity: ``entity_key``, or
        the company column and the plain key columns."""
        if self.target.entity_key:
            return list(self.target.entity_key)
        company = [self.target.company] if self.target.company else []
        return company + [key.target for key in self.keys if "." not in key.target]

    def key_kind(self, target: str) -> Compare:
        """How a target key column is stored (numbers for number keys)."""
        for key in self.keys:
            if key.target == target:
                return key.compare
        return "text"

    def columns_needed(self) -> dict[tuple[str, str], dict[str, Compare]]:
        """Every (system, entity) this rule reads, with the columns and their types."""
        needed: dict[tuple[str, str], dict[str, Compare]] = {}

        def want(system: str, entity: str, column: str, kind: Compare = "text") -> None:
            needed.setdefault((system, entity), {})[column] = kind

        for side_name in ("source", "target"):
            side = self.side(side_name)
            aliases = {lk.name: (side.lookup_system(lk), lk.entity) for lk in side.lookups}
            own = (side.system, side.entity)
            needed.setdefault(own, {})

            def want_ref(
                ref: str,
                kind: Compare = "text",
                side: Side = side,
                aliases: dict[str, tuple[str, str]] = aliases,
            ) -> None:
                if "." in ref:
                    alias, column = ref.split(".", 1)
                    want(*aliases[alias], column, kind)
                else:
                    want(side.system, side.entity, ref, kind)

            for key in self.keys:
                if side_name == "target":
                    want_ref(key.target, key.compare)
                elif key.source:
                    want_ref(key.source, key.compare)
                elif key.position:
                    for ref in (*key.position.within, *key.position.order):
                        want_ref(ref)
            if side.company:
                want_ref(side.company)
            if side.id:
                want_ref(side.id)
            if side.label:
                want_ref(side.label)
            for lookup in side.lookups:
                system = side.lookup_system(lookup)
                for theirs, ours in lookup.on.items():
                    want(system, lookup.entity, theirs)
                    want_ref(ours)
                if lookup.company:
                    want(system, lookup.entity, lookup.company)
                for column, value in lookup.where.items():
                    want(system, lookup.entity, column, _compare_of(value))
            for mapped in self.fields:
                if side_name == "source":
                    kind: Compare = "text" if mapped.map else _stored(mapped.compare)
                    for ref in mapped.sources():
                        want_ref(ref, kind)
                    for choice in mapped.choose:
                        for column, test in choice.when.items():
                            want_ref(column, _compare_of(_first_value(test)))
                if side_name == "target":
                    want_ref(mapped.target, _stored(mapped.compare))
            if side_name == "source":
                for check in self.checks:
                    for ref in check.refs():
                        want_ref(ref, "number" if check.min is not None else "text")
            else:
                for column, test in (self.actions.orphan_when | side.frozen_when).items():
                    want_ref(column, _compare_of(_first_value(test)))
                if self.actions.orphan == "deactivate":
                    want_ref(STATE, "number")
                if side.system == "fno":
                    for column in self.record_key():
                        want(side.system, side.entity, column, self.key_kind(column))
        source_aliases = {
            lk.name: (self.source.lookup_system(lk), lk.entity) for lk in self.source.lookups
        }
        for link in self.links:
            want(self.target.system, link.entity, link.id)
            if link.company:
                want(self.target.system, link.entity, link.company)
            for theirs, ours in link.on.items():
                want(self.target.system, link.entity, theirs)
                if "." in ours:
                    alias, column = ours.split(".", 1)
                    want(*source_aliases[alias], column)
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
            aliases = {lk.name: (side.lookup_system(lk), lk.entity) for lk in side.lookups}
            if side.company:
                if "." in side.company:
                    alias, column = side.company.split(".", 1)
                    found[aliases[alias]] = column
                else:
                    found[(side.system, side.entity)] = side.company
            for lookup in side.lookups:
                if lookup.company:
                    found[(side.lookup_system(lookup), lookup.entity)] = lookup.company
        for link in self.links:
            if link.company:
                found[(self.target.system, link.entity)] = link.company
        return found

    def normalised_columns(self) -> dict[tuple[str, str], set[str]]:
        """Columns that joins compare: the snapshot stores ``_nk_<column>`` for each."""
        result: dict[tuple[str, str], set[str]] = {}
        for side_name in ("source", "target"):
            side = self.side(side_name)
            own = result.setdefault((side.system, side.entity), set())
            for key in self.keys:
                ref = key.target if side_name == "target" else key.source
                if ref and "." not in ref and key.compare == "text":
                    own.add(ref)
            for lookup in side.lookups:
                theirs = (side.lookup_system(lookup), lookup.entity)
                result.setdefault(theirs, set()).update(lookup.on)
                own = result.setdefault((side.system, side.entity), set())
                own |= {ours for ours in lookup.on.values() if "." not in ours}
        for link in self.links:
            result.setdefault((self.target.system, link.entity), set()).update(link.on)
            result[(self.source.system, self.source.entity)] = result.get(
                (self.source.system, self.source.entity), set()
            ) | {ours for ours in link.on.values() if "." not in ours}
        return {slot: columns for slot, columns in result.items() if columns}


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
            for exclusion in rule.source.excluded:
                seen.setdefault((rule.source.system, rule.source.entity, exclusion.filter), None)
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
                        side.lookup_system(lookup) == "dataverse"
                        and lookup.entity == entity
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
    _check_documents(rules, origin)
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


def _check_documents(rules: Sequence[Rule], origin: dict[str, Path]) -> None:
    """A line rule's header rule must name the header by all its keys, in the same system."""
    by_name = {rule.name: rule for rule in rules}
    navigations: dict[str, tuple[str, str]] = {}
    for rule in rules:
        document = rule.document
        if document is None:
            continue
        where = f"{origin[rule.name]}: rule {rule.name!r}, field document"
        header = by_name[document.header]
        known = navigations.setdefault(header.name, (document.navigation, rule.name))
        if known[0] != document.navigation:
            raise RuleError(
                f"{where}.navigation: {document.navigation!r}, but rule {known[1]!r} posts "
                f"{header.name!r}'s lines to {known[0]!r}; lines of one header share one "
                "navigation"
            )
        if header.document is not None:
            raise RuleError(f"{where}.header: {header.name!r} is itself a line rule")
        if (header.target.system, bool(header.target.company)) != ("fno", True):
            raise RuleError(f"{where}.header: {header.name!r} must write F&O records per company")
        header_keys = [key.target for key in header.keys]
        unknown = sorted(set(document.keys.values()) - set(header_keys))
        if unknown:
            raise RuleError(
                f"{where}.keys: {', '.join(unknown)} not key target(s) of rule {header.name!r} "
                f"({', '.join(header_keys)})"
            )
        unnamed = [key for key in header_keys if key not in document.keys.values()]
        if unnamed:
            raise RuleError(
                f"{where}.keys: the header's key {', '.join(unnamed)} is not mapped; every key "
                "of the header rule must be, so each line names one header"
            )
        for ours, theirs in document.keys.items():
            if rule.key_kind(ours) != header.key_kind(theirs):
                raise RuleError(
                    f"{where}.keys: {ours} and {header.name}'s {theirs} compare differently"
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


def _value_fits(value: Scalar, compare: FieldCompare) -> bool:
    if compare == "boolean":
        return isinstance(value, bool)
    if compare == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


def _stored(compare: FieldCompare) -> Compare:
    """How a field's columns are stored: dates as text (compared by their day)."""
    return "text" if compare == "date" else compare


def _first_value(test: Scalar | Test) -> Scalar:
    return test.values()[0] if isinstance(test, Test) else test


def _compare_of(value: Scalar) -> Compare:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "text"
