"""How one entity's rows reach a snapshot's staging table.

* Dataverse tables read whole are read with change tracking: the first time in full (which
  yields a deltaLink), later as a delta applied to the previous snapshot's rows (new and
  changed rows replace theirs, deleted rows go). An expired or unknown token, or a table
  without change tracking, falls back to a full read, with a note saying why.
* F&O entities with a company column are read in partitions, one per mapped legal entity
  plus one for everything else, a few at a time: the rows are the same as one read's.
* Anything else is one paged read.

Pages always land through ``Staging.insert`` on the calling thread (DuckDB connections are
not shared across threads); reader threads only fetch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from reconciler.connectors.base import ChangeReader, Connector, Row
from reconciler.errors import ServiceError
from reconciler.odata.literals import eq
from reconciler.rules import Compare
from reconciler.sql import ident as _q
from reconciler.tables import ETAG

__all__ = [
    "NoTracking",
    "Previous",
    "ReadResult",
    "Staging",
    "company_partitions",
    "gone_table",
    "read_paged",
    "read_tracked",
]

PageCallback = Callable[[int], None]
_POLARS_TYPES: dict[Compare, Any] = {"text": pl.Utf8, "number": pl.Float64, "boolean": pl.Utf8}


@dataclass(frozen=True)
class ReadResult:
    """What a read did: rows staged, how (``full``, ``delta``, ``partitioned``), the
    deltaLink to start from next time, and a note for the user when it fell back."""

    rows: int
    mode: str
    delta_link: str | None = None
    note: str | None = None
    carried: str | None = None
    """For a delta: SQL selecting the previous snapshot's rows that stay as they were."""


@dataclass(frozen=True)
class Previous:
    """The same table in the previous snapshot (attached read-only as ``prev``)."""

    table: str
    delta_link: str


@dataclass
class Staging:
    """The staging table pages are inserted into, with its columns' comparison types."""

    con: duckdb.DuckDBPyConnection
    table: str
    columns: dict[str, Compare]

    def insert(self, rows: list[Row]) -> int:
        """Append one page (JSON objects) through Polars; returns the rows added."""
        if not rows:
            return 0
        schema = {name: _POLARS_TYPES[kind] for name, kind in self.columns.items()}
        schema["@odata.etag"] = pl.Utf8
        frame = pl.from_dicts(rows, schema=schema, strict=False).rename({"@odata.etag": ETAG})
        self.con.register("_page", frame)
        try:
            self.con.execute(f"INSERT INTO {_q(self.table)} BY NAME SELECT * FROM _page")
        finally:
            self.con.unregister("_page")
        return frame.height

    def count(self) -> int:
        row = self.con.execute(f"SELECT count(*) FROM {_q(self.table)}").fetchone()
        return int(row[0]) if row else 0

    def clear(self) -> None:
        self.con.execute(f"DELETE FROM {_q(self.table)}")


# ---------------------------------------------------------------- Dataverse


def read_tracked(
    connector: ChangeReader,
    entity: str,
    staging: Staging,
    id_column: str,
    previous: Previous | None,
    on_page: PageCallback,
) -> ReadResult:
    """A delta on top of ``previous`` when possible, else a full change-tracking read."""
    note = None
    if previous is not None:
        try:
            return _delta(connector, entity, staging, id_column, previous, on_page)
        except ServiceError as exc:
            if exc.status != 400:
                raise
            staging.clear()
            note = (
                f"{entity}: the change-tracking token was refused ({exc.service_message or exc}); "
                "read in full instead"
            )
    try:
        read = connector.read_changes(entity, list(staging.columns), None)
        rows = 0
        for page in read:
            rows += staging.insert(page.rows)
            on_page(rows)
        return ReadResult(rows, "full", read.delta_link, note)
    except ServiceError as exc:
        if exc.status != 400 or staging.count():
            raise
        note = f"{entity}: change tracking is not available ({exc.service_message or exc})"
        raise NoTracking(note) from exc


class NoTracking(Exception):
    """The table cannot be tracked: the caller reads it plainly and keeps the note."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note


def _delta(
    connector: ChangeReader,
    entity: str,
    staging: Staging,
    id_column: str,
    previous: Previous,
    on_page: PageCallback,
) -> ReadResult:
    """Stage only what changed; the previous snapshot's other rows are carried over as they
    are (already typed and derived) when the final table is built."""
    con = staging.con
    gone = _q(gone_table(staging.table))
    con.execute(f"CREATE TEMP TABLE {gone} (id VARCHAR)")
    try:
        read = connector.read_changes(entity, list(staging.columns), previous.delta_link)
        changes = 0
        for page in read:
            changes += staging.insert(page.rows)
            if page.deleted:
                rows = [(i.lower(),) for i in page.deleted]
                con.executemany(f"INSERT INTO {gone} VALUES (?)", rows)
                changes += len(page.deleted)
            on_page(changes)
    except BaseException:
        con.execute(f"DROP TABLE IF EXISTS {gone}")
        raise
    key = _q(id_column)
    con.execute(f"INSERT INTO {gone} SELECT lower({key}) FROM {_q(staging.table)}")
    carried = (
        f"SELECT * FROM prev.{_q(previous.table)} WHERE lower({key}) NOT IN (SELECT id FROM {gone})"
    )
    return ReadResult(changes, "delta", read.delta_link, None, carried)


def gone_table(staging: str) -> str:
    """Ids (lower case) of previous rows a delta replaced or deleted."""
    return f"{staging}__gone"


# ---------------------------------------------------------------- paged reads (F&O partitions)


def read_paged(
    connector: Connector,
    entity: str,
    staging: Staging,
    filter: str | None,
    order_by: Sequence[str],
    partitions: Sequence[str],
    concurrency: int,
    on_page: PageCallback,
) -> ReadResult:
    """One paged read, or ``partitions`` (OData conditions that split the rows without
    overlap) read ``concurrency`` at a time, pages inserted here as they arrive."""
    columns = list(staging.columns)
    if len(partitions) < 2 or concurrency < 2:
        rows = 0
        for page in connector.read_pages(entity, list(columns), filter=filter, order_by=order_by):
            rows += staging.insert(page)
            on_page(rows)
        return ReadResult(rows, "full")
    filters = [f"({filter}) and ({part})" if filter else part for part in partitions]
    rows = 0
    for page in _pages_in_parallel(connector, entity, columns, filters, order_by, concurrency):
        rows += staging.insert(page)
        on_page(rows)
    return ReadResult(rows, "partitioned")


def company_partitions(column: str, companies: Sequence[str]) -> list[str]:
    """One condition per legal entity, and one for every other (unmapped) company."""
    if not companies:
        return []
    each = [eq(column, company) for company in companies]
    rest = " and ".join(f"not ({condition})" for condition in each)
    return [*each, rest]


_DONE = object()


def _pages_in_parallel(
    connector: Connector,
    entity: str,
    columns: Sequence[str],
    filters: Sequence[str],
    order_by: Sequence[str],
    concurrency: int,
) -> Iterator[list[Row]]:
    """Pages of every filter, from ``concurrency`` reader threads, through a short queue
    (so memory stays at a few pages); the first reader error is raised here."""
    pages: queue.Queue[Any] = queue.Queue(maxsize=concurrency * 2)
    pending = iter(filters)
    lock = threading.Lock()
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                with lock:
                    condition = next(pending, None)
                if condition is None:
                    return
                for page in connector.read_pages(
                    entity, list(columns), filter=condition, order_by=order_by
                ):
                    if stop.is_set():
                        return
                    pages.put(page)
        except BaseException as exc:  # handed to the consumer, who raises it
            pages.put(exc)
        finally:
            pages.put(_DONE)

    workers = [threading.Thread(target=reader, daemon=True) for _ in range(concurrency)]
    for worker in workers:
        worker.start()
    running = len(workers)
    try:
        while running:
            item = pages.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        while running:  # let blocked readers finish
            if pages.get() is _DONE:
                running -= 1
