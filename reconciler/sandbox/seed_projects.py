"""Seed part: projects and the work orders that point at them (fs-scm-templates.md
sections 2 and 8).

SCM ``Projects`` of type TimeMaterial in stage InProcess become FS ``msdynce_externalprojects``
rows (msdynce_projectid = ProjectID) in the company's business unit. Work orders reference
one through ``_msdynce_externalproject_value``; a reference is broken when the SCM project is
no longer synced (Completed), belongs to another company than the work order's business
unit, or does not exist in SCM at all. Manifest keys: ``projects.*`` and ``workorders.*``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.seed_base import SeedContext

_SITES = ("Hospital", "Airport", "Mall", "Office park", "Data center", "Stadium", "Hotel")
_WORK = ("HVAC service", "chiller overhaul", "elevator maintenance", "fire alarm upgrade")
SYNCED_TYPE = "TimeMaterial"
SYNCED_STAGE = "InProcess"
SYSTEM_STATUSES = (690970001, 690970002, 690970003)


@dataclass(frozen=True)
class ProjectPlan:
    """An SCM project (``scm_type`` None: none in SCM) and what FS holds for it."""

    company: str
    project_id: str
    scm_type: str | None = SYNCED_TYPE
    scm_stage: str = SYNCED_STAGE
    in_fs: bool = True
    fs_suffix: str = ""
    kinds: tuple[str, ...] = ("in_sync",)


_PROJECTS = (
    ProjectPlan("usmf", "000101", kinds=("in_sync", "same_id_two_companies")),
    ProjectPlan("usmf", "000102"),
    ProjectPlan("usmf", "000103", in_fs=False, kinds=("missing_in_fs",)),
    ProjectPlan("usmf", "000104", fs_suffix=" (old)", kinds=("name_differs",)),
    ProjectPlan("usmf", "000105", scm_type="FixedPrice", in_fs=False, kinds=("not_synced_type",)),
    ProjectPlan("usmf", "000106", scm_stage="Created", in_fs=False, kinds=("not_synced_stage",)),
    ProjectPlan("usmf", "000107", scm_stage="Completed", kinds=("no_longer_synced",)),
    ProjectPlan("usmf", "000199", scm_type=None, kinds=("fs_orphan",)),
    ProjectPlan("demf", "000101", kinds=("in_sync", "same_id_two_companies")),
    ProjectPlan("demf", "000201"),
    ProjectPlan("gbsi", "000301", in_fs=False, kinds=("missing_in_fs",)),
    ProjectPlan("gbsi", "000302"),
)

# (work order company, (project company, project id) or None, manifest kind)
_WORK_ORDERS: tuple[tuple[str, tuple[str, str] | None, str], ...] = (
    ("usmf", ("usmf", "000101"), "project_ok"),
    ("usmf", ("usmf", "000102"), "project_ok"),
    ("usmf", ("usmf", "000107"), "project_completed"),
    ("usmf", ("demf", "000201"), "project_other_company"),
    ("usmf", ("usmf", "000199"), "project_missing_in_scm"),
    ("usmf", None, "no_project"),
    ("usmf", None, "no_project"),
    ("demf", ("demf", "000101"), "project_ok"),
    ("demf", None, "no_project"),
    ("gbsi", ("gbsi", "000302"), "project_ok"),
    ("gbsi", None, "no_project"),
)


def seed_projects(context: SeedContext) -> None:
    """Projects on both sides, then work orders that reference the FS ones."""
    external: dict[tuple[str, str], dict[str, Any]] = {}
    for plan in _PROJECTS:
        entry = _create_project(context, plan)
        if entry["fs_id"] is not None:
            external[(plan.company, plan.project_id)] = entry
    for number, (area, link, kind) in enumerate(_WORK_ORDERS, start=1):
        project = external[link] if link else None
        _create_work_order(context, f"WO-{number:05d}", area, project, kind)


def _create_project(context: SeedContext, plan: ProjectPlan) -> dict[str, Any]:
    rng = context.rng
    name = f"{rng.choice(_SITES)} {rng.choice(_WORK)}"
    customer = f"{plan.company.upper()[:2]}-{rng.randrange(1, 30):03d}"
    entry: dict[str, Any] = {
        "company": plan.company,
        "project_id": plan.project_id,
        "scm_name": None,
        "scm_type": plan.scm_type,
        "scm_stage": plan.scm_stage if plan.scm_type else None,
        "fs_id": None,
        "fs_name": None,
    }
    if plan.scm_type is not None:
        context.sandbox.fno.insert("Projects", _scm_project(plan, name, customer))
        entry["scm_name"] = name
    if plan.in_fs:
        entry["fs_name"] = name + plan.fs_suffix
        entry["fs_id"] = _fs_project(context, plan, entry["fs_name"], customer)
    for kind in plan.kinds:
        context.record(f"projects.{kind}", dict(entry))
    return entry


def _scm_project(plan: ProjectPlan, name: str, customer: str) -> dict[str, Any]:
    return {
        "dataAreaId": plan.company,
        "ProjectID": plan.project_id,
        "ProjectName": name,
        "ProjectType": plan.scm_type,
        "ProjectStage": plan.scm_stage,
        "CustomerAccount": customer,
        "Description": name,
    }


def _fs_project(context: SeedContext, plan: ProjectPlan, name: str, customer: str) -> str:
    created = context.moment()
    return context.sandbox.dataverse.insert(
        "msdynce_externalprojects",
        {
            "msdynce_externalprojectid": context.row_id(
                "externalproject", plan.company, plan.project_id
            ),
            "msdynce_projectid": plan.project_id,
            "msdynce_name": name,
            "msdynce_customeraccount": customer,
            "_owningbusinessunit_value": context.sandbox.companies[plan.company],
            "statecode": 0,
            "statuscode": 1,
            "createdon": created,
            "modifiedon": created,
        },
    )


def _create_work_order(
    context: SeedContext, name: str, area: str, project: dict[str, Any] | None, kind: str
) -> None:
    created = context.moment()
    status = context.rng.choice(SYSTEM_STATUSES)
    row_id = context.sandbox.dataverse.insert(
        "msdyn_workorders",
        {
            "msdyn_workorderid": context.row_id("workorder", name),
            "msdyn_name": name,
            "msdyn_systemstatus": status,
            "_owningbusinessunit_value": context.sandbox.companies[area],
            "_msdynce_externalproject_value": project["fs_id"] if project else None,
            "createdon": created,
            "modifiedon": created,
        },
    )
    context.record(
        f"workorders.{kind}",
        {
            "company": area,
            "workorder_id": row_id,
            "name": name,
            "system_status": status,
            "external_project_id": project["fs_id"] if project else None,
            "project_company": project["company"] if project else None,
            "project_id": project["project_id"] if project else None,
        },
    )
