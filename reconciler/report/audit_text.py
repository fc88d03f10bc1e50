"""Terminal views of a go-live validation and of the audit history (pure: rich renderables)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from pathlib import Path

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from reconciler.history import STATES, PastRun
from reconciler.plan import KIND_ORDER, Action
from reconciler.report.model import (
    SEVERITY_ORDER,
    AuditView,
    company_of,
    findings,
    key_text,
    severity_of,
)

__all__ = ["history_view", "validation_view"]

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def validation_view(view: AuditView, *, limit: int = 50) -> RenderableType:
    """Every rule with its counts, every finding by severity (at most ``limit`` per rule and
    finding name; 0 = all), then the verdict and its reasons."""
    parts: list[RenderableType] = [_rules_table(view)]
    reports = findings(view)
    for severity, members in groupby(reports, key=lambda a: severity_of(view, a)):
        parts.append(_findings_list(severity, list(members), view.plan.rules, limit))
    if not reports:
        parts.append(Text("No findings.", style="green"))
    verdict = (view.verdict or "").upper()
    head = Text(f"Verdict: {verdict}", style="bold green" if view.verdict == "go" else "bold red")
    parts.append(Group(head, *(Text(f"  - {reason}") for reason in view.reasons)))
    return Group(*parts)


def _rules_table(view: AuditView) -> Table:
    table = Table(
        title=f"Rules (snapshot {view.plan.created_at})",
        title_justify="left",
        box=box.SIMPLE,
        collapse_padding=True,
    )
    table.add_column("rule", no_wrap=True)
    kinds = _kinds_present(view.plan.summary)
    for kind in kinds:
        table.add_column(kind, justify="right")
    for severity in SEVERITY_ORDER:
        table.add_column(severity, justify="right", style=_SEVERITY_STYLE[severity])
    per_rule = {rule: dict.fromkeys(SEVERITY_ORDER, 0) for rule in view.plan.summary}
    for action in findings(view):
        per_rule.setdefault(action.rule, dict.fromkeys(SEVERITY_ORDER, 0))[
            severity_of(view, action)
        ] += 1
    for rule, counts in view.plan.summary.items():
        table.add_row(
            rule,
            *(str(counts[kind]) for kind in kinds),
            *(str(per_rule[rule][s]) for s in SEVERITY_ORDER),
        )
    return table


def _findings_list(severity: str, actions: list[Action], rules: Sequence[str], limit: int) -> Group:
    """Lines, not a table: messages are long and stay readable in a narrow terminal."""
    lines = [Text(f"{severity.upper()} ({len(actions)})", style=_SEVERITY_STYLE[severity])]
    position = {name: index for index, name in enumerate(rules)}
    ordered = sorted(actions, key=lambda a: (position.get(a.rule, len(position)), a.finding or ""))
    for (rule, finding), group in groupby(ordered, key=lambda a: (a.rule, a.finding or "")):
        members = list(group)
        lines.append(Text(f"  {rule}  {finding} ({len(members)})", style="bold"))
        shown = members if limit == 0 else members[:limit]
        for action in shown:
            where = " · ".join(part for part in (company_of(action), key_text(action)) if part)
            lines.append(Text(f"    {where}: {action.message or ''}"))
        if len(members) > len(shown):
            more = f"    … and {len(members) - len(shown)} more (the reports list every one)"
            lines.append(Text(more, style="dim"))
    return Group(*lines)


def _kinds_present(summary: dict[str, dict[str, int]]) -> list[str]:
    """Kinds with any action: a table of zeros in every column hides what matters."""
    return [kind for kind in KIND_ORDER if any(c.get(kind, 0) for c in summary.values())]


def history_view(runs: Sequence[PastRun], path: Path) -> RenderableType:
    """One table per run, newest first: counts per rule and kind, and what changed since
    the run before it."""
    if not runs:
        return Text(f"No audit runs recorded in {path} yet; `reconcile audit` records them.")
    return Group(*(_run_view(run) for run in runs))


def _run_view(past: PastRun) -> Group:
    run = past.run
    since = past.previous_run_id or "no earlier run"
    severities = ", ".join(f"{n} {name}" for name, n in run.findings_by_severity.items() if n)
    head = Text(f"Run {run.run_id}  started {run.started_at}  exit {past.exit_code}", "bold")
    detail = Text(f"compared with {since}; findings: {severities or 'none'}", "dim")
    return Group(head, detail, _run_table(past))


def _run_table(past: PastRun) -> Table:
    run = past.run
    table = Table(box=box.SIMPLE, collapse_padding=True)
    table.add_column("rule", overflow="fold")  # long rule names wrap; counts never do
    kinds = _kinds_present(run.counts)
    for kind in kinds:
        table.add_column(kind, justify="right", min_width=len(kind), no_wrap=True)
    for state in STATES:
        style = "bold" if state == "new" else ""
        table.add_column(state, justify="right", style=style, min_width=len(state), no_wrap=True)
    rules = list(dict.fromkeys([*run.counts, *past.delta]))
    zeros = dict.fromkeys(STATES, 0)
    for rule in rules:
        counts = run.counts.get(rule, {})
        delta = past.delta.get(rule, zeros)
        table.add_row(
            rule,
            *(str(counts.get(kind, 0)) for kind in kinds),
            *(str(delta[state]) for state in STATES),
        )
    totals = past.delta_totals()
    table.add_row(
        Text("total", style="bold"),
        *(str(sum(c.get(kind, 0) for c in run.counts.values())) for kind in kinds),
        *(str(totals[state]) for state in STATES),
    )
    return table
