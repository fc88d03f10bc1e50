"""What an audit report shows: frozen data the audit command fills, read by every renderer.

Renderers are pure functions of an ``AuditView``; everything they share (status line,
counts per rule and company, severity order, how a key or a change reads) lives here so the
markdown, HTML, JUnit and JSON reports never disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.plan import KIND_ORDER, Action, Plan

__all__ = [
    "SEVERITY_ORDER",
    "WRITE_KINDS",
    "AuditView",
    "Breach",
    "Delta",
    "RunCounts",
    "Severity",
    "action_detail",
    "company_of",
    "drift_by_rule_and_company",
    "findings",
    "key_text",
    "kind_totals",
    "severity_of",
    "status",
    "status_line",
]

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
WRITE_KINDS: tuple[str, ...] = tuple(kind for kind in KIND_ORDER if kind != "report")
_DEFAULT_SEVERITY: Severity = "warning"


@dataclass(frozen=True)
class RunCounts:
    """One audit run in the history: enough to chart drift over time without its plan."""

    run_id: str
    started_at: str
    counts: dict[str, dict[str, int]]
    findings_by_severity: dict[str, int] = field(default_factory=dict)

    def total(self, kinds: Iterable[str] = KIND_ORDER) -> int:
        wanted = set(kinds)
        return sum(
            n for per_kind in self.counts.values() for k, n in per_kind.items() if k in wanted
        )


@dataclass(frozen=True)
class Delta:
    """Action ids compared with the previous run: what is new, still there, or gone."""

    new: tuple[str, ...]
    persisted: tuple[str, ...]
    resolved: tuple[str, ...]
    by_rule: dict[str, dict[str, int]] = field(default_factory=dict)
    previous_run_id: str | None = None


@dataclass(frozen=True)
class Breach:
    """A configured limit the run exceeded, e.g. ``onhand:adjust>50`` with 62 adjustments."""

    spec: str
    actual: int
    limit: int
    message: str

    @property
    def rule(self) -> str | None:
        """The rule a spec names (``onhand:adjust>50`` -> ``onhand``); None for all rules."""
        return self._scope()[0]

    @property
    def kind(self) -> str | None:
        """The action kind a spec counts (``onhand:adjust>50`` -> ``adjust``); None for all."""
        return self._scope()[1]

    def _scope(self) -> tuple[str | None, str | None]:
        subject = re.split(r"[<>=!]", self.spec, maxsplit=1)[0].strip()
        parts = [part.strip() for part in subject.split(":")]
        if len(parts) == 1:
            parts = ["", *parts] if parts[0] in KIND_ORDER else [*parts, ""]
        rule, kind = parts[0], parts[1]
        return (
            None if rule in ("", "*", "all", "total") else rule,
            kind if kind in KIND_ORDER else None,
        )


@dataclass(frozen=True)
class AuditView:
    """Everything one audit (or go-live validation) report shows."""

    run: RunCounts
    profile: str
    snapshot_id: str
    plan: Plan
    severities: dict[str, Severity]
    breaches: tuple[Breach, ...]
    exit_code: int
    history: tuple[RunCounts, ...] = ()
    delta: Delta | None = None
    verdict: str | None = None
    reasons: tuple[str, ...] = ()


def company_of(action: Action) -> str:
    return str(action.key.get("company", "") or "")


def drift_by_rule_and_company(plan: Plan) -> dict[tuple[str, str], dict[str, int]]:
    """Counts per kind for each (rule, company) that has actions, in rule then company order."""
    position = {name: index for index, name in enumerate(plan.rules)}
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for action in plan.actions:
        pair = (action.rule, company_of(action))
        counts.setdefault(pair, dict.fromkeys(KIND_ORDER, 0))[action.kind] += 1
    ordered = sorted(counts, key=lambda pair: (position.get(pair[0], len(position)), pair))
    return {pair: counts[pair] for pair in ordered}


def kind_totals(summary: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """Counts per kind over all rules (every kind present, zeros included)."""
    return {kind: sum(counts.get(kind, 0) for counts in summary.values()) for kind in KIND_ORDER}


def severity_of(view: AuditView, action: Action) -> Severity:
    """A finding the audit did not classify counts as a warning: shown, never silently dropped."""
    return view.severities.get(action.id, _DEFAULT_SEVERITY)


def findings(view: AuditView) -> list[Action]:
    """Report actions, most severe first, plan order within a severity."""
    reports = [action for action in view.plan.actions if action.kind == "report"]
    return sorted(reports, key=lambda action: SEVERITY_ORDER[severity_of(view, action)])


def status(view: AuditView) -> str:
    """What happened, e.g. "Drift audit: drift found, 1 limit breached"."""
    title = "Drift audit" if view.verdict is None else "Go-live validation"
    if view.verdict is not None:
        state = view.verdict
    elif view.plan.actions:
        state = "drift found"
    else:
        state = "no drift"
    if view.breaches:
        count = len(view.breaches)
        state += f", {count} limit{'s' if count != 1 else ''} breached"
    return f"{title}: {state}"


def status_line(view: AuditView) -> str:
    """The line every format leads with, e.g. "Drift audit: drift found (exit 2)"."""
    return f"{status(view)} (exit {view.exit_code})"


def key_text(action: Action) -> str:
    """The key without its company (shown in a column of its own): ``a=1, b=2``."""
    return ", ".join(
        f"{name}={_plain(value)}" for name, value in action.key.items() if name != "company"
    )


def action_detail(action: Action) -> str:
    """What the action does (or, for a finding, says), one line per field."""
    if action.kind == "report":
        return f"[{action.finding}] {action.message or ''}".strip()
    lines = []
    for name, change in action.changes.items():
        if action.kind == "create":
            lines.append(f"{name} = {_show(change.get('to'))}")
            continue
        line = f"{name}: {_show(change.get('from'))} → {_show(change.get('to'))}"
        if "delta" in change:
            line += f" ({_signed(change['delta'])})"
        lines.append(line)
    return "\n".join(lines)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else _show(value)


def _show(value: Any) -> str:
    """A value as JSON shows it (strings quoted); plain ints skip json, 50,000 rows add up."""
    if type(value) is int:
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _signed(value: Any) -> str:
    text = _show(value)
    return text if text.startswith("-") else f"+{text}"
