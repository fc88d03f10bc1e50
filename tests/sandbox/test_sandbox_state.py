"""Store state without a server: nested units of work, bulk inserts, lookup indexes and the
orders paging relies on."""

from __future__ import annotations

import random
import uuid

from hypothesis import given
from hypothesis import strategies as st

from reconciler.sandbox import Sandbox
from reconciler.sandbox.fno_query import ordered
from reconciler.sandbox.odata_query import OrderItem, QueryOptions, first_after, sort_rows
from reconciler.sandbox.query_cache import QueryCache

LEVELS = "msdyn_productinventories"


def _level(product: str, quantity: float = 1.0) -> dict[str, object]:
    return {
        "msdyn_productinventoryid": str(uuid.uuid4()),
        "_msdyn_product_value": product,
        "msdyn_qtyonhand": quantity,
    }


def test_committed_inner_unit_is_undone_by_the_outer_rollback() -> None:
    sandbox = Sandbox()
    product = str(uuid.uuid4())
    with sandbox.atomic() as outer:
        with sandbox.atomic():
            inner_id = sandbox.dataverse.insert(LEVELS, _level(product))
        sandbox.dataverse.update(LEVELS, inner_id, {"msdyn_qtyonhand": 5})
        outer.rollback()
    assert sandbox.dataverse.rows(LEVELS) == []
    assert sandbox.dataverse.find(LEVELS, "_msdyn_product_value", product) == []


def test_bulk_inserts_roll_back_as_one() -> None:
    sandbox = Sandbox()
    with sandbox.atomic() as unit:
        sandbox.dataverse.bulk_insert(LEVELS, [_level("p"), _level("q")])
        sandbox.fno.bulk_insert("UnitsOfMeasure", [{"UnitSymbol": "ea"}, {"UnitSymbol": "kg"}])
        unit.rollback()
    assert sandbox.dataverse.rows(LEVELS) == [] and sandbox.fno.rows("UnitsOfMeasure") == []


def test_find_index_follows_writes() -> None:
    store = Sandbox().dataverse
    first = store.insert(LEVELS, _level("a"))
    assert [
        r.row[store.table(LEVELS).primary_id]
        for r in store.find(LEVELS, "_msdyn_product_value", "a")
    ] == [first]
    store.update(LEVELS, first, {"msdyn_qtyonhand": 2})
    assert store.find(LEVELS, "_msdyn_product_value", "a")[0].row["msdyn_qtyonhand"] == 2
    store.delete(LEVELS, first)
    store.bulk_insert(LEVELS, [_level("a", 3.0)])
    assert [r.row["msdyn_qtyonhand"] for r in store.find(LEVELS, "_msdyn_product_value", "a")] == [
        3.0
    ]


def test_cache_recomputes_only_for_a_new_generation() -> None:
    cache: QueryCache[int] = QueryCache(capacity=2)
    assert cache.results("q", 1, lambda: [1]) == [1]
    assert cache.results("q", 1, lambda: [2]) == [1]
    assert cache.results("q", 2, lambda: [3]) == [3]
    cache.results("r", 1, lambda: [4])
    cache.results("s", 1, lambda: [5])
    assert cache.results("q", 2, lambda: [6]) == [6] and cache.computed == 5


_IDS = ["a", "B", "c ", "Ab", "b1", "A-2", "aB "]


@given(st.lists(st.tuples(st.sampled_from(["usmf", "demf"]), st.sampled_from(_IDS)), max_size=30))
def test_key_order_equals_field_by_field_order(pairs: list[tuple[str, str]]) -> None:
    """F&O's stored collated key sorts exactly as sorting each key field would, case and
    trailing blanks included."""
    sandbox = Sandbox()
    unique = {(area, wid.casefold().rstrip()): (area, wid) for area, wid in pairs}
    for area, wid in unique.values():
        sandbox.fno.insert("Warehouses", {"dataAreaId": area, "WarehouseId": wid})
    entity = sandbox.fno.entity("Warehouses")
    records = sandbox.fno.snapshot("Warehouses")
    random.Random(1).shuffle(records)
    fast = ordered(entity, records, QueryOptions())
    slow = sort_rows(records, [OrderItem(k) for k in entity.keys], lambda r: r.row)
    assert [r.row for r in fast] == [r.row for r in slow]


@given(st.lists(st.integers(0, 50), max_size=40), st.integers(-1, 51))
def test_first_after_matches_a_scan(values: list[int], cursor: int) -> None:
    order = [OrderItem("v", descending=True), OrderItem("id")]
    rows = sort_rows(
        [{"v": value, "id": f"{index:03d}"} for index, value in enumerate(values)],
        order,
        lambda row: row,
    )
    position = {"v": cursor, "id": "010"}
    after = [row["v"] < cursor or (row["v"] == cursor and row["id"] > "010") for row in rows]
    expected = after.index(True) if True in after else len(rows)
    assert first_after(rows, position, order, lambda row: row) == expected
