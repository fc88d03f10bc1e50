"""Audit and go-live validation over a plan: the run record, the verdict, the report files.

The commands in ``cli_audit`` stay thin: they snapshot and plan, then ask this module what
the outcome means. Everything here but ``write_reports`` is pure.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import datetime
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.plan import Plan
from reconciler.report.html import render_html
from reconciler.report.json_report import render_json
from reconciler.report.junit import render_junit
from reconciler.report.markdown import render_markdown
from reconciler.report.model import AuditView, RunCounts, Severity
from reconciler.severity import count_by_severity

__all__ = ["REPORT_FILES", "go_no_go", "new_run", "write_reports"]

REPORT_FILES: dict[str, Callable[[AuditView], str]] = {
    "summary.md": render_markdown,
    "report.html": render_html,
    "junit.xml": render_junit,
    "report.json": render_json,
}


def new_run(started: datetime, plan: Plan, severities: Mapping[str, Severity]) -> RunCounts:
    """The run's record: a sortable, unique id (``20261126T020000Z-3f9a1c``) and its counts."""
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    return RunCounts(
        run_id=f"{stamp}-{secrets.token_hex(3)}",
        started_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        counts=plan.summary,
        findings_by_severity=count_by_severity(severities),
    )


def go_no_go(plan: Plan, severities: Mapping[str, Severity]) -> tuple[str, tuple[str, ...]]:
    """``("go" | "no-go", reasons)``: no-go exactly when an error-severity finding exists.

    Pending creates and updates do not block go-live (``reconcile apply`` makes them); the
    reasons still say how many there are, and how many warnings are left to review.
    """
    errors = Counter(
        (action.rule, action.finding or "")
        for action in plan.actions
        if action.kind == "report" and severities.get(action.id) == "error"
    )
    position = {name: index for index, name in enumerate(plan.rules)}
    reasons = [
        f"{rule}: {count} {finding} finding(s) of severity error"
        for (rule, finding), count in sorted(
            errors.items(), key=lambda item: (position.get(item[0][0], len(position)), item[0])
        )
    ]
    if not errors:
        reasons.append(f"no error-severity findings in {len(plan.rules)} rule(s)")
    counts = count_by_severity(severities)
    if counts["warning"] or counts["info"]:
        reasons.append(
            f"{counts['warning']} warning(s) and {counts['info']} info finding(s) to review"
        )
    changes = plan.changes_count()
    if changes:
        reasons.append(
            f"{changes} change(s) pending: `reconcile apply` makes them (they do not block)"
        )
    return ("no-go" if errors else "go"), tuple(reasons)


def write_reports(view: AuditView, folder: Path) -> list[Path]:
    """Write every report into ``folder``: all rendered first, each written to a temporary
    file and then renamed, so a reader (or a CI artefact upload) never sees half a report
    and a failed render leaves the previous reports in place."""
    texts = {name: render(view) for name, render in REPORT_FILES.items()}
    partials = [(folder / f".{name}.partial", folder / name) for name in texts]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for (partial, _final), text in zip(partials, texts.values(), strict=True):
            partial.write_text(text, encoding="utf-8")
        for partial, final in partials:
            partial.replace(final)
    except OSError as exc:
        raise ReconcilerError(
            f"cannot write the reports to {folder}: {exc.strerror or exc}; choose another "
            "--report-dir"
        ) from None
    finally:
        for partial, _final in partials:
            with suppress(OSError):
                partial.unlink(missing_ok=True)
    return [final for _partial, final in partials]
