"""The join: one full outer join per rule that returns only the rows that differ.

Comparison happens entirely in DuckDB; the rows that come back (a few percent at most) are
shaped into actions by ``shape.py``, reading columns by position.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal

import duckdb

from reconciler.diff.shape import Shaper
from reconciler.diff.sides import Sides
from reconciler.plan import Action, id_prefix
from reconciler.prepare import shown_columns
from reconciler.rules import FieldMap, Rule
from reconciler.sql import literal
from reconciler.tables import NUMBER_TYPE

__all__ = ["differs", "drift_actions"]

FETCH_ROWS = 20_000


def drift_actions(
    con: duckdb.DuckDBPyConnection, sides: Sides, companies: Mapping[str, str]
) -> list[Action]:
    """Creates, updates, adjustments, deactivations and orphan/changed findings of one rule."""
    cursor = con.execute(
        drift_sql(
            sides,
            claimed=_has_set_aside_rows(con, sides),
            taken=_has_duplicate_targets(con, sides),
        )
    )
    columns = [item[0] for item in cursor.description or ()]
    shaper = Shaper(sides.rule, columns, companies, sides.header.rule if sides.header else None)
    actions: list[Action] = []
    for batch in _batches(cursor):
        actions.extend(shaper.shape(batch))
    return actions


def _batches(cursor: duckdb.DuckDBPyConnection) -> Iterator[list[tuple[object, ...]]]:
    while batch := cursor.fetchmany(FETCH_ROWS):
        yield batch


def _clean_source(sides: Sides) -> str:
    """Usable source rows; without a target company, one row per key when companies agree."""
    extra = ""
    if not sides.join_on_company and sides.rule.source.company:
        extra = " AND _first AND _agree"
    return f"SELECT rowid AS _row, * FROM {sides.source} WHERE {sides.usable('source')}{extra}"


def clean_target(sides: Sides) -> str:
    """Usable target rows, with their row id (``_row``) to fetch what they show by."""
    return f"SELECT rowid AS _row, * FROM {sides.target} WHERE {sides.usable('target')}"


def _set_aside(sides: Sides) -> str:
    """Source rows with a key that were left out of the comparison: duplicates and
    cross-company conflicts."""
    excluded = ["_dup"]
    if not sides.join_on_company and sides.rule.source.company:
        excluded.append("NOT (_first AND _agree)")
    return (
        f"FROM {sides.source} WHERE {sides.scope('source')} AND NOT _blank "
        f"AND ({' OR '.join(excluded)})"
    )


def _has_set_aside_rows(con: duckdb.DuckDBPyConnection, sides: Sides) -> bool:
    row = con.execute(f"SELECT EXISTS (SELECT 1 {_set_aside(sides)})").fetchone()
    return bool(row and row[0])


def _has_duplicate_targets(con: duckdb.DuckDBPyConnection, sides: Sides) -> bool:
    row = con.execute(f"SELECT EXISTS (SELECT 1 {_duplicate_targets(sides)})").fetchone()
    return bool(row and row[0])


def _duplicate_targets(sides: Sides) -> str:
    return f"FROM {sides.target} WHERE {sides.scope('target')} AND NOT _blank AND _dup"


def _join_keys(sides: Sides) -> list[str]:
    return (["_company"] if sides.join_on_company else []) + sides.keys


def _source_rows(sides: Sides, taken: bool) -> str:
    """Clean source rows, flagged ``_taken`` when the target holds their key more than once
    (a duplicate-key finding: not missing then, so nothing is created a second time), and
    ``_incomplete`` when the row heads a document one of whose lines cannot be written."""
    keys = _join_keys(sides)
    flags, joins = ["false AS _taken"], ""
    if taken:
        on = " AND ".join(f"c.{k} = x.{k}" for k in keys)
        flags[0] = "x.k0 IS NOT NULL AS _taken"
        joins += f" LEFT JOIN (SELECT DISTINCT {', '.join(keys)} {_duplicate_targets(sides)}) AS x"
        joins += f" ON {on}"
    blocked = [query for line in sides.lines if (query := _blocked_lines(sides, line))]
    if blocked:
        on = " AND ".join(["b._company = c._company"] + [f"b.{k} = c.{k}" for k in sides.keys])
        joins += f" LEFT JOIN ({' UNION '.join(blocked)}) AS b ON {on}"
        flags.append("b.k0 IS NOT NULL AS _incomplete")
    else:
        flags.append("false AS _incomplete")
    return f"SELECT c.*, {', '.join(flags)} FROM ({_clean_source(sides)}) AS c{joins}"


def _blocked_lines(header: Sides, line: Sides) -> str | None:
    """Header keys of the line rule's rows that cannot be written: a required lookup finds
    nothing, a required value is blank, or a blocking check fails (``_blocked``)."""
    document = line.rule.document
    assert document is not None
    failing = ["_blocked"] + [
        f"NOT q{index}" for index, lookup in enumerate(line.rule.source.lookups) if lookup.required
    ]
    ours = {key.target: index for index, key in enumerate(line.rule.keys)}
    theirs = {target: ours[name] for name, target in document.keys.items()}
    columns = [f"k{theirs[key.target]} AS k{j}" for j, key in enumerate(header.rule.keys)]
    return (
        f"SELECT DISTINCT _company, {', '.join(columns)} FROM {line.source} "
        f"WHERE {line.scope('source', required=False)} AND NOT _blank "
        f"AND ({' OR '.join(failing)})"
    )


def _claimed_target(sides: Sides, claimed: bool) -> str:
    """Clean target rows, flagged ``_claimed`` when a source row has their key but was set
    aside (a duplicate or a cross-company conflict): not an orphan then. The extra join is
    skipped when nothing was set aside, which is the common case. ``_excluded`` names the
    exclusion (``source.excluded``) whose rows own the target row."""
    keys = _join_keys(sides)
    excluded = "NULL::INTEGER AS _excluded"
    joins = ""
    if sides.rule.source.excluded:
        on = " AND ".join(
            ["e._company IS NOT DISTINCT FROM c._company"] + [f"e.{k} = c.{k}" for k in sides.keys]
        )
        excluded = "e._excluded AS _excluded"
        joins += f" LEFT JOIN {sides.excluded} AS e ON {on}"
    if claimed:
        on = " AND ".join(f"c.{k} = x.{k}" for k in keys)
        joins += f" LEFT JOIN (SELECT DISTINCT {', '.join(keys)} {_set_aside(sides)}) AS x ON {on}"
        flag = "x.k0 IS NOT NULL AS _claimed"
    else:
        flag = "false AS _claimed"
    return f"SELECT c.*, {flag}, {excluded} FROM ({clean_target(sides)}) AS c{joins}"


def _header_joins(sides: Sides) -> tuple[str, list[str]]:
    """Document lines: the header's target row (``h``: exists, frozen, its id) and whether
    FS has the header in scope (``hs``), joined on the keys ``document.keys`` maps."""
    document, header = sides.rule.document, sides.header
    if document is None or header is None:
        return "", []
    at = {key.target: index for index, key in enumerate(sides.rule.keys)}
    theirs = {key.target: index for index, key in enumerate(header.rule.keys)}
    pairs = [(at[ours], theirs[other]) for ours, other in sorted(document.keys.items())]

    def on(alias: str) -> str:
        parts = [f"{alias}._company = coalesce(s._company, t._company)"]
        parts += [f"{alias}.k{j} = coalesce(s.k{i}, t.k{i})" for i, j in pairs]
        return " AND ".join(parts)

    header_keys = ", ".join(header.keys)
    joins = (
        f" LEFT JOIN (SELECT _company, {header_keys}, _id, _frozen FROM {header.target} "
        f"WHERE {header.usable('target')}) AS h ON {on('h')}"
        f" LEFT JOIN (SELECT _company, {header_keys}, _blocked FROM {header.source} "
        f"WHERE {header.usable('source')}) AS hs ON {on('hs')}"
    )
    selected = [
        "h._id AS h_id",
        "coalesce(h._frozen, false) AS h_frozen",
        "h.k0 IS NOT NULL AS h_in_target",
    ]
    return joins, selected


def drift_sql(sides: Sides, *, claimed: bool = True, taken: bool = False) -> str:
    """Rows missing on the target, orphans, and matched rows whose fields differ.

    Two phases in one query. The join (``d``) is on the prepared key hash ``_kh`` and
    carries only what decides whether a row differs: compared values, flags and each
    side's row id. What the plan shows of a row (``_show``: original keys, record ids,
    links) is then fetched for the few rows that differ, by row id, which DuckDB does
    without scanning the tables again: carrying it through the join for every row cost
    twice the join itself at 10M rows.
    """
    rule = sides.rule
    compared = [differs(m, i) for i, m in enumerate(rule.fields)]
    narrow = ["s._row AS s_row", "t._row AS t_row"]
    if rule.source.excluded:
        narrow.append("t._excluded AS t_excluded")
    if sides.lines:
        narrow.append("coalesce(s._incomplete, false) AS s_incomplete")
    narrow += [
        f"{_out(m, f's.f{i}')} AS s_f{i}, {_out(m, f't.f{i}')} AS t_f{i}, {d} AS d{i}"
        for i, (m, d) in enumerate(zip(rule.fields, compared, strict=True))
    ]
    narrow += [
        f"CAST(coalesce(s.f{i}, 0) - coalesce(t.f{i}, 0) AS DOUBLE) AS delta{i}"
        for i, m in enumerate(rule.fields)
        if m.adjust
    ]
    header_joins, header_columns = _header_joins(sides)
    narrow += header_columns
    return f"""
        WITH s AS ({_source_rows(sides, taken)}), t AS ({_claimed_target(sides, claimed)}),
        d AS (
            SELECT {", ".join(narrow)}
            FROM s FULL OUTER JOIN t ON s._kh = t._kh{header_joins}
            WHERE {_differs_where(sides, compared, bool(header_joins))}
        )
        SELECT *, {", ".join(_id_columns(sides))} FROM (
            SELECT {", ".join(_fetched_columns(rule))}
            FROM d LEFT JOIN {sides.source} AS s ON s.rowid = d.s_row
                LEFT JOIN {sides.target} AS t ON t.rowid = d.t_row
        )
    """


def _differs_where(sides: Sides, compared: list[str], documents: bool) -> str:
    """Which joined rows come back: missing, orphaned (or owned by an excluded source row
    the rule reports), or matched with a difference."""
    rule = sides.rule
    changed = f"({' OR '.join(compared) or 'false'}) AND NOT s._blocked"
    orphans = (
        "false"
        if rule.actions.orphan == "ignore"
        else "t._orphan_eligible AND NOT t._claimed AND t._excluded IS NULL"
    )
    missing = (
        "false"
        if rule.actions.missing == "ignore"
        else f"NOT ({_zero_adjust(rule)}) AND NOT s._blocked AND NOT s._taken"
    )
    if documents:  # lines of a header FS does not have (or cannot write) are the header's
        missing += " AND hs.k0 IS NOT NULL AND NOT hs._blocked"
        orphans = f"({orphans}) AND hs.k0 IS NOT NULL"
    reported = [i for i, exclusion in enumerate(rule.source.excluded) if exclusion.report]
    excluded = f"t._excluded IN ({', '.join(map(str, reported))})" if reported else "false"
    return (
        f"(t._row IS NULL AND {missing}) OR (s._row IS NULL AND ({orphans} OR {excluded})) "
        f"OR (s._row IS NOT NULL AND t._row IS NOT NULL AND ({changed}))"
    )


def _fetched_columns(rule: Rule) -> list[str]:
    """The drift row as the shaper reads it: the join's columns plus what the source
    (``s``) and target (``t``) rows fetched by row id show (``prepare.shown_columns``)."""
    columns = [
        "coalesce(s._company, t._company) AS company",
        "d.s_row IS NOT NULL AS in_source",
        "d.t_row IS NOT NULL AS in_target",
        "d.* EXCLUDE (s_row, t_row)",
    ]
    if rule.target.frozen_when:
        columns.append("coalesce(t._frozen, false) AS t_frozen")
    for alias, side in (("s", "source"), ("t", "target")):
        for position, name in enumerate(shown_columns(rule, side)):
            shown = f"json_extract_string({alias}._show, '$[{position}]')"
            columns.append(f"{shown} AS {f'{alias}_{name}' if name[0] == 'o' else name}")
    return columns


def _id_columns(sides: Sides) -> list[str]:
    """Action ids, made in SQL: ``id_missing`` and ``id_orphan`` for the kind the rule gives
    those rows, and one column per kind a changed row can produce; none for kinds the rule
    cannot produce (no frozen documents, no exclusions, ...)."""
    rule = sides.rule
    missing, orphan, changed = rule.actions.missing, rule.actions.orphan, rule.actions.changed
    header = sides.header.rule if sides.header else None
    frozen = bool(rule.target.frozen_when or (header and header.target.frozen_when))
    kinds = {
        "id_missing": (
            missing != "ignore",
            "t",
            "s",
            *(("report", "missing") if missing == "report" else (missing, None)),
        ),
        "id_orphan": (
            orphan != "ignore",
            "s",
            "t",
            *(("report", "orphan") if orphan == "report" else (orphan, None)),
        ),
        "id_adjust": (changed == "adjust", "", "s", "adjust", None),
        "id_update": (changed == "update", "", "s", "update", None),
        "id_changed": (True, "", "s", "report", "changed"),  # fields the rule cannot write
        "id_frozen": (frozen, "t", "s", "report", "frozen"),
        "id_incomplete": (bool(sides.lines), "t", "s", "report", "incomplete_document"),
        "id_excluded": (bool(rule.source.excluded), "s", "t", "report", "excluded"),
    }
    present = {"s": "in_source", "t": "in_target"}
    columns = []
    for name, (possible, absent, side, kind, finding) in kinds.items():
        if not possible:
            continue
        made = id_sql(id_prefix(rule.name, kind, finding), side, len(rule.keys))
        when = f"NOT {present[absent]}" if absent else "in_source AND in_target"
        if name == "id_frozen":  # a missing line of a frozen document, or a changed row
            when = "in_source"
        columns.append(f"CASE WHEN {when} THEN {made} END AS {name}")
    return columns


def id_sql(prefix: str, side: str, keys: int) -> str:
    """SQL twin of ``plan.action_id_after`` over the original key values ``<side>_o<i>``
    of a fetched drift row."""
    parts = ["coalesce(company, '')"] + [
        f"lower(coalesce({side}_o{i}, 'None'))" for i in range(keys)
    ]
    material = " || chr(31) || ".join(parts)
    head = " || chr(31) || ".join(literal(part) for part in prefix.split("\x1f"))
    return f"substr(sha256({head} || {material}), 1, 16)"


def _out(mapped: FieldMap, column: str) -> str:
    """Numbers leave SQL as doubles: exact decimals were needed for rounding and comparing,
    not for the plan file (and Python Decimals are slow to make by the hundred thousand)."""
    if mapped.compare == "date":
        return f"strftime({column}, '%Y-%m-%d')"
    return f"CAST({column} AS DOUBLE)" if mapped.compare == "number" else column


def _zero_adjust(rule: Rule) -> str:
    """An absent FS row and a zero SCM quantity need no adjustment."""
    if rule.actions.missing != "adjust":
        return "false"
    index, mapped = next((i, m) for i, m in enumerate(rule.fields) if m.adjust)
    return f"coalesce(abs(s.f{index}) <= {_tolerance(mapped)}, true)"


def _tolerance(mapped: FieldMap) -> str:
    """The field's tolerance as an exact decimal: snapshot numbers are exact decimals, and
    comparing them to a double would convert every one of them (a third of the join's time
    at 10M rows)."""
    exact = format(Decimal(repr(mapped.tolerance)), "f")
    return f"CAST('{exact}' AS {NUMBER_TYPE})"


def differs(mapped: FieldMap, index: int) -> str:
    """SQL: field ``index`` of ``s`` and ``t`` differ beyond the rule's tolerance."""
    s, t = f"s.f{index}", f"t.f{index}"
    if mapped.compare == "date":
        return f"{s} IS DISTINCT FROM {t}"
    if mapped.compare == "number":
        return f"coalesce(abs({s} - {t}) > {_tolerance(mapped)}, {s} IS DISTINCT FROM {t})"
    if mapped.compare == "boolean":
        return f"coalesce({s}, false) <> coalesce({t}, false)"
    return f"coalesce(CAST({s} AS VARCHAR), '') <> coalesce(CAST({t} AS VARCHAR), '')"
