"""JUnit XML: valid against the CI servers' schema, one testcase per rule and company."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import xmlschema

from reconciler.report.junit import MAX_LINES, render_junit
from reconciler.report.model import Breach
from tests.report.sample import act, big_view, plan_of, sample_view, view_of

SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("junit.xsd"))


def cases(xml: str) -> dict[tuple[str, str], ET.Element]:
    root = ET.fromstring(xml)
    return {
        (suite.get("name", ""), case.get("name", "")): case
        for suite in root.iter("testsuite")
        for case in suite.iter("testcase")
    }


def test_validates_against_the_junit_schema() -> None:
    SCHEMA.validate(render_junit(sample_view()))


def test_one_suite_per_rule_one_case_per_company() -> None:
    xml = render_junit(sample_view())
    root = ET.fromstring(xml)
    assert [s.get("name") for s in root.iter("testsuite")] == [
        "products", "warehouses", "onhand", "projects"
    ]  # fmt: skip
    assert list(cases(xml)) == [
        ("products", "all"), ("products", "demf"), ("products", "usmf"),
        ("warehouses", "demf"), ("warehouses", "usmf"),
        ("onhand", "gbsi"), ("onhand", "usmf"), ("projects", "usmf"),
    ]  # fmt: skip
    for suite in root.iter("testsuite"):
        assert {c.get("classname") for c in suite} == {f"reconciler.{suite.get('name')}"}
    assert root.get("tests") == "8" and root.get("failures") == "3"
    onhand = next(s for s in root.iter("testsuite") if s.get("name") == "onhand")
    assert onhand.attrib == {
        "name": "onhand", "timestamp": "2026-11-26T02:00:00", "tests": "2", "failures": "2",
        "errors": "0", "skipped": "0", "time": "0",
    }  # fmt: skip


def test_failures_for_breaches_and_error_findings_only() -> None:
    found = cases(render_junit(sample_view()))
    usmf = found[("onhand", "usmf")].find("failure")
    assert usmf is not None
    assert usmf.get("message") == (
        "usmf: limit onhand:adjust>2 breached (3, limit 2); 1 error finding(s)"
    )
    assert "[negative_onhand]" in (usmf.text or "")
    company_less = found[("products", "all")].find("failure")
    assert company_less is not None and company_less.get("type") == "error-finding"
    # drift and warnings alone pass, but their drift is listed
    assert found[("warehouses", "demf")].find("failure") is None
    out = found[("warehouses", "usmf")].findtext("system-out") or ""
    assert out.splitlines() == [
        "drift: 1 create",
        'create msdyn_name=O\'BRIEN "north" & co: msdyn_description = "Atlanta cross-dock"',
    ]


def test_breach_of_a_kind_fails_only_companies_that_have_that_kind() -> None:
    view = replace(sample_view(), breaches=(Breach("products:create>0", 1, 0, "no creates"),))
    found = cases(render_junit(view))
    assert found[("products", "usmf")].find("failure") is not None
    assert found[("products", "demf")].find("failure") is None


def test_limits_naming_no_rule_get_their_own_suite() -> None:
    view = replace(sample_view(), breaches=(Breach("total>5", 12, 5, "too much drift"),))
    xml = render_junit(view)
    SCHEMA.validate(xml)
    failure = cases(xml)[("limits", "total>5")].find("failure")
    assert failure is not None and failure.get("message") == "limit total>5 breached (12, limit 5)"


def test_clean_rules_still_show_as_passing_tests() -> None:
    view = replace(view_of(plan_of([])), breaches=(), exit_code=0)
    xml = render_junit(view)
    SCHEMA.validate(xml)
    found = cases(xml)
    assert list(found) == [(rule, "all") for rule in plan_of([]).rules]
    assert found[("onhand", "all")].findtext("system-out") == "no drift"


def test_control_characters_and_markup_in_keys_stay_valid_xml() -> None:
    nasty = act("products", "report", "usmf", {"productnumber": "P\x00\x1b<&>\"'"},
                finding="orphan", message="bell\x07 ]]> end")  # fmt: skip
    xml = render_junit(view_of(plan_of([nasty])))
    SCHEMA.validate(xml)
    out = cases(xml)[("products", "usmf")].findtext("system-out") or ""
    assert "P\ufffd\ufffd<&>\"'" in out and "]]> end" in out


@pytest.mark.parametrize("started_at", ["2026-11-26T03:00:00+01:00", "not a time"])
def test_timestamp_is_utc_without_zone_or_left_out(started_at: str) -> None:
    view = sample_view()
    view = replace(view, run=replace(view.run, started_at=started_at))
    xml = render_junit(view)
    SCHEMA.validate(xml)
    stamps = {s.get("timestamp") for s in ET.fromstring(xml).iter("testsuite")}
    assert stamps == ({"2026-11-26T02:00:00"} if "+" in started_at else {None})


def test_system_out_is_capped_for_huge_plans() -> None:
    xml = render_junit(big_view(3_000))
    SCHEMA.validate(xml)
    out = cases(xml)[("onhand", "demf")].findtext("system-out") or ""
    lines = out.splitlines()
    assert lines[0] == "drift: 1000 adjust"
    assert len(lines) == MAX_LINES + 2
    assert lines[-1] == "... and 800 more (see the HTML or JSON report)"
