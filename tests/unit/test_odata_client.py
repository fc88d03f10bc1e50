"""ODataClient against httpx.MockTransport fakes of F&O and Dataverse."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from reconciler.errors import (
    OutcomeUnknownError,
    PreconditionFailedError,
    ServiceError,
    ThrottledError,
    TokenRejectedError,
)
from reconciler.odata import BatchRequest, ChangeSet, ODataClient, RetryPolicy
from reconciler.odata.literals import eq, key_segment

FNO_ROOT = "https://env.operations.dynamics.com/data/"
DV_ROOT = "https://org.crm.dynamics.com/api/data/v9.2/"
Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Recorder:
    """Answers requests from a script and keeps what was sent."""

    answers: Iterator[Handler | httpx.Response | Exception]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = next(self.answers)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    @property
    def urls(self) -> list[str]:
        return [str(request.url) for request in self.requests]


@dataclass
class Sleeps:
    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _client(
    service: str, *answers: Handler | httpx.Response | Exception, **retry: Any
) -> tuple[ODataClient, Recorder, Sleeps]:
    recorder = Recorder(iter(answers))
    sleeps = Sleeps()
    policy = RetryPolicy(sleep=sleeps, jitter=lambda: 1.0, clock=lambda: 1_700_000_000.0, **retry)
    root = FNO_ROOT if service == "fno" else DV_ROOT
    client = ODataClient(
        service=service,  # type: ignore[arg-type]
        root_url=root,
        auth=None,
        transport=httpx.MockTransport(recorder),
        retry=policy,
    )
    return client, recorder, sleeps


def _page(rows: list[dict[str, Any]], next_link: str | None = None) -> httpx.Response:
    payload: dict[str, Any] = {"@odata.context": "ctx", "value": rows}
    if next_link:
        payload["@odata.nextLink"] = next_link
    return httpx.Response(200, json=payload)


# --- paging -----------------------------------------------------------------------------


def test_fno_pages_follow_offset_links_verbatim() -> None:
    link = FNO_ROOT + "Warehouses?cross-company=true&$select=WarehouseId&$skip=2&$top=2"
    client, recorder, _ = _client("fno", _page([{"A": 1}, {"A": 2}], link), _page([{"A": 3}]))

    pages = client.iter_pages(
        "Warehouses",
        select=["dataAreaId", "WarehouseId"],
        filter=eq("WarehouseId", "O'BRIEN"),
        orderby=["dataAreaId", "WarehouseId desc"],
        cross_company=True,
    )

    assert [len(page) for page in pages] == [2, 1]
    assert recorder.urls == [
        FNO_ROOT + "Warehouses?cross-company=true&$select=dataAreaId%2CWarehouseId"
        "&$filter=WarehouseId%20eq%20'O''BRIEN'&$orderby=dataAreaId%2CWarehouseId%20desc",
        link,
    ]
    first = recorder.requests[0]
    assert first.url.params["$filter"] == "WarehouseId eq 'O''BRIEN'"
    assert first.headers["Accept"] == "application/json"
    assert "OData-Version" not in first.headers and "Prefer" not in first.headers


def test_dataverse_pages_follow_skiptoken_links_and_resend_page_size() -> None:
    link = (
        DV_ROOT + "accounts?$select=name&$skiptoken=%3Ccookie%20pagenumber=%222%22%20"
        "pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e%22%20istracking=%22False%22%20/%3E"
    )
    client, recorder, _ = _client("dataverse", _page([{"name": "a"}], link), _page([]))

    pages = list(client.iter_pages("accounts", select=["name"], page_size=500))

    assert pages == [[{"name": "a"}], []]
    assert recorder.urls[1] == link
    for request in recorder.requests:
        assert request.headers["Prefer"] == "odata.maxpagesize=500"
        assert request.headers["If-None-Match"] == "null"
        assert request.headers["OData-MaxVersion"] == "4.0"
        assert request.headers["OData-Version"] == "4.0"
        assert request.headers["User-Agent"] == "reconciler/0.1"


def test_dataverse_page_size_is_capped_and_defaulted() -> None:
    client, recorder, _ = _client("dataverse", _page([]), _page([]))
    list(client.iter_pages("accounts", page_size=20_000))
    list(client.iter_pages("accounts"))
    assert [r.headers["Prefer"] for r in recorder.requests] == ["odata.maxpagesize=5000"] * 2


def test_pages_are_fetched_lazily() -> None:
    client, _, _ = _client("fno", _page([{"A": 1}], FNO_ROOT + "X?$skip=1"), _page([]))
    pages = client.iter_pages("X")
    assert client.request_count == 0
    next(pages)
    assert client.request_count == 1


def test_relative_next_link_is_resolved() -> None:
    client, recorder, _ = _client("fno", _page([], "X?$skip=5"), _page([]))
    list(client.iter_pages("X"))
    assert recorder.urls[1] == FNO_ROOT + "X?$skip=5"


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"values": []}),
        httpx.Response(200, json={"value": {}}),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(200, text="<html>login</html>"),
        httpx.Response(200, json={"value": [], "@odata.nextLink": 5}),
    ],
)
def test_malformed_page_names_the_url(answer: httpx.Response) -> None:
    client, _, _ = _client("dataverse", answer)
    with pytest.raises(ServiceError, match="malformed") as caught:
        list(client.iter_pages("accounts", filter=eq("name", "secret-ish")))
    assert DV_ROOT + "accounts?$filter=…" in str(caught.value)
    assert "secret-ish" not in str(caught.value)


def test_redirects_are_not_followed() -> None:
    login = "https://login.microsoftonline.com/common/oauth2/authorize?client_id=x"
    client, _, _ = _client("fno", httpx.Response(302, headers={"Location": login}))
    with pytest.raises(ServiceError, match="redirected") as caught:
        list(client.iter_pages("X"))
    assert "client_id=…" in str(caught.value)


def test_next_link_to_the_same_page_stops() -> None:
    client, _, _ = _client("fno", _page([], FNO_ROOT + "X"))
    with pytest.raises(ServiceError, match="same page"):
        list(client.iter_pages("X"))


def test_cross_company_is_fno_only() -> None:
    client, _, _ = _client("dataverse")
    with pytest.raises(ValueError):
        client.iter_pages("accounts", cross_company=True)


# --- retries ----------------------------------------------------------------------------


def test_429_waits_for_retry_after() -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "7"})
    client, _, sleeps = _client("dataverse", throttled, _page([{"a": 1}]))
    assert list(client.iter_pages("accounts")) == [[{"a": 1}]]
    assert sleeps.waits == [7.0]
    assert client.retry.retries == 1 and client.retry.total_wait == 7.0
    assert client.request_count == 2


def test_retry_after_as_http_date() -> None:
    # the injected clock says 2023-11-14T22:13:20Z
    throttled = httpx.Response(429, headers={"Retry-After": "Tue, 14 Nov 2023 22:13:50 GMT"})
    client, _, sleeps = _client("fno", throttled, _page([]))
    list(client.iter_pages("X"))
    assert sleeps.waits == [30.0]


def test_503_then_success_backs_off() -> None:
    client, _, sleeps = _client("fno", httpx.Response(503), httpx.Response(503), _page([]))
    list(client.iter_pages("X"))
    assert sleeps.waits == [0.5, 1.0]


def test_connection_errors_are_retried() -> None:
    client, recorder, _ = _client(
        "fno",
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("dropped"),
        httpx.ReadTimeout("slow"),
        _page([]),
    )
    list(client.iter_pages("X"))
    assert len(recorder.requests) == 4


def test_give_up_names_method_url_attempts_and_last_answer() -> None:
    unavailable = [httpx.Response(503, headers={"Retry-After": "1"}) for _ in range(3)]
    client, _, sleeps = _client("fno", *unavailable, max_attempts=3)
    with pytest.raises(ThrottledError) as caught:
        list(client.iter_pages("Warehouses", filter=eq("Name", "hush")))
    message = str(caught.value)
    assert message.startswith(
        f"F&O GET Warehouses ({FNO_ROOT}Warehouses?$filter=…) gave up after 3 attempts"
    )
    assert "503" in message and "Retry-After 1" in message
    assert "hush" not in message and caught.value.url == FNO_ROOT + "Warehouses?$filter=…"
    assert sleeps.waits == [1.0, 1.0]


def test_throttling_with_retry_after_is_bounded_by_time_not_attempts() -> None:
    """The service says when to come back: a 429 storm is waited out (up to the total wait
    limit), however many attempts that takes."""
    throttled = [httpx.Response(429, headers={"Retry-After": "100"}) for _ in range(6)]
    client, _, sleeps = _client("fno", *throttled, _page([]), max_attempts=2)
    assert list(client.iter_pages("X")) == [[]]
    assert sleeps.waits == [100.0] * 6 and client.retry.throttled == 6
    storm = [httpx.Response(429, headers={"Retry-After": "250"}) for _ in range(3)]
    client, _, sleeps = _client("fno", *storm, max_attempts=2)
    with pytest.raises(ThrottledError, match="would pass the 600 s limit"):
        list(client.iter_pages("X"))
    assert sleeps.waits == [250.0, 250.0]


def test_give_up_when_total_wait_would_be_exceeded() -> None:
    client, recorder, sleeps = _client("fno", httpx.Response(429, headers={"Retry-After": "900"}))
    with pytest.raises(ThrottledError, match="600 s limit"):
        list(client.iter_pages("X"))
    assert sleeps.waits == [] and len(recorder.requests) == 1


def test_give_up_after_connection_errors() -> None:
    client, _, _ = _client("fno", *[httpx.ConnectError("refused")] * 2, max_attempts=2)
    with pytest.raises(ThrottledError, match="ConnectError: refused"):
        client.get("X(1)")


def test_post_is_not_resent_after_a_read_timeout() -> None:
    client, recorder, _ = _client("dataverse", httpx.ReadTimeout("no answer"))
    with pytest.raises(OutcomeUnknownError, match="outcome unknown") as caught:
        client.create("msdyn_warehouses", {"msdyn_name": "W1"})
    assert len(recorder.requests) == 1
    assert "Dataverse POST msdyn_warehouses" in str(caught.value)


def test_post_is_not_resent_after_a_gateway_timeout() -> None:
    client, recorder, _ = _client("fno", httpx.Response(504))
    with pytest.raises(OutcomeUnknownError, match="504"):
        client.create("Warehouses", {"WarehouseId": "W1"})
    assert len(recorder.requests) == 1


def test_post_is_resent_when_certainly_not_processed() -> None:
    created = httpx.Response(201, json={"WarehouseId": "W1"})
    client, recorder, _ = _client(
        "fno", httpx.ConnectError("refused"), httpx.Response(429), httpx.Response(503), created
    )
    assert client.create("Warehouses", {"WarehouseId": "W1"}).body == {"WarehouseId": "W1"}
    assert len(recorder.requests) == 4


def test_patch_is_resent_after_a_dropped_connection() -> None:
    client, recorder, _ = _client(
        "dataverse", httpx.RemoteProtocolError("dropped"), httpx.Response(204)
    )
    client.update("accounts(1)", {"name": "x"}, if_match=None)
    assert len(recorder.requests) == 2


# --- error mapping ----------------------------------------------------------------------


def test_dataverse_error_shape() -> None:
    error = {"error": {"code": "0x80044331", "message": "A validation error occurred."}}
    client, _, _ = _client("dataverse", httpx.Response(400, json=error, headers={"REQ_ID": "r-1"}))
    with pytest.raises(ServiceError) as caught:
        client.create("msdyn_warehouses", {"msdyn_name": "W1"})
    assert str(caught.value) == (
        "Dataverse POST msdyn_warehouses failed: 400 A validation error occurred. "
        "(code 0x80044331) [request id r-1]"
    )
    assert caught.value.code == "0x80044331" and caught.value.status == 400


def test_fno_error_shape_uses_the_inner_message_and_drops_the_stacktrace() -> None:
    error = {
        "error": {
            "code": "",
            "message": "An error has occurred.",
            "innererror": {
                "message": "Write failed for table row of type 'InventWarehouseEntity'.",
                "type": "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWrite",
                "stacktrace": "   at Microsoft.Dynamics.Ax.Xpp.Secret(…)",
            },
        }
    }
    path = "Warehouses" + key_segment({"dataAreaId": "usmf", "WarehouseId": "O'BRIEN"})
    client, _, _ = _client("fno", httpx.Response(500, json=error))
    with pytest.raises(ServiceError) as caught:
        client.update(path, {"Name": "x"}, if_match=None)
    message = str(caught.value)
    assert message == (
        "F&O PATCH Warehouses(dataAreaId='usmf',WarehouseId='O''BRIEN') failed: 500 "
        "Write failed for table row of type 'InventWarehouseEntity'."
    )
    assert caught.value.inner_message.startswith("Write failed")
    assert "stacktrace" not in message and "Secret" not in message


def test_gateway_html_is_summarised() -> None:
    html = "<html><head><title>500 Internal</title></head><body>" + "x" * 500 + "</body></html>"
    client, _, _ = _client("fno", httpx.Response(500, text=html))
    with pytest.raises(ServiceError) as caught:
        client.get("X(1)")
    message = str(caught.value)
    assert message.startswith("F&O GET X(1) failed: 500 Internal Server Error: 500 Internal x")
    assert len(message) < 300


def test_412_is_a_precondition_failure() -> None:
    error = {
        "error": {
            "code": "",
            "message": "The version of the existing record doesn't match the RowVersion "
            "property provided.",
        }
    }
    client, recorder, _ = _client("dataverse", httpx.Response(412, json=error))
    with pytest.raises(PreconditionFailedError) as caught:
        client.update("msdyn_warehouses(1)", {"msdyn_name": "x"}, if_match='W/"7"')
    assert recorder.requests[0].headers["If-Match"] == 'W/"7"'
    assert str(caught.value).startswith(
        "Dataverse PATCH msdyn_warehouses(1) failed: 412 The version of the existing record"
    )


def test_401_without_auth_is_a_token_rejection() -> None:
    client, _, _ = _client("dataverse", httpx.Response(401))
    with pytest.raises(TokenRejectedError, match="application user"):
        client.get("accounts(1)")


# --- single-entity reads and writes ----------------------------------------------------


def test_get_returns_none_on_404_and_selects() -> None:
    client, recorder, _ = _client("fno", httpx.Response(404), httpx.Response(200, json={"A": 1}))
    path = "Warehouses" + key_segment({"dataAreaId": "usrt", "WarehouseId": "O'BRIEN"})
    assert client.get(path) is None
    assert client.get(path, select=["A"]) == {"A": 1}
    assert recorder.urls == [
        FNO_ROOT + path + "?cross-company=true",
        FNO_ROOT + path + "?$select=A&cross-company=true",
    ]


def test_dataverse_update_without_etag_never_upserts() -> None:
    client, recorder, _ = _client("dataverse", httpx.Response(204))
    client.update("msdyn_warehouses(1)", {"msdyn_name": "x"}, if_match=None)
    request = recorder.requests[0]
    assert request.headers["If-Match"] == "*"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"msdyn_name": "x"}


def test_fno_update_without_etag_sends_no_if_match() -> None:
    client, recorder, _ = _client("fno", httpx.Response(204))
    client.update("Warehouses(dataAreaId='usmf',WarehouseId='21')", {"Name": "x"}, if_match=None)
    assert "If-Match" not in recorder.requests[0].headers
    assert recorder.requests[0].url.params["cross-company"] == "true"


def test_delete_sends_if_match() -> None:
    client, recorder, _ = _client("dataverse", httpx.Response(204))
    client.delete("accounts(1)", if_match='W/"3"')
    assert recorder.requests[0].method == "DELETE"
    assert recorder.requests[0].headers["If-Match"] == 'W/"3"'


def test_dataverse_create_returns_representation() -> None:
    body = {"@odata.etag": 'W/"9"', "msdyn_warehouseid": "5a0e3f10-0000-0000-0000-000000000001"}
    client, recorder, _ = _client("dataverse", httpx.Response(201, json=body))
    result = client.create(
        "msdyn_warehouses",
        {"msdyn_name": "W1"},
        key_field="msdyn_warehouseid",
        select=["msdyn_name"],
    )
    assert result.record_id == "5a0e3f10-0000-0000-0000-000000000001"
    assert result.etag == 'W/"9"'
    assert recorder.requests[0].headers["Prefer"] == "return=representation"
    assert recorder.urls[0] == DV_ROOT + "msdyn_warehouses?$select=msdyn_name"


def test_dataverse_create_204_reads_the_entity_id_header() -> None:
    entity = DV_ROOT + "msdyn_warehouses(5a0e3f10-0000-0000-0000-000000000002)"
    client, _, _ = _client("dataverse", httpx.Response(204, headers={"OData-EntityId": entity}))
    result = client.create("msdyn_warehouses", {"msdyn_name": "W1"})
    assert result.record_id == "5a0e3f10-0000-0000-0000-000000000002"
    assert result.body is None and result.entity_url == entity


def test_fno_create_returns_the_body() -> None:
    body = {"@odata.etag": 'W/"JzAsMjI1NjU0MjExNzYn"', "dataAreaId": "usrt", "WarehouseId": "W1"}
    client, recorder, _ = _client("fno", httpx.Response(201, json=body))
    result = client.create("Warehouses", {"dataAreaId": "usrt", "WarehouseId": "W1"})
    assert result.body == body and result.etag == body["@odata.etag"]
    assert "Prefer" not in recorder.requests[0].headers
    assert recorder.urls[0] == FNO_ROOT + "Warehouses"


def test_absolute_paths_are_refused() -> None:
    client, _, _ = _client("fno")
    with pytest.raises(ValueError, match="relative"):
        client.get("https://elsewhere.example/data/X(1)")


# --- $batch -----------------------------------------------------------------------------

BATCH_ANSWER = (
    "--batchresponse_1\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: application/json\r\n"
    "\r\n"
    '{"error":{"code":"0x80044331","message":"Too long."}}\r\n'
    "--batchresponse_1--\r\n"
)


def test_batch_posts_multipart_and_decodes_a_failed_first_operation() -> None:
    answer = httpx.Response(
        400,
        headers={"Content-Type": "multipart/mixed; boundary=batchresponse_1"},
        content=BATCH_ANSWER.encode(),
    )
    client, recorder, _ = _client("dataverse", answer)
    request = BatchRequest("POST", "tasks", body={"subject": "x" * 300})
    (part,) = client.batch([ChangeSet([request])], continue_on_error=True)

    sent = recorder.requests[0]
    assert str(sent.url) == DV_ROOT + "$batch"
    assert sent.headers["Content-Type"].startswith('multipart/mixed; boundary="batch_')
    assert sent.headers["Prefer"] == "odata.continue-on-error"
    assert b"POST /api/data/v9.2/tasks HTTP/1.1" in sent.content
    assert part.status == 400
    error = client.part_error(part, request)
    assert str(error) == "Dataverse POST tasks failed: 400 Too long. (code 0x80044331)"


def test_batch_throttled_with_json_is_retried_but_multipart_answers_are_final() -> None:
    throttled_multipart = httpx.Response(
        429,
        headers={"Content-Type": "multipart/mixed; boundary=batchresponse_1"},
        content=BATCH_ANSWER.replace("400 Bad Request", "429 Too Many Requests").encode(),
    )
    client, recorder, _ = _client("dataverse", httpx.Response(429), throttled_multipart)
    (part,) = client.batch([BatchRequest("POST", "tasks", body={})])
    assert part.status == 429 and len(recorder.requests) == 2


def test_batch_failure_without_multipart_raises() -> None:
    client, _, _ = _client("fno", httpx.Response(500, json={"error": {"message": "down"}}))
    with pytest.raises(ServiceError, match=r"F&O POST \$batch failed: 500 down"):
        client.batch([BatchRequest("GET", "X")])


def test_batch_of_gets_is_idempotent_and_retried_after_a_timeout() -> None:
    answer = httpx.Response(
        200,
        headers={"Content-Type": "multipart/mixed; boundary=batchresponse_1"},
        content=BATCH_ANSWER.replace("400 Bad Request", "200 OK").encode(),
    )
    client, recorder, _ = _client("fno", httpx.ReadTimeout("slow"), answer)
    assert [p.status for p in client.batch([BatchRequest("GET", "X")])] == [200]
    assert len(recorder.requests) == 2


def test_dataverse_batch_size_limit() -> None:
    client, _, _ = _client("dataverse")
    with pytest.raises(ValueError, match="1000"):
        client.batch([BatchRequest("GET", "x")] * 1001)


def test_client_is_a_context_manager() -> None:
    client, _, _ = _client("fno")
    with client as entered:
        assert entered is client
