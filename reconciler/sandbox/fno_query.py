"""F&O collection reads (api-protocols.md B1-B3): the ``$filter`` dialect, company scoping
and offset-based server-driven paging."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any
from urllib.parse import quote

from reconciler.sandbox.fno_store import FnoRecord
from reconciler.sandbox.odata_eval import FilterEvaluator, Row, Truth, collate
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
from reconciler.sandbox.odata_query import OrderItem, QueryOptions, sort_rows
from reconciler.sandbox.schema import FNO_NAMESPACE, EntityDef, enum_members
from reconciler.sandbox.service_errors import ServiceError

_CATEGORIES = {
    "Edm.String": "string",
    "Edm.Decimal": "number",
    "Edm.Int32": "number",
    "Edm.Int64": "number",
    "Edm.DateTimeOffset": "datetime",
    "Edm.Guid": "guid",
    "Edm.Boolean": "boolean",
}


def unknown_property(name: str, entity: EntityDef) -> ServiceError:
    return ServiceError(
        400,
        f"Could not find a property named '{name}' on type '{entity.qualified_type}'.",
    )


class FnoFilter(FilterEvaluator):
    """F&O semantics: ``eq``/``ne`` with ``*`` in a string literal is a wildcard match;
    enum literals ``Microsoft.Dynamics.DataEntities.<Enum>'<Member>'`` work with eq/ne only;
    no query functions (B2)."""

    def __init__(self, expression: Node, entity: EntityDef) -> None:
        super().__init__(expression)
        self.entity = entity

    def check_property(self, name: str) -> None:
        if name not in self.entity.fields:
            raise unknown_property(name, self.entity)

    def property_category(self, name: str) -> str | None:
        code = self.entity.fields.get(name, "")
        return code if code.startswith("enum:") else _CATEGORIES.get(code)

    def check_literal(self, node: Literal) -> None:
        value = node.value
        if not isinstance(value, EnumValue):
            return
        namespace, _, enum_type = value.type_name.rpartition(".")
        members = enum_members(enum_type) if namespace == FNO_NAMESPACE else None
        if members is None or value.member not in members:
            raise self.invalid(
                f"The string '{value.type_name}'{value.member}'' is not a valid enumeration "
                "type constant."
            )

    def check_binary(self, node: Binary) -> None:
        super().check_binary(node)
        categories = (self.operand_category(node.left), self.operand_category(node.right))
        is_enum = any(c is not None and c.startswith("enum:") for c in categories)
        if node.op in COMPARISONS and is_enum and node.op not in ("eq", "ne"):
            raise self.invalid(f"The operator '{node.op}' is not supported for enum values.")

    def check_call(self, node: Call) -> None:
        raise self.invalid(f"The function '{node.name}' is not supported.")

    def value(self, node: Node, row: Row) -> object:
        if isinstance(node, Literal) and isinstance(node.value, EnumValue):
            return node.value.member
        return super().value(node, row)

    def compare_nodes(self, node: Binary, row: Row) -> Truth:
        pattern = _wildcard(node)
        if pattern is None or node.op not in ("eq", "ne"):
            return super().compare_nodes(node, row)
        name = node.left.name if isinstance(node.left, Property) else ""
        if not name and isinstance(node.right, Property):
            name = node.right.name
        value = row.get(name)
        if not isinstance(value, str):
            return None
        matched = pattern.fullmatch(str(collate(value))) is not None
        return matched if node.op == "eq" else not matched


def _wildcard(node: Binary) -> re.Pattern[str] | None:
    """``Field eq '*retail*'``: the literal's ``*`` matches any run of characters."""
    for side, other in ((node.left, node.right), (node.right, node.left)):
        literal = side.value if isinstance(side, Literal) else None
        if isinstance(literal, str) and "*" in literal and isinstance(other, Property):
            pieces = str(collate(literal)).split("*")
            return re.compile(".*".join(re.escape(piece) for piece in pieces), re.DOTALL)
    return None


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    next_skip: int | None
    next_top: int | None


def cross_company(options: QueryOptions) -> bool:
    return options.custom.get("cross-company", "").lower() == "true"


def scoped(
    entity: EntityDef, records: list[FnoRecord], options: QueryOptions, company: str
) -> list[FnoRecord]:
    """Records visible to the query: the default company unless ``cross-company=true`` (B1),
    then ``$filter``."""
    if entity.company_specific and not cross_company(options):
        wanted, at = collate(company), entity.keys.index("dataAreaId")
        records = [r for r in records if r.key[at] == wanted]
    if options.filter is None:
        return records
    evaluator = FnoFilter(options.filter, entity)
    if entity.company_specific and _properties(options.filter) == {"dataAreaId"}:
        return _by_company(entity, records, evaluator)
    return [record for record in records if evaluator.matches(record.row)]


def _by_company(
    entity: EntityDef, records: list[FnoRecord], evaluator: FnoFilter
) -> list[FnoRecord]:
    """A filter on the company alone (a read per legal entity) is decided once per company,
    as the service's index on DataAreaId does, instead of once per row."""
    at = entity.keys.index("dataAreaId")
    verdicts: dict[object, bool] = {}
    kept = []
    for record in records:
        company = record.key[at]
        verdict = verdicts.get(company)
        if verdict is None:
            verdict = verdicts[company] = evaluator.matches(record.row)
        if verdict:
            kept.append(record)
    return kept


def _properties(node: Node) -> set[str]:
    """Every property a filter expression reads."""
    if isinstance(node, Property):
        return {node.name}
    if isinstance(node, Binary):
        return _properties(node.left) | _properties(node.right)
    if isinstance(node, Not):
        return _properties(node.operand)
    if isinstance(node, Call):
        return set().union(*(_properties(arg) for arg in node.args))
    if isinstance(node, ListValue):
        return set().union(*(_properties(item) for item in node.items))
    return set()


def query_signature(
    entity: EntityDef, options: QueryOptions, company: str
) -> tuple[str, str, str, tuple[OrderItem, ...]]:
    """What decides a query's ordered result: set, company scope, filter and order."""
    scope = "*" if cross_company(options) or not entity.company_specific else str(collate(company))
    return (entity.entity_set, scope, options.filter_text, options.orderby)


def validate_options(entity: EntityDef, options: QueryOptions) -> None:
    for name in [*(options.select or ()), *(item.name for item in options.orderby)]:
        if name not in entity.fields:
            raise unknown_property(name, entity)
    if options.filter is not None:
        FnoFilter(options.filter, entity).validate()


def ordered(entity: EntityDef, records: list[FnoRecord], options: QueryOptions) -> list[FnoRecord]:
    """``$orderby`` then the key fields, so offset pages are stable (B3). Records first sort
    by their stored collated key (one tuple sort, the same order as sorting each key field
    with ``sort_key``), then stably by ``$orderby``."""
    try:
        result = sorted(records, key=attrgetter("key"))
    except TypeError:  # one key field holding values of several types
        result = sort_rows(records, [OrderItem(key) for key in entity.keys], _row)
    return sort_rows(result, options.orderby, _row) if options.orderby else result


def _row(record: FnoRecord) -> Mapping[str, Any]:
    return record.row


def page_of(records: list[FnoRecord], options: QueryOptions, page_size: int) -> Page:
    """Offset paging: at most ``page_size`` rows, honouring ``$skip``/``$top``."""
    skip = options.skip or 0
    limit = page_size if options.top is None else min(page_size, options.top)
    page = [record.with_etag() for record in records[skip : skip + limit]]
    remaining_top = None if options.top is None else options.top - len(page)
    more = skip + len(page) < len(records) and (remaining_top is None or remaining_top > 0)
    return Page(
        page, len(records), skip + len(page) if more else None, remaining_top if more else None
    )


def next_link(url: str, pairs: list[tuple[str, str]], page: Page) -> str | None:
    """The request URL with ``$skip`` (and ``$top``) advanced, other options kept (B3)."""
    if page.next_skip is None:
        return None
    kept = [(name, value) for name, value in pairs if name not in ("$skip", "$top")]
    kept.append(("$skip", str(page.next_skip)))
    if page.next_top is not None:
        kept.append(("$top", str(page.next_top)))
    query = "&".join(f"{name}={quote(value, safe=_SAFE)}" for name, value in kept)
    return f"{url}?{query}"


_SAFE = "$',()*:@/=-"


def select_row(row: Mapping[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    """Projection with the ETag annotation first, as F&O writes it."""
    if select is None:
        return dict(row)
    return {"@odata.etag": row.get("@odata.etag"), **{name: row.get(name) for name in select}}
