"""Benchmark: an incremental snapshot after a 1% change on 1M FS rows, against a full one.

The bulk seed holds ROWS FS product inventories (and as many SCM on-hand rows). A first
snapshot reads everything and keeps Dataverse deltaLinks. Then 1% of the FS rows change
(half updated, a quarter deleted, a quarter inserted), and two snapshots are taken: an
incremental one (change tracking) and a full one. Reported, measured in one run: for the
FS side (the tables change tracking covers) and for the whole snapshot, requests and wall
time of each, and their ratios. The target is FS-side incremental <= 5% of full.

Run:  python -m tests.bench.bench_incremental_snapshot [--rows 1000000]
(or ``python -m pytest tests/bench/bench_incremental_snapshot.py -s`` for a 100k-row run).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import SANDBOX_SECRET_ENV, load_profile, sandbox_profile_text
from reconciler.rules import default_rules_dir, load_rules
from reconciler.sandbox import Sandbox, start
from reconciler.session import snapshot_now

INVENTORY = "msdyn_productinventories"


def change_one_percent(world: Sandbox, seed: int) -> int:
    """Update, delete and insert FS product inventories: 1% of the rows in all."""
    rows = world.dataverse.rows(INVENTORY)
    rng = random.Random(seed)
    picked = rng.sample(rows, len(rows) // 100)
    quarter = len(picked) // 4
    for row in picked[: 2 * quarter]:
        world.edit_dataverse_row(INVENTORY, row["msdyn_productinventoryid"], {"msdyn_qtyonhand": 1})
    for row in picked[2 * quarter : 3 * quarter]:
        world.dataverse.delete(INVENTORY, row["msdyn_productinventoryid"])
    for row in picked[3 * quarter :]:
        copy = {
            k: v
            for k, v in row.items()
            if not k.startswith("@") and k != "msdyn_productinventoryid"
        }
        copy["msdyn_qtyonhand"] = 2
        world.dataverse.insert(INVENTORY, copy)
    return len(picked)


def timed(profile: Any, rules: Any, incremental: bool) -> dict[str, Any]:
    started = time.perf_counter()
    info = snapshot_now(profile, rules, incremental=incremental)
    wall = time.perf_counter() - started
    fs = [t for t in info.tables if t.system == "dataverse"]
    return {
        "wall_s": round(wall, 2),
        "requests": sum(t.requests for t in info.tables),
        "fs_requests": sum(t.requests for t in fs),
        "fs_read_s": round(sum(t.seconds for t in fs), 2),
        "modes": sorted({f"{t.system}:{t.mode}" for t in info.tables}),
    }


def run(rows: int) -> dict[str, Any]:
    world = Sandbox.from_seed("bulk", seed=5, onhand_rows=rows, products=max(1_000, rows // 100))
    with tempfile.TemporaryDirectory() as folder, start(world) as server:
        values = server.profile_values()
        os.environ[SANDBOX_SECRET_ENV] = str(values["client_secret"])
        path = Path(folder) / "profile.toml"
        path.write_text(
            sandbox_profile_text(
                values, rules_dir=default_rules_dir(), snapshots_dir=Path(folder) / "snapshots"
            )
        )
        profile = load_profile(path)
        rules = load_rules(profile.rules_dir, only=["onhand"])
        snapshot_now(profile, rules)
        changed = change_one_percent(world, 5)
        incremental = timed(profile, rules, incremental=True)
        full = timed(profile, rules, incremental=False)
    return {
        "fs_rows": rows,
        "fs_rows_changed": changed,
        "incremental": incremental,
        "full": full,
        "fs_requests_ratio": round(incremental["fs_requests"] / full["fs_requests"], 4),
        "fs_time_ratio": round(incremental["fs_read_s"] / max(full["fs_read_s"], 1e-9), 4),
        "total_requests_ratio": round(incremental["requests"] / full["requests"], 4),
        "total_time_ratio": round(incremental["wall_s"] / full["wall_s"], 4),
    }


@pytest.mark.bench
def test_bench_incremental_snapshot() -> None:
    result = run(100_000)
    print(json.dumps(result, indent=2))
    assert result["fs_requests_ratio"] < 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    print(json.dumps(run(parser.parse_args().rows), indent=2))


if __name__ == "__main__":
    main()
