"""Tiny helpers for generated DuckDB SQL: quoting identifiers and string literals."""

from __future__ import annotations

__all__ = ["ident", "literal"]


def ident(name: str) -> str:
    """A quoted identifier; column names come from rule files, so always quote."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
