"""Dataverse server-driven paging (api-protocols.md A2): ``$skiptoken`` cookies, the page
size a ``Prefer`` header asks for, and next/delta links.

The token has the documented shape ``<cookie pagenumber="2" pagingcookie="<escaped inner
cookie>" istracking="False" />`` whose inner cookie records the last (and first) values of the
sort columns and the primary id. The next page starts strictly after that position, so rows
inserted or deleted between pages never cause duplicates or gaps among the others. A read
with change tracking says ``istracking="True"`` and its inner cookie also carries the
version the read started at (an attribute of the sandbox's own; the token is opaque), so
that the deltaLink on its last page covers changes made while it was paging.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from reconciler.sandbox.messages import ApiRequest
from reconciler.sandbox.odata_query import OrderItem
from reconciler.sandbox.service_errors import ServiceError

_OUTER = re.compile(r'<cookie\s+pagenumber="(\d+)"\s+pagingcookie="([^"]*)"')
_SAFE = "$',()*:@/=-"


@dataclass(frozen=True)
class Cursor:
    page_number: int
    values: dict[str, Any]
    tracking_version: int | None = None


def page_size(prefs: Mapping[str, str], cap: int, top: int | None) -> tuple[int, int | None]:
    """(rows to return, page size that drives nextLink or None for a plain ``$top``).
    ``$top`` is ignored when a page size is requested, and a size above the cap is (A2)."""
    requested = prefs.get("odata.maxpagesize", "")
    if requested.isdigit() and int(requested) > 0:
        size = min(int(requested), cap)
        return size, size
    if top is not None:
        return min(top, cap), None
    return cap, cap


def preference_headers(applied: int | None, prefs: Mapping[str, str]) -> list[tuple[str, str]]:
    """``Preference-Applied`` for an honoured page size and for requested annotations."""
    headers = []
    if applied is not None and prefs.get("odata.maxpagesize") == str(applied):
        headers.append(("Preference-Applied", f"odata.maxpagesize={applied}"))
    if "odata.include-annotations" in prefs:
        value = prefs["odata.include-annotations"]
        headers.append(("Preference-Applied", f'odata.include-annotations="{value}"'))
    return headers


def link(request: ApiRequest, option: str, value: str) -> str:
    """The request's own URL without ``$skiptoken``, with ``option`` set to ``value``: a
    nextLink (``$skiptoken``) or a deltaLink (``$deltatoken``, fully URL-encoded as in A8)."""
    kept = [(n, v) for n, v in request.query_pairs() if n not in ("$skiptoken", option)]
    parts = [f"{name}={quote(text, safe=_SAFE)}" for name, text in kept]
    parts.append(f"{option}={quote(value, safe=_SAFE if option == '$skiptoken' else '')}")
    return f"{request.service_root_url}{request.path}?{'&'.join(parts)}"


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
    tracking_version: int | None = None,
) -> str:
    """The ``$skiptoken`` value for the page after ``page_number - 1`` (not URL-encoded)."""
    inner = ET.Element("cookie", page=str(page_number - 1))
    if tracking_version is not None:
        inner.set("version", str(tracking_version))
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
    tracking = "False" if tracking_version is None else "True"
    return f'<cookie pagenumber="{page_number}" pagingcookie="{escaped}" istracking="{tracking}" />'


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
        version = inner.get("version")
        tracking_version = None if version is None else int(version)
    except (ValueError, ET.ParseError) as exc:
        raise ServiceError(
            400, f"The $skiptoken value is not valid for this query: {exc}.", code="0x80060888"
        ) from None
    return Cursor(int(match.group(1)), values, tracking_version)
