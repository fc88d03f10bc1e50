"""Evaluation of parsed ``$filter`` expressions with SQL Server semantics.

Both services sit on SQL Server, so strings compare case-insensitively and ignore trailing
blanks, and a comparison with a NULL column is *unknown* (three-valued logic): ``x ne 'a'``
does not return rows where x is null. Services subclass FilterEvaluator for what differs
(F&O wildcards and enums, Dataverse query functions).
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from reconciler.sandbox.filter_types import incompatible_message, literal_category
from reconciler.sandbox.odata_filter import (
    COMPARISONS,
    Binary,
    Call,
    EnumValue,
    ListValue,
    Literal,
    Node,
    Not,
    Property,
)
from reconciler.sandbox.service_errors import ServiceError

Row = Mapping[str, Any]
Truth = bool | None

_ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def collate(value: object) -> object:
    """Comparison form of a value: strings fold case and drop trailing blanks (SQL Server's
    default collation), GUIDs compare as lower-case text, datetimes as aware datetimes."""
    if isinstance(value, str):
        return value.casefold().rstrip(" ")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _as_datetime(value: object) -> object:
    if isinstance(value, str):
        try:
            return collate(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return collate(value)


def _align(left: object, right: object) -> tuple[object, object]:
    """Bring a stored value and a literal to one comparable type."""
    if isinstance(left, (datetime, date)) or isinstance(right, (datetime, date)):
        return _as_datetime(left), _as_datetime(right)
    if isinstance(left, uuid.UUID) or isinstance(right, uuid.UUID):
        return str(left).lower(), str(right).lower()
    return collate(left), collate(right)


def compare(op: str, left: object, right: object) -> Truth:
    """One comparison under SQL NULL rules; incompatible types are unknown, not an error."""
    if left is None or right is None:
        return None
    a, b = _align(left, right)
    if op == "eq":
        return bool(a == b)
    if op == "ne":
        return bool(a != b)
    try:
        return _ORDER_OPS[op](a, b)
    except TypeError:
        return None


def _and(left: Truth, right: Truth) -> Truth:
    if left is False or right is False:
        return False
    return None if left is None or right is None else True


def _or(left: Truth, right: Truth) -> Truth:
    if left is True or right is True:
        return True
    return None if left is None or right is None else False


def _arithmetic(op: str, left: object, right: object) -> object:
    if not isinstance(left, (int, float)) or not isinstance(right, (int, float)):
        return None
    if op in ("div", "divby", "mod") and right == 0:
        return None
    operations: dict[str, Callable[[Any, Any], Any]] = {
        "add": operator.add,
        "sub": operator.sub,
        "mul": operator.mul,
        "div": operator.truediv if op == "divby" or isinstance(left, float) else operator.floordiv,
        "divby": operator.truediv,
        "mod": operator.mod,
    }
    return operations[op](left, right)


class FilterEvaluator:
    """Validates an expression against a schema once, then tests rows.

    Subclasses override ``check_property`` (unknown names are a 400), ``check_literal``,
    ``compare_nodes`` and ``call`` for service-specific meaning.
    """

    def __init__(self, expression: Node) -> None:
        self.expression = expression

    # --- validation -------------------------------------------------------------------
    def validate(self) -> None:
        self._validate(self.expression)

    def _validate(self, node: Node) -> None:
        if isinstance(node, Property):
            self.check_property(node.name)
        elif isinstance(node, Literal):
            self.check_literal(node)
        elif isinstance(node, Binary):
            self._validate(node.left)
            self._validate(node.right)
            self.check_binary(node)
        elif isinstance(node, Not):
            self._validate(node.operand)
        elif isinstance(node, Call):
            self.check_call(node)
        elif isinstance(node, ListValue):
            for item in node.items:
                self._validate(item)

    def check_property(self, name: str) -> None:
        raise NotImplementedError

    def check_literal(self, node: Literal) -> None:
        if isinstance(node.value, EnumValue):
            raise self.invalid(f"Enum literal '{node.value.type_name}' is not supported here.")

    def check_binary(self, node: Binary) -> None:
        """Comparisons need operands of one category (a null literal fits any)."""
        if node.op not in COMPARISONS:
            return
        left, right = self.operand_category(node.left), self.operand_category(node.right)
        if left and right and left != right:
            raise self.invalid(incompatible_message(node.op, left, right))

    def operand_category(self, node: Node) -> str | None:
        if isinstance(node, Property):
            return self.property_category(node.name)
        if isinstance(node, Literal):
            return literal_category(node.value)
        return None

    def property_category(self, name: str) -> str | None:
        """Coarse type of a property (see filter_types); None when unknown."""
        return None

    def check_call(self, node: Call) -> None:
        raise self.invalid(f"Unknown function '{node.name}'.")

    def invalid(self, message: str) -> ServiceError:
        return ServiceError(400, message)

    # --- evaluation -------------------------------------------------------------------
    def matches(self, row: Row) -> bool:
        return self.truth(self.expression, row) is True

    def truth(self, node: Node, row: Row) -> Truth:
        if isinstance(node, Binary) and node.op == "and":
            return _and(self.truth(node.left, row), self.truth(node.right, row))
        if isinstance(node, Binary) and node.op == "or":
            return _or(self.truth(node.left, row), self.truth(node.right, row))
        if isinstance(node, Not):
            inner = self.truth(node.operand, row)
            return None if inner is None else not inner
        if isinstance(node, Binary) and node.op in _ORDER_OPS.keys() | {"eq", "ne"}:
            return self.compare_nodes(node, row)
        value = self.value(node, row)
        return value if isinstance(value, bool) or value is None else None

    def compare_nodes(self, node: Binary, row: Row) -> Truth:
        """``eq``/``ne`` against the null literal test for NULL; everything else is SQL."""
        left, right = self.value(node.left, row), self.value(node.right, row)
        if node.op in ("eq", "ne") and _is_null_literal(node.left, node.right):
            both_null = left is None and right is None
            return both_null if node.op == "eq" else not both_null
        return compare(node.op, left, right)

    def value(self, node: Node, row: Row) -> object:
        if isinstance(node, Property):
            return row.get(node.name)
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Binary) and node.op in ("and", "or", *_ORDER_OPS, "eq", "ne"):
            return self.truth(node, row)
        if isinstance(node, Binary):
            return _arithmetic(node.op, self.value(node.left, row), self.value(node.right, row))
        if isinstance(node, Not):
            return self.truth(node, row)
        if isinstance(node, Call):
            return self.call(node, row)
        if isinstance(node, ListValue):
            return [self.value(item, row) for item in node.items]
        raise TypeError(f"unexpected node {node!r}")

    def call(self, node: Call, row: Row) -> object:
        raise self.invalid(f"Unknown function '{node.name}'.")


def _is_null_literal(*nodes: Node) -> bool:
    return any(isinstance(node, Literal) and node.value is None for node in nodes)
