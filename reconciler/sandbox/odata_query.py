"""System query options ($select, $filter, $orderby, $top, $skip, $count, $skiptoken):
parsing, ordering and projection. Paging policy belongs to each service."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from reconciler.sandbox.odata_eval import collate
from reconciler.sandbox.odata_filter import FilterSyntaxError, Node, parse_filter
from reconciler.sandbox.service_errors import ServiceError

Row = Mapping[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class OrderItem:
    name: str
    descending: bool = False


@dataclass
class QueryOptions:
    """Decoded query string. ``custom`` keeps non-system options (``cross-company``)."""

    select: tuple[str, ...] | None = None
    filter: Node | None = None
    filter_text: str = ""
    orderby: tuple[OrderItem, ...] = ()
    top: int | None = None
    skip: int | None = None
    count: bool = False
    skiptoken: str | None = None
    custom: dict[str, str] = field(default_factory=dict)


def _non_negative(name: str, text: str) -> int:
    if not text.isdigit():
        raise ServiceError(400, f"Invalid value '{text}' for {name} query option found.")
    return int(text)


def _parse_select(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise ServiceError(400, "The $select query option must not be empty.")
    return names


def parse_orderby(text: str) -> tuple[OrderItem, ...]:
    """``a desc, b`` -> items; anything but a property and asc/desc is rejected."""
    items: list[OrderItem] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise ServiceError(400, f"Syntax error in '$orderby={text}'.")
        items.append(OrderItem(words[0], len(words) == 2 and words[1] == "desc"))
    return tuple(items)


def _parse_count(text: str) -> bool:
    if text not in ("true", "false"):
        raise ServiceError(400, f"'{text}' is not a valid count option.")
    return text == "true"


# Options the real services support but the sandbox does not emulate: a 501 says so plainly
# instead of pretending the service lacks them or silently ignoring them.
NOT_EMULATED = frozenset({"$expand", "$apply"})


def parse_query(pairs: Iterable[tuple[str, str]], supported: set[str]) -> QueryOptions:
    """Parse the options a service supports; any other system option is rejected rather
    than ignored (both services answer 400 for options they do not support)."""
    options = QueryOptions()
    for name, value in pairs:
        if name in NOT_EMULATED:
            raise ServiceError(501, f"The sandbox does not implement the query option '{name}'.")
        if name.startswith("$") and name not in supported:
            raise ServiceError(400, f"The query parameter '{name}' is not supported.")
        _apply_option(options, name, value)
    return options


def _apply_option(options: QueryOptions, name: str, value: str) -> None:
    if name == "$select":
        options.select = _parse_select(value)
    elif name == "$filter":
        try:
            options.filter = parse_filter(value)
        except FilterSyntaxError as exc:
            raise ServiceError(400, str(exc)) from exc
        options.filter_text = value
    elif name == "$orderby":
        options.orderby = parse_orderby(value)
    elif name == "$top":
        options.top = _non_negative(name, value)
    elif name == "$skip":
        options.skip = _non_negative(name, value)
    elif name == "$count":
        options.count = _parse_count(value)
    elif name == "$skiptoken":
        options.skiptoken = value
    else:
        options.custom[name] = value


def sort_key(value: object) -> tuple[int, Any]:
    """Total order over mixed JSON values: NULL first (SQL Server ascending), then by type."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, str):
        return (3, collate(value))
    if isinstance(value, datetime):
        return (4, collate(value))
    return (5, str(value))


def sort_rows(
    items: Sequence[T], order: Sequence[OrderItem], row_of: Callable[[T], Row]
) -> list[T]:
    """Stable sort of rows (or records holding rows); descending puts NULLs last, as SQL
    Server does. One pass per run of columns sorted the same way, last run first, so the
    usual all-ascending order (a key of nine fields) costs a single sort."""
    result = list(items)
    runs: list[list[OrderItem]] = []
    for item in order:
        if runs and runs[-1][0].descending == item.descending:
            runs[-1].append(item)
        else:
            runs.append([item])
    for run in reversed(runs):
        names = [item.name for item in run]
        result.sort(key=_composite_key(names, row_of), reverse=run[0].descending)
    return result


def _composite_key(names: list[str], row_of: Callable[[T], Row]) -> Callable[[T], Any]:
    if len(names) == 1:
        name = names[0]
        return lambda entry: sort_key(row_of(entry).get(name))
    return lambda entry: tuple([sort_key(row_of(entry).get(name)) for name in names])


def is_after(row: Row, cursor: Row, order: Sequence[OrderItem]) -> bool:
    """Whether ``row`` sorts strictly after the cursor position under ``order``."""
    for item in order:
        mine, theirs = sort_key(row.get(item.name)), sort_key(cursor.get(item.name))
        if mine != theirs:
            return (mine < theirs) if item.descending else (mine > theirs)
    return False


def first_after(
    items: Sequence[T], cursor: Row, order: Sequence[OrderItem], row_of: Callable[[T], Row]
) -> int:
    """Index of the first item after the cursor in items sorted by ``order``: a binary search,
    so resuming from a paging cookie costs O(log n) comparisons, not a pass over the table."""
    low, high = 0, len(items)
    while low < high:
        middle = (low + high) // 2
        if is_after(row_of(items[middle]), cursor, order):
            high = middle
        else:
            low = middle + 1
    return low


def project(row: Row, select: Sequence[str] | None, always: Sequence[str] = ()) -> dict[str, Any]:
    """Copy of a row limited to ``$select`` (plus ``always`` columns, e.g. Dataverse's id)."""
    if select is None:
        return dict(row)
    names = [*select, *(name for name in always if name not in select)]
    return {name: row.get(name) for name in names}
