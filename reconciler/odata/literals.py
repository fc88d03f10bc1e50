"""OData literals, key segments, filters and query strings, built without string pasting.

Every value that reaches a URL goes through one of these functions, so a key like
``O'BRIEN`` is escaped (``''``) and percent-encoded the same way everywhere. Pure: no I/O.

Two encoding steps, kept apart on purpose:

1. *literal*: a Python value becomes OData syntax (``'O''BRIEN'``, ``true``, a bare GUID);
2. *URL*: the OData text is percent-encoded for the path or the query string.

Filters are :class:`Filter` objects (a ``str`` subclass) so the combinators only accept
expressions made by the builders, never raw text with unescaped values in it.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import quote

__all__ = [
    "ENUM_NAMESPACE",
    "EnumValue",
    "Filter",
    "and_",
    "eq",
    "ge",
    "gt",
    "in_",
    "key_segment",
    "le",
    "literal",
    "lt",
    "ne",
    "not_",
    "or_",
    "query_string",
    "string_literal",
]

ENUM_NAMESPACE = "Microsoft.Dynamics.DataEntities"
"""Namespace of F&O enum types (api-protocols B2)."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROPERTY_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*")
_QUALIFIED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")

# Inside a literal only unreserved characters and the quote stay as they are: ',', '=',
# '(', ')', '/', '+', '&', '#', '?', '%', spaces and non-ASCII are percent-encoded so they
# can never be read as URL or key-segment syntax. The quote is legal in paths and queries.
_LITERAL_SAFE = "'"
# Query values may also keep parentheses (they are filter syntax, never data: data
# parentheses only occur inside quoted literals, which servers decode first anyway).
_QUERY_SAFE = "'()"


@dataclass(frozen=True)
class EnumValue:
    """An F&O enum member, written ``Microsoft.Dynamics.DataEntities.NoYes'Yes'``."""

    enum_type: str
    member: str

    def __post_init__(self) -> None:
        if not _QUALIFIED_NAME.fullmatch(self.enum_type):
            raise ValueError(f"invalid F&O enum type name {self.enum_type!r}")
        if not _IDENTIFIER.fullmatch(self.member):
            raise ValueError(f"invalid member {self.member!r} of F&O enum {self.enum_type}")


class Filter(str):
    """A ``$filter`` expression built by this module (not yet URL-encoded)."""

    __slots__ = ()


# --- literals ---------------------------------------------------------------------------


def string_literal(value: str) -> str:
    """``O'BRIEN`` → ``'O''BRIEN'``: OData doubles a quote inside a string literal."""
    return "'" + value.replace("'", "''") + "'"


def literal(value: object) -> str:
    """The OData literal for a Python value (str, UUID, number, bool, None, datetime, date,
    :class:`EnumValue`). GUIDs are written bare only when given as ``uuid.UUID``: a GUID held
    in a ``str`` stays a quoted string, because the caller said it is text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return _number_literal(value)
    if isinstance(value, datetime):
        return _datetime_literal(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, EnumValue):
        return f"{ENUM_NAMESPACE}.{value.enum_type}{string_literal(value.member)}"
    raise TypeError(f"no OData literal for {type(value).__name__} value")


def _number_literal(value: int | float | Decimal) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"OData has no literal for {value!r}")
        return repr(value)
    if not value.is_finite():
        raise ValueError(f"OData has no literal for {value!r}")
    return format(value, "f")


def _datetime_literal(value: datetime) -> str:
    """DateTimeOffset in UTC; naive datetimes are refused (which zone would they mean?)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime {value.isoformat()} has no time zone; pass an aware datetime")
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


# --- key segments -----------------------------------------------------------------------


def key_segment(key: Mapping[str, object] | uuid.UUID) -> str:
    """The percent-encoded key segment that follows an entity set name in a URL.

    ``{"dataAreaId": "usmf", "WarehouseId": "O'BRIEN"}`` →
    ``(dataAreaId='usmf',WarehouseId='O''BRIEN')``; a UUID → ``(00000000-…)``.
    """
    if isinstance(key, uuid.UUID):
        return f"({key})"
    if not key:
        raise ValueError("a key segment needs at least one key field")
    parts = [f"{_name(field)}={_path_encode(literal(value))}" for field, value in key.items()]
    return "(" + ",".join(parts) + ")"


def _path_encode(text: str) -> str:
    return quote(text, safe=_LITERAL_SAFE)


def _name(field: str) -> str:
    if not _IDENTIFIER.fullmatch(field):
        raise ValueError(f"invalid OData property name {field!r}")
    return field


def _path(field: str) -> str:
    if not _PROPERTY_PATH.fullmatch(field):
        raise ValueError(f"invalid OData property path {field!r}")
    return field


# --- filters ----------------------------------------------------------------------------


def _compare(operator: str, field: str, value: object) -> Filter:
    return Filter(f"{_path(field)} {operator} {literal(value)}")


def eq(field: str, value: object) -> Filter:
    """``field eq <literal>``; for an F&O "contains", pass ``'*text*'`` as the value."""
    return _compare("eq", field, value)


def ne(field: str, value: object) -> Filter:
    """``field ne <literal>``."""
    return _compare("ne", field, value)


def gt(field: str, value: object) -> Filter:
    """``field gt <literal>``."""
    return _compare("gt", field, value)


def ge(field: str, value: object) -> Filter:
    """``field ge <literal>``."""
    return _compare("ge", field, value)


def lt(field: str, value: object) -> Filter:
    """``field lt <literal>``."""
    return _compare("lt", field, value)


def le(field: str, value: object) -> Filter:
    """``field le <literal>``."""
    return _compare("le", field, value)


def _checked(part: Filter) -> Filter:
    if not isinstance(part, Filter):
        raise TypeError("combine only filters built by literals.eq/and_/…, never raw strings")
    return part


def _join(operator: str, parts: Sequence[Filter]) -> Filter:
    if not parts:
        raise ValueError(f"'{operator}' needs at least one filter")
    if len(parts) == 1:
        return _checked(parts[0])
    return Filter(f" {operator} ".join(f"({_checked(part)})" for part in parts))


def and_(*parts: Filter) -> Filter:
    """All of ``parts``; each is parenthesised so precedence never surprises."""
    return _join("and", parts)


def or_(*parts: Filter) -> Filter:
    """Any of ``parts``."""
    return _join("or", parts)


def not_(part: Filter) -> Filter:
    """The negation of ``part``."""
    return Filter(f"not ({_checked(part)})")


def in_(field: str, values: Iterable[object]) -> Filter:
    """``field`` equals one of ``values``, as an ``or`` chain: F&O has no ``in`` operator.

    Raises ValueError on an empty set (there is nothing to ask the service for); callers
    chunk long lists to stay under URL limits.
    """
    parts = [eq(field, value) for value in values]
    if not parts:
        raise ValueError(f"in_({field!r}) needs at least one value")
    return or_(*parts)


# --- query strings ----------------------------------------------------------------------


def query_string(options: Mapping[str, str]) -> str:
    """``?$select=a%2Cb&$filter=…`` with every value percent-encoded (``+`` as ``%2B``,
    space as ``%20``, ``& $ , / : ; = ? @ #`` encoded); empty when there are no options."""
    if not options:
        return ""
    pairs = [
        f"{quote(name, safe='$')}={quote(value, safe=_QUERY_SAFE)}"
        for name, value in options.items()
    ]
    return "?" + "&".join(pairs)
