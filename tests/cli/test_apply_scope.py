"""apply without a plan file (confirmation), --target and --exclude with dependencies."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.sandbox import Sandbox


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def planned(tmp_path: Path, profile_path: Path) -> dict[str, object]:
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--profile", str(profile_path), "--out", str(plan_file))[0] == 0
    return json.loads(plan_file.read_text())


def test_apply_without_a_plan_needs_approval(world: Sandbox, profile_path: Path) -> None:
    before = world.dataverse.rows("msdyn_warehouses")
    code, out = run("apply", "--profile", str(profile_path))
    assert code == 1 and "--auto-approve" in out
    assert world.dataverse.rows("msdyn_warehouses") == before
    code, out = run("apply", "--profile", str(profile_path), "--auto-approve")
    assert code == 0, out
    code, out = run("plan", "--profile", str(profile_path), "--format", "json")
    assert {a["kind"] for a in json.loads(out)["actions"]} == {"report"}


def test_target_brings_dependencies_and_nothing_else(
    world: Sandbox, profile_path: Path, tmp_path: Path
) -> None:
    plan = planned(tmp_path, profile_path)
    actions = plan["actions"]
    assert isinstance(actions, list)
    needed = {d for a in actions if a["rule"] == "onhand" for d in a["depends_on"]}
    assert needed
    projects_before = world.dataverse.rows("msdynce_externalprojects")
    code, out = run(
        "apply", str(tmp_path / "plan.json"), "--profile", str(profile_path), "--target", "onhand"
    )
    assert code == 0, out
    assert world.dataverse.rows("msdynce_externalprojects") == projects_before
    names = {r["productnumber"] for r in world.dataverse.rows("products")}
    for action in actions:
        if action["id"] in needed and action["rule"] == "products":
            assert action["key"]["productnumber"] in names
    updated = [a for a in actions if a["rule"] == "products" and a["kind"] == "update"]
    product = next(
        r
        for r in world.dataverse.rows("products")
        if r["productnumber"] == updated[0]["key"]["productnumber"]
    )
    changed = next(iter(updated[0]["changes"]))
    if "." not in changed:
        assert product[changed] == updated[0]["changes"][changed]["from"]  # not targeted


def test_exclude_drops_what_depends_on_the_excluded_rule(
    world: Sandbox, profile_path: Path, tmp_path: Path
) -> None:
    plan = planned(tmp_path, profile_path)
    actions = plan["actions"]
    assert isinstance(actions, list)
    creates = {a["id"] for a in actions if a["rule"] == "products" and a["kind"] == "create"}
    blocked = [a for a in actions if creates & set(a["depends_on"])]
    assert blocked
    lines_before = len(world.dataverse.rows("msdyn_inventoryadjustmentproducts"))
    code, out = run(
        "apply",
        str(tmp_path / "plan.json"),
        "--profile",
        str(profile_path),
        "--exclude",
        "products",
    )
    assert code == 0, out
    names = {r["productnumber"] for r in world.dataverse.rows("products")}
    assert not {a["key"]["productnumber"] for a in actions if a["id"] in creates} & names
    posted = {r["msdyn_name"] for r in world.dataverse.rows("msdyn_inventoryadjustmentproducts")}
    assert len(posted) > lines_before
    assert not {a["id"] for a in blocked} & posted


def test_unknown_rule_in_target_is_refused(profile_path: Path, tmp_path: Path) -> None:
    planned(tmp_path, profile_path)
    code, out = run(
        "apply", str(tmp_path / "plan.json"), "--profile", str(profile_path), "--target", "nope"
    )
    assert code == 1 and "no rule named nope" in out


def test_deactivating_orphans_needs_allow_deactivate(
    world: Sandbox, profile_path: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (Path(__file__).parents[2] / "rules" / "warehouses.toml").read_text()
    (rules / "warehouses.toml").write_text(
        text.replace('orphan = "report"', 'orphan = "deactivate"')
    )
    plan_file = tmp_path / "plan.json"
    code, out = run(
        "plan", "--profile", str(profile_path), "--rules", str(rules), "--out", str(plan_file)
    )
    assert code == 0, out
    orphans = {e["fs_name"] for e in world.seed_manifest["fs_orphan"]}
    actions = json.loads(plan_file.read_text())["actions"]
    deactivations = [a for a in actions if a["kind"] == "deactivate"]
    assert orphans and {a["key"]["msdyn_name"] for a in deactivations} == orphans
    code, out = run("apply", str(plan_file), "--profile", str(profile_path), "--rules", str(rules))
    assert code == 1 and "--allow-deactivate" in out
    targets = {a["target_id"] for a in deactivations}
    assert all(
        r["statecode"] == 0
        for r in world.dataverse.rows("msdyn_warehouses")
        if r["msdyn_warehouseid"] in targets
    )
    code, out = run(
        "apply",
        str(plan_file),
        "--profile",
        str(profile_path),
        "--rules",
        str(rules),
        "--allow-deactivate",
    )
    assert code == 0, out
    assert all(
        r["statecode"] == 1
        for r in world.dataverse.rows("msdyn_warehouses")
        if r["msdyn_warehouseid"] in targets
    )
    code, out = run(
        "plan", "--profile", str(profile_path), "--rules", str(rules), "--format", "json"
    )
    assert not [a for a in json.loads(out)["actions"] if a["kind"] == "deactivate"]


def test_refresh_replans_conflicts_and_applies_them_after_showing_them(
    world: Sandbox, profile_path: Path, tmp_path: Path
) -> None:
    plan = planned(tmp_path, profile_path)
    actions = plan["actions"]
    assert isinstance(actions, list)
    update = next(
        a
        for a in actions
        if a["rule"] == "products" and a["kind"] == "update" and "name" in a["changes"]
    )
    world.edit_dataverse_row("products", update["target_id"], {"name": "Edited during review"})
    args = ("apply", str(tmp_path / "plan.json"), "--profile", str(profile_path))
    code, out = run(*args, "--batch-size", "7", "--concurrency", "2")
    assert code == 1 and "Edited during review" in out and "conflict" in out
    code, out = run(*args, "--refresh")  # asks first: no terminal, so it refuses
    assert code == 1 and "--auto-approve" in out
    assert world.dataverse.get("products", update["target_id"])["name"] == "Edited during review"  # type: ignore[index]
    code, out = run(*args, "--refresh", "--auto-approve")
    assert code == 0, out
    assert "Refreshed from current values" in out and "Edited during review" in out
    name = world.dataverse.get("products", update["target_id"])["name"]  # type: ignore[index]
    assert name == update["changes"]["name"]["to"]
    code, out = run("plan", "--profile", str(profile_path), "--format", "json")
    assert {a["kind"] for a in json.loads(out)["actions"]} == {"report"}
