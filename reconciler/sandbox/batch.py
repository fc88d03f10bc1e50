"""``multipart/mixed`` bodies of OData ``$batch`` (api-protocols.md A7, B5): parsing requests
and composing responses. No routing or execution here (see batch_runner.py).

Parts are split on boundary lines that start a line; both CRLF and bare LF are accepted
because hand-written clients and documentation samples mix them. Bodies are handled as
latin-1 text so every byte round-trips.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from reconciler.sandbox.messages import ApiResponse


class BatchSyntaxError(ValueError):
    """The body is not a well-formed batch; the whole batch is answered 400."""


@dataclass
class BatchOperation:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    operations: list[BatchOperation] = field(default_factory=list)


BatchItem = BatchOperation | ChangeSet


@dataclass
class PartResult:
    response: ApiResponse
    content_id: str | None = None


# One answered batch item: a single response, or the responses of a committed change set.
ResultItem = PartResult | list[PartResult]


def boundary_of(content_type: str | None) -> str | None:
    """The ``boundary`` parameter of a multipart/mixed Content-Type, unquoted."""
    if not content_type or not content_type.lower().startswith("multipart/mixed"):
        return None
    match = re.search(r'boundary\s*=\s*"?([^";]+)"?', content_type, re.IGNORECASE)
    return match.group(1).strip() if match else None


def _split_parts(text: str, boundary: str) -> list[str]:
    delimiter = re.compile(r"(?:^|\r?\n)--" + re.escape(boundary) + r"(--)?[ \t]*(?:\r?\n|$)")
    parts: list[str] = []
    start: int | None = None
    for match in delimiter.finditer(text):
        if start is not None:
            parts.append(text[start : match.start()])
        if match.group(1):
            return parts
        start = match.end()
    raise BatchSyntaxError(f"The batch body has no closing delimiter '--{boundary}--'.")


def _split_head(text: str) -> tuple[list[tuple[str, str]], str]:
    """Header lines up to the first blank line, and the rest."""
    match = re.search(r"\r?\n\r?\n", text)
    head, rest = (text[: match.start()], text[match.end() :]) if match else (text, "")
    headers: list[tuple[str, str]] = []
    for line in re.split(r"\r?\n", head):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise BatchSyntaxError(f"Malformed header line in batch part: '{line}'.")
        headers.append((name.strip(), value.strip()))
    return headers, rest


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def _parse_operation(part: str) -> BatchOperation:
    mime_headers, http_text = _split_head(part)
    content_type = (_header(mime_headers, "Content-Type") or "").lower()
    if not content_type.startswith("application/http"):
        raise BatchSyntaxError(f"Unsupported batch part Content-Type '{content_type}'.")
    http_text = http_text.lstrip("\r\n")
    line_end = re.search(r"\r?\n", http_text)
    request_line = http_text[: line_end.start()] if line_end else http_text
    pieces = request_line.split()
    if len(pieces) != 3 or not pieces[2].startswith("HTTP/"):
        raise BatchSyntaxError(
            f"Malformed request line in batch part (expected 'METHOD URL HTTP/1.1', with the "
            f"URL percent-encoded): '{request_line}'."
        )
    headers, body = _split_head(http_text[line_end.end() :] if line_end else "")
    content_id = _header(mime_headers, "Content-ID") or _header(headers, "Content-ID")
    body_bytes = body.rstrip("\r\n").encode("latin-1")
    return BatchOperation(pieces[0].upper(), pieces[1], headers, body_bytes, content_id)


def _parse_item(part: str) -> BatchItem:
    headers, rest = _split_head(part)
    inner = boundary_of(_header(headers, "Content-Type"))
    if inner is None:
        return _parse_operation(part)
    operations = [_parse_operation(sub) for sub in _split_parts(rest, inner)]
    return ChangeSet(operations)


def parse_batch(body: bytes, content_type: str | None) -> list[BatchItem]:
    """Top-level items of a batch request body (operations and change sets, in order)."""
    boundary = boundary_of(content_type)
    if boundary is None:
        raise BatchSyntaxError(
            "A $batch request needs Content-Type multipart/mixed with a boundary."
        )
    return [_parse_item(part) for part in _split_parts(body.decode("latin-1"), boundary)]


def _http_part(result: PartResult) -> str:
    response = result.response
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if result.content_id is not None:
        lines.append(f"Content-ID: {result.content_id}")
    lines += ["", f"HTTP/1.1 {response.status} {response.reason}"]
    lines += [f"{name}: {value}" for name, value in response.headers]
    return "\r\n".join(lines) + "\r\n\r\n" + response.body.decode("latin-1")


def _changeset_part(results: list[PartResult]) -> str:
    boundary = f"changesetresponse_{uuid.uuid4()}"
    body = "".join(f"--{boundary}\r\n{_http_part(result)}\r\n" for result in results)
    head = f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n"
    return head + body + f"--{boundary}--"


def compose_batch(items: list[ResultItem]) -> tuple[str, bytes]:
    """Response body for answered items; returns (Content-Type, body)."""
    boundary = f"batchresponse_{uuid.uuid4()}"
    chunks = []
    for item in items:
        part = _changeset_part(item) if isinstance(item, list) else _http_part(item)
        chunks.append(f"--{boundary}\r\n{part}\r\n")
    body = "".join(chunks) + f"--{boundary}--\r\n"
    return f"multipart/mixed; boundary={boundary}", body.encode("latin-1")
