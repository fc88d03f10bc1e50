"""Encode and decode OData ``$batch`` bodies (multipart/mixed), without any I/O.

Format from api-protocols A7/B5 and the Dataverse batch article: each part is
``Content-Type: application/http`` + ``Content-Transfer-Encoding: binary``, then the raw
request with an absolute path (``POST /api/data/v9.2/tasks HTTP/1.1``); change sets are a
nested ``multipart/mixed`` whose parts carry a ``Content-ID`` so later parts can refer to
``$1``. Responses mirror that shape (``batchresponse_…`` / ``changesetresponse_…``).
Bodies are written with CRLF and read with CRLF or bare LF.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

__all__ = ["BatchRequest", "BatchResponse", "ChangeSet", "decode", "encode", "iter_requests"]

_CRLF = "\r\n"
_STATUS_LINE = re.compile(r"HTTP/\d(?:\.\d)?\s+(\d{3})\s*(.*)")


@dataclass(frozen=True)
class BatchRequest:
    """One operation inside a batch.

    ``url`` is relative to the service root (``msdyn_warehouses(…)``), an absolute URL, or a
    Content-ID reference such as ``$1``; ``body`` is sent as JSON.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None
    content_id: str | None = None


@dataclass(frozen=True)
class ChangeSet:
    """Requests applied atomically: all succeed or none do. GETs are not allowed inside."""

    requests: Sequence[BatchRequest]


@dataclass(frozen=True)
class BatchResponse:
    """One operation's answer; header names are lower-cased."""

    status: int
    headers: Mapping[str, str]
    body_json: Any | None
    content_id: str | None
    reason: str = ""
    text: str = ""


# --- encode -----------------------------------------------------------------------------


def encode(root_url: str, items: Sequence[BatchRequest | ChangeSet]) -> tuple[str, bytes]:
    """The ``Content-Type`` header value and body for ``POST <root>/$batch``.

    Requests inside a change set without a ``content_id`` get the next free number, since
    OData requires one there. Raises ValueError for a GET inside a change set, a duplicate
    Content-ID or an empty batch.
    """
    if not items:
        raise ValueError("a $batch needs at least one request")
    root_path = urlsplit(root_url).path.rstrip("/") + "/"
    ids = _ContentIds(items)
    boundary = f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    for item in items:
        lines.append(f"--{boundary}")
        if isinstance(item, ChangeSet):
            lines += _changeset_lines(item, root_path, ids)
        else:
            lines += _request_lines(item, root_path, item.content_id)
    lines.append(f"--{boundary}--")
    body = _CRLF.join(lines) + _CRLF
    return f'multipart/mixed; boundary="{boundary}"', body.encode("utf-8")


class _ContentIds:
    """Content-IDs unique across the batch: the caller's own, then 1, 2, … for the rest."""

    def __init__(self, items: Sequence[BatchRequest | ChangeSet]) -> None:
        given = [r.content_id for r in iter_requests(items) if r.content_id is not None]
        if len(given) != len(set(given)):
            raise ValueError(f"duplicate Content-ID in batch: {sorted(given)}")
        self._used = set(given)
        self._next = 1

    def for_request(self, request: BatchRequest) -> str:
        if request.content_id is not None:
            return request.content_id
        while str(self._next) in self._used:
            self._next += 1
        self._used.add(str(self._next))
        return str(self._next)


def iter_requests(items: Sequence[BatchRequest | ChangeSet]) -> Iterator[BatchRequest]:
    """Every request of a batch in order, change sets opened."""
    for item in items:
        if isinstance(item, ChangeSet):
            yield from item.requests
        else:
            yield item


def _changeset_lines(changeset: ChangeSet, root_path: str, ids: _ContentIds) -> list[str]:
    if not changeset.requests:
        raise ValueError("a change set needs at least one request")
    boundary = f"changeset_{uuid.uuid4()}"
    lines = [f'Content-Type: multipart/mixed; boundary="{boundary}"', ""]
    for request in changeset.requests:
        if request.method.upper() == "GET":
            raise ValueError(f"GET {request.url} is not allowed inside a change set")
        lines.append(f"--{boundary}")
        lines += _request_lines(request, root_path, ids.for_request(request))
    lines.append(f"--{boundary}--")
    return lines


def _request_lines(request: BatchRequest, root_path: str, content_id: str | None) -> list[str]:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{request.method.upper()} {_target(request.url, root_path)} HTTP/1.1"]
    headers = dict(request.headers)
    body = ""
    if request.body is not None:
        body = json.dumps(request.body, ensure_ascii=False, separators=(",", ":"))
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return [*lines, "", body]


def _target(url: str, root_path: str) -> str:
    """Request-line target: references and absolute forms as given, else root path + url."""
    if url.startswith(("$", "/")) or urlsplit(url).scheme in ("http", "https"):
        return url
    return root_path + url


# --- decode -----------------------------------------------------------------------------


def decode(content_type: str, body: bytes) -> list[BatchResponse]:
    """The responses of a ``$batch`` answer, change-set responses flattened in order.

    Raises ValueError when the body is not the multipart document it claims to be.
    """
    boundary = _boundary(content_type)
    responses: list[BatchResponse] = []
    for part in _parts(body.decode("utf-8"), boundary):
        head, content = _head_and_body(part)
        headers = _headers(head)
        part_type = headers.get("content-type", "")
        if part_type.lower().startswith("multipart/"):
            responses += decode(part_type, content.encode("utf-8"))
        else:
            responses.append(_http_response(content, headers.get("content-id")))
    return responses


def _boundary(content_type: str) -> str:
    message = Message()
    message["content-type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError(f"batch response Content-Type has no boundary: {content_type!r}")
    return boundary


def _parts(text: str, boundary: str) -> list[str]:
    delimiter = re.compile(r"(?:\A|\r?\n)--" + re.escape(boundary) + r"(--)?[ \t]*(?:\r?\n|\Z)")
    parts: list[str] = []
    start: int | None = None
    for match in delimiter.finditer(text):
        if start is not None:
            parts.append(text[start : match.start()])
        if match.group(1):
            return parts
        start = match.end()
    raise ValueError(f"batch body has no closing boundary --{boundary}-- (truncated?)")


def _head_and_body(text: str) -> tuple[list[str], str]:
    """Split at the first empty line: header lines before it, the body after it."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if not line.rstrip("\r"):
            head = [entry.rstrip("\r") for entry in lines[:index]]
            return head, "\n".join(lines[index + 1 :])
    return [entry.rstrip("\r") for entry in lines], ""


def _headers(lines: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


def _http_response(content: str, content_id: str | None) -> BatchResponse:
    head, body = _head_and_body(content)
    if not head:
        raise ValueError("batch part has no HTTP status line")
    match = _STATUS_LINE.fullmatch(head[0].strip())
    if not match:
        raise ValueError(f"batch part has no HTTP status line: {head[0][:80]!r}")
    headers = _headers(head[1:])
    text = body.strip()
    return BatchResponse(
        status=int(match.group(1)),
        headers=headers,
        body_json=_json_or_none(text),
        content_id=content_id or headers.get("content-id"),
        reason=match.group(2).strip(),
        text=text,
    )


def _json_or_none(text: str) -> Any | None:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
