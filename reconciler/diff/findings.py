"""Findings: what the diff reports and never writes, each from one set-based query.

Key quality (blank keys, duplicates after normalisation, legal entities the profile does not
map, one key in several companies with conflicting values), row findings (checks, unmapped
values, precision loss), source rows whose required lookup matches nothing, and, for rules
in reference mode, references that point at nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb

from reconciler.diff.actions import describe, finding, in_company, system_name, typed_keys
from reconciler.diff.drift import clean_target, differs
from reconciler.diff.sides import Sides
from reconciler.plan import Action
from reconciler.rules import Rule

__all__ = [
    "broken_references",
    "cross_company_conflicts",
    "key_findings",
    "row_findings",
    "unknown_lookups",
    "unmapped_companies",
]


def unmapped_companies(
    con: duckdb.DuckDBPyConnection, sides: Sides, companies: Mapping[str, str]
) -> list[Action]:
    rule = sides.rule
    if not rule.source.company:
        return []
    scope = sides.scope("source", links=False)
    rows = con.execute(
        f"SELECT _company, count(*) FROM {sides.source} WHERE NOT ({scope}) "
        "GROUP BY _company ORDER BY _company"
    ).fetchall()
    return [
        finding(
            rule,
            "unmapped_company",
            company or "",
            (),
            {"company": company},
            f"{count} {rule.source.entity} row(s) of legal entity {company!r} are not compared: "
            'add it to the profile\'s [companies] (or map it to "" to skip it silently)',
        )
        for company, count in rows
        if (company or "") not in companies
    ]


def key_findings(con: duckdb.DuckDBPyConnection, sides: Sides, side: str) -> list[Action]:
    rule = sides.rule
    table = sides.source if side == "source" else sides.target
    entity = rule.side(side).entity
    names = [key.named(side) for key in rule.keys]
    findings = [
        finding(
            rule,
            f"blank_key_{side}",
            company or "",
            (),
            {"company": company},
            f"{count} {entity} row(s) in {company!r} have a blank {'/'.join(names)}; they "
            f"cannot be matched. Fill the key in {system_name(rule.side(side).system)}.",
        )
        for company, count in con.execute(
            f"SELECT _company, count(*) FROM {table} WHERE {sides.scope(side)} AND _blank "
            "GROUP BY _company ORDER BY _company"
        ).fetchall()
    ]
    originals = ", ".join(f"min(o{i})" for i in range(len(names)))
    for company, count, *texts in con.execute(
        f"SELECT _company, count(*), {originals} FROM {table} "
        f"WHERE {sides.scope(side)} AND NOT _blank AND _dup "
        f"GROUP BY _company, {', '.join(sides.keys)} ORDER BY ALL"
    ).fetchall():
        values = typed_keys(rule, [key.target for key in rule.keys], texts)
        shown = describe(names, values)
        findings.append(
            finding(
                rule,
                f"duplicate_key_{side}",
                company or "",
                values,
                {"company": company, **dict(zip(names, values, strict=True))},
                f"{count} {entity} rows in {company!r} share {shown} after trimming and "
                "case-folding; none of them is compared. Remove or rename the duplicates.",
            )
        )
    return findings


def cross_company_conflicts(con: duckdb.DuckDBPyConnection, sides: Sides) -> list[Action]:
    """Target keys without company: one source key in several companies must agree."""
    rule = sides.rule
    names = [key.target for key in rule.keys]
    originals = ", ".join(f"min(o{i})" for i in range(len(names)))
    rows = con.execute(
        f"SELECT min(_company), string_agg(_company, ', ' ORDER BY _company), {originals} "
        f"FROM {sides.source} WHERE {sides.usable('source')} AND NOT _agree "
        f"GROUP BY {', '.join(sides.keys)} ORDER BY ALL"
    ).fetchall()
    return [
        finding(
            rule,
            "key_in_several_companies",
            company,
            values,
            {"company": company, **dict(zip(names, values, strict=True))},
            f"{describe(names, values)} exists in legal entities {companies} with different "
            f"values, but FS {rule.target.entity} keys carry no company: they would collide. "
            "Make the released products agree, or keep one company's.",
        )
        for company, companies, *values in rows
    ]


def row_findings(con: duckdb.DuckDBPyConnection, sides: Sides) -> list[Action]:
    """One finding per source row and flag: checks, unmapped values, precision loss."""
    rule = sides.rule
    flags = [
        (
            f"c{i}",
            f"cv{i}",
            check.name,
            (check.message or check.described)
            + ("; not written until it is fixed" if check.blocks else ""),
        )
        for i, check in enumerate(rule.checks)
    ]
    for index, mapped in enumerate(rule.fields):
        if mapped.map:
            flags.append(
                (
                    f"u{index}",
                    f"v{index}",
                    "unmapped_value",
                    f"{mapped.described} has a value the rule's map does not know",
                )
            )
        if mapped.required:
            flags.append(
                (
                    f"b{index}",
                    f"v{index}",
                    "missing_required",
                    f"{mapped.described} is blank, but {system_name(rule.target.system)} "
                    f"requires {mapped.target}: not written until it is filled in",
                )
            )
        if mapped.decimals is not None:
            flags.append(
                (
                    f"p{index}",
                    f"v{index}",
                    "precision_loss",
                    f"{mapped.described} has more decimals than {mapped.target} keeps "
                    f"({mapped.decimals}); rounding exceeds the tolerance",
                )
            )
    names = [key.target for key in rule.keys]
    originals = ", ".join(f"o{i}" for i in range(len(names)))
    findings = []
    for flag, value_column, name, message in flags:
        for company, value, *texts in con.execute(
            f"SELECT _company, {value_column}, {originals} FROM {sides.source} "
            f"WHERE {sides.scope('source')} AND {flag} ORDER BY ALL"
        ).fetchall():
            values = typed_keys(rule, names, texts)
            findings.append(
                finding(
                    rule,
                    name,
                    company or "",
                    values,
                    {"company": company, **dict(zip(names, values, strict=True))},
                    f"{describe(names, values)}{in_company(company)}: {message}"
                    + ("." if value is None else f" (value {value})."),
                )
            )
    return findings


def unknown_lookups(con: duckdb.DuckDBPyConnection, sides: Sides) -> list[Action]:
    """Source rows whose required lookup matches nothing: named, and left out of the diff."""
    rule = sides.rule
    findings = []
    in_scope = sides.scope("source", links=False)
    label = "_label" if rule.source.label else "NULL"
    for index, lookup in enumerate(rule.source.lookups):
        if not lookup.required:
            continue
        ours = [ours for _theirs, ours in sorted(lookup.on.items())]
        shown = [f"qv{index}_{p}" for p in range(len(ours))]
        # the rule's other key parts (a warehouse) tell apart rows of one unknown item
        others = [
            (i, key.target)
            for i, key in enumerate(rule.keys)
            if not (key.source or "").startswith(f"{lookup.name}.")
        ]
        columns = ", ".join(shown + [f"o{i}" for i, _ in others])
        for company, row_label, *values in con.execute(
            f"SELECT _company, {label}, {columns} FROM {sides.source} "
            f"WHERE {in_scope} AND NOT q{index} ORDER BY ALL"
        ).fetchall():
            values, other_values = values[: len(shown)], values[len(shown) :]
            other_values = typed_keys(rule, [name for _, name in others], other_values)
            described = describe(ours, values)
            key = {"company": company, **dict(zip(ours, values, strict=True))}
            key.update(zip([name for _, name in others], other_values, strict=True))
            findings.append(
                finding(
                    rule,
                    lookup.finding,
                    company or "",
                    [row_label or "", *values, *other_values],
                    key,
                    f"{rule.source.entity} row {row_label + ' ' if row_label else ''}({described}) "
                    f"in {company!r}: no {lookup.entity} record matches, so it is not compared.",
                )
            )
    return findings


def broken_references(con: duckdb.DuckDBPyConnection, sides: Sides) -> list[Action]:
    """Reference mode: every source row must find its target row, in its company, with the
    fields the rule asks for. Many source rows may point at one target row."""
    rule = sides.rule
    on = [f"s.{k} = t.{k}" for k in sides.keys]
    if sides.join_on_company:
        on.insert(0, "s._company = t._company")
    compared = [differs(m, i) for i, m in enumerate(rule.fields)]
    fields = ", ".join(
        f"s.f{i} AS s_f{i}, t.f{i} AS t_f{i}, {d} AS d{i}" for i, d in enumerate(compared)
    )
    elsewhere = (
        f"(SELECT string_agg(DISTINCT o._company, ', ') FROM {sides.target} AS o "
        f"WHERE {' AND '.join(f'o.{k} = s.{k}' for k in sides.keys)})"
    )
    in_scope = f"{sides.scope('source')} AND NOT _blank"
    query = (
        f"SELECT s._company, s._label, {', '.join(f's.o{i}' for i in range(len(rule.keys)))}, "
        f"t.k0 IS NOT NULL AS found, {elsewhere} AS elsewhere{', ' + fields if fields else ''} "
        f"FROM (SELECT * FROM {sides.source} WHERE {in_scope}) AS s "
        f"LEFT JOIN ({clean_target(sides)}) AS t ON {' AND '.join(on)} "
        f"WHERE t.k0 IS NULL OR {' OR '.join(compared) or 'false'} ORDER BY ALL"
    )
    cursor = con.execute(query)
    columns = [item[0] for item in cursor.description or ()]
    return [_broken(rule, dict(zip(columns, values, strict=True))) for values in cursor.fetchall()]


def _broken(rule: Rule, row: dict[str, Any]) -> Action:
    names = [key.target for key in rule.keys]
    values = typed_keys(rule, names, [row[f"o{i}"] for i in range(len(names))])
    company = row["_company"] or ""
    pointed = (
        f"{rule.source.entity} {row['_label']!r} ({company}) points at {describe(names, values)}"
    )
    if not row["found"]:
        where = f"; it exists only in {row['elsewhere']}" if row["elsewhere"] else ""
        reason = f"missing in SCM {rule.target.entity} for {company!r}{where}"
        changes: dict[str, dict[str, Any]] = {}
    else:
        changes = {
            m.target: {"from": row[f"t_f{i}"], "to": row[f"s_f{i}"]}
            for i, m in enumerate(rule.fields)
            if row[f"d{i}"]
        }
        reason = "; ".join(
            f"{name} is {c['from']!r}, expected {c['to']!r}" for name, c in changes.items()
        )
    return finding(
        rule,
        "broken_reference",
        company,
        [row["_label"] or "", *values],
        {"company": company, "source": row["_label"], **dict(zip(names, values, strict=True))},
        f"{pointed}: {reason}.",
        changes=changes,
    )
