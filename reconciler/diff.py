"""Diff: set-based SQL per rule over a snapshot, producing actions and findings.

Each rule becomes a handful of DuckDB queries: key-quality findings (blank keys,
duplicates after normalisation, legal entities the profile does not map) and one full
outer join on the pre-normalised ``_company``/``_nk_*`` columns that returns only the rows
that differ. Python touches only those drift rows, to shape them into actions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from reconciler.plan import Action, action_id
from reconciler.rules import FieldMap, Rule
from reconciler.snapshot import ETAG, table_name
from reconciler.sql import ident, literal

__all__ = ["diff_rule"]


@dataclass(frozen=True)
class _Sides:
    """The SQL names one rule's queries share."""

    rule: Rule
    source_table: str
    target_table: str
    join_on_company: bool
    mapped: tuple[str, ...]

    @property
    def company_scope(self) -> str:
        if not self.rule.source.company:
            return "true"
        if not self.mapped:
            return "false"
        return f"_company IN ({', '.join(literal(c) for c in self.mapped)})"


def diff_rule(
    con: duckdb.DuckDBPyConnection, rule: Rule, companies: Mapping[str, str]
) -> list[Action]:
    """All actions and findings of one rule; ``companies`` maps legal entity -> FS company."""
    sides = _Sides(
        rule=rule,
        source_table=table_name(rule.source.system, rule.source.entity),
        target_table=table_name(rule.target.system, rule.target.entity),
        join_on_company=bool(rule.source.company and rule.target.company),
        mapped=tuple(sorted(c for c, value in companies.items() if value)),
    )
    actions = _unmapped_companies(con, sides, companies)
    actions += _key_findings(con, sides, "source")
    actions += _key_findings(con, sides, "target")
    actions += _drift(con, sides, companies)
    return actions


# ---------------------------------------------------------------- key-quality findings


def _unmapped_companies(
    con: duckdb.DuckDBPyConnection, sides: _Sides, companies: Mapping[str, str]
) -> list[Action]:
    if not sides.rule.source.company:
        return []
    rows = con.execute(
        f"SELECT _company, count(*) FROM {ident(sides.source_table)} "
        f"WHERE NOT ({sides.company_scope}) GROUP BY _company ORDER BY _company"
    ).fetchall()
    rule = sides.rule
    return [
        _finding(
            rule,
            "unmapped_company",
            company or "",
            (),
            {"company": company},
            f"{count} {rule.source.entity} row(s) of legal entity {company!r} are not compared: "
            f'add it to the profile\'s [companies] (or map it to "" to skip it silently)',
        )
        for company, count in rows
        if (company or "") not in companies
    ]


def _key_findings(con: duckdb.DuckDBPyConnection, sides: _Sides, side: str) -> list[Action]:
    rule = sides.rule
    table, names = _side_table_and_keys(sides, side)
    nk = [ident("_nk_" + name) for name in names]
    scope = _side_scope(sides, side)
    blank = " OR ".join(f"coalesce({col}, '') = ''" for col in nk)
    findings = []
    for company, count in con.execute(
        f"SELECT _company, count(*) FROM {ident(table)} WHERE {scope} AND ({blank}) "
        "GROUP BY _company ORDER BY _company"
    ).fetchall():
        findings.append(
            _finding(
                rule,
                f"blank_key_{side}",
                company or "",
                (),
                {"company": company},
                f"{count} {_entity(rule, side)} row(s) in {company!r} have a blank "
                f"{'/'.join(names)}; they cannot be matched. Fill the key in "
                f"{'SCM' if _system(rule, side) == 'fno' else 'FS'}.",
            )
        )
    partition = ["_company", *nk] if sides.join_on_company or side == "target" else nk
    originals = ", ".join(f"min({ident(name)})" for name in names)
    duplicates = con.execute(
        f"SELECT {'min(_company)' if partition == nk else '_company'}, "
        f"string_agg(DISTINCT _company, ', ' ORDER BY _company), count(*), {originals} "
        f"FROM {ident(table)} WHERE {scope} AND NOT ({blank}) "
        f"GROUP BY {', '.join(partition)} HAVING count(*) > 1 ORDER BY ALL"
    ).fetchall()
    for company, all_companies, count, *key_values in duplicates:
        findings.append(_duplicate_finding(sides, side, company, all_companies, count, key_values))
    return findings


def _duplicate_finding(
    sides: _Sides, side: str, company: str, all_companies: str, count: int, key_values: list[Any]
) -> Action:
    rule = sides.rule
    _, names = _side_table_and_keys(sides, side)
    key = {"company": company, **dict(zip(names, key_values, strict=True))}
    shown = ", ".join(f"{name}={value!r}" for name, value in zip(names, key_values, strict=True))
    if side == "source" and not sides.join_on_company and "," in (all_companies or ""):
        return _finding(
            rule,
            "key_in_several_companies",
            company,
            key_values,
            key,
            f"{shown} exists in legal entities {all_companies}, but FS {rule.target.entity} "
            "keys carry no company: the rows would collide in FS. Rename one, or map the "
            "companies to separate FS tables.",
        )
    return _finding(
        rule,
        f"duplicate_key_{side}",
        company,
        key_values,
        key,
        f"{count} {_entity(rule, side)} rows in {company!r} share {shown} after trimming and "
        "case-folding; none of them is compared. Remove or rename the duplicates.",
    )


# ---------------------------------------------------------------- the join


def _drift(
    con: duckdb.DuckDBPyConnection, sides: _Sides, companies: Mapping[str, str]
) -> list[Action]:
    rule = sides.rule
    query = _drift_sql(sides)
    cursor = con.execute(query)
    columns = [item[0] for item in cursor.description or ()]
    actions: list[Action] = []
    while batch := cursor.fetchmany(10_000):
        for values in batch:
            row = dict(zip(columns, values, strict=True))
            action = _drift_action(rule, row, companies)
            if action is not None:
                actions.append(action)
    return actions


def _drift_sql(sides: _Sides) -> str:
    rule = sides.rule
    fields = rule.fields
    source_cols = (
        ["_company"]
        + [
            f"{ident('_nk_' + k.source)} AS k{i}, {ident(k.source)} AS o{i}"
            for i, k in enumerate(rule.keys)
        ]
        + [f"{_source_value(m)} AS f{i}" for i, m in enumerate(fields)]
    )
    target_cols = (
        ["_company", f"{ident(ETAG)} AS _etag"]
        + [
            f"{ident('_nk_' + k.target)} AS k{i}, {ident(k.target)} AS o{i}"
            for i, k in enumerate(rule.keys)
        ]
        + [f"{ident(m.target)} AS f{i}" for i, m in enumerate(fields)]
    )
    if rule.target.id:
        target_cols.append(f"{ident(rule.target.id)} AS _id")
    else:
        target_cols.append("NULL::VARCHAR AS _id")
    target_cols.append(f"({_orphan_condition(rule)}) AS _orphan_eligible")
    join_keys = [f"s.k{i} = t.k{i}" for i in range(len(rule.keys))]
    if sides.join_on_company:
        join_keys.insert(0, "s._company = t._company")
    differs = [_differs(m, i) for i, m in enumerate(fields)] or ["false"]
    selected = [
        "coalesce(s._company, t._company) AS company",
        "s.k0 IS NOT NULL AS in_source",
        "t.k0 IS NOT NULL AS in_target",
        "t._id",
        "t._etag",
        "t._orphan_eligible",
    ]
    selected += [f"s.o{i} AS s_o{i}, t.o{i} AS t_o{i}" for i in range(len(rule.keys))]
    selected += [
        f"s.f{i} AS s_f{i}, t.f{i} AS t_f{i}, {d} AS d{i}"
        for i, d in enumerate(differs[: len(fields)])
    ]
    key_order = ", ".join(f"coalesce(s.k{i}, t.k{i})" for i in range(len(rule.keys)))
    return f"""
        WITH s AS (
            SELECT {", ".join(source_cols)} FROM {ident(sides.source_table)}
            WHERE {_side_scope(sides, "source")} AND {_clean(sides, "source")}
        ), t AS (
            SELECT {", ".join(target_cols)} FROM {ident(sides.target_table)}
            WHERE {_side_scope(sides, "target")} AND {_clean(sides, "target")}
        )
        SELECT {", ".join(selected)}
        FROM s FULL OUTER JOIN t ON {" AND ".join(join_keys)}
        WHERE t.k0 IS NULL OR s.k0 IS NULL OR {" OR ".join(differs)}
        ORDER BY company, {key_order}
    """


def _clean(sides: _Sides, side: str) -> str:
    """Rows with a usable, unique key (blank and duplicate keys are findings instead)."""
    _, names = _side_table_and_keys(sides, side)
    nk = [ident("_nk_" + name) for name in names]
    partition = ["_company", *nk] if sides.join_on_company or side == "target" else nk
    not_blank = " AND ".join(f"coalesce({col}, '') <> ''" for col in nk)
    return f"{not_blank} QUALIFY count(*) OVER (PARTITION BY {', '.join(partition)}) = 1"


def _side_scope(sides: _Sides, side: str) -> str:
    if side == "source":
        return sides.company_scope
    if not sides.rule.target.company:
        return "true"
    return sides.company_scope


def _source_value(mapped: FieldMap) -> str:
    if mapped.source is not None:
        return ident(mapped.source)
    value = mapped.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value!r}::DOUBLE"
    return literal(str(value))


def _differs(mapped: FieldMap, index: int) -> str:
    s, t = f"s.f{index}", f"t.f{index}"
    if mapped.compare == "number":
        return f"coalesce(abs({s} - {t}) > {mapped.tolerance!r} + 1e-9, {s} IS DISTINCT FROM {t})"
    if mapped.compare == "boolean":
        return f"coalesce({s}, false) <> coalesce({t}, false)"
    return f"coalesce({s}, '') <> coalesce({t}, '')"


def _orphan_condition(rule: Rule) -> str:
    conditions = []
    for name, value in sorted(rule.actions.orphan_when.items()):
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, int | float):
            rendered = repr(value)
        else:
            rendered = literal(value)
        conditions.append(f"coalesce({ident(name)} = {rendered}, false)")
    return " AND ".join(conditions) or "true"


# ---------------------------------------------------------------- shaping drift rows


def _drift_action(rule: Rule, row: dict[str, Any], companies: Mapping[str, str]) -> Action | None:
    company = row["company"] or ""
    if not row["in_target"]:
        return _missing(rule, row, company, companies)
    if not row["in_source"]:
        if rule.actions.orphan == "ignore" or not row["_orphan_eligible"]:
            return None
        key_values = [row[f"t_o{i}"] for i in range(len(rule.keys))]
        return _finding(
            rule,
            "orphan",
            company,
            key_values,
            _key(rule, company, key_values),
            f"FS {rule.target.entity} row {_describe_key(rule, key_values)} in {company!r} has "
            f"no {rule.source.entity} counterpart in SCM; reported, never deleted.",
        )
    return _changed(rule, row, company)


def _missing(
    rule: Rule, row: dict[str, Any], company: str, companies: Mapping[str, str]
) -> Action | None:
    if rule.actions.missing == "ignore":
        return None
    key_values = [row[f"s_o{i}"] for i in range(len(rule.keys))]
    key = _key(rule, company, key_values)
    if rule.actions.missing == "report":
        return _finding(
            rule,
            "missing",
            company,
            key_values,
            key,
            f"{_describe_key(rule, key_values)} is missing in {rule.target.entity}",
        )
    changes = {k.target: {"from": None, "to": key_values[i]} for i, k in enumerate(rule.keys)}
    changes.update(
        {m.target: {"from": None, "to": row[f"s_f{i}"]} for i, m in enumerate(rule.fields)}
    )
    links = {}
    bind = rule.target.company_bind
    if bind is not None:
        links[bind.navigation] = {"entity_set": bind.entity_set, "id": companies[company]}
    return Action(
        id=action_id(rule.name, "create", None, company, [str(v) for v in key_values]),
        rule=rule.name,
        kind="create",
        system=rule.target.system,
        entity=rule.target.entity,
        key=key,
        changes=changes,
        links=links,
    )


def _changed(rule: Rule, row: dict[str, Any], company: str) -> Action | None:
    if rule.actions.changed == "ignore":
        return None
    key_values = [row[f"s_o{i}"] for i in range(len(rule.keys))]
    changes = {
        m.target: {"from": row[f"t_f{i}"], "to": row[f"s_f{i}"]}
        for i, m in enumerate(rule.fields)
        if row[f"d{i}"]
    }
    key = _key(rule, company, key_values)
    if rule.actions.changed == "report":
        return _finding(
            rule,
            "changed",
            company,
            key_values,
            key,
            f"{_describe_key(rule, key_values)} differs in {', '.join(changes)}",
            changes=changes,
        )
    return Action(
        id=action_id(rule.name, "update", None, company, [str(v) for v in key_values]),
        rule=rule.name,
        kind="update",
        system=rule.target.system,
        entity=rule.target.entity,
        key=key,
        changes=changes,
        etag=row["_etag"],
        target_id=row["_id"],
    )


def _finding(
    rule: Rule,
    finding: str,
    company: str,
    key_values: Sequence[Any],
    key: dict[str, Any],
    message: str,
    changes: dict[str, dict[str, Any]] | None = None,
) -> Action:
    return Action(
        id=action_id(rule.name, "report", finding, company, [str(v) for v in key_values]),
        rule=rule.name,
        kind="report",
        system=rule.target.system,
        entity=rule.target.entity,
        key=key,
        changes=changes or {},
        finding=finding,
        message=message,
    )


def _key(rule: Rule, company: str, key_values: Sequence[Any]) -> dict[str, Any]:
    key: dict[str, Any] = {"company": company} if rule.source.company else {}
    key.update({k.target: key_values[i] for i, k in enumerate(rule.keys)})
    return key


def _describe_key(rule: Rule, key_values: Sequence[Any]) -> str:
    return ", ".join(f"{k.target}={key_values[i]!r}" for i, k in enumerate(rule.keys))


def _side_table_and_keys(sides: _Sides, side: str) -> tuple[str, list[str]]:
    if side == "source":
        return sides.source_table, [k.source for k in sides.rule.keys]
    return sides.target_table, [k.target for k in sides.rule.keys]


def _entity(rule: Rule, side: str) -> str:
    return rule.source.entity if side == "source" else rule.target.entity


def _system(rule: Rule, side: str) -> str:
    return rule.source.system if side == "source" else rule.target.system
