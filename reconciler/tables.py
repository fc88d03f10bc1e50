"""Names of the tables and derived columns inside a snapshot file (one place, many readers)."""

from __future__ import annotations

import hashlib

__all__ = ["ETAG", "NUMBER_TYPE", "PREPARED_LAYOUT", "nk", "prepared_table", "table_name"]

ETAG = "_etag"
"""Each raw table keeps the row's ``@odata.etag`` under this name."""

NUMBER_TYPE = "DECIMAL(38, 10)"
"""Every number in a snapshot: exact, so rounding 0.015 to two decimals gives 0.02."""

PREPARED_LAYOUT = "2"
"""The columns prepared tables carry; a snapshot prepared with another layout is taken
again rather than misread (2: the ``_kh`` key hash the diff joins on, the ``_show`` display
values it fetches)."""


def table_name(system: str, entity: str, filter: str | None = None) -> str:
    """The raw snapshot table of one entity, e.g. ``fno__Warehouses``.

    An entity read with a rule's OData filter gets its own table (the service filters, so
    the semantics are the service's): ``fno__Projects__<8 hex of the filter>``.
    """
    if not filter:
        return f"{system}__{entity}"
    return f"{system}__{entity}__{hashlib.sha256(filter.encode()).hexdigest()[:8]}"


def nk(column: str) -> str:
    """The stored normalised (trimmed, case-folded) twin of a joined column."""
    return f"_nk_{column}"


def prepared_table(rule: str, side: str) -> str:
    """The flat table a rule's diff reads for one side: ``prep__<rule>__source|target``."""
    return f"prep__{rule}__{side}"
