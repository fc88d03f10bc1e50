"""$batch multipart encoding and decoding (api-protocols A7, B5)."""

from __future__ import annotations

import json
import re

import pytest

from reconciler.odata.batch import BatchRequest, ChangeSet, decode, encode

ROOT = "https://org.crm.dynamics.com/api/data/v9.2/"


def _boundary(content_type: str) -> str:
    match = re.search(r'boundary="([^"]+)"', content_type)
    assert match
    return match.group(1)


def _as_response(content_type: str, body: bytes) -> tuple[str, bytes]:
    """Turn an encoded request into a response of the same shape: each request line becomes
    ``HTTP/1.1 200 OK`` and boundaries get response names, so decode() must find every part,
    header, body and Content-ID where encode() put them."""
    text = body.decode()
    text = re.sub(
        r"^(GET|POST|PATCH|PUT|DELETE) \S+ HTTP/1\.1(?=\r?\n)", "HTTP/1.1 200 OK", text, flags=re.M
    )
    text = re.sub(r"(batch|changeset)_(?=[0-9a-f-]{36})", r"\1response_", text)
    return content_type.replace("batch_", "batchresponse_"), text.encode()


# --- encode -----------------------------------------------------------------------------


def test_encode_single_request_layout() -> None:
    content_type, body = encode(ROOT, [BatchRequest("GET", "accounts?$select=name")])
    boundary = _boundary(content_type)
    assert content_type.startswith('multipart/mixed; boundary="batch_')
    assert body.decode() == (
        f"--{boundary}\r\n"
        "Content-Type: application/http\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        "\r\n"
        "GET /api/data/v9.2/accounts?$select=name HTTP/1.1\r\n"
        "\r\n"
        "\r\n"
        f"--{boundary}--\r\n"
    )


def test_encode_changeset_assigns_content_ids_and_keeps_references() -> None:
    changeset = ChangeSet(
        [
            BatchRequest("POST", "msdyn_warehouses", body={"msdyn_name": "O'BRIEN"}),
            BatchRequest("PATCH", "$1", body={"msdyn_description": "x"}, headers={"If-Match": "*"}),
        ]
    )
    content_type, body = encode(ROOT, [changeset, BatchRequest("GET", "/api/data/v9.2/x")])
    text = body.decode()
    assert 'Content-Type: multipart/mixed; boundary="changeset_' in text
    assert "Content-ID: 1\r\n\r\nPOST /api/data/v9.2/msdyn_warehouses HTTP/1.1" in text
    assert "Content-ID: 2\r\n\r\nPATCH $1 HTTP/1.1\r\nIf-Match: *\r\n" in text
    assert 'Content-Type: application/json\r\n\r\n{"msdyn_name":"O\'BRIEN"}\r\n--changeset_' in text
    assert "GET /api/data/v9.2/x HTTP/1.1" in text
    assert text.endswith(f"--{_boundary(content_type)}--\r\n")


def test_explicit_content_ids_are_kept_and_auto_ids_avoid_them() -> None:
    changeset = ChangeSet(
        [BatchRequest("POST", "a", body={}, content_id="1"), BatchRequest("POST", "b", body={})]
    )
    _, body = encode(ROOT, [changeset])
    assert re.findall(r"Content-ID: (\S+)", body.decode()) == ["1", "2"]


def test_absolute_urls_are_kept() -> None:
    _, body = encode(ROOT, [BatchRequest("GET", "https://other.example/api/data/v9.2/x")])
    assert b"GET https://other.example/api/data/v9.2/x HTTP/1.1" in body


@pytest.mark.parametrize(
    "items",
    [
        [],
        [ChangeSet([])],
        [ChangeSet([BatchRequest("GET", "accounts")])],
        [
            BatchRequest("GET", "a", content_id="1"),
            ChangeSet([BatchRequest("POST", "b", content_id="1")]),
        ],
    ],
)
def test_encode_refuses_invalid_batches(items: list[BatchRequest | ChangeSet]) -> None:
    with pytest.raises(ValueError):
        encode(ROOT, items)


# --- round trip -------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_round_trip_through_the_multipart_framing(newline: str) -> None:
    items: list[BatchRequest | ChangeSet] = [
        BatchRequest("GET", "accounts"),
        ChangeSet(
            [
                BatchRequest("POST", "tasks", body={"subject": "--batch_ in a body"}),
                BatchRequest("POST", "tasks", body={"subject": "ünïcode\nline"}, content_id="9"),
            ]
        ),
        BatchRequest("DELETE", "tasks(1)", headers={"If-Match": 'W/"1"'}),
    ]
    content_type, body = _as_response(*encode(ROOT, items))
    body = body.replace(b"\r\n", newline.encode())

    responses = decode(content_type, body)

    assert [r.status for r in responses] == [200, 200, 200, 200]
    assert [r.content_id for r in responses] == [None, "1", "9", None]
    assert responses[0].body_json is None
    assert responses[1].body_json == {"subject": "--batch_ in a body"}
    assert responses[2].body_json == {"subject": "ünïcode\nline"}
    assert responses[3].headers == {"if-match": 'W/"1"'}


# --- hand-written responses in the documented format -----------------------------------

DATAVERSE_CHANGESET_RESPONSE = """\
--batchresponse_7a1c
Content-Type: multipart/mixed; boundary=changesetresponse_b2d4

--changesetresponse_b2d4
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: https://org.crm.dynamics.com/api/data/v9.2/msdyn_warehouses(5a0e3f10-0000-0000-0000-000000000001)
OData-EntityId: https://org.crm.dynamics.com/api/data/v9.2/msdyn_warehouses(5a0e3f10-0000-0000-0000-000000000001)


--changesetresponse_b2d4
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

HTTP/1.1 204 No Content
OData-Version: 4.0


--changesetresponse_b2d4--
--batchresponse_7a1c
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 200 OK
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{"value": [{"@odata.etag": "W/\\"101\\"", "msdyn_name": "O'BRIEN"}]}
--batchresponse_7a1c--
"""

DV_ERROR = json.dumps(
    {
        "error": {
            "code": "0x80044331",
            "message": "A validation error occurred. The length of the 'msdyn_name' attribute "
            "exceeded the maximum allowed length of '100'.",
        }
    }
)
FNO_ERROR = json.dumps(
    {
        "error": {
            "code": "",
            "message": "An error has occurred.",
            "innererror": {
                "message": "Write failed for table row of type 'InventWarehouseEntity'. "
                "Infolog: Warehouse 21 already exists.",
                "type": "Microsoft.Dynamics.Platform.Integration.Services.OData."
                "AxODataWriteException",
                "stacktrace": "   at Microsoft.Dynamics...",
            },
        }
    }
)

DATAVERSE_CONTINUE_ON_ERROR_RESPONSE = """\
--batchresponse_e9f0
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 400 Bad Request
REQ_ID: 0f0f0f0f-1111-2222-3333-444444444444
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{DV_ERROR}
--batchresponse_e9f0
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 204 No Content
OData-Version: 4.0
OData-EntityId: https://org.crm.dynamics.com/api/data/v9.2/tasks(0c0c0c0c-0000-0000-0000-000000000002)


--batchresponse_e9f0--
""".replace("{DV_ERROR}", DV_ERROR)

FNO_FAILED_CHANGESET_RESPONSE = """\
--batchresponse_41aa
Content-Type: multipart/mixed; boundary=changesetresponse_9bcd

--changesetresponse_9bcd
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

HTTP/1.1 500 Internal Server Error
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{FNO_ERROR}
--changesetresponse_9bcd--
--batchresponse_41aa--
""".replace("{FNO_ERROR}", FNO_ERROR)


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_decode_dataverse_changeset_response(newline: str) -> None:
    body = DATAVERSE_CHANGESET_RESPONSE.replace("\n", newline).encode()
    responses = decode("multipart/mixed; boundary=batchresponse_7a1c", body)

    assert [(r.status, r.content_id) for r in responses] == [(204, "1"), (204, "2"), (200, None)]
    assert responses[0].headers["odata-entityid"].endswith("(5a0e3f10-0000-0000-0000-000000000001)")
    assert responses[0].body_json is None and responses[0].reason == "No Content"
    assert responses[2].body_json == {
        "value": [{"@odata.etag": 'W/"101"', "msdyn_name": "O'BRIEN"}]
    }


def test_decode_continue_on_error_response() -> None:
    body = DATAVERSE_CONTINUE_ON_ERROR_RESPONSE.replace("\n", "\r\n").encode()
    first, second = decode('multipart/mixed; boundary="batchresponse_e9f0"', body)
    assert first.status == 400
    assert first.body_json["error"]["code"] == "0x80044331"
    assert first.headers["req_id"].startswith("0f0f")
    assert second.status == 204


def test_decode_fno_failed_changeset() -> None:
    (part,) = decode(
        "multipart/mixed; boundary=batchresponse_41aa", FNO_FAILED_CHANGESET_RESPONSE.encode()
    )
    assert part.status == 500 and part.content_id == "1"
    assert "already exists" in json.loads(part.text)["error"]["innererror"]["message"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/mixed", b"--x\r\n"),
        (
            "multipart/mixed; boundary=x",
            b"--x\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n",
        ),
        (
            "multipart/mixed; boundary=x",
            b"--x\r\nContent-Type: application/http\r\n\r\nnot a status\r\n--x--",
        ),
    ],
)
def test_decode_refuses_broken_bodies(content_type: str, body: bytes) -> None:
    with pytest.raises(ValueError):
        decode(content_type, body)
