"""A killed apply never journals an FS document twice (SIGKILL at random points, resume).

Many Posted FS adjustments are added to the demo seed; SCM answers slowly so the kills land
while documents are in flight. Whatever was committed before a kill is found again by the FS
number in the journal's Description, so each FS document ends up in SCM exactly once.
"""

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

HEADERS = "InventoryAdjustmentJournalHeaders"
LINES = "InventoryAdjustmentJournalEntriesV2"
POSTED = 2


def add_posted_adjustments(world: Sandbox, count: int, lines: int) -> dict[str, int]:
    """``count`` Posted FS adjustments in usmf's MAIN warehouse; FS number -> line count."""
    unit = world.companies["usmf"]
    (warehouse,) = [
        row["msdyn_warehouseid"]
        for row in world.dataverse.rows("msdyn_warehouses")
        if row["_owningbusinessunit_value"] == unit and row["msdyn_name"] == "MAIN"
    ]
    products = {row["productnumber"]: row for row in world.dataverse.rows("products")}
    items = [products[f"P-100{n}"] for n in range(1, 6)]
    added: dict[str, int] = {}
    for index in range(count):
        name = f"ADJ-KILL-{index:03d}"
        stamp = f"2024-03-01T10:{index // 60:02d}:{index % 60:02d}Z"
        adjustment = world.dataverse.insert(
            "msdyn_inventoryadjustments",
            {
                "msdyn_name": name,
                "msdyn_adjustmenttime": "2024-03-01T00:00:00Z",
                "msdynce_poststatus": POSTED,
                "_msdyn_warehouse_value": warehouse,
                "_owningbusinessunit_value": unit,
                "createdon": stamp,
                "modifiedon": stamp,
            },
        )
        for number in range(1, lines + 1):
            product = items[(index + number) % len(items)]
            world.dataverse.insert(
                "msdyn_inventoryadjustmentproducts",
                {
                    "msdyn_name": f"{name}-{number}",
                    "_msdyn_inventoryadjustment_value": adjustment,
                    "_msdyn_product_value": product["productid"],
                    "_msdyn_unit_value": product["_msdynce_inventoryunit_value"],
                    "msdyn_quantity": float(number),
                    "_owningbusinessunit_value": unit,
                    "createdon": f"{stamp[:-1]}.{number:03d}Z",
                    "modifiedon": stamp,
                },
            )
        added[name] = lines
    return added


@pytest.mark.parametrize("seed", [5, 13])
def test_killed_apply_never_journals_a_document_twice(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = Sandbox.from_seed("demo", seed=7)
    documents = add_posted_adjustments(world, count=40, lines=3)
    with start(world) as server:
        monkeypatch.setenv(SANDBOX_SECRET_ENV, str(server.profile_values()["client_secret"]))
        profile_path = write_profile(server, tmp_path)
        plan_file = tmp_path / "plan.json"
        planned = run("plan", "--profile", str(profile_path), "--out", str(plan_file))
        assert planned.returncode == 0, planned.stderr
        plan = load_plan(plan_file)
        creates = [a for a in plan.actions if a.rule == "adjustment_journals"]
        assert {a.key["Description"] for a in creates} >= set(documents)

        world.faults.inject("fno", "slow", count=100_000, delay=0.03)  # every SCM answer
        apply = ["apply", str(plan_file), "--profile", str(profile_path)]
        small = [*apply, "--batch-size", "8", "--concurrency", "2"]
        kills = kill_repeatedly(small, random.Random(seed), pause=(0.8, 3.0))
        assert kills, "the apply finished before any kill; add documents"
        world.faults.clear()
        finished = run(*apply)
        assert finished.returncode == 0, finished.stdout + finished.stderr

        journals = Counter(
            row["Description"] for row in world.fno.rows(HEADERS) if row["dataAreaId"] == "usmf"
        )
        assert {name for name in journals if name in documents} == set(documents)
        assert max(journals.values()) == 1, "an FS document was journaled twice"
        numbers = {
            row["JournalNumber"]: row["Description"]
            for row in world.fno.rows(HEADERS)
            if row["Description"] in documents
        }
        lines = Counter(
            numbers[row["JournalNumber"]]
            for row in world.fno.rows(LINES)
            if row["JournalNumber"] in numbers
        )
        assert lines == Counter(documents), "a journal has missing or doubled lines"

        profile = load_profile(profile_path)
        rules = load_rules(profile.rules_dir)
        again = make_plan(snapshot_now(profile, rules).path, rules, profile)
        assert [a for a in again.actions if a.kind != "report"] == []
