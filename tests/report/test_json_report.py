"""The JSON report: the plan contract untouched, plus one ``audit`` object."""

from __future__ import annotations

import json

from reconciler.report.json_report import render_json
from tests.report.sample import sample_view


def test_plan_contract_is_kept_and_audit_added() -> None:
    view = sample_view()
    data = json.loads(render_json(view))
    audit = data.pop("audit")
    assert data == json.loads(json.dumps(view.plan.to_json()))
    assert audit["exit_code"] == 2
    assert audit["verdict"] is None
    assert audit["run"]["run_id"] == "run-2026-11-26"
    assert audit["breaches"] == [
        {"spec": "onhand:adjust>2", "actual": 3, "limit": 2,
         "message": "On-hand adjustments above the nightly limit."}
    ]  # fmt: skip
    assert sorted(audit["severities"].values()) == ["error", "error", "info", "warning"]
    assert audit["delta"]["previous_run_id"] == "run-2026-11-25"
    assert len(audit["delta"]["persisted"]) == 9


def test_deterministic_with_sorted_keys() -> None:
    text = render_json(sample_view())
    assert text == render_json(sample_view())
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert "Lager Düsseldorf 倉庫" in text
