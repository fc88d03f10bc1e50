"""Static operand typing for ``$filter`` comparisons.

Both services reject comparing, say, a GUID column with a string literal before touching any
row ("A binary operator with incompatible types was detected..."), which is exactly the kind
of client bug the sandbox should surface. Types here are coarse categories.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from reconciler.sandbox.odata_filter import EnumValue, LiteralValue

_OPERATOR_KINDS = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}

_EDM_NAMES = {
    "string": "Edm.String",
    "number": "Edm.Decimal",
    "datetime": "Edm.DateTimeOffset",
    "guid": "Edm.Guid",
    "boolean": "Edm.Boolean",
}


def literal_category(value: LiteralValue) -> str | None:
    """Category of a literal; None (the null literal) is compatible with everything."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (datetime, date)):
        return "datetime"
    if isinstance(value, uuid.UUID):
        return "guid"
    if isinstance(value, EnumValue):
        return "enum:" + value.type_name.rsplit(".", 1)[-1]
    return "string"


def edm_name(category: str) -> str:
    if category.startswith("enum:"):
        return f"Microsoft.Dynamics.DataEntities.{category[5:]}"
    return _EDM_NAMES.get(category, category)


def incompatible_message(op: str, left: str, right: str) -> str:
    return (
        "A binary operator with incompatible types was detected. Found operand types "
        f"'{edm_name(left)}' and '{edm_name(right)}' for operator kind '{_OPERATOR_KINDS[op]}'."
    )
