"""Dataverse service-protection limits (api-protocols.md A9) and injected faults.

Faults are data (what, for whom, how many times) plus a behaviour per kind with a ``before``
hook (answer instead of the service, or delay) and an ``after`` hook (alter the answer). New
kinds such as dropping the connection, or committing and then dropping, plug in as another
behaviour: the gateway already runs ``after`` once the service has committed.
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
FaultKind = Literal["429", "503", "slow"]

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

    def matches(self, service: str, target: str) -> bool:
        return self.service == service and self.path_contains in target


class FaultBehaviour:
    """What a fault kind does around the real handler."""

    async def before(self, fault: Fault) -> ApiResponse | None:
        return None

    def after(self, fault: Fault, response: ApiResponse) -> ApiResponse:
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


BEHAVIOURS: dict[str, FaultBehaviour] = {"429": _Throttle(), "503": _Unavailable(), "slow": _Slow()}


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
    ) -> None:
        """The next ``count`` requests to ``service`` whose path and query contain
        ``path_contains`` get the fault: a 429 with Retry-After, a 503, or a delay."""
        if service not in ("fno", "dataverse"):
            raise ValueError(f"unknown service {service!r}; use 'fno' or 'dataverse'")
        if kind not in BEHAVIOURS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(BEHAVIOURS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(Fault(service, kind, count, retry_after, delay, path_contains))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> int:
        """How many faulty answers are still queued."""
        with self._lock:
            return sum(fault.remaining for fault in self._faults)

    def take(self, service: str, target: str) -> Fault | None:
        """Consume one use of the first fault matching this request."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(service, target):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None
