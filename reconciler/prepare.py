"""Prepare: one flat table per rule and side, built once when a snapshot is written.

A prepared table holds exactly what the diff joins and compares, in plain columns:
``_company``, normalised keys ``k<i>`` and their display values ``o<i>``, mapped field
values ``f<j>`` (source values already translated to the target's representation),
resolved links ``l<n>``, and flags for findings. Lookups (joins to other entities, of the
same system or, with ``system``, of the other one) and links (joins from source rows to
target-system records) are resolved here, so the plan stage is a single join on plain
columns. Rules with ``source.excluded`` also get ``prep__<rule>__excluded``: the keys of
the source rows their filter leaves out but that still own their target row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from reconciler.rules import (
    STATE,
    Check,
    FieldMap,
    KeyMap,
    Link,
    Lookup,
    Rule,
    Scalar,
    Side,
    Test,
)
from reconciler.sql import ident, literal
from reconciler.tables import ETAG, NUMBER_TYPE, nk, prepared_table, table_name

__all__ = ["date_sql", "key_hash", "number_text", "prepare_rule", "shown_columns"]


@dataclass(frozen=True)
class _Scope:
    """How column references of one side resolve to SQL."""

    side: Side
    row: str = "r"

    def ref(self, reference: str) -> str:
        if "." in reference:
            alias, column = reference.split(".", 1)
            return f"{ident('lk_' + alias)}.{ident(column)}"
        return f"{self.row}.{ident(reference)}"

    def normalised(self, reference: str, normalised_columns: set[str]) -> str:
        if "." not in reference and reference in normalised_columns:
            return f"{self.row}.{ident(nk(reference))}"
        return f"lower(trim(CAST({self.ref(reference)} AS VARCHAR)))"

    def company(self) -> str:
        company = self.side.company
        if company is None:
            return "''"
        if "." in company:
            return f"{ident('lk_' + company.split('.', 1)[0])}._company"
        return f"{self.row}._company"


Normalised = dict[tuple[str, str], set[str]]


def prepare_rule(
    con: duckdb.DuckDBPyConnection, rule: Rule, normalised: Normalised, mapped: Sequence[str]
) -> None:
    """Create ``prep__<rule>__source`` and ``prep__<rule>__target`` in the snapshot.

    ``normalised`` maps each (system, entity) to the columns with a stored ``_nk_`` twin;
    ``mapped`` lists the legal entities the profile compares.
    """
    con.execute(_with_key_flags(rule, "source", _source_sql(rule, normalised), mapped))
    con.execute(_with_key_flags(rule, "target", _target_sql(rule, normalised), mapped))
    if rule.source.excluded:
        con.execute(_excluded_sql(rule, normalised))


def _with_key_flags(rule: Rule, side: str, select: str, mapped: Sequence[str]) -> str:
    """The key hash the diff joins on (``_kh``, see ``key_hash``) and key-quality flags,
    computed once here so the plan stage only filters and joins: ``_blank`` (a key part is
    empty), ``_dup`` (the key repeats within its company), and, when FS keys carry no
    company, ``_first``/``_agree`` (one source row per key, and whether all mapped
    companies that have the key agree on every field)."""
    keys = [f"k{i}" for i in range(len(rule.keys))]
    blank = " OR ".join(f"coalesce({k}, '') = ''" for k in keys)
    flags = [
        f"{key_hash(rule, keys)} AS _kh",
        f"({blank}) AS _blank",
        f"count(*) OVER (PARTITION BY _company, {', '.join(keys)}) > 1 AS _dup",
    ]
    if side == "source" and rule.source.company and not rule.target.company:
        in_scope = f"(_company IN ({', '.join(literal(c) for c in mapped) or 'NULL'}))"
        window = f"PARTITION BY {', '.join(keys)}, {in_scope}"
        digest = (
            "hash(" + ", ".join(f"f{i}" for i in range(len(rule.fields))) + ")"
            if rule.fields
            else "0"
        )
        flags.append(f"row_number() OVER ({window} ORDER BY _company) = 1 AS _first")
        flags.append(f"min({digest}) OVER ({window}) = max({digest}) OVER ({window}) AS _agree")
    shown = shown_columns(rule, side)
    flags.append(f"CAST(json_array({', '.join(shown)}) AS VARCHAR) AS _show")
    links_only = [column for column in shown if column[0] in "lm"]  # kept in _show only
    everything = f"* EXCLUDE ({', '.join(links_only)})" if links_only else "*"
    table = ident(prepared_table(rule.name, side))
    return f"CREATE TABLE {table} AS SELECT {everything}, {', '.join(flags)} FROM ({select})"


def shown_columns(rule: Rule, side: str) -> list[str]:
    """What the plan shows of a row that differs, in the order ``_show`` holds it: the
    original keys, and on the source each link's record id and match values, on the target
    the record id and ETag. One JSON text column instead of a dozen: the diff fetches it
    for the few rows that differ, by row id, five times faster than the separate columns."""
    shown = [f"o{i}" for i in range(len(rule.keys))]
    if side == "target":
        return [*shown, "_id", "_etag"]
    for index, link in enumerate(rule.links):
        shown.append(f"l{index}")
        shown += [f"m{index}_{position}" for position in range(len(link.on))]
    return shown


def key_hash(rule: Rule, keys: list[str]) -> str:
    """One 128-bit value per join key (company, when both sides have one, and the
    normalised keys): a hash join on it is about twice as fast as one on the key strings.
    NULL when a part is NULL, which matches nothing, as the strings would not. The parts are
    hashed as a JSON array, so no two different keys share an input, and 128 bits make an
    accidental collision among even 10^9 keys less likely than 10^-20."""
    parts = (["_company"] if rule.joins_on_company else []) + keys
    absent = " OR ".join(f"{part} IS NULL" for part in parts)
    array = f"CAST(json_array({', '.join(parts)}) AS VARCHAR)"
    return f"(CASE WHEN {absent} THEN NULL ELSE md5_number({array}) END)"


def _source_sql(rule: Rule, normalised: Normalised, filter: str | None = None) -> str:
    """The source side as read with its own filter (or, for exclusions, with ``filter``)."""
    side = rule.source
    scope = _Scope(side)
    own = normalised.get((side.system, side.entity), set())
    columns = [f"{scope.company()} AS _company"]
    columns += _key_columns(rule, "source", scope, own)
    blocked = []
    for index, mapped in enumerate(rule.fields):
        columns += _source_field(mapped, index, scope)
        if mapped.required:
            columns.append(f"(f{index} IS NULL OR CAST(f{index} AS VARCHAR) = '') AS b{index}")
            blocked.append(f"b{index}")
    for index, check in enumerate(rule.checks):
        columns += _check_columns(check, index, scope)
        if check.blocks:
            blocked.append(f"c{index}")
    columns.append(f"({' OR '.join(blocked) or 'false'}) AS _blocked")
    for index, link in enumerate(rule.links):
        columns += _link_columns(link, index)
        columns += [  # only needed (and only stored) when no record satisfies the link
            f"CASE WHEN {_linked_id(link, index)} IS NULL "
            f"THEN CAST({scope.ref(ours)} AS VARCHAR) END AS m{index}_{position}"
            for position, (_theirs, ours) in enumerate(sorted(link.on.items()))
        ]
    for index, lookup in enumerate(side.lookups):
        columns.append(f"{ident('lk_' + lookup.name)}._hit IS NOT NULL AS q{index}")
        columns += [
            f"CAST({scope.ref(ours)} AS VARCHAR) AS qv{index}_{position}"
            for position, (_theirs, ours) in enumerate(sorted(lookup.on.items()))
        ]
    if side.label:
        columns.append(f"CAST({scope.ref(side.label)} AS VARCHAR) AS _label")
    joins = _lookup_joins(side, scope, normalised)
    joins += [  # links scoped 'within' another link join after it
        _link_join(link, index, scope, own, rule.links)
        for index, link in sorted(enumerate(rule.links), key=lambda item: bool(item[1].within))
    ]
    table = ident(table_name(side.system, side.entity, filter or side.filter))
    return f"SELECT {', '.join(columns)} FROM {table} AS r " + " ".join(joins)


def _target_sql(rule: Rule, normalised: Normalised) -> str:
    side = rule.target
    scope = _Scope(side)
    own = normalised.get((side.system, side.entity), set())
    columns = [f"{scope.company()} AS _company", f"r.{ident(ETAG)} AS _etag"]
    columns.append(f"{_record_id(rule)} AS _id")
    columns += _key_columns(rule, "target", scope, own)
    columns += [
        f"{_target_value(m, scope.ref(m.target))} AS f{index}"
        for index, m in enumerate(rule.fields)
    ]
    eligible = _conditions(scope, rule.actions.orphan_when)
    if rule.actions.orphan == "deactivate":  # an inactive orphan is already dealt with
        eligible = f"({eligible} AND coalesce(r.{ident(STATE)}, 0) = 0)"
    columns.append(f"{eligible} AS _orphan_eligible")
    frozen = _conditions(scope, side.frozen_when) if side.frozen_when else "false"
    columns.append(f"{frozen} AS _frozen")
    joins = _lookup_joins(side, scope, normalised)
    return f"SELECT {', '.join(columns)} FROM {_side_table(side)} AS r " + " ".join(joins)


def _excluded_sql(rule: Rule, normalised: Normalised) -> str:
    """Keys of the rows each exclusion's filter reads, first exclusion first, minus keys the
    rule's own rows have (those are compared as usual)."""
    keys = [f"k{i}" for i in range(len(rule.keys))]
    originals = [f"o{i}" for i in range(len(rule.keys))]
    parts = [
        f"SELECT _company, {', '.join(keys + originals)}, {index} AS _excluded "
        f"FROM ({_source_sql(rule, normalised, exclusion.filter)})"
        for index, exclusion in enumerate(rule.source.excluded)
    ]
    own = f"SELECT _company, {', '.join(keys)} FROM ({_source_sql(rule, normalised)})"
    present = " AND ".join(f"coalesce(x.{k}, '') <> ''" for k in keys)
    same = " AND ".join(
        ["o._company IS NOT DISTINCT FROM x._company"] + [f"o.{k} = x.{k}" for k in keys]
    )
    table = ident(prepared_table(rule.name, "excluded"))
    return (
        f"CREATE TABLE {table} AS SELECT * FROM ({' UNION ALL '.join(parts)}) AS x "
        f"WHERE {present} AND NOT EXISTS (SELECT 1 FROM ({own}) AS o WHERE {same}) "
        f"QUALIFY row_number() OVER (PARTITION BY _company, {', '.join(keys)} "
        "ORDER BY _excluded) = 1"
    )


def _side_table(side: Side) -> str:
    return ident(table_name(side.system, side.entity, side.filter))


def _record_id(rule: Rule) -> str:
    """The id that addresses a target record: Dataverse's primary id column, or an F&O
    entity's key fields as JSON (numbers as numbers, so the key segment is typed right)."""
    side = rule.target
    if side.system == "dataverse":
        return f"CAST(r.{ident(side.id)} AS VARCHAR)" if side.id else "NULL::VARCHAR"
    parts = []
    for column in rule.record_key():
        value = f"r.{ident(column)}"
        if rule.key_kind(column) == "number":
            value = f"json({number_text(value)})"
        parts += [literal(column), value]
    return f"CAST(json_object({', '.join(parts)}) AS VARCHAR)"


def number_text(value: str) -> str:
    """A number as canonical text: ``1`` for 1.0, ``-1.5``; the same on both sides."""
    return (
        f"(CASE WHEN {value} IS NULL THEN NULL WHEN {value} = trunc({value}) "
        f"THEN CAST(CAST({value} AS BIGINT) AS VARCHAR) "
        f"ELSE rtrim(rtrim(CAST(CAST({value} AS {NUMBER_TYPE}) AS VARCHAR), '0'), '.') END)"
    )


def date_sql(value: str) -> str:
    """A date-only value from either service: the day of an ISO timestamp, and NULL for F&O's
    empty date (1900-01-01)."""
    day = f"substr(CAST({value} AS VARCHAR), 1, 10)"
    return f"(CASE WHEN {day} IN ('', '1900-01-01') THEN NULL ELSE TRY_CAST({day} AS DATE) END)"


def _key_columns(rule: Rule, side_name: str, scope: _Scope, own: set[str]) -> list[str]:
    columns = []
    for index, key in enumerate(rule.keys):
        if key.compare == "number":
            text = number_text(_key_number(rule, key, side_name, scope))
            columns += [f"{text} AS k{index}", f"{text} AS o{index}"]
            continue
        reference = key.target if side_name == "target" else str(key.source)
        columns.append(f"{scope.normalised(reference, own)} AS k{index}")
        columns.append(f"CAST({scope.ref(reference)} AS VARCHAR) AS o{index}")
    return columns


def _key_number(rule: Rule, key: KeyMap, side_name: str, scope: _Scope) -> str:
    if side_name == "target":
        return scope.ref(key.target)
    if key.position is not None:
        within = ", ".join([scope.company()] + [scope.ref(ref) for ref in key.position.within])
        order = ", ".join(scope.ref(ref) for ref in key.position.order)
        return f"row_number() OVER (PARTITION BY {within} ORDER BY {order})"
    value = scope.ref(str(key.source))
    return f"(-{value})" if key.negate else value


def _source_field(mapped: FieldMap, index: int, scope: _Scope) -> list[str]:
    """``f`` = value in the target's terms; ``v`` = the source value as read (for messages);
    ``u`` = a value the map does not know; ``p`` = rounding to the target's decimals lost
    more than the tolerance."""
    if mapped.value is not None:
        return [
            f"{_literal(mapped.value)} AS f{index}",
            f"NULL::VARCHAR AS v{index}",
            f"false AS u{index}",
            f"false AS p{index}",
        ]
    raw = _chosen(mapped, scope)
    if mapped.default is not None:
        blank = f"CAST({raw} AS VARCHAR) = ''" if mapped.compare == "text" else "false"
        default = _literal(mapped.default)
        raw = f"(CASE WHEN {raw} IS NULL OR {blank} THEN {default} ELSE {raw} END)"
    value = raw
    unmapped = "false"
    if mapped.map:
        cases = " ".join(
            f"WHEN {literal(str(name).casefold())} THEN {_literal(target)}"
            for name, target in sorted(mapped.map.items())
        )
        value = f"(CASE lower(trim(CAST({raw} AS VARCHAR))) {cases} ELSE NULL END)"
        unmapped = f"({raw} IS NOT NULL AND {value} IS NULL)"
    if mapped.negate:
        value = f"(-{value})"
    if mapped.divide:
        value = f"CAST({value} / {mapped.divide!r} AS {NUMBER_TYPE})"
    if mapped.compare == "date":
        value = date_sql(value)
    lossy = "false"
    if mapped.decimals is not None:
        rounded = f"round({value}, {mapped.decimals})"
        lossy = f"coalesce(abs({value} - {rounded}) > {mapped.tolerance!r} + 1e-9, false)"
        value = rounded
    return [
        f"{value} AS f{index}",
        f"CAST({raw} AS VARCHAR) AS v{index}",
        f"{unmapped} AS u{index}",
        f"{lossy} AS p{index}",
    ]


def _check_columns(check: Check, index: int, scope: _Scope) -> list[str]:
    """``c`` = the row fails the check; ``cv`` = the values shown in the finding."""
    value = scope.ref(check.source)
    if check.equals is None:
        return [
            f"coalesce({value} < {check.min!r}, false) AS c{index}",
            f"CAST({value} AS VARCHAR) AS cv{index}",
        ]
    other = scope.ref(check.equals)
    shown = [f"coalesce(CAST({ref} AS VARCHAR), 'blank')" for ref in (value, other)]
    return [
        f"({_folded(value)} IS DISTINCT FROM {_folded(other)}) AS c{index}",
        f"({shown[0]} || ', expected ' || {shown[1]}) AS cv{index}",
    ]


def _folded(column: str) -> str:
    """Text as keys compare it: trimmed, case-folded, blank as NULL."""
    return f"nullif(lower(trim(CAST({column} AS VARCHAR))), '')"


def _chosen(mapped: FieldMap, scope: _Scope) -> str:
    """The source column, or the first ``choose`` entry whose conditions hold."""
    if mapped.source is not None:
        return scope.ref(mapped.source)
    cases = [
        f"WHEN {_conditions(scope, choice.when)} THEN {scope.ref(choice.source)}"
        for choice in mapped.choose[:-1]
    ]
    return f"(CASE {' '.join(cases)} ELSE {scope.ref(mapped.choose[-1].source)} END)"


def _target_value(mapped: FieldMap, column: str) -> str:
    return date_sql(column) if mapped.compare == "date" else column


def _lookup_joins(side: Side, scope: _Scope, normalised: Normalised) -> list[str]:
    own = normalised.get((side.system, side.entity), set())
    joins = []
    for lookup in side.lookups:
        alias = ident("lk_" + lookup.name)
        conditions = [
            f"{alias}.{ident(nk(theirs))} = {scope.normalised(ours, own)}"
            for theirs, ours in sorted(lookup.on.items())
        ]
        if lookup.company and side.company and "." not in side.company:
            conditions.append(f"{alias}._company = r._company")
        source = _unique_rows(side.lookup_system(lookup), lookup, lookup.where)
        conditions = conditions or ["true"]
        joins.append(f"LEFT JOIN {source} AS {alias} ON {' AND '.join(conditions)}")
    return joins


def _link_join(link: Link, index: int, scope: _Scope, own: set[str], links: Sequence[Link]) -> str:
    """Links match ignoring ``where``: a record that exists but fails it is told apart."""
    alias = ident(f"ln_{index}")
    conditions = [
        f"{alias}.{ident(nk(theirs))} = {scope.normalised(ours, own)}"
        for theirs, ours in sorted(link.on.items())
    ]
    for column, name in sorted(link.within.items()):
        other = next(i for i, candidate in enumerate(links) if candidate.name == name)
        scoped_by = _linked_id(links[other], other)
        conditions.append(f"CAST({alias}.{ident(column)} AS VARCHAR) = {scoped_by}")
    if link.company:
        conditions.append(f"{alias}._company = {scope.company()}")
    system = "dataverse" if scope.side.system == "fno" else "fno"
    # A fixed record (no 'on') is chosen by 'where'; otherwise match first, judge 'where' after.
    source = _unique_rows(system, link, {} if link.on else link.where)
    conditions = conditions or ["true"]
    return f"LEFT JOIN {source} AS {alias} ON {' AND '.join(conditions)}"


def _link_columns(link: Link, index: int) -> list[str]:
    """``l`` = the linked record's id when it qualifies; ``x`` = it exists but fails ``where``
    (the source row then stays out of the rule); ``m<n>_*`` = values a planned create
    must have to satisfy the link."""
    alias = ident(f"ln_{index}")
    qualifies = _conditions(_Scope(Side(system="fno", entity="x"), row=alias), link.where)
    return [
        f"{_linked_id(link, index)} AS l{index}",
        f"({alias}.{ident(link.id)} IS NOT NULL AND NOT {qualifies}) AS x{index}",
    ]


def _linked_id(link: Link, index: int) -> str:
    """The id of the record link ``index`` found, when it qualifies."""
    alias = ident(f"ln_{index}")
    qualifies = _conditions(_Scope(Side(system="fno", entity="x"), row=alias), link.where)
    return f"CASE WHEN {qualifies} THEN CAST({alias}.{ident(link.id)} AS VARCHAR) END"


def _unique_rows(system: str, lookup: Lookup, where: dict[str, Scalar]) -> str:
    """Rows of a lookup entity that match unambiguously (duplicates are their rule's finding)."""
    partition = [ident(nk(column)) for column in sorted(lookup.on)]
    if isinstance(lookup, Link):  # a unit name repeats across unit groups, not within one
        partition += [ident(column) for column in sorted(lookup.within)]
    if lookup.company:
        partition.append("_company")
    condition = _conditions(_Scope(Side(system="fno", entity="x"), row="u"), where)
    window = f"PARTITION BY {', '.join(partition)}" if partition else ""
    return (
        f"(SELECT *, true AS _hit FROM {ident(table_name(system, lookup.entity))} AS u "
        f"WHERE {condition} QUALIFY count(*) OVER ({window}) = 1)"
    )


def _conditions(scope: _Scope, conditions: dict[str, Scalar] | dict[str, Scalar | Test]) -> str:
    parts = [_condition(scope.ref(column), test) for column, test in sorted(conditions.items())]
    return "(" + " AND ".join(parts) + ")" if parts else "true"


def _condition(column: str, test: Scalar | Test) -> str:
    if not isinstance(test, Test):
        return f"coalesce({column} = {_literal(test)}, false)"
    if test.ne is not None:
        return f"({column} IS DISTINCT FROM {_literal(test.ne)})"
    listed = ", ".join(_literal(value) for value in test.values())
    return f"coalesce({column} IN ({listed}), false)"


def _literal(value: Scalar | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"CAST({value!r} AS {NUMBER_TYPE})"  # the type snapshot numbers have
    return literal(value)
