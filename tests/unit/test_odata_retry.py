"""RetryPolicy in isolation: Retry-After parsing, backoff shape, counters, validation."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from reconciler.errors import ServiceError
from reconciler.odata.retry import RequestInfo, RetryPolicy, retry_after_seconds

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
GET = RequestInfo("F&O GET X", "GET", "https://env/data/X", idempotent=True)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("Wed, 01 May 2024 12:00:30 GMT", 30.0),
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("inf", None),
    ],
)
def test_retry_after_forms(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, NOW) == seconds


def _always(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "https://env/data/X"))


def test_backoff_doubles_up_to_max_delay_with_jitter() -> None:
    waits: list[float] = []
    policy = RetryPolicy(
        max_attempts=6, base_delay=1.0, max_delay=5.0, sleep=waits.append, jitter=lambda: 0.0
    )
    with pytest.raises(ServiceError):
        policy.send(lambda: _always(503), GET)
    # jitter 0 halves each wait: 1, 2, 4, 5 (capped), 5
    assert waits == [0.5, 1.0, 2.0, 2.5, 2.5]
    assert policy.retries == 5 and policy.total_wait == sum(waits)


def test_non_retryable_answers_come_back_at_once() -> None:
    policy = RetryPolicy(sleep=lambda _: pytest.fail("must not sleep"))
    assert policy.send(lambda: _always(404), GET).status_code == 404
    assert policy.send(lambda: _always(500), GET).status_code == 500


def test_unsendable_requests_are_service_errors() -> None:
    def attempt() -> httpx.Response:
        raise httpx.UnsupportedProtocol("no such scheme")

    with pytest.raises(ServiceError, match="could not be sent: UnsupportedProtocol"):
        RetryPolicy().send(attempt, GET)


@pytest.mark.parametrize(
    "options", [{"max_attempts": 0}, {"base_delay": -1.0}, {"max_total_wait": -5.0}]
)
def test_invalid_settings(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**options)  # type: ignore[arg-type]
