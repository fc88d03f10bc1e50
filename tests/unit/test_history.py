"""The audit history: runs recorded atomically, deltas computed in SQL, one holder at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.history import HISTORY_FILE, open_history, read_history
from reconciler.plan import Action, Plan
from reconciler.report.model import RunCounts
from tests.report.sample import act, plan_of

A = act("products", "update", "usmf", {"productnumber": "P-1"}, {"name": {"from": 1, "to": 2}})
B = act("warehouses", "create", "usmf", {"msdyn_name": "W-1"})
C = act("onhand", "report", "usmf", {"p": "P-9"}, finding="negative_onhand", message="neg")
D = act("onhand", "adjust", "demf", {"p": "P-2"}, {"q": {"from": 1, "to": 3, "delta": 2}})


def record(folder: Path, run_id: str, actions: list[Action], profile: str = "prod") -> Plan:
    plan = plan_of(actions)
    run = RunCounts(run_id, f"2026-11-2{run_id[-1]}T02:00:00Z", plan.summary, {"warning": 1})
    with open_history(folder) as history, history.recording(run, plan, profile, 2) as delta:
        assert delta.previous_run_id == (None if run_id == "run1" else f"run{int(run_id[-1]) - 1}")
    return plan


def test_three_runs_give_new_persisted_and_resolved(tmp_path: Path) -> None:
    record(tmp_path, "run1", [A, B, C])
    plan = plan_of([B, C, D])
    run = RunCounts("run2", "2026-11-22T02:00:00+01:00", plan.summary, {"warning": 1})
    with open_history(tmp_path) as history, history.recording(run, plan, "prod", 2) as delta:
        assert delta.new == (D.id,)
        assert sorted(delta.persisted) == sorted([B.id, C.id])
        assert delta.resolved == (A.id,)
        assert delta.by_rule == {
            "onhand": {"new": 1, "persisted": 1, "resolved": 0},
            "products": {"new": 0, "persisted": 0, "resolved": 1},
            "warehouses": {"new": 0, "persisted": 1, "resolved": 0},
        }
    record(tmp_path, "run3", [C, D])
    runs = read_history(tmp_path, "prod", 10)
    assert [r.run.run_id for r in runs] == ["run3", "run2", "run1"]
    assert [r.delta_totals() for r in runs] == [
        {"new": 0, "persisted": 2, "resolved": 1},
        {"new": 1, "persisted": 2, "resolved": 1},
        {"new": 3, "persisted": 0, "resolved": 0},
    ]
    assert [r.previous_run_id for r in runs] == ["run2", "run1", None]
    assert runs[1].run.started_at == "2026-11-22T01:00:00Z"  # stored in UTC
    assert runs[0].run.counts == plan_of([C, D]).summary
    assert runs[0].plan_id == plan_of([C, D]).plan_id and runs[0].exit_code == 2
    assert [r.run.run_id for r in read_history(tmp_path, "prod", 2)] == ["run3", "run2"]
    with open_history(tmp_path) as history:
        earlier = history.runs("prod", 10, before="run3")
    assert [r.run.run_id for r in earlier] == ["run2", "run1"]
    assert earlier[0].delta_totals() == {"new": 1, "persisted": 2, "resolved": 1}


def test_profiles_have_separate_histories(tmp_path: Path) -> None:
    record(tmp_path, "run1", [A])
    plan = plan_of([B])
    run = RunCounts("other1", "2026-11-23T02:00:00Z", plan.summary, {})
    with open_history(tmp_path) as history, history.recording(run, plan, "test", 0) as delta:
        assert delta.previous_run_id is None and delta.new == (B.id,) and not delta.resolved
    assert [r.run.run_id for r in read_history(tmp_path, "prod", 10)] == ["run1"]


def test_a_run_limited_to_some_rules_resolves_nothing_in_the_others(tmp_path: Path) -> None:
    record(tmp_path, "run1", [A, B, C])
    plan = plan_of([], rules=("products",))
    run = RunCounts("run2", "2026-11-22T02:00:00Z", plan.summary, {})
    with open_history(tmp_path) as history, history.recording(run, plan, "prod", 0) as delta:
        assert delta.resolved == (A.id,) and not delta.new and not delta.persisted


def test_a_failed_run_leaves_no_trace(tmp_path: Path) -> None:
    record(tmp_path, "run1", [A])
    plan = plan_of([A, B])
    run = RunCounts("run2", "2026-11-22T02:00:00Z", plan.summary, {})
    with (
        pytest.raises(OSError, match="disk full"),
        open_history(tmp_path) as history,
        history.recording(run, plan, "prod", 2),
    ):
        raise OSError("disk full")
    assert [r.run.run_id for r in read_history(tmp_path, "prod", 10)] == ["run1"]
    record(tmp_path, "run2", [A, B])


def test_reading_before_the_first_audit_makes_no_file(tmp_path: Path) -> None:
    assert read_history(tmp_path, "prod", 10) == []
    assert not (tmp_path / HISTORY_FILE).exists()


def test_a_history_held_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    record(tmp_path, "run1", [A])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "sys.stdin.read()",
            str(tmp_path / HISTORY_FILE),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(ReconcilerError, match="is in use") as caught, open_history(tmp_path):
            pass
        assert "wait for it to finish" in str(caught.value)
        with pytest.raises(ReconcilerError, match="is in use"):
            read_history(tmp_path, "prod", 10)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
