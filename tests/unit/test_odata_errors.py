"""Error payload parsing and message shaping for both services."""

from __future__ import annotations

import json

import httpx

from reconciler.errors import PreconditionFailedError, ServiceError
from reconciler.odata.errors import (
    error_from_response,
    parse_error_body,
    resource_name,
    url_without_query_values,
)

DV_ROOT = "https://org.crm.dynamics.com/api/data/v9.2/"


def _response(status: int, body: object, method: str = "PATCH", path: str = "x") -> httpx.Response:
    request = httpx.Request(method, DV_ROOT + path)
    if isinstance(body, str):
        return httpx.Response(status, text=body, request=request)
    return httpx.Response(status, json=body, request=request)


def test_dataverse_annotations_add_the_inner_message() -> None:
    body = {
        "error": {
            "code": "0x80040265",
            "message": "Plug-in failed.",
            "@Microsoft.PowerApps.CDS.InnerError.Message": "NullReference in step X",
            "@Microsoft.PowerApps.CDS.HelpLink": "http://go.microsoft.com/fwlink/?LinkID=1",
        }
    }
    parsed = parse_error_body(json.dumps(body))
    assert parsed is not None
    assert parsed.text() == "Plug-in failed. (NullReference in step X)"


def test_generic_message_is_kept_when_there_is_no_inner_text() -> None:
    body = {"error": {"code": "", "message": "An error has occurred.", "innererror": {}}}
    parsed = parse_error_body(json.dumps(body))
    assert parsed is not None and parsed.text() == "An error has occurred."


def test_non_error_json_is_not_an_error_body() -> None:
    assert parse_error_body('{"value": []}') is None
    assert parse_error_body("[1]") is None
    assert parse_error_body("<html/>") is None


def test_412_maps_to_precondition_failed_with_fields() -> None:
    body = {"error": {"code": "", "message": "The version of the existing record doesn't match."}}
    error = error_from_response(
        _response(412, body, path="msdyn_warehouses(1)"), service="dataverse", root_url=DV_ROOT
    )
    assert isinstance(error, PreconditionFailedError)
    assert error.status == 412 and error.method == "PATCH"
    assert error.url == DV_ROOT + "msdyn_warehouses(1)"
    assert str(error).startswith(
        "Dataverse PATCH msdyn_warehouses(1) failed: 412 The version of the existing record"
    )


def test_empty_body_still_says_what_failed() -> None:
    error = error_from_response(_response(404, "", method="GET"), service="fno", root_url=DV_ROOT)
    assert type(error) is ServiceError
    assert str(error) == "F&O GET x failed: 404 Not Found (empty body)"


def test_urls_lose_query_values_and_resources_are_decoded() -> None:
    url = DV_ROOT + "accounts?$filter=name%20eq%20'x'&$select=name"
    assert url_without_query_values(url) == DV_ROOT + "accounts?$filter=…&$select=…"
    assert resource_name(DV_ROOT + "a(k='O''B%20R')?$x=1", DV_ROOT) == "a(k='O''B R')"
