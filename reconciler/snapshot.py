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
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from reconciler.config import DuckConfig, Profile
from reconciler.connectors.base import ChangeReader, Connector
from reconciler.errors import SnapshotError
from reconciler.prepare import prepare_rule
from reconciler.rules import Compare, RuleSet
from reconciler.snapshot_reads import (
    NoTracking,
    Previous,
    ReadResult,
    Staging,
    company_partitions,
    gone_table,
    read_paged,
    read_tracked,
)
from reconciler.sql import ident as _q
from reconciler.sql import literal as _lit
from reconciler.tables import ETAG, NUMBER_TYPE, PREPARED_LAYOUT, nk, table_name

__all__ = [
    "SnapshotInfo",
    "TableInfo",
    "derive_table",
    "latest_snapshot",
    "open_snapshot",
    "prepare_all",
    "read_info",
    "staging_table",
    "take_snapshot",
]

PageCallback = Callable[[str, str, int], None]
_SQL_TYPES: dict[Compare, str] = {"text": "VARCHAR", "number": "DOUBLE", "boolean": "BOOLEAN"}


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
    filter: str | None = None
    mode: str = "full"
    """``full``, ``partitioned`` (F&O, per legal entity) or ``delta`` (Dataverse changes
    applied to the previous snapshot's rows)."""
    delta_link: str | None = None
    seconds: float = 0.0
    """Wall time of reading (and, for a delta, merging) this table."""

    @property
    def label(self) -> str:
        """``Entity`` or ``Entity?$filter=…`` when read with a rule's filter."""
        return self.entity if not self.filter else f"{self.entity}?$filter={self.filter}"


@dataclass(frozen=True)
class SnapshotInfo:
    """A complete snapshot file and what it holds."""

    path: Path
    snapshot_id: str
    taken_at: str
    profile: str
    rules_hash: str
    tables: tuple[TableInfo, ...]
    layout: str = PREPARED_LAYOUT
    """The prepared tables' layout (``tables.PREPARED_LAYOUT`` when it was written)."""

    def fingerprints(self) -> dict[str, dict[str, str]]:
        """``{system: {entity: fingerprint}}`` for the plan file."""
        result: dict[str, dict[str, str]] = {}
        for table in self.tables:
            result.setdefault(table.system, {})[table.label] = table.fingerprint
        return result


def take_snapshot(
    profile: Profile,
    rules: RuleSet,
    connectors: Mapping[str, Connector],
    *,
    on_page: PageCallback | None = None,
    on_note: Callable[[str], None] | None = None,
    incremental: bool = True,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SnapshotInfo:
    """Read every entity the rules name and write a new snapshot file.

    With ``incremental``, Dataverse tables are brought up to date from the newest earlier
    snapshot of the same profile and rules through change tracking (``on_note`` hears why
    a table was read in full instead).
    """
    folder = profile.snapshots_dir
    folder.mkdir(parents=True, exist_ok=True)
    started = now()
    partial = folder / f".partial-{started.strftime('%Y%m%dT%H%M%S%f')}.duckdb"
    try:
        config = profile.engine.duckdb_config()
        with contextlib.closing(duckdb.connect(str(partial), config=config)) as con:
            earlier = _attach_previous(con, profile, rules) if incremental else {}
            reading = _Reading(con, profile, rules, earlier, on_page, on_note)
            tables = tuple(
                reading.entity(connectors[system], entity, filter)
                for system, entity, filter in rules.reads()
            )
            if earlier:
                con.execute("DETACH prev")
            prepare_all(con, rules, profile)
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


class _Reading:
    """Reads every entity of one snapshot, choosing how per entity (see snapshot_reads)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        profile: Profile,
        rules: RuleSet,
        earlier: Mapping[str, TableInfo],
        on_page: PageCallback | None,
        on_note: Callable[[str], None] | None,
    ) -> None:
        self.con = con
        self.profile = profile
        self.rules = rules
        self.earlier = earlier
        self.on_page = on_page
        self.on_note = on_note

    def entity(self, connector: Connector, entity: str, filter: str | None) -> TableInfo:
        system = connector.system
        columns = self.rules.columns(system, entity)
        table = table_name(system, entity, filter)
        staging = Staging(self.con, staging_table(system, entity, filter), columns)
        _create_staging(self.con, staging.table, columns)
        before = connector.request_count

        def progress(rows: int) -> None:
            if self.on_page:
                self.on_page(system, entity, rows)

        started = time.perf_counter()
        result = self._read(connector, entity, filter, staging, progress)
        seconds = time.perf_counter() - started
        if result.note and self.on_note:
            self.on_note(result.note)
        derive_table(self.con, self.profile, self.rules, system, entity, filter, result.carried)
        rows, fingerprint = _fingerprint(self.con, table, columns)
        return TableInfo(
            system=system,
            entity=entity,
            table=table,
            url=connector.url,
            rows=rows,
            fingerprint=fingerprint,
            requests=connector.request_count - before,
            filter=filter,
            mode=result.mode,
            delta_link=result.delta_link,
            seconds=round(seconds, 3),
        )

    def _read(
        self,
        connector: Connector,
        entity: str,
        filter: str | None,
        staging: Staging,
        progress: Callable[[int], None],
    ) -> ReadResult:
        system = connector.system
        id_column = _tracking_id(self.rules, entity) if system == "dataverse" else None
        if isinstance(connector, ChangeReader) and filter is None and id_column:
            previous = self._previous(table_name(system, entity, None))
            try:
                return read_tracked(connector, entity, staging, id_column, previous, progress)
            except NoTracking as exc:
                plain = read_paged(connector, entity, staging, None, [], [], 1, progress)
                return ReadResult(plain.rows, plain.mode, None, exc.note)
        company = self.rules.company_column(system, entity) if system == "fno" else None
        partitions = company_partitions(company, _mapped(self.profile)) if company else []
        order = _stable_order(self.rules, system, entity)
        concurrency = self.profile.http.concurrency
        return read_paged(
            connector, entity, staging, filter, order, partitions, concurrency, progress
        )

    def _previous(self, table: str) -> Previous | None:
        found = self.earlier.get(table)
        if found is None or not found.delta_link:
            return None
        return Previous(found.table, found.delta_link)


def _mapped(profile: Profile) -> list[str]:
    return sorted(company for company, value in profile.companies.items() if value)


def _tracking_id(rules: RuleSet, entity: str) -> str | None:
    """The Dataverse table's primary id column, when the rules read it: deleted rows come
    back from change tracking as ids only."""
    columns = rules.columns("dataverse", entity)
    return next((c for c in rules.dataverse_ids(entity) if c in columns), None)


def _attach_previous(
    con: duckdb.DuckDBPyConnection, profile: Profile, rules: RuleSet
) -> dict[str, TableInfo]:
    """Attach the newest earlier snapshot of this profile and rules as ``prev``; its
    tables by name ({} when there is none to build on)."""
    try:
        path = latest_snapshot(profile.snapshots_dir)
        info = read_info(path)
    except SnapshotError:
        return {}
    if info.rules_hash != rules.hash or info.profile != profile.name:
        return {}
    with open_snapshot(path) as old:
        row = old.execute("SELECT value FROM _snapshot_meta WHERE key = 'companies'").fetchone()
    if not row or json.loads(row[0]) != profile.companies:
        return {}
    con.execute(f"ATTACH {_lit(str(path))} AS prev (READ_ONLY)")
    return {table.table: table for table in info.tables}


def _create_staging(
    con: duckdb.DuckDBPyConnection, staging: str, columns: dict[str, Compare]
) -> None:
    column_sql = ", ".join(f"{_q(name)} {_staging_type(kind)}" for name, kind in columns.items())
    con.execute(f"CREATE TABLE {_q(staging)} ({column_sql}, {_q(ETAG)} VARCHAR)")


def _staging_type(kind: Compare) -> str:
    # Booleans arrive as JSON true/false (Dataverse) or NoYes enum names (F&O): keep the
    # text and convert once, in SQL, when the final table is derived.
    return "VARCHAR" if kind == "boolean" else _SQL_TYPES[kind]


def staging_table(system: str, entity: str, filter: str | None) -> str:
    """Where pages of one read land before the final table is derived."""
    return f"_raw__{table_name(system, entity, filter)}"


def derive_table(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    rules: RuleSet,
    system: str,
    entity: str,
    filter: str | None,
    carried: str | None = None,
) -> None:
    """Final table = staged columns (typed) + ``_company`` + ``_nk_*`` keys, plus the
    ``carried`` rows (a delta's unchanged rows, already in final form)."""
    columns = rules.columns(system, entity)
    staging = staging_table(system, entity, filter)
    table = table_name(system, entity, filter)
    selected = [f"{_typed_sql(_q(name), kind)} AS {_q(name)}" for name, kind in columns.items()]
    selected.append(_q(ETAG))
    selected.append(f"{_company_sql(profile, rules, system, entity)} AS _company")
    selected.extend(
        f"lower(trim(CAST({_q(key)} AS VARCHAR))) AS {_q(nk(key))}"
        for key in rules.normalised_columns(system, entity)
    )
    derived = f"SELECT {', '.join(selected)} FROM {_q(staging)}"
    if carried:
        derived += f" UNION ALL BY NAME {carried}"
    con.execute(f"CREATE TABLE {_q(table)} AS {derived}")
    con.execute(f"DROP TABLE {_q(staging)}")
    con.execute(f"DROP TABLE IF EXISTS {_q(gone_table(staging))}")


def prepare_all(con: duckdb.DuckDBPyConnection, rules: RuleSet, profile: Profile) -> None:
    """Build every rule's prepared tables from the final raw tables."""
    normalised = {
        (system, entity): set(rules.normalised_columns(system, entity))
        for system, entity in rules.entities()
    }
    mapped = sorted(company for company, value in profile.companies.items() if value)
    for rule in rules:
        prepare_rule(con, rule, normalised, mapped)


def _company_sql(profile: Profile, rules: RuleSet, system: str, entity: str) -> str:
    """SQL giving each row's SCM legal entity (lower case), or NULL when out of scope."""
    column = rules.company_column(system, entity)
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


def _stable_order(rules: RuleSet, system: str, entity: str) -> list[str]:
    """F&O pages are offset-based: order by company + keys so pages don't shift."""
    if system != "fno":
        return []
    company = rules.company_column(system, entity)
    keys = [c for c in rules.normalised_columns(system, entity) if c != company]
    return ([company] if company else []) + keys


def _fingerprint(
    con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, Compare]
) -> tuple[int, str]:
    """The table's row count and content fingerprint, in one scan. Order-independent and
    exact: the sums of each row hash's high and low 32 bits are
    integers (a sum of 64-bit hashes would be a double, whose rounding depends on the order
    rows arrived in, so the same rows could give another fingerprint)."""
    names = sorted(columns)
    row_hash = f"hash({', '.join(_q(name) for name in names)}, {_q(ETAG)})"
    high, low = f"({row_hash} >> 32)", f"({row_hash} & 4294967295)"
    count, total = con.execute(
        f"SELECT count(*), coalesce(sum({high}), 0)::VARCHAR || '.' || "
        f"coalesce(sum({low}), 0)::VARCHAR FROM {_q(table)}"
    ).fetchone() or (0, "0")
    digest = hashlib.sha256(f"{table}|{','.join(names)}|{count}|{total}".encode()).hexdigest()
    return int(count), f"sha256:{digest}"


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
        "layout": info.layout,
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
        path,
        meta["snapshot_id"],
        meta["taken_at"],
        meta["profile"],
        meta["rules_hash"],
        tables,
        meta.get("layout", "1"),
    )


@contextlib.contextmanager
def open_snapshot(
    path: Path, config: DuckConfig | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a snapshot read-only; snapshots are immutable once written."""
    if not path.is_file():
        raise SnapshotError(f"snapshot {path} does not exist; run `reconcile snapshot` first")
    try:
        con = duckdb.connect(str(path), read_only=True, config=config or {})
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


def _typed_sql(column: str, kind: Compare) -> str:
    """Numbers become exact decimals (F&O sends Edm.Decimal; a double would round 0.015 down),
    booleans come from JSON true/false or F&O NoYes names."""
    if kind == "number":
        return f"CAST(CAST({column} AS VARCHAR) AS {NUMBER_TYPE})"
    if kind == "boolean":
        return _bool_sql(column)
    return column


def _bool_sql(column: str) -> str:
    return (
        f"CASE lower(trim({column})) WHEN 'true' THEN true WHEN 'yes' THEN true "
        f"WHEN 'false' THEN false WHEN 'no' THEN false ELSE NULL END"
    )
