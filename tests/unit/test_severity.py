"""Finding severities: the default table, profile overrides, and their validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load_profile
from reconciler.errors import ConfigError
from reconciler.report.model import Severity
from reconciler.rules import default_rules_dir, load_rules
from reconciler.severity import (
    check_overrides,
    classify,
    count_by_severity,
    known_findings,
    severity_for,
)
from tests.report.sample import plan_of, tricky_actions

PROFILE = """
[fno]
url = "https://contoso.operations.dynamics.com"
[dataverse]
url = "https://contoso.crm.dynamics.com"
[auth]
tenant_id = "t"
client_id = "c"
client_secret_env = "SECRET"
"""


def test_defaults_follow_what_a_finding_means_for_the_integration() -> None:
    for name in (
        "blank_key_source",
        "duplicate_key_target",
        "key_in_several_companies",
        "unmapped_value",
        "unresolved_link",
        "broken_reference",
    ):
        assert severity_for(name) == "error", name
    for name in ("orphan", "missing", "changed", "unmapped_company", "unknown_product"):
        assert severity_for(name) == "warning", name
    assert severity_for("negative_onhand") == "warning"  # a rule check
    assert severity_for("something_new") == "warning"  # never silently dropped
    assert severity_for("precision_loss") == "info"


def test_overrides_win_and_classify_keys_by_action_id() -> None:
    plan = plan_of(tricky_actions())
    overrides: dict[str, Severity] = {
        "negative_onhand": "error",
        "key_in_several_companies": "info",
    }
    severities = classify(plan.actions, overrides)
    reports = {a.finding: a.id for a in plan.actions if a.kind == "report"}
    assert set(severities) == set(reports.values())
    assert severities[reports["negative_onhand"]] == "error"
    assert severities[reports["key_in_several_companies"]] == "info"
    assert severities[reports["orphan"]] == "warning"
    assert count_by_severity(severities) == {"error": 1, "warning": 1, "info": 2}


def test_known_findings_include_lookup_misses_and_checks_of_the_rules() -> None:
    known = known_findings(load_rules(default_rules_dir()))
    assert {"unknown_product", "unknown_project", "negative_onhand", "orphan"} <= known
    assert "unknown_unit" not in known  # a target lookup, never required


def test_an_override_for_a_finding_no_rule_produces_is_refused() -> None:
    rules = load_rules(default_rules_dir())
    check_overrides({"negative_onhand": "error"}, rules, "p.toml")
    with pytest.raises(ConfigError) as caught:
        check_overrides({"negativ_onhand": "error"}, rules, "p.toml")
    assert "p.toml: [severity] names finding(s) negativ_onhand" in str(caught.value)
    assert "negative_onhand" in str(caught.value)


def test_profile_severity_section_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(PROFILE + '[severity]\norphan = "error"\nprecision_loss = "warning"\n')
    assert load_profile(path).severity == {"orphan": "error", "precision_loss": "warning"}
    path.write_text(PROFILE + '[severity]\norphan = "fatal"\n')
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert str(path) in str(caught.value)
    assert "severity.orphan: Input should be 'error', 'warning' or 'info'" in str(caught.value)
    path.write_text(PROFILE + '[severity]\nOrphan = "error"\n')
    with pytest.raises(ConfigError, match="'Orphan' is not a finding name"):
        load_profile(path)
    path.write_text(PROFILE)
    assert load_profile(path).severity == {}
