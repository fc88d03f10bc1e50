"""``reconcile sandbox serve`` and ``reconcile demo``: the built-in emulator of SCM and FS."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console

from reconciler.apply import apply_plan
from reconciler.clikit import EXIT_ERROR, console, errors
from reconciler.config import SANDBOX_SECRET_ENV, Profile, load_profile, sandbox_profile_text
from reconciler.journal import open_journal
from reconciler.plan import save_plan
from reconciler.planner import make_plan
from reconciler.report.text import apply_summary, plan_view
from reconciler.rules import default_rules_dir, load_rules
from reconciler.sandbox import RunningSandbox, Sandbox, serve_forever, start
from reconciler.session import open_connectors, snapshot_now

__all__ = ["demo", "sandbox"]


@click.group()
def sandbox() -> None:
    """The built-in local emulator of SCM (F&O OData) and FS (Dataverse Web API)."""


@sandbox.command("serve")
@click.option("--port", default=0, show_default=True, help="Loopback port; 0 picks a free one.")
@click.option(
    "--seed",
    "seed_name",
    type=click.Choice(["demo"]),
    help="Generate seed data with planted drift of every kind.",
)
@click.option("--seed-number", default=7, show_default=True, help="Random seed for --seed.")
@click.option(
    "--warehouses-per-company", type=int, help="Scale the in-sync warehouses per company."
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help='Load DIR/fno/<EntitySet>.json and DIR/dataverse/<entityset>.json ({"value": [...]}).',
)
@click.option(
    "--profile-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a profile pointing at this sandbox (the secret is not stored in it).",
)
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Rules folder the written profile uses (default: the shipped rules).",
)
@errors
def serve(
    port: int,
    seed_name: str | None,
    seed_number: int,
    warehouses_per_company: int | None,
    data_dir: Path | None,
    profile_out: Path | None,
    rules_dir: Path | None,
) -> None:
    """Run the sandbox on 127.0.0.1 until Ctrl-C.

    \b
    Example:
      reconcile sandbox serve --seed demo --profile-out sandbox-profile.toml
      export RECONCILE_SANDBOX_SECRET=...   (printed at start)
      reconcile plan --profile sandbox-profile.toml
    """
    if (seed_name is None) == (data_dir is None):
        raise click.UsageError("give exactly one of --seed demo or --data DIR")
    world = (
        Sandbox.from_seed(
            seed_name or "demo", seed=seed_number, warehouses_per_company=warehouses_per_company
        )
        if data_dir is None
        else _load_data(data_dir)
    )

    def ready(running: RunningSandbox) -> None:
        out = console()
        values = running.profile_values()
        out.print(f"Sandbox listening on {running.base_url}")
        out.print(f"  SCM (F&O) OData root:  {running.fno_url}/data/")
        out.print(f"  FS (Dataverse) root:   {running.dataverse_url}/api/data/v9.2/")
        out.print(f"  identity endpoint:     {running.identity_url}")
        if profile_out:
            _write_profile(profile_out, values, rules_dir or default_rules_dir())
            out.print(f"Profile written to {profile_out}")
        out.print(f"Before using it: export {SANDBOX_SECRET_ENV}={values['client_secret']}")
        out.print("Press Ctrl-C to stop.")

    serve_forever(world, "127.0.0.1", port, on_ready=ready)


@click.command()
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the profile, snapshots and plan go (default: a new temporary folder).",
)
@click.option("--seed-number", default=7, show_default=True, help="Random seed of the demo data.")
@errors
def demo(workdir: Path | None, seed_number: int) -> None:
    """Run the whole job once against the built-in sandbox.

    Starts the sandbox on a free loopback port with seeded drift, plans, shows the plan,
    applies it, then plans again to show that no changes remain (orphans stay reported:
    the tool never deletes). Exit 0 when the second plan has no changes.
    """
    folder = workdir or Path(tempfile.mkdtemp(prefix="reconcile-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    out = console()
    with start(Sandbox.from_seed("demo", seed=seed_number)) as running:
        values = running.profile_values()
        os.environ[SANDBOX_SECRET_ENV] = str(values["client_secret"])
        profile = _write_profile(folder / "profile.toml", values, default_rules_dir())
        out.rule("1. plan")
        out.print(f"Sandbox on {running.base_url}; working folder {folder}")
        changes_left = _demo_cycle(profile, folder, out)
    if changes_left:
        sys.exit(EXIT_ERROR)


def _demo_cycle(profile: Profile, folder: Path, out: Console) -> int:
    rules = load_rules(profile.rules_dir)
    first = make_plan(snapshot_now(profile, rules).path, rules, profile)
    save_plan(first, folder / "plan.json")
    out.print(plan_view(first))
    out.rule("2. apply")
    with (
        open_journal(profile.snapshots_dir, first.plan_id) as journal,
        open_connectors(profile, rules) as connectors,
    ):
        result = apply_plan(first, rules, profile, connectors, journal=journal)
    out.print(apply_summary(result, first))
    out.rule("3. plan again")
    second = make_plan(snapshot_now(profile, rules).path, rules, profile)
    out.print(plan_view(second))
    if second.changes_count() == 0:
        out.print(
            "[bold green]No changes left: SCM and FS agree.[/] Findings, if any, are "
            "reported and never written (the tool never deletes)."
        )
    return second.changes_count()


def _write_profile(path: Path, values: dict[str, object], rules_dir: Path) -> Profile:
    snapshots = path.parent / "snapshots"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        sandbox_profile_text(
            values, rules_dir=rules_dir.resolve(), snapshots_dir=snapshots.resolve()
        ),
        encoding="utf-8",
    )
    return load_profile(path)


def _load_data(data_dir: Path) -> Sandbox:
    try:
        return Sandbox.from_data_dir(data_dir)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--data") from None
