"""Products, on-hand, projects and project links against the seeded sandbox over loopback.

Expectations come from the seed's manifest (what drift it planted), never from the plan.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.config import Profile
from reconciler.plan import Action, Plan
from reconciler.rules import RuleSet
from reconciler.sandbox import Sandbox
from tests.integration.flows import apply_now, manifest, plan_now


def product_actions(plan: Plan) -> dict[tuple[str, str | None], Action]:
    return {
        (str(a.key["productnumber"]), a.finding): a for a in plan.actions if a.rule == "products"
    }


def onhand_actions(plan: Plan) -> dict[tuple[str, str, str, str | None], Action]:
    return {
        (
            str(a.key.get("company")),
            str(a.key.get("product.productnumber")),
            str(a.key.get("warehouse.msdyn_name")),
            a.finding,
        ): a
        for a in plan.actions
        if a.rule == "onhand"
    }


@pytest.fixture
def first(profile: Profile, rules: RuleSet) -> Plan:
    return plan_now(profile, rules)


def test_products_drift_kinds(world: Sandbox, first: Plan) -> None:
    actions = product_actions(first)
    missing = {e["product_number"] for e in manifest(world, "products.missing_in_fs")}
    missing |= {e["product_number"] for e in manifest(world, "products.variant") if not e["fs_id"]}
    assert {n for (n, f), a in actions.items() if a.kind == "create"} == missing
    expected_field = {
        "products.name_differs": "name",
        "products.type_differs": "msdyn_fieldserviceproducttype",
        "products.sales_unit_differs": "sales_unit.name",
        "products.inventory_unit_differs": "inventory_unit.name",
        "products.decimals_differ": "quantitydecimal",
    }
    for kind, field in expected_field.items():
        for entry in manifest(world, kind):
            update = actions[(entry["product_number"], None)]
            assert update.kind == "update" and field in update.changes, (kind, update)
    for entry in manifest(world, "products.unit_not_in_fs"):
        assert "uoms with name='m'" in (
            actions[(entry["product_number"], "unresolved_link")].message or ""
        )
    for entry in manifest(world, "products.ambiguous_across_companies"):
        assert (entry["product_number"], "key_in_several_companies") in actions
    for entry in manifest(world, "products.fs_orphan"):
        assert (entry["product_number"], "orphan") in actions
    quiet = [
        "products.in_sync",
        "products.same_in_two_companies",
        "products.not_synced",
        "products.fs_only",
    ]
    for kind in quiet:
        for entry in manifest(world, kind):
            assert not [k for k in actions if k[0] == entry["product_number"]], kind
    service = actions[(manifest(world, "products.type_differs")[0]["product_number"], None)]
    assert service.changes["msdyn_fieldserviceproducttype"]["to"] == 690970000


def test_onhand_drift_kinds_and_findings(world: Sandbox, first: Plan) -> None:
    actions = onhand_actions(first)

    def key(entry: dict[str, Any], finding: str | None = None) -> tuple[str, str, str, str | None]:
        return (entry["company"], str(entry["product_number"]), entry["warehouse_id"], finding)

    for kind in ("onhand.fs_lower", "onhand.fs_higher", "onhand.missing_in_fs", "onhand.negative"):
        for entry in manifest(world, kind):
            change = actions[key(entry)].changes["msdyn_qtyonhand"]
            assert change["to"] == pytest.approx(entry["scm_onhand"])
            assert change["from"] == (
                None if entry["fs_onhand"] is None else pytest.approx(entry["fs_onhand"])
            )
    creates = {a.id: a for a in first.actions if a.kind == "create"}
    for kind, rule in (
        ("onhand.product_missing_in_fs", "products"),
        ("onhand.warehouse_missing_in_fs", "warehouses"),
    ):
        for entry in manifest(world, kind):
            adjust = actions[key(entry)]
            assert adjust.depends_on and {creates[d].rule for d in adjust.depends_on} >= {rule}
    for entry in manifest(world, "onhand.negative"):
        assert key(entry, "negative_onhand") in actions
    for entry in manifest(world, "onhand.precision"):
        assert key(entry, "precision_loss") in actions
        assert key(entry) not in actions  # FS already holds the 2-decimal value
    for entry in manifest(world, "onhand.unit_differs"):
        assert "unit.name" in actions[key(entry, "changed")].changes
    for entry in manifest(world, "onhand.fs_orphan"):
        assert key(entry, "orphan") in actions
    unknown = [a for a in first.actions if a.finding == "unknown_product"]
    for entry in manifest(world, "onhand.no_released_product"):
        assert any(entry["item_number"] in (a.message or "") for a in unknown)
    for kind in ("onhand.in_sync", "onhand.fs_not_maintained_externally"):
        for entry in manifest(world, kind):
            assert not [k for k in actions if k[:3] == key(entry)[:3]], (kind, entry)
    for entry in manifest(world, "onhand.within_tolerance"):
        assert key(entry) not in actions


def test_projects_and_project_links(world: Sandbox, first: Plan) -> None:
    projects = {
        (a.key["company"], a.key["msdynce_projectid"], a.kind, a.finding): a
        for a in first.actions
        if a.rule == "projects"
    }
    for entry in manifest(world, "projects.missing_in_fs"):
        assert (entry["company"], entry["project_id"], "create", None) in projects
    for entry in manifest(world, "projects.name_differs"):
        assert (
            projects[(entry["company"], entry["project_id"], "update", None)].changes[
                "msdynce_name"
            ]["to"]
            == entry["scm_name"]
        )
    for kind in ("projects.fs_orphan", "projects.no_longer_synced"):
        for entry in manifest(world, kind):
            assert (entry["company"], entry["project_id"], "report", "orphan") in projects
    for kind in ("projects.not_synced_type", "projects.not_synced_stage", "projects.in_sync"):
        for entry in manifest(world, kind):
            assert not [k for k in projects if k[:2] == (entry["company"], entry["project_id"])], (
                kind
            )
    links = {a.key["source"]: a for a in first.actions if a.rule == "project_links"}
    expected = {
        "workorders.project_completed": "ProjectStage is 'Completed'",
        "workorders.project_other_company": "exists only in demf",
        "workorders.project_missing_in_scm": "missing in SCM Projects",
    }
    for kind, text in expected.items():
        for entry in manifest(world, kind):
            assert text in (links[entry["name"]].message or ""), kind
    for kind in ("workorders.project_ok", "workorders.no_project"):
        for entry in manifest(world, kind):
            assert entry["name"] not in links


def test_apply_converges_and_adjusts_just_created_records_in_one_run(
    world: Sandbox, first: Plan, profile: Profile, rules: RuleSet
) -> None:
    result = apply_now(first, profile, rules)
    assert result.ok, [o for o in result.outcomes if o.status not in ("applied", "reported")]
    second = plan_now(profile, rules)
    assert [a for a in second.actions if a.kind != "report"] == []
    products = {r["productnumber"]: r["productid"] for r in world.dataverse.rows("products")}
    levels = {
        (r["_msdyn_product_value"], r["_msdyn_warehouse_value"]): r["msdyn_qtyonhand"]
        for r in world.dataverse.rows("msdyn_productinventories")
    }
    warehouses = {
        (r["_owningbusinessunit_value"], r["msdyn_name"]): r["msdyn_warehouseid"]
        for r in world.dataverse.rows("msdyn_warehouses")
    }
    for kind in ("onhand.product_missing_in_fs", "onhand.warehouse_missing_in_fs"):
        for entry in manifest(world, kind):
            product = products[entry["product_number"]]
            warehouse = warehouses[(world.companies[entry["company"]], entry["warehouse_id"])]
            assert levels[(product, warehouse)] == pytest.approx(entry["scm_onhand"])
    adjusts = {a.id for a in first.actions if a.kind == "adjust"}
    lines = [
        r
        for r in world.dataverse.rows("msdyn_inventoryadjustmentproducts")
        if r["msdyn_name"] in adjusts
    ]
    assert sorted(r["msdyn_name"] for r in lines) == sorted(adjusts)  # each posted once
    posted = {r["_msdyn_inventoryadjustment_value"] for r in lines}
    adjustments = [
        r
        for r in world.dataverse.rows("msdyn_inventoryadjustments")
        if r["msdyn_inventoryadjustmentid"] in posted
    ]
    assert len(adjustments) == len({r["_msdyn_warehouse_value"] for r in adjustments})


def test_every_action_has_its_own_id(first: Plan) -> None:
    """The journal and history key on action ids: two findings must never share one."""
    ids = [action.id for action in first.actions]
    assert len(set(ids)) == len(ids)
