"""The ``bulk`` seed for benchmarks, and paging whose cost per page does not grow with the
table: checked structurally (how often the table is sorted, how many comparisons a page
takes), not with timings."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from reconciler.sandbox import RunningSandbox, Sandbox, SandboxConfig, odata_query, start
from reconciler.sandbox import dataverse as dataverse_service
from reconciler.sandbox import fno as fno_service
from tests.sandbox.conftest import service_client

ONHAND = "WarehousesOnHandV2"
LEVELS = "msdyn_productinventories"


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return row["ItemNumber"], row["InventoryWarehouseId"]


def test_bulk_world_small() -> None:
    sandbox = Sandbox.from_seed("bulk", seed=7, onhand_rows=3000, products=40)
    (summary,) = sandbox.seed_manifest["bulk.summary"]
    manifest = sandbox.seed_manifest
    scm = {_key(row): row for row in sandbox.fno.rows(ONHAND)}
    fs = {
        (row["_msdyn_product_value"], row["_msdyn_warehouse_value"]): row
        for row in sandbox.dataverse.rows(LEVELS)
    }
    assert len(scm) == summary["onhand_rows"] == 3000
    assert summary["warehouses"] == math.ceil((3000 + 3) / 40)
    assert len(sandbox.dataverse.rows("products")) == 40
    assert len(sandbox.dataverse.rows("msdyn_warehouses")) == summary["warehouses"]
    drift = {kind: manifest.get(f"onhand.{kind}", []) for kind in ("fs_lower", "fs_higher")}
    missing, orphans = manifest["onhand.missing_in_fs"], manifest["onhand.fs_orphan"]
    changed = sum(len(entries) for entries in drift.values())
    assert 0 < changed + len(missing) <= 3000 * 0.03 and len(orphans) == 3
    assert summary["in_sync"] == 3000 - changed - len(missing)
    assert len(fs) == summary["fs_rows"] == 3000 - len(missing) + len(orphans)
    for kind, entries in drift.items():
        for entry in entries:
            level = fs[(entry["fs_product_id"], entry["fs_warehouse_id"])]["msdyn_qtyonhand"]
            onhand = scm[(entry["item_number"], entry["warehouse_id"])]["OnHandQuantity"]
            assert (level < onhand) if kind == "fs_lower" else (level > onhand)
    for entry in missing:
        assert (entry["item_number"], entry["warehouse_id"]) in scm
        assert (entry["fs_product_id"], entry["fs_warehouse_id"]) not in fs
    for entry in orphans:
        assert (entry["item_number"], entry["warehouse_id"]) not in scm
        assert fs[(entry["fs_product_id"], entry["fs_warehouse_id"])]["msdyn_qtyonhand"] == 1


def test_bulk_is_deterministic_and_validates_arguments() -> None:
    first = Sandbox.from_seed("bulk", seed=3, onhand_rows=500, products=10)
    second = Sandbox.from_seed("bulk", seed=3, onhand_rows=500, products=10)
    assert first.seed_manifest == second.seed_manifest
    assert first.fno.rows(ONHAND) == second.fno.rows(ONHAND)
    assert first.dataverse.rows(LEVELS) == second.dataverse.rows(LEVELS)
    with pytest.raises(ValueError, match="'bulk' seed"):
        Sandbox.from_seed("demo", onhand_rows=10)
    with pytest.raises(ValueError, match="'demo' seed"):
        Sandbox.from_seed("bulk", warehouses_per_company=3)
    with pytest.raises(ValueError, match="products >= 1"):
        Sandbox.from_seed("bulk", onhand_rows=10, products=0)


class _Calls:
    """Counts calls of module-level functions the services use."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts: Counter[str] = Counter()
        self._monkeypatch = monkeypatch

    def wrap(self, module: object, name: str) -> None:
        original: Callable[..., Any] = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[name] += 1
            return original(*args, **kwargs)

        self._monkeypatch.setattr(module, name, counted)


@pytest.fixture(scope="module")
def large() -> Iterator[RunningSandbox]:
    world = Sandbox.from_seed("bulk", seed=7, onhand_rows=200_000, products=2_000)
    with start(world) as running:
        yield running


def _pages(client: httpx.Client, url: str, calls: _Calls, name: str) -> Iterator[tuple[int, int]]:
    """(rows, calls of ``name``) per page while following nextLinks."""
    next_url: str | None = url
    while next_url:
        before = calls.counts[name]
        body = client.get(next_url).json()
        yield len(body["value"]), calls.counts[name] - before
        next_url = body.get("@odata.nextLink")


def test_fno_pages_slice_one_sorted_result(
    large: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _Calls(monkeypatch)
    calls.wrap(fno_service, "ordered")
    with service_client(large, "fno") as client:
        pages = list(_pages(client, ONHAND, calls, "ordered"))
    assert sum(rows for rows, _ in pages) == 200_000
    assert len(pages) == 20 and {rows for rows, _ in pages} == {10_000}
    assert [sorted_ for _, sorted_ in pages] == [1] + [0] * 19


def test_dataverse_pages_resume_by_binary_search(
    large: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _Calls(monkeypatch)
    calls.wrap(dataverse_service, "_ordered")
    calls.wrap(odata_query, "is_after")
    total = large.sandbox.dataverse.count(LEVELS)
    with service_client(large, "dataverse") as client:
        client.headers["Prefer"] = "odata.maxpagesize=5000"
        pages = list(_pages(client, LEVELS, calls, "is_after"))
    assert sum(rows for rows, _ in pages) == total
    assert len(pages) == math.ceil(total / 5000)
    assert calls.counts["_ordered"] == 1
    bound = math.ceil(math.log2(total)) + 1
    assert pages[0][1] == 0 and all(0 < comparisons <= bound for _, comparisons in pages[1:])


def test_a_write_between_pages_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    world = Sandbox.from_seed(config=SandboxConfig(fno_page_size=5))
    calls = _Calls(monkeypatch)
    calls.wrap(fno_service, "ordered")
    with start(world) as running, service_client(running, "fno") as client:
        first = client.get("Warehouses", params={"$select": "WarehouseId"}).json()
        world.fno.insert("Warehouses", {"dataAreaId": "usmf", "WarehouseId": "0-FIRST"})
        second = client.get(first["@odata.nextLink"]).json()
        again = client.get(first["@odata.nextLink"]).json()
    assert calls.counts["ordered"] == 2
    assert second["value"][0]["WarehouseId"] == first["value"][-1]["WarehouseId"]
    assert again == second
