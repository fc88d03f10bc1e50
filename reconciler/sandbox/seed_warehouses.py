"""Seed part: warehouses on both sides (fs-scm-templates.md section 4).

Most rows agree (``warehouses_per_company`` scales that bulk for paging tests) and every drift
kind the warehouses rule must handle appears at least once:

1. in sync; 2. missing in FS; 3. FS description differs from the SCM name;
4. FS orphan (externally maintained, absent in SCM); 5. FS-only and not externally
   maintained (legitimate, not drift); 6. key differing only by case/trailing blank
   (``WH-01`` vs ``wh-01 ``, not drift); 7. apostrophe keys (``O'BRIEN`` missing in FS,
   ``D'ARCY`` with a changed description); 8. one warehouse id in two companies, each in its
   own business unit, one of them changed, and another id that FS has for usmf only.

Manifest keys are the bare kind names (``in_sync``, ``missing_in_fs``, ...), as they were
before other parts joined the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from reconciler.sandbox.ids import derived_id
from reconciler.sandbox.seed_base import COMPANIES, Company, SeedContext

_KINDS = ("warehouse", "distribution center", "service depot", "parts store", "cross-dock")


def _warehouse_name(generator: SeedContext, company: Company) -> str:
    return f"{generator.rng.choice(company.cities)} {generator.rng.choice(_KINDS)}"


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


def seed_warehouses(generator: SeedContext, bulk: int) -> None:
    """Runs on the seed's root random stream and clock, exactly as before the other parts
    existed, so warehouse names, ids and timestamps stay what tests already rely on."""
    for company in COMPANIES:
        plans = [*_bulk(generator, company, bulk), *_drift(generator, company)]
        for plan in plans:
            _create(generator, plan)


def _bulk(generator: SeedContext, company: Company, count: int) -> list[_Plan]:
    plans = []
    for index in range(count):
        name = _warehouse_name(generator, company)
        warehouse_id = f"{company.prefix}{11 + index}"
        plans.append(_Plan(company, warehouse_id, name, warehouse_id, name))
    return plans


def _drift(generator: SeedContext, company: Company) -> list[_Plan]:
    """Planted differences; usmf carries most kinds, demf the cross-company ones."""
    name = partial(_warehouse_name, generator)
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


def _create(generator: SeedContext, plan: _Plan) -> None:
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


def _scm_row(generator: SeedContext, plan: _Plan, name: str) -> dict[str, Any]:
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


def _fs_row(generator: SeedContext, plan: _Plan, fs_name: str) -> dict[str, Any]:
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
