"""Documents in the plan: line creates join their header's create; apply cuts batches of
whole documents."""

from __future__ import annotations

from typing import Any

from reconciler.apply.adjustments import adjustment_batches
from reconciler.apply.documents import DocumentItem, cut_documents
from reconciler.connectors.base import Link
from reconciler.plan import Action, Plan, load_plan, save_plan
from reconciler.planner import attach_documents


def create(action_id: str, rule: str, key: dict[str, Any], **extra: Any) -> Action:
    return Action(
        id=action_id, rule=rule, kind="create", system="fno", entity=rule, key=key, **extra
    )


def line(action_id: str, order: str, number: int) -> Action:
    return create(
        action_id,
        "lines",
        {"company": "usmf", "SalesOrderNumber": order, "LineCreationSequenceNumber": number},
        document={"rule": "orders", "company": "usmf", "match": {"SalesOrderNumber": order}},
    )


def test_lines_join_the_create_of_their_header_or_become_findings() -> None:
    header = create("h1", "orders", {"company": "usmf", "SalesOrderNumber": "WO-1"})
    other_company = create("h2", "orders", {"company": "demf", "SalesOrderNumber": "WO-2"})
    joined = line("l1", " wo-1", 1)  # keys compare trimmed and case-folded
    headless = line("l2", "WO-2", -1)  # WO-2 is created in demf only
    existing = create(
        "l3",
        "lines",
        {"company": "usmf", "SalesOrderNumber": "WO-3", "LineCreationSequenceNumber": 2},
        document={"rule": "orders", "id": '{"dataAreaId": "usmf", "SalesOrderNumber": "WO-3"}'},
    )
    result = {
        a.id: a for a in attach_documents([header, other_company, joined, headless, existing])
    }
    assert result["l1"].document == {"rule": "orders", "action": "h1"}
    assert result["l1"].depends_on == ("h1",)
    assert result["l3"] == existing
    (finding,) = [a for a in result.values() if a.finding == "no_header"]
    assert finding.kind == "report" and finding.key == headless.key
    assert "SalesOrderNumber='WO-2'" in (finding.message or "")
    assert "rule 'orders'" in (finding.message or "")


def test_the_document_field_round_trips_in_the_plan_file(tmp_path: Any) -> None:
    header = create("h1", "orders", {"company": "usmf", "SalesOrderNumber": "WO-1"})
    (joined,) = attach_documents([line("l1", "WO-1", 1), header])[:1]
    plan = Plan(
        created_at="2024-01-01T00:00:00Z",
        profile={"name": "p"},
        rules_hash="sha256:x",
        rules=("orders", "lines"),
        snapshot={"id": "s"},
        actions=(header, joined),
    )
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    loaded = load_plan(path)
    assert loaded.actions == plan.actions and loaded.format_version == "1.1"
    assert '"document"' in path.read_text() and loaded.plan_id == plan.plan_id


def test_batches_hold_whole_documents() -> None:
    def item(name: str, lines: int) -> DocumentItem:
        header = create(name, "orders", {"company": "usmf", "SalesOrderNumber": name})
        return DocumentItem(
            header, [], tuple(line(f"{name}-{n}", name, n) for n in range(1, lines + 1))
        )

    items = [item("a", 2), item("b", 1), item("c", 6), item("d", 0)]

    def cut(size: int) -> list[list[str]]:
        return [[i.header.id for i in batch] for batch in cut_documents(items, size)]

    assert cut(4) == [["a"], ["b"], ["c"], ["d"]]  # c (7 operations) goes alone
    assert cut(5) == [["a", "b"], ["c"], ["d"]]
    assert items[0].ids == ["a", "a-1", "a-2"]


def test_adjustment_batches_count_one_header_per_warehouse_in_each_batch() -> None:
    """A warehouse's first line in a batch brings its header (2 operations), the next ones
    1; a batch never exceeds its size; warehouses come in order."""

    def adjustment(name: str, warehouse: str) -> Action:
        return Action(id=name, rule="onhand", kind="adjust", system="dataverse", entity="e", key={})

    def links(action: Action) -> list[Link]:
        warehouse = action.id[0]
        return [
            Link("msdyn_warehouse", "msdyn_warehouses", f"w-{warehouse}"),
            Link("msdyn_product", "products", f"p-{action.id}"),
            Link("msdyn_unit", "uoms", "u-ea"),
        ]

    actions = [adjustment(name, name[0]) for name in ("B1", "A1", "A2", "B2", "A3")]

    def cut(size: int) -> list[list[str]]:
        skipped, batches = adjustment_batches(actions, links, size)
        assert skipped == []
        return [[action.id for action, _links in batch] for batch in batches]

    assert cut(4) == [["A1", "A2", "A3"], ["B1", "B2"]]
    assert cut(3) == [["A1", "A2"], ["A3"], ["B1", "B2"]]
    assert cut(6) == [["A1", "A2", "A3", "B1"], ["B2"]]  # B2 needs B's header again
    assert cut(7) == [["A1", "A2", "A3", "B1", "B2"]]
    assert cut(1) == [["A1"], ["A2"], ["A3"], ["B1"], ["B2"]]  # at least a header and a line
