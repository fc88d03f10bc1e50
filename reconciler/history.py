"""Audit history: every audit run and its actions, in ``history.duckdb`` beside the snapshots.

A nightly audit answers "what changed since last night?", so each run keeps the ids of its
actions. Action ids are derived from rule, kind, finding, company and key, so the same drift
keeps its id across runs: comparing two runs' ids in SQL gives what is **new**, what
**persisted** and what was **resolved**. A run is recorded in one transaction (its row and
all its actions, or nothing), and only one process may hold the file at a time.

Only ``reconcile audit`` records runs; ``validate`` is a one-off check and leaves the
history (and so tomorrow's deltas) alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from reconciler.errors import ReconcilerError
from reconciler.plan import Plan
from reconciler.report.model import Delta, RunCounts, company_of

__all__ = ["HISTORY_FILE", "History", "PastRun", "open_history", "read_history"]

HISTORY_FILE = "history.duckdb"
STATES = ("new", "persisted", "resolved")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    seq BIGINT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    profile VARCHAR NOT NULL,
    snapshot_id VARCHAR NOT NULL,
    plan_id VARCHAR NOT NULL,
    exit_code INTEGER NOT NULL,
    rules VARCHAR[] NOT NULL,
    counts JSON NOT NULL,
    findings_by_severity JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS run_actions (
    run_id VARCHAR NOT NULL,
    action_id VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    finding VARCHAR,
    company VARCHAR NOT NULL,
    key JSON NOT NULL
);
"""

# Each selected run (``shown``) against the run before it of the same profile. A previous
# action counts as resolved only if its rule took part in the later run: an audit limited
# with --rule resolves nothing in the rules it did not look at.
_DELTA = """
WITH ordered AS (
    SELECT run_id, seq, rules,
           lag(run_id) OVER (PARTITION BY profile ORDER BY seq) AS prev_id
    FROM runs WHERE profile = $profile
),
shown AS ({shown}),
now_ids AS (
    SELECT DISTINCT s.run_id, a.action_id, a.rule
    FROM shown s JOIN run_actions a ON a.run_id = s.run_id
),
then_ids AS (
    SELECT DISTINCT s.run_id, a.action_id, a.rule
    FROM shown s JOIN run_actions a ON a.run_id = s.prev_id
    WHERE list_contains(s.rules, a.rule)
),
delta AS (
    SELECT coalesce(n.run_id, t.run_id) AS run_id,
           coalesce(n.rule, t.rule) AS rule,
           coalesce(n.action_id, t.action_id) AS action_id,
           CASE WHEN t.action_id IS NULL THEN 'new'
                WHEN n.action_id IS NULL THEN 'resolved'
                ELSE 'persisted' END AS state
    FROM now_ids n FULL OUTER JOIN then_ids t
      ON n.run_id = t.run_id AND n.action_id = t.action_id
)
"""


@dataclass(frozen=True)
class PastRun:
    """One recorded audit and how it compares with the run before it."""

    run: RunCounts
    profile: str
    snapshot_id: str
    plan_id: str
    exit_code: int
    rules: tuple[str, ...]
    previous_run_id: str | None
    delta: dict[str, dict[str, int]] = field(default_factory=dict)
    """Rule -> ``{"new", "persisted", "resolved"}`` counts (rules without any are left out)."""

    def delta_totals(self) -> dict[str, int]:
        return {state: sum(c.get(state, 0) for c in self.delta.values()) for state in STATES}

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run.run_id,
            "started_at": self.run.started_at,
            "profile": self.profile,
            "snapshot_id": self.snapshot_id,
            "plan_id": self.plan_id,
            "exit_code": self.exit_code,
            "rules": list(self.rules),
            "counts": self.run.counts,
            "findings_by_severity": self.run.findings_by_severity,
            "previous_run_id": self.previous_run_id,
            "delta": {**self.delta_totals(), "by_rule": self.delta},
        }


@dataclass
class History:
    """An open history file."""

    con: duckdb.DuckDBPyConnection
    path: Path

    @contextmanager
    def recording(
        self, run: RunCounts, plan: Plan, profile: str, exit_code: int
    ) -> Iterator[Delta]:
        """Record ``run`` and its plan's actions, and yield its delta to the previous run.

        Commits when the block ends without an exception (the audit writes its reports in
        it), rolls back otherwise: a run whose reports failed is not history.
        """
        self.con.execute("BEGIN TRANSACTION")
        try:
            self._insert(run, plan, profile, exit_code)
            yield self._delta(run.run_id, profile, plan.rules)
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def runs(self, profile: str, last: int, *, before: str | None = None) -> list[PastRun]:
        """The ``last`` runs of ``profile`` (newest first), optionally those before a run."""
        params: dict[str, Any] = {"profile": profile, "last": last}
        where = "true"
        if before is not None:
            where = "seq < (SELECT seq FROM runs WHERE run_id = $before)"
            params["before"] = before
        shown = (
            "SELECT run_id, seq, rules, prev_id FROM ordered "
            f"WHERE {where} ORDER BY seq DESC LIMIT $last"
        )
        head = self.con.execute(
            _DELTA.format(shown=shown)
            + """
            SELECT r.run_id, strftime(r.started_at, '%Y-%m-%dT%H:%M:%SZ'), r.profile,
                   r.snapshot_id, r.plan_id, r.exit_code, r.rules, r.counts,
                   r.findings_by_severity, s.prev_id
            FROM shown s JOIN runs r USING (run_id) ORDER BY s.seq DESC
            """,
            params,
        ).fetchall()
        counts = self.con.execute(
            _DELTA.format(shown=shown)
            + "SELECT run_id, rule, state, count(*) FROM delta GROUP BY ALL ORDER BY ALL",
            params,
        ).fetchall()
        per_run: dict[str, dict[str, dict[str, int]]] = {}
        for run_id, rule, state, number in counts:
            per_run.setdefault(run_id, {}).setdefault(rule, dict.fromkeys(STATES, 0))[state] = (
                number
            )
        return [_past_run(row, per_run.get(row[0], {})) for row in head]

    def _insert(self, run: RunCounts, plan: Plan, profile: str, exit_code: int) -> None:
        started = datetime.fromisoformat(run.started_at).astimezone(UTC).replace(tzinfo=None)
        self.con.execute(
            "INSERT INTO runs SELECT $run_id, coalesce(max(seq), 0) + 1, $started, $profile, "
            "$snapshot, $plan_id, $exit_code, $rules, $counts, $severities FROM runs",
            {
                "run_id": run.run_id,
                "started": started,
                "profile": profile,
                "snapshot": str(plan.snapshot.get("id", "")),
                "plan_id": plan.plan_id,
                "exit_code": exit_code,
                "rules": list(plan.rules),
                "counts": json.dumps(run.counts),
                "severities": json.dumps(run.findings_by_severity),
            },
        )
        actions = pa.table(
            {
                "action_id": [a.id for a in plan.actions],
                "rule": [a.rule for a in plan.actions],
                "kind": [a.kind for a in plan.actions],
                "finding": pa.array([a.finding for a in plan.actions], pa.string()),
                "company": [company_of(a) for a in plan.actions],
                "key": [json.dumps(a.key, ensure_ascii=False, default=str) for a in plan.actions],
            }
        )
        self.con.register("new_actions", actions)
        try:
            self.con.execute(
                "INSERT INTO run_actions SELECT $run_id, action_id, rule, kind, finding, company, "
                "key FROM new_actions",
                {"run_id": run.run_id},
            )
        finally:
            self.con.unregister("new_actions")

    def _delta(self, run_id: str, profile: str, rules: tuple[str, ...]) -> Delta:
        shown = "SELECT run_id, seq, rules, prev_id FROM ordered WHERE run_id = $run_id"
        params = {"profile": profile, "run_id": run_id}
        previous = self.con.execute(
            _DELTA.format(shown=shown) + "SELECT prev_id FROM shown", params
        ).fetchone()
        groups = self.con.execute(
            _DELTA.format(shown=shown)
            + "SELECT state, rule, count(*), list(action_id ORDER BY action_id) "
            "FROM delta GROUP BY ALL ORDER BY ALL",
            params,
        ).fetchall()
        ids: dict[str, list[str]] = {state: [] for state in STATES}
        by_rule: dict[str, dict[str, int]] = {}
        for state, rule, number, members in groups:
            ids[state].extend(members)
            by_rule.setdefault(rule, dict.fromkeys(STATES, 0))[state] = number
        return Delta(
            new=tuple(ids["new"]),
            persisted=tuple(ids["persisted"]),
            resolved=tuple(ids["resolved"]),
            by_rule=_in_order(by_rule, rules),
            previous_run_id=previous[0] if previous else None,
        )


@contextmanager
def open_history(folder: Path) -> Iterator[History]:
    """Open (creating) the history in ``folder``; refuses when another process holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    with _connect(folder / HISTORY_FILE, read_only=False) as history:
        history.con.execute(_SCHEMA)
        yield history


def read_history(folder: Path, profile: str, last: int) -> list[PastRun]:
    """The ``last`` runs of ``profile``, newest first; none (and no file made) before the
    first audit."""
    path = folder / HISTORY_FILE
    if not path.is_file():
        return []
    with _connect(path, read_only=True) as history:
        return history.runs(profile, last)


@contextmanager
def _connect(path: Path, *, read_only: bool) -> Iterator[History]:
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise ReconcilerError(
            f"the audit history {path} is in use ({exc}). Another `reconcile audit` or "
            "`reconcile history` is using this snapshots folder; wait for it to finish."
        ) from None
    except duckdb.Error as exc:
        raise ReconcilerError(
            f"the audit history {path} cannot be opened ({exc}); move it aside to start a "
            "new history."
        ) from None
    try:
        yield History(con, path)
    finally:
        con.close()


def _past_run(row: tuple[Any, ...], delta: dict[str, dict[str, int]]) -> PastRun:
    run_id, started, profile, snapshot, plan_id, exit_code, rules, counts, severities, prev = row
    return PastRun(
        run=RunCounts(run_id, started, json.loads(counts), json.loads(severities)),
        profile=profile,
        snapshot_id=snapshot,
        plan_id=plan_id,
        exit_code=exit_code,
        rules=tuple(rules),
        previous_run_id=prev,
        delta=_in_order(delta, rules),
    )


def _in_order(
    by_rule: dict[str, dict[str, int]], rules: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Per-rule counts in the run's rule order (dependency order), as every report shows."""
    position = {name: index for index, name in enumerate(rules)}
    return dict(
        sorted(by_rule.items(), key=lambda item: (position.get(item[0], len(position)), item[0]))
    )
