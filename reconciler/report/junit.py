"""JUnit XML so a CI server shows each rule and company as a test (pure: returns text).

One ``<testsuite>`` per rule and one ``<testcase>`` per (rule, company). Drift alone passes
(it is listed in ``<system-out>``); a testcase fails when its company carries an
error-severity finding or contributes to a breached limit. Limits that name no rule of the
plan get a ``limits`` suite of their own so they are never lost.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import UTC, datetime

from reconciler.plan import KIND_ORDER, Action
from reconciler.report.model import (
    AuditView,
    Breach,
    action_detail,
    company_of,
    drift_by_rule_and_company,
    key_text,
    severity_of,
)

__all__ = ["render_junit"]

MAX_LINES = 200
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit(view: AuditView) -> str:
    root = ET.Element("testsuites", name=f"reconciler audit {_clean(view.profile)}")
    timestamp = _timestamp(view.run.started_at)
    actions: dict[tuple[str, str], list[Action]] = defaultdict(list)
    for action in view.plan.actions:
        actions[(action.rule, company_of(action))].append(action)
    drift = drift_by_rule_and_company(view.plan)
    rules = list(dict.fromkeys([*view.plan.rules, *(rule for rule, _ in drift)]))
    for rule in rules:
        companies = [company for (r, company) in drift if r == rule] or [""]
        suite = _suite(root, rule, timestamp)
        breaches = _rule_breaches(view.breaches, rule, companies, drift)
        for company in companies:
            _testcase(suite, view, rule, company, actions[(rule, company)], breaches[company])
    orphans = [breach for breach in view.breaches if breach.rule not in rules]
    if orphans:
        suite = _suite(root, "limits", timestamp)
        for breach in orphans:
            case = _case(suite, "limits", breach.spec)
            _failure(case, "breach", _breach_line(breach), [breach.message])
    _count(root, root.findall("testsuite"))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _suite(root: ET.Element, rule: str, timestamp: str | None) -> ET.Element:
    suite = ET.SubElement(root, "testsuite", name=_clean(rule))
    if timestamp:
        suite.set("timestamp", timestamp)
    return suite


def _case(suite: ET.Element, rule: str, name: str) -> ET.Element:
    return ET.SubElement(
        suite, "testcase", name=_clean(name), classname=_clean(f"reconciler.{rule}"), time="0"
    )


def _testcase(
    suite: ET.Element,
    view: AuditView,
    rule: str,
    company: str,
    actions: list[Action],
    breaches: list[Breach],
) -> None:
    case = _case(suite, rule, company or "all")
    errors = [a for a in actions if a.kind == "report" and severity_of(view, a) == "error"]
    if breaches or errors:
        parts = [_breach_line(breach) for breach in breaches]
        if errors:
            parts.append(f"{len(errors)} error finding(s)")
        details = [f"{b.spec}: {b.message}" for b in breaches]
        details += [f"[{a.finding}] {key_text(a)}: {a.message or ''}" for a in errors]
        label = company or "all companies"
        _failure(
            case,
            "breach" if breaches else "error-finding",
            f"{label}: " + "; ".join(parts),
            details,
        )
    out = ET.SubElement(case, "system-out")
    out.text = _clean(_drift_text(actions))


def _failure(case: ET.Element, kind: str, message: str, details: list[str]) -> None:
    failure = ET.SubElement(case, "failure", message=_clean(message), type=kind)
    failure.text = _clean("\n".join(_capped(details)))


def _rule_breaches(
    breaches: tuple[Breach, ...],
    rule: str,
    companies: list[str],
    drift: dict[tuple[str, str], dict[str, int]],
) -> dict[str, list[Breach]]:
    """A rule's breach fails the companies that add to the breached count (all if none do)."""
    result: dict[str, list[Breach]] = {company: [] for company in companies}
    for breach in breaches:
        if breach.rule != rule:
            continue
        kinds = [breach.kind] if breach.kind else list(KIND_ORDER)
        counts = {c: drift.get((rule, c), {}) for c in companies}
        contributing = [c for c in companies if any(counts[c].get(k, 0) for k in kinds)]
        for company in contributing or companies:
            result[company].append(breach)
    return result


def _breach_line(breach: Breach) -> str:
    return f"limit {breach.spec} breached ({breach.actual}, limit {breach.limit})"


def _drift_text(actions: list[Action]) -> str:
    if not actions:
        return "no drift"
    counts = {kind: sum(1 for a in actions if a.kind == kind) for kind in KIND_ORDER}
    head = "drift: " + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    lines = [f"{a.kind} {key_text(a)}: {action_detail(a).replace(chr(10), '; ')}" for a in actions]
    return "\n".join([head, *_capped(lines)])


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    more = len(lines) - MAX_LINES
    return [*lines[:MAX_LINES], f"... and {more} more (see the HTML or JSON report)"]


def _count(root: ET.Element, suites: list[ET.Element]) -> None:
    """Fill tests/failures/errors/skipped/time on every suite and on the root."""
    total_tests = total_failures = 0
    for suite in suites:
        cases = suite.findall("testcase")
        failures = sum(1 for case in cases if case.find("failure") is not None)
        suite.attrib.update(
            tests=str(len(cases)), failures=str(failures), errors="0", skipped="0", time="0"
        )
        total_tests += len(cases)
        total_failures += failures
    root.attrib.update(tests=str(total_tests), failures=str(total_failures), errors="0", time="0")


def _timestamp(started_at: str) -> str | None:
    """JUnit's timestamp is a plain local date-time (no zone): the run's start in UTC."""
    try:
        moment = datetime.fromisoformat(started_at)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _clean(text: str) -> str:
    """XML 1.0 cannot carry control characters at all, escaped or not: show them as U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)
