"""The ``reconcile`` command: thin click commands over the library.

Exit codes (Terraform's ``-detailed-exitcode`` convention):
0 success (and, with --detailed-exitcode, no drift); 1 error, or apply left something
unapplied; 2 success with drift or changes present (plan --detailed-exitcode).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reconciler import __version__
from reconciler.cli_apply import apply
from reconciler.cli_audit import audit, history, validate
from reconciler.cli_sandbox import demo, sandbox
from reconciler.clikit import (
    EXIT_DRIFT,
    ReconcileGroup,
    console,
    errors,
    full_option,
    load_rules_for,
    profile_option,
    rule_filter_option,
    rules_option,
    take_snapshot,
)
from reconciler.config import load_profile
from reconciler.plan import Plan, dumps, load_plan, save_plan
from reconciler.planner import make_plan
from reconciler.report.text import plan_view
from reconciler.snapshot import latest_snapshot

__all__ = ["main"]


@click.group(
    cls=ReconcileGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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
@full_option
@errors
def snapshot(profile_path: Path, rules_dir: Path | None, only: tuple[str, ...], full: bool) -> None:
    """Read what the rules need from SCM and FS into a new immutable snapshot file.

    The file lands in the profile's snapshots folder; a failed read leaves nothing behind.
    FS tables read whole are brought up to date from the previous snapshot through
    Dataverse change tracking (a full read when the token expired: a note says so); SCM
    entities are read per legal entity, a few at a time ([http] concurrency).
    """
    profile = load_profile(profile_path)
    rules = load_rules_for(profile, rules_dir, only)
    info = take_snapshot(profile, rules, full=full)
    out = console()
    for table in info.tables:
        out.print(
            f"{table.system:9} {table.label:30} {table.rows:>10,} rows  "
            f"{table.requests:>6} requests  {table.mode}"
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
@full_option
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
    full: bool,
) -> None:
    """Diff SCM and FS and show what apply would do. Never writes to either system.

    Without --snapshot a fresh snapshot is taken first. Orphans and data-quality findings
    appear as 'report' actions: they count as drift but are never written.
    """
    profile = load_profile(profile_path)
    rules = load_rules_for(profile, rules_dir, only)
    if snapshot_ref is None:
        snapshot_path = take_snapshot(profile, rules, full=full).path
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
    loaded = load_rules_for(profile, rules_dir, ())
    out = console()
    for rule in loaded:
        out.print(
            f"ok  {rule.name:20} {rule.source.system}:{rule.source.entity} -> "
            f"{rule.target.system}:{rule.target.entity}  ({loaded.files[rule.name]})"
        )
    out.print(f"{len(loaded)} rule(s) valid; rules hash {loaded.hash}")


def _print_plan(result: Plan, output_format: str, limit: int) -> None:
    if output_format == "json":
        click.echo(dumps(result), nl=False)
    else:
        console().print(plan_view(result, limit=limit))


main.add_command(apply)
main.add_command(sandbox)
main.add_command(demo)
main.add_command(audit)
main.add_command(validate)
main.add_command(history)
