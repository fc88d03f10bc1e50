"""F&O OData behaviour (api-protocols.md B) over a real socket."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.sandbox import Sandbox, SandboxConfig


def _all_pages(client: httpx.Client, url: str, params: dict[str, str]) -> list[list[Any]]:
    pages = []
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["value"])
        if "@odata.nextLink" not in body:
            return pages
        response = client.get(body["@odata.nextLink"])


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(fno_page_size=4)


def test_paging_covers_every_row_once(fno: httpx.Client, sandbox: Sandbox) -> None:
    params = {"cross-company": "true", "$select": "dataAreaId,WarehouseId"}
    pages = _all_pages(fno, "Warehouses", params)
    rows = [(row["dataAreaId"], row["WarehouseId"]) for page in pages for row in page]
    expected = {(r["dataAreaId"], r["WarehouseId"]) for r in sandbox.fno.rows("Warehouses")}
    assert len(pages) > 3 and all(len(page) <= 4 for page in pages)
    assert len(rows) == len(set(rows)) and set(rows) == expected


def test_next_link_is_offset_based_and_keeps_options(fno: httpx.Client) -> None:
    body = fno.get("Warehouses", params={"cross-company": "true", "$top": "6"}).json()
    link = body["@odata.nextLink"]
    assert "cross-company=true" in link and "$skip=4" in link and "$top=2" in link
    assert len(fno.get(link).json()["value"]) == 2


def test_default_company_unless_cross_company(fno: httpx.Client, sandbox: Sandbox) -> None:
    params = {"$select": "dataAreaId", "$count": "true"}
    default = fno.get("Warehouses", params=params).json()
    everyone = fno.get("Warehouses", params={**params, "cross-company": "true"}).json()
    assert {row["dataAreaId"] for row in default["value"]} == {"usmf"}
    assert everyone["@odata.count"] == len(sandbox.fno.rows("Warehouses"))
    demf = fno.get(
        "Warehouses", params={"$filter": "dataAreaId eq 'DEMF'", "cross-company": "true"}
    ).json()
    assert demf["value"] and {row["dataAreaId"] for row in demf["value"]} == {"demf"}


def test_company_partitions_read_every_row_once(fno: httpx.Client, sandbox: Sandbox) -> None:
    """A filter on the company alone (decided once per company, as by the service's index)
    gives what the row-by-row filter gives: each legal entity, and every other one."""
    companies = ["USMF", "demf "]
    parts = [f"dataAreaId eq '{c}'" for c in companies]
    parts.append(" and ".join(f"not ({part})" for part in parts))
    rows = []
    for condition in parts:
        params = {
            "cross-company": "true",
            "$filter": condition,
            "$select": "dataAreaId,WarehouseId",
        }
        rows += [
            (r["dataAreaId"], r["WarehouseId"])
            for page in _all_pages(fno, "Warehouses", params)
            for r in page
        ]
    expected = {(r["dataAreaId"], r["WarehouseId"]) for r in sandbox.fno.rows("Warehouses")}
    assert len(rows) == len(expected) and set(rows) == expected
    assert len({company for company, _ in rows}) > 2


def test_count_path_returns_plain_text(fno: httpx.Client, sandbox: Sandbox) -> None:
    response = fno.get("Warehouses/$count")
    usmf = [r for r in sandbox.fno.rows("Warehouses") if r["dataAreaId"] == "usmf"]
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == str(len(usmf))


def test_wildcard_eq_is_case_insensitive(fno: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.fno.update(
        "Warehouses",
        {"dataAreaId": "usmf", "WarehouseId": "11"},
        {"WarehouseName": "Downtown Retail Outlet"},
    )
    body = fno.get("Warehouses", params={"$filter": "WarehouseName eq '*retail*'"}).json()
    assert [row["WarehouseId"] for row in body["value"]] == ["11"]


def test_enum_literal_filter(fno: httpx.Client) -> None:
    literal = "Microsoft.Dynamics.DataEntities.NoYes'Yes'"
    body = fno.get(
        "Warehouses",
        params={"$filter": f"IsFallbackWarehouse eq {literal}", "cross-company": "true"},
    ).json()
    assert sorted(row["WarehouseId"] for row in body["value"]) == ["11", "DE-11", "GB-11"]
    assert all(row["IsFallbackWarehouse"] == "Yes" for row in body["value"])


@pytest.mark.parametrize(
    "expression",
    [
        "IsFallbackWarehouse eq 'Yes'",
        "IsFallbackWarehouse gt Microsoft.Dynamics.DataEntities.NoYes'No'",
        "IsFallbackWarehouse eq Microsoft.Dynamics.DataEntities.NoYes'Maybe'",
        "Nope eq 'x'",
        "contains(WarehouseName,'x')",
        "WarehouseName eq",
    ],
)
def test_invalid_filters_are_400_with_fno_error(fno: httpx.Client, expression: str) -> None:
    response = fno.get("Warehouses", params={"$filter": expression})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "" and error["innererror"]["message"]


def test_key_segment_with_apostrophe(fno: httpx.Client) -> None:
    response = fno.get("Warehouses(dataAreaId='usmf',WarehouseId='O''BRIEN')")
    assert response.status_code == 200
    body = response.json()
    assert body["WarehouseId"] == "O'BRIEN"
    assert body["@odata.context"].endswith("$metadata#Warehouses/$entity")
    assert response.headers["ETag"] == body["@odata.etag"]
    encoded = fno.get("Warehouses(dataAreaId='usmf',WarehouseId='O%27%27BRIEN')")
    assert encoded.json()["WarehouseId"] == "O'BRIEN"


def test_key_in_another_company_and_case_insensitive_keys(fno: httpx.Client) -> None:
    response = fno.get("Warehouses(dataAreaId='DEMF',WarehouseId='main')")
    assert response.status_code == 200
    assert (response.json()["dataAreaId"], response.json()["WarehouseId"]) == ("demf", "MAIN")


@pytest.mark.parametrize(
    ("segment", "status"),
    [
        ("Warehouses(WarehouseId='11')", 400),
        ("Warehouses(dataAreaId='usmf',WarehouseId=11)", 400),
        ("Warehouses(dataAreaId='usmf',WarehouseId='NOPE')", 404),
        ("NoSuchSet", 404),
    ],
)
def test_bad_addresses(fno: httpx.Client, segment: str, status: int) -> None:
    response = fno.get(segment)
    assert response.status_code == status
    assert response.json()["error"]["message"]


def test_patch_honours_if_match(fno: httpx.Client, sandbox: Sandbox) -> None:
    url = "Warehouses(dataAreaId='usmf',WarehouseId='12')"
    etag = fno.get(url).json()["@odata.etag"]
    ok = fno.patch(url, json={"WarehouseName": "Renamed"}, headers={"If-Match": etag})
    assert ok.status_code == 204 and ok.headers["ETag"] != etag
    stale = fno.patch(url, json={"WarehouseName": "Again"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["error"]["innererror"]["message"]
    row = sandbox.fno.get("Warehouses", {"dataAreaId": "usmf", "WarehouseId": "12"})
    assert row is not None and row["WarehouseName"] == "Renamed"


def test_patch_without_if_match_and_unknown_property(fno: httpx.Client) -> None:
    url = "Warehouses(dataAreaId='usmf',WarehouseId='12')"
    assert fno.patch(url, json={"WarehouseName": "Free"}).status_code == 204
    bad = fno.patch(url, json={"WarehouseTitle": "x"})
    assert bad.status_code == 400
    assert "WarehouseTitle" in bad.json()["error"]["innererror"]["message"]


def test_post_creates_in_body_company_with_defaults(fno: httpx.Client, sandbox: Sandbox) -> None:
    response = fno.post(
        "Warehouses",
        json={"dataAreaId": "gbsi", "WarehouseId": "NEW-1", "WarehouseName": "New one"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["dataAreaId"] == "gbsi" and body["WarehouseType"] == "Standard"
    assert body["@odata.etag"].startswith('W/"')
    assert response.headers["Location"].endswith(
        "Warehouses(dataAreaId='gbsi',WarehouseId='NEW-1')"
    )
    default = fno.post("Warehouses", json={"WarehouseId": "NEW-2"})
    assert default.json()["dataAreaId"] == "usmf"
    assert sandbox.fno.get("Warehouses", {"dataAreaId": "usmf", "WarehouseId": "new-2"})


def test_post_duplicate_reports_infolog_in_innererror(fno: httpx.Client) -> None:
    response = fno.post("Warehouses", json={"dataAreaId": "usmf", "WarehouseId": "wh-01 "})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["message"] == "An error has occurred."
    assert error["innererror"]["message"].startswith(
        "Write failed for table row of type 'Warehouse'. Infolog:"
    )
    assert "The record already exists." in error["innererror"]["message"]
    assert error["innererror"]["type"].endswith("AxODataWriteException")


def test_put_and_delete(fno: httpx.Client, sandbox: Sandbox) -> None:
    url = "Warehouses(dataAreaId='usmf',WarehouseId='13')"
    assert fno.put(url, json={"WarehouseName": "Only name"}).status_code == 204
    row = sandbox.fno.get("Warehouses", {"dataAreaId": "usmf", "WarehouseId": "13"})
    assert row is not None and row["OperationalSiteId"] == ""
    assert fno.delete(url).status_code == 204
    assert fno.get(url).status_code == 404


def test_orderby_select_and_skip(fno: httpx.Client) -> None:
    params = {"$orderby": "WarehouseId desc", "$select": "WarehouseId", "$skip": "1", "$top": "2"}
    body = fno.get("Warehouses", params=params).json()
    ids = [row["WarehouseId"] for row in body["value"]]
    assert len(ids) == 2 and ids == sorted(ids, key=str.casefold, reverse=True)
    assert set(body["value"][0]) == {"@odata.etag", "WarehouseId"}
