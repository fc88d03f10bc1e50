"""Safe apply under the fault matrix, against the sandbox over loopback.

Throttling storms, 503s, slow answers, connections dropped before and after the server
committed ("commit then drop"), and rows changed by someone else between plan and apply.
Each test checks the end state in the sandbox itself: re-planning finds no drift, and no
adjustment line was posted twice.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.apply import ApplyOptions
from reconciler.config import SANDBOX_SECRET_ENV, Profile, load_profile
from reconciler.plan import Plan
from reconciler.refresh import refreshed_plan
from reconciler.rules import RuleSet, load_rules
from reconciler.sandbox import RunningSandbox, Sandbox, start
from tests.conftest import write_profile
from tests.integration.flows import apply_now, plan_now

LINES = "msdyn_inventoryadjustmentproducts"


@pytest.fixture
def bulk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Sandbox, RunningSandbox, Profile, RuleSet]]:
    world = Sandbox.from_seed("bulk", seed=3, onhand_rows=40_000, products=300)
    with start(world) as server:
        monkeypatch.setenv(SANDBOX_SECRET_ENV, str(server.profile_values()["client_secret"]))
        profile = load_profile(write_profile(server, tmp_path))
        yield world, server, profile, load_rules(profile.rules_dir)


def writes(plan: Plan) -> int:
    return sum(1 for action in plan.actions if action.kind != "report")


def assert_converged(world: Sandbox, profile: Profile, rules: RuleSet, plan: Plan) -> None:
    """Nothing left to write, and each adjustment posted exactly once."""
    again = plan_now(profile, rules)
    assert writes(again) == 0, [a for a in again.actions if a.kind != "report"][:5]
    names = Counter(str(row.get("msdyn_name")) for row in world.dataverse.rows(LINES))
    adjusted = {a.id for a in plan.actions if a.kind == "adjust"}
    assert {name for name in names if name in adjusted} == adjusted
    assert all(names[action_id] == 1 for action_id in adjusted)


def test_batches_bound_the_requests(bulk: tuple[Sandbox, RunningSandbox, Profile, RuleSet]) -> None:
    world, _server, profile, rules = bulk
    plan = plan_now(profile, rules)
    adjustments = sum(1 for a in plan.actions if a.kind == "adjust")
    assert adjustments >= 300
    before = world.stats.requests["dataverse"]
    result = apply_now(plan, profile, rules, ApplyOptions(batch_size=100, concurrency=4))
    assert result.ok, result.counts()
    assert result.counts()["applied"] == writes(plan)
    sent = world.stats.requests["dataverse"] - before
    # per batch: one $batch of re-reads, one $batch of documents; headers take slots too
    batches = math.ceil(adjustments / 90)
    assert sent <= 2 * batches + 2, (sent, batches)
    assert result.requests <= 2 * batches + 2
    assert_converged(world, profile, rules, plan)


def test_a_429_storm_slows_the_applier_but_every_action_lands(
    bulk: tuple[Sandbox, RunningSandbox, Profile, RuleSet],
) -> None:
    world, _server, profile, rules = bulk
    plan = plan_now(profile, rules)
    world.faults.inject("dataverse", "429", count=12, retry_after=1)
    result = apply_now(plan, profile, rules, ApplyOptions(batch_size=50, concurrency=4))
    assert result.ok, result.counts()
    assert result.throttled == 12 and world.faults.pending() == 0
    assert_converged(world, profile, rules, plan)


def test_503s_and_slow_answers_are_retried(
    bulk: tuple[Sandbox, RunningSandbox, Profile, RuleSet],
) -> None:
    world, _server, profile, rules = bulk
    plan = plan_now(profile, rules)
    world.faults.inject("dataverse", "503", count=4, retry_after=1)
    world.faults.inject("dataverse", "slow", count=4, delay=0.5)
    result = apply_now(plan, profile, rules, ApplyOptions(batch_size=50, concurrency=4))
    assert result.ok, result.counts()
    assert world.faults.pending() == 0
    assert_converged(world, profile, rules, plan)


@pytest.mark.parametrize("kind", ["drop_after", "drop_before"])
def test_a_dropped_connection_never_doubles_an_adjustment(
    kind: str, bulk: tuple[Sandbox, RunningSandbox, Profile, RuleSet]
) -> None:
    """Commit then drop: the documents were posted but the answer was lost; apply finds
    the lines by their idempotency key instead of posting again. Drop before commit:
    nothing was posted, so apply posts it again."""
    world, _server, profile, rules = bulk
    plan = plan_now(profile, rules)
    posts = "/msdyn_inventoryadjustments HTTP/1.1"  # a $batch that posts documents
    world.faults.inject("dataverse", kind, count=3, body_contains=posts)  # type: ignore[arg-type]
    world.faults.inject("dataverse", kind, count=2, method="POST")  # type: ignore[arg-type]
    result = apply_now(plan, profile, rules, ApplyOptions(batch_size=60, concurrency=3))
    assert result.ok, [o for o in result.outcomes if o.status != "applied"][:3]
    assert world.stats.dropped["dataverse"] == 5
    confirmed = [o for o in result.outcomes if "confirmed by its line" in o.detail]
    assert bool(confirmed) == (kind == "drop_after")  # found by idempotency key, not resent
    assert_converged(world, profile, rules, plan)


def test_a_row_changed_since_the_plan_is_a_conflict_and_refresh_replans_it(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    plan = plan_now(profile, rules)
    updates = [a for a in plan.actions if a.rule == "products" and a.kind == "update"]
    renamed = next(a for a in updates if "name" in a.changes)
    touched = next(a for a in updates if a is not renamed and "description" not in a.changes)
    assert renamed.target_id and touched.target_id
    world.edit_dataverse_row("products", renamed.target_id, {"name": "Renamed by a planner"})
    world.edit_dataverse_row("products", touched.target_id, {"description": "edited meanwhile"})

    result = apply_now(plan, profile, rules)
    outcomes = {o.action_id: o for o in result.outcomes}
    conflict = outcomes[renamed.id]
    assert conflict.status == "conflict"
    assert conflict.conflicts["name"] == {
        "before": renamed.changes["name"]["from"],
        "planned": renamed.changes["name"]["to"],
        "now": "Renamed by a planner",
    }
    # another field moved, ours did not: written with the fresh ETag, the edit kept
    assert outcomes[touched.id].status == "applied"
    assert world.dataverse.get("products", touched.target_id)["description"] == "edited meanwhile"  # type: ignore[index]

    again = refreshed_plan(plan, result.outcomes)
    assert [a.id for a in again.actions] == [renamed.id]
    assert again.actions[0].changes["name"]["from"] == "Renamed by a planner"
    refreshed = apply_now(again, profile, rules)
    assert refreshed.ok, refreshed.outcomes
    name = world.dataverse.get("products", renamed.target_id)["name"]  # type: ignore[index]
    assert name == renamed.changes["name"]["to"]


def test_a_create_whose_answer_was_lost_is_found_by_its_key_not_created_twice(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    plan = plan_now(profile, rules)
    creates = [a for a in plan.actions if a.rule == "products" and a.kind == "create"]
    assert creates
    world.faults.inject("dataverse", "drop_after", count=1, body_contains="/products HTTP/1.1")
    result = apply_now(plan, profile, rules)
    assert result.ok, [o for o in result.outcomes if o.status not in ("applied", "reported")]
    assert world.stats.dropped["dataverse"] == 1
    confirmed = {o.action_id for o in result.outcomes if "confirmed by re-reading" in o.detail}
    assert confirmed == {a.id for a in creates}
    numbers = Counter(
        str(row["productnumber"]).casefold() for row in world.dataverse.rows("products")
    )
    assert all(numbers[str(a.key["productnumber"]).casefold()] == 1 for a in creates)
    assert writes(plan_now(profile, rules)) == 0
