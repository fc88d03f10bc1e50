"""Header and line rules over in-memory snapshots: negated keys, the estimated/used choice,
minutes to hours, excluded source rows, frozen documents and lines joined to their header."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import Profile, load_profile
from reconciler.plan import Action, Plan
from reconciler.planner import make_plan
from reconciler.rules import load_rules
from reconciler.snapshot import take_snapshot
from tests.unit.conftest import BU_DEMF, BU_USMF
from tests.unit.fakes import MemoryConnector

Row = dict[str, Any]
OPEN = "msdyn_systemstatus ne 690970005"
CANCELED = "msdyn_systemstatus eq 690970005"
LINES_OPEN = "msdynce_headersystemstatus ne 690970005"
SCHEDULED, IN_PROGRESS, POSTED, CANCELED_STATUS = 690970001, 690970002, 690970004, 690970005
ESTIMATED, USED = 690970000, 690970001

ORDERS = f"""
[rule]
name = "orders"

[source]
system = "dataverse"
entity = "msdyn_workorders"
company = "_owningbusinessunit_value"
filter = "{OPEN}"

[[source.excluded]]
name = "canceled_synced"
filter = "{CANCELED}"
message = "canceled in FS"

[target]
system = "fno"
entity = "CDSSalesOrderHeaders"
company = "dataAreaId"
frozen_when = {{ SalesOrderStatus = "Invoiced" }}

[[keys]]
source = "msdyn_name"
target = "SalesOrderNumber"

[[fields]]
source = "msdyn_systemstatus"
target = "ExternalWorkOrderStatus"

[fields.map]
690970001 = "OpenScheduled"
690970002 = "OpenInProgress"
690970004 = "ClosedPosted"

[actions]
orphan = "report"
"""

SERVICES = f"""
[rule]
name = "services"
depends_on = ["orders"]

[source]
system = "dataverse"
entity = "msdyn_workorderservices"
company = "_owningbusinessunit_value"
filter = "{LINES_OPEN}"

[[source.lookups]]
name = "workorder"
entity = "msdyn_workorders"
required = true
on = {{ msdyn_workorderid = "_msdyn_workorder_value" }}

[target]
system = "fno"
entity = "CDSSalesOrderLinesV2"
company = "dataAreaId"

[[keys]]
source = "workorder.msdyn_name"
target = "SalesOrderNumber"

[[keys]]
source = "msdyn_lineorder"
target = "LineCreationSequenceNumber"
compare = "number"
negate = true

[[fields]]
target = "OrderedSalesQuantity"
compare = "number"
divide = 60
decimals = 2
tolerance = 0.005

[[fields.choose]]
when = {{ msdyn_linestatus = 690970000, msdynce_headersystemstatus = {{ ne = 690970004 }} }}
source = "msdyn_estimateduration"

[[fields.choose]]
source = "msdyn_duration"

[document]
header = "orders"
keys = {{ SalesOrderNumber = "SalesOrderNumber" }}
navigation = "CDSSalesOrderLinesV2"
"""


def work_order(name: str, status: int, company_unit: str = BU_USMF) -> Row:
    return {
        "msdyn_workorderid": f"wo-{name}",
        "msdyn_name": name,
        "msdyn_systemstatus": status,
        "_owningbusinessunit_value": company_unit,
        "@odata.etag": "w",
    }


def service(order: Row, line: int, status: int, estimate: int, used: int) -> Row:
    return {
        "msdyn_workorderserviceid": f"s-{order['msdyn_name']}-{line}",
        "_msdyn_workorder_value": order["msdyn_workorderid"],
        "_owningbusinessunit_value": order["_owningbusinessunit_value"],
        "msdyn_lineorder": line,
        "msdyn_linestatus": status,
        "msdynce_headersystemstatus": order["msdyn_systemstatus"],
        "msdyn_estimateduration": estimate,
        "msdyn_duration": used,
        "@odata.etag": "s",
    }


def header(number: str, external: str, status: str = "Backorder", company: str = "usmf") -> Row:
    return {
        "dataAreaId": company,
        "SalesOrderNumber": number,
        "ExternalWorkOrderStatus": external,
        "SalesOrderStatus": status,
        "@odata.etag": f'W/"{number}"',
    }


def line(number: str, sequence: int, quantity: float) -> Row:
    return {
        "dataAreaId": "usmf",
        "SalesOrderNumber": number,
        "LineCreationSequenceNumber": sequence,
        "OrderedSalesQuantity": quantity,
        "@odata.etag": f'W/"{number}-{sequence}"',
    }


@pytest.fixture
def profile(tmp_path: Path, profile: Profile) -> Profile:
    """The unit profile with a rules folder of its own."""
    rules = tmp_path / "doc-rules"
    rules.mkdir()
    (rules / "orders.toml").write_text(ORDERS)
    (rules / "services.toml").write_text(SERVICES)
    text = profile.path.read_text().replace(f'rules = "{profile.rules_dir}"', f'rules = "{rules}"')
    profile.path.write_text(text)
    return load_profile(profile.path)


def plan_for(profile: Profile, dataverse: dict[str, list[Row]], fno: dict[str, list[Row]]) -> Plan:
    rules = load_rules(profile.rules_dir)
    filters = {
        OPEN: lambda row: row["msdyn_systemstatus"] != CANCELED_STATUS,
        CANCELED: lambda row: row["msdyn_systemstatus"] == CANCELED_STATUS,
        LINES_OPEN: lambda row: row["msdynce_headersystemstatus"] != CANCELED_STATUS,
    }
    connectors = {
        "fno": MemoryConnector("fno", fno, page_size=3),
        "dataverse": MemoryConnector("dataverse", dataverse, page_size=3, filters=filters),
    }
    return make_plan(take_snapshot(profile, rules, connectors).path, rules, profile)


def by_key(plan: Plan) -> dict[tuple[str, str, int | None, str], Action]:
    return {
        (
            a.rule,
            str(a.key["SalesOrderNumber"]),
            a.key.get("LineCreationSequenceNumber"),
            a.finding or a.kind,
        ): a
        for a in plan.actions
    }


def test_documents_lines_and_their_findings(profile: Profile) -> None:
    new = work_order("WO-1", SCHEDULED)
    changed = work_order("WO-2", IN_PROGRESS)
    canceled = work_order("WO-3", CANCELED_STATUS)
    posted = work_order("WO-4", POSTED)
    dataverse = {
        "msdyn_workorders": [new, changed, canceled, posted],
        "msdyn_workorderservices": [
            service(new, 1, ESTIMATED, estimate=120, used=0),  # 2 h estimated
            service(changed, 1, ESTIMATED, estimate=90, used=0),  # 1.5 h, SCM has 1
            service(changed, 2, USED, estimate=60, used=45),  # 0.75 h used; SCM lacks it
            service(canceled, 1, ESTIMATED, estimate=60, used=0),
            service(posted, 1, ESTIMATED, estimate=60, used=30),  # Posted: used, 0.5 h
        ],
    }
    fno = {
        "CDSSalesOrderHeaders": [
            header("WO-2", "OpenScheduled"),
            header("WO-3", "OpenScheduled"),
            header("WO-4", "OpenCompleted", status="Invoiced"),
        ],
        "CDSSalesOrderLinesV2": [
            line("WO-2", -1, 1.0),
            line("WO-3", -1, 1.0),  # the canceled order's line: the header's finding covers it
            line("WO-4", -1, 1.0),
        ],
    }
    actions = by_key(plan_for(profile, dataverse, fno))

    created = actions[("orders", "WO-1", None, "create")]
    first_line = actions[("services", "WO-1", -1, "create")]  # line order 1 -> -1
    assert first_line.changes["OrderedSalesQuantity"]["to"] == 2
    assert first_line.changes["LineCreationSequenceNumber"]["to"] == -1
    assert first_line.document == {"rule": "orders", "action": created.id}
    assert first_line.depends_on == (created.id,)

    assert actions[("orders", "WO-2", None, "update")].changes == {
        "ExternalWorkOrderStatus": {"from": "OpenScheduled", "to": "OpenInProgress"}
    }
    update = actions[("services", "WO-2", -1, "update")]
    assert update.changes == {"OrderedSalesQuantity": {"from": 1, "to": 1.5}}
    assert update.target_id is not None and json.loads(update.target_id) == {
        "dataAreaId": "usmf",
        "SalesOrderNumber": "WO-2",
        "LineCreationSequenceNumber": -1,
    }
    into_existing = actions[("services", "WO-2", -2, "create")]
    assert into_existing.changes["OrderedSalesQuantity"]["to"] == 0.75
    assert json.loads(into_existing.document["id"]) == {  # type: ignore[index]
        "dataAreaId": "usmf",
        "SalesOrderNumber": "WO-2",
    }

    canceled_finding = actions[("orders", "WO-3", None, "canceled_synced")]
    assert "canceled in FS" in (canceled_finding.message or "")
    assert not [k for k in actions if k[:2] == ("services", "WO-3")]

    frozen_header = actions[("orders", "WO-4", None, "frozen")]
    assert frozen_header.changes == {
        "ExternalWorkOrderStatus": {"from": "OpenCompleted", "to": "ClosedPosted"}
    }
    frozen_line = actions[("services", "WO-4", -1, "frozen")]
    assert frozen_line.changes == {"OrderedSalesQuantity": {"from": 1, "to": 0.5}}
    assert "SalesOrderStatus = 'Invoiced'" in (frozen_line.message or "")
    assert len(actions) == 8, sorted(actions)


def test_a_line_whose_header_is_not_created_waits_for_it(profile: Profile) -> None:
    """An unmapped status makes the header a finding, not a create: its lines say why."""
    order = work_order("WO-9", 690970003)  # Completed: not in the rule's map
    dataverse = {
        "msdyn_workorders": [order],
        "msdyn_workorderservices": [service(order, 1, USED, estimate=60, used=60)],
    }
    fno: dict[str, list[Row]] = {"CDSSalesOrderHeaders": [], "CDSSalesOrderLinesV2": []}
    actions = by_key(plan_for(profile, dataverse, fno))
    assert ("orders", "WO-9", None, "unmapped_value") in actions
    created = actions[("orders", "WO-9", None, "create")]
    assert created.changes["ExternalWorkOrderStatus"]["to"] is None
    assert actions[("services", "WO-9", -1, "create")].document == {
        "rule": "orders",
        "action": created.id,
    }


def test_duplicate_target_keys_are_never_created_again(profile: Profile) -> None:
    order = work_order("WO-5", SCHEDULED)
    dataverse: dict[str, list[Row]] = {"msdyn_workorders": [order], "msdyn_workorderservices": []}
    twice = [header("WO-5", "OpenScheduled"), header("wo-5 ", "OpenScheduled")]
    fno: dict[str, list[Row]] = {"CDSSalesOrderHeaders": twice, "CDSSalesOrderLinesV2": []}
    actions = by_key(plan_for(profile, dataverse, fno))
    assert set(actions) == {("orders", "WO-5", None, "duplicate_key_target")}


def test_lines_of_companies_never_mix(profile: Profile) -> None:
    usmf = work_order("WO-6", SCHEDULED)
    demf = work_order("WO-6", SCHEDULED, company_unit=BU_DEMF) | {"msdyn_workorderid": "wo-6d"}
    dataverse = {
        "msdyn_workorders": [usmf, demf],
        "msdyn_workorderservices": [service(demf, 1, USED, estimate=0, used=60)],
    }
    fno: dict[str, list[Row]] = {
        "CDSSalesOrderHeaders": [header("WO-6", "OpenScheduled")],
        "CDSSalesOrderLinesV2": [],
    }
    actions = by_key(plan_for(profile, dataverse, fno))
    demf_header = next(a for a in actions.values() if a.rule == "orders" and a.kind == "create")
    assert demf_header.key["company"] == "demf"
    (demf_line,) = [a for a in actions.values() if a.rule == "services"]
    assert demf_line.key["company"] == "demf"
    assert demf_line.document == {"rule": "orders", "action": demf_header.id}


def test_frozen_and_orphan_conditions_take_tests(profile: Profile) -> None:
    """``frozen_when`` / ``orphan_when`` take ``{ in = [...] }`` and ``{ ne = ... }`` like a
    field's ``choose``: a Canceled order is as frozen as an Invoiced one, and an SCM order
    already closed as canceled is no orphan worth reporting."""
    rules = profile.rules_dir / "orders.toml"
    text = rules.read_text().replace(
        'frozen_when = { SalesOrderStatus = "Invoiced" }',
        'frozen_when = { SalesOrderStatus = { in = ["Invoiced", "Canceled"] } }',
    )
    rules.write_text(
        text + 'orphan_when = { ExternalWorkOrderStatus = { ne = "ClosedCanceled" } }\n'
    )
    dataverse: dict[str, list[Row]] = {
        "msdyn_workorders": [
            work_order("WO-7", IN_PROGRESS),
            work_order("WO-8", IN_PROGRESS),
            work_order("WO-9", IN_PROGRESS),
        ],
        "msdyn_workorderservices": [],
    }
    fno: dict[str, list[Row]] = {
        "CDSSalesOrderHeaders": [
            header("WO-7", "OpenScheduled", status="Canceled"),
            header("WO-8", "OpenScheduled", status="Invoiced"),
            header("WO-9", "OpenScheduled", status="Backorder"),
            header("SO-1", "OpenScheduled"),
            header("SO-2", "ClosedCanceled"),
        ],
        "CDSSalesOrderLinesV2": [],
    }
    actions = by_key(plan_for(profile, dataverse, fno))
    assert set(actions) == {
        ("orders", "WO-7", None, "frozen"),
        ("orders", "WO-8", None, "frozen"),
        ("orders", "WO-9", None, "update"),
        ("orders", "SO-1", None, "orphan"),
    }
    message = actions[("orders", "WO-7", None, "frozen")].message or ""
    assert "SalesOrderStatus in ('Invoiced', 'Canceled')" in message
