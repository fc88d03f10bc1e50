"""A killed apply resumes: nothing lost, nothing doubled (SIGKILL at random points)."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from reconciler.config import SANDBOX_SECRET_ENV, load_profile
from reconciler.plan import load_plan
from reconciler.planner import make_plan
from reconciler.rules import load_rules
from reconciler.sandbox import Sandbox, start
from reconciler.session import snapshot_now
from tests.conftest import write_profile
from tests.integration.flows import kill_repeatedly, run


@pytest.mark.parametrize("seed", [3, 11])
def test_killed_apply_resumes_to_the_planned_state(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = Sandbox.from_seed("bulk", seed=seed, onhand_rows=220_000, products=800)
    with start(world) as server:
        monkeypatch.setenv(SANDBOX_SECRET_ENV, str(server.profile_values()["client_secret"]))
        profile_path = write_profile(server, tmp_path)
        plan_file = tmp_path / "plan.json"
        planned = run("plan", "--profile", str(profile_path), "--out", str(plan_file))
        assert planned.returncode == 0, planned.stderr
        plan = load_plan(plan_file)
        adjusts = {a.id for a in plan.actions if a.kind == "adjust"}
        assert len(adjusts) >= 2000

        apply = ["apply", str(plan_file), "--profile", str(profile_path)]
        kills = kill_repeatedly(apply, random.Random(seed), pause=(1.5, 4.0))
        assert kills, "the apply finished before any kill; make the plan bigger"
        finished = run("apply", str(plan_file), "--profile", str(profile_path))
        assert finished.returncode == 0, finished.stdout + finished.stderr

        lines = Counter(
            r["msdyn_name"] for r in world.dataverse.rows("msdyn_inventoryadjustmentproducts")
        )
        assert set(lines) == adjusts
        assert max(lines.values()) == 1, "an adjustment was posted twice"
        profile = load_profile(profile_path)
        rules = load_rules(profile.rules_dir)
        again = make_plan(snapshot_now(profile, rules).path, rules, profile)
        assert [a for a in again.actions if a.kind != "report"] == []
