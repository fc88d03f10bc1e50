"""Transport-neutral request/response values.

Service handlers take an ApiRequest and return an ApiResponse so that the same code serves a
direct HTTP call and an operation inside a ``$batch`` body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl

JSON_TYPE = "application/json; odata.metadata=minimal"


class Headers:
    """Case-insensitive header map that keeps the last value of a repeated header, except for
    ``Prefer``, whose repeated values are joined (clients may send one header per preference)."""

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: dict[str, str] = {}
        for name, value in items or []:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        key = name.lower()
        if key == "prefer" and key in self._items:
            self._items[key] = f"{self._items[key]}, {value}"
        else:
            self._items[key] = value

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._items.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items


@dataclass
class ApiRequest:
    """One OData operation.

    ``path`` is relative to the service root (``Warehouses(...)``, ``$batch``) and already
    percent-decoded; ``query`` is the raw query string; ``base_url`` is scheme://host used to
    build absolute links; ``root`` is the service root path (``/fno/data/``).
    """

    method: str
    path: str
    query: str
    headers: Headers
    body: bytes
    base_url: str
    root: str

    @property
    def service_root_url(self) -> str:
        return self.base_url + self.root

    def query_pairs(self) -> list[tuple[str, str]]:
        """Decoded query options in order (``+`` is a space, as in form encoding)."""
        return parse_qsl(self.query, keep_blank_values=True)

    def json_body(self) -> object:
        """Parsed body; raises ValueError with a readable message when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"The request body is not valid JSON: {exc}") from exc


@dataclass
class ApiResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(
    status: int, payload: object, headers: list[tuple[str, str]] | None = None
) -> ApiResponse:
    """A JSON response with the OData version header every service answer carries."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    all_headers = [("Content-Type", JSON_TYPE), ("OData-Version", "4.0"), *(headers or [])]
    return ApiResponse(status, all_headers, body)


def empty_response(status: int, headers: list[tuple[str, str]] | None = None) -> ApiResponse:
    return ApiResponse(status, [("OData-Version", "4.0"), *(headers or [])])


def text_response(status: int, text: str) -> ApiResponse:
    headers = [("Content-Type", "text/plain"), ("OData-Version", "4.0")]
    return ApiResponse(status, headers, text.encode("utf-8"))


_PREFERENCE = re.compile(r'\s*([A-Za-z][\w.-]*)(?:\s*=\s*("[^"]*"|[^,;\s]*))?[^,]*,?')


def preferences(headers: Headers) -> dict[str, str]:
    """``Prefer`` header as {preference: value}; quoted values are unquoted and a bare
    preference maps to "" (``odata.include-annotations="a,b"`` keeps its inner commas)."""
    text = headers.get("Prefer") or ""
    result: dict[str, str] = {}
    for match in _PREFERENCE.finditer(text):
        value = match.group(2) or ""
        result[match.group(1).lower()] = value.strip('"')
    return result
