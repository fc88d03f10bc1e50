"""The apply journal: each action's state, durable before and after every write.

A DuckDB file beside the snapshots (``journal.duckdb``). An action is marked ``sent``
before its request leaves and gets its final status when the answer is in, each in its own
committed transaction. A resumed apply of the same plan (same ``plan_id``) skips what is
done and treats ``sent`` as "outcome unknown": it is checked before anything is sent again.
Only one apply may hold the journal at a time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from reconciler.errors import ReconcilerError
from reconciler.outcomes import Outcome

__all__ = ["DONE", "Journal", "open_journal"]

DONE = frozenset({"applied", "unchanged", "reported"})
"""Statuses a resumed apply does not repeat; conflicts and failures are tried again."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    plan_id VARCHAR NOT NULL,
    action_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    record_id VARCHAR,
    detail VARCHAR,
    conflicts VARCHAR,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (plan_id, action_id)
)
"""


@dataclass
class Journal:
    """One plan's entries in an open journal file."""

    con: duckdb.DuckDBPyConnection
    plan_id: str
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def previous(self) -> dict[str, Outcome | str]:
        """What an earlier run recorded: final outcomes, or ``"sent"`` when unknown."""
        rows = self.con.execute(
            "SELECT action_id, status, record_id, detail, conflicts FROM journal WHERE plan_id = ?",
            [self.plan_id],
        ).fetchall()
        found: dict[str, Outcome | str] = {}
        for action_id, status, record_id, detail, conflicts in rows:
            if status == "sent":
                found[action_id] = "sent"
            else:
                found[action_id] = Outcome(
                    action_id, status, detail or "", record_id, json.loads(conflicts or "{}")
                )
        return found

    def sent(self, action_ids: list[str]) -> None:
        """Mark actions as on their way: from now on their outcome is unknown until recorded.
        Safe to call from the applier's threads."""
        if not action_ids:
            return
        now = datetime.now(UTC)
        with self._lock:
            self.con.executemany(
                "INSERT OR REPLACE INTO journal VALUES (?, ?, 'sent', NULL, NULL, NULL, ?)",
                [(self.plan_id, action_id, now) for action_id in action_ids],
            )

    def record(self, outcome: Outcome) -> None:
        """The final state of one action."""
        self.record_many([outcome])

    def record_many(self, outcomes: Iterable[Outcome]) -> None:
        """Final states, in one transaction."""
        now = datetime.now(UTC)
        rows = [
            (
                self.plan_id,
                outcome.action_id,
                outcome.status,
                outcome.record_id,
                outcome.detail,
                json.dumps(outcome.conflicts, default=str),
                now,
            )
            for outcome in outcomes
        ]
        if not rows:
            return
        with self._lock:
            self.con.executemany(
                "INSERT OR REPLACE INTO journal VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )


@contextmanager
def open_journal(folder: Path, plan_id: str) -> Iterator[Journal]:
    """Open (creating) the journal in ``folder``; refuses when another apply holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "journal.duckdb"
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        raise ReconcilerError(
            f"the apply journal {path} is in use ({exc}). Another `reconcile apply` is running "
            "against this snapshots folder; wait for it to finish."
        ) from None
    try:
        con.execute(_SCHEMA)
        yield Journal(con, plan_id)
    finally:
        con.close()
