"""The deterministic seed generator and its planted drift."""

from __future__ import annotations

import time
from typing import Any

import pytest

from reconciler.sandbox import Sandbox

DRIFT_KINDS = {
    "in_sync",
    "missing_in_fs",
    "description_differs",
    "fs_orphan",
    "fs_not_maintained_externally",
    "key_case_space",
    "apostrophe_key",
    "same_id_two_companies",
}


def _world(sandbox: Sandbox) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return sandbox.fno.rows("Warehouses"), sandbox.dataverse.rows("msdyn_warehouses")


def _fs_rows(sandbox: Sandbox, company: str, name: str) -> list[dict[str, Any]]:
    unit = sandbox.companies[company]
    return [
        row
        for row in sandbox.dataverse.rows("msdyn_warehouses")
        if row["_owningbusinessunit_value"] == unit and row["msdyn_name"] == name
    ]


def _scm_row(sandbox: Sandbox, company: str, warehouse_id: str) -> dict[str, Any] | None:
    return sandbox.fno.get("Warehouses", {"dataAreaId": company, "WarehouseId": warehouse_id})


def test_same_seed_same_world() -> None:
    assert _world(Sandbox.from_seed(seed=7)) == _world(Sandbox.from_seed(seed=7))
    first, second = Sandbox.from_seed(seed=7), Sandbox.from_seed(seed=7)
    assert first.companies == second.companies
    assert first.seed_manifest == second.seed_manifest


def test_other_seed_other_names() -> None:
    names = {r["WarehouseName"] for r in Sandbox.from_seed(seed=7).fno.rows("Warehouses")}
    other = {r["WarehouseName"] for r in Sandbox.from_seed(seed=8).fno.rows("Warehouses")}
    assert names != other


def test_companies_and_business_units() -> None:
    sandbox = Sandbox.from_seed()
    units = {row["businessunitid"]: row for row in sandbox.dataverse.rows("businessunits")}
    root = sandbox.dataverse.root_business_unit_id()
    assert set(sandbox.companies) == {"usmf", "demf", "gbsi"}
    assert root not in sandbox.companies.values()
    assert units[sandbox.companies["usmf"]]["name"] == "Contoso USMF"
    assert all(units[u]["_parentbusinessunitid_value"] == root for u in sandbox.companies.values())
    legal = {row["LegalEntityId"] for row in sandbox.fno.rows("LegalEntities")}
    assert legal == {"USMF", "DEMF", "GBSI"}


def test_default_size_per_company() -> None:
    rows = Sandbox.from_seed().fno.rows("Warehouses")
    for company in ("usmf", "demf", "gbsi"):
        assert 7 <= sum(1 for row in rows if row["dataAreaId"] == company) <= 14


def test_every_drift_kind_is_planted_and_true() -> None:
    sandbox = Sandbox.from_seed()
    manifest = sandbox.seed_manifest
    assert {kind for kind in manifest if "." not in kind} == DRIFT_KINDS
    for entry in manifest["in_sync"]:
        scm = _scm_row(sandbox, entry["company"], entry["warehouse_id"])
        (fs,) = _fs_rows(sandbox, entry["company"], entry["warehouse_id"])
        assert scm is not None and fs["msdyn_description"] == scm["WarehouseName"]
    for entry in manifest["missing_in_fs"]:
        assert _scm_row(sandbox, entry["company"], entry["warehouse_id"]) is not None
        assert _fs_rows(sandbox, entry["company"], entry["warehouse_id"]) == []
    for entry in manifest["description_differs"]:
        scm = _scm_row(sandbox, entry["company"], entry["warehouse_id"])
        (fs,) = _fs_rows(sandbox, entry["company"], entry["warehouse_id"])
        assert scm is not None and fs["msdyn_description"] != scm["WarehouseName"]
    for kind, maintained in (("fs_orphan", True), ("fs_not_maintained_externally", False)):
        for entry in manifest[kind]:
            assert _scm_row(sandbox, entry["company"], entry["warehouse_id"]) is None
            (fs,) = _fs_rows(sandbox, entry["company"], entry["fs_name"])
            assert fs["msdynce_ismaintainedexternally"] is maintained


def test_special_keys() -> None:
    manifest = Sandbox.from_seed().seed_manifest
    (case_space,) = manifest["key_case_space"]
    assert case_space["warehouse_id"] != case_space["fs_name"]
    assert case_space["warehouse_id"].casefold() == case_space["fs_name"].strip().casefold()
    assert case_space["scm_name"] == case_space["fs_description"]
    apostrophes = {e["warehouse_id"]: e for e in manifest["apostrophe_key"]}
    assert "O'BRIEN" in {e["warehouse_id"] for e in manifest["missing_in_fs"]}
    assert apostrophes["D'ARCY"]["scm_name"] != apostrophes["D'ARCY"]["fs_description"]
    shared = manifest["same_id_two_companies"]
    by_id: dict[str, set[str]] = {}
    for entry in shared:
        by_id.setdefault(entry["warehouse_id"], set()).add(entry["company"])
    assert any(len(companies) == 2 for companies in by_id.values())
    missing = {(e["company"], e["warehouse_id"]) for e in manifest["missing_in_fs"]}
    assert any((c, w) in missing for w, cs in by_id.items() for c in cs)


def test_scaled_bulk_is_fast() -> None:
    started = time.monotonic()
    sandbox = Sandbox.from_seed(warehouses_per_company=3000)
    assert time.monotonic() - started < 5
    assert len(sandbox.seed_manifest["in_sync"]) >= 9000
    assert len(sandbox.dataverse.rows("msdyn_warehouses")) > 9000


def test_unknown_seed_name() -> None:
    with pytest.raises(ValueError, match="unknown seed 'huge'"):
        Sandbox.from_seed("huge")
