"""``reconcile apply``: run a saved plan (or a fresh, confirmed one), then maybe refresh."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import click

from reconciler.apply import ApplyOptions, ApplyResult, apply_plan, check_plan_fits
from reconciler.clikit import (
    EXIT_ERROR,
    console,
    errors,
    load_rules_for,
    profile_option,
    progress,
    rules_option,
    take_snapshot,
)
from reconciler.config import Profile, load_profile
from reconciler.connectors.base import Connector
from reconciler.errors import ReconcilerError
from reconciler.journal import open_journal
from reconciler.plan import Plan, load_plan, scope_plan
from reconciler.planner import make_plan
from reconciler.refresh import refreshed_plan
from reconciler.report.text import apply_summary, plan_view, refresh_view
from reconciler.rules import RuleSet
from reconciler.session import open_connectors

__all__ = ["apply"]


@click.command()
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
@click.option(
    "--refresh",
    is_flag=True,
    help="After applying, re-plan rows that changed since the plan (conflicts) from fresh "
    "reads, show the difference, and apply it once confirmed (--auto-approve skips asking).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 1000),
    help="Operations per $batch request (default: the profile's [http] batch_size, 100).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 52),
    help="$batch requests in flight at once (default: the profile's [http] concurrency, 4; "
    "never above Dataverse's 52).",
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
    refresh: bool,
    batch_size: int | None,
    concurrency: int | None,
) -> None:
    """Apply exactly the saved plan (or, without PLAN_PATH, a fresh one after confirmation).

    \b
    Refuses a plan made from other rules or for another environment. Updates carry the
    planned ETag (If-Match): a row changed since the plan is a conflict and is left alone.
    Creates look the key up first, so running a plan twice never duplicates a record.
    Progress is journaled beside the snapshots: re-running an interrupted apply resumes it,
    skipping what is done and checking what was in flight, so nothing is doubled.
    Writes go in $batch requests (--batch-size), a few at a time (--concurrency); a 429
    pauses the whole applier for the Retry-After the service asked for.
    --target/--exclude are for recovery work, not routine runs; dependencies are honoured.
    Exit 0 when every action applied (or was already in place), 1 otherwise.
    """
    profile = load_profile(profile_path)
    rules = load_rules_for(profile, rules_dir, ())
    out = console()
    if plan_path is None:
        saved = make_plan(take_snapshot(profile, rules).path, rules, profile)
        out.print(plan_view(saved))
        if saved.changes_count() == 0:
            return
        _confirm(auto_approve)
    else:
        saved = load_plan(plan_path)
    check_plan_fits(saved, rules, profile)
    if targets or excludes:
        saved = scope_plan(saved, targets, excludes)
    options = ApplyOptions(
        batch_size=batch_size or profile.http.batch_size,
        concurrency=concurrency or profile.http.concurrency,
    )
    with open_connectors(profile, rules) as connectors:
        result = _apply_with_journal(saved, rules, profile, connectors, options, allow_deactivate)
        out.print(apply_summary(result, saved))
        if refresh:
            result = _refresh(saved, result, rules, profile, connectors, options, auto_approve)
    if not result.ok:
        sys.exit(EXIT_ERROR)


def _apply_with_journal(
    saved: Plan,
    rules: RuleSet,
    profile: Profile,
    connectors: Mapping[str, Connector],
    options: ApplyOptions,
    allow_deactivate: bool,
) -> ApplyResult:
    with (
        open_journal(profile.snapshots_dir, saved.plan_id) as journal,
        progress(console(), len(saved.actions), "Applying") as step,
    ):
        return apply_plan(
            saved,
            rules,
            profile,
            connectors,
            on_outcome=lambda _a, _o: step(),
            journal=journal,
            allow_deactivate=allow_deactivate,
            options=options,
        )


def _refresh(
    saved: Plan,
    result: ApplyResult,
    rules: RuleSet,
    profile: Profile,
    connectors: Mapping[str, Connector],
    options: ApplyOptions,
    auto_approve: bool,
) -> ApplyResult:
    """Re-plan the conflicts from fresh reads; apply after showing the difference."""
    out = console()
    again = refreshed_plan(saved, result.outcomes)
    if not again.actions:
        if result.counts()["conflict"]:
            out.print("Nothing to refresh: the conflicts are deleted or ambiguous records.")
        return result
    out.print(refresh_view(again))
    _confirm(auto_approve, "Apply these refreshed changes?")
    refreshed = _apply_with_journal(again, rules, profile, connectors, options, True)
    out.print(apply_summary(refreshed, again))
    return refreshed


def _confirm(auto_approve: bool, question: str = "Apply these changes to SCM and FS?") -> None:
    """Writing without a reviewed plan file needs a yes, typed or given as --auto-approve."""
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise ReconcilerError(
            "refusing to apply an unreviewed plan without a terminal to confirm on: pass "
            "--auto-approve, or save a plan with `reconcile plan --out` and apply that file"
        )
    if not click.confirm(question, default=False):
        raise ReconcilerError("apply cancelled; nothing was written")
