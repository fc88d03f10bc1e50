"""The ``reconcile`` command: thin click commands over the library.

Exit codes (Terraform's ``-detailed-exitcode`` convention):
0 success (and, with --detailed-exitcode, no drift); 1 error, or apply left something
unapplied; 2 success with drift or changes present (plan --detailed-exitcode).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from reconciler import __version__
from reconciler.apply import apply_plan, check_plan_fits
from reconciler.cli_sandbox import demo, sandbox
from reconciler.clikit import EXIT_DRIFT, EXIT_ERROR, console, errors, page_progress, progress
from reconciler.config import Profile, load_profile
from reconciler.errors import ReconcilerError
from reconciler.journal import open_journal
from reconciler.plan import Plan, dumps, load_plan, save_plan, scope_plan
from reconciler.planner import make_plan
from reconciler.report.text import apply_summary, plan_view
from reconciler.rules import RuleSet, default_rules_dir, load_rules
from reconciler.session import open_connectors, snapshot_now
from reconciler.snapshot import SnapshotInfo, latest_snapshot

__all__ = ["main"]


def _load_rules_for(
    profile: Profile | None, rules_dir: Path | None, only: tuple[str, ...]
) -> RuleSet:
    folder = rules_dir or (profile.rules_dir if profile else default_rules_dir())
    return load_rules(folder, only)


profile_option = click.option(
    "--profile",
    "profile_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Profile TOML: service URLs, tenant, client id, secret env var, company map.",
)
rules_option = click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Rules folder (default: the profile's [paths] rules).",
)
rule_filter_option = click.option(
    "--rule",
    "only",
    multiple=True,
    help="Limit to this rule (repeatable).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconcile")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """Keep Dynamics 365 Supply Chain Management (SCM) and Field Service (FS) in agreement.

    \b
    Typical use:
      reconcile snapshot --profile prod.toml         read both systems into DuckDB
      reconcile plan --profile prod.toml --out p.json --detailed-exitcode
      reconcile show p.json                          review
      reconcile apply p.json --profile prod.toml     write exactly that plan

    \b
    Exit codes: 0 success / no drift; 1 error (or apply left actions unapplied);
    2 success with drift present (plan --detailed-exitcode).
    """


@main.command()
@profile_option
@rules_option
@rule_filter_option
@errors
def snapshot(profile_path: Path, rules_dir: Path | None, only: tuple[str, ...]) -> None:
    """Read what the rules need from SCM and FS into a new immutable snapshot file.

    The file lands in the profile's snapshots folder; a failed read leaves nothing behind.
    """
    profile = load_profile(profile_path)
    rules = _load_rules_for(profile, rules_dir, only)
    info = _take_snapshot(profile, rules)
    out = console()
    for table in info.tables:
        out.print(
            f"{table.system:9} {table.label:30} {table.rows:>10,} rows  "
            f"{table.requests:>6} requests"
        )
    out.print(f"Snapshot {info.path}")


@main.command()
@profile_option
@rules_option
@rule_filter_option
@click.option(
    "--snapshot",
    "snapshot_ref",
    metavar="PATH|latest",
    help="Plan from this snapshot instead of taking a fresh one ('latest' = newest).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Save the plan here for `reconcile apply`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is no drift, 2 when there is (1 stays 'error').",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Print a table for people or the plan JSON for tools.",
)
@click.option(
    "--limit", default=50, show_default=True, help="Actions shown per kind in text output."
)
@errors
def plan(
    profile_path: Path,
    rules_dir: Path | None,
    only: tuple[str, ...],
    snapshot_ref: str | None,
    out_path: Path | None,
    detailed_exitcode: bool,
    output_format: str,
    limit: int,
) -> None:
    """Diff SCM and FS and show what apply would do. Never writes to either system.

    Without --snapshot a fresh snapshot is taken first. Orphans and data-quality findings
    appear as 'report' actions: they count as drift but are never written.
    """
    profile = load_profile(profile_path)
    rules = _load_rules_for(profile, rules_dir, only)
    if snapshot_ref is None:
        snapshot_path = _take_snapshot(profile, rules).path
    elif snapshot_ref == "latest":
        snapshot_path = latest_snapshot(profile.snapshots_dir)
    else:
        snapshot_path = Path(snapshot_ref)
    result = make_plan(snapshot_path, rules, profile)
    if out_path:
        save_plan(result, out_path)
    _print_plan(result, output_format, limit)
    if out_path and output_format == "text":
        console().print(
            f"Saved plan to {out_path}. Apply it with: "
            f"reconcile apply {out_path} --profile {profile_path}"
        )
    if detailed_exitcode and result.has_drift():
        sys.exit(EXIT_DRIFT)


@main.command()
@click.argument("plan_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--limit", default=50, show_default=True, help="Actions shown per kind in text output."
)
@errors
def show(plan_path: Path, output_format: str, limit: int) -> None:
    """Show a saved plan."""
    _print_plan(load_plan(plan_path), output_format, limit)


@main.command()
@click.argument("plan_path", required=False, type=click.Path(path_type=Path, dir_okay=False))
@profile_option
@rules_option
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Without PLAN_PATH: apply the fresh plan without asking (pipelines).",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="RULE",
    help="Exceptional: apply only this rule's actions (and what they depend on).",
)
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="RULE",
    help="Exceptional: leave this rule's actions (and what depends on them) out.",
)
@click.option(
    "--allow-deactivate",
    is_flag=True,
    help='Let the plan deactivate orphans (rules with orphan = "deactivate").',
)
@errors
def apply(
    plan_path: Path | None,
    profile_path: Path,
    rules_dir: Path | None,
    auto_approve: bool,
    targets: tuple[str, ...],
    excludes: tuple[str, ...],
    allow_deactivate: bool,
) -> None:
    """Apply exactly the saved plan (or, without PLAN_PATH, a fresh one after confirmation).

    \b
    Refuses a plan made from other rules or for another environment. Updates carry the
    planned ETag (If-Match): a row changed since the plan is a conflict and is left alone.
    Creates look the key up first, so running a plan twice never duplicates a record.
    Progress is journaled beside the snapshots: re-running an interrupted apply resumes it,
    skipping what is done and checking what was in flight, so nothing is doubled.
    --target/--exclude are for recovery work, not routine runs; dependencies are honoured.
    Exit 0 when every action applied (or was already in place), 1 otherwise.
    """
    profile = load_profile(profile_path)
    rules = _load_rules_for(profile, rules_dir, ())
    out = console()
    if plan_path is None:
        saved = make_plan(_take_snapshot(profile, rules).path, rules, profile)
        out.print(plan_view(saved))
        if saved.changes_count() == 0:
            return
        _confirm(auto_approve)
    else:
        saved = load_plan(plan_path)
    check_plan_fits(saved, rules, profile)
    if targets or excludes:
        saved = scope_plan(saved, targets, excludes)
    with (
        open_journal(profile.snapshots_dir, saved.plan_id) as journal,
        open_connectors(profile, rules) as connectors,
        progress(out, len(saved.actions), "Applying") as step,
    ):
        result = apply_plan(
            saved,
            rules,
            profile,
            connectors,
            on_outcome=lambda _a, _o: step(),
            journal=journal,
            allow_deactivate=allow_deactivate,
        )
    out.print(apply_summary(result, saved))
    if not result.ok:
        sys.exit(EXIT_ERROR)


def _confirm(auto_approve: bool) -> None:
    """Writing without a reviewed plan file needs a yes, typed or given as --auto-approve."""
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise ReconcilerError(
            "refusing to apply an unreviewed plan without a terminal to confirm on: pass "
            "--auto-approve, or save a plan with `reconcile plan --out` and apply that file"
        )
    if not click.confirm("Apply these changes to SCM and FS?", default=False):
        raise ReconcilerError("apply cancelled; nothing was written")


@main.group()
def rules() -> None:
    """Inspect and validate rule files."""


@rules.command("check")
@rules_option
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Use the profile's rules folder.",
)
@errors
def rules_check(rules_dir: Path | None, profile_path: Path | None) -> None:
    """Validate every rule file; errors name file, line, rule and field."""
    profile = load_profile(profile_path) if profile_path else None
    loaded = _load_rules_for(profile, rules_dir, ())
    out = console()
    for rule in loaded:
        out.print(
            f"ok  {rule.name:20} {rule.source.system}:{rule.source.entity} -> "
            f"{rule.target.system}:{rule.target.entity}  ({loaded.files[rule.name]})"
        )
    out.print(f"{len(loaded)} rule(s) valid; rules hash {loaded.hash}")


def _take_snapshot(profile: Profile, rules: RuleSet) -> SnapshotInfo:
    with page_progress(Console(stderr=True)) as on_page:
        return snapshot_now(profile, rules, on_page=on_page)


def _print_plan(result: Plan, output_format: str, limit: int) -> None:
    if output_format == "json":
        click.echo(dumps(result), nl=False)
    else:
        console().print(plan_view(result, limit=limit))


main.add_command(sandbox)
main.add_command(demo)
