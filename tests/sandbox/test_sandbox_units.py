"""Pure pieces of the sandbox without a server: $filter parsing and SQL-like evaluation,
key segments, multipart batch bodies, paging cookies, and the generated schema data."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.sandbox import dataverse_paging, dataverse_schema_data, fno_schema_data
from reconciler.sandbox.batch import ChangeSet, PartResult, compose_batch, parse_batch
from reconciler.sandbox.dataverse_query import like_pattern
from reconciler.sandbox.keys import KeySyntaxError, decode_path, parse_segment, split_path
from reconciler.sandbox.messages import ApiResponse
from reconciler.sandbox.odata_eval import FilterEvaluator
from reconciler.sandbox.odata_filter import (
    Binary,
    EnumValue,
    FilterSyntaxError,
    Literal,
    Not,
    parse_filter,
)
from reconciler.sandbox.odata_query import OrderItem
from reconciler.sandbox.service_errors import ServiceError

# shared/ sits beside the checkout (as it does for developers and CI).
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "schemas"


class _Open(FilterEvaluator):
    """Evaluator that accepts every property (schema checks are the services' job)."""

    def check_property(self, name: str) -> None:
        return None


def _matches(expression: str, row: dict[str, object]) -> bool:
    evaluator = _Open(parse_filter(expression))
    evaluator.validate()
    return evaluator.matches(row)


def test_precedence_and_literals() -> None:
    tree = parse_filter("not a eq 1 or b eq 'x' and c eq 5c2f0000-0000-0000-0000-000000000001")
    assert isinstance(tree, Binary) and tree.op == "or"
    assert isinstance(tree.left, Not) and isinstance(tree.right, Binary)
    literal = tree.right.right
    assert isinstance(literal, Binary) and literal.right == Literal(
        uuid.UUID("5c2f0000-0000-0000-0000-000000000001")
    )
    enum = parse_filter("F eq Microsoft.Dynamics.DataEntities.NoYes'Yes'")
    assert isinstance(enum, Binary)
    assert enum.right == Literal(EnumValue("Microsoft.Dynamics.DataEntities.NoYes", "Yes"))
    when = parse_filter("modifiedon gt 2024-01-02T03:04:05Z")
    assert isinstance(when, Binary)
    assert when.right == Literal(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))


@pytest.mark.parametrize("text", ["a eq", "(a eq 1", "a eq 'open", "eq 1", "a eq 1 1", ""])
def test_syntax_errors(text: str) -> None:
    with pytest.raises(FilterSyntaxError, match="Syntax error at position"):
        parse_filter(text)


@pytest.mark.parametrize(
    ("expression", "row", "expected"),
    [
        ("name eq 'ABC'", {"name": "abc  "}, True),
        ("name gt 'abc'", {"name": "ABD"}, True),
        ("name ne 'a'", {"name": None}, False),
        ("not (name eq 'a')", {"name": None}, False),
        ("name eq null", {"name": None}, True),
        ("name ne null", {"name": "x"}, True),
        ("qty add 1 gt 2", {"qty": 2}, True),
        ("qty mod 2 eq 1", {"qty": 3}, True),
        ("created lt 2024-02-01T00:00:00Z", {"created": "2024-01-31T23:59:59Z"}, True),
        (
            "id eq 5C2F0000-0000-0000-0000-000000000001",
            {"id": "5c2f0000-0000-0000-0000-000000000001"},
            True,
        ),
        ("flag eq true or name eq 'x'", {"flag": None, "name": "x"}, True),
    ],
)
def test_sql_semantics(expression: str, row: dict[str, object], expected: bool) -> None:
    assert _matches(expression, row) is expected


def test_incompatible_operands_are_rejected() -> None:
    class Typed(_Open):
        def property_category(self, name: str) -> str | None:
            return "guid"

    with pytest.raises(ServiceError, match="incompatible types"):
        Typed(parse_filter("id eq 'abc'")).validate()


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("%ab_d%", "xxabcdyy", True),
        ("[a-c]x", "bx", True),
        ("[^a-c]x", "bx", False),
        ("50%", "50 percent", True),
        ("a.b", "axb", False),
    ],
)
def test_like_patterns(pattern: str, text: str, expected: bool) -> None:
    assert (like_pattern(pattern).fullmatch(text) is not None) is expected


def test_key_segments() -> None:
    segment = parse_segment("Warehouses(dataAreaId='usmf',WarehouseId='O''BRIEN')")
    assert segment.name == "Warehouses"
    assert segment.named_key() == {"dataAreaId": "usmf", "WarehouseId": "O'BRIEN"}
    assert parse_segment("UnitsOfMeasure('ea')").single_value() == (True, "ea")
    path = decode_path("Warehouses(dataAreaId='usmf',WarehouseId='A%2FB')/x")
    assert split_path(path) == ["Warehouses(dataAreaId='usmf',WarehouseId='A/B')", "x"]


@pytest.mark.parametrize("text", ["W(a='x'", "W(a='x',)", "W(a=)", "W(='x')", "W(a='x' b='y')"])
def test_bad_key_segments(text: str) -> None:
    with pytest.raises(KeySyntaxError):
        parse_segment(text)


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30))
def test_any_string_key_round_trips(value: str) -> None:
    """An independently escaped literal (quotes doubled, percent-encoded) parses back."""
    escaped = quote(value.replace("'", "''"), safe="")
    path = decode_path(f"Warehouses(dataAreaId='usmf',WarehouseId='{escaped}')")
    (segment_text,) = split_path(path)
    assert parse_segment(segment_text).named_key()["WarehouseId"] == value


def test_batch_parse_accepts_lf_and_changesets() -> None:
    body = (
        b"--b\n"
        b"Content-Type: multipart/mixed; boundary=cs\n\n"
        b"--cs\nContent-Type: application/http\nContent-ID: 1\n\n"
        b'POST Warehouses HTTP/1.1\nContent-Type: application/json\n\n{"a": 1}\n'
        b"--cs--\n"
        b"--b\nContent-Type: application/http\n\nGET Warehouses HTTP/1.1\n\n\n"
        b"--b--\n"
    )
    items = parse_batch(body, "multipart/mixed; boundary=b")
    changeset, single = items
    assert isinstance(changeset, ChangeSet) and changeset.operations[0].content_id == "1"
    assert changeset.operations[0].body == b'{"a": 1}'
    assert not isinstance(single, ChangeSet) and single.method == "GET" and single.body == b""


def test_batch_compose_nests_changesets() -> None:
    ok = PartResult(ApiResponse(204, [("OData-EntityId", "u")]), "1")
    content_type, body = compose_batch([[ok], PartResult(ApiResponse(200, [], b"{}"))])
    text = body.decode()
    assert content_type.startswith("multipart/mixed; boundary=batchresponse_")
    assert "boundary=changesetresponse_" in text and "Content-ID: 1" in text
    assert "HTTP/1.1 204 No Content" in text and "HTTP/1.1 200 OK" in text
    assert text.rstrip().endswith("--")


def test_paging_cookie_round_trip() -> None:
    order = [OrderItem("msdyn_name"), OrderItem("statecode", True), OrderItem("msdyn_warehouseid")]
    first = {"msdyn_name": "A", "statecode": 0, "msdyn_warehouseid": str(uuid.uuid4())}
    last = {"msdyn_name": "O'B <&>", "statecode": None, "msdyn_warehouseid": str(uuid.uuid4())}
    token = dataverse_paging.encode(2, order, "msdyn_warehouseid", first, last)
    assert token.startswith('<cookie pagenumber="2" pagingcookie="%3Ccookie%20page%3D%221%22')
    cursor = dataverse_paging.decode(token, order, "msdyn_warehouseid")
    assert cursor.page_number == 2 and cursor.values == last
    with pytest.raises(ServiceError):
        dataverse_paging.decode("garbage", order, "msdyn_warehouseid")


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_schema", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared reference folder not available")
def test_generated_schema_matches_reference() -> None:
    generator = _load(Path(__file__).with_name("gen_schema.py"))
    fno: dict[str, object] = {}
    exec(generator.render_fno(REFERENCE), fno)
    dataverse: dict[str, object] = {}
    exec(generator.render_dataverse(REFERENCE), dataverse)
    assert fno["ENTITY_SETS"] == fno_schema_data.ENTITY_SETS
    assert fno["ENUMS"] == fno_schema_data.ENUMS
    assert dataverse["TABLES"] == dataverse_schema_data.TABLES
    assert dataverse["OPTION_SETS"] == dataverse_schema_data.OPTION_SETS
    assert len(fno_schema_data.ENTITY_SETS) == 62
