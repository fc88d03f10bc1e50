"""Seed part: FS currencies and customer accounts, which work orders and agreement invoices
point at (fs-scm-templates.md sections 2-3, prerequisite "Accounts (Sales to SCM)").

SCM knows a customer only by its account number (no customer entity is in the reference), so
each FS ``accounts`` row carries the SCM CustomerAccount as ``accountnumber`` (P2C's natural
key) and lives in its company's business unit; currencies carry the ISO code SCM uses as
CurrencyCode. Agreements (``msdyn_agreements``) are the origin of agreement invoice lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.sandbox.seed_base import COMPANIES, SeedContext

# (company, account number, name)
_ACCOUNTS = (
    ("usmf", "US-001", "Fabrikam Hospital Group"),
    ("usmf", "US-002", "Northwind Airports"),
    ("demf", "DE-001", "Stadtwerke Nord"),
    ("gbsi", "GB-001", "Litware Offices"),
)
_CURRENCY_NAMES = {"USD": "US Dollar", "EUR": "Euro", "GBP": "Pound Sterling"}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
AGREEMENT_ACTIVE = 690970001


@dataclass
class Customers:
    """FS ids of what later parts link to."""

    accounts: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    currencies: dict[str, str] = field(default_factory=dict)
    agreements: dict[str, str] = field(default_factory=dict)


def seed_customers(context: SeedContext) -> Customers:
    """One currency per company currency, the accounts, and one active agreement per
    company (its first account's)."""
    customers = Customers()
    store = context.sandbox.dataverse
    for company in COMPANIES:
        code = company.currency
        if code in customers.currencies:
            continue
        created = context.moment()
        customers.currencies[code] = store.insert(
            "transactioncurrencies",
            {
                "transactioncurrencyid": context.row_id("transactioncurrency", code),
                "isocurrencycode": code,
                "currencyname": _CURRENCY_NAMES[code],
                "currencysymbol": _SYMBOLS[code],
                "currencyprecision": 2,
                "exchangerate": 1.0,
                "createdon": created,
                "modifiedon": created,
            },
        )
    currency_of = {company.area: company.currency for company in COMPANIES}
    for area, number, name in _ACCOUNTS:
        created = context.moment()
        customers.accounts[number] = store.insert(
            "accounts",
            {
                "accountid": context.row_id("account", number),
                "accountnumber": number,
                "name": name,
                "_transactioncurrencyid_value": customers.currencies[currency_of[area]],
                "_owningbusinessunit_value": context.sandbox.companies[area],
                "createdon": created,
                "modifiedon": created,
            },
        )
        customers.names[number] = name
        if area not in customers.agreements:
            customers.agreements[area] = _agreement(context, area, customers.accounts[number])
    return customers


def _agreement(context: SeedContext, area: str, account_id: str) -> str:
    created = context.moment()
    name = f"AGR-{area.upper()}-0001"
    return context.sandbox.dataverse.insert(
        "msdyn_agreements",
        {
            "msdyn_agreementid": context.row_id("agreement", name),
            "msdyn_name": name,
            "msdyn_systemstatus": AGREEMENT_ACTIVE,
            "msdyn_startdate": "2024-01-01T00:00:00Z",
            "msdyn_enddate": "2024-12-31T00:00:00Z",
            "_msdyn_serviceaccount_value": account_id,
            "_msdyn_billingaccount_value": account_id,
            "_owningbusinessunit_value": context.sandbox.companies[area],
            "createdon": created,
            "modifiedon": created,
        },
    )
