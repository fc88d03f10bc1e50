"""Diff: set-based SQL per rule over the prepared tables of a snapshot.

For each rule: the findings (``findings.py``), then one full outer join that returns only
rows that differ (``drift.py``), shaped into actions (``shape.py``). Python touches only
drift rows; links that no record satisfies are left ``pending`` for the planner, which
matches them to creates planned by other rules.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping, Sequence

import duckdb

from reconciler.diff import findings
from reconciler.diff.drift import drift_actions
from reconciler.diff.sides import Sides
from reconciler.plan import Action
from reconciler.rules import Rule

__all__ = ["diff_rule"]


def diff_rule(
    con: duckdb.DuckDBPyConnection,
    rule: Rule,
    companies: Mapping[str, str],
    header: Rule | None = None,
    lines: Sequence[Rule] = (),
) -> list[Action]:
    """All actions and findings of one rule; ``companies`` maps legal entity -> FS company;
    ``header`` is the header rule of a document line rule (``rule.document``), ``lines`` the
    line rules of a header rule."""
    sides = Sides.of(con, rule, companies, header, lines)
    with _collector_paused():
        actions = findings.unmapped_companies(con, sides, companies)
        actions += findings.key_findings(con, sides, "source")
        actions += findings.key_findings(con, sides, "target")
        if not sides.join_on_company and rule.source.company:
            actions += findings.cross_company_conflicts(con, sides)
        actions += findings.row_findings(con, sides)
        actions += findings.unknown_lookups(con, sides)
        if rule.actions.mode == "reference":
            actions += findings.broken_references(con, sides)
        else:
            actions += drift_actions(con, sides, companies)
    return actions


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Actions are a hundred thousand small dicts that make no reference cycles; the cyclic
    collector would rescan them again and again (a third of the shaping time at 10M)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
