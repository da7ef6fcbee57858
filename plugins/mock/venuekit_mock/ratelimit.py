"""Rate-limit pools the mock venue enforces, as a real venue would.

Each pool is a sliding window: at most ``capacity`` weight units in any ``period`` seconds.
A call charges its weight in every pool it uses (``Capabilities.weight``) or in none: a
refused call costs nothing, and the refusal says when enough of the window frees up.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from venuekit.venue import RateLimitPool

from .clock import monotonic

__all__ = ["PoolLimiter"]


class _Window:
    def __init__(self, pool: RateLimitPool) -> None:
        self.pool = pool
        self.charges: deque[tuple[float, int]] = deque()
        self.used = 0

    def expire(self, now: float) -> None:
        horizon = now - self.pool.period
        while self.charges and self.charges[0][0] <= horizon:
            self.used -= self.charges.popleft()[1]

    def wait_for(self, weight: int, now: float) -> float:
        """Seconds until ``weight`` more fits, 0 when it fits now."""
        excess = self.used + weight - self.pool.capacity
        if excess <= 0:
            return 0.0
        if weight > self.pool.capacity:
            return self.pool.period
        freed = 0
        for at, charged in self.charges:
            freed += charged
            if freed >= excess:
                return max(at + self.pool.period - now, 0.0)
        return self.pool.period


class PoolLimiter:
    """Sliding-window enforcement of a venue's declared rate-limit pools."""

    def __init__(self, pools: Sequence[RateLimitPool]) -> None:
        self._windows = {pool.name: _Window(pool) for pool in pools}

    def __bool__(self) -> bool:
        """False when no pool is enforced (nothing to charge)."""
        return bool(self._windows)

    def charge(self, weights: Mapping[str, int]) -> tuple[str, float] | None:
        """Charge ``weights`` if every pool has room; else the first full pool and how
        many seconds until it has room (nothing is charged then)."""
        if not self._windows:
            return None
        now = monotonic()
        for name, weight in weights.items():
            window = self._windows.get(name)
            if window is None or weight <= 0:
                continue
            window.expire(now)
            wait = window.wait_for(weight, now)
            if wait > 0:
                return name, wait
        for name, weight in weights.items():
            window = self._windows.get(name)
            if window is not None and weight > 0:
                window.charges.append((now, weight))
                window.used += weight
        return None
