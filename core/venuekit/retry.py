"""Retries with exponential backoff and jitter, for calls that are safe to repeat.

Reads and cancels are safe to repeat; creates are not, and never come through here: the
outcome policy in :mod:`venuekit.outcome` decides when a create may be sent again. Every
retry decision is logged with the error code, the attempt and the delay.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import RateLimited, VenueKitError

__all__ = ["DEFAULT_BACKOFF", "Backoff", "retry_call"]

log = logging.getLogger("venuekit.retry")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: ``base * factor**attempt`` capped at ``cap`` seconds.

    ``jitter`` is the fraction of each delay drawn at random (0 = none, 1 = "full
    jitter"), so that many clients retrying together spread out. ``attempts`` counts the
    first call: 5 means one call and up to four retries.
    """

    base: float = 0.05
    factor: float = 2.0
    cap: float = 5.0
    jitter: float = 0.5
    attempts: int = 5

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        raw = min(self.cap, self.base * self.factor ** retry)
        if self.jitter <= 0:
            return raw
        draw = (rng or random).random()
        return raw * (1 - self.jitter) + raw * self.jitter * draw


DEFAULT_BACKOFF = Backoff()


async def retry_call(call: Callable[[], Awaitable[T]], *, operation: str,
                     backoff: Backoff = DEFAULT_BACKOFF, venue: str | None = None,
                     rng: random.Random | None = None,
                     sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> T:
    """Await ``call()``, retrying retryable venuekit errors with ``backoff``.

    A rate-limit answer waits at least its ``retry_after``. Non-retryable errors and the
    last failure are raised unchanged.
    """
    retry = 0
    while True:
        try:
            return await call()
        except VenueKitError as exc:
            if not exc.retryable or retry + 1 >= backoff.attempts:
                if exc.retryable:
                    log.warning("giving up after retries",
                                extra={"operation": operation, **exc.log_fields(),
                                       "attempts": retry + 1, "venue": venue})
                raise
            delay = backoff.delay(retry, rng)
            if isinstance(exc, RateLimited) and exc.retry_after:
                delay = max(delay, exc.retry_after)
            log.info("retrying after error",
                     extra={"operation": operation, **exc.log_fields(),
                            "attempt": retry + 1, "delay_s": round(delay, 4), "venue": venue})
            retry += 1
            await sleep(delay)
