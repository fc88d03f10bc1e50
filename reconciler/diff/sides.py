"""What one rule's diff queries share: the prepared tables and which of their rows count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from reconciler.rules import Rule
from reconciler.sql import ident, literal
from reconciler.tables import prepared_table

__all__ = ["Sides"]


@dataclass(frozen=True)
class Sides:
    """One rule over one snapshot; ``mapped`` lists the legal entities the profile compares,
    ``all_mapped`` says whether every company present in the source is one of them (then
    no company filter is needed: the cheapest filter is none)."""

    rule: Rule
    join_on_company: bool
    mapped: tuple[str, ...]
    all_mapped: bool = False
    header: Sides | None = None
    """For a document line rule: the header rule's sides (see ``DocumentOf``)."""
    lines: tuple[Sides, ...] = ()
    """For a header rule: the sides of its line rules."""

    @classmethod
    def of(
        cls,
        con: duckdb.DuckDBPyConnection,
        rule: Rule,
        companies: Mapping[str, str],
        header: Rule | None = None,
        lines: Sequence[Rule] = (),
    ) -> Sides:
        mapped = tuple(sorted(c for c, value in companies.items() if value))
        sides = cls(
            rule=rule,
            join_on_company=rule.joins_on_company,
            mapped=mapped,
        )
        present: set[str] = set()
        for table in (sides.source, sides.target):
            present |= {
                c for (c,) in con.execute(f"SELECT DISTINCT _company FROM {table}").fetchall()
            }
        return cls(
            rule=sides.rule,
            join_on_company=sides.join_on_company,
            mapped=mapped,
            all_mapped=present <= set(mapped),
            header=None if header is None else cls.of(con, header, companies),
            lines=tuple(cls.of(con, line, companies) for line in lines),
        )

    @property
    def source(self) -> str:
        return ident(prepared_table(self.rule.name, "source"))

    @property
    def target(self) -> str:
        return ident(prepared_table(self.rule.name, "target"))

    @property
    def excluded(self) -> str:
        return ident(prepared_table(self.rule.name, "excluded"))

    @property
    def keys(self) -> list[str]:
        return [f"k{i}" for i in range(len(self.rule.keys))]

    def scope(self, side: str, *, links: bool = True, required: bool = True) -> str:
        """Rows in scope: of a mapped company, and (source) not excluded by a link or an
        inner lookup, and (with ``required``) found by every required lookup."""
        company_rule = self.rule.source.company if side == "source" else self.rule.target.company
        if not company_rule or self.all_mapped:
            condition = "true"
        elif not self.mapped:
            condition = "false"
        else:
            condition = f"_company IN ({', '.join(literal(c) for c in self.mapped)})"
        if side == "source" and links:
            for index in range(len(self.rule.links)):
                condition += f" AND NOT coalesce(x{index}, false)"
            for index, lookup in enumerate(self.rule.source.lookups):
                if (lookup.required and required) or lookup.inner:
                    condition += f" AND q{index}"
        return condition

    def usable(self, side: str) -> str:
        """In scope, with a non-blank key that is unique within its company."""
        return f"{self.scope(side)} AND NOT _blank AND NOT _dup"
