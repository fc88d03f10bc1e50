"""Diff: set-based SQL per rule over the prepared tables of a snapshot.

For each rule: key-quality findings (blank keys, duplicates after normalisation, legal
entities the profile does not map, one key in several companies with conflicting values),
row findings (checks, unmapped values, precision loss), then one full outer join on plain
columns that returns only rows that differ. Python touches only those drift rows, to shape
them into actions; links that no record satisfies are left ``pending`` for the planner,
which matches them to creates planned by other rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb

from reconciler.plan import Action, Kind, action_id
from reconciler.rules import FieldMap, Rule
from reconciler.sql import ident, literal
from reconciler.tables import prepared_table

__all__ = ["diff_rule"]


@dataclass(frozen=True)
class _Sides:
    """What one rule's queries share."""

    rule: Rule
    join_on_company: bool
    mapped: tuple[str, ...]

    @property
    def source(self) -> str:
        return ident(prepared_table(self.rule.name, "source"))

    @property
    def target(self) -> str:
        return ident(prepared_table(self.rule.name, "target"))

    @property
    def keys(self) -> list[str]:
        return [f"k{i}" for i in range(len(self.rule.keys))]

    def scope(self, side: str, *, links: bool = True) -> str:
        """Rows in scope: of a mapped company, and (source) not excluded by a link."""
        company_rule = self.rule.source.company if side == "source" else self.rule.target.company
        if not company_rule:
            condition = "true"
        elif not self.mapped:
            condition = "false"
        else:
            condition = f"_company IN ({', '.join(literal(c) for c in self.mapped)})"
        if side == "source" and links:
            for index in range(len(self.rule.links)):
                condition += f" AND NOT coalesce(x{index}, false)"
            for index, lookup in enumerate(self.rule.source.lookups):
                if lookup.required:
                    condition += f" AND q{index}"
        return condition

    def usable(self, side: str) -> str:
        """In scope, with a non-blank key that is unique within its company."""
        return f"{self.scope(side)} AND NOT _blank AND NOT _dup"


def diff_rule(
    con: duckdb.DuckDBPyConnection, rule: Rule, companies: Mapping[str, str]
) -> list[Action]:
    """All actions and findings of one rule; ``companies`` maps legal entity -> FS company."""
    sides = _Sides(
        rule=rule,
        join_on_company=bool(rule.source.company and rule.target.company),
        mapped=tuple(sorted(c for c, value in companies.items() if value)),
    )
    actions = _unmapped_companies(con, sides, companies)
    actions += _key_findings(con, sides, "source")
    actions += _key_findings(con, sides, "target")
    if not sides.join_on_company and rule.source.company:
        actions += _cross_company_conflicts(con, sides)
    actions += _row_findings(con, sides)
    actions += _unknown_lookups(con, sides)
    if rule.actions.mode == "reference":
        actions += _broken_references(con, sides)
    else:
        actions += _drift(con, sides, companies)
    return actions


# ---------------------------------------------------------------- findings


def _unmapped_companies(
    con: duckdb.DuckDBPyConnection, sides: _Sides, companies: Mapping[str, str]
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
        _finding(
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


def _key_findings(con: duckdb.DuckDBPyConnection, sides: _Sides, side: str) -> list[Action]:
    rule = sides.rule
    table = sides.source if side == "source" else sides.target
    entity = rule.side(side).entity
    names = [getattr(key, side) for key in rule.keys]
    findings = [
        _finding(
            rule,
            f"blank_key_{side}",
            company or "",
            (),
            {"company": company},
            f"{count} {entity} row(s) in {company!r} have a blank {'/'.join(names)}; they "
            f"cannot be matched. Fill the key in {_system_name(rule.side(side).system)}.",
        )
        for company, count in con.execute(
            f"SELECT _company, count(*) FROM {table} WHERE {sides.scope(side)} AND _blank "
            "GROUP BY _company ORDER BY _company"
        ).fetchall()
    ]
    originals = ", ".join(f"min(o{i})" for i in range(len(names)))
    for company, count, *values in con.execute(
        f"SELECT _company, count(*), {originals} FROM {table} "
        f"WHERE {sides.scope(side)} AND NOT _blank AND _dup "
        f"GROUP BY _company, {', '.join(sides.keys)} ORDER BY ALL"
    ).fetchall():
        shown = _describe(names, values)
        findings.append(
            _finding(
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


def _cross_company_conflicts(con: duckdb.DuckDBPyConnection, sides: _Sides) -> list[Action]:
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
        _finding(
            rule,
            "key_in_several_companies",
            company,
            values,
            {"company": company, **dict(zip(names, values, strict=True))},
            f"{_describe(names, values)} exists in legal entities {companies} with different "
            f"values, but FS {rule.target.entity} keys carry no company: they would collide. "
            "Make the released products agree, or keep one company's.",
        )
        for company, companies, *values in rows
    ]


def _row_findings(con: duckdb.DuckDBPyConnection, sides: _Sides) -> list[Action]:
    """One finding per source row and flag: checks, unmapped values, precision loss."""
    rule = sides.rule
    flags = [
        (f"c{i}", f"cv{i}", check.name, check.message or f"{check.source} is below {check.min}")
        for i, check in enumerate(rule.checks)
    ]
    for index, mapped in enumerate(rule.fields):
        if mapped.map:
            flags.append(
                (
                    f"u{index}",
                    f"v{index}",
                    "unmapped_value",
                    f"{mapped.source} has a value the rule's map does not know",
                )
            )
        if mapped.decimals is not None:
            flags.append(
                (
                    f"p{index}",
                    f"v{index}",
                    "precision_loss",
                    f"{mapped.source} has more decimals than {mapped.target} keeps "
                    f"({mapped.decimals}); rounding exceeds the tolerance",
                )
            )
    names = [key.target for key in rule.keys]
    originals = ", ".join(f"o{i}" for i in range(len(names)))
    findings = []
    for flag, value_column, finding, message in flags:
        for company, value, *values in con.execute(
            f"SELECT _company, {value_column}, {originals} FROM {sides.source} "
            f"WHERE {sides.scope('source')} AND {flag} ORDER BY ALL"
        ).fetchall():
            findings.append(
                _finding(
                    rule,
                    finding,
                    company or "",
                    values,
                    {"company": company, **dict(zip(names, values, strict=True))},
                    f"{_describe(names, values)}{_in(company)}: {message} (value {value}).",
                )
            )
    return findings


def _unknown_lookups(con: duckdb.DuckDBPyConnection, sides: _Sides) -> list[Action]:
    """Source rows whose required lookup matches nothing: named, and left out of the diff."""
    rule = sides.rule
    findings = []
    in_scope = sides.scope("source", links=False)
    label = "_label" if rule.source.label else "NULL"
    for index, lookup in enumerate(rule.source.lookups):
        if not lookup.required:
            continue
        ours = [ours for _theirs, ours in sorted(lookup.on.items())]
        shown = ", ".join(f"qv{index}_{p}" for p in range(len(ours)))
        for company, row_label, *values in con.execute(
            f"SELECT _company, {label}, {shown} FROM {sides.source} "
            f"WHERE {in_scope} AND NOT q{index} ORDER BY ALL"
        ).fetchall():
            described = _describe(ours, values)
            findings.append(
                _finding(
                    rule,
                    lookup.finding,
                    company or "",
                    [row_label or "", *values],
                    {"company": company, **dict(zip(ours, values, strict=True))},
                    f"{rule.source.entity} row {row_label + ' ' if row_label else ''}({described}) "
                    f"in {company!r}: no {lookup.entity} record matches, so it is not compared.",
                )
            )
    return findings


def _broken_references(con: duckdb.DuckDBPyConnection, sides: _Sides) -> list[Action]:
    """Reference mode: every source row must find its target row, in its company, with the
    fields the rule asks for. Many source rows may point at one target row."""
    rule = sides.rule
    on = [f"s.{k} = t.{k}" for k in sides.keys]
    if sides.join_on_company:
        on.insert(0, "s._company = t._company")
    differs = [_differs(m, i) for i, m in enumerate(rule.fields)]
    fields = ", ".join(
        f"s.f{i} AS s_f{i}, t.f{i} AS t_f{i}, {d} AS d{i}" for i, d in enumerate(differs)
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
        f"LEFT JOIN ({_clean_target(sides)}) AS t ON {' AND '.join(on)} "
        f"WHERE t.k0 IS NULL OR {' OR '.join(differs) or 'false'} ORDER BY ALL"
    )
    cursor = con.execute(query)
    columns = [item[0] for item in cursor.description or ()]
    return [_broken(rule, dict(zip(columns, values, strict=True))) for values in cursor.fetchall()]


def _broken(rule: Rule, row: dict[str, Any]) -> Action:
    names = [key.target for key in rule.keys]
    values = [row[f"o{i}"] for i in range(len(names))]
    company = row["_company"] or ""
    pointed = (
        f"{rule.source.entity} {row['_label']!r} ({company}) points at {_describe(names, values)}"
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
    return _finding(
        rule,
        "broken_reference",
        company,
        [row["_label"] or "", *values],
        {"company": company, "source": row["_label"], **dict(zip(names, values, strict=True))},
        f"{pointed}: {reason}.",
        changes=changes,
    )


# ---------------------------------------------------------------- the join


def _drift(
    con: duckdb.DuckDBPyConnection, sides: _Sides, companies: Mapping[str, str]
) -> list[Action]:
    cursor = con.execute(_drift_sql(sides))
    columns = [item[0] for item in cursor.description or ()]
    actions: list[Action] = []
    while batch := cursor.fetchmany(10_000):
        for values in batch:
            actions.extend(_shape(sides.rule, dict(zip(columns, values, strict=True)), companies))
    return actions


def _clean_source(sides: _Sides) -> str:
    """Usable source rows; without a target company, one row per key when companies agree."""
    extra = ""
    if not sides.join_on_company and sides.rule.source.company:
        extra = " AND _first AND _agree"
    return f"SELECT * FROM {sides.source} WHERE {sides.usable('source')}{extra}"


def _clean_target(sides: _Sides) -> str:
    return f"SELECT * FROM {sides.target} WHERE {sides.usable('target')}"


def _claimed_target(sides: _Sides) -> str:
    """Clean target rows, flagged ``_claimed`` when a source row has their key but was left
    out of the comparison (a duplicate or a cross-company conflict): not an orphan then."""
    excluded = " OR ".join(
        ["_dup"]
        + (
            ["NOT (_first AND _agree)"]
            if not sides.join_on_company and sides.rule.source.company
            else []
        )
    )
    keys = (["_company"] if sides.join_on_company else []) + sides.keys
    on = " AND ".join(f"c.{k} = x.{k}" for k in keys)
    return (
        f"SELECT c.*, x.k0 IS NOT NULL AS _claimed FROM ({_clean_target(sides)}) AS c "
        f"LEFT JOIN (SELECT DISTINCT {', '.join(keys)} FROM {sides.source} "
        f"WHERE {sides.scope('source')} AND NOT _blank AND ({excluded})) AS x ON {on}"
    )


def _drift_sql(sides: _Sides) -> str:
    rule = sides.rule
    on = [f"s.{k} = t.{k}" for k in sides.keys]
    if sides.join_on_company:
        on.insert(0, "s._company = t._company")
    differs = [_differs(m, i) for i, m in enumerate(rule.fields)]
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
        f"{_out(m, f's.f{i}')} AS s_f{i}, {_out(m, f't.f{i}')} AS t_f{i}, {d} AS d{i}"
        for i, (m, d) in enumerate(zip(rule.fields, differs, strict=True))
    ]
    selected += [
        f"CAST(coalesce(s.f{i}, 0) - coalesce(t.f{i}, 0) AS DOUBLE) AS delta{i}"
        for i, m in enumerate(rule.fields)
        if m.adjust
    ]
    for index, link in enumerate(rule.links):
        selected.append(f"s.l{index} AS l{index}")
        selected += [f"s.m{index}_{p} AS m{index}_{p}" for p in range(len(link.on))]
    changed = " OR ".join(differs) or "false"
    skip_zero = _zero_adjust_condition(rule)
    orphans = (
        "false" if rule.actions.orphan == "ignore" else "t._orphan_eligible AND NOT t._claimed"
    )
    return f"""
        WITH s AS ({_clean_source(sides)}), t AS ({_claimed_target(sides)})
        SELECT {", ".join(selected)}
        FROM s FULL OUTER JOIN t ON {" AND ".join(on)}
        WHERE (t.k0 IS NULL AND NOT ({skip_zero})) OR (s.k0 IS NULL AND {orphans})
            OR (s.k0 IS NOT NULL AND t.k0 IS NOT NULL AND ({changed}))
    """


def _out(mapped: FieldMap, column: str) -> str:
    """Numbers leave SQL as doubles: exact decimals were needed for rounding and comparing,
    not for the plan file (and Python Decimals are slow to make by the hundred thousand)."""
    return f"CAST({column} AS DOUBLE)" if mapped.compare == "number" else column


def _zero_adjust_condition(rule: Rule) -> str:
    """An absent FS row and a zero SCM quantity need no adjustment."""
    if rule.actions.missing != "adjust":
        return "false"
    index, mapped = next((i, m) for i, m in enumerate(rule.fields) if m.adjust)
    return f"coalesce(abs(s.f{index}) <= {mapped.tolerance!r} + 1e-9, true)"


def _differs(mapped: FieldMap, index: int) -> str:
    s, t = f"s.f{index}", f"t.f{index}"
    if mapped.compare == "number":
        return f"coalesce(abs({s} - {t}) > {mapped.tolerance!r} + 1e-9, {s} IS DISTINCT FROM {t})"
    if mapped.compare == "boolean":
        return f"coalesce({s}, false) <> coalesce({t}, false)"
    return f"coalesce(CAST({s} AS VARCHAR), '') <> coalesce(CAST({t} AS VARCHAR), '')"


# ---------------------------------------------------------------- shaping drift rows


def _shape(rule: Rule, row: dict[str, Any], companies: Mapping[str, str]) -> list[Action]:
    company = row["company"] or ""
    if not row["in_target"]:
        return _missing(rule, row, company, companies)
    if not row["in_source"]:
        return _orphan(rule, row, company)
    return _changed(rule, row, company, companies)


def _orphan(rule: Rule, row: dict[str, Any], company: str) -> list[Action]:
    if rule.actions.orphan == "ignore" or not row["_orphan_eligible"]:
        return []
    values = [row[f"t_o{i}"] for i in range(len(rule.keys))]
    if rule.actions.orphan == "deactivate":
        changes: dict[str, dict[str, Any]] = {
            "statecode": {"from": 0, "to": 1},
            "statuscode": {"from": None, "to": 2},
        }
        key = _key(rule, company, values)
        return [_on_row(rule, "deactivate", company, values, key, changes, {}, row)]
    return [
        _finding(
            rule,
            "orphan",
            company,
            values,
            _key(rule, company, values),
            f"FS {rule.target.entity} row {_describe([k.target for k in rule.keys], values)}"
            f"{_in(company)} has no {rule.source.entity} counterpart in SCM; "
            "reported, never deleted.",
        )
    ]


def _missing(
    rule: Rule, row: dict[str, Any], company: str, companies: Mapping[str, str]
) -> list[Action]:
    kind = rule.actions.missing
    if kind == "ignore":
        return []
    values = [row[f"s_o{i}"] for i in range(len(rule.keys))]
    key = _key(rule, company, values)
    if kind == "report":
        return [
            _finding(
                rule,
                "missing",
                company,
                values,
                key,
                f"{_describe([k.target for k in rule.keys], values)} is missing in "
                f"{rule.target.entity}",
            )
        ]
    changes = {
        k.target: {"from": None, "to": values[i]}
        for i, k in enumerate(rule.keys)
        if "." not in k.target
    }
    if kind == "adjust":
        index, mapped = _adjusted(rule)
        changes = {
            mapped.target: {"from": None, "to": row[f"s_f{index}"], "delta": row[f"delta{index}"]}
        }
    else:
        changes.update(
            {m.target: {"from": None, "to": row[f"s_f{i}"]} for i, m in enumerate(rule.fields)}
        )
    links = _links(rule, row, company, companies, range(len(rule.links)))
    return [_action(rule, kind, company, values, key, changes, links=links)]


def _changed(
    rule: Rule, row: dict[str, Any], company: str, companies: Mapping[str, str]
) -> list[Action]:
    values = [row[f"s_o{i}"] for i in range(len(rule.keys))]
    key = _key(rule, company, values)
    differing = [(i, m) for i, m in enumerate(rule.fields) if row[f"d{i}"]]
    actions: list[Action] = []
    adjusted = [(i, m) for i, m in differing if m.adjust]
    if adjusted and rule.actions.changed == "adjust":
        index, mapped = adjusted[0]
        before, after = row[f"t_f{index}"], row[f"s_f{index}"]
        changes = {mapped.target: {"from": before, "to": after, "delta": row[f"delta{index}"]}}
        links = _links(rule, row, company, companies, range(len(rule.links)))
        actions.append(_on_row(rule, "adjust", company, values, key, changes, links, row))
    writable = [(i, m) for i, m in differing if not m.adjust and m.writable]
    readonly = [(i, m) for i, m in differing if not m.adjust and not m.writable]
    if writable and rule.actions.changed in ("update", "report"):
        changes = {m.target: {"from": row[f"t_f{i}"], "to": row[f"s_f{i}"]} for i, m in writable}
        if rule.actions.changed == "update":
            needed = [
                n
                for n, link in enumerate(rule.links)
                if any(m.link == link.name for _, m in writable)
            ]
            links = _links(rule, row, company, companies, needed)
            actions.append(_on_row(rule, "update", company, values, key, changes, links, row))
        else:
            readonly += writable
    if readonly:
        changes = {m.target: {"from": row[f"t_f{i}"], "to": row[f"s_f{i}"]} for i, m in readonly}
        actions.append(
            _finding(
                rule,
                "changed",
                company,
                values,
                key,
                f"{_describe([k.target for k in rule.keys], values)} differs in "
                f"{', '.join(changes)}; the rule does not write these fields.",
                changes=changes,
            )
        )
    return actions


def _links(
    rule: Rule,
    row: dict[str, Any],
    company: str,
    companies: Mapping[str, str],
    needed: Sequence[int] | range,
) -> dict[str, dict[str, Any]]:
    """Resolved links carry the record id; unresolved ones carry what a create must match."""
    links: dict[str, dict[str, Any]] = {}
    bind = rule.target.company_bind
    if bind is not None and company in companies:
        links[bind.navigation] = {"entity_set": bind.entity_set, "id": companies[company]}
    for index in needed:
        link = rule.links[index]
        entry: dict[str, Any] = {"entity_set": link.entity}
        field = next((m.target for m in rule.fields if m.link == link.name), None)
        if field:
            entry["field"] = field
        if row[f"l{index}"] is not None:
            entry["id"] = row[f"l{index}"]
        else:
            entry["pending"] = {
                "rule": link.rule,
                "company": company if link.company else None,
                "match": {
                    theirs: row[f"m{index}_{p}"]
                    for p, (theirs, _ours) in enumerate(sorted(link.on.items()))
                },
            }
        links[link.navigation] = entry
    return links


def _adjusted(rule: Rule) -> tuple[int, FieldMap]:
    return next((i, m) for i, m in enumerate(rule.fields) if m.adjust)


def _action(
    rule: Rule,
    kind: Kind,
    company: str,
    values: Sequence[Any],
    key: dict[str, Any],
    changes: dict[str, dict[str, Any]],
    *,
    links: dict[str, dict[str, Any]],
    etag: str | None = None,
    target_id: str | None = None,
) -> Action:
    return Action(
        id=action_id(rule.name, kind, None, company, [str(v) for v in values]),
        rule=rule.name,
        kind=kind,
        system=rule.target.system,
        entity=rule.target.entity,
        key=key,
        changes=_whole_numbers(changes),
        links=links,
        etag=etag,
        target_id=target_id,
    )


def _on_row(
    rule: Rule,
    kind: Kind,
    company: str,
    values: Sequence[Any],
    key: dict[str, Any],
    changes: dict[str, dict[str, Any]],
    links: dict[str, dict[str, Any]],
    row: dict[str, Any],
) -> Action:
    """An action on an existing target row: guarded by that row's ETag."""
    return _action(
        rule,
        kind,
        company,
        values,
        key,
        changes,
        links=links,
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
        changes=_whole_numbers(changes or {}),
        finding=finding,
        message=message,
    )


def _whole_numbers(changes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Plain JSON numbers: 690970000, not 690970000.0 or Decimal('690970000.0000000000').
    Snapshots hold numbers as exact decimals, and Dataverse refuses a decimal literal for an
    integer or option-set column."""
    return {
        name: {part: _json_number(v) for part, v in change.items()}
        for name, change in changes.items()
    }


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _key(rule: Rule, company: str, key_values: Sequence[Any]) -> dict[str, Any]:
    key: dict[str, Any] = {"company": company} if rule.source.company else {}
    key.update({k.target: key_values[i] for i, k in enumerate(rule.keys)})
    return key


def _in(company: str | None) -> str:
    return f" in {company!r}" if company else ""


def _system_name(system: str) -> str:
    return "SCM" if system == "fno" else "FS"


def _describe(names: Sequence[str], values: Sequence[Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in zip(names, values, strict=True))
