"""Benchmark: applying a 10,000-action plan to the sandbox over loopback.

The bulk seed's on-hand drift (about 1% of ROWS) becomes about ROWS/100 adjustments. Each
scenario starts from a fresh sandbox and a plan made against it; reported, measured in
one run:

* ``clean``: wall time and HTTP requests, and requests per applied action;
* ``throttled``: the same with a 429 storm (STORM answers with Retry-After 1 s, injected
  up front, so the applier pauses as a whole);
* ``resume_worst_case``: the plan applied, then every journal entry set back to ``sent``
  (as if the process died after sending everything but before recording any answer),
  then applied again: the cost of checking everything before sending anything.

Run:  python -m tests.bench.bench_apply [--rows 1000000] [--storm 30]
(or ``python -m pytest tests/bench/bench_apply.py -s`` for a 100k-row run).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import ApplyOptions, apply_plan
from reconciler.config import Profile
from reconciler.journal import open_journal
from reconciler.planner import make_plan
from reconciler.rules import RuleSet, load_rules
from reconciler.sandbox import Sandbox, start
from reconciler.session import open_connectors, snapshot_now
from tests.bench.sandbox_profile import profile_for


def scenario(rows: int, storm: int, resume: bool) -> dict[str, Any]:
    world = Sandbox.from_seed("bulk", seed=11, onhand_rows=rows, products=max(1_000, rows // 100))
    with tempfile.TemporaryDirectory() as folder, start(world) as server:
        profile = profile_for(server, Path(folder))
        rules = load_rules(profile.rules_dir, only=["onhand"])
        plan = make_plan(snapshot_now(profile, rules).path, rules, profile)
        if storm:
            world.faults.inject("dataverse", "429", count=storm, retry_after=1)
        first = _timed_apply(plan, rules, profile)
        result: dict[str, Any] = {"actions": len(plan.actions), **first}
        if resume:
            with open_journal(profile.snapshots_dir, plan.plan_id) as journal:
                journal.con.execute("UPDATE journal SET status = 'sent'")
            result["resume"] = _timed_apply(plan, rules, profile)
        return result


def _timed_apply(plan: Any, rules: RuleSet, profile: Profile) -> dict[str, Any]:
    options = ApplyOptions(batch_size=profile.http.batch_size, concurrency=profile.http.concurrency)
    with (
        open_connectors(profile, rules) as connectors,
        open_journal(profile.snapshots_dir, plan.plan_id) as journal,
    ):
        started = time.perf_counter()
        result = apply_plan(plan, rules, profile, connectors, journal=journal, options=options)
        wall = time.perf_counter() - started
    counts = result.counts()
    applied = counts["applied"] or 1
    return {
        "wall_s": round(wall, 2),
        "requests": result.requests,
        "requests_per_applied_action": round(result.requests / applied, 4),
        "throttled": result.throttled,
        "outcomes": dict(counts),
    }


def run(rows: int, storm: int) -> dict[str, Any]:
    clean = scenario(rows, 0, resume=True)
    throttled = scenario(rows, storm, resume=False)
    return {
        "onhand_rows": rows,
        "clean": {k: v for k, v in clean.items() if k != "resume"},
        "throttled": throttled,
        "resume_worst_case": clean["resume"],
        "throttled_over_clean": round(throttled["wall_s"] / clean["wall_s"], 2),
        "resume_over_clean": round(clean["resume"]["wall_s"] / clean["wall_s"], 2),
    }


@pytest.mark.bench
def test_bench_apply() -> None:
    result = run(100_000, 5)
    print(json.dumps(result, indent=2))
    assert result["clean"]["outcomes"].get("applied", 0) > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--storm", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(run(args.rows, args.storm), indent=2))


if __name__ == "__main__":
    main()
