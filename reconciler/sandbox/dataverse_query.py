"""Dataverse query semantics (api-protocols.md A3, A4): the ``$filter`` dialect with its query
functions, ``$select`` resolution and row serialisation with optional annotations."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from reconciler.sandbox.dataverse_store import DataverseRecord
from reconciler.sandbox.messages import ApiRequest
from reconciler.sandbox.odata_eval import FilterEvaluator, Row, Truth, collate, compare
from reconciler.sandbox.odata_filter import Call, ListValue, Literal, Node, Property
from reconciler.sandbox.schema import DATAVERSE_TABLES, TableDef
from reconciler.sandbox.service_errors import ServiceError

INVALID_QUERY = "0x80060888"
COUNT_CAP = 5000  # $count and /$count stop here (A3)
_CATEGORIES = {
    "string": "string",
    "number": "number",
    "choice": "number",
    "datetime": "datetime",
    "boolean": "boolean",
    "guid": "guid",
}
_LIKE_FUNCTIONS = {
    "contains": ("%", "%"),
    "startswith": ("", "%"),
    "endswith": ("%", ""),
}
_CRM = "Microsoft.Dynamics.CRM."
_LIST_FUNCTIONS = {"In", "NotIn", "Between", "NotBetween"}


def unknown_property(name: str, table: TableDef) -> ServiceError:
    return ServiceError(
        400,
        f"Could not find a property named '{name}' on type '{table.qualified_type}'.",
        code=INVALID_QUERY,
    )


def like_pattern(pattern: str) -> re.Pattern[str]:
    """SQL LIKE -> regex: ``%`` any run, ``_`` one character, ``[...]``/``[^...]`` a class
    (A3: SQL wildcards work inside the string functions). Matching is case-insensitive."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        close = pattern.find("]", index + 1) if char == "[" else -1
        if char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        elif close > index + 1:
            body = pattern[index + 1 : close]
            negated = body.startswith("^")
            inner = re.escape(body[1:] if negated else body).replace("\\-", "-")
            out.append(f"[{'^' if negated else ''}{inner}]")
            index = close
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out), re.DOTALL)


class DataverseFilter(FilterEvaluator):
    """Dataverse semantics: string functions with LIKE wildcards and the
    ``Microsoft.Dynamics.CRM.In/NotIn/Between/NotBetween`` list functions."""

    def __init__(self, expression: Node, table: TableDef, columns: Collection[str]) -> None:
        super().__init__(expression)
        self.table = table
        self.columns = columns

    def invalid(self, message: str) -> ServiceError:
        return ServiceError(400, message, code=INVALID_QUERY)

    def check_property(self, name: str) -> None:
        if name not in self.columns:
            raise unknown_property(name, self.table)

    def property_category(self, name: str) -> str | None:
        return _CATEGORIES.get(self.table.columns.get(name, "any"))

    def check_call(self, node: Call) -> None:
        if node.name in _LIKE_FUNCTIONS:
            self._check_like(node)
        elif node.name.startswith(_CRM) and node.name[len(_CRM) :] in _LIST_FUNCTIONS:
            self._list_arguments(node)
        else:
            raise ServiceError(
                501,
                f"The sandbox does not implement the query function '{node.name}'.",
                code=INVALID_QUERY,
            )

    def _check_like(self, node: Call) -> None:
        if len(node.args) != 2 or not isinstance(node.args[0], Property):
            raise self.invalid(f"The function '{node.name}' takes a property and a string.")
        self.check_property(node.args[0].name)
        if not isinstance(node.args[1], Literal) or not isinstance(node.args[1].value, str):
            raise self.invalid(f"The second argument of '{node.name}' must be a string literal.")

    def _list_arguments(self, node: Call) -> tuple[str, list[object]]:
        named = dict(node.named)
        name_node, values_node = named.get("PropertyName"), named.get("PropertyValues")
        if not isinstance(name_node, Literal) or not isinstance(name_node.value, str):
            raise self.invalid(f"'{node.name}' needs PropertyName='<column>'.")
        if not isinstance(values_node, ListValue):
            raise self.invalid(f"'{node.name}' needs PropertyValues=[...].")
        self.check_property(name_node.value)
        values: list[object] = [
            item.value if isinstance(item, Literal) else None for item in values_node.items
        ]
        if node.name.endswith("Between") and len(values) != 2:
            raise self.invalid(f"'{node.name}' needs exactly two PropertyValues.")
        return name_node.value, values

    def call(self, node: Call, row: Row) -> object:
        if node.name in _LIKE_FUNCTIONS:
            return self._like(node, row)
        name, values = self._list_arguments(node)
        current = row.get(name)
        function = node.name[len(_CRM) :]
        if function in ("In", "NotIn"):
            found = _any_true(compare("eq", current, _coerce(v, current)) for v in values)
            return found if function == "In" or found is None else not found
        low, high = (_coerce(v, current) for v in values)
        inside = _all_true(compare("ge", current, low), compare("le", current, high))
        return inside if function == "Between" or inside is None else not inside

    def _like(self, node: Call, row: Row) -> Truth:
        prop, literal = node.args
        value = row.get(prop.name) if isinstance(prop, Property) else None
        if not isinstance(value, str) or not isinstance(literal, Literal):
            return None
        prefix, suffix = _LIKE_FUNCTIONS[node.name]
        pattern = like_pattern(prefix + str(collate(literal.value)) + suffix)
        return pattern.fullmatch(str(collate(value))) is not None


def _coerce(literal: object, current: object) -> object:
    """List-function values are written as strings; compare them as the column's type."""
    if isinstance(literal, str) and isinstance(current, bool):
        return literal.lower() in ("true", "1")
    if isinstance(literal, str) and isinstance(current, (int, float)):
        try:
            return float(literal)
        except ValueError:
            return None
    return literal


def _any_true(results: Any) -> Truth:
    seen_unknown = False
    for result in results:
        if result is True:
            return True
        seen_unknown = seen_unknown or result is None
    return None if seen_unknown else False


def _all_true(*results: Truth) -> Truth:
    if any(result is False for result in results):
        return False
    return None if any(result is None for result in results) else True


def resolve_select(
    names: tuple[str, ...] | None, table: TableDef, columns: Collection[str]
) -> tuple[str, ...] | None:
    """``$select`` names -> properties: a lookup may be named by its logical name (``ownerid``
    selects ``_ownerid_value``)."""
    if names is None:
        return None
    resolved = []
    for name in names:
        if name in columns:
            resolved.append(name)
        elif f"_{name}_value" in columns:
            resolved.append(f"_{name}_value")
        else:
            raise unknown_property(name, table)
    return tuple(resolved)


class Annotations:
    """Which instance annotations ``Prefer: odata.include-annotations`` asked for."""

    def __init__(self, requested: str | None) -> None:
        self.patterns = [p.strip() for p in (requested or "").split(",") if p.strip()]

    def wants(self, name: str) -> bool:
        for pattern in self.patterns:
            if pattern == "*" or pattern == name:
                return True
            if pattern.endswith("*") and name.startswith(pattern[:-1]):
                return True
        return False

    def __bool__(self) -> bool:
        return bool(self.patterns)


def serialize(
    record: DataverseRecord,
    table: TableDef,
    select: tuple[str, ...] | None,
    annotations: Annotations,
) -> dict[str, Any]:
    """A row as the Web API writes it: ETag first, selected columns, the primary id."""
    names = list(record.row) if select is None else [*select, table.primary_id]
    out: dict[str, Any] = {"@odata.etag": record.etag}
    for name in dict.fromkeys(names):
        value = record.row.get(name)
        out[name] = value
        if annotations and value is not None:
            out.update(_annotations_for(name, value, record, table, annotations))
    return out


def _annotations_for(
    name: str,
    value: object,
    record: DataverseRecord,
    table: TableDef,
    annotations: Annotations,
) -> dict[str, object]:
    result: dict[str, object] = {}
    label = table.option_sets.get(name, {}).get(value) if isinstance(value, int) else None
    formatted = "OData.Community.Display.V1.FormattedValue"
    if label is not None and annotations.wants(formatted):
        result[f"{name}@{formatted}"] = label
    target_set = record.targets.get(name)
    binding = table.binding_for_lookup(name)
    if target_set:
        lookup_name = "Microsoft.Dynamics.CRM.lookuplogicalname"
        target = _logical_name(target_set)
        if annotations.wants(lookup_name):
            result[f"{name}@{lookup_name}"] = target
        navigation = "Microsoft.Dynamics.CRM.associatednavigationproperty"
        if binding is not None and annotations.wants(navigation):
            result[f"{name}@{navigation}"] = binding.navigation
    return result


def _logical_name(entity_set: str) -> str:
    table = DATAVERSE_TABLES.get(entity_set)
    return table.logical_name if table else entity_set.removesuffix("s")


def collection_context(request: ApiRequest, entity_set: str, select: tuple[str, ...] | None) -> str:
    """``@odata.context`` of a collection read, naming the ``$select`` columns as sent."""
    columns = f"({','.join(select)})" if select else ""
    return f"{request.service_root_url}$metadata#{entity_set}{columns}"


def count_annotations(total: int, counted: bool, annotations: Annotations) -> dict[str, Any]:
    """``$count`` is capped at 5,000; the CRM annotations tell "exactly" from "more" (A3)."""
    capped = min(total, COUNT_CAP)
    result: dict[str, Any] = {}
    if counted:
        result["@odata.count"] = capped
    name = "Microsoft.Dynamics.CRM.totalrecordcount"
    if annotations.wants(name):
        result[f"@{name}"] = capped if counted else -1
    exceeded = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"
    if annotations.wants(exceeded):
        result[f"@{exceeded}"] = total > COUNT_CAP
    return result
