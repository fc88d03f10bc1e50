"""Retries for throttling (429), busy or failing gateways (502/503/504) and lost connections.

Both services answer overload with 429 and a ``Retry-After`` in seconds (api-protocols A9,
B6), so that wait is honoured; otherwise the wait grows exponentially with jitter. A write
that is not idempotent is only resent when the service certainly did not process it
(429/503, or the connection never opened). Once it may have reached the server, resending
could create a duplicate, so :class:`OutcomeUnknownError` tells the caller to re-read first.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from reconciler.errors import OutcomeUnknownError, ServiceError, ThrottledError
from reconciler.odata.errors import parse_error_body

__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "RequestInfo",
    "RetryPolicy",
    "retry_after_seconds",
]

RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""Answers worth repeating: throttled, or a gateway/back end that is briefly unavailable."""

_NOT_PROCESSED = frozenset({429, 503})
"""The service refused the request before doing anything, so even a POST may be resent."""

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
"""PATCH counts as idempotent here: it sets fields to given values (or upserts by key), so
sending it twice leaves the same row. POST creates, so it does not."""

_NEVER_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
_MAYBE_DELIVERED: tuple[type[httpx.TransportError], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class RequestInfo:
    """What retries need to know about a request, and how messages name it.

    ``final`` marks answers never to repeat even with a retryable status: a ``$batch``
    answer in multipart form reports operations that already ran.
    """

    description: str  # e.g. "Dataverse POST msdyn_warehouses"
    method: str
    url: str  # already stripped of query values
    idempotent: bool
    final: Callable[[httpx.Response], bool] | None = None


@dataclass(frozen=True)
class _Attempt:
    response: httpx.Response | None = None
    error: httpx.TransportError | None = None


@dataclass
class RetryPolicy:
    """How often and how long to retry; also counts what it did (for reports and tests).

    ``sleep``, ``jitter`` and ``clock`` are injectable so tests run instantly and exactly.
    """

    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 60.0
    max_total_wait: float = 600.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)
    retries: int = field(default=0, init=False)
    total_wait: float = field(default=0.0, init=False)
    throttled: int = field(default=0, init=False)
    _paused_until: float = field(default=0.0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if min(self.base_delay, self.max_delay, self.max_total_wait) < 0:
            raise ValueError("retry delays must not be negative")

    def send(self, attempt: Callable[[], httpx.Response], info: RequestInfo) -> httpx.Response:
        """Call ``attempt`` until it gives a final answer; raise when retries run out.

        A 429 with ``Retry-After`` pauses every request sent through this policy (all the
        applier's threads share it), so the whole client slows down instead of each thread
        hammering on; such waits are bounded by ``max_total_wait``, not by ``max_attempts``,
        because the service said exactly when to come back.
        """
        waited = 0.0
        number = 1
        while True:
            waited += self._wait_for_pause()
            outcome = self._try(attempt, info)
            if outcome.response is not None and _is_final(outcome.response, info):
                return outcome.response
            delay = self._delay(outcome, number)
            paced = self._is_paced(outcome)
            if (not paced and number >= self.max_attempts) or waited + delay > self.max_total_wait:
                raise self._give_up(info, outcome, number, waited, delay)
            if outcome.response is not None:
                outcome.response.close()
            if paced:
                self._pause(delay)
            else:
                self._wait(delay)
                number += 1
            waited += delay if not paced else 0.0

    def _is_paced(self, outcome: _Attempt) -> bool:
        response = outcome.response
        return (
            response is not None
            and response.status_code == 429
            and response.headers.get("Retry-After") is not None
        )

    def _pause(self, delay: float) -> None:
        """Hold back every sender until the service's Retry-After has passed."""
        with self._lock:
            self.throttled += 1
            self._paused_until = max(self._paused_until, self.clock() + delay)

    def _wait_for_pause(self) -> float:
        with self._lock:
            delay = self._paused_until - self.clock()
        if delay <= 0:
            return 0.0
        self._wait(delay)
        return delay

    def _try(self, attempt: Callable[[], httpx.Response], info: RequestInfo) -> _Attempt:
        """One send; transport errors become outcomes, or errors when resending is unsafe."""
        try:
            response = attempt()
        except _NEVER_SENT as exc:
            return _Attempt(error=exc)
        except _MAYBE_DELIVERED as exc:
            if info.idempotent:
                return _Attempt(error=exc)
            raise _outcome_unknown(info, f"{type(exc).__name__}: {exc}") from exc
        except httpx.TransportError as exc:
            raise ServiceError(
                f"{info.description} could not be sent: {type(exc).__name__}: {exc}",
                method=info.method,
                url=info.url,
            ) from exc
        if not _is_final(response, info) and not _safe_to_resend(response, info):
            response.close()
            what = f"the gateway answered {response.status_code} {response.reason_phrase}"
            raise _outcome_unknown(info, what)
        return _Attempt(response=response)

    def _delay(self, outcome: _Attempt, number: int) -> float:
        if outcome.response is not None:
            header = outcome.response.headers.get("Retry-After")
            now = datetime.fromtimestamp(self.clock(), UTC)
            seconds = retry_after_seconds(header, now)
            if seconds is not None:
                return seconds
        backoff = min(self.max_delay, self.base_delay * 2.0 ** (number - 1))
        return backoff * (0.5 + 0.5 * self.jitter())

    def _wait(self, delay: float) -> None:
        with self._lock:
            self.retries += 1
            self.total_wait += delay
        self.sleep(delay)

    def _give_up(
        self, info: RequestInfo, outcome: _Attempt, number: int, waited: float, delay: float
    ) -> ThrottledError:
        why = (
            f"after {number} attempts"
            if number >= self.max_attempts
            else f"after {number} attempts: the next wait of {delay:.1f} s would pass the "
            f"{self.max_total_wait:.0f} s limit"
        )
        message = (
            f"{info.description} ({info.url}) gave up {why} ({waited:.1f} s waited); last "
            f"{_describe(outcome)}. The service is throttling or unavailable: try again "
            "later, or lower the batch size or parallelism."
        )
        status = outcome.response.status_code if outcome.response is not None else None
        return ThrottledError(message, status=status, method=info.method, url=info.url)


def _is_final(response: httpx.Response, info: RequestInfo) -> bool:
    if response.status_code not in RETRY_STATUSES:
        return True
    return info.final is not None and info.final(response)


def _safe_to_resend(response: httpx.Response, info: RequestInfo) -> bool:
    """502/504 may come after the back end ran the request; 429/503 come before it."""
    return info.idempotent or response.status_code in _NOT_PROCESSED


def _outcome_unknown(info: RequestInfo, what: str) -> OutcomeUnknownError:
    return OutcomeUnknownError(
        f"{info.description}: outcome unknown ({what}). The request may have been applied; "
        "it was not resent to avoid a duplicate. Re-read the target (re-run plan) before "
        "trying again.",
        method=info.method,
        url=info.url,
    )


def _describe(outcome: _Attempt) -> str:
    if outcome.response is None:
        return f"error {type(outcome.error).__name__}: {outcome.error}"
    response = outcome.response
    response.read()
    text = f"answer {response.status_code} {response.reason_phrase}"
    parsed = parse_error_body(response.text)
    if parsed and parsed.text():
        text += f" ({parsed.text()})"
    retry_after = response.headers.get("Retry-After")
    return text + (f", Retry-After {retry_after}" if retry_after else "")


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
