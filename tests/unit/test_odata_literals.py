"""Literal escaping, key segments, filter builders and query-string encoding."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.odata.literals import (
    EnumValue,
    Filter,
    and_,
    eq,
    ge,
    in_,
    key_segment,
    literal,
    ne,
    not_,
    or_,
    query_string,
    string_literal,
)

GUID = uuid.UUID("00000000-0000-0000-0000-000000000001")


def _unescape(odata_string: str) -> str:
    """Inverse of string_literal, written independently: strip quotes, undouble quotes."""
    assert odata_string.startswith("'") and odata_string.endswith("'")
    return odata_string[1:-1].replace("''", "'")


# --- literals ---------------------------------------------------------------------------


def test_quotes_are_doubled() -> None:
    assert string_literal("O'BRIEN") == "'O''BRIEN'"
    assert string_literal("''") == "''''''"
    assert string_literal("") == "''"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-1.5, "-1.5"),
        (Decimal("10.50"), "10.50"),
        (Decimal("1E+3"), "1000"),
        (GUID, "00000000-0000-0000-0000-000000000001"),
        ("00000000-0000-0000-0000-000000000001", "'00000000-0000-0000-0000-000000000001'"),
        (date(2024, 2, 29), "2024-02-29"),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "2024-01-02T03:04:05Z"),
        (datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=UTC), "2024-01-02T03:04:05.12Z"),
        (
            datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "2024-01-02T03:04:05Z",
        ),
        (EnumValue("NoYes", "Yes"), "Microsoft.Dynamics.DataEntities.NoYes'Yes'"),
    ],
)
def test_literals(value: object, expected: str) -> None:
    assert literal(value) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN")])
def test_non_finite_numbers_have_no_literal(value: object) -> None:
    with pytest.raises(ValueError):
        literal(value)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        literal(datetime(2024, 1, 1))


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError):
        literal(object())


def test_enum_names_are_checked() -> None:
    with pytest.raises(ValueError):
        EnumValue("NoYes", "Yes' or 1 eq 1 or 'x")


# --- key segments -----------------------------------------------------------------------


def test_key_segment_escapes_quotes() -> None:
    segment = key_segment({"dataAreaId": "usmf", "WarehouseId": "O'BRIEN"})
    assert segment == "(dataAreaId='usmf',WarehouseId='O''BRIEN')"


def test_guid_key_segment() -> None:
    assert key_segment(GUID) == "(00000000-0000-0000-0000-000000000001)"


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("A B", "'A%20B'"),
        ("A/B", "'A%2FB'"),
        ("A#B", "'A%23B'"),
        ("A?B", "'A%3FB'"),
        ("100%", "'100%25'"),
        ("Zürich", "'Z%C3%BCrich'"),
        ("a,b=c", "'a%2Cb%3Dc'"),
        ("(x)", "'%28x%29'"),
        ("a+b&c", "'a%2Bb%26c'"),
    ],
)
def test_key_values_are_percent_encoded(raw: str, encoded: str) -> None:
    assert key_segment({"Id": raw}) == f"(Id={encoded})"


def test_key_segment_survives_httpx_untouched() -> None:
    path = "Warehouses" + key_segment({"dataAreaId": "usmf", "WarehouseId": "O'BR/EN #1"})
    url = httpx.URL("https://env.operations.dynamics.com/data/" + path)
    assert url.raw_path.decode().endswith(path)


def test_key_field_names_are_checked() -> None:
    with pytest.raises(ValueError):
        key_segment({"Id)": "x"})
    with pytest.raises(ValueError):
        key_segment({})


# --- filters ----------------------------------------------------------------------------


def test_filter_with_quote_in_value() -> None:
    assert eq("WarehouseId", "O'BRIEN") == "WarehouseId eq 'O''BRIEN'"


def test_combinators_parenthesise() -> None:
    expression = and_(eq("dataAreaId", "usmf"), or_(ne("A", 1), ge("B", GUID)))
    assert expression == "(dataAreaId eq 'usmf') and ((A ne 1) or (B ge " + str(GUID) + "))"
    assert not_(eq("A", True)) == "not (A eq true)"


def test_in_is_an_or_chain() -> None:
    assert in_("Id", ["a", "b'c"]) == "(Id eq 'a') or (Id eq 'b''c')"
    assert in_("Id", ["only"]) == "Id eq 'only'"
    with pytest.raises(ValueError, match="at least one value"):
        in_("Id", [])


def test_raw_strings_are_not_combined() -> None:
    with pytest.raises(TypeError):
        and_(eq("A", 1), "B eq 'x' or 1 eq 1")  # type: ignore[arg-type]
    assert isinstance(and_(eq("A", 1)), Filter)


def test_property_paths_are_allowed_and_checked() -> None:
    assert eq("primarycontactid/fullname", "x") == "primarycontactid/fullname eq 'x'"
    with pytest.raises(ValueError):
        eq("Name eq 'x' or Name", "y")


def test_enum_filter() -> None:
    filter_ = eq("IsSellable", EnumValue("NoYes", "Yes"))
    assert filter_ == "IsSellable eq Microsoft.Dynamics.DataEntities.NoYes'Yes'"


# --- query strings ----------------------------------------------------------------------


def test_query_string_encodes_reserved_characters() -> None:
    text = query_string({"$filter": eq("Name", "a+b & $c,/:;=?@#%")})
    assert text == ("?$filter=Name%20eq%20'a%2Bb%20%26%20%24c%2C%2F%3A%3B%3D%3F%40%23%25'")


def test_query_string_of_several_options() -> None:
    text = query_string({"cross-company": "true", "$select": "A,B"})
    assert text == "?cross-company=true&$select=A%2CB"
    assert query_string({}) == ""


# --- round trips (property based) -----------------------------------------------------


@given(st.text())
def test_any_string_survives_filter_encoding(value: str) -> None:
    expression = eq("Name", value)
    query = query_string({"$filter": expression})
    assert unquote(query.removeprefix("?$filter=")) == expression
    parsed = httpx.URL("https://org.crm.dynamics.com/api/data/v9.2/accounts" + query)
    assert parsed.params["$filter"] == expression
    assert _unescape(parsed.params["$filter"].removeprefix("Name eq ")) == value


@given(st.text())
def test_any_string_survives_key_segment_encoding(value: str) -> None:
    segment = key_segment({"dataAreaId": "usmf", "Id": value})
    decoded = unquote(httpx.URL("https://x/data/E" + segment).path)
    assert decoded == "/data/E(dataAreaId='usmf',Id=" + string_literal(value) + ")"
    assert _unescape(decoded.split(",Id=", 1)[1][:-1]) == value
