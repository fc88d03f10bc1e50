"""Closing a client's connection without a complete response (the ``drop_*`` faults).

A dropped connection must reach the client as a transport error, never as an HTTP status.
The sandbox's own HTTP protocol (server.py) puts an ``abort`` callable for the connection
into the ASGI scope under ``ABORT_EXTENSION``; aborting closes the socket before any byte of
a response is written, and waiting for ``http.disconnect`` afterwards lets the server see
that the app ended because the peer is gone (so it neither logs an error nor sends a 500).

Served by another ASGI server, the fallback announces a body longer than the one it sends
and ends there; the server then closes the connection mid-body.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

ABORT_EXTENSION = "reconciler.sandbox.connection"
_DISCONNECT_WAIT_S = 5.0


def abort_of(scope: Scope) -> Callable[[], None] | None:
    """The connection's ``abort`` callable, when the server provides one."""
    extension = scope.get("extensions", {}).get(ABORT_EXTENSION, {})
    abort = extension.get("abort")
    return abort if callable(abort) else None


class DroppedConnection(Response):
    """Starlette response that closes the connection instead of answering."""

    def __init__(self) -> None:
        super().__init__(status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        abort = abort_of(scope)
        if abort is None:
            await _truncated(send)
            return
        abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_disconnected(receive), _DISCONNECT_WAIT_S)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _truncated(send: Send) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"1024")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
