"""Retries: only retryable errors, exponential delays with jitter, Retry-After honoured."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from venuekit.errors import Code, VenueKitError, error
from venuekit.retry import Backoff, retry_call


def run_with(errors: list[VenueKitError], backoff: Backoff) -> tuple[str, list[float], int]:
    calls = 0
    slept: list[float] = []

    async def call() -> str:
        nonlocal calls
        calls += 1
        if errors:
            raise errors.pop(0)
        return "ok"

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    result = asyncio.run(retry_call(call, operation="fetch_order", backoff=backoff,
                                    rng=random.Random(1), sleep=sleep))
    return result, slept, calls


def test_retryable_errors_are_retried_with_growing_delays(caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    caplog.set_level(logging.INFO, logger="venuekit.retry")
    errors = [error(Code.TIMEOUT), error(Code.CONNECTION_ERROR), error(Code.VENUE_ERROR)]
    result, slept, calls = run_with(errors, Backoff(base=0.1, factor=2, cap=10, jitter=0))
    assert (result, calls) == ("ok", 4)
    assert slept == [0.1, 0.2, 0.4]
    codes = [r.code for r in caplog.records]  # type: ignore[attr-defined]
    assert codes == ["TIMEOUT", "CONNECTION_ERROR", "VENUE_ERROR"]


def test_jitter_stays_within_its_fraction() -> None:
    backoff = Backoff(base=1.0, factor=2, cap=100, jitter=0.5)
    rng = random.Random(7)
    for retry in range(6):
        raw = min(100.0, 2.0 ** retry)
        assert raw * 0.5 <= backoff.delay(retry, rng) <= raw


def test_rate_limits_wait_at_least_retry_after() -> None:
    limited = error(Code.RATE_LIMITED, retry_after=3.0)
    _, slept, _ = run_with([limited], Backoff(base=0.1, jitter=0))
    assert slept == [3.0]


def test_a_rejection_is_not_retried_and_the_last_failure_is_raised() -> None:
    with pytest.raises(VenueKitError, match="INSUFFICIENT_FUNDS"):
        run_with([error(Code.INSUFFICIENT_FUNDS)], Backoff())
    with pytest.raises(VenueKitError, match="TIMEOUT"):
        run_with([error(Code.TIMEOUT)] * 3, Backoff(attempts=3, jitter=0))
