"""Benchmark: a full HTTP snapshot of the on-hand flow from the sandbox over loopback.

The bulk seed holds ROWS SCM on-hand rows and about as many FS product inventories. The
snapshot reads everything the on-hand rule needs (on-hand both sides, released products,
FS products, warehouses, units) through the real client: MSAL token, paging, JSON, DuckDB.
Reported, measured in one run: wall time, rows/s, and HTTP requests per table against the
lower bound (rows / page size, F&O pages of 10,000, Dataverse of 5,000).

Run:  python -m tests.bench.bench_http_snapshot [--rows 1000000]
(or ``python -m pytest tests/bench/bench_http_snapshot.py -s`` for a 100k-row run).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import pytest

from reconciler.rules import load_rules
from reconciler.sandbox import Sandbox, start
from reconciler.session import snapshot_now
from tests.bench.sandbox_profile import profile_for

PAGE = {"fno": 10_000, "dataverse": 5_000}


def run(rows: int) -> dict[str, object]:
    started = time.perf_counter()
    world = Sandbox.from_seed("bulk", seed=7, onhand_rows=rows, products=max(1_000, rows // 100))
    seeded_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder, start(world) as server:
        profile = profile_for(server, Path(folder))
        rules = load_rules(profile.rules_dir, only=["onhand"])
        started = time.perf_counter()
        info = snapshot_now(profile, rules)
        snapshot_s = time.perf_counter() - started
    tables = [
        {
            "table": f"{t.system}:{t.label}",
            "rows": t.rows,
            "requests": t.requests,
            "lower_bound": max(1, math.ceil(t.rows / PAGE[t.system])),
        }
        for t in info.tables
    ]
    total_rows = sum(int(t["rows"]) for t in tables)
    return {
        "onhand_rows": rows,
        "seed_s": round(seeded_s, 2),
        "snapshot_s": round(snapshot_s, 2),
        "rows_read": total_rows,
        "rows_per_s": round(total_rows / snapshot_s),
        "requests": sum(int(t["requests"]) for t in tables),
        "requests_lower_bound": sum(int(t["lower_bound"]) for t in tables),
        "token_requests": dict(world.stats.token_requests),
        "tables": tables,
    }


@pytest.mark.bench
def test_bench_http_snapshot() -> None:
    result = run(100_000)
    print(json.dumps(result, indent=2))
    assert result["requests"] == result["requests_lower_bound"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    print(json.dumps(run(parser.parse_args().rows), indent=2))


if __name__ == "__main__":
    main()
