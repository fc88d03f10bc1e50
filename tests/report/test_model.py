"""The shared view helpers every renderer leans on."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.report.model import (
    Breach,
    action_detail,
    drift_by_rule_and_company,
    findings,
    key_text,
    severity_of,
    status_line,
)
from tests.report.sample import act, plan_of, sample_view, tricky_actions


def test_drift_by_rule_and_company_counts_in_rule_then_company_order() -> None:
    drift = drift_by_rule_and_company(plan_of(tricky_actions()))
    assert list(drift) == [
        ("products", ""),
        ("products", "demf"),
        ("products", "usmf"),
        ("warehouses", "demf"),
        ("warehouses", "usmf"),
        ("onhand", "gbsi"),
        ("onhand", "usmf"),
        ("projects", "usmf"),
    ]
    assert drift[("onhand", "usmf")] == {
        "create": 0, "update": 0, "adjust": 2, "deactivate": 0, "report": 1
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "rule", "kind"),
    [
        ("onhand:adjust>50", "onhand", "adjust"),
        ("onhand>50", "onhand", None),
        ("adjust>50", None, "adjust"),
        ("*:create>=10", None, "create"),
        ("total>100", None, None),
        ("products:changes > 5", "products", None),
    ],
)
def test_breach_scope_is_read_from_its_spec(spec: str, rule: str | None, kind: str | None) -> None:
    breach = Breach(spec, 1, 0, "")
    assert (breach.rule, breach.kind) == (rule, kind)


def test_status_line_names_the_outcome_and_exit_code() -> None:
    view = sample_view()
    assert status_line(view) == "Drift audit: drift found, 1 limit breached (exit 2)"
    clean = replace(view, plan=plan_of([]), breaches=(), exit_code=0)
    assert status_line(clean) == "Drift audit: no drift (exit 0)"
    validation = replace(view, verdict="no-go", breaches=(), exit_code=1)
    assert status_line(validation) == "Go-live validation: no-go (exit 1)"


def test_unclassified_findings_count_as_warnings_and_sort_by_severity() -> None:
    view = replace(sample_view(), severities={})
    assert {severity_of(view, action) for action in findings(view)} == {"warning"}
    ordered = [severity_of(v, a) for v in [sample_view()] for a in findings(v)]
    assert ordered == ["error", "error", "warning", "info"]


def test_key_text_leaves_out_company_and_detail_shows_deltas() -> None:
    adjust = act(
        "onhand", "adjust", "usmf", {"item": "P-1", "wh": "MAIN"},
        {"qty": {"from": 55, "to": 40, "delta": -15}},
    )  # fmt: skip
    assert key_text(adjust) == "item=P-1, wh=MAIN"
    assert action_detail(adjust) == "qty: 55 → 40 (-15)"
    create = act("warehouses", "create", "usmf", {"name": "X"}, {"d": {"from": None, "to": "é"}})
    assert action_detail(create) == 'd = "é"'
    report = act("products", "report", "", {"n": 1}, finding="orphan", message="gone")
    assert (key_text(report), action_detail(report)) == ("n=1", "[orphan] gone")
