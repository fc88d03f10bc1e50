"""Snapshot: read what the rules need from both services into one immutable DuckDB file.

Pages stream into DuckDB as they arrive (one page in memory at a time). When every entity
is read, derived columns are added once: ``_company`` (the SCM legal entity a row belongs
to) and ``_nk_<key>`` (trimmed, case-folded keys), so every diff joins plain columns.
The file is written under a temporary name and renamed when complete: a failed run leaves
no snapshot behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from reconciler.config import Profile
from reconciler.connectors.base import Connector
from reconciler.errors import SnapshotError
from reconciler.rules import Compare, RuleSet
from reconciler.sql import ident as _q
from reconciler.sql import literal as _lit

__all__ = [
    "SnapshotInfo",
    "TableInfo",
    "latest_snapshot",
    "open_snapshot",
    "read_info",
    "table_name",
    "take_snapshot",
]

PageCallback = Callable[[str, str, int], None]
_POLARS_TYPES: dict[Compare, Any] = {"text": pl.Utf8, "number": pl.Float64, "boolean": pl.Utf8}
_SQL_TYPES: dict[Compare, str] = {"text": "VARCHAR", "number": "DOUBLE", "boolean": "BOOLEAN"}
ETAG = "_etag"


@dataclass(frozen=True)
class TableInfo:
    """One entity as read: where from, how many rows, and a content fingerprint."""

    system: str
    entity: str
    table: str
    url: str
    rows: int
    fingerprint: str
    requests: int


@dataclass(frozen=True)
class SnapshotInfo:
    """A complete snapshot file and what it holds."""

    path: Path
    snapshot_id: str
    taken_at: str
    profile: str
    rules_hash: str
    tables: tuple[TableInfo, ...]

    def fingerprints(self) -> dict[str, dict[str, str]]:
        """``{system: {entity: fingerprint}}`` for the plan file."""
        result: dict[str, dict[str, str]] = {}
        for table in self.tables:
            result.setdefault(table.system, {})[table.entity] = table.fingerprint
        return result


def table_name(system: str, entity: str) -> str:
    """The snapshot table of one entity, e.g. ``fno__Warehouses``."""
    return f"{system}__{entity}"


def take_snapshot(
    profile: Profile,
    rules: RuleSet,
    connectors: Mapping[str, Connector],
    *,
    on_page: PageCallback | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SnapshotInfo:
    """Read every entity the rules name and write a new snapshot file."""
    folder = profile.snapshots_dir
    folder.mkdir(parents=True, exist_ok=True)
    started = now()
    partial = folder / f".partial-{started.strftime('%Y%m%dT%H%M%S%f')}.duckdb"
    try:
        with contextlib.closing(duckdb.connect(str(partial))) as con:
            tables = tuple(
                _read_entity(con, profile, rules, connectors[system], entity, on_page)
                for system, entity in rules.entities()
            )
            info = _finish(con, profile, rules, tables, now(), partial)
        final = (
            folder
            / f"{info.taken_at.replace(':', '').replace('-', '')}_{info.snapshot_id[7:19]}.duckdb"
        )
        partial.rename(final)
        return SnapshotInfo(
            final, info.snapshot_id, info.taken_at, info.profile, info.rules_hash, info.tables
        )
    finally:
        partial.unlink(missing_ok=True)
        Path(f"{partial}.wal").unlink(missing_ok=True)


def _read_entity(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    rules: RuleSet,
    connector: Connector,
    entity: str,
    on_page: PageCallback | None,
) -> TableInfo:
    system = connector.system
    columns = rules.columns(system, entity)
    staging = f"_raw__{system}__{entity}"
    _create_staging(con, staging, columns)
    before = connector.request_count
    rows = 0
    for page in connector.read_pages(
        entity,
        list(columns),
        filter=_entity_filter(rules, system, entity),
        order_by=_stable_order(rules, system, entity),
    ):
        rows += _insert_page(con, staging, columns, page)
        if on_page:
            on_page(system, entity, rows)
    table = table_name(system, entity)
    _derive(con, profile, rules, staging, table, system, entity, columns)
    return TableInfo(
        system=system,
        entity=entity,
        table=table,
        url=connector.url,
        rows=rows,
        fingerprint=_fingerprint(con, table, columns),
        requests=connector.request_count - before,
    )


def _create_staging(
    con: duckdb.DuckDBPyConnection, staging: str, columns: dict[str, Compare]
) -> None:
    column_sql = ", ".join(f"{_q(name)} {_staging_type(kind)}" for name, kind in columns.items())
    con.execute(f"CREATE TABLE {_q(staging)} ({column_sql}, {_q(ETAG)} VARCHAR)")


def _staging_type(kind: Compare) -> str:
    # Booleans arrive as JSON true/false (Dataverse) or NoYes enum names (F&O): keep the
    # text and convert once, in SQL, when the final table is derived.
    return "VARCHAR" if kind == "boolean" else _SQL_TYPES[kind]


def _insert_page(
    con: duckdb.DuckDBPyConnection,
    staging: str,
    columns: dict[str, Compare],
    page: list[dict[str, Any]],
) -> int:
    if not page:
        return 0
    schema = {name: _POLARS_TYPES[kind] for name, kind in columns.items()}
    schema["@odata.etag"] = pl.Utf8
    frame = pl.from_dicts(page, schema=schema, strict=False).rename({"@odata.etag": ETAG})
    con.register("_page", frame)
    try:
        con.execute(f"INSERT INTO {_q(staging)} BY NAME SELECT * FROM _page")
    finally:
        con.unregister("_page")
    return frame.height


def _derive(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    rules: RuleSet,
    staging: str,
    table: str,
    system: str,
    entity: str,
    columns: dict[str, Compare],
) -> None:
    """Final table = raw columns (booleans converted) + ``_company`` + ``_nk_*`` keys."""
    selected = [
        _bool_sql(_q(name)) + f" AS {_q(name)}" if kind == "boolean" else _q(name)
        for name, kind in columns.items()
    ]
    selected.append(_q(ETAG))
    selected.append(f"{_company_sql(profile, rules, system, entity)} AS _company")
    selected.extend(
        f"lower(trim({_q(key)})) AS {_q('_nk_' + key)}"
        for key in _key_columns(rules, system, entity)
    )
    con.execute(f"CREATE TABLE {_q(table)} AS SELECT {', '.join(selected)} FROM {_q(staging)}")
    con.execute(f"DROP TABLE {_q(staging)}")


def _company_sql(profile: Profile, rules: RuleSet, system: str, entity: str) -> str:
    """SQL giving each row's SCM legal entity (lower case), or NULL when out of scope."""
    column = _company_column(rules, system, entity)
    if column is None:
        return "''"
    if system == "fno":
        return f"lower(trim({_q(column)}))"
    mapping = profile.company_for_business_unit()
    if not mapping:
        return "NULL::VARCHAR"
    cases = " ".join(
        f"WHEN {_lit(value)} THEN {_lit(company)}" for value, company in sorted(mapping.items())
    )
    return f"CASE lower(trim({_q(column)})) {cases} ELSE NULL END"


def _company_column(rules: RuleSet, system: str, entity: str) -> str | None:
    found: set[str] = set()
    for rule in rules:
        for side in (rule.source, rule.target):
            if (side.system, side.entity) == (system, entity) and side.company:
                found.add(side.company)
    if len(found) > 1:
        raise SnapshotError(
            f"{system} entity {entity} has more than one company column across rules: "
            f"{', '.join(sorted(found))}; use one"
        )
    return found.pop() if found else None


def _key_columns(rules: RuleSet, system: str, entity: str) -> list[str]:
    keys: dict[str, None] = {}
    for rule in rules:
        if (rule.source.system, rule.source.entity) == (system, entity):
            keys.update((key.source, None) for key in rule.keys)
        if (rule.target.system, rule.target.entity) == (system, entity):
            keys.update((key.target, None) for key in rule.keys)
    return list(keys)


def _entity_filter(rules: RuleSet, system: str, entity: str) -> str | None:
    filters = {
        side.filter
        for rule in rules
        for side in (rule.source, rule.target)
        if (side.system, side.entity) == (system, entity)
    }
    if None in filters or not filters:
        return None  # some rule needs every row
    return " or ".join(f"({item})" for item in sorted(f for f in filters if f))


def _stable_order(rules: RuleSet, system: str, entity: str) -> list[str]:
    """F&O pages are offset-based: order by company + keys so pages don't shift."""
    if system != "fno":
        return []
    company = _company_column(rules, system, entity)
    return ([company] if company else []) + _key_columns(rules, system, entity)


def _fingerprint(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, Compare]) -> str:
    names = sorted(columns)
    row_hash = f"hash({', '.join(_q(name) for name in names)}, {_q(ETAG)})"
    count, total = con.execute(
        f"SELECT count(*), coalesce(sum({row_hash}::UHUGEINT), 0)::VARCHAR FROM {_q(table)}"
    ).fetchone() or (0, "0")
    digest = hashlib.sha256(f"{table}|{','.join(names)}|{count}|{total}".encode()).hexdigest()
    return f"sha256:{digest}"


def _finish(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    rules: RuleSet,
    tables: tuple[TableInfo, ...],
    finished: datetime,
    path: Path,
) -> SnapshotInfo:
    snapshot_id = (
        "sha256:"
        + hashlib.sha256(
            "|".join(f"{t.system}/{t.entity}={t.fingerprint}" for t in tables).encode()
        ).hexdigest()
    )
    info = SnapshotInfo(
        path=path,
        snapshot_id=snapshot_id,
        taken_at=finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
        profile=profile.name,
        rules_hash=rules.hash,
        tables=tables,
    )
    con.execute("CREATE TABLE _snapshot_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    meta = {
        "snapshot_id": info.snapshot_id,
        "taken_at": info.taken_at,
        "profile": info.profile,
        "rules_hash": info.rules_hash,
        "companies": json.dumps(profile.companies, sort_keys=True),
        "tables": json.dumps([t.__dict__ for t in tables]),
    }
    con.executemany("INSERT INTO _snapshot_meta VALUES (?, ?)", list(meta.items()))
    con.execute("CHECKPOINT")
    return info


def read_info(path: Path) -> SnapshotInfo:
    """Metadata of a snapshot file; SnapshotError when it is not a complete snapshot."""
    with open_snapshot(path) as con:
        try:
            meta = dict(con.execute("SELECT key, value FROM _snapshot_meta").fetchall())
        except duckdb.Error:
            raise SnapshotError(
                f"{path} is not a reconciler snapshot (no _snapshot_meta table)"
            ) from None
    tables = tuple(TableInfo(**item) for item in json.loads(meta["tables"]))
    return SnapshotInfo(
        path, meta["snapshot_id"], meta["taken_at"], meta["profile"], meta["rules_hash"], tables
    )


@contextlib.contextmanager
def open_snapshot(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a snapshot read-only; snapshots are immutable once written."""
    if not path.is_file():
        raise SnapshotError(f"snapshot {path} does not exist; run `reconcile snapshot` first")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise SnapshotError(f"snapshot {path} cannot be opened: {exc}") from None
    try:
        yield con
    finally:
        con.close()


def latest_snapshot(folder: Path) -> Path:
    """The newest complete snapshot in ``folder``."""
    candidates = sorted(p for p in folder.glob("*.duckdb") if not p.name.startswith("."))
    if not candidates:
        raise SnapshotError(f"no snapshot in {folder}; run `reconcile snapshot --profile …` first")
    return candidates[-1]


def _bool_sql(column: str) -> str:
    return (
        f"CASE lower(trim({column})) WHEN 'true' THEN true WHEN 'yes' THEN true "
        f"WHEN 'false' THEN false WHEN 'no' THEN false ELSE NULL END"
    )
