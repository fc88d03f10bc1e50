"""A short markdown summary for a chat post or a CI job summary (pure: returns text).

Short on purpose: the full detail is in the HTML and JSON reports. Every data value is
escaped, since GitHub renders HTML inside markdown and a record key may contain ``<script>``.
"""

from __future__ import annotations

import re

from reconciler.plan import KIND_ORDER
from reconciler.report.model import (
    AuditView,
    company_of,
    findings,
    key_text,
    kind_totals,
    severity_of,
    status_line,
)

__all__ = ["render_markdown"]

TOP_FINDINGS = 10
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def render_markdown(view: AuditView) -> str:
    sections = [
        f"## {_esc(status_line(view))}",
        _reasons(view),
        _counts_table(view),
        _breaches(view),
        _findings(view),
        _delta(view),
        _footer(view),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _reasons(view: AuditView) -> str:
    return "\n".join(f"- {_esc(reason)}" for reason in view.reasons)


def _counts_table(view: AuditView) -> str:
    summary = view.plan.summary
    if not view.plan.actions:
        return f"No drift in {len(summary)} rule(s): SCM and FS agree."
    totals = kind_totals(summary)
    kinds = [kind for kind in KIND_ORDER if totals[kind]]
    lines = [
        "| rule | " + " | ".join(kinds) + " | total |",
        "|---|" + "---:|" * (len(kinds) + 1),
    ]
    for rule, counts in summary.items():
        cells = [str(counts[kind]) for kind in kinds]
        lines.append(f"| {_esc(rule)} | " + " | ".join(cells) + f" | {sum(counts.values())} |")
    cells = [f"**{totals[kind]}**" for kind in kinds]
    lines.append("| **total** | " + " | ".join(cells) + f" | **{sum(totals.values())}** |")
    return "\n".join(lines)


def _breaches(view: AuditView) -> str:
    if not view.breaches:
        return ""
    lines = ["**Limits breached**", ""]
    for breach in view.breaches:
        lines.append(
            f"- `{_code(breach.spec)}`: {breach.actual} (limit {breach.limit}). "
            f"{_esc(breach.message)}"
        )
    return "\n".join(lines)


def _findings(view: AuditView) -> str:
    reports = findings(view)
    if not reports:
        return ""
    by_severity = {"error": 0, "warning": 0, "info": 0}
    for action in reports:
        by_severity[severity_of(view, action)] += 1
    counted = ", ".join(f"{n} {name}" for name, n in by_severity.items() if n)
    lines = [f"**Findings** ({counted})", ""]
    for action in reports[:TOP_FINDINGS]:
        where = " · ".join(
            part for part in (action.rule, company_of(action), key_text(action)) if part
        )
        lines.append(
            f"- **{severity_of(view, action)}** {_esc(where)}: "
            f"`{_code(action.finding or '')}` {_esc(action.message or '')}"
        )
    if len(reports) > TOP_FINDINGS:
        lines.append(f"- … and {len(reports) - TOP_FINDINGS} more")
    return "\n".join(lines)


def _delta(view: AuditView) -> str:
    delta = view.delta
    if delta is None:
        return ""
    since = f"run `{_code(delta.previous_run_id)}`" if delta.previous_run_id else "no earlier run"
    head = (
        f"**Since {since}**: {len(delta.new)} new, {len(delta.persisted)} persisted, "
        f"{len(delta.resolved)} resolved"
    )
    rows = [(rule, c) for rule, c in delta.by_rule.items() if any(c.values())]
    if not rows:
        return head
    lines = [head, "", "| rule | new | persisted | resolved |", "|---|---:|---:|---:|"]
    for rule, c in rows:
        lines.append(
            f"| {_esc(rule)} | {c.get('new', 0)} | {c.get('persisted', 0)} | "
            f"{c.get('resolved', 0)} |"
        )
    return "\n".join(lines)


def _footer(view: AuditView) -> str:
    return (
        f"Run `{_code(view.run.run_id)}` · started {_esc(view.run.started_at)} · "
        f"profile `{_code(view.profile)}` · snapshot `{_code(view.snapshot_id)}`"
    )


def _esc(text: str) -> str:
    """Plain text in markdown: HTML-escaped, markdown punctuation backslashed, one line."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text)


def _code(text: str) -> str:
    """Text inside a code span: no backticks or pipes to break out of it or a table."""
    return " ".join(text.split()).replace("`", "'").replace("|", "/")
