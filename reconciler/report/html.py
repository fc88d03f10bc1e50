"""One self-contained HTML page for an audit: totals, charts, sortable and filterable tables.

Pure: returns the page as text. Nothing is loaded from elsewhere (inline CSS, JS and SVG),
so the file can be mailed, archived as a CI artefact or opened offline. Table rows travel as
a JSON block and are drawn by the page's script a page at a time; every other value is
HTML-escaped here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from reconciler.plan import KIND_ORDER, Action
from reconciler.report.html_assets import CSS, JS
from reconciler.report.model import (
    SEVERITY_ORDER,
    WRITE_KINDS,
    AuditView,
    RunCounts,
    action_detail,
    company_of,
    drift_by_rule_and_company,
    findings,
    key_text,
    kind_totals,
    severity_of,
    status,
    status_line,
)
from reconciler.report.svg import Column, line_chart, run_label, stacked_bars

__all__ = ["render_html"]

PAGE_ROWS = 100


def render_html(view: AuditView) -> str:
    body = "\n".join(
        part
        for part in (
            _alerts(view),
            _cards(view),
            _charts(view),
            _rule_company_table(view),
            _actions_section(view),
            _findings_section(view),
            _footer(view),
        )
        if part
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(status_line(view))} · {_e(view.profile)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n"
        f'<body>\n{_header(view)}\n<main class="wrap">\n{body}\n</main>\n'
        f'<script type="application/json" id="report-data">{_data_json(view)}</script>\n'
        f"<script>{JS}</script>\n</body>\n</html>\n"
    )


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _status_class(view: AuditView) -> str:
    if view.verdict is not None:
        return "status-ok" if view.verdict == "go" else "status-fail"
    return {0: "status-ok", 2: "status-drift"}.get(view.exit_code, "status-fail")


def _header(view: AuditView) -> str:
    meta = [
        ("profile", view.profile),
        ("run", view.run.run_id),
        ("started", view.run.started_at),
        ("snapshot", view.snapshot_id),
    ]
    if view.delta is not None and view.delta.previous_run_id:
        meta.append(("previous run", view.delta.previous_run_id))
    items = "".join(
        f'<div><dt>{_e(name)}</dt><dd><code data-testid="meta-{name.replace(" ", "-")}">'
        f"{_e(value)}</code></dd></div>"
        for name, value in meta
    )
    return (
        f'<header class="top {_status_class(view)}"><div class="wrap">'
        f'<span class="pill" data-testid="exit-code">exit {view.exit_code}</span>'
        f'<h1 data-testid="status">{_e(status(view))}</h1><dl class="meta">{items}</dl>'
        "</div></header>"
    )


def _alerts(view: AuditView) -> str:
    parts = []
    if view.verdict is not None or view.reasons:
        tone = "ok" if view.verdict == "go" else "fail"
        items = "".join(f"<li>{_e(reason)}</li>" for reason in view.reasons)
        parts.append(
            f'<div class="panel alert alert-{tone}" data-testid="verdict">'
            f"<strong>Verdict: {_e(view.verdict or 'none')}</strong><ul>{items}</ul></div>"
        )
    if view.breaches:
        items = "".join(
            f"<li><code>{_e(b.spec)}</code>: {b.actual:,} (limit {b.limit:,}). {_e(b.message)}</li>"
            for b in view.breaches
        )
        parts.append(
            '<div class="panel alert alert-fail" data-testid="breaches">'
            f"<strong>Limits breached</strong><ul>{items}</ul></div>"
        )
    return f'<section class="alerts">{"".join(parts)}</section>' if parts else ""


def _number(testid: str, value: int, css: str) -> str:
    zero = " zero" if value == 0 else ""
    return f'<span class="{css}{zero}" data-testid="{testid}">{value:,}</span>'


def _group(label: str, testid: str, total: int, note: str, parts: dict[str, int]) -> str:
    """A totals panel: one big number and its parts; ``testid-part`` marks each for tests."""
    prefix = testid.split("-")[0]
    cells = "".join(
        f'<div class="stat c-{_e(name)}"><span class="label">{_e(name)}</span>'
        f"{_number(f'{prefix}-{name}', n, 'value')}</div>"
        for name, n in parts.items()
    )
    return (
        f'<div class="group panel"><div class="head"><span class="label">{_e(label)}</span>'
        f'{_number(testid, total, "big")}<span class="note">{_e(note)}</span></div>'
        f'<div class="stats">{cells}</div></div>'
    )


def _cards(view: AuditView) -> str:
    totals = kind_totals(view.plan.summary)
    severities = dict.fromkeys(SEVERITY_ORDER, 0)
    for action in findings(view):
        severities[severity_of(view, action)] += 1
    changes = {kind: totals[kind] for kind in WRITE_KINDS}
    groups = [
        _group("Changes", "total-changes", sum(changes.values()), "apply would write", changes),
        _group("Findings", "findings-all", totals["report"], "reported, never written", severities),
    ]
    if view.delta is not None:
        delta = view.delta
        since = f"since {delta.previous_run_id}" if delta.previous_run_id else "no earlier run"
        rest = {"persisted": len(delta.persisted), "resolved": len(delta.resolved)}
        groups.append(_group("New drift", "delta-new", len(delta.new), since, rest))
    return f'<section class="totals" aria-label="Totals">{"".join(groups)}</section>'


def _charts(view: AuditView) -> str:
    runs: list[RunCounts] = [*view.history, view.run]
    last = len(runs) - 1
    by_kind = [
        Column(run_label(r.started_at), _per_kind(r), current=i == last) for i, r in enumerate(runs)
    ]
    rules = list(dict.fromkeys(rule for r in runs for rule in r.counts))
    by_rule = [
        Column(run_label(r.started_at), {rule: sum(c.values()) for rule, c in r.counts.items()})
        for r in runs
    ]
    kinds = [kind for kind in KIND_ORDER if any(c.values.get(kind) for c in by_kind)]
    kind_legend = _legend([(f"k-{kind}", kind) for kind in kinds])
    rule_legend = _legend([(f"s-{i % 8}", rule) for i, rule in enumerate(rules)])
    note = (
        ""
        if view.history
        else '<p class="note">Earlier runs appear here once the audit has a history.</p>'
    )
    return (
        f'<section><h2>Drift over runs<span class="hint">{len(runs)} run(s), oldest first'
        f'</span></h2><div class="charts">'
        f'<figure class="panel"><figcaption>Actions by kind</figcaption>'
        f"{stacked_bars(by_kind, list(KIND_ORDER), 'Actions by kind per run')}{kind_legend}"
        f'</figure><figure class="panel"><figcaption>Actions per rule</figcaption>'
        f"{line_chart(by_rule, rules, 'Actions per rule per run')}{rule_legend}</figure>"
        f"</div>{note}</section>"
    )


def _per_kind(run: RunCounts) -> dict[str, int]:
    return {kind: sum(c.get(kind, 0) for c in run.counts.values()) for kind in KIND_ORDER}


def _legend(items: Sequence[tuple[str, str]]) -> str:
    entries = "".join(f'<li class="{css}"><i></i>{_e(label)}</li>' for css, label in items)
    return f'<ul class="legend">{entries}</ul>'


def _pair_kinds(view: AuditView) -> list[str]:
    """Kinds that occur in this plan: the rule-and-company table shows only those."""
    totals = kind_totals(view.plan.summary)
    return [kind for kind in KIND_ORDER if totals[kind]]


def _rule_company_table(view: AuditView) -> str:
    if not view.plan.actions:
        pairs = (
            '<section><h2>Drift per rule and company</h2><p class="panel">No drift: '
            "SCM and FS agree for every rule.</p></section>"
        )
    else:
        totals = kind_totals(view.plan.summary)
        kinds = _pair_kinds(view)
        columns = [("Rule", "text"), ("Company", "text")]
        columns += [(kind, "num") for kind in kinds] + [("Total", "num")]
        foot = _foot([totals[kind] for kind in kinds] + [sum(totals.values())], span=2)
        pairs = _table_section("pairs", "Drift per rule and company", columns, 0, "", foot)
    if view.delta is None:
        return pairs
    columns = [("Rule", "text"), ("new", "num"), ("persisted", "num"), ("resolved", "num")]
    delta = view.delta
    foot = _foot([len(delta.new), len(delta.persisted), len(delta.resolved)], span=1)
    title = "Since last run, per rule"
    return f'<div class="split">{pairs}{_table_section("delta", title, columns, 0, "", foot)}</div>'


def _foot(values: Sequence[int], span: int) -> str:
    cells = "".join(f'<td class="num">{value:,}</td>' for value in values)
    return f'<tfoot><tr><td colspan="{span}">All</td>{cells}</tr></tfoot>'


def _actions_section(view: AuditView) -> str:
    writes = [a for a in view.plan.actions if a.kind != "report"]
    columns = [("Kind", "kind"), ("Rule", "text"), ("Company", "text"), ("Key", "key")]
    columns += [("Change", "detail"), *_since_column(view), ("Id", "mono")]
    kinds = [kind for kind in WRITE_KINDS if any(a.kind == kind for a in writes)]
    tools = _toolbar("actions", "Filter actions: rule, key, field, value…", [(0, "kind", kinds)])
    return _table_section("actions", f"Actions ({len(writes):,})", columns, PAGE_ROWS, tools)


def _findings_section(view: AuditView) -> str:
    reports = findings(view)
    columns = [("Severity", "severity"), ("Rule", "text"), ("Finding", "text")]
    columns += [("Company", "text"), ("Key", "key"), ("Message", "text")]
    columns += [*_since_column(view), ("Id", "mono")]
    present = {severity_of(view, a) for a in reports}
    severities: list[str] = [name for name in SEVERITY_ORDER if name in present]
    tools = _toolbar(
        "findings", "Filter findings: rule, key, message…", [(0, "severity", severities)]
    )
    return _table_section("findings", f"Findings ({len(reports):,})", columns, PAGE_ROWS, tools)


def _since_column(view: AuditView) -> list[tuple[str, str]]:
    return [] if view.delta is None else [("Since last run", "since")]


def _toolbar(name: str, placeholder: str, selects: Sequence[tuple[int, str, list[str]]]) -> str:
    parts = [
        f'<input type="search" placeholder="{_e(placeholder)}" aria-label="{_e(placeholder)}" '
        f'data-testid="{name}-filter">'
    ]
    for column, label, options in selects:
        choices = "".join(f'<option value="{_e(o)}">{_e(o)}</option>' for o in options)
        parts.append(
            f'<select data-col="{column}" aria-label="{_e(label)}" data-testid="{name}-{label}">'
            f'<option value="">every {_e(label)}</option>{choices}</select>'
        )
    parts.append(f'<span class="count" data-role="count" data-testid="{name}-count"></span>')
    return f'<div class="toolbar">{"".join(parts)}</div>'


def _table_section(
    name: str, title: str, columns: Sequence[tuple[str, str]], page: int, tools: str, foot: str = ""
) -> str:
    heads = "".join(
        f'<th data-type="{kind}" aria-sort="none" class="{kind}">'
        f'<button type="button">{_e(label)}</button></th>'
        for label, kind in columns
    )
    more = '<button type="button" class="more" hidden></button>' if page else ""
    return (
        f'<section id="{name}" data-table="{name}" data-page="{page}"><h2>{_e(title)}</h2>{tools}'
        f'<div class="tablewrap"><table data-testid="{name}-table"><thead><tr>{heads}</tr></thead>'
        f"<tbody></tbody>{foot}</table></div>{more}</section>"
    )


def _footer(view: AuditView) -> str:
    plan = view.plan
    return (
        f"<footer>Plan <code>{_e(plan.plan_id)}</code> · format {_e(plan.format_version)} · "
        f"created {_e(plan.created_at)} · rules {_e(', '.join(plan.rules))}</footer>"
    )


def _data_json(view: AuditView) -> str:
    """Rows for the script; ``<``, ``>`` and ``&`` escaped so no value can end the block."""
    since = _since(view)
    actions = [
        [a.kind, a.rule, company_of(a), key_text(a), action_detail(a), *since(a.id), a.id]
        for a in view.plan.actions
        if a.kind != "report"
    ]
    reports = [_finding_row(view, a, since(a.id)) for a in findings(view)]
    kinds = _pair_kinds(view)
    pairs = [
        [rule, company, *(counts[kind] for kind in kinds), sum(counts.values())]
        for (rule, company), counts in drift_by_rule_and_company(view.plan).items()
    ]
    delta = [
        [rule, counts.get("new", 0), counts.get("persisted", 0), counts.get("resolved", 0)]
        for rule, counts in (view.delta.by_rule.items() if view.delta else ())
    ]
    data: dict[str, Any] = {"actions": actions, "findings": reports, "pairs": pairs, "delta": delta}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _finding_row(view: AuditView, action: Action, since: list[str]) -> list[str]:
    where = [action.rule, action.finding or "", company_of(action), key_text(action)]
    return [severity_of(view, action), *where, action.message or "", *since, action.id]


def _since(view: AuditView) -> Callable[[str], list[str]]:
    """The "since last run" cell of an action: new or persisted (none without a delta)."""
    if view.delta is None:
        return lambda _id: []
    new = set(view.delta.new)
    return lambda action_id: ["new" if action_id in new else "persisted"]
