"""KIS's per-app-key request rate: ``rate_limit`` REST requests per second, a sliding window.

Paper trading allows about two requests a second per app key. The emulator admits a
request when fewer than ``capacity`` requests were admitted in the last ``window`` seconds,
where ``capacity`` is ``rate_limit`` rounded down (at least 1) and ``window`` is
``capacity / rate_limit`` (one second for a whole rate: 2.0 admits two requests in any
second; 0.5 admits one in any two seconds). A request beyond that is refused with HTTP 500
``EGW00201`` and does nothing; it is not counted against later requests. ``/oauth2/*`` and
the control API are not limited. The window runs on the monotonic clock.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Admits or refuses REST requests per app key."""

    def __init__(self, rate_limit: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._admitted: dict[str, deque[float]] = {}
        self.refused = 0
        self.rate_limit = rate_limit

    @property
    def rate_limit(self) -> float:
        return self._rate

    @rate_limit.setter
    def rate_limit(self, rate: float) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate_limit must be a positive number of requests per second, "
                             f"got {rate!r}")
        self._rate = float(rate)
        self.capacity = max(1, math.floor(rate))
        self.window = self.capacity / self._rate

    def admit(self, app_key: str) -> bool:
        """Whether one more request of ``app_key`` fits now (it is then counted)."""
        now = self._clock()
        admitted = self._admitted.setdefault(app_key, deque())
        horizon = now - self.window
        while admitted and admitted[0] <= horizon:
            admitted.popleft()
        if len(admitted) >= self.capacity:
            self.refused += 1
            return False
        admitted.append(now)
        return True

    def reset(self) -> None:
        """Forget every request admitted so far."""
        self._admitted.clear()
