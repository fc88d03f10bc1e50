"""Audit views built by hand: a realistic night with hostile keys, and a 50,000-action one."""

from __future__ import annotations

from typing import Any

from reconciler.plan import Action, Kind, Plan, action_id, order_actions
from reconciler.report.model import AuditView, Breach, Delta, RunCounts, Severity

RULES = ("products", "warehouses", "onhand", "projects")
SCRIPT_KEY = '<script>alert("x")</script>'
QUOTE_KEY = 'O\'BRIEN "north" & co'
UNICODE_KEY = "Lager Düsseldorf 倉庫 ✓"


def act(
    rule: str,
    kind: Kind,
    company: str,
    key: dict[str, Any],
    changes: dict[str, dict[str, Any]] | None = None,
    finding: str | None = None,
    message: str | None = None,
) -> Action:
    values = [str(value) for value in key.values()]
    return Action(
        id=action_id(rule, kind, finding, company, values),
        rule=rule,
        kind=kind,
        system="dataverse",
        entity={"onhand": "msdyn_productinventories"}.get(rule, rule),
        key={"company": company, **key},
        changes=changes or {},
        finding=finding,
        message=message,
    )


def plan_of(actions: list[Action], rules: tuple[str, ...] = RULES) -> Plan:
    return Plan(
        created_at="2026-11-26T02:00:00Z",
        profile={"name": "prod"},
        rules_hash="sha256:rules",
        rules=rules,
        snapshot={"id": "sha256:5d207042b7cb0f15", "fingerprints": {}},
        actions=order_actions(actions, rules),
    )


def tricky_actions() -> list[Action]:
    new = {"from": None}
    return [
        act("products", "create", "usmf", {"productnumber": "P-2001"},
            {"name": {**new, "to": "Quiet gasket"}, "quantitydecimal": {**new, "to": 2}}),
        act("products", "update", "usmf", {"productnumber": SCRIPT_KEY},
            {"name": {"from": "a & b", "to": '"quoted" </script><b>x</b>'}}),
        act("products", "update", "demf", {"productnumber": "P-2003"},
            {"msdyn_fieldserviceproducttype": {"from": 690970001, "to": 690970000}}),
        act("warehouses", "create", "usmf", {"msdyn_name": QUOTE_KEY},
            {"msdyn_description": {**new, "to": "Atlanta cross-dock"}}),
        act("warehouses", "create", "demf", {"msdyn_name": UNICODE_KEY},
            {"msdyn_description": {**new, "to": "Ersatzteile — Süd"}}),
        act("onhand", "adjust", "usmf",
            {"product.productnumber": "P-1001", "warehouse.msdyn_name": "MAIN"},
            {"msdyn_qtyonhand": {"from": 100, "to": 120, "delta": 20}}),
        act("onhand", "adjust", "usmf",
            {"product.productnumber": "P-1002", "warehouse.msdyn_name": "MAIN"},
            {"msdyn_qtyonhand": {"from": 55, "to": 40, "delta": -15}}),
        act("onhand", "adjust", "gbsi",
            {"product.productnumber": "P-1001", "warehouse.msdyn_name": "GB-NEW"},
            {"msdyn_qtyonhand": {"from": None, "to": 7, "delta": 7}}),
        act("warehouses", "report", "demf", {"msdyn_name": "ALT-99"}, finding="orphan",
            message="FS msdyn_warehouses row msdyn_name='ALT-99' has no counterpart in SCM."),
        act("products", "report", "", {"productnumber": "P-2009"},
            finding="key_in_several_companies",
            message="productnumber='P-2009' exists in demf, usmf with different values."),
        act("onhand", "report", "usmf",
            {"product.productnumber": "P-1005", "warehouse.msdyn_name": "SPARE"},
            finding="negative_onhand",
            message='SCM on-hand is negative <b>-3</b> & "odd" </script>'),
        act("projects", "report", "usmf", {"ProjectID": "000107"}, finding="precision_loss",
            message="Rounding exceeds the tolerance (value 10.004)."),
    ]  # fmt: skip


def severities_for(plan: Plan) -> dict[str, Severity]:
    by_finding: dict[str, Severity] = {
        "orphan": "warning",
        "key_in_several_companies": "error",
        "negative_onhand": "error",
        "precision_loss": "info",
    }
    return {a.id: by_finding[a.finding or ""] for a in plan.actions if a.kind == "report"}


def history() -> tuple[RunCounts, ...]:
    """Three earlier nights: drift grew, then part of it was repaired."""
    nights = [
        ("2026-11-23T02:00:00Z", {"products": (1, 2, 0, 1), "warehouses": (1, 0, 0, 1),
                                  "onhand": (0, 0, 5, 1), "projects": (0, 0, 0, 0)}),
        ("2026-11-24T02:00:00Z", {"products": (2, 4, 0, 2), "warehouses": (2, 1, 0, 1),
                                  "onhand": (0, 0, 9, 2), "projects": (1, 0, 0, 1)}),
        ("2026-11-25T02:00:00Z", {"products": (1, 3, 0, 1), "warehouses": (1, 0, 0, 1),
                                  "onhand": (0, 0, 4, 1), "projects": (0, 0, 0, 1)}),
    ]  # fmt: skip
    runs = []
    for started, per_rule in nights:
        counts = {
            rule: {"create": c, "update": u, "adjust": a, "deactivate": 0, "report": r}
            for rule, (c, u, a, r) in per_rule.items()
        }
        reports = sum(c["report"] for c in counts.values())
        runs.append(
            RunCounts(
                run_id=f"run-{started[:10]}",
                started_at=started,
                counts=counts,
                findings_by_severity={"error": reports // 2, "warning": reports - reports // 2},
            )
        )
    return tuple(runs)


def view_of(plan: Plan, *, with_history: bool = True, exit_code: int = 2) -> AuditView:
    severities = severities_for(plan)
    by_severity = {name: list(severities.values()).count(name) for name in ("error", "warning")}
    run = RunCounts("run-2026-11-26", "2026-11-26T02:00:00Z", plan.summary, by_severity)
    ids = [a.id for a in plan.actions]
    delta = Delta(
        new=tuple(ids[:3]),
        persisted=tuple(ids[3:]),
        resolved=("0123456789abcdef", "fedcba9876543210"),
        by_rule={
            "products": {"new": 3, "persisted": 1, "resolved": 2},
            "onhand": {"new": 0, "persisted": 4, "resolved": 0},
        },
        previous_run_id="run-2026-11-25",
    )
    return AuditView(
        run=run,
        profile="prod",
        snapshot_id=str(plan.snapshot["id"]),
        plan=plan,
        severities=severities,
        breaches=(Breach("onhand:adjust>2", 3, 2, "On-hand adjustments above the nightly limit."),),
        exit_code=exit_code,
        history=history() if with_history else (),
        delta=delta if with_history else None,
    )


def sample_view() -> AuditView:
    return view_of(plan_of(tricky_actions()))


def big_view(count: int = 50_000) -> AuditView:
    """A night where one warehouse's on-hand went wrong everywhere: ``count`` adjustments."""
    actions = [
        act("onhand", "adjust", ("usmf", "demf", "gbsi")[i % 3],
            {"product.productnumber": f"P-{i:06d}", "warehouse.msdyn_name": f"WH-{i % 40:02d}"},
            {"msdyn_qtyonhand": {"from": i % 97, "to": i % 89, "delta": i % 89 - i % 97}})
        for i in range(count)
    ]  # fmt: skip
    actions += tricky_actions()
    return view_of(plan_of(actions))
