"""The demo seed's FS -> SCM flows (work orders, agreement invoices, inventory journals):
every planted case is true in the data, recomputed here from both sides' rows with the
template's mapping rather than read back from the seed's own bookkeeping."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.sandbox import Sandbox, SandboxConfig, start
from reconciler.sandbox.schema import DATAVERSE_TABLES
from reconciler.sandbox.seed_catalog import DIMENSIONS
from tests.sandbox.batch_body import batch, changeset, operation, parts
from tests.sandbox.conftest import service_client
from tests.sandbox.test_sandbox_seed_flows import FLOW_KINDS

WO_STATUS = {
    690970000: "OpenUnscheduled",
    690970001: "OpenScheduled",
    690970002: "OpenInProgress",
    690970003: "OpenCompleted",
    690970004: "ClosedPosted",
    690970005: "ClosedCanceled",
}
UNSCHEDULED, POSTED_WO, CANCELED = 690970000, 690970004, 690970005
ESTIMATED = 690970000
FS_TO_SCM_TABLES = (
    "accounts",
    "transactioncurrencies",
    "msdyn_agreements",
    "msdyn_workorders",
    "msdyn_workorderproducts",
    "msdyn_workorderservices",
    "invoices",
    "invoicedetails",
    "msdyn_inventoryadjustments",
    "msdyn_inventorytransfers",
    "msdyn_inventoryadjustmentproducts",
)
SCM_SETS = (
    "CDSSalesOrderHeaders",
    "CDSSalesOrderLinesV2",
    "CDSFreeTextInvoiceHeaders",
    "CDSFreeTextInvoiceLines",
    "InventoryAdjustmentJournalHeaders",
    "InventoryAdjustmentJournalEntriesV2",
    "InventoryTransferJournalHeaders",
    "InventoryTransferJournalEntries",
)


@pytest.fixture(scope="module")
def world() -> Sandbox:
    return Sandbox.from_seed("demo", seed=7, inventory_journals=True)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox.from_seed("demo", seed=7, inventory_journals=True)


def entries(world: Sandbox, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (kind.split(".", 1)[1], entry)
        for kind, found in world.seed_manifest.items()
        if kind.startswith(prefix + ".")
        for entry in found
    ]


def one(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(rows) == 1, rows
    return rows[0]


def by(world: Sandbox, entity_set: str, **values: Any) -> list[dict[str, Any]]:
    return [
        row
        for row in world.dataverse.rows(entity_set)
        if all(row[name] == value for name, value in values.items())
    ]


def scm(world: Sandbox, entity_set: str, **values: Any) -> list[dict[str, Any]]:
    return [
        row
        for row in world.fno.rows(entity_set)
        if all(row[name] == value for name, value in values.items())
    ]


def company_of(world: Sandbox, row: dict[str, Any]) -> str:
    units = {unit: area for area, unit in world.companies.items()}
    return units[row["_owningbusinessunit_value"]]


def lookup(world: Sandbox, entity_set: str, row_id: str | None, column: str) -> Any:
    if row_id is None:
        return None
    found = world.dataverse.get(entity_set, row_id)
    assert found is not None, (entity_set, row_id)
    return found[column]


def test_every_case_is_planted(world: Sandbox) -> None:
    kinds = {kind for kind in world.seed_manifest if kind.startswith("inventory_journals.")}
    assert kinds == {kind for kind in FLOW_KINDS if kind.startswith("inventory_journals.")}
    assert all(world.seed_manifest[kind] for kind in kinds)
    assert Sandbox.from_seed("demo", seed=7).seed_manifest == world.seed_manifest  # the default
    plain = Sandbox.from_seed("demo", seed=7, inventory_journals=False)
    assert not [kind for kind in plain.seed_manifest if kind.startswith("inventory_journals.")]
    assert plain.dataverse.rows("msdyn_inventoryadjustmentproducts") == []
    assert plain.fno.rows("InventoryAdjustmentJournalHeaders") == []
    with pytest.raises(ValueError, match="inventory_journals"):
        Sandbox.from_seed("bulk", onhand_rows=10, products=5, inventory_journals=True)


def test_seed_is_deterministic_and_uses_schema_columns(world: Sandbox) -> None:
    again = Sandbox.from_seed("demo", seed=7, inventory_journals=True)
    for name in FS_TO_SCM_TABLES:
        assert world.dataverse.rows(name) == again.dataverse.rows(name), name
        assert world.dataverse.known_columns(name) == set(DATAVERSE_TABLES[name].columns), name
    for name in SCM_SETS:
        assert world.fno.rows(name) == again.fno.rows(name), name
    assert world.seed_manifest == again.seed_manifest


# --- work orders ---------------------------------------------------------------------------
def expected_order(world: Sandbox, order: dict[str, Any]) -> dict[str, Any]:
    """The SCM header the template writes, from the FS work order alone."""
    account = lookup(world, "accounts", order["_msdyn_serviceaccount_value"], "accountnumber")
    project = lookup(
        world,
        "msdynce_externalprojects",
        order["_msdynce_externalproject_value"],
        "msdynce_projectid",
    )
    return {
        "OrderingCustomerAccountNumber": account,
        "InvoiceCustomerAccountNumber": account,
        "CurrencyCode": lookup(
            world, "transactioncurrencies", order["_transactioncurrencyid_value"], "isocurrencycode"
        ),
        "ExternalWorkOrderStatus": WO_STATUS[order["msdyn_systemstatus"]],
        "SalesOrderOriginType": "WorkOrderIntegration",
        "ProjectId": project or "",
    }


def expected_order_lines(world: Sandbox, order: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """LineCreationSequenceNumber -> quantity, unit price and discount by the estimated/used
    rule (services in hours), and a product line's shipping site (its warehouse's SCM site)."""
    posted = order["msdyn_systemstatus"] == POSTED_WO
    lines: dict[int, dict[str, Any]] = {}
    workorder = order["msdyn_workorderid"]
    for row in by(world, "msdyn_workorderproducts", _msdyn_workorder_value=workorder):
        estimated = row["msdyn_linestatus"] == ESTIMATED and row["msdyn_allocated"] and not posted
        quantity = row["msdyn_estimatequantity"] if estimated else row["msdyn_quantity"]
        warehouse = lookup(world, "msdyn_warehouses", row["_msdyn_warehouse_value"], "msdyn_name")
        (site,) = [
            w["OperationalSiteId"]
            for w in world.fno.rows("Warehouses")
            if w["WarehouseId"] == warehouse and w["dataAreaId"] == company_of(world, row)
        ]
        lines[row["msdyn_lineorder"]] = {
            "OrderedSalesQuantity": quantity,
            **_amounts(row, estimated),
            "ShippingSiteId": site,
        }
    for row in by(world, "msdyn_workorderservices", _msdyn_workorder_value=workorder):
        estimated = row["msdyn_linestatus"] == ESTIMATED and not posted
        minutes = row["msdyn_estimateduration"] if estimated else row["msdyn_duration"]
        lines[-row["msdyn_lineorder"]] = {
            "OrderedSalesQuantity": round(minutes / 60, 2),
            **_amounts(row, estimated),
        }
    return lines


def _amounts(row: dict[str, Any], estimated: bool) -> dict[str, float]:
    prefix = "msdyn_estimate" if estimated else "msdyn_"
    return {
        "SalesPrice": row[prefix + "unitamount"],
        "LineDiscountAmount": row[prefix + "discountamount"] or 0.0,  # the rule's default
    }


def passes_filter(order: dict[str, Any]) -> bool:
    status = order["msdyn_systemstatus"]
    return (
        status not in (UNSCHEDULED, CANCELED)
        and order["msdynce_hasexternallymaintainedproductsonly"] is True
    )


def test_work_orders_are_what_the_manifest_says(world: Sandbox) -> None:
    seen = set()
    for kind, entry in entries(world, "work_orders"):
        seen.add(kind)
        order = one(by(world, "msdyn_workorders", msdyn_name=entry["work_order"]))
        assert order["msdyn_workorderid"] == entry["workorder_id"]
        assert company_of(world, order) == entry["company"]
        assert passes_filter(order) is entry["passes_filter"]
        expected = expected_order(world, order)
        assert expected == entry["expected"]
        expected_lines = expected_order_lines(world, order)
        quantities = {n: line["OrderedSalesQuantity"] for n, line in expected_lines.items()}
        assert {line["line"]: line["expected_quantity"] for line in entry["lines"]} == quantities
        assert {
            line["line"]: (line["expected_price"], line["expected_discount"])
            for line in entry["lines"]
        } == {n: (v["SalesPrice"], v["LineDiscountAmount"]) for n, v in expected_lines.items()}
        key = {"dataAreaId": entry["company"], "SalesOrderNumber": entry["work_order"]}
        headers = scm(world, "CDSSalesOrderHeaders", **key)
        assert bool(headers) is (entry["scm"] is not None)
        lines = {
            row["LineCreationSequenceNumber"]: row
            for row in scm(world, "CDSSalesOrderLinesV2", **key)
        }
        changed = {
            name for name, value in expected.items() if headers and headers[0][name] != value
        }
        changed_lines = {
            (number, name)
            for number, values in expected_lines.items()
            for name, value in values.items()
            if number in lines and lines[number][name] != value
        }
        missing = sorted(set(quantities) - set(lines)) if headers else []
        extra = sorted(set(lines) - set(quantities))
        assert {d["field"] for d in entry["differences"] if d["line"] is None} == changed
        assert {
            (d["line"], d["field"]) for d in entry["differences"] if d["line"] is not None
        } == changed_lines
        assert (entry["missing_lines"], entry["extra_lines"]) == (missing, extra)
        header = headers[0] if headers else None
        _check_work_order_kind(kind, entry, order, header, changed, changed_lines, missing, extra)
    assert seen >= {
        "in_sync",
        "missing",
        "invoiced_frozen",
        "with_project",
        "filtered_out",
        "changed_line_discount",
    }


def _check_work_order_kind(
    kind: str,
    entry: dict[str, Any],
    order: dict[str, Any],
    header: dict[str, Any] | None,
    changed: set[str],
    changed_lines: set[tuple[int, str]],
    missing: list[int],
    extra: list[int],
) -> None:
    drift = bool(changed or changed_lines or missing or extra)
    status = order["msdyn_systemstatus"]
    if kind in ("in_sync", "posted"):
        assert header is not None and entry["passes_filter"] and not drift
        assert header["SalesOrderStatus"] != "Invoiced"
    if kind == "posted":
        assert status == POSTED_WO and {line["rule"] for line in entry["lines"]} == {"used"}
    if kind == "missing":
        assert entry["passes_filter"] and header is None
    if kind == "changed_header":
        assert changed and not (changed_lines or missing or extra)
    if kind == "changed_line_quantity":
        assert changed_lines and not (changed or missing or extra)
        assert {name for _, name in changed_lines} == {"OrderedSalesQuantity"}
        assert {line["rule"] for line in entry["lines"]} == {"estimated", "used"}
    if kind == "changed_line_discount":
        assert changed_lines and not (changed or missing or extra)
        assert {name for _, name in changed_lines} == {"LineDiscountAmount"}
        assert {line["type"] for line in entry["lines"]} == {"product", "service"}
        assert {line["rule"] for line in entry["lines"]} == {"estimated", "used"}
    if kind == "line_missing":
        assert missing and not (changed or changed_lines or extra)
    if kind == "line_extra":
        assert extra and not (changed or changed_lines or missing)
    if kind == "filtered_out":
        assert header is None and not entry["passes_filter"] and entry["reason"]
    if kind == "canceled_synced":
        assert status == CANCELED and header is not None and not entry["passes_filter"]
    if kind == "invoiced_frozen":
        assert header is not None and header["SalesOrderStatus"] == "Invoiced" and drift
    if kind == "with_project":
        assert entry["project_id"] and order["_msdynce_externalproject_value"]
        assert header is None or header["ProjectId"] == entry["project_id"]


def test_work_order_lines_carry_the_integration_columns(world: Sandbox) -> None:
    (entry,) = world.seed_manifest["work_orders.changed_line_quantity"]
    rows = by(world, "msdyn_workorderproducts", _msdyn_workorder_value=entry["workorder_id"])
    assert {row["msdynce_headersystemstatus"] for row in rows} == {entry["system_status"]}
    assert {row["msdynce_orderhasexternalmaintainedproductsonly"] for row in rows} == {True}
    (filtered,) = [
        e for e in world.seed_manifest["work_orders.filtered_out"] if not e["externally_maintained"]
    ]
    products = by(world, "msdyn_workorderproducts", _msdyn_workorder_value=filtered["workorder_id"])
    maintained = {
        lookup(world, "products", row["_msdyn_product_value"], "msdynce_ismaintainedexternally")
        for row in products
    }
    assert maintained == {True, False}


# --- agreement invoices --------------------------------------------------------------------
def expected_invoice(world: Sandbox, invoice: dict[str, Any]) -> dict[str, Any]:
    account = lookup(world, "accounts", invoice["_customerid_value"], "accountnumber")
    day = invoice["msdyn_invoicedate"]
    return {
        "CustomerAccount": account,
        "InvoiceAccount": account,
        "InvoiceDate": f"{day[:10]}T12:00:00Z" if day else None,
        "CurrencyCode": lookup(
            world,
            "transactioncurrencies",
            invoice["_transactioncurrencyid_value"],
            "isocurrencycode",
        ),
        "InvoiceOriginType": "AgreementInvoiceIntegration",
    }


def test_agreement_invoices_are_what_the_manifest_says(world: Sandbox) -> None:
    for kind, entry in entries(world, "agreement_invoices"):
        invoice = one(by(world, "invoices", invoicenumber=entry["invoice_number"]))
        assert company_of(world, invoice) == entry["company"]
        expected = expected_invoice(world, invoice)
        assert expected == entry["expected"]
        details = by(world, "invoicedetails", _invoiceid_value=invoice["invoiceid"])
        quantities = {row["lineitemnumber"]: row["quantity"] for row in details}
        assert {d["msdynce_hasagreementorigin"] for d in details} == {entry["agreement_origin"]}
        assert invoice["msdynce_haslineswithagreementorigin"] is entry["agreement_origin"]
        key = {"dataAreaId": entry["company"], "ExternalInvoiceId": entry["invoice_number"]}
        headers = scm(world, "CDSFreeTextInvoiceHeaders", **key)
        lines = {row["LineNumber"]: row for row in scm(world, "CDSFreeTextInvoiceLines", **key)}
        assert bool(headers) is (entry["scm"] is not None)
        header = headers[0] if headers else None
        changed = {n for n, v in expected.items() if header is not None and header[n] != v}
        changed_lines = {
            n for n, q in quantities.items() if n in lines and lines[n]["Quantity"] != q
        }
        missing = sorted(set(quantities) - set(lines)) if header else []
        extra = sorted(set(lines) - set(quantities))
        assert {d["field"] for d in entry["differences"] if d["line"] is None} == changed
        assert {d["line"] for d in entry["differences"] if d["line"] is not None} == changed_lines
        assert (entry["missing_lines"], entry["extra_lines"]) == (missing, extra)
        assert all(row["MainAccountDisplayValue"] == "401100" for row in lines.values())
        drift = bool(changed or changed_lines or missing or extra)
        expectations = {
            "in_sync": header is not None and not drift and header["IsPosted"] == "No",
            "missing": header is None and entry["passes_filter"],
            "changed_header": changed == {"InvoiceDate"} and not changed_lines,
            "changed_line_quantity": bool(changed_lines) and not changed,
            "line_missing": bool(missing) and not (changed or changed_lines or extra),
            "line_extra": bool(extra) and not (changed or changed_lines or missing),
            "filtered_out": header is None and not entry["agreement_origin"],
            "no_invoice_date": header is None and invoice["msdyn_invoicedate"] is None,
            "posted_frozen": header is not None and header["IsPosted"] == "Yes" and drift,
        }
        assert expectations[kind], (kind, entry["invoice_number"])


# --- inventory journals --------------------------------------------------------------------
def test_inventory_documents_are_what_the_manifest_says(world: Sandbox) -> None:
    for kind, entry in entries(world, "inventory_journals"):
        transfer = entry["type"] == "transfer"
        table = "msdyn_inventorytransfers" if transfer else "msdyn_inventoryadjustments"
        document = one(by(world, table, msdyn_name=entry["document"]))
        assert document["msdynce_poststatus"] == entry["post_status"]
        parent = (
            "_msdyn_inventorytransfer_value" if transfer else "_msdyn_inventoryadjustment_value"
        )
        fs_lines = by(world, "msdyn_inventoryadjustmentproducts", **{parent: entry["fs_id"]})
        assert sorted(row["msdyn_quantity"] for row in fs_lines) == sorted(
            line["quantity"] for line in entry["lines"]
        )
        units = fs_line_units(world, fs_lines)
        assert units == {
            line["product_number"]: (line["unit"], line["inventory_unit"])
            for line in entry["lines"]
        }
        dimensions = released_dimensions(world, entry["company"], list(units))
        assert dimensions == {line["product_number"]: line["dimensions"] for line in entry["lines"]}
        headers_set = (
            "InventoryTransferJournalHeaders" if transfer else ("InventoryAdjustmentJournalHeaders")
        )
        journals = scm(
            world, headers_set, dataAreaId=entry["company"], Description=entry["document"]
        )
        assert [j["JournalNumber"] for j in journals] == (
            [entry["journal_number"]] if entry["journal_number"] else []
        )
        if kind.endswith("_not_posted"):
            assert entry["post_status"] == 1 and not journals
        if kind.endswith("_missing"):
            assert entry["post_status"] == 2 and not journals
        if kind.endswith("_in_sync"):
            assert entry["post_status"] == 2 and journals
            _check_journal_lines(world, entry, transfer)
        if kind == "journal_posted":
            assert journals[0]["IsPosted"] == "Yes"
        if kind == "variant_line":
            assert any(dimensions.values()) and entry["post_status"] == 2
        if kind == "variant_size_differs":
            (line,) = scm(world, "InventoryAdjustmentJournalEntriesV2", **_journal(entry))
            (difference,) = entry["differences"]
            assert difference["field"] == "ProductSizeId"
            assert line["ProductSizeId"] == difference["scm"]
            assert (
                dimensions[entry["lines"][0]["product_number"]]["ProductSizeId"]
                == (difference["expected"])
            )
        held_back = any(unit != inventory for unit, inventory in units.values())
        assert held_back is entry["held_back"] is (kind == "not_inventory_unit")
        if held_back:
            assert entry["post_status"] == 2 and not journals


def _journal(entry: dict[str, Any]) -> dict[str, Any]:
    return {"dataAreaId": entry["company"], "JournalNumber": entry["journal_number"]}


def fs_line_units(world: Sandbox, lines: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Product number -> (the line's FS unit, the product's inventory unit), by name."""
    found = {}
    for row in lines:
        product = world.dataverse.get("products", row["_msdyn_product_value"])
        assert product is not None
        unit = lookup(world, "uoms", row["_msdyn_unit_value"], "name")
        inventory = lookup(world, "uoms", product["_msdynce_inventoryunit_value"], "name")
        found[product["productnumber"]] = (unit, inventory)
    return found


def released_dimensions(
    world: Sandbox, company: str, products: list[str]
) -> dict[str, dict[str, str]]:
    """Product number -> its non-blank SCM product dimensions."""
    found = {}
    for number in products:
        row = one(
            scm(world, "CDSReleasedDistinctProducts", dataAreaId=company, ProductNumber=number)
        )
        found[number] = {name: row[name] for name in DIMENSIONS if row[name]}
    return found


def _check_journal_lines(world: Sandbox, entry: dict[str, Any], transfer: bool) -> None:
    entries_set = (
        "InventoryTransferJournalEntries" if transfer else ("InventoryAdjustmentJournalEntriesV2")
    )
    rows = scm(world, entries_set, JournalNumber=entry["journal_number"])
    got = sorted((r["LineNumber"], r["ItemNumber"], r["InventoryQuantity"]) for r in rows)
    want = [(line["line"], line["item_number"], line["quantity"]) for line in entry["lines"]]
    assert got == want
    prefixes = ("Source", "Destination") if transfer else ("",)
    by_number = {row["LineNumber"]: row for row in rows}
    for line in entry["lines"]:
        row = by_number[line["line"]]
        for prefix in prefixes:
            for name, value in line["dimensions"].items():
                assert row[prefix + name] == value
    for row in rows:
        if transfer:
            assert row["SourceWarehouseId"] == entry["warehouse_id"]
            assert row["DestinationWarehouseId"] == entry["destination_warehouse_id"]
        else:
            assert row["InventoryWarehouseId"] == entry["warehouse_id"]


# --- over the wire -------------------------------------------------------------------------
def test_reading_the_new_tables_over_http(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    template_filter = (
        "msdyn_systemstatus ne 690970005 and msdyn_systemstatus ne 690970000 "
        "and msdynce_hasexternallymaintainedproductsonly eq true"
    )
    body = dataverse.get(
        "msdyn_workorders", params={"$filter": template_filter, "$select": "msdyn_name"}
    ).json()
    passing = {e["work_order"] for _, e in entries(sandbox, "work_orders") if e["passes_filter"]}
    assert {row["msdyn_name"] for row in body["value"]} == passing
    (entry,) = sandbox.seed_manifest["work_orders.changed_line_quantity"]
    lines = dataverse.get(
        "msdyn_workorderproducts",
        params={
            "$filter": f"_msdyn_workorder_value eq {entry['workorder_id']} "
            "and msdyn_allocated eq true",
            "$select": "msdyn_lineorder,msdyn_linestatus,msdyn_estimatequantity,msdyn_quantity",
        },
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()["value"]
    assert {row["msdyn_lineorder"] for row in lines} == {1, 2}
    labels = {row["msdyn_linestatus@OData.Community.Display.V1.FormattedValue"] for row in lines}
    assert labels == {"Estimated", "Used"}
    invoices = dataverse.get(
        "invoices",
        params={
            "$filter": "msdynce_haslineswithagreementorigin eq true",
            "$select": "invoicenumber,msdyn_invoicedate,_customerid_value",
        },
    ).json()["value"]
    agreement = {e["invoice_number"] for _, e in entries(sandbox, "agreement_invoices")}
    agreement -= {
        e["invoice_number"] for e in sandbox.seed_manifest["agreement_invoices.filtered_out"]
    }
    assert {row["invoicenumber"] for row in invoices} == agreement
    posted = dataverse.get(
        "msdyn_inventoryadjustments",
        params={"$filter": "msdynce_poststatus eq 2", "$select": "msdyn_name,msdynce_poststatus"},
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()["value"]
    assert {row["msdyn_name"] for row in posted} == {
        "ADJ-00101",
        "ADJ-00102",
        "ADJ-00103",
        "ADJ-00104",
        "ADJ-00106",
        "ADJ-00107",
        "ADJ-00108",
    }
    assert {
        row["msdynce_poststatus@OData.Community.Display.V1.FormattedValue"] for row in posted
    } == {"Posted"}


def test_reading_scm_documents_over_http(fno: httpx.Client, sandbox: Sandbox) -> None:
    params = {
        "cross-company": "true",
        "$filter": "SalesOrderOriginType eq "
        "Microsoft.Dynamics.DataEntities.SalesOriginType'WorkOrderIntegration'",
        "$select": "dataAreaId,SalesOrderNumber,ExternalWorkOrderStatus",
        "$count": "true",
    }
    body = fno.get("CDSSalesOrderHeaders", params=params).json()
    assert body["@odata.count"] == len(sandbox.fno.rows("CDSSalesOrderHeaders"))
    assert {row["dataAreaId"] for row in body["value"]} == {"usmf", "demf"}
    usmf_only = fno.get("CDSSalesOrderHeaders", params={"$select": "dataAreaId"}).json()["value"]
    assert {row["dataAreaId"] for row in usmf_only} == {"usmf"}
    (frozen,) = sandbox.seed_manifest["work_orders.invoiced_frozen"]
    lines = fno.get(
        f"CDSSalesOrderHeaders(dataAreaId='usmf',SalesOrderNumber='{frozen['work_order']}')"
        "/CDSSalesOrderLinesV2",
        params={"$select": "LineCreationSequenceNumber,OrderedSalesQuantity,SalesOrderLineStatus"},
    ).json()["value"]
    assert {row["SalesOrderLineStatus"] for row in lines} == {"Invoiced"}
    journals = fno.get(
        "InventoryAdjustmentJournalHeaders",
        params={"$filter": "Description eq 'ADJ-00101'", "$select": "JournalNumber,IsPosted"},
    ).json()["value"]
    (journal,) = sandbox.seed_manifest["inventory_journals.adjustment_in_sync"][:1]
    assert journals == [
        {
            "@odata.etag": journals[0]["@odata.etag"],
            "JournalNumber": journal["journal_number"],
            "IsPosted": "No",
        }
    ]


def test_seeded_frozen_documents_refuse_writes(fno: httpx.Client, sandbox: Sandbox) -> None:
    (order,) = sandbox.seed_manifest["work_orders.invoiced_frozen"]
    (invoice,) = sandbox.seed_manifest["agreement_invoices.posted_frozen"]
    (journal,) = sandbox.seed_manifest["inventory_journals.journal_posted"]
    invoice_line = f"ExternalInvoiceId='{invoice['invoice_number']}',LineNumber=1"
    attempts = {
        f"CDSSalesOrderHeaders(dataAreaId='usmf',SalesOrderNumber='{order['work_order']}')": (
            {"ExternalWorkOrderStatus": "ClosedPosted"},
            "is invoiced",
        ),
        f"CDSFreeTextInvoiceLines(dataAreaId='usmf',{invoice_line})": (
            {"Quantity": 2},
            "is posted",
        ),
        "InventoryAdjustmentJournalHeaders"
        f"(dataAreaId='usmf',JournalNumber='{journal['journal_number']}')": (
            {"Description": "changed"},
            "has been posted",
        ),
    }
    for url, (body, reason) in attempts.items():
        response = fno.patch(url, json=body)
        assert response.status_code == 400, (url, response.text)
        assert reason in response.json()["error"]["innererror"]["message"]


def test_client_style_repair_of_missing_documents(fno: httpx.Client, sandbox: Sandbox) -> None:
    """What the FS -> SCM flows will do: create a missing order with its lines, and a missing
    journal (header numbered by SCM, lines through ``$1``) in one change set each."""
    (order,) = [e for e in sandbox.seed_manifest["work_orders.missing"] if not e["project_id"]]
    header = {"dataAreaId": "usmf", "SalesOrderNumber": order["work_order"], **order["expected"]}
    operations = [operation("POST", "CDSSalesOrderHeaders", header, "1")]
    for index, line in enumerate(order["lines"], start=2):
        body = {
            "dataAreaId": "usmf",
            "SalesOrderNumber": order["work_order"],
            "LineCreationSequenceNumber": line["line"],
            "ProductNumber": line["product_number"],
            "OrderedSalesQuantity": line["expected_quantity"],
            "SalesUnitSymbol": line["unit"],
        }
        operations.append(operation("POST", "CDSSalesOrderLinesV2", body, str(index)))
    adjustment = next(
        e
        for e in sandbox.seed_manifest["inventory_journals.adjustment_missing"]
        if e["company"] == "usmf"
    )
    journal = [
        operation(
            "POST",
            "InventoryAdjustmentJournalHeaders",
            {"dataAreaId": "usmf", "JournalNameId": "IAdj", "Description": adjustment["document"]},
            "1",
        ),
        *(
            operation(
                "POST",
                "$1/InventoryAdjustmentJournalEntriesV2",
                {
                    "ItemNumber": line["item_number"],
                    "InventoryWarehouseId": adjustment["warehouse_id"],
                    "InventoryQuantity": line["quantity"],
                },
                str(index),
            )
            for index, line in enumerate(adjustment["lines"], start=2)
        ),
    ]
    headers, body = batch([changeset("changeset_o", operations), changeset("changeset_j", journal)])
    response = fno.post("$batch", content=body, headers=headers)
    answered = parts(response)
    assert response.status_code == 200
    assert {p.status for p in answered} == {201}, [p.body for p in answered]
    created = scm(sandbox, "CDSSalesOrderLinesV2", SalesOrderNumber=order["work_order"])
    assert len(created) == len(order["lines"])
    (new_journal,) = scm(
        sandbox, "InventoryAdjustmentJournalHeaders", Description=adjustment["document"]
    )
    seeded = {e["journal_number"] for _, e in entries(sandbox, "inventory_journals")} - {None}
    assert new_journal["JournalNumber"] == f"USMF-{len(seeded) + 1:06d}"


def test_document_entities_page_like_every_fno_entity() -> None:
    world = Sandbox.from_seed("demo", seed=7, config=SandboxConfig(fno_page_size=4))
    with start(world) as running, service_client(running, "fno") as client:
        params = {"cross-company": "true", "$select": "SalesOrderNumber,LineCreationSequenceNumber"}
        response = client.get("CDSSalesOrderLinesV2", params=params)
        rows, pages = [], 0
        while True:
            body = response.json()
            rows += [
                (r["SalesOrderNumber"], r["LineCreationSequenceNumber"]) for r in body["value"]
            ]
            pages += 1
            if "@odata.nextLink" not in body:
                break
            assert "cross-company=true" in body["@odata.nextLink"]
            response = client.get(body["@odata.nextLink"])
        stored = world.fno.rows("CDSSalesOrderLinesV2")
        assert pages > 3 and len(rows) == len(set(rows)) == len(stored)
        (order,) = world.seed_manifest["work_orders.changed_line_quantity"]
        related = client.get(
            f"CDSSalesOrderHeaders(dataAreaId='usmf',SalesOrderNumber='{order['work_order']}')"
            "/CDSSalesOrderLinesV2",
            params={"$top": "1", "$count": "true"},
        ).json()
        assert related["@odata.count"] == len(order["lines"]) and len(related["value"]) == 1
