"""Dataverse Web API behaviour (api-protocols.md A) over a real socket."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from reconciler.sandbox import Sandbox, SandboxConfig, start

from .conftest import service_client

WAREHOUSES = "msdyn_warehouses"
STALE = "The version of the existing record doesn't match the RowVersion property provided."


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(dataverse_max_page_size=50)


def _pages(client: httpx.Client, url: str, page_size: int, **params: str) -> list[list[Any]]:
    prefer = {"Prefer": f"odata.maxpagesize={page_size}"}
    response = client.get(url, params=params, headers=prefer)
    pages = []
    while True:
        assert response.status_code == 200, response.text
        pages.append(response.json()["value"])
        link = response.json().get("@odata.nextLink")
        if link is None:
            return pages
        response = client.get(link, headers=prefer)


def _warehouse_ids(sandbox: Sandbox) -> set[str]:
    return {row["msdyn_warehouseid"] for row in sandbox.dataverse.rows(WAREHOUSES)}


def test_paging_with_maxpagesize(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    first = dataverse.get(WAREHOUSES, headers={"Prefer": "odata.maxpagesize=3"})
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=3"
    link = first.json()["@odata.nextLink"]
    assert "$skiptoken=" in link and "%3Ccookie%20pagenumber=%222%22" in link
    pages = _pages(dataverse, WAREHOUSES, 3, **{"$select": "msdyn_name"})
    ids = [row["msdyn_warehouseid"] for page in pages for row in page]
    assert all(len(page) <= 3 for page in pages)
    assert len(ids) == len(set(ids)) and set(ids) == _warehouse_ids(sandbox)


def test_page_size_above_cap_is_ignored() -> None:
    small_cap = Sandbox.from_seed(config=SandboxConfig(dataverse_max_page_size=5))
    with start(small_cap) as running, service_client(running, "dataverse") as client:
        response = client.get(WAREHOUSES, headers={"Prefer": "odata.maxpagesize=100"})
        default = client.get(WAREHOUSES)
    assert "Preference-Applied" not in response.headers
    assert len(response.json()["value"]) == 5 and "@odata.nextLink" in response.json()
    assert len(default.json()["value"]) == 5 and "@odata.nextLink" in default.json()


def test_skiptoken_survives_writes_between_pages(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    prefer = {"Prefer": "odata.maxpagesize=4"}
    params = {"$select": "msdyn_name", "$orderby": "msdyn_name"}
    first = dataverse.get(WAREHOUSES, params=params, headers=prefer).json()
    seen = [row["msdyn_name"] for row in first["value"]]
    before = sorted(_names(sandbox))
    sandbox.dataverse.insert(WAREHOUSES, {"msdyn_name": "000 inserted before cursor"})
    sandbox.dataverse.insert(WAREHOUSES, {"msdyn_name": "zzz inserted after cursor"})
    victim = next(r for r in sandbox.dataverse.rows(WAREHOUSES) if r["msdyn_name"] == before[6])
    sandbox.dataverse.delete(WAREHOUSES, victim["msdyn_warehouseid"])
    link = first["@odata.nextLink"]
    while link:
        body = dataverse.get(link, headers=prefer).json()
        seen += [row["msdyn_name"] for row in body["value"]]
        link = body.get("@odata.nextLink")
    expected = [name for name in before if name != before[6]] + ["zzz inserted after cursor"]
    assert sorted(seen, key=str.casefold) == sorted(expected, key=str.casefold)


def _names(sandbox: Sandbox) -> list[str]:
    return [row["msdyn_name"] for row in sandbox.dataverse.rows(WAREHOUSES)]


def test_top_without_and_with_maxpagesize(dataverse: httpx.Client) -> None:
    plain = dataverse.get(WAREHOUSES, params={"$top": "2"}).json()
    assert len(plain["value"]) == 2 and "@odata.nextLink" not in plain
    paged = dataverse.get(
        WAREHOUSES, params={"$top": "2"}, headers={"Prefer": "odata.maxpagesize=3"}
    ).json()
    assert len(paged["value"]) == 3


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("msdyn_name eq 'WH-01'", {"wh-01 "}),
        ("msdyn_name eq 'wh-01'", {"wh-01 "}),
        ("contains(msdyn_name,'arc')", {"D'ARCY"}),
        ("startswith(msdyn_name,'old')", {"OLD-05"}),
        ("endswith(msdyn_name,'-07')", {"VAN-07"}),
        ("contains(msdyn_name,'V_N')", {"VAN-07"}),
        (
            "Microsoft.Dynamics.CRM.In(PropertyName='msdyn_name',PropertyValues=['van-07','Old-05'])",
            {"VAN-07", "OLD-05"},
        ),
        ("msdynce_ismaintainedexternally eq false", {"VAN-07"}),
        ("not (msdyn_name ne 'MAIN') and msdyn_description eq 'Main site'", {"MAIN"}),
    ],
)
def test_filters(dataverse: httpx.Client, expression: str, names: set[str]) -> None:
    response = dataverse.get(WAREHOUSES, params={"$filter": expression, "$select": "msdyn_name"})
    assert response.status_code == 200, response.text
    assert {row["msdyn_name"] for row in response.json()["value"]} == names


def test_lookup_filter_and_null_semantics(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    demf = sandbox.companies["demf"]
    body = dataverse.get(
        WAREHOUSES, params={"$filter": f"_owningbusinessunit_value eq {demf}"}
    ).json()
    assert body["value"] and {r["_owningbusinessunit_value"] for r in body["value"]} == {demf}
    sandbox.dataverse.insert(WAREHOUSES, {"msdyn_name": "NO-DESC"})
    not_main = dataverse.get(
        WAREHOUSES, params={"$filter": "msdyn_description ne 'Main site'"}
    ).json()
    assert "NO-DESC" not in {row["msdyn_name"] for row in not_main["value"]}
    nulls = dataverse.get(WAREHOUSES, params={"$filter": "msdyn_description eq null"}).json()
    assert [row["msdyn_name"] for row in nulls["value"]] == ["NO-DESC"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"$skip": "2"}, "$skip"),
        ({"$select": "msdyn_nonsense"}, "msdyn_nonsense"),
        ({"$filter": "_owningbusinessunit_value eq 'abc'"}, "incompatible types"),
        ({"$filter": "msdyn_name eq"}, "Syntax error"),
        ({"$orderby": "nope"}, "nope"),
    ],
)
def test_query_errors(dataverse: httpx.Client, params: dict[str, str], fragment: str) -> None:
    response = dataverse.get(WAREHOUSES, params=params)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def test_select_always_returns_primary_key(dataverse: httpx.Client) -> None:
    row = dataverse.get(WAREHOUSES, params={"$select": "msdyn_name", "$top": "1"}).json()
    assert set(row["value"][0]) == {"@odata.etag", "msdyn_name", "msdyn_warehouseid"}


def test_unknown_entity_set(dataverse: httpx.Client) -> None:
    response = dataverse.get("msdyn_nothings")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "0x80060888",
            "message": "Resource not found for the segment 'msdyn_nothings'.",
        }
    }


def test_count_is_capped_at_5000(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    for index in range(5001):
        sandbox.dataverse.insert("uoms", {"name": f"unit {index}"})
    prefer = {"Prefer": 'odata.maxpagesize=1,odata.include-annotations="Microsoft.Dynamics.CRM.*"'}
    body = dataverse.get("uoms", params={"$count": "true"}, headers=prefer).json()
    assert body["@odata.count"] == 5000
    assert body["@Microsoft.Dynamics.CRM.totalrecordcount"] == 5000
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is True
    assert dataverse.get("uoms/$count").text == "5000"
    small = dataverse.get(WAREHOUSES, params={"$count": "true"}, headers=prefer).json()
    assert small["@odata.count"] == len(sandbox.dataverse.rows(WAREHOUSES))
    assert small["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is False


def test_get_by_id_and_conditional_get(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    row_id = sandbox.seed_manifest["fs_orphan"][0]["fs_id"]
    response = dataverse.get(f"{WAREHOUSES}({row_id})", params={"$select": "msdyn_name"})
    body = response.json()
    assert body["@odata.context"].endswith("#msdyn_warehouses(msdyn_name)/$entity")
    assert body["msdyn_name"] == "OLD-05" and body["@odata.etag"].startswith('W/"')
    again = dataverse.get(f"{WAREHOUSES}({row_id})", headers={"If-None-Match": body["@odata.etag"]})
    assert again.status_code == 304
    missing = dataverse.get(f"{WAREHOUSES}({uuid.uuid4()})")
    assert missing.status_code == 404 and "Does Not Exist" in missing.json()["error"]["message"]


def test_create_returns_entity_id_or_representation(
    dataverse: httpx.Client, sandbox: Sandbox
) -> None:
    created = dataverse.post(WAREHOUSES, json={"msdyn_name": "NEW-A"})
    assert created.status_code == 204 and created.content == b""
    entity_url = created.headers["OData-EntityId"]
    new_id = entity_url.rsplit("(", 1)[1].rstrip(")")
    row = sandbox.dataverse.get(WAREHOUSES, new_id)
    assert row is not None and row["msdyn_name"] == "NEW-A"
    assert row["_owningbusinessunit_value"] == sandbox.dataverse.root_business_unit_id()
    assert row["statecode"] == 0 and row["@odata.etag"] == f'W/"{row["versionnumber"]}"'
    shown = dataverse.post(
        f"{WAREHOUSES}?$select=msdyn_name",
        json={"msdyn_name": "NEW-B"},
        headers={"Prefer": "return=representation"},
    )
    assert shown.status_code == 201
    assert shown.json()["msdyn_name"] == "NEW-B" and "msdyn_warehouseid" in shown.json()


def test_bind_sets_lookup(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    gbsi = sandbox.companies["gbsi"]
    body = {"msdyn_name": "BOUND", "owningbusinessunit@odata.bind": f"/businessunits({gbsi})"}
    created = dataverse.post(WAREHOUSES, json=body, headers={"Prefer": "return=representation"})
    assert created.json()["_owningbusinessunit_value"] == gbsi
    annotated = dataverse.get(
        f"{WAREHOUSES}({created.json()['msdyn_warehouseid']})",
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()
    lookup = "_owningbusinessunit_value@Microsoft.Dynamics.CRM.lookuplogicalname"
    assert annotated[lookup] == "businessunit"
    assert annotated["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"OwningBusinessUnit@odata.bind": "/businessunits(REPLACE)"}, 400, "undeclared property"),
        (
            {"owningbusinessunit@odata.bind": f"/businessunits({uuid.uuid4()})"},
            404,
            "Does Not Exist",
        ),
        (
            {"owningbusinessunit@odata.bind": "/msdyn_warehouses(REPLACE)"},
            400,
            "not a valid target",
        ),
        ({"_owningbusinessunit_value": "REPLACE"}, 400, "Navigation properties"),
        ({"msdyn_colour": "red"}, 400, "does not exist on type"),
    ],
)
def test_write_payload_errors(
    dataverse: httpx.Client, sandbox: Sandbox, body: dict[str, str], status: int, fragment: str
) -> None:
    unit = sandbox.companies["usmf"]
    payload = {key: value.replace("REPLACE", unit) for key, value in body.items()}
    response = dataverse.post(WAREHOUSES, json={"msdyn_name": "X", **payload})
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]


def test_upsert_creates_and_updates(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    new_id = str(uuid.uuid4())
    created = dataverse.patch(f"{WAREHOUSES}({new_id})", json={"msdyn_name": "UPSERTED"})
    assert created.status_code == 204
    version = sandbox.dataverse.get(WAREHOUSES, new_id)["versionnumber"]  # type: ignore[index]
    updated = dataverse.patch(f"{WAREHOUSES}({new_id})", json={"msdyn_description": "d"})
    assert updated.status_code == 204
    row = sandbox.dataverse.get(WAREHOUSES, new_id)
    assert row is not None and row["msdyn_description"] == "d" and row["versionnumber"] > version


def test_conditional_writes(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    existing = sandbox.seed_manifest["fs_orphan"][0]["fs_id"]
    url = f"{WAREHOUSES}({existing})"
    missing = f"{WAREHOUSES}({uuid.uuid4()})"
    assert (
        dataverse.patch(missing, json={"msdyn_name": "x"}, headers={"If-Match": "*"}).status_code
        == 404
    )
    duplicate = dataverse.patch(url, json={"msdyn_name": "x"}, headers={"If-None-Match": "*"})
    assert duplicate.status_code == 412
    assert duplicate.json()["error"]["code"] == "0x80040237"
    etag = dataverse.get(url).json()["@odata.etag"]
    assert (
        dataverse.patch(
            url, json={"msdyn_description": "a"}, headers={"If-Match": etag}
        ).status_code
        == 204
    )
    stale = dataverse.patch(url, json={"msdyn_description": "b"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json() == {"error": {"code": "", "message": STALE}}
    assert dataverse.delete(url, headers={"If-Match": etag}).status_code == 412
    assert dataverse.delete(url).status_code == 204
    assert dataverse.delete(url).status_code == 404


def test_store_update_bumps_etag_and_modifiedon(sandbox: Sandbox) -> None:
    row_id = sandbox.seed_manifest["in_sync"][0]["fs_id"]
    before = sandbox.dataverse.get(WAREHOUSES, row_id)
    after = sandbox.dataverse.update(WAREHOUSES, row_id, {"msdyn_description": "changed"})
    assert before is not None
    assert after["@odata.etag"] != before["@odata.etag"]
    assert after["modifiedon"] >= before["modifiedon"] and after["createdon"] == before["createdon"]


def test_who_am_i_and_service_document(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    me = dataverse.get("WhoAmI").json()
    assert me["BusinessUnitId"] == sandbox.dataverse.root_business_unit_id()
    names = {entry["name"] for entry in dataverse.get("").json()["value"]}
    assert {"msdyn_warehouses", "businessunits", "products"} <= names


def test_single_property_read_write_and_clear(dataverse: httpx.Client, sandbox: Sandbox) -> None:
    row_id = sandbox.seed_manifest["fs_orphan"][0]["fs_id"]
    url = f"{WAREHOUSES}({row_id})/msdyn_description"
    assert dataverse.put(url, json={"value": "via property"}).status_code == 204
    assert dataverse.get(url).json()["value"] == "via property"
    assert dataverse.delete(url).status_code == 204
    assert sandbox.dataverse.get(WAREHOUSES, row_id)["msdyn_description"] is None  # type: ignore[index]


def test_expand_is_reported_as_not_emulated(dataverse: httpx.Client, fno: httpx.Client) -> None:
    assert dataverse.get(WAREHOUSES, params={"$expand": "owningbusinessunit"}).status_code == 501
    assert fno.get("Warehouses", params={"$expand": "ItemCoverageSettings"}).status_code == 501
