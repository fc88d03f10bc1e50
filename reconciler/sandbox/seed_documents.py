"""What the FS -> SCM seed parts share: FS ids and SCM sites they link to, and the manifest
entry of one document, whose ``differences`` are computed from what was seeded on each side
rather than declared, so an entry can never claim a drift the data lacks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.seed_base import SeedContext
from reconciler.sandbox.seed_catalog import Catalog
from reconciler.sandbox.seed_customers import Customers
from reconciler.sandbox.seed_onhand import WarehouseIndex, warehouse_index

Lines = Mapping[int, Mapping[str, Any]]


@dataclass(frozen=True)
class Links:
    """Everything an FS document row may point at, and SCM's site per warehouse."""

    catalog: Catalog
    customers: Customers
    warehouses: WarehouseIndex

    def fs_warehouse(self, company: str, warehouse: str) -> str:
        return self.warehouses.fs[(company, warehouse)][0]

    def site(self, company: str, warehouse: str) -> str:
        return self.warehouses.sites[(company, warehouse)]

    def product_name(self, number: str) -> str:
        return self.catalog.products[number].name if number in self.catalog.products else number

    def price(self, number: str) -> float:
        return self.catalog.prices[number][0] if number in self.catalog.prices else 1.0


def links(context: SeedContext, catalog: Catalog, customers: Customers) -> Links:
    return Links(catalog, customers, warehouse_index(context))


def differences(
    expected: Mapping[str, Any] | None,
    scm: Mapping[str, Any] | None,
    expected_lines: Lines,
    scm_lines: Lines,
) -> dict[str, Any]:
    """Mapped fields whose SCM value is not what the template would write, and the lines only
    one side has (line numbers as the SCM line key holds them)."""
    changed: list[dict[str, Any]] = []
    if expected is not None and scm is not None:
        changed += _changed(None, expected, scm)
        for number in sorted(set(expected_lines) & set(scm_lines)):
            changed += _changed(number, expected_lines[number], scm_lines[number])
    present = scm is not None
    return {
        "differences": changed,
        "missing_lines": sorted(set(expected_lines) - set(scm_lines)) if present else [],
        "extra_lines": sorted(set(scm_lines) - set(expected_lines)) if present else [],
    }


def _changed(
    line: int | None, expected: Mapping[str, Any], scm: Mapping[str, Any]
) -> list[dict[str, Any]]:
    return [
        {"line": line, "field": name, "expected": value, "scm": scm.get(name)}
        for name, value in expected.items()
        if scm.get(name) != value
    ]


def scm_date(day: str) -> str:
    """A date-only F&O value (``YYYY-MM-DDT12:00:00Z``, schemas README)."""
    return f"{day}T12:00:00Z"


def fs_date(day: str) -> str:
    return f"{day}T00:00:00Z"
