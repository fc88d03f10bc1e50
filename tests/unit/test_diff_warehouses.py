"""Warehouses diff over an in-memory snapshot: every drift kind, findings, determinism."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from reconciler.config import Profile
from reconciler.errors import SnapshotError
from reconciler.plan import Plan, dumps
from reconciler.planner import make_plan
from reconciler.prepare import key_hash
from reconciler.rules import default_rules_dir, load_rules
from reconciler.snapshot import take_snapshot

from .conftest import BU_DEMF, BU_USMF
from .fakes import MemoryConnector


def wh(company: str, wid: str, name: str) -> dict[str, object]:
    return {
        "dataAreaId": company,
        "WarehouseId": wid,
        "WarehouseName": name,
        "@odata.etag": 'W/"x"',
    }


def fs(
    bu: str, name: str, desc: str, ext: bool = True, wid: str | None = None
) -> dict[str, object]:
    return {
        "msdyn_warehouseid": wid or f"id-{bu[-1]}-{name}",
        "msdyn_name": name,
        "msdyn_description": desc,
        "_owningbusinessunit_value": bu,
        "msdynce_ismaintainedexternally": ext,
        "@odata.etag": 'W/"7"',
    }


def plan_for(
    profile: Profile, scm: list[dict[str, object]], fsrows: list[dict[str, object]]
) -> Plan:
    rules = load_rules(profile.rules_dir)
    connectors = {
        "fno": MemoryConnector("fno", {"Warehouses": scm}),
        "dataverse": MemoryConnector("dataverse", {"msdyn_warehouses": fsrows}),
    }
    info = take_snapshot(profile, rules, connectors)
    return make_plan(info.path, rules, profile)


def test_every_drift_kind_is_planned(profile: Profile) -> None:
    scm = [
        wh("usmf", "WH-01", "Main"),  # case/space-only key difference: no drift
        wh("usmf", "O'BRIEN", "Brien"),  # missing in FS -> create
        wh("usmf", "D'ARCY", "Darcy new"),  # changed -> update
        wh("demf", "WH-01", "Berlin"),  # same id in another company, in sync
        wh("demf", "21", "Hamburg"),  # missing in demf only
        wh("usmf", "21", "Chicago"),
        wh("usrt", "R1", "Retail"),  # company mapped to "" -> silently out of scope
        wh("gbsi", "G1", "Glasgow"),  # unmapped company -> finding
    ]
    fsrows = [
        fs(BU_USMF, "wh-01 ", "Main"),
        fs(BU_USMF, "D'ARCY", "Darcy old"),
        fs(BU_DEMF, "WH-01", "Berlin"),
        fs(BU_USMF, "21", "Chicago"),
        fs(BU_USMF, "OLD", "Gone from SCM"),  # orphan -> report
        fs(BU_USMF, "LOCAL", "FS only", ext=False),  # FS-only, not drift
    ]
    plan = plan_for(profile, scm, fsrows)
    got = {(a.kind, a.finding, a.key.get("company"), a.key.get("msdyn_name")) for a in plan.actions}
    assert got == {
        ("create", None, "usmf", "O'BRIEN"),
        ("create", None, "demf", "21"),
        ("update", None, "usmf", "D'ARCY"),
        ("report", "orphan", "usmf", "OLD"),
        ("report", "unmapped_company", "gbsi", None),
    }
    update = next(a for a in plan.actions if a.kind == "update")
    assert update.changes == {"msdyn_description": {"from": "Darcy old", "to": "Darcy new"}}
    assert update.etag == 'W/"7"' and update.target_id == "id-1-D'ARCY"
    create = next(a for a in plan.actions if a.key.get("msdyn_name") == "21")
    assert create.links == {"owningbusinessunit": {"entity_set": "businessunits", "id": BU_DEMF}}
    assert create.changes["msdynce_ismaintainedexternally"] == {"from": None, "to": True}
    assert plan.summary["warehouses"] == {
        "create": 2,
        "update": 1,
        "adjust": 0,
        "deactivate": 0,
        "report": 2,
    }


def test_duplicate_and_blank_keys_are_findings_not_actions(profile: Profile) -> None:
    scm = [wh("usmf", "A", "x"), wh("usmf", " a", "y"), wh("usmf", "", "blank")]
    fsrows = [fs(BU_USMF, "B", "b", wid="1"), fs(BU_USMF, "b ", "b", wid="2")]
    plan = plan_for(profile, scm, fsrows)
    findings = sorted(a.finding or "" for a in plan.actions)
    assert findings == ["blank_key_source", "duplicate_key_source", "duplicate_key_target"]
    dup = next(a for a in plan.actions if a.finding == "duplicate_key_target")
    assert "share msdyn_name='B'" in (dup.message or "")


def test_same_snapshot_gives_byte_identical_plans(profile: Profile) -> None:
    rules = load_rules(profile.rules_dir)
    scm = [wh("usmf", f"W{i}", f"n{i}") for i in range(7)]
    connectors = {
        "fno": MemoryConnector("fno", {"Warehouses": scm}),
        "dataverse": MemoryConnector("dataverse", {"msdyn_warehouses": []}),
    }
    info = take_snapshot(profile, rules, connectors)
    first = dumps(make_plan(info.path, rules, profile))
    second = dumps(make_plan(info.path, rules, profile))
    assert first == second
    assert first.count('"kind": "create"') == 7


def test_in_sync_gives_empty_plan(profile: Profile, tmp_path: Path) -> None:
    plan = plan_for(profile, [wh("usmf", "A", "x")], [fs(BU_USMF, "a", "x")])
    assert plan.actions == ()
    assert not plan.has_drift()


def test_a_snapshot_prepared_in_another_layout_is_refused(profile: Profile) -> None:
    """The diff joins on prepared columns an older release did not write: such a snapshot
    is taken again, not misread."""
    rules = load_rules(profile.rules_dir)
    connectors = {
        "fno": MemoryConnector("fno", {"Warehouses": [wh("usmf", "WH-01", "Main")]}),
        "dataverse": MemoryConnector("dataverse", {"msdyn_warehouses": []}),
    }
    info = take_snapshot(profile, rules, connectors)
    with duckdb.connect(str(info.path)) as con:
        con.execute("DELETE FROM _snapshot_meta WHERE key = 'layout'")
    with pytest.raises(SnapshotError, match=r"older reconciler \(layout 1; this one reads 2\)"):
        make_plan(info.path, rules, profile)


def test_key_hashes_keep_keys_apart_that_concatenation_would_merge() -> None:
    """The join key hash takes the key parts as a JSON array: no separator inside a value
    makes two keys one, and a NULL part matches nothing."""
    rule = load_rules(default_rules_dir(), only=["onhand"]).get("onhand")
    expression = key_hash(rule, ["k0", "k1"])
    rows = duckdb.sql(
        f"SELECT {expression} FROM (VALUES ('c', 'a\x1fb', 'c'), ('c', 'a', 'b\x1fc'), "
        "('c', 'a\",\"b', 'c'), ('c', 'a', 'b\",\"c'), ('c', NULL, 'c')) AS v(_company, k0, k1)"
    ).fetchall()
    hashes = [value for (value,) in rows]
    assert hashes[-1] is None
    assert len(set(hashes[:-1])) == 4
