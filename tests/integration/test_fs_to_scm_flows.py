"""Work orders, agreement invoices and inventory journals (FS -> SCM) against the seeded
sandbox over loopback: plan, apply, plan again.

Expectations come from the seed's manifest (what it planted and the values the template
would write), never from the plan.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from reconciler.config import Profile
from reconciler.connectors.base import Write, Written
from reconciler.connectors.fno import FnoConnector
from reconciler.plan import Action, Plan
from reconciler.rules import RuleSet
from reconciler.sandbox import Sandbox
from reconciler.sandbox.seed_catalog import DIMENSIONS
from tests.integration.flows import apply_now, manifest, plan_now

WORK_ORDER_RULES = ("work_orders", "work_order_products", "work_order_services")
INVOICE_RULES = ("agreement_invoices", "agreement_invoice_lines")
JOURNAL_RULES = (
    "adjustment_journals",
    "adjustment_journal_lines",
    "transfer_journals",
    "transfer_journal_lines",
)
FS_TO_SCM = WORK_ORDER_RULES + INVOICE_RULES + JOURNAL_RULES


def writes(plan: Plan) -> list[Action]:
    return [a for a in plan.actions if a.kind != "report"]


def about(plan: Plan, rules: tuple[str, ...], company: str, **key: Any) -> list[Action]:
    """The actions of ``rules`` whose key has ``company`` and the given values."""
    return [
        a
        for a in plan.actions
        if a.rule in rules
        and a.key.get("company") == company
        and all(a.key.get(name) == value for name, value in key.items())
    ]


def scm(world: Sandbox, entity_set: str, **values: Any) -> list[dict[str, Any]]:
    return [
        row
        for row in world.fno.rows(entity_set)
        if all(row.get(name) == value for name, value in values.items())
    ]


@pytest.fixture
def first(profile: Profile, rules: RuleSet) -> Plan:
    return plan_now(profile, rules)


# --- work orders -> sales orders -----------------------------------------------------------
def line_rule(line: dict[str, Any]) -> str:
    return "work_order_services" if line["type"] == "service" else "work_order_products"


def test_work_order_filters_statuses_and_quantity_rules(world: Sandbox, first: Plan) -> None:
    def of(entry: dict[str, Any]) -> list[Action]:
        return about(
            first, WORK_ORDER_RULES, entry["company"], SalesOrderNumber=entry["work_order"]
        )

    for entry in manifest(world, "work_orders.missing"):
        actions = of(entry)
        (header,) = [a for a in actions if a.rule == "work_orders"]
        assert header.kind == "create" and header.document is None
        planned = {name: change["to"] or "" for name, change in header.changes.items()}
        assert {name: planned[name] for name in entry["expected"]} == entry["expected"]
        lines = {a.key["LineCreationSequenceNumber"]: a for a in actions if a is not header}
        assert set(lines) == {line["line"] for line in entry["lines"]}
        for line in entry["lines"]:
            action = lines[line["line"]]  # products positive, services negative
            assert (action.rule, action.kind) == (line_rule(line), "create")
            assert action.document == {"rule": "work_orders", "action": header.id}
            assert header.id in action.depends_on
            to = {name: change["to"] for name, change in action.changes.items()}
            assert to["OrderedSalesQuantity"] == pytest.approx(line["expected_quantity"])
            assert to["ProductNumber"] == line["product_number"]
            assert to["SalesUnitSymbol"] == line["unit"]
            assert (to["ShippingWarehouseId"] or None) == line["warehouse_id"]
            assert (to.get("ShippingSiteId") or None) == line["site_id"]  # products only
            assert to["SalesPrice"] == pytest.approx(line["expected_price"])
            assert to["LineDiscountAmount"] == pytest.approx(line["expected_discount"])
    for entry in manifest(world, "work_orders.changed_header"):
        (update,) = of(entry)
        assert update.kind == "update" and update.rule == "work_orders"
        assert update.changes == {
            d["field"]: {"from": d["scm"], "to": d["expected"]} for d in entry["differences"]
        }
    for entry in manifest(world, "work_orders.changed_line_quantity"):
        updates = {a.key["LineCreationSequenceNumber"]: a for a in of(entry)}
        assert {a.kind for a in updates.values()} == {"update"}
        assert {line: a.changes for line, a in updates.items()} == {
            d["line"]: {"OrderedSalesQuantity": {"from": d["scm"], "to": d["expected"]}}
            for d in entry["differences"]
        }
        assert {line["rule"] for line in entry["lines"]} == {"estimated", "used"}
    for entry in manifest(world, "work_orders.changed_line_discount"):
        updates = {a.key["LineCreationSequenceNumber"]: a for a in of(entry)}
        assert {(a.rule, a.kind) for a in updates.values()} == {
            ("work_order_products", "update"),
            ("work_order_services", "update"),
        }
        assert {line: a.changes for line, a in updates.items()} == {
            d["line"]: {"LineDiscountAmount": {"from": d["scm"], "to": d["expected"]}}
            for d in entry["differences"]
        }
    for entry in manifest(world, "work_orders.line_missing"):
        (create,) = of(entry)
        assert create.kind == "create"
        assert [create.key["LineCreationSequenceNumber"]] == entry["missing_lines"]
        header_id = json.loads(create.document["id"])  # type: ignore[index]
        assert header_id == {
            "dataAreaId": entry["company"],
            "SalesOrderNumber": entry["work_order"],
        }
    for entry in manifest(world, "work_orders.line_extra"):
        (orphan,) = of(entry)
        assert (orphan.kind, orphan.finding) == ("report", "orphan")
        assert [orphan.key["LineCreationSequenceNumber"]] == entry["extra_lines"]
    for entry in manifest(world, "work_orders.canceled_synced"):
        (finding,) = of(entry)
        assert (finding.rule, finding.finding) == ("work_orders", "canceled_synced")
        assert entry["work_order"] in (finding.message or "")
    for entry in manifest(world, "work_orders.invoiced_frozen"):
        findings = of(entry)
        assert {(a.kind, a.finding) for a in findings} == {("report", "frozen")}
        changes = {
            (a.key.get("LineCreationSequenceNumber"), name): change
            for a in findings
            for name, change in a.changes.items()
        }
        assert changes == {
            (d["line"], d["field"]): {"from": d["scm"], "to": d["expected"]}
            for d in entry["differences"]
        }
        assert all("frozen" in (a.message or "") and "usmf" in (a.message or "") for a in findings)
    quiet = ("in_sync", "posted", "filtered_out", "with_project")
    for kind in quiet:
        for entry in manifest(world, f"work_orders.{kind}"):
            if kind == "with_project" and entry["scm"] is None:
                continue  # a missing order with a project: created above
            assert of(entry) == [], (kind, entry["work_order"])
    checked = [
        line
        for kind in ("in_sync", "missing")
        for e in manifest(world, f"work_orders.{kind}")
        for line in e["lines"]
    ]
    assert {(line["type"], line["rule"]) for line in checked} >= {
        ("product", "estimated"),
        ("product", "used"),
        ("service", "estimated"),
        ("service", "used"),
    }
    assert any(line["allocated"] is False for line in checked)  # an unallocated estimate: 0


# --- agreement invoices -> free text invoices ----------------------------------------------
def test_agreement_invoice_filters_dates_and_frozen_invoices(world: Sandbox, first: Plan) -> None:
    def of(entry: dict[str, Any]) -> list[Action]:
        return about(
            first, INVOICE_RULES, entry["company"], ExternalInvoiceId=entry["invoice_number"]
        )

    for entry in manifest(world, "agreement_invoices.missing"):
        actions = of(entry)
        (header,) = [a for a in actions if a.rule == "agreement_invoices"]
        assert header.kind == "create"
        planned = {name: change["to"] for name, change in header.changes.items()}
        expected = dict(entry["expected"], InvoiceDate=entry["invoice_date"])
        assert {name: planned[name] for name in expected} == expected
        lines = {a.key["LineNumber"]: a for a in actions if a is not header}
        assert {n: a.changes["Quantity"]["to"] for n, a in lines.items()} == {
            line["line"]: line["expected_quantity"] for line in entry["lines"]
        }
        assert all(a.document == {"rule": header.rule, "action": header.id} for a in lines.values())
    for entry in manifest(world, "agreement_invoices.changed_header"):
        (update,) = of(entry)
        assert update.kind == "update"
        assert update.changes == {
            d["field"]: {"from": d["scm"][:10], "to": d["expected"][:10]}
            for d in entry["differences"]
        }
    for entry in manifest(world, "agreement_invoices.changed_line_quantity"):
        (update,) = of(entry)
        assert {update.key["LineNumber"]} == {d["line"] for d in entry["differences"]}
        assert update.changes == {
            d["field"]: {"from": d["scm"], "to": d["expected"]} for d in entry["differences"]
        }
        assert set(update.changes) == {"Quantity", "TransactionCurrencyAmount"}
    for entry in manifest(world, "agreement_invoices.line_missing"):
        (create,) = of(entry)
        assert create.kind == "create" and [create.key["LineNumber"]] == entry["missing_lines"]
    for entry in manifest(world, "agreement_invoices.line_extra"):
        (orphan,) = of(entry)
        assert orphan.finding == "orphan" and [orphan.key["LineNumber"]] == entry["extra_lines"]
    for entry in manifest(world, "agreement_invoices.no_invoice_date"):
        (finding,) = of(entry)  # its lines wait for the invoice
        assert (finding.rule, finding.finding) == ("agreement_invoices", "missing_required")
        assert "InvoiceDate" in (finding.message or "")
    for entry in manifest(world, "agreement_invoices.posted_frozen"):
        findings = of(entry)
        assert findings and {(a.kind, a.finding) for a in findings} == {("report", "frozen")}
        assert {
            (a.key["LineNumber"], name, change["from"], change["to"])
            for a in findings
            for name, change in a.changes.items()
        } == {(d["line"], d["field"], d["scm"], d["expected"]) for d in entry["differences"]}
    for kind in ("in_sync", "filtered_out"):
        for entry in manifest(world, f"agreement_invoices.{kind}"):
            assert of(entry) == [], (kind, entry["invoice_number"])


# --- inventory adjustments and transfers -> journals ---------------------------------------
def journal_rules(entry: dict[str, Any]) -> tuple[str, str]:
    kind = "transfer" if entry["type"] == "transfer" else "adjustment"
    return (f"{kind}_journals", f"{kind}_journal_lines")


def test_inventory_journal_filters(world: Sandbox, first: Plan) -> None:
    def of(entry: dict[str, Any]) -> list[Action]:
        found = about(first, JOURNAL_RULES, entry["company"], Description=entry["document"])
        return found + about(
            first, JOURNAL_RULES, entry["company"], **{"journal.Description": entry["document"]}
        )

    for kind in ("adjustment_missing", "transfer_missing"):
        for entry in manifest(world, f"inventory_journals.{kind}"):
            header_rule, line_rule_name = journal_rules(entry)
            actions = of(entry)
            (header,) = [a for a in actions if a.rule == header_rule]
            assert header.kind == "create"
            assert header.changes["DefaultWarehouseId"]["to"] == entry["warehouse_id"]
            lines = sorted(
                (a for a in actions if a.rule == line_rule_name), key=lambda a: a.key["LineNumber"]
            )
            assert [a.key["LineNumber"] for a in lines] == [line["line"] for line in entry["lines"]]
            assert [
                (a.changes["ItemNumber"]["to"], a.changes["InventoryQuantity"]["to"]) for a in lines
            ] == [(line["item_number"], line["quantity"]) for line in entry["lines"]]
            assert [planned_dimensions(a, entry) for a in lines] == [
                line["dimensions"] for line in entry["lines"]
            ]
            assert all(a.document == {"rule": header_rule, "action": header.id} for a in lines)
    for entry in manifest(world, "inventory_journals.variant_size_differs"):
        (changed,) = of(entry)  # journal lines are created, never changed: reported
        assert (changed.rule, changed.kind, changed.finding) == (
            "adjustment_journal_lines",
            "report",
            "changed",
        )
        assert changed.changes == {
            d["field"]: {"from": d["scm"], "to": d["expected"]} for d in entry["differences"]
        }
    for entry in manifest(world, "inventory_journals.not_inventory_unit"):
        header_rule, line_rule_name = journal_rules(entry)
        found = {(a.rule, a.finding, a.key.get("LineNumber")) for a in of(entry)}
        assert {a.kind for a in of(entry)} == {"report"}
        assert found == {(header_rule, "incomplete_document", None)} | {
            (
                line_rule_name,
                "no_header" if line["in_inventory_unit"] else "not_inventory_unit",
                line["line"],
            )
            for line in entry["lines"]
        }
        (unit,) = [a for a in of(entry) if a.finding == "not_inventory_unit"]
        assert "inventory unit" in (unit.message or "") and "not written" in (unit.message or "")
    created = manifest(world, "inventory_journals.variant_line")
    assert {e["type"] for e in created if e["journal_number"] is None} == {
        "adjustment",
        "transfer",
    }  # variants among the missing documents above: created with their dimensions
    for kind in (
        "adjustment_in_sync",
        "transfer_in_sync",
        "journal_posted",
        "adjustment_not_posted",
        "transfer_not_posted",
    ):
        for entry in manifest(world, f"inventory_journals.{kind}"):
            assert of(entry) == [], (kind, entry["document"])


def planned_dimensions(action: Action, entry: dict[str, Any]) -> dict[str, str]:
    """The non-blank product dimensions a journal line create writes; a transfer's source
    and destination dimensions must agree."""
    sides = ("Source", "Destination") if entry["type"] == "transfer" else ("",)
    written = [{name: action.changes[side + name]["to"] for name in DIMENSIONS} for side in sides]
    assert all(values == written[0] for values in written)
    assert all(value is not None for value in written[0].values())  # F&O's empty string
    return {name: value for name, value in written[0].items() if value}


# --- apply ---------------------------------------------------------------------------------
def test_apply_writes_documents_and_converges(
    world: Sandbox, first: Plan, profile: Profile, rules: RuleSet
) -> None:
    frozen = {
        name: scm(world, name)
        for name in ("CDSFreeTextInvoiceLines", "CDSSalesOrderLinesV2", "CDSSalesOrderHeaders")
    }
    result = apply_now(first, profile, rules)
    assert result.ok, [o for o in result.outcomes if o.status not in ("applied", "reported")]
    again = plan_now(profile, rules)
    assert writes(again) == []
    assert {a.id for a in again.actions if a.rule in FS_TO_SCM} == {
        a.id for a in first.actions if a.rule in FS_TO_SCM and a.kind == "report"
    }

    for kind in (
        "missing",
        "changed_header",
        "changed_line_quantity",
        "changed_line_discount",
        "line_missing",
        "in_sync",
    ):
        for entry in manifest(world, f"work_orders.{kind}"):
            key = {"dataAreaId": entry["company"], "SalesOrderNumber": entry["work_order"]}
            (header,) = scm(world, "CDSSalesOrderHeaders", **key)
            assert {name: header[name] for name in entry["expected"]} == entry["expected"]
            lines = {
                row["LineCreationSequenceNumber"]: row
                for row in scm(world, "CDSSalesOrderLinesV2", **key)
            }
            for line in entry["lines"]:
                got = lines[line["line"]]
                assert got["OrderedSalesQuantity"] == pytest.approx(line["expected_quantity"])
                assert got["ProductNumber"] == line["product_number"]
                assert got["SalesPrice"] == pytest.approx(line["expected_price"])
                assert got["LineDiscountAmount"] == pytest.approx(line["expected_discount"])
                assert (got["ShippingSiteId"] or None) == line["site_id"]
    for kind in ("missing", "changed_header", "changed_line_quantity", "line_missing"):
        for entry in manifest(world, f"agreement_invoices.{kind}"):
            key = {"dataAreaId": entry["company"], "ExternalInvoiceId": entry["invoice_number"]}
            (header,) = scm(world, "CDSFreeTextInvoiceHeaders", **key)
            assert header["InvoiceDate"] == f"{entry['invoice_date']}T12:00:00Z"
            quantities = {
                row["LineNumber"]: row["Quantity"]
                for row in scm(world, "CDSFreeTextInvoiceLines", **key)
            }
            for line in entry["lines"]:
                assert quantities[line["line"]] == pytest.approx(line["expected_quantity"])
    for kind in ("no_invoice_date", "filtered_out"):
        for entry in manifest(world, f"agreement_invoices.{kind}"):
            assert not scm(
                world, "CDSFreeTextInvoiceHeaders", ExternalInvoiceId=entry["invoice_number"]
            )
    for kind in ("filtered_out",):
        for entry in manifest(world, f"work_orders.{kind}"):
            assert not scm(world, "CDSSalesOrderHeaders", SalesOrderNumber=entry["work_order"])

    # frozen documents and the canceled work order's order were not touched
    untouched = {
        ("CDSSalesOrderHeaders", e["work_order"])
        for k in ("work_orders.invoiced_frozen", "work_orders.canceled_synced")
        for e in manifest(world, k)
    }
    untouched |= {
        ("CDSFreeTextInvoiceLines", e["invoice_number"])
        for e in manifest(world, "agreement_invoices.posted_frozen")
    }
    for name, number in untouched:
        field = "SalesOrderNumber" if name == "CDSSalesOrderHeaders" else "ExternalInvoiceId"
        before = [row for row in frozen[name] if row[field] == number]
        assert before and scm(world, name, **{field: number}) == before

    _check_journals(world)


def _check_journals(world: Sandbox) -> None:
    """Every Posted FS document is in SCM exactly once, with its lines; no other one is."""
    for kind, entries in world.seed_manifest.items():
        if not kind.startswith("inventory_journals."):
            continue
        for entry in entries:
            transfer = entry["type"] == "transfer"
            headers = (
                "InventoryTransferJournalHeaders"
                if transfer
                else "InventoryAdjustmentJournalHeaders"
            )
            journals = scm(
                world, headers, dataAreaId=entry["company"], Description=entry["document"]
            )
            if entry["post_status"] != 2 or entry["held_back"]:
                assert journals == [], entry["document"]
                continue
            (journal,) = journals
            entries_set = (
                "InventoryTransferJournalEntries"
                if transfer
                else "InventoryAdjustmentJournalEntriesV2"
            )
            lines = scm(world, entries_set, JournalNumber=journal["JournalNumber"])
            got = sorted((r["LineNumber"], r["ItemNumber"], r["InventoryQuantity"]) for r in lines)
            assert got == [(x["line"], x["item_number"], x["quantity"]) for x in entry["lines"]]
            warehouse = "SourceWarehouseId" if transfer else "InventoryWarehouseId"
            assert {r[warehouse] for r in lines} == {entry["warehouse_id"]}
            _check_dimensions(entry, lines)
    descriptions = Counter(
        (row["dataAreaId"], row["Description"])
        for name in ("InventoryAdjustmentJournalHeaders", "InventoryTransferJournalHeaders")
        for row in world.fno.rows(name)
    )
    assert max(descriptions.values()) == 1


def _check_dimensions(entry: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    """SCM's lines carry the FS lines' variant dimensions (a reported difference stays)."""
    prefixes = ("Source", "Destination") if entry["type"] == "transfer" else ("",)
    by_number = {row["LineNumber"]: row for row in lines}
    for line in entry["lines"]:
        expected = {name: line["dimensions"].get(name, "") for name in DIMENSIONS}
        expected.update(
            {d["field"]: d["scm"] for d in entry["differences"] if d["line"] == line["line"]}
        )
        row = by_number[line["line"]]
        for prefix in prefixes:
            assert {name: row[prefix + name] for name in DIMENSIONS} == expected


def test_updates_send_only_changed_fields_with_the_etag(
    world: Sandbox, first: Plan, profile: Profile, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Write] = []
    original = FnoConnector.write_many

    def spy(self: FnoConnector, batch: Any) -> list[Written]:
        sent.extend(batch)
        return original(self, batch)

    monkeypatch.setattr(FnoConnector, "write_many", spy)
    assert apply_now(first, profile, rules).ok
    updates = [w for w in sent if w.record_id is not None]
    planned = [a for a in first.actions if a.rule in FS_TO_SCM and a.kind == "update"]
    assert len(updates) == len(planned) >= 4
    by_record = {(w.entity, w.record_id): w for w in updates}
    for action in planned:
        write = by_record[(action.entity, action.target_id)]
        assert set(write.values) == set(action.changes)
        assert write.etag and write.etag == action.etag
    (entry,) = manifest(world, "agreement_invoices.changed_header")
    (date,) = [w for w in updates if "InvoiceDate" in w.values]
    assert date.values == {"InvoiceDate": f"{entry['invoice_date']}T12:00:00Z"}


def test_a_failing_line_rolls_its_whole_document_back(
    world: Sandbox, first: Plan, profile: Profile, rules: RuleSet
) -> None:
    (entry,) = [e for e in manifest(world, "work_orders.missing") if not e["project_id"]]
    services = [line for line in entry["lines"] if line["type"] == "service"]
    product = {"dataAreaId": entry["company"], "ProductNumber": services[0]["product_number"]}
    released = world.fno.get("CDSReleasedDistinctProducts", product)
    assert released is not None
    world.fno.delete("CDSReleasedDistinctProducts", product)  # the service line now fails

    document = about(
        first, WORK_ORDER_RULES, entry["company"], SalesOrderNumber=entry["work_order"]
    )
    assert len(document) == 1 + len(entry["lines"])
    result = apply_now(first, profile, rules)
    outcomes = {o.action_id: o for o in result.outcomes}
    for action in document:
        outcome = outcomes[action.id]
        assert outcome.status == "failed", outcome
        assert product["ProductNumber"] in outcome.detail and "rolled back" in outcome.detail
    key = {"dataAreaId": entry["company"], "SalesOrderNumber": entry["work_order"]}
    assert scm(world, "CDSSalesOrderHeaders", **key) == []
    assert scm(world, "CDSSalesOrderLinesV2", **key) == []
    others = [o for o in result.outcomes if o.action_id not in {a.id for a in document}]
    assert all(o.status in ("applied", "reported") for o in others)

    world.fno.insert(
        "CDSReleasedDistinctProducts", {k: v for k, v in released.items() if "@" not in k}
    )
    retried = apply_now(first, profile, rules)
    again = {o.action_id: o for o in retried.outcomes}
    assert {again[a.id].status for a in document} == {"applied"}
    assert len(scm(world, "CDSSalesOrderLinesV2", **key)) == len(entry["lines"])
    assert writes(plan_now(profile, rules)) == []


@pytest.mark.parametrize("header", ["InventoryAdjustmentJournalHeaders", "CDSSalesOrderHeaders"])
def test_a_lost_answer_never_creates_a_document_twice(
    header: str, world: Sandbox, first: Plan, profile: Profile, rules: RuleSet
) -> None:
    """Commit then drop: the change set was written but its answer lost; apply finds the
    header by its key (the journal by its Description) and its lines under it."""
    world.faults.inject("fno", "drop_after", count=1, body_contains=f"/{header} HTTP/1.1")
    result = apply_now(first, profile, rules)
    assert result.ok, [o for o in result.outcomes if o.status not in ("applied", "reported")]
    assert world.stats.dropped["fno"] == 1
    confirmed = [o for o in result.outcomes if "confirmed by re-reading" in o.detail]
    assert confirmed
    assert writes(plan_now(profile, rules)) == []
    _check_journals(world)


def test_a_document_with_a_line_that_cannot_be_written_is_held_back_whole(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    """An FS line whose product SCM has not released cannot become a journal line: the
    journal is not created without it (no partial documents), and the findings say why."""
    entry = next(
        e for e in manifest(world, "inventory_journals.adjustment_missing") if len(e["lines"]) > 1
    )
    blocked, *others = entry["lines"]
    world.fno.delete(
        "CDSReleasedDistinctProducts",
        {"dataAreaId": entry["company"], "ProductNumber": blocked["product_number"]},
    )
    plan = plan_now(profile, rules)
    actions = about(plan, JOURNAL_RULES, entry["company"], Description=entry["document"])
    actions += about(
        plan, JOURNAL_RULES, entry["company"], **{"journal.Description": entry["document"]}
    )
    assert {a.kind for a in actions} == {"report"}
    assert {(a.rule, a.finding) for a in actions} == {
        ("adjustment_journals", "incomplete_document"),
        ("adjustment_journal_lines", "no_header"),
        ("adjustment_journal_lines", "unknown_released"),  # keyed by its journal too
    }
    assert len([a for a in actions if a.finding == "no_header"]) == len(others)
    unknown = [a for a in plan.actions if a.finding == "unknown_released"]
    assert any(blocked["product_number"] in (a.message or "") for a in unknown)

    result = apply_now(plan, profile, rules)
    failed = [o for o in result.outcomes if o.status not in ("applied", "reported")]
    # only writes that need the un-released product elsewhere (a sales order line) fail
    assert all(f"{blocked['product_number']} does not exist" in o.detail for o in failed)
    headers = scm(world, "InventoryAdjustmentJournalHeaders", Description=entry["document"])
    assert headers == []
    other = [e for e in manifest(world, "inventory_journals.adjustment_missing") if e is not entry]
    for missing in other:  # the other documents went ahead
        assert scm(world, "InventoryAdjustmentJournalHeaders", Description=missing["document"])
