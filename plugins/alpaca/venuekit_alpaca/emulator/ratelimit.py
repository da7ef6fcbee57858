"""Alpaca's request budget: so many requests per minute per account, announced in headers.

Every authenticated REST request is counted in a sliding one-minute window. Each answer
carries ``X-Ratelimit-Limit``, ``X-Ratelimit-Remaining`` and ``X-Ratelimit-Reset`` (the
epoch second at which the oldest counted request leaves the window); a request beyond the
budget is refused with 429 and not counted.
"""

from __future__ import annotations

import math
import time
from collections import deque

__all__ = ["RequestBudget"]


class RequestBudget:
    """A sliding window of ``limit`` requests per ``period`` seconds (wall clock)."""

    def __init__(self, limit: int = 200, period: float = 60.0) -> None:
        if limit < 1:
            raise ValueError("the rate limit must allow at least one request")
        self.limit = limit
        self.period = period
        self._times: deque[float] = deque()

    def _expire(self, now: float) -> None:
        horizon = now - self.period
        times = self._times
        while times and times[0] <= horizon:
            times.popleft()

    def take(self) -> tuple[bool, dict[str, str]]:
        """Count one request if the budget allows; returns whether it did and the headers."""
        now = time.time()
        self._expire(now)
        allowed = len(self._times) < self.limit
        if allowed:
            self._times.append(now)
        oldest = self._times[0] if self._times else now
        headers = {
            "X-Ratelimit-Limit": str(self.limit),
            "X-Ratelimit-Remaining": str(self.limit - len(self._times)),
            "X-Ratelimit-Reset": str(math.ceil(oldest + self.period)),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(oldest + self.period - now)))
        return allowed, headers

    def reset(self) -> None:
        self._times.clear()
