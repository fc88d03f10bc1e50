"""Deterministic seed worlds with planted drift.

``demo`` has three legal entities (usmf, demf, gbsi), one FS business unit per company under
a root that maps to no company, operational sites, and warehouses on both sides where most
rows agree and every drift kind the warehouses rule must handle appears at least once:

1. in sync (the bulk; ``warehouses_per_company`` scales it for paging tests);
2. missing in FS; 3. FS description differs from the SCM name;
4. FS orphan (externally maintained, absent in SCM); 5. FS-only and not externally
   maintained (legitimate, not drift); 6. key differing only by case/trailing blank
   (``WH-01`` vs ``wh-01 ``, not drift); 7. apostrophe keys (``O'BRIEN`` missing in FS,
   ``D'ARCY`` with a changed description); 8. one warehouse id in two companies, each in its
   own business unit, one of them changed, and another id that FS has for usmf only.

What was planted is returned in ``sandbox.seed_manifest`` so tests need no hard-coded lists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from reconciler.sandbox.dataverse_store import format_timestamp
from reconciler.sandbox.ids import derived_id

if TYPE_CHECKING:
    from reconciler.sandbox.world import Sandbox

SEEDS = ("demo",)
DEFAULT_BULK = 6
_EPOCH = datetime(2024, 1, 15, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Company:
    area: str
    legal_name: str
    country: str
    language: str
    cities: tuple[str, ...]
    prefix: str

    @property
    def business_unit(self) -> str:
        return f"Contoso {self.area.upper()}"


COMPANIES = (
    Company(
        "usmf",
        "Contoso Entertainment System USA",
        "USA",
        "en-us",
        ("Seattle", "Redmond", "Portland", "Chicago", "Dallas", "Atlanta"),
        "",
    ),
    Company(
        "demf",
        "Contoso Entertainment System Germany",
        "DEU",
        "de",
        ("Berlin", "Hamburg", "Munich", "Frankfurt", "Cologne"),
        "DE-",
    ),
    Company(
        "gbsi",
        "Contoso Entertainment System UK",
        "GBR",
        "en-gb",
        ("London", "Manchester", "Leeds", "Bristol", "Glasgow"),
        "GB-",
    ),
)
_KINDS = ("warehouse", "distribution center", "service depot", "parts store", "cross-dock")


@dataclass
class _Plan:
    """One warehouse to create: SCM side (``scm_name``) and/or FS side (``fs_name``...)."""

    company: Company
    warehouse_id: str
    scm_name: str | None
    fs_name: str | None = None
    fs_description: str | None = None
    maintained_externally: bool = True
    kinds: tuple[str, ...] = ()


class _Generator:
    def __init__(self, sandbox: Sandbox, name: str, seed: int) -> None:
        self.sandbox = sandbox
        self.name = name
        self.seed = seed
        self.rng = random.Random(f"{name}:{seed}")
        self.manifest: dict[str, list[dict[str, Any]]] = {}
        self.sequence = 0

    def moment(self) -> str:
        """A reproducible timestamp after the epoch."""
        self.sequence += 1
        minutes = self.sequence * 7 + self.rng.randrange(5)
        return format_timestamp(_EPOCH + timedelta(minutes=minutes))

    def warehouse_name(self, company: Company) -> str:
        return f"{self.rng.choice(company.cities)} {self.rng.choice(_KINDS)}"

    def record(self, kind: str, entry: dict[str, Any]) -> None:
        self.manifest.setdefault(kind, []).append(entry)


def populate_seed(
    sandbox: Sandbox,
    name: str = "demo",
    *,
    seed: int = 7,
    warehouses_per_company: int | None = None,
) -> None:
    """Fill an empty Sandbox with the named seed world."""
    if name not in SEEDS:
        raise ValueError(f"unknown seed {name!r}; known seeds: {', '.join(SEEDS)}")
    bulk = DEFAULT_BULK if warehouses_per_company is None else warehouses_per_company
    if bulk < 0:
        raise ValueError("warehouses_per_company must not be negative")
    generator = _Generator(sandbox, name, seed)
    _organisation(generator)
    for company in COMPANIES:
        plans = [*_bulk(generator, company, bulk), *_drift(generator, company)]
        for plan in plans:
            _create(generator, plan)
    sandbox.seed_manifest = generator.manifest


def _organisation(generator: _Generator) -> None:
    """Legal entities, sites, the root business unit and one business unit per company."""
    sandbox = generator.sandbox
    root = sandbox.dataverse.root_business_unit_id()
    if root is not None:
        sandbox.dataverse.update("businessunits", root, {"name": "Contoso"})
    for company in COMPANIES:
        sandbox.fno.insert(
            "LegalEntities",
            {
                "LegalEntityId": company.area.upper(),
                "Name": company.legal_name,
                "CompanyName": company.legal_name,
                "AddressCountryRegionId": company.country,
                "LanguageId": company.language,
            },
        )
        for site in ("1", "2", "3"):
            sandbox.fno.insert(
                "OperationalSites",
                {"dataAreaId": company.area, "SiteId": site, "SiteName": f"Site {site}"},
            )
        unit_id = derived_id("businessunit", generator.name, company.area)
        sandbox.dataverse.insert(
            "businessunits",
            {
                "businessunitid": unit_id,
                "name": company.business_unit,
                "_parentbusinessunitid_value": root,
                "createdon": generator.moment(),
            },
        )
        sandbox.companies[company.area] = unit_id


def _bulk(generator: _Generator, company: Company, count: int) -> list[_Plan]:
    plans = []
    for index in range(count):
        name = generator.warehouse_name(company)
        warehouse_id = f"{company.prefix}{11 + index}"
        plans.append(_Plan(company, warehouse_id, name, warehouse_id, name))
    return plans


def _drift(generator: _Generator, company: Company) -> list[_Plan]:
    """Planted differences; usmf carries most kinds, demf the cross-company ones."""
    name = generator.warehouse_name
    c = company
    if c.area == "usmf":
        changed = name(c)
        return [
            _Plan(c, "O'BRIEN", name(c), kinds=("missing_in_fs", "apostrophe_key")),
            _Plan(c, "NEW-24", name(c), kinds=("missing_in_fs",)),
            _Plan(
                c,
                "D'ARCY",
                changed,
                "D'ARCY",
                changed + " (old)",
                kinds=("description_differs", "apostrophe_key"),
            ),
            _Plan(
                c, "WH-01", "Main warehouse", "wh-01 ", "Main warehouse", kinds=("key_case_space",)
            ),
            _Plan(c, "OLD-05", None, "OLD-05", "Closed depot", kinds=("fs_orphan",)),
            _Plan(
                c,
                "VAN-07",
                None,
                "VAN-07",
                "Service van 7",
                maintained_externally=False,
                kinds=("fs_not_maintained_externally",),
            ),
            _shared(c, "MAIN", "Main site", "Main site", ("in_sync",)),
            _shared(c, "SPARE", "Spare parts", "Spare parts", ("in_sync",)),
        ]
    if c.area == "demf":
        return [
            _shared(c, "MAIN", "Hauptlager", "Main site", ("description_differs",)),
            _shared(c, "SPARE", "Ersatzteile", None, ("missing_in_fs",)),
            _Plan(c, "ALT-99", None, "ALT-99", "Old Hamburg depot", kinds=("fs_orphan",)),
        ]
    return [_Plan(c, "GB-NEW", name(c), kinds=("missing_in_fs",))]


def _shared(
    company: Company,
    warehouse_id: str,
    scm_name: str,
    fs_description: str | None,
    kinds: tuple[str, ...],
) -> _Plan:
    """A warehouse id that exists in usmf and demf (drift kind 8)."""
    fs_name = warehouse_id if fs_description is not None else None
    return _Plan(
        company,
        warehouse_id,
        scm_name,
        fs_name,
        fs_description,
        kinds=(*kinds, "same_id_two_companies"),
    )


def _create(generator: _Generator, plan: _Plan) -> None:
    sandbox = generator.sandbox
    company = plan.company
    entry: dict[str, Any] = {"company": company.area, "warehouse_id": plan.warehouse_id}
    if plan.scm_name is not None:
        sandbox.fno.insert("Warehouses", _scm_row(generator, plan, plan.scm_name))
        entry["scm_name"] = plan.scm_name
    if plan.fs_name is not None:
        entry.update(_fs_row(generator, plan, plan.fs_name))
    for kind in plan.kinds or ("in_sync",):
        generator.record(kind, dict(entry))


def _scm_row(generator: _Generator, plan: _Plan, name: str) -> dict[str, Any]:
    company = plan.company
    first = plan.warehouse_id == f"{company.prefix}11"
    return {
        "dataAreaId": company.area,
        "WarehouseId": plan.warehouse_id,
        "WarehouseName": name,
        "OperationalSiteId": generator.rng.choice(("1", "2", "3")),
        "WarehouseType": "Standard",
        "IsFallbackWarehouse": "Yes" if first else "No",
        "IsRetailStoreWarehouse": "No",
        "AreAdvancedWarehouseManagementProcessesEnabled": generator.rng.choice(("Yes", "No")),
        "PrimaryAddressCity": name.split(" ")[0],
        "PrimaryAddressCountryRegionId": company.country,
    }


def _fs_row(generator: _Generator, plan: _Plan, fs_name: str) -> dict[str, Any]:
    sandbox = generator.sandbox
    company = plan.company
    created = generator.moment()
    row_id = derived_id(
        "msdyn_warehouse", generator.name, str(generator.seed), company.area, fs_name
    )
    sandbox.dataverse.insert(
        "msdyn_warehouses",
        {
            "msdyn_warehouseid": row_id,
            "msdyn_name": fs_name,
            "msdyn_description": plan.fs_description,
            "_owningbusinessunit_value": sandbox.companies[company.area],
            "msdynce_ismaintainedexternally": plan.maintained_externally,
            "statecode": 0,
            "statuscode": 1,
            "createdon": created,
            "modifiedon": created,
        },
    )
    return {"fs_id": row_id, "fs_name": fs_name, "fs_description": plan.fs_description}
