"""``reconcile audit``, ``validate`` and ``history``: drift audits a pipeline can act on.

``audit`` snapshots, plans (never writes), records the run in the history beside the
snapshots and writes the reports; ``validate`` is the pre-go-live check with a go / no-go
verdict and records nothing; ``history`` shows the recorded runs and what changed between
them.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markdown import Markdown

from reconciler.audit import go_no_go, new_run, write_reports
from reconciler.clikit import (
    EXIT_DRIFT,
    EXIT_OK,
    console,
    errors,
    full_option,
    load_rules_for,
    profile_option,
    rule_filter_option,
    rules_option,
    take_snapshot,
)
from reconciler.config import Profile, load_profile
from reconciler.history import HISTORY_FILE, open_history, read_history
from reconciler.plan import Plan
from reconciler.planner import make_plan
from reconciler.report.audit_text import history_view, validation_view
from reconciler.report.markdown import render_markdown
from reconciler.report.model import AuditView, Breach
from reconciler.rules import RuleSet
from reconciler.severity import check_overrides, classify
from reconciler.thresholds import evaluate, parse_thresholds

__all__ = ["audit", "history", "validate"]

HISTORY_IN_REPORT = 30
"""Earlier runs the report's charts show."""

report_dir_option = click.option(
    "--report-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write summary.md, report.html, junit.xml and report.json here (each replaced "
    "atomically).",
)


@click.command()
@profile_option
@rules_option
@rule_filter_option
@report_dir_option
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    metavar="SPEC",
    help="Exit 2 only when this limit is exceeded (repeatable, or comma-separated): "
    "RULE:KIND>N, RULE>N (its writes), KIND>N, *>N, findings:SEVERITY[>N]; >= works too; "
    "no >N means >0. E.g. --fail-on 'onhand:adjust>50,findings:error'.",
)
@full_option
@errors
def audit(
    profile_path: Path,
    rules_dir: Path | None,
    only: tuple[str, ...],
    report_dir: Path | None,
    fail_on: tuple[str, ...],
    full: bool,
) -> None:
    """Nightly drift audit: snapshot, plan (never writes), record the run, write reports.

    \b
    Prints the markdown summary (rendered on a terminal, raw when piped). Each run is kept
    in history.duckdb beside the snapshots, so the summary and reports say what is new,
    what persisted and what was resolved since the previous audit of this profile.
    Finding severities come from the profile's [severity] table (see README).
    \b
    Exit codes: 0 no drift; 2 drift (changes or findings); 1 error.
    With --fail-on: 0 unless a limit is exceeded, then 2 (the drift is still reported).
    """
    started = datetime.now(UTC)
    profile = load_profile(profile_path)
    rules = _rules(profile, rules_dir, only)
    thresholds = parse_thresholds(fail_on, rules.names())
    plan = make_plan(take_snapshot(profile, rules, full=full).path, rules, profile)
    severities = classify(plan.actions, profile.severity)
    breaches = evaluate(thresholds, plan, severities)
    code = _audit_exit_code(plan, breaches, limits_given=bool(thresholds))
    run = new_run(started, plan, severities)
    with (
        open_history(profile.snapshots_dir) as past,
        past.recording(run, plan, profile.name, code) as delta,
    ):
        earlier = past.runs(profile.name, HISTORY_IN_REPORT, before=run.run_id)
        view = AuditView(
            run=run,
            profile=profile.name,
            snapshot_id=str(plan.snapshot.get("id", "")),
            plan=plan,
            severities=severities,
            breaches=breaches,
            exit_code=code,
            history=tuple(r.run for r in reversed(earlier)),
            delta=delta,
        )
        if report_dir is not None:
            write_reports(view, report_dir)
    _print_markdown(render_markdown(view))
    _reports_note(report_dir)
    sys.exit(code)


@click.command()
@profile_option
@rules_option
@report_dir_option
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(0),
    help="Findings listed per rule and finding name (0 = all; the reports list every one).",
)
@full_option
@errors
def validate(
    profile_path: Path, rules_dir: Path | None, report_dir: Path | None, limit: int, full: bool
) -> None:
    """Pre-go-live check: every rule, every finding by severity, a GO / NO-GO verdict.

    \b
    NO-GO when any finding has severity error (blank or duplicate keys, one key in several
    companies, unmapped values, unresolved links, broken references; the profile's
    [severity] table can change any of them). Pending creates and updates do not block:
    `reconcile apply` makes them. Never writes to SCM or FS and records nothing in the
    audit history.
    \b
    Exit codes: 0 GO; 2 NO-GO; 1 error.
    """
    started = datetime.now(UTC)
    profile = load_profile(profile_path)
    rules = _rules(profile, rules_dir, ())
    plan = make_plan(take_snapshot(profile, rules, full=full).path, rules, profile)
    severities = classify(plan.actions, profile.severity)
    verdict, reasons = go_no_go(plan, severities)
    view = AuditView(
        run=new_run(started, plan, severities),
        profile=profile.name,
        snapshot_id=str(plan.snapshot.get("id", "")),
        plan=plan,
        severities=severities,
        breaches=(),
        exit_code=EXIT_OK if verdict == "go" else EXIT_DRIFT,
        verdict=verdict,
        reasons=reasons,
    )
    if report_dir is not None:
        write_reports(view, report_dir)
    console().print(validation_view(view, limit=limit))
    _reports_note(report_dir)
    sys.exit(view.exit_code)


@click.command("history")
@profile_option
@click.option(
    "--last",
    default=10,
    show_default=True,
    type=click.IntRange(1),
    help="How many of the most recent runs to show.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Tables for people or JSON for tools.",
)
@errors
def history(profile_path: Path, last: int, output_format: str) -> None:
    """Past audit runs of this profile, newest first, with what changed between them.

    \b
    For each run: counts per rule and kind, findings per severity, and compared with the
    run before it, how much drift is new, persisted or was resolved.
    Reads history.duckdb in the profile's snapshots folder; never contacts SCM or FS.
    """
    profile = load_profile(profile_path)
    runs = read_history(profile.snapshots_dir, profile.name, last)
    path = profile.snapshots_dir / HISTORY_FILE
    if output_format == "json":
        document = {
            "profile": profile.name,
            "history": str(path),
            "runs": [run.to_json() for run in runs],
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        console().print(history_view(runs, path))


def _rules(profile: Profile, rules_dir: Path | None, only: tuple[str, ...]) -> RuleSet:
    """The rules of this run; the profile's [severity] names are checked against all rules
    in the folder, so ``--rule`` does not turn a valid override into an error."""
    everything = load_rules_for(profile, rules_dir, ())
    check_overrides(profile.severity, everything, str(profile.path))
    return load_rules_for(profile, rules_dir, only) if only else everything


def _audit_exit_code(plan: Plan, breaches: tuple[Breach, ...], *, limits_given: bool) -> int:
    """Drift (changes or findings) is 2; with --fail-on, only a breached limit is."""
    if limits_given:
        return EXIT_DRIFT if breaches else EXIT_OK
    return EXIT_DRIFT if plan.has_drift() else EXIT_OK


def _print_markdown(text: str) -> None:
    """Rendered for a person at a terminal; the markdown itself when piped (CI summaries)."""
    out = console()
    if out.is_terminal:
        out.print(Markdown(text))
    else:
        click.echo(text, nl=False)


def _reports_note(report_dir: Path | None) -> None:
    if report_dir is not None:
        Console(stderr=True, highlight=False).print(
            f"Reports written to {report_dir}: summary.md, report.html, junit.xml, report.json"
        )
