"""Seed part: FS agreement invoices and SCM free text invoices (fs-scm-templates.md
section 3, "Agreement invoices (Field Service to Supply Chain Management)").

FS: ``invoices`` (invoicenumber = the SCM ExternalInvoiceId, customer account, currency,
msdyn_invoicedate, "Has Lines With Agreement Origin") and ``invoicedetails`` (lineitemnumber =
the SCM LineNumber, product, quantity, price per unit, "Has Agreement Origin", agreement).
SCM: ``CDSFreeTextInvoiceHeaders`` / ``CDSFreeTextInvoiceLines``. The mapping the manifest's
``expected`` values follow: account number -> CustomerAccount and InvoiceAccount, invoice date
-> InvoiceDate (date only), ISO code -> CurrencyCode, InvoiceOriginType
AgreementInvoiceIntegration; lines: product name -> Description, Quantity, UnitPrice,
TransactionCurrencyAmount (quantity x price), MainAccountDisplayValue 401100 (the template's
default). Manifest keys ``agreement_invoices.<kind>``; see ``_PLANS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.sandbox.seed_base import SeedContext
from reconciler.sandbox.seed_documents import Links, differences, fs_date, scm_date

MAIN_ACCOUNT = "401100"
_CURRENCIES = {"usmf": "USD", "demf": "EUR", "gbsi": "GBP"}


@dataclass(frozen=True)
class InvoiceLinePlan:
    """One FS line; ``scm`` overrides the SCM line (None: SCM has no such line)."""

    number: int
    product: str
    quantity: float
    scm: dict[str, Any] | None = field(default_factory=dict)


@dataclass(frozen=True)
class InvoicePlan:
    number: str
    kinds: tuple[str, ...]
    lines: tuple[InvoiceLinePlan, ...]
    company: str = "usmf"
    account: str = "US-001"
    invoice_date: str | None = "2024-02-01"
    agreement: bool = True
    in_scm: bool = True
    scm: dict[str, Any] = field(default_factory=dict)
    posted: bool = False
    extra_lines: tuple[InvoiceLinePlan, ...] = ()
    reason: str | None = None


def _line(number: int, product: str, quantity: float, **values: Any) -> InvoiceLinePlan:
    return InvoiceLinePlan(number, product, quantity, **values)


_PLANS = (
    InvoicePlan("INV-00101", ("in_sync",), (_line(1, "P-1009", 1), _line(2, "P-1008", 4))),
    InvoicePlan(
        "INV-00102", ("in_sync",), (_line(1, "P-1009", 2),), company="demf", account="DE-001"
    ),
    InvoicePlan("INV-00103", ("missing",), (_line(1, "P-1009", 1),), in_scm=False),
    InvoicePlan(
        "INV-00104",
        ("changed_header",),
        (_line(1, "P-1009", 1),),
        invoice_date="2024-02-15",
        scm={"InvoiceDate": scm_date("2024-02-01")},
    ),
    InvoicePlan(
        "INV-00105",
        ("changed_line_quantity",),
        (_line(1, "P-1009", 3, scm={"Quantity": 2.0}), _line(2, "P-1008", 1)),
        account="US-002",
    ),
    InvoicePlan(
        "INV-00106",
        ("line_missing",),
        (_line(1, "P-1009", 1), _line(2, "P-1008", 2, scm=None)),
    ),
    InvoicePlan(
        "INV-00107",
        ("line_extra",),
        (_line(1, "P-1009", 1),),
        extra_lines=(_line(2, "P-1008", 5),),
    ),
    InvoicePlan(
        "INV-00108",
        ("filtered_out",),
        (_line(1, "P-1001", 2),),
        agreement=False,
        in_scm=False,
        reason="no_agreement_origin",
    ),
    InvoicePlan(
        "INV-00109", ("no_invoice_date",), (_line(1, "P-1009", 1),), invoice_date=None, in_scm=False
    ),
    InvoicePlan(
        "INV-00110",
        ("posted_frozen",),
        (_line(1, "P-1009", 2, scm={"Quantity": 1.0}),),
        posted=True,
    ),
)


def seed_agreement_invoices(context: SeedContext, links: Links) -> None:
    for plan in _PLANS:
        entry = _fs_invoice(context, links, plan)
        expected_lines = {line.number: _expected_line(links, line) for line in plan.lines}
        scm_header: dict[str, Any] | None = None
        scm_lines: dict[int, dict[str, Any]] = {}
        if plan.in_scm:
            scm_header, scm_lines = _scm_invoice(context, links, plan, entry["expected"])
        entry["scm"] = scm_header
        entry["lines"] = [
            {
                "line": line.number,
                "fs_id": _line_id(context, plan, line),
                "product_number": line.product,
                "expected_quantity": expected_lines[line.number]["Quantity"],
                "scm_quantity": scm_lines[line.number]["Quantity"]
                if line.number in scm_lines
                else None,
            }
            for line in plan.lines
        ]
        entry.update(differences(entry["expected"], scm_header, expected_lines, scm_lines))
        for kind in plan.kinds:
            context.record(f"agreement_invoices.{kind}", dict(entry))


def _expected_header(plan: InvoicePlan) -> dict[str, Any]:
    return {
        "CustomerAccount": plan.account,
        "InvoiceAccount": plan.account,
        "InvoiceDate": scm_date(plan.invoice_date) if plan.invoice_date else None,
        "CurrencyCode": _CURRENCIES[plan.company],
        "InvoiceOriginType": "AgreementInvoiceIntegration",
    }


def _expected_line(
    links: Links, line: InvoiceLinePlan, quantity: float | None = None
) -> dict[str, Any]:
    """The SCM line the template writes (for ``quantity``, default the FS line's)."""
    price = links.price(line.product)
    quantity = float(line.quantity if quantity is None else quantity)
    return {
        "Description": links.product_name(line.product),
        "Quantity": quantity,
        "UnitPrice": price,
        "TransactionCurrencyAmount": round(quantity * price, 2),
        "MainAccountDisplayValue": MAIN_ACCOUNT,
    }


def _line_id(context: SeedContext, plan: InvoicePlan, line: InvoiceLinePlan) -> str:
    return context.row_id("invoicedetail", plan.number, str(line.number))


def _fs_invoice(context: SeedContext, links: Links, plan: InvoicePlan) -> dict[str, Any]:
    store = context.sandbox.dataverse
    unit = context.sandbox.companies[plan.company]
    currency = links.customers.currencies[_CURRENCIES[plan.company]]
    total = sum(round(line.quantity * links.price(line.product), 2) for line in plan.lines)
    created = context.moment()
    invoice_id = store.insert(
        "invoices",
        {
            "invoiceid": context.row_id("invoice", plan.number),
            "invoicenumber": plan.number,
            "name": f"Agreement invoice {plan.number}",
            "_customerid_value": links.customers.accounts[plan.account],
            "_transactioncurrencyid_value": currency,
            "msdyn_invoicedate": fs_date(plan.invoice_date) if plan.invoice_date else None,
            "msdynce_haslineswithagreementorigin": plan.agreement,
            "totallineitemamount": round(total, 2),
            "totalamount": round(total, 2),
            "_owningbusinessunit_value": unit,
            "createdon": created,
            "modifiedon": created,
        },
        {"_customerid_value": "accounts"},
    )
    for line in plan.lines:
        _fs_line(context, links, plan, line, invoice_id, currency)
    return {
        "company": plan.company,
        "invoice_number": plan.number,
        "invoice_id": invoice_id,
        "customer_account": plan.account,
        "currency": _CURRENCIES[plan.company],
        "invoice_date": plan.invoice_date,
        "agreement_origin": plan.agreement,
        "passes_filter": plan.agreement,
        "reason": plan.reason,
        "posted": plan.posted,
        "expected": _expected_header(plan),
    }


def _fs_line(
    context: SeedContext,
    links: Links,
    plan: InvoicePlan,
    line: InvoiceLinePlan,
    invoice_id: str,
    currency: str,
) -> None:
    spec = links.catalog.products.get(line.product)
    price = links.price(line.product)
    amount = round(line.quantity * price, 2)
    created = context.moment()
    context.sandbox.dataverse.insert(
        "invoicedetails",
        {
            "invoicedetailid": _line_id(context, plan, line),
            "_invoiceid_value": invoice_id,
            "lineitemnumber": line.number,
            "sequencenumber": line.number,
            "_productid_value": links.catalog.fs_products[line.product],
            "_uomid_value": links.catalog.fs_units[spec.sales_unit if spec else "ea"],
            "description": links.product_name(line.product),
            "quantity": float(line.quantity),
            "priceperunit": price,
            "baseamount": amount,
            "extendedamount": amount,
            "msdynce_hasagreementorigin": plan.agreement,
            "_msdyn_agreement_value": links.customers.agreements[plan.company]
            if plan.agreement
            else None,
            "_transactioncurrencyid_value": currency,
            "_owningbusinessunit_value": context.sandbox.companies[plan.company],
            "createdon": created,
            "modifiedon": created,
        },
    )


def _scm_invoice(
    context: SeedContext, links: Links, plan: InvoicePlan, expected: dict[str, Any]
) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    header = {
        **expected,
        **plan.scm,
        "dataAreaId": plan.company,
        "ExternalInvoiceId": plan.number,
        "DocumentDate": expected["InvoiceDate"],
        "IsPosted": "Yes" if plan.posted else "No",
    }
    context.sandbox.fno.insert("CDSFreeTextInvoiceHeaders", header)
    lines: dict[int, dict[str, Any]] = {}
    for line in (*plan.lines, *plan.extra_lines):
        if line.scm is None:
            continue
        quantity = float(line.scm.get("Quantity", line.quantity))
        row = {**_expected_line(links, line, quantity), **line.scm}
        lines[line.number] = row
        context.sandbox.fno.insert(
            "CDSFreeTextInvoiceLines",
            {
                **row,
                "dataAreaId": plan.company,
                "ExternalInvoiceId": plan.number,
                "LineNumber": line.number,
            },
        )
    return {name: header[name] for name in expected}, lines
