"""Seed part: FS work orders and their SCM sales orders (fs-scm-templates.md section 2,
"Work orders to Sales orders" and phase 2 "Work Orders with Project").

FS: ``msdyn_workorders`` (msdyn_name = the SCM SalesOrderNumber, system status, service account,
currency, externally-maintained flag, external project) with ``msdyn_workorderproducts`` and
``msdyn_workorderservices``. SCM: ``CDSSalesOrderHeaders`` and ``CDSSalesOrderLinesV2``. The
mapping the manifest's ``expected`` values follow:

- header: account number -> Ordering/InvoiceCustomerAccountNumber, currency ISO code ->
  CurrencyCode, system status -> ExternalWorkOrderStatus, origin type WorkOrderIntegration,
  external project's number -> ProjectId ("" without one);
- lines: LineCreationSequenceNumber = line order for products, line order x -1 for services;
  ProductNumber, SalesUnitSymbol (the FS unit's name), ShippingWarehouseId and ShippingSiteId
  (the SCM site of that warehouse; products), ProjectId; OrderedSalesQuantity by the
  template's rule: the estimate while the line is Estimated (products: and allocated) and the
  order is not Posted, otherwise the used quantity (so an unallocated estimate syncs 0); the
  same choice picks SalesPrice (estimated or used unit amount) and LineDiscountAmount
  (estimated or used discount amount). Service quantities are hours (FS durations are
  minutes); the demo catalog has no hour unit, so services are sold in the service product's
  sales unit.

Only orders that are neither Unscheduled nor Canceled and have externally maintained products
only pass the template's filter. Orders with a project each name a project (company + number)
no other seeded work order names, because the project_links rule keys on the project.
Manifest keys ``work_orders.<kind>``; see ``_PLANS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.sandbox.seed_base import SeedContext
from reconciler.sandbox.seed_documents import Links, differences

STATUSES = {
    "Unscheduled": 690970000,
    "Scheduled": 690970001,
    "InProgress": 690970002,
    "Completed": 690970003,
    "Posted": 690970004,
    "Canceled": 690970005,
}
EXTERNAL_STATUS = {
    "Unscheduled": "OpenUnscheduled",
    "Scheduled": "OpenScheduled",
    "InProgress": "OpenInProgress",
    "Completed": "OpenCompleted",
    "Posted": "ClosedPosted",
    "Canceled": "ClosedCanceled",
}
LINE_STATUSES = {"Estimated": 690970000, "Used": 690970001}
FILTERED_STATUSES = ("Unscheduled", "Canceled")


@dataclass(frozen=True)
class LinePlan:
    """One FS line. Products count in their unit, services in hours. The estimate's unit
    amount is the catalog price plus ``estimate_markup``; ``discount`` and
    ``estimate_discount`` are the used and estimated discount amounts. ``scm`` overrides the
    SCM line's fields (``None``: SCM has no such line)."""

    order: int
    product: str
    service: bool = False
    status: str = "Estimated"
    allocated: bool = True
    estimate: float = 0.0
    used: float = 0.0
    warehouse: str = "MAIN"
    estimate_markup: float = 0.0
    discount: float = 0.0
    estimate_discount: float = 0.0
    scm: dict[str, Any] | None = field(default_factory=dict)

    @property
    def sequence(self) -> int:
        """LineCreationSequenceNumber: External Line Order = line order x -1 for services."""
        return -self.order if self.service else self.order


@dataclass(frozen=True)
class WorkOrderPlan:
    """One work order; ``in_scm`` False: SCM has no sales order. ``scm`` overrides header
    fields of the SCM order, ``extra_lines`` are SCM lines FS no longer has."""

    number: str
    kinds: tuple[str, ...]
    lines: tuple[LinePlan, ...]
    status: str = "Scheduled"
    company: str = "usmf"
    account: str = "US-001"
    external: bool = True
    project: str | None = None
    in_scm: bool = True
    scm: dict[str, Any] = field(default_factory=dict)
    invoiced: bool = False
    extra_lines: tuple[LinePlan, ...] = ()
    reason: str | None = None


def _product(order: int, product: str, **values: Any) -> LinePlan:
    return LinePlan(order, product, **values)


def _service(order: int, minutes_estimate: int, minutes_used: int = 0, **values: Any) -> LinePlan:
    return LinePlan(
        order, "P-1009", True, estimate=minutes_estimate / 60, used=minutes_used / 60, **values
    )


_PLANS = (
    WorkOrderPlan(
        "WO-00101",
        ("in_sync",),
        (
            _product(1, "P-1001", estimate=2),
            _product(2, "P-1002", allocated=False, estimate=3),
            _service(1, 120),
        ),
    ),
    WorkOrderPlan(
        "WO-00102",
        ("in_sync",),
        (_product(1, "P-1003", status="Used", estimate=5, used=4), _service(1, 120, 180)),
        status="Completed",
        account="US-002",
    ),
    WorkOrderPlan(
        "WO-00103",
        ("in_sync", "posted"),
        (
            _product(1, "P-1004", status="Used", estimate=6, used=5),
            _product(2, "P-1005", estimate=2),
            _service(1, 60, 60, status="Used"),
        ),
        status="Posted",
    ),
    WorkOrderPlan(
        "WO-00104",
        ("in_sync",),
        (_product(1, "P-1001", status="Used", estimate=1, used=1),),
        status="InProgress",
        company="demf",
        account="DE-001",
    ),
    WorkOrderPlan(
        "WO-00105",
        ("missing",),
        (
            _product(1, "P-1005", estimate=2, estimate_markup=1.25, estimate_discount=3),
            _service(1, 60, estimate_discount=2.5, discount=7),
        ),
        status="InProgress",
        in_scm=False,
    ),
    WorkOrderPlan(
        "WO-00106",
        ("changed_header",),
        (_product(1, "P-1002", status="Used", estimate=2, used=2),),
        status="InProgress",
        scm={"ExternalWorkOrderStatus": "OpenScheduled"},
    ),
    WorkOrderPlan(
        "WO-00107",
        ("changed_line_quantity",),
        (
            _product(
                1, "P-1001", status="Used", estimate=5, used=3, scm={"OrderedSalesQuantity": 5}
            ),
            _product(2, "P-1002", estimate=4, scm={"OrderedSalesQuantity": 0}),
        ),
        status="Completed",
    ),
    WorkOrderPlan(
        "WO-00108",
        ("line_missing",),
        (_product(1, "P-1003", estimate=1), _product(2, "P-1004", estimate=2, scm=None)),
    ),
    WorkOrderPlan(
        "WO-00109",
        ("line_extra",),
        (_product(1, "P-1001", estimate=2),),
        status="InProgress",
        extra_lines=(_product(2, "P-1003", estimate=1),),
    ),
    WorkOrderPlan(
        "WO-00110",
        ("filtered_out",),
        (_product(1, "P-1001", estimate=1),),
        status="Unscheduled",
        in_scm=False,
        reason="unscheduled",
    ),
    WorkOrderPlan(
        "WO-00111",
        ("filtered_out",),
        (_product(1, "P-1002", estimate=1),),
        status="Canceled",
        in_scm=False,
        reason="canceled",
    ),
    WorkOrderPlan(
        "WO-00112",
        ("filtered_out",),
        (_product(1, "P-1001", estimate=1), _product(2, "FS-9001", estimate=2)),
        external=False,
        in_scm=False,
        reason="not_externally_maintained",
    ),
    WorkOrderPlan(
        "WO-00113",
        ("canceled_synced",),
        (_product(1, "P-1003", estimate=2),),
        status="Canceled",
        scm={"ExternalWorkOrderStatus": "OpenScheduled"},
    ),
    WorkOrderPlan(
        "WO-00114",
        ("invoiced_frozen",),
        (
            _product(
                1, "P-1004", status="Used", estimate=3, used=4, scm={"OrderedSalesQuantity": 3}
            ),
        ),
        status="Posted",
        scm={"ExternalWorkOrderStatus": "OpenCompleted"},
        invoiced=True,
    ),
    WorkOrderPlan(
        "WO-00115",
        ("in_sync", "with_project"),
        (_product(1, "P-1002", estimate=2), _service(1, 90, 0)),
        status="InProgress",
        company="demf",
        account="DE-001",
        project="000201",
    ),
    WorkOrderPlan(
        "WO-00116",
        ("missing", "with_project"),
        (_product(1, "P-1001", estimate=1),),
        project="000104",
        in_scm=False,
    ),
    WorkOrderPlan(
        "WO-00117",
        ("changed_line_discount",),
        (  # discounts changed in FS after the order synced; used and estimated prices differ
            _product(
                1,
                "P-1003",
                status="Used",
                estimate=2,
                used=2,
                discount=4.5,
                estimate_discount=1,
                scm={"LineDiscountAmount": 2.0},
            ),
            _product(
                2,
                "P-1004",
                estimate=3,
                estimate_markup=2.5,
                discount=9,
                estimate_discount=1.5,
                scm={"LineDiscountAmount": 0.0},
            ),
            _service(1, 60, estimate_discount=10, scm={"LineDiscountAmount": 0.0}),
        ),
        status="InProgress",
    ),
)


def seed_work_orders(context: SeedContext, links: Links) -> None:
    projects = {
        (entry["company"], entry["project_id"]): entry
        for kind, found in context.manifest.items()
        if kind.startswith("projects.")
        for entry in found
        if entry["fs_id"] is not None
    }
    for plan in _PLANS:
        project = projects[(plan.company, plan.project)] if plan.project else None
        entry = _fs_work_order(context, links, plan, project)
        expected_lines = {line.sequence: _expected_line(links, plan, line) for line in plan.lines}
        scm_header: dict[str, Any] | None = None
        scm_lines: dict[int, dict[str, Any]] = {}
        if plan.in_scm:
            scm_header, scm_lines = _scm_order(context, links, plan, entry["expected"])
        entry["scm"] = scm_header
        entry["lines"] = [
            _line_entry(context, plan, line, expected_lines, scm_lines) for line in plan.lines
        ]
        entry.update(differences(entry["expected"], scm_header, expected_lines, scm_lines))
        for kind in plan.kinds:
            context.record(f"work_orders.{kind}", dict(entry))


def quantity_rule(plan: WorkOrderPlan, line: LinePlan) -> str:
    """Which FS quantity the template sends: "estimated" or "used" (section 2, Rules)."""
    open_estimate = line.status == "Estimated" and plan.status != "Posted"
    if open_estimate and (line.service or line.allocated):
        return "estimated"
    return "used"


def _expected_header(links: Links, plan: WorkOrderPlan) -> dict[str, Any]:
    return {
        "OrderingCustomerAccountNumber": plan.account,
        "InvoiceCustomerAccountNumber": plan.account,
        "CurrencyCode": _currency(plan),
        "ExternalWorkOrderStatus": EXTERNAL_STATUS[plan.status],
        "SalesOrderOriginType": "WorkOrderIntegration",
        "ProjectId": plan.project or "",
    }


def _currency(plan: WorkOrderPlan) -> str:
    return {"usmf": "USD", "demf": "EUR", "gbsi": "GBP"}[plan.company]


def _expected_line(links: Links, plan: WorkOrderPlan, line: LinePlan) -> dict[str, Any]:
    estimated = quantity_rule(plan, line) == "estimated"
    quantity = line.estimate if estimated else line.used
    spec = links.catalog.products.get(line.product)
    return {
        "ProductNumber": line.product,
        "OrderedSalesQuantity": float(round(quantity, 2)),
        "SalesUnitSymbol": spec.sales_unit if spec else "ea",
        "SalesPrice": _estimate_price(links, line) if estimated else links.price(line.product),
        "LineDiscountAmount": float(line.estimate_discount if estimated else line.discount),
        "ShippingWarehouseId": "" if line.service else line.warehouse,
        "ShippingSiteId": "" if line.service else links.site(plan.company, line.warehouse),
        "ProjectId": plan.project or "",
    }


def _estimate_price(links: Links, line: LinePlan) -> float:
    return round(links.price(line.product) + line.estimate_markup, 2)


def _fs_work_order(
    context: SeedContext, links: Links, plan: WorkOrderPlan, project: dict[str, Any] | None
) -> dict[str, Any]:
    store = context.sandbox.dataverse
    unit = context.sandbox.companies[plan.company]
    status = STATUSES[plan.status]
    created = context.moment()
    currency = links.customers.currencies[_currency(plan)]
    workorder_id = store.insert(
        "msdyn_workorders",
        {
            "msdyn_workorderid": context.row_id("workorder", plan.number),
            "msdyn_name": plan.number,
            "msdyn_systemstatus": status,
            "msdyn_workordersummary": f"Service visit {plan.number}",
            "msdynce_hasexternallymaintainedproductsonly": plan.external,
            "msdynce_headersystemstatus": status,
            "_msdyn_serviceaccount_value": links.customers.accounts[plan.account],
            "_msdyn_billingaccount_value": links.customers.accounts[plan.account],
            "_transactioncurrencyid_value": currency,
            "_msdynce_externalproject_value": project["fs_id"] if project else None,
            "_owningbusinessunit_value": unit,
            "createdon": created,
            "modifiedon": created,
        },
    )
    for line in plan.lines:
        _fs_line(context, links, plan, line, workorder_id, currency)
    return {
        "company": plan.company,
        "work_order": plan.number,
        "workorder_id": workorder_id,
        "system_status": status,
        "system_status_name": plan.status,
        "externally_maintained": plan.external,
        "customer_account": plan.account,
        "currency": _currency(plan),
        "project_id": plan.project,
        "external_project_id": project["fs_id"] if project else None,
        "passes_filter": plan.external and plan.status not in FILTERED_STATUSES,
        "reason": plan.reason,
        "invoiced": plan.invoiced,
        "expected": _expected_header(links, plan),
    }


def _fs_line(
    context: SeedContext,
    links: Links,
    plan: WorkOrderPlan,
    line: LinePlan,
    workorder_id: str,
    currency: str,
) -> None:
    spec = links.catalog.products.get(line.product)
    unit = links.catalog.fs_units[spec.sales_unit if spec else "ea"]
    price = links.price(line.product)
    common = {
        "msdyn_name": links.product_name(line.product),
        "_msdyn_workorder_value": workorder_id,
        "_msdyn_unit_value": unit,
        "msdyn_linestatus": LINE_STATUSES[line.status],
        "msdyn_lineorder": line.order,
        "msdyn_unitamount": price,
        "msdyn_estimateunitamount": _estimate_price(links, line),
        # FS leaves a discount empty when there is none (SCM's amount is 0 then)
        "msdyn_discountamount": float(line.discount) or None,
        "msdyn_estimatediscountamount": float(line.estimate_discount) or None,
        "msdynce_headersystemstatus": STATUSES[plan.status],
        "msdynce_orderhasexternalmaintainedproductsonly": plan.external,
        "_transactioncurrencyid_value": currency,
        "_owningbusinessunit_value": context.sandbox.companies[plan.company],
    }
    created = context.moment()
    common.update(createdon=created, modifiedon=created)
    product = links.catalog.fs_products.get(line.product) or _fs_only_product(context, line)
    if line.service:
        context.sandbox.dataverse.insert(
            "msdyn_workorderservices",
            {
                **common,
                "msdyn_workorderserviceid": fs_line_id(context, plan, line),
                "_msdyn_service_value": product,
                "msdyn_estimateduration": round(line.estimate * 60),
                "msdyn_duration": round(line.used * 60),
                "msdyn_durationtobill": round(line.used * 60),
            },
        )
        return
    context.sandbox.dataverse.insert(
        "msdyn_workorderproducts",
        {
            **common,
            "msdyn_workorderproductid": fs_line_id(context, plan, line),
            "_msdyn_product_value": product,
            "_msdyn_warehouse_value": links.fs_warehouse(plan.company, line.warehouse),
            "msdyn_allocated": line.allocated,
            "msdyn_estimatequantity": float(line.estimate),
            "msdyn_quantity": float(line.used),
            "msdyn_qtytobill": float(line.used),
        },
    )


def fs_line_id(context: SeedContext, plan: WorkOrderPlan, line: LinePlan) -> str:
    kind = "workorderservice" if line.service else "workorderproduct"
    return context.row_id(kind, plan.number, str(line.order))


def _fs_only_product(context: SeedContext, line: LinePlan) -> str:
    """A product FS has but SCM never released (the catalog's ``products.fs_only``)."""
    for entry in context.manifest.get("products.fs_only", []):
        if entry["product_number"] == line.product:
            return str(entry["fs_id"])
    raise KeyError(line.product)


def _scm_order(
    context: SeedContext, links: Links, plan: WorkOrderPlan, expected: dict[str, Any]
) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    header = {
        **expected,
        **plan.scm,
        "dataAreaId": plan.company,
        "SalesOrderNumber": plan.number,
        "SalesOrderName": links.customers.names[plan.account],
        "SalesOrderStatus": "Invoiced" if plan.invoiced else "Backorder",
        "SalesOrderProcessingStatus": "Invoiced" if plan.invoiced else "Active",
    }
    context.sandbox.fno.insert("CDSSalesOrderHeaders", header)
    lines: dict[int, dict[str, Any]] = {}
    for line in (*plan.lines, *plan.extra_lines):
        if line.scm is None:
            continue
        row = {**_expected_line(links, plan, line), **line.scm}
        lines[line.sequence] = row
        context.sandbox.fno.insert(
            "CDSSalesOrderLinesV2",
            {
                **row,
                "dataAreaId": plan.company,
                "SalesOrderNumber": plan.number,
                "LineCreationSequenceNumber": line.sequence,
                "LineDescription": links.product_name(line.product),
                "CurrencyCode": _currency(plan),
                "SalesOrderLineStatus": header["SalesOrderStatus"],
                "SalesOrderOriginType": "WorkOrderIntegration",
            },
        )
    mapped = {name: header[name] for name in expected}
    return mapped, lines


def _line_entry(
    context: SeedContext,
    plan: WorkOrderPlan,
    line: LinePlan,
    expected_lines: dict[int, dict[str, Any]],
    scm_lines: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    expected = expected_lines[line.sequence]
    scm = scm_lines.get(line.sequence)
    return {
        "line": line.sequence,
        "line_order": line.order,
        "fs_id": fs_line_id(context, plan, line),
        "type": "service" if line.service else "product",
        "product_number": line.product,
        "line_status": line.status,
        "allocated": None if line.service else line.allocated,
        "estimate": float(line.estimate),
        "used": float(line.used),
        "rule": quantity_rule(plan, line),
        "expected_quantity": expected["OrderedSalesQuantity"],
        "scm_quantity": None if scm is None else scm["OrderedSalesQuantity"],
        "expected_price": expected["SalesPrice"],
        "expected_discount": expected["LineDiscountAmount"],
        "scm_discount": None if scm is None else scm["LineDiscountAmount"],
        "unit": expected["SalesUnitSymbol"],
        "warehouse_id": expected["ShippingWarehouseId"] or None,
        "site_id": expected["ShippingSiteId"] or None,
    }
