"""Running the app: uvicorn on a loopback socket in a background thread (tests, demo) or in
the foreground until SIGINT/SIGTERM (``reconcile sandbox``)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from reconciler.sandbox.app import create_app
from reconciler.sandbox.connection_drop import ABORT_EXTENSION
from reconciler.sandbox.world import Sandbox

_START_TIMEOUT = 10.0


class RunningSandbox:
    """A served Sandbox and the URLs a client profile needs."""

    def __init__(
        self,
        sandbox: Sandbox,
        server: uvicorn.Server,
        host: str,
        port: int,
        thread: threading.Thread | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.host = host
        self.port = port
        self._server = server
        self._thread = thread
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{port}"
        self.fno_url = self.base_url + "/fno"
        self.dataverse_url = self.base_url + "/dataverse"
        self.identity_url = self.base_url + "/login"

    def stop(self) -> None:
        """Stop serving now (open keep-alive connections are closed, not drained) and wait
        for the background thread, if any."""
        self._server.should_exit = True
        self._server.force_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(_START_TIMEOUT)

    def profile_values(self) -> dict[str, object]:
        """Everything a client profile needs to reach this sandbox."""
        config = self.sandbox.config
        return {
            "fno_url": self.fno_url,
            "dataverse_url": self.dataverse_url,
            "identity_url": self.identity_url,
            "tenant_id": config.tenant_id,
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "companies": dict(self.sandbox.companies),
        }

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


class _ResponsiveServer(uvicorn.Server):
    """uvicorn polls ``should_exit`` every 100 ms; tests start and stop a server per test, so
    poll every 10 ms and run uvicorn's own once-per-100 ms housekeeping (``on_tick``) as
    usual."""

    async def main_loop(self) -> None:
        polls = 0
        while not self.should_exit:
            await asyncio.sleep(0.01)
            polls += 1
            if polls % 10 == 0 and await self.on_tick(polls // 10):
                return


class _NoDelayH11Protocol(H11Protocol):
    """Turn off Nagle's algorithm on each connection. uvicorn writes a response's headers and
    body separately; with Nagle on, the body waits for the client's delayed ACK, which made
    every keep-alive request on loopback take ~40 ms.

    Each request's scope also gets the connection's ``abort`` (connection_drop.py), so that
    a ``drop_*`` fault can close the socket before any byte of a response is written."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)

    def handle_events(self) -> None:
        # A request event creates the app's task without running it, so the scope can still
        # be completed here; repeated calls for body events set the same value again.
        super().handle_events()
        if self.scope is not None:
            extensions = self.scope.setdefault("extensions", {})
            extensions[ABORT_EXTENSION] = {"abort": self.transport.abort}


def _server(sandbox: Sandbox) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(sandbox),
        http=_NoDelayH11Protocol,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=1,
    )
    return _ResponsiveServer(config)


def _advertised(host: str) -> str:
    """Wildcard binds are reached through loopback."""
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)


def _wait_started(server: uvicorn.Server, thread: threading.Thread | None) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if thread is not None and not thread.is_alive():
            raise RuntimeError("the sandbox server thread exited during startup")
        if time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start within 10 seconds")
        time.sleep(0.01)


def start(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Serve in a daemon thread; returns once the socket accepts connections.
    ``port=0`` picks a free port."""
    sock = _listen(host, port)
    server = _server(sandbox)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="reconciler-sandbox", daemon=True
    )
    thread.start()
    _wait_started(server, thread)
    return RunningSandbox(sandbox, server, _advertised(host), sock.getsockname()[1], thread)


def serve_forever(
    sandbox: Sandbox,
    host: str,
    port: int,
    on_ready: Callable[[RunningSandbox], None] | None = None,
) -> None:
    """Serve in the calling thread until SIGINT/SIGTERM (uvicorn's own signal handling).
    ``on_ready`` runs once connections are accepted, e.g. to print or write a profile."""
    sock = _listen(host, port)
    server = _server(sandbox)
    running = RunningSandbox(sandbox, server, _advertised(host), sock.getsockname()[1])

    def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.01)
        if on_ready is not None:
            on_ready(running)

    threading.Thread(target=announce, name="reconciler-sandbox-ready", daemon=True).start()
    server.run(sockets=[sock])
