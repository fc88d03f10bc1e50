"""Dataverse service-protection limits (api-protocols.md A9) and injected faults.

Faults are data (what, for whom, how many times) plus a behaviour per kind with a ``before``
hook (answer instead of the service, delay, or drop the connection) and an ``after`` hook
(alter the answer, or drop the connection once the service has committed). Dropping is
expressed as ``DROP`` so this module stays transport-neutral; the gateway turns it into a
closed connection.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.messages import ApiResponse
from reconciler.sandbox.service_errors import FNO_THROTTLE_MESSAGE, dataverse_error, fno_error

Service = Literal["fno", "dataverse"]
FaultKind = Literal["429", "503", "slow", "drop_before", "drop_after"]
HTTP_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})

REQUESTS_CODE = "0x80072322"
CONCURRENCY_CODE = "0x80072326"


@dataclass(frozen=True)
class Throttle:
    code: str
    message: str


class ServiceProtection:
    """Per-client sliding window of request times plus an in-flight count.

    The concurrency limit fails at once; the request limit counts admitted requests only
    (A9: a batch counts as one request).
    """

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.monotonic):
        self._config = config
        self._clock = clock
        self._windows: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def try_enter(self, client_id: str) -> Throttle | None:
        """Admit a request (call ``leave`` when it ends) or say why it is throttled."""
        config = self._config
        with self._lock:
            if self._in_flight.get(client_id, 0) >= config.dataverse_concurrency_limit:
                return Throttle(
                    CONCURRENCY_CODE,
                    "Number of concurrent requests exceeded the limit of "
                    f"{config.dataverse_concurrency_limit}.",
                )
            window = self._windows.setdefault(client_id, deque())
            now = self._clock()
            while window and window[0] <= now - config.dataverse_window_seconds:
                window.popleft()
            if len(window) >= config.dataverse_request_limit:
                return Throttle(
                    REQUESTS_CODE,
                    "Number of requests exceeded the limit of "
                    f"{config.dataverse_request_limit} over time window of "
                    f"{config.dataverse_window_seconds:g} seconds.",
                )
            window.append(now)
            self._in_flight[client_id] = self._in_flight.get(client_id, 0) + 1
            return None

    def leave(self, client_id: str) -> None:
        with self._lock:
            self._in_flight[client_id] = max(0, self._in_flight.get(client_id, 0) - 1)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


def throttled_response(
    service: Service, retry_after: int, throttle: Throttle | None
) -> ApiResponse:
    """A 429 in the service's own error format, with ``Retry-After`` in whole seconds."""
    headers = [("Retry-After", str(retry_after))]
    if service == "fno":
        return fno_error(429, FNO_THROTTLE_MESSAGE, message=FNO_THROTTLE_MESSAGE, headers=headers)
    reason = throttle or Throttle(
        REQUESTS_CODE,
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
    )
    return dataverse_error(429, reason.code, reason.message, headers)


def unavailable_response(service: Service) -> ApiResponse:
    """503 in the service's error format (body wording inferred; the status is what matters)."""
    message = "The service is temporarily unavailable. Please retry the request later."
    if service == "fno":
        return fno_error(503, message, message="Service Unavailable")
    return dataverse_error(503, "", message)


@dataclass
class Fault:
    service: Service
    kind: FaultKind
    remaining: int
    retry_after: int = 1
    delay: float = 0.0
    path_contains: str = ""
    method: str | None = None
    body_contains: str = ""

    def matches(self, service: str, target: str, method: str, body: str = "") -> bool:
        return (
            self.service == service
            and self.path_contains in target
            and (self.method is None or self.method == method.upper())
            and self.body_contains in body
        )


class Drop:
    """Marker answer: close the connection without a complete response."""

    def __repr__(self) -> str:
        return "DROP"


DROP = Drop()


class FaultBehaviour:
    """What a fault kind does around the real handler."""

    async def before(self, fault: Fault) -> ApiResponse | Drop | None:
        return None

    def after(self, fault: Fault, response: ApiResponse) -> ApiResponse | Drop:
        return response


class _Throttle(FaultBehaviour):
    async def before(self, fault: Fault) -> ApiResponse | None:
        return throttled_response(fault.service, fault.retry_after, None)


class _Unavailable(FaultBehaviour):
    async def before(self, fault: Fault) -> ApiResponse | None:
        return unavailable_response(fault.service)


class _Slow(FaultBehaviour):
    async def before(self, fault: Fault) -> ApiResponse | None:
        await asyncio.sleep(fault.delay)
        return None


class _DropBefore(FaultBehaviour):
    """The connection fails before the service sees the request: nothing is written."""

    async def before(self, fault: Fault) -> ApiResponse | Drop | None:
        return DROP


class _DropAfter(FaultBehaviour):
    """Commit then drop: the writes (a whole ``$batch`` included) stay, the answer is lost,
    which is what a client must survive to converge on retry."""

    def after(self, fault: Fault, response: ApiResponse) -> ApiResponse | Drop:
        return DROP


BEHAVIOURS: dict[str, FaultBehaviour] = {
    "429": _Throttle(),
    "503": _Unavailable(),
    "slow": _Slow(),
    "drop_before": _DropBefore(),
    "drop_after": _DropAfter(),
}


class Faults:
    """Queue of injected faults; the next matching requests (after authentication) take them."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(
        self,
        service: Service,
        kind: FaultKind,
        count: int,
        retry_after: int = 1,
        delay: float = 0.0,
        path_contains: str = "",
        method: str | None = None,
        body_contains: str = "",
    ) -> None:
        """The next ``count`` requests to ``service`` whose decoded path and query contain
        ``path_contains`` (and whose HTTP method is ``method``, when given; ``$batch`` is a
        POST) get the fault: ``"429"`` with Retry-After, ``"503"``, ``"slow"`` (a delay),
        ``"drop_before"`` (connection closed, request not handled) or ``"drop_after"``
        (request handled and committed, then the connection closed without an answer).
        Faults match whole HTTP requests, never the operations inside a ``$batch``; with
        ``body_contains`` only requests whose body has that text (e.g. a ``$batch`` that
        posts ``msdyn_inventoryadjustments``, not one that only reads)."""
        if service not in ("fno", "dataverse"):
            raise ValueError(f"unknown service {service!r}; use 'fno' or 'dataverse'")
        if kind not in BEHAVIOURS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(BEHAVIOURS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        verb = None if method is None else method.upper()
        if verb is not None and verb not in HTTP_METHODS:
            raise ValueError(f"unknown method {method!r}; known: {', '.join(sorted(HTTP_METHODS))}")
        fault = Fault(service, kind, count, retry_after, delay, path_contains, verb, body_contains)
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> int:
        """How many faulty answers are still queued."""
        with self._lock:
            return sum(fault.remaining for fault in self._faults)

    def take(self, service: str, target: str, method: str, body: bytes = b"") -> Fault | None:
        """Consume one use of the first fault matching this request."""
        text = body.decode("utf-8", "replace") if body else ""
        with self._lock:
            for fault in self._faults:
                if fault.matches(service, target, method, text):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None
