"""Shared pieces of the click commands: error mapping, consoles, progress display."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from reconciler.config import Profile
from reconciler.errors import ReconcilerError
from reconciler.rules import RuleSet, default_rules_dir, load_rules
from reconciler.session import snapshot_now
from reconciler.snapshot import SnapshotInfo

__all__ = [
    "EXIT_DRIFT",
    "EXIT_ERROR",
    "EXIT_OK",
    "ReconcileGroup",
    "console",
    "errors",
    "page_progress",
    "progress",
]

F = TypeVar("F", bound=Callable[..., Any])
EXIT_OK, EXIT_ERROR, EXIT_DRIFT = 0, 1, 2


def console() -> Console:
    """Standard output for results (tables, plans)."""
    return Console(highlight=False)


def errors(func: F) -> F:
    """Map every ReconcilerError to a one-paragraph message and exit 1 (--debug re-raises)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ReconcilerError as exc:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            Console(stderr=True, highlight=False).print(f"[bold red]Error:[/] {exc}", markup=True)
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


@contextmanager
def page_progress(out: Console) -> Iterator[Callable[[str, str, int], None]]:
    """Rows read per entity, live on a terminal; silent otherwise."""
    if not out.is_terminal:
        yield lambda _system, _entity, _rows: None
        return
    with out.status("Reading…") as status:
        yield lambda system, entity, rows: status.update(
            f"Reading {system} {entity}: {rows:,} rows"
        )


@contextmanager
def progress(out: Console, total: int, label: str) -> Iterator[Callable[[], None]]:
    if not out.is_terminal or total == 0:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(console=out, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def load_rules_for(
    profile: Profile | None, rules_dir: Path | None, only: tuple[str, ...]
) -> RuleSet:
    """The rules folder given, else the profile's, else the built-in rules."""
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


def take_snapshot(profile: Profile, rules: RuleSet, *, full: bool = False) -> SnapshotInfo:
    """A snapshot now, with page progress and notes (why a table was read in full) on
    stderr; incremental unless ``full``."""
    err = Console(stderr=True)
    with page_progress(err) as on_page:
        return snapshot_now(
            profile,
            rules,
            on_page=on_page,
            on_note=lambda note: err.print(f"note: {note}"),
            incremental=not full,
        )


full_option = click.option(
    "--full",
    is_flag=True,
    help="Read everything again instead of bringing the previous snapshot up to date "
    "(FS change tracking).",
)


class ReconcileGroup(click.Group):
    """Usage errors (an unknown option, a bad value) exit 1, not click's 2: pipelines read
    2 as "drift found", so a typo in a nightly job must never look like drift."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            exc.exit_code = EXIT_ERROR  # type: ignore[misc]  # per error, not per class
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.exit_code = EXIT_ERROR  # type: ignore[misc]  # per error, not per class
            raise
