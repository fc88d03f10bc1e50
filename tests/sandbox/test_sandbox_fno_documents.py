"""F&O documents the FS -> SCM flows write (sales orders, free text invoices, inventory
journals): numbering, validation, duplicates, atomic change sets and frozen documents."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.fno_documents import sequence_of
from tests.sandbox.batch_body import batch, changeset, operation, parts

WRITE_EXCEPTION = "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"
ADJ_HEADERS = "InventoryAdjustmentJournalHeaders"
ADJ_LINES = "InventoryAdjustmentJournalEntriesV2"
TRF_HEADERS = "InventoryTransferJournalHeaders"
SO_HEADERS = "CDSSalesOrderHeaders"
SO_LINES = "CDSSalesOrderLinesV2"
FTI_HEADERS = "CDSFreeTextInvoiceHeaders"
FTI_LINES = "CDSFreeTextInvoiceLines"


def _inner(response: httpx.Response | str) -> dict[str, Any]:
    body = response if isinstance(response, str) else response.text
    error = json.loads(body)["error"]
    assert error["code"] == "" and error["message"] == "An error has occurred."
    inner: dict[str, Any] = error["innererror"]
    return inner


def _refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 400, response.text
    inner = _inner(response)
    assert inner["type"] == WRITE_EXCEPTION
    assert inner["message"].startswith("Write failed for table row of type")
    assert reason in inner["message"]


def _sales_order(number: str, company: str = "usmf") -> dict[str, Any]:
    return {
        "dataAreaId": company,
        "SalesOrderNumber": number,
        "OrderingCustomerAccountNumber": "US-001",
        "InvoiceCustomerAccountNumber": "US-001",
        "CurrencyCode": "USD",
        "SalesOrderOriginType": "WorkOrderIntegration",
        "ExternalWorkOrderStatus": "OpenScheduled",
    }


def _sales_line(number: str, sequence: int, product: str = "P-1001") -> dict[str, Any]:
    return {
        "dataAreaId": "usmf",
        "SalesOrderNumber": number,
        "LineCreationSequenceNumber": sequence,
        "ProductNumber": product,
        "OrderedSalesQuantity": 2,
        "SalesUnitSymbol": "ea",
    }


def _key(number: str) -> str:
    return f"{SO_HEADERS}(dataAreaId='usmf',SalesOrderNumber='{number}')"


# --- journal numbers -----------------------------------------------------------------------
def test_journal_numbers_come_from_the_company_sequence(fno: httpx.Client) -> None:
    first = fno.post(ADJ_HEADERS, json={"dataAreaId": "usmf", "JournalNameId": "IAdj"})
    second = fno.post(TRF_HEADERS, json={"dataAreaId": "usmf", "JournalNameId": "ITrf"})
    other = fno.post(ADJ_HEADERS, json={"dataAreaId": "demf", "JournalNameId": "IAdj"})
    assert [r.status_code for r in (first, second, other)] == [201, 201, 201]
    numbers = [r.json()["JournalNumber"] for r in (first, second, other)]
    start = sequence_of("usmf", numbers[0])
    assert start is not None and numbers[0] == f"USMF-{start:06d}"
    assert numbers[1] == f"USMF-{start + 1:06d}"
    assert numbers[2].startswith("DEMF-")
    assert f"JournalNumber='{numbers[0]}'" in first.headers["Location"]
    given = fno.post(ADJ_HEADERS, json={"JournalNumber": "MY-1", "JournalNameId": "IAdj"})
    assert given.json()["JournalNumber"] == "MY-1" and given.json()["dataAreaId"] == "usmf"


def test_journal_header_needs_a_journal_name(fno: httpx.Client) -> None:
    _refused(fno.post(ADJ_HEADERS, json={"dataAreaId": "usmf"}), "Field 'Name' must be filled in.")


def test_lines_through_the_navigation_property(fno: httpx.Client, sandbox: Sandbox) -> None:
    header = fno.post(ADJ_HEADERS, json={"JournalNameId": "IAdj", "Description": "ADJ-1"}).json()
    url = f"{ADJ_HEADERS}(dataAreaId='usmf',JournalNumber='{header['JournalNumber']}')/{ADJ_LINES}"
    for quantity in (4, -1):
        line = {
            "ItemNumber": "P-1001",
            "InventoryWarehouseId": "MAIN",
            "InventoryQuantity": quantity,
        }
        created = fno.post(url, json=line)
        assert created.status_code == 201, created.text
    listed = fno.get(url, params={"$select": "LineNumber,InventoryQuantity"}).json()["value"]
    assert [(r["LineNumber"], r["InventoryQuantity"]) for r in listed] == [(1, 4), (2, -1)]
    stored = [
        r for r in sandbox.fno.rows(ADJ_LINES) if r["JournalNumber"] == header["JournalNumber"]
    ]
    assert len(stored) == 2 and {r["dataAreaId"] for r in stored} == {"usmf"}
    wrong = fno.post(url, json={"ItemNumber": "P-1001", "JournalNumber": "OTHER"})
    assert wrong.status_code == 400
    assert fno.get(f"{SO_HEADERS}(dataAreaId='usmf',SalesOrderNumber='X')/Nope").status_code == 404


def test_line_needs_an_existing_header_and_a_released_item(fno: httpx.Client) -> None:
    missing = {"dataAreaId": "usmf", "JournalNumber": "USMF-999999", "ItemNumber": "P-1001"}
    _refused(fno.post(ADJ_LINES, json=missing), "Journal USMF-999999 does not exist.")
    header = fno.post(ADJ_HEADERS, json={"JournalNameId": "IAdj"}).json()
    unknown = {**missing, "JournalNumber": header["JournalNumber"], "ItemNumber": "NOPE-1"}
    _refused(fno.post(ADJ_LINES, json=unknown), "Item number NOPE-1 does not exist in company usmf")
    blank = {**missing, "JournalNumber": header["JournalNumber"], "ItemNumber": ""}
    _refused(fno.post(ADJ_LINES, json=blank), "Field 'Item number' must be filled in.")


# --- sales orders and free text invoices ---------------------------------------------------
def test_sales_order_create_read_update(fno: httpx.Client) -> None:
    assert fno.post(SO_HEADERS, json=_sales_order("WO-T0001")).status_code == 201
    for sequence, product in ((1, "P-1001"), (-1, "P-1009")):
        line = fno.post(SO_LINES, json=_sales_line("WO-T0001", sequence, product))
        assert line.status_code == 201, line.text
    patched = fno.patch(_key("WO-T0001"), json={"ExternalWorkOrderStatus": "OpenInProgress"})
    assert patched.status_code == 204
    rows = fno.get(
        SO_LINES,
        params={
            "$filter": "SalesOrderNumber eq 'wo-t0001'",
            "$select": "LineCreationSequenceNumber,ProductNumber",
            "$orderby": "LineCreationSequenceNumber",
        },
    ).json()["value"]
    assert [(r["LineCreationSequenceNumber"], r["ProductNumber"]) for r in rows] == [
        (-1, "P-1009"),
        (1, "P-1001"),
    ]
    header = fno.get(_key("WO-T0001")).json()
    assert header["ExternalWorkOrderStatus"] == "OpenInProgress"


def test_duplicate_sales_order_is_the_fno_write_error(fno: httpx.Client) -> None:
    assert fno.post(SO_HEADERS, json=_sales_order("WO-T0002")).status_code == 201
    again = fno.post(SO_HEADERS, json=_sales_order("wo-t0002 "))
    assert again.status_code == 500
    inner = _inner(again)
    assert inner["type"] == WRITE_EXCEPTION
    assert "Write failed for table row of type 'CDSSalesOrderHeaders'" in inner["message"]
    assert "The record already exists." in inner["message"]


def test_sales_order_needs_a_customer(fno: httpx.Client) -> None:
    body = {**_sales_order("WO-T0003"), "OrderingCustomerAccountNumber": ""}
    _refused(fno.post(SO_HEADERS, json=body), "Field 'Customer account' must be filled in.")


def test_free_text_invoice_needs_an_invoice_date(fno: httpx.Client) -> None:
    header = {
        "dataAreaId": "usmf",
        "ExternalInvoiceId": "INV-T1",
        "CustomerAccount": "US-001",
        "InvoiceOriginType": "AgreementInvoiceIntegration",
    }
    _refused(fno.post(FTI_HEADERS, json=header), "Field 'Invoice date' must be filled in.")
    empty = {**header, "InvoiceDate": "1900-01-01T12:00:00Z"}
    _refused(fno.post(FTI_HEADERS, json=empty), "Field 'Invoice date' must be filled in.")
    dated = {**header, "InvoiceDate": "2024-02-01T12:00:00Z"}
    assert fno.post(FTI_HEADERS, json=dated).status_code == 201
    line = {"dataAreaId": "usmf", "ExternalInvoiceId": "INV-T1", "LineNumber": 1, "Quantity": 1}
    _refused(fno.post(FTI_LINES, json=line), "Field 'Main account' must be filled in.")
    line["MainAccountDisplayValue"] = "401100"
    assert fno.post(FTI_LINES, json=line).status_code == 201


# --- change sets ---------------------------------------------------------------------------
def test_journal_change_set_with_content_id_references(fno: httpx.Client, sandbox: Sandbox) -> None:
    lines = [
        operation(
            "POST",
            f"$1/{ADJ_LINES}",
            {"ItemNumber": item, "InventoryWarehouseId": "MAIN", "InventoryQuantity": quantity},
            str(index),
        )
        for index, (item, quantity) in enumerate((("P-1001", 3), ("P-1002", -2)), start=2)
    ]
    header = operation("POST", ADJ_HEADERS, {"JournalNameId": "IAdj", "Description": "ADJ-7"}, "1")
    headers, body = batch([changeset("changeset_j", [header, *lines])])
    response = fno.post("$batch", content=body, headers=headers)
    answered = parts(response)
    assert response.status_code == 200
    assert [p.status for p in answered] == [201, 201, 201], [p.body for p in answered]
    number = json.loads(answered[0].body)["JournalNumber"]
    created = [r for r in sandbox.fno.rows(ADJ_LINES) if r["JournalNumber"] == number]
    assert sorted((r["LineNumber"], r["ItemNumber"]) for r in created) == [
        (1, "P-1001"),
        (2, "P-1002"),
    ]


def test_failing_line_rolls_back_the_whole_change_set(fno: httpx.Client, sandbox: Sandbox) -> None:
    before = {name: len(sandbox.fno.rows(name)) for name in (ADJ_HEADERS, ADJ_LINES)}
    operations = [
        operation("POST", ADJ_HEADERS, {"JournalNameId": "IAdj"}, "1"),
        operation("POST", f"$1/{ADJ_LINES}", {"ItemNumber": "P-1001", "InventoryQuantity": 1}, "2"),
        operation("POST", f"$1/{ADJ_LINES}", {"ItemNumber": "NOPE", "InventoryQuantity": 1}, "3"),
    ]
    headers, body = batch([changeset("changeset_r", operations)])
    response = fno.post("$batch", content=body, headers=headers)
    answered = parts(response)
    assert response.status_code == 200
    assert [(p.status, p.content_id) for p in answered] == [(400, "3")]
    assert "Item number NOPE does not exist" in _inner(answered[0].body)["message"]
    assert {name: len(sandbox.fno.rows(name)) for name in before} == before


def test_sales_order_change_set_rolls_back_on_missing_field(
    fno: httpx.Client, sandbox: Sandbox
) -> None:
    operations = [
        operation("POST", SO_HEADERS, _sales_order("WO-T0009"), "1"),
        operation("POST", SO_LINES, _sales_line("WO-T0009", 1), "2"),
        operation("POST", SO_LINES, {**_sales_line("WO-T0009", 2), "ProductNumber": ""}, "3"),
    ]
    headers, body = batch([changeset("changeset_s", operations)])
    answered = parts(fno.post("$batch", content=body, headers=headers))
    assert [p.status for p in answered] == [400]
    assert "Field 'Product number' must be filled in." in _inner(answered[0].body)["message"]
    assert (
        sandbox.fno.get(SO_HEADERS, {"dataAreaId": "usmf", "SalesOrderNumber": "WO-T0009"}) is None
    )
    assert not [r for r in sandbox.fno.rows(SO_LINES) if r["SalesOrderNumber"] == "WO-T0009"]


# --- frozen documents ----------------------------------------------------------------------
def test_invoiced_sales_order_refuses_every_write(fno: httpx.Client, sandbox: Sandbox) -> None:
    fno.post(SO_HEADERS, json=_sales_order("WO-T0010"))
    fno.post(SO_LINES, json=_sales_line("WO-T0010", 1))
    key = {"dataAreaId": "usmf", "SalesOrderNumber": "WO-T0010"}
    sandbox.fno.update(SO_HEADERS, key, {"SalesOrderStatus": "Invoiced"})
    line_url = (
        f"{SO_LINES}(dataAreaId='usmf',SalesOrderNumber='WO-T0010',LineCreationSequenceNumber=1)"
    )
    reason = "Sales order WO-T0010 is invoiced and cannot be changed."
    _refused(fno.patch(_key("WO-T0010"), json={"CurrencyCode": "EUR"}), reason)
    _refused(fno.patch(line_url, json={"OrderedSalesQuantity": 9}), reason)
    _refused(fno.post(SO_LINES, json=_sales_line("WO-T0010", 2)), reason)
    _refused(fno.delete(line_url), reason)
    _refused(fno.delete(_key("WO-T0010")), reason)
    stored = sandbox.fno.get(SO_HEADERS, key)
    assert stored is not None and stored["CurrencyCode"] == "USD"
    assert fno.get(line_url).json()["OrderedSalesQuantity"] == 2


@pytest.mark.parametrize(
    ("header_set", "lines_set", "key", "line", "reason"),
    [
        (
            FTI_HEADERS,
            FTI_LINES,
            {"ExternalInvoiceId": "INV-T2"},
            {"LineNumber": 1, "MainAccountDisplayValue": "401100"},
            "Free text invoice INV-T2 is posted and cannot be changed.",
        ),
        (
            ADJ_HEADERS,
            ADJ_LINES,
            {"JournalNumber": "USMF-T2"},
            {"ItemNumber": "P-1001"},
            "Journal USMF-T2 has been posted and cannot be changed.",
        ),
    ],
)
def test_posted_documents_refuse_writes(
    fno: httpx.Client,
    sandbox: Sandbox,
    header_set: str,
    lines_set: str,
    key: dict[str, str],
    line: dict[str, Any],
    reason: str,
) -> None:
    header = {"dataAreaId": "usmf", **key, "CustomerAccount": "US-001", "JournalNameId": "IAdj"}
    header = {k: v for k, v in header.items() if k in sandbox.fno.entity(header_set).fields}
    if header_set == FTI_HEADERS:
        header["InvoiceDate"] = "2024-02-01T12:00:00Z"
    assert fno.post(header_set, json=header).status_code == 201
    assert fno.post(lines_set, json={"dataAreaId": "usmf", **key, **line}).status_code == 201
    sandbox.fno.update(header_set, {"dataAreaId": "usmf", **key}, {"IsPosted": "Yes"})
    (stored,) = [r for r in sandbox.fno.rows(lines_set) if all(r[k] == v for k, v in key.items())]
    entity = sandbox.fno.entity(lines_set)
    line_key = ",".join(
        f"{name}='{stored[name]}'" if isinstance(stored[name], str) else f"{name}={stored[name]}"
        for name in entity.keys
    )
    header_key = ",".join(f"{k}='{v}'" for k, v in {"dataAreaId": "usmf", **key}.items())
    _refused(fno.patch(f"{header_set}({header_key})", json={"IsPosted": "No"}), reason)
    _refused(
        fno.patch(
            f"{lines_set}({line_key})",
            json={"Quantity": 5} if "Quantity" in entity.fields else {"InventoryQuantity": 5},
        ),
        reason,
    )
    _refused(
        fno.post(lines_set, json={"dataAreaId": "usmf", **key, **line, "LineNumber": 7}), reason
    )
