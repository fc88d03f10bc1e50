"""Resource paths and key segments: ``Warehouses(dataAreaId='usmf',WarehouseId='O''BRIEN')``,
``msdyn_warehouses(5d7c...)``, ``UnitsOfMeasure('ea')``.

The path is percent-decoded first (``%27`` is a quote, ``%2F`` a slash) and then split on
slashes outside quoted literals, so a key such as ``'A/B'`` survives either spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from reconciler.sandbox.odata_filter import FilterSyntaxError, LiteralValue, Token, tokenize


class KeySyntaxError(ValueError):
    """A malformed path or key predicate (both services answer 400)."""


@dataclass(frozen=True)
class Segment:
    """One path segment; ``key`` holds (name or None when positional, value) pairs."""

    name: str
    key: tuple[tuple[str | None, LiteralValue], ...] | None = None

    def named_key(self) -> dict[str, LiteralValue]:
        return {name: value for name, value in self.key or () if name is not None}

    def single_value(self) -> tuple[bool, LiteralValue]:
        """(True, value) for ``Set(value)``; (False, None) otherwise."""
        if self.key is not None and len(self.key) == 1 and self.key[0][0] is None:
            return True, self.key[0][1]
        return False, None


def decode_path(raw: str) -> str:
    """Percent-decode a raw URL path; ``+`` stays a plus sign (it is not form encoding)."""
    return unquote(raw)


def split_path(path: str) -> list[str]:
    """Split on ``/`` outside single-quoted literals; empty segments are dropped."""
    segments: list[str] = []
    current: list[str] = []
    quoted = False
    for char in path:
        if char == "'":
            quoted = not quoted
        if char == "/" and not quoted:
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise KeySyntaxError(f"Unterminated string literal in '{path}'.")
    segments.append("".join(current))
    return [segment for segment in segments if segment]


def parse_segment(text: str) -> Segment:
    """``Name`` or ``Name(<key predicate>)``."""
    if "(" not in text:
        return Segment(text)
    open_at = text.index("(")
    if not text.endswith(")"):
        raise KeySyntaxError(f"Bad Request - Error in query syntax: '{text}'.")
    inner = text[open_at + 1 : -1]
    return Segment(text[:open_at], _parse_predicate(inner, text))


def _parse_predicate(inner: str, text: str) -> tuple[tuple[str | None, LiteralValue], ...]:
    try:
        tokens = tokenize(inner)[:-1]
    except FilterSyntaxError as exc:
        raise KeySyntaxError(f"Bad Request - Error in query syntax: '{text}'.") from exc
    if len(tokens) == 1 and tokens[0].kind == "literal":
        return ((None, tokens[0].value),)
    if len(tokens) % 4 != 3:
        raise KeySyntaxError(f"Bad Request - Error in query syntax: '{text}'.")
    pairs: list[tuple[str | None, LiteralValue]] = []
    for start in range(0, len(tokens), 4):
        pairs.append(_named_pair(tokens[start : start + 4], text))
    return tuple(pairs)


def _named_pair(tokens: list[Token], text: str) -> tuple[str, LiteralValue]:
    """``name = literal`` optionally followed by a comma."""
    shape = [token.kind for token in tokens[:3]]
    separator_ok = len(tokens) == 3 or (tokens[3].kind == "punct" and tokens[3].text == ",")
    if shape != ["ident", "punct", "literal"] or tokens[1].text != "=" or not separator_ok:
        raise KeySyntaxError(f"Bad Request - Error in query syntax: '{text}'.")
    return tokens[0].text, tokens[2].value
