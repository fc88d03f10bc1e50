"""What the integration tests do again and again: plan now, apply now, read the seed's
manifest (what drift the sandbox planted), run the CLI and kill it mid-apply."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from reconciler.apply import ApplyOptions, apply_plan
from reconciler.config import Profile
from reconciler.outcomes import ApplyResult
from reconciler.plan import Plan
from reconciler.planner import make_plan
from reconciler.rules import RuleSet
from reconciler.sandbox import Sandbox
from reconciler.session import open_connectors, snapshot_now


def plan_now(profile: Profile, rules: RuleSet) -> Plan:
    """A fresh snapshot, planned."""
    return make_plan(snapshot_now(profile, rules).path, rules, profile)


def apply_now(
    plan: Plan, profile: Profile, rules: RuleSet, options: ApplyOptions | None = None
) -> ApplyResult:
    """Apply ``plan`` through fresh connectors (no journal)."""
    with open_connectors(profile, rules) as connectors:
        return apply_plan(plan, rules, profile, connectors, options=options)


def manifest(world: Sandbox, key: str) -> list[dict[str, Any]]:
    """The seed's planted cases of one kind; a seed that plants none fails the test."""
    entries = world.seed_manifest[key]
    assert entries, f"the demo seed must plant {key}"
    return entries


RECONCILE = str(Path(sys.executable).with_name("reconcile"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``reconcile <args>`` in its own process, as a user runs it."""
    return subprocess.run([RECONCILE, *args], capture_output=True, text=True, timeout=300)


def kill_repeatedly(
    args: list[str], rng: random.Random, pause: tuple[float, float], times: int = 3
) -> int:
    """Start ``reconcile <args>`` ``times`` times and SIGKILL each run that is still going
    after a random pause in ``pause`` seconds; how many were killed."""
    kills = 0
    for _ in range(times):
        process = subprocess.Popen(
            [RECONCILE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(*pause))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
    return kills
