"""Warehouses end to end against the sandbox on a real loopback port."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import Profile, load_profile
from reconciler.plan import Action, Plan, dumps
from reconciler.planner import make_plan
from reconciler.rules import RuleSet, load_rules
from reconciler.sandbox import RunningSandbox, Sandbox, start
from reconciler.session import snapshot_now
from reconciler.snapshot import SnapshotInfo, TableInfo
from tests.conftest import small_pages, write_profile
from tests.integration.flows import apply_now, plan_now


def warehouse_actions(plan: Plan) -> list[Action]:
    return [a for a in plan.actions if a.rule == "warehouses"]


def table(info: SnapshotInfo, entity: str) -> TableInfo:
    return next(t for t in info.tables if t.entity == entity and t.filter is None)


def fs_names(world: Sandbox, bu: str) -> dict[str, dict[str, object]]:
    return {
        str(row["msdyn_name"]): row
        for row in world.dataverse.rows("msdyn_warehouses")
        if row.get("_owningbusinessunit_value") == bu
    }


def test_plan_apply_plan_reaches_zero_changes(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    first = plan_now(profile, rules)
    kinds = {a.kind for a in first.actions}
    assert {"create", "update", "report"} <= kinds
    result = apply_now(first, profile, rules)
    assert result.ok, result.outcomes
    second = plan_now(profile, rules)
    assert second.changes_count() == 0
    # findings stay reported (orphans are never deleted); applying raised no new ones
    assert {a.kind for a in second.actions} == {"report"}
    first_reports = {a.id for a in first.actions if a.kind == "report"}
    assert {a.id for a in second.actions} <= first_reports
    orphans = [a.id for a in first.actions if a.finding == "orphan"]
    assert orphans and set(orphans) <= {a.id for a in second.actions}


def test_apostrophe_keys_plan_and_apply(world: Sandbox, profile: Profile, rules: RuleSet) -> None:
    first = plan_now(profile, rules)
    ours = warehouse_actions(first)
    created = [a for a in ours if a.kind == "create" and "'" in str(a.key["msdyn_name"])]
    updated = [a for a in ours if a.kind == "update" and "'" in str(a.key["msdyn_name"])]
    assert created and updated
    assert apply_now(first, profile, rules).ok
    usmf = fs_names(world, world.companies["usmf"])
    for action in created + updated:
        if action.key["company"] == "usmf":
            name = str(action.key["msdyn_name"])
            assert usmf[name]["msdyn_description"] == action.changes.get(
                "msdyn_description", {}
            ).get("to", usmf[name]["msdyn_description"])


def test_case_and_space_only_key_differences_are_not_drift(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    plan = plan_now(profile, rules)
    fs_keys = {
        str(row["msdyn_name"]).strip().casefold()
        for row in world.dataverse.rows("msdyn_warehouses")
        if row["msdyn_name"] != str(row["msdyn_name"]).strip().upper()
    }
    assert fs_keys, "the seed must contain a case/space-only key difference"
    touched = {str(a.key.get("msdyn_name", "")).strip().casefold() for a in warehouse_actions(plan)}
    assert not fs_keys & touched


def test_same_id_in_two_companies_is_matched_per_company(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    plan = plan_now(profile, rules)
    scm = world.fno.rows("Warehouses")
    by_id: dict[str, set[str]] = {}
    for row in scm:
        by_id.setdefault(str(row["WarehouseId"]).casefold(), set()).add(str(row["dataAreaId"]))
    shared = {wid for wid, companies in by_id.items() if len(companies) > 1}
    assert shared
    assert not [a for a in warehouse_actions(plan) if a.finding == "key_in_several_companies"]
    creates = {
        (a.key["company"], str(a.key["msdyn_name"]).casefold())
        for a in warehouse_actions(plan)
        if a.kind == "create"
    }
    assert any(wid in shared for _, wid in creates)


def test_multi_page_reads_on_both_sides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = Sandbox.from_seed("demo", seed=7, warehouses_per_company=40, config=small_pages())
    with start(world) as server:
        profile = _profile(server, tmp_path, monkeypatch)
        rules = load_rules(profile.rules_dir)
        info = snapshot_now(profile, rules)
    scm, fs = table(info, "Warehouses"), table(info, "msdyn_warehouses")
    assert scm.rows == len(world.fno.rows("Warehouses"))
    assert fs.rows == len(world.dataverse.rows("msdyn_warehouses"))
    assert scm.requests >= -(-scm.rows // 7)
    assert fs.requests >= -(-fs.rows // 5)
    assert scm.rows > 100 and fs.rows > 100


def test_cross_company_rows_are_all_read(world: Sandbox, profile: Profile, rules: RuleSet) -> None:
    info = snapshot_now(profile, rules)
    assert table(info, "Warehouses").rows == len(world.fno.rows("Warehouses"))
    companies = {str(row["dataAreaId"]) for row in world.fno.rows("Warehouses")}
    assert len(companies) >= 3


def test_same_snapshot_gives_byte_identical_plans(profile: Profile, rules: RuleSet) -> None:
    info = snapshot_now(profile, rules)
    assert dumps(make_plan(info.path, rules, profile)) == dumps(
        make_plan(info.path, rules, profile)
    )


def test_apply_twice_changes_nothing_the_second_time(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    plan = plan_now(profile, rules)
    assert apply_now(plan, profile, rules).ok
    before = world.dataverse.rows("msdyn_warehouses")
    again = apply_now(plan, profile, rules)
    assert again.ok
    assert again.counts()["applied"] == 0
    assert again.counts()["unchanged"] == plan.changes_count()
    assert world.dataverse.rows("msdyn_warehouses") == before


def test_changed_etag_between_plan_and_apply_is_a_conflict(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    plan = plan_now(profile, rules)
    update = next(a for a in warehouse_actions(plan) if a.kind == "update")
    assert update.target_id
    world.dataverse.update(
        "msdyn_warehouses", update.target_id, {"msdyn_description": "edited in FS"}
    )
    result = apply_now(plan, profile, rules)
    outcome = next(o for o in result.outcomes if o.action_id == update.id)
    assert outcome.status == "conflict"
    assert outcome.conflicts["msdyn_description"]["now"] == "edited in FS"
    row = next(
        r
        for r in world.dataverse.rows("msdyn_warehouses")
        if r["msdyn_warehouseid"] == update.target_id
    )
    assert row["msdyn_description"] == "edited in FS"
    assert not result.ok


def test_429_with_retry_after_is_waited_out(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    world.faults.inject("dataverse", "429", count=2, retry_after=1)
    world.faults.inject("fno", "429", count=1, retry_after=1)
    info = snapshot_now(profile, rules)
    assert all(t.rows > 0 for t in info.tables)
    assert world.stats.requests["dataverse"] >= 3


def test_one_token_request_per_resource_per_run(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    plan = plan_now(profile, rules)
    assert dict(world.stats.token_requests) == {"fno": 1, "dataverse": 1}
    apply_now(plan, profile, rules)  # a new run: one more token per resource it talks to
    assert world.stats.token_requests["dataverse"] == 2


def _profile(server: RunningSandbox, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Profile:
    from reconciler.config import SANDBOX_SECRET_ENV

    monkeypatch.setenv(SANDBOX_SECRET_ENV, str(server.profile_values()["client_secret"]))
    return load_profile(write_profile(server, folder))
