"""Human-readable plan and apply summaries as rich renderables (pure: no printing)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from reconciler.outcomes import ApplyResult
from reconciler.plan import KIND_ORDER, Action, Plan

__all__ = ["apply_summary", "plan_headline", "plan_view"]

_KIND_STYLE = {
    "create": "green",
    "update": "yellow",
    "adjust": "cyan",
    "deactivate": "red",
    "report": "magenta",
}


def plan_view(plan: Plan, *, limit: int = 50) -> RenderableType:
    """Summary table per rule, then the actions (at most ``limit`` per kind), then a headline."""
    parts: list[RenderableType] = [_summary_table(plan)]
    if plan.actions:
        parts.append(_actions_table(plan.actions, limit))
    parts.append(plan_headline(plan))
    return Group(*parts)


def plan_headline(plan: Plan) -> Text:
    """One line a person (or a log grep) can read: "Plan: 3 to create, 2 to update, …"."""
    totals = {kind: sum(counts[kind] for counts in plan.summary.values()) for kind in KIND_ORDER}
    if not plan.actions:
        return Text("No changes. FS and SCM agree for every rule.", style="bold green")
    text = Text("Plan: ", style="bold")
    text.append(f"{totals['create']} to create, ", style=_KIND_STYLE["create"])
    text.append(f"{totals['update']} to update, ", style=_KIND_STYLE["update"])
    text.append(f"{totals['adjust']} to adjust", style=_KIND_STYLE["adjust"])
    if totals["deactivate"]:
        text.append(f", {totals['deactivate']} to deactivate", style=_KIND_STYLE["deactivate"])
    text.append(
        f"; {totals['report']} finding(s) reported (never written).", style=_KIND_STYLE["report"]
    )
    return text


def _summary_table(plan: Plan) -> Table:
    table = Table(title=f"Plan from snapshot taken {plan.created_at}", title_justify="left")
    table.add_column("rule")
    for kind in KIND_ORDER:
        table.add_column(kind, justify="right", style=_KIND_STYLE[kind])
    for rule, counts in plan.summary.items():
        table.add_row(rule, *(str(counts[kind]) for kind in KIND_ORDER))
    return table


def _actions_table(actions: Iterable[Action], limit: int) -> Table:
    table = Table(title="Actions", title_justify="left", show_lines=False)
    for column in ("kind", "rule", "key", "changes / finding"):
        table.add_column(column, overflow="fold")
    shown: dict[str, int] = {}
    hidden: dict[str, int] = {}
    for action in actions:
        if shown.get(action.kind, 0) >= limit:
            hidden[action.kind] = hidden.get(action.kind, 0) + 1
            continue
        shown[action.kind] = shown.get(action.kind, 0) + 1
        table.add_row(
            Text(action.kind, style=_KIND_STYLE[action.kind]),
            action.rule,
            Text(_format_key(action.key)),
            Text(_format_detail(action)),
        )
    for kind, count in hidden.items():
        table.add_row(
            Text(kind, style=_KIND_STYLE[kind]), "", "", f"… and {count} more (see --format json)"
        )
    return table


def _format_key(key: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in key.items())


def _format_detail(action: Action) -> str:
    if action.kind == "report":
        return f"[{action.finding}] {action.message}"
    lines = []
    for name, change in action.changes.items():
        if action.kind == "create":
            lines.append(f"{name} = {_show(change['to'])}")
        else:
            lines.append(f"{name}: {_show(change['from'])} -> {_show(change['to'])}")
    return "\n".join(lines)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def apply_summary(result: ApplyResult, plan: Plan) -> RenderableType:
    """Counts per outcome, then every conflict and failure with its details."""
    counts = result.counts()
    table = Table(title="Apply", title_justify="left")
    for column in ("applied", "unchanged", "conflict", "failed", "skipped", "reported", "requests"):
        table.add_column(column, justify="right")
    table.add_row(
        *(
            str(counts[name])
            for name in ("applied", "unchanged", "conflict", "failed", "skipped", "reported")
        ),
        str(result.requests),
    )
    parts: list[RenderableType] = [table]
    written = counts["applied"]
    if written:
        parts.append(
            Text(
                f"{result.requests} HTTP request(s) for {written} applied action(s): "
                f"{result.requests / written:.2f} per action"
                + (
                    f"; waited out {result.throttled} throttling answer(s)"
                    if result.throttled
                    else ""
                )
                + "."
            )
        )
    earlier = sum(1 for o in result.outcomes if o.detail.endswith("(in an earlier run)"))
    if earlier:
        parts.append(
            Text(f"Resumed: {earlier} action(s) were done by an earlier run of this plan.")
        )
    by_id = {action.id: action for action in plan.actions}
    problems = [o for o in result.outcomes if o.status in ("conflict", "failed", "skipped")]
    if problems:
        detail = Table(title="Not applied", title_justify="left")
        for column in ("status", "rule", "key", "why"):
            detail.add_column(column, overflow="fold")
        for outcome in problems:
            action = by_id[outcome.action_id]
            why = outcome.detail + "".join(
                f"\n{name}: planned {_show(c['before'])} -> {_show(c['planned'])}, "
                f"now {_show(c['now'])}"
                for name, c in outcome.conflicts.items()
            )
            detail.add_row(outcome.status, action.rule, Text(_format_key(action.key)), Text(why))
        parts.append(detail)
    verdict = (
        "All actions applied."
        if result.ok
        else "Some actions were not applied; nothing was overwritten. Re-plan to review them."
    )
    parts.append(Text(verdict, style="bold green" if result.ok else "bold red"))
    return Group(*parts)


def refresh_view(plan: Plan) -> RenderableType:
    """What ``apply --refresh`` would write for rows that changed since the plan: per field
    the value found now and the planned value it would be set to."""
    table = Table(title="Refreshed from current values", title_justify="left")
    for column in ("rule", "kind", "key", "field", "now", "planned", "delta"):
        table.add_column(column, overflow="fold")
    for action in plan.actions:
        for name, change in action.changes.items():
            table.add_row(
                action.rule,
                action.kind,
                Text(_format_key(action.key)),
                name,
                _show(change.get("from")),
                _show(change.get("to")),
                _show(change.get("delta")) if "delta" in change else "",
            )
    return table
