"""Dataverse ``$skiptoken`` paging cookies (api-protocols.md A2).

The token has the documented shape ``<cookie pagenumber="2" pagingcookie="<escaped inner
cookie>" istracking="False" />`` whose inner cookie records the last (and first) values of the
sort columns and the primary id. The next page starts strictly after that position, so rows
inserted or deleted between pages never cause duplicates or gaps among the others.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from reconciler.sandbox.odata_query import OrderItem
from reconciler.sandbox.service_errors import ServiceError

_OUTER = re.compile(r'<cookie\s+pagenumber="(\d+)"\s+pagingcookie="([^"]*)"')


@dataclass(frozen=True)
class Cursor:
    page_number: int
    values: dict[str, Any]


def _guid_text(value: object) -> str:
    return "{" + str(value).upper() + "}"


def _put_value(element: ET.Element, prefix: str, value: object) -> None:
    """Typed attribute: strings as-is, numbers/booleans tagged, NULL as ``<prefix>null``."""
    if value is None:
        element.set(prefix + "null", "1")
    elif isinstance(value, bool):
        element.set(prefix, "1" if value else "0")
        element.set(prefix + "type", "b")
    elif isinstance(value, (int, float)):
        element.set(prefix, repr(value))
        element.set(prefix + "type", "n")
    else:
        element.set(prefix, str(value))


def _get_value(element: ET.Element, prefix: str) -> object:
    if element.get(prefix + "null") == "1":
        return None
    text = element.get(prefix, "")
    kind = element.get(prefix + "type")
    if kind == "b":
        return text == "1"
    if kind == "n":
        return float(text) if any(c in text for c in ".eEn") else int(text)
    return text


def encode(
    page_number: int,
    order: Sequence[OrderItem],
    primary_id: str,
    first: Mapping[str, Any],
    last: Mapping[str, Any],
) -> str:
    """The ``$skiptoken`` value for the page after ``page_number - 1`` (not URL-encoded)."""
    inner = ET.Element("cookie", page=str(page_number - 1))
    for item in order:
        if item.name == primary_id:
            continue
        column = ET.SubElement(inner, item.name)
        _put_value(column, "last", last.get(item.name))
        _put_value(column, "first", first.get(item.name))
    key = ET.SubElement(inner, primary_id)
    key.set("last", _guid_text(last.get(primary_id)))
    key.set("first", _guid_text(first.get(primary_id)))
    escaped = quote(ET.tostring(inner, encoding="unicode"), safe="")
    return f'<cookie pagenumber="{page_number}" pagingcookie="{escaped}" istracking="False" />'


def decode(token: str, order: Sequence[OrderItem], primary_id: str) -> Cursor:
    """Position encoded in a token; a token that does not fit this query is a 400."""
    match = _OUTER.search(token)
    try:
        if match is None:
            raise ValueError("not a paging cookie")
        inner = ET.fromstring(unquote(match.group(2)))
        values: dict[str, Any] = {}
        for item in order:
            element = inner.find(item.name)
            if element is None:
                raise ValueError(f"no position for {item.name}")
            values[item.name] = _get_value(element, "last")
        key = inner.find(primary_id)
        if key is None:
            raise ValueError("no primary key position")
        values[primary_id] = str(uuid.UUID(key.get("last", "").strip("{}")))
    except (ValueError, ET.ParseError) as exc:
        raise ServiceError(
            400, f"The $skiptoken value is not valid for this query: {exc}.", code="0x80060888"
        ) from None
    return Cursor(int(match.group(1)), values)
