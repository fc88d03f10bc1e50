"""Building ``$batch`` request bodies and reading multipart responses, for the tests."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx


def operation(method: str, url: str, body: object = None, content_id: str | None = None) -> str:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        head.append(f"Content-ID: {content_id}")
    request = [f"{method} {url} HTTP/1.1"]
    if body is not None:
        request.append("Content-Type: application/json; type=entry")
    text = "\r\n".join(head) + "\r\n\r\n" + "\r\n".join(request) + "\r\n\r\n"
    return text + (json.dumps(body) if body is not None else "")


def changeset(name: str, operations: list[str]) -> str:
    body = "".join(f"--{name}\r\n{item}\r\n" for item in operations)
    return f"Content-Type: multipart/mixed; boundary={name}\r\n\r\n{body}--{name}--"


def batch(items: list[str]) -> tuple[dict[str, str], str]:
    body = "".join(f"--batch_x\r\n{item}\r\n" for item in items) + "--batch_x--\r\n"
    return {"Content-Type": 'multipart/mixed; boundary="batch_x"'}, body


@dataclass
class Part:
    status: int
    headers: dict[str, str]
    body: str
    content_id: str | None


def parts(response: httpx.Response) -> list[Part]:
    """Flat list of answered operations (nested change sets expanded), parsed naively."""
    found = []
    for chunk in re.split(r"--(?:batch|changeset)response_[0-9a-f-]+(?:--)?", response.text):
        match = re.search(r"HTTP/1\.1 (\d{3})[^\r\n]*\r\n(.*?)\r\n\r\n(.*)", chunk, re.S)
        if match is None:
            continue
        headers = dict(line.split(": ", 1) for line in match.group(2).split("\r\n"))
        content_id = re.search(r"Content-ID: (\S+)", chunk.split("HTTP/1.1")[0])
        found.append(
            Part(
                int(match.group(1)),
                headers,
                match.group(3).strip(),
                content_id.group(1) if content_id else None,
            )
        )
    return found
