"""Deterministic seed worlds with planted drift.

``demo`` (``warehouses_per_company`` scales its warehouse bulk): three legal entities (usmf,
demf, gbsi), one FS business unit per company under a root that maps to no company,
operational sites, and for each flow a small world where most rows agree and every drift
kind appears at least once: warehouses (seed_warehouses.py), units and products
(seed_catalog.py), on-hand (seed_onhand.py), projects and work orders (seed_projects.py);
then the FS -> SCM flows: customers and currencies (seed_customers.py), work orders with
their sales orders (seed_work_orders.py), agreement invoices with their free text invoices
(seed_invoices.py) and (unless ``inventory_journals=False``) FS adjustments and transfers with
their SCM journals (seed_journals.py). Those FS rows share msdyn_inventoryadjustmentproducts
with the adjustments the on-hand flow posts (told apart by the documents they belong to).

``bulk`` (``onhand_rows``, ``products``): the same organisation and units, then a large
agreeing catalog and on-hand table with about 1% drift, for benchmarks (seed_bulk.py).

What was planted is returned in ``sandbox.seed_manifest`` so tests need no hard-coded lists:
the warehouse kinds under their bare names, the others as ``<flow>.<kind>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.sandbox.seed_base import SeedContext, organisation
from reconciler.sandbox.seed_bulk import DEFAULT_ONHAND_ROWS, DEFAULT_PRODUCTS, seed_bulk
from reconciler.sandbox.seed_catalog import demo_products, seed_products, seed_units
from reconciler.sandbox.seed_customers import seed_customers
from reconciler.sandbox.seed_documents import links
from reconciler.sandbox.seed_invoices import seed_agreement_invoices
from reconciler.sandbox.seed_journals import seed_inventory_journals
from reconciler.sandbox.seed_onhand import seed_onhand
from reconciler.sandbox.seed_projects import seed_projects
from reconciler.sandbox.seed_warehouses import seed_warehouses
from reconciler.sandbox.seed_work_orders import seed_work_orders

if TYPE_CHECKING:
    from reconciler.sandbox.world import Sandbox

SEEDS = ("demo", "bulk")
DEFAULT_BULK = 6


def populate_seed(
    sandbox: Sandbox,
    name: str = "demo",
    *,
    seed: int = 7,
    warehouses_per_company: int | None = None,
    onhand_rows: int | None = None,
    products: int | None = None,
    inventory_journals: bool | None = None,
) -> None:
    """Fill an empty Sandbox with the named seed world."""
    if name not in SEEDS:
        raise ValueError(f"unknown seed {name!r}; known seeds: {', '.join(SEEDS)}")
    context = SeedContext(sandbox, name, seed)
    if name == "bulk":
        if warehouses_per_company is not None or inventory_journals:
            raise ValueError(
                "warehouses_per_company and inventory_journals apply to the 'demo' seed"
            )
        organisation(context)
        seed_bulk(
            context,
            DEFAULT_ONHAND_ROWS if onhand_rows is None else onhand_rows,
            DEFAULT_PRODUCTS if products is None else products,
        )
    else:
        if onhand_rows is not None or products is not None:
            raise ValueError("onhand_rows and products apply to the 'bulk' seed")
        bulk = DEFAULT_BULK if warehouses_per_company is None else warehouses_per_company
        _demo(context, bulk, inventory_journals is not False)
    sandbox.seed_manifest = context.manifest


def _demo(context: SeedContext, bulk: int, inventory_journals: bool) -> None:
    """Warehouses first, on their own random stream, so that their drift never changes when
    later parts are added; each later part forks its own stream."""
    if bulk < 0:
        raise ValueError("warehouses_per_company must not be negative")
    organisation(context)
    seed_warehouses(context, bulk)
    catalog = seed_units(context.fork("units"))
    seed_products(context.fork("products"), catalog, demo_products(context.fork("names")))
    seed_onhand(context.fork("onhand"), catalog)
    seed_projects(context.fork("projects"))
    linked = links(context, catalog, seed_customers(context.fork("customers")))
    seed_work_orders(context.fork("work_orders"), linked)
    seed_agreement_invoices(context.fork("agreement_invoices"), linked)
    if inventory_journals:
        seed_inventory_journals(context.fork("inventory_journals"), linked)
