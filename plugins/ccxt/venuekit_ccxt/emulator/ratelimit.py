"""Binance's request weight, unfilled-order counts and IP bans, enforced and announced.

* ``REQUEST_WEIGHT``: each request charges its endpoint's weight (``rest-api.md``) to its
  IP in a sliding window of ``weight_window`` seconds (60: Binance's minute). Beyond
  ``weight_limit`` the request is refused with 429 ``-1003`` and a ``Retry-After`` (seconds
  until enough weight leaves the window), and charges nothing.
* A client that sends another request before that ``Retry-After`` has passed is banned:
  418 ``-1003`` ("IP banned until <ms>") with a ``Retry-After``, for ``ban_seconds``; every
  request of the banned IP gets a 418 until the ban ends. Requests that arrive within
  ``ban_grace`` seconds of the 429 were in flight when it was sent: they get a 429 of their
  own and no ban (Binance bans a client that keeps going, not one whose earlier requests
  were already on the wire).
* ``ORDERS``: each new order (``POST /api/v3/order``, ``order/cancelReplace``) counts, per
  account, in a 10-second window (which scales with ``weight_window``: ``weight_window / 6``
  seconds, so a test that shortens the minute shortens it too) and a one-day window
  (never scaled). Beyond either, 429 ``-1015`` with a ``Retry-After``; no ban follows.

Every answer carries ``X-MBX-USED-WEIGHT-1M`` (and, when the window is not a minute,
``X-MBX-USED-WEIGHT-<n><S|M|H>`` naming it), order answers ``X-MBX-ORDER-COUNT-10S`` and
``X-MBX-ORDER-COUNT-1D``. Windows run on the monotonic clock.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from . import errors

__all__ = ["Decision", "RateLimiter", "interval_name"]

DAY = 86_400.0


def interval_name(seconds: float) -> tuple[str, int, str]:
    """Binance's name of a window: ``(interval, intervalNum, header suffix)``."""
    whole = max(1, math.ceil(seconds))
    for unit, size, letter in (("DAY", 86_400, "D"), ("HOUR", 3_600, "H"),
                               ("MINUTE", 60, "M")):
        if whole % size == 0:
            return unit, whole // size, f"{whole // size}{letter}"
    return "SECOND", whole, f"{whole}S"


class _Window:
    """A sliding window of charges."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.charges: deque[tuple[float, int]] = deque()
        self.used = 0

    def expire(self, now: float) -> None:
        horizon = now - self.period
        while self.charges and self.charges[0][0] <= horizon:
            self.used -= self.charges.popleft()[1]

    def wait_for(self, amount: int, limit: int, now: float) -> float:
        """Seconds until ``amount`` more fits under ``limit`` (0: it fits now)."""
        excess = self.used + amount - limit
        if excess <= 0:
            return 0.0
        freed = 0
        for at, charged in self.charges:
            freed += charged
            if freed >= excess:
                return max(at + self.period - now, 0.001)
        return self.period

    def charge(self, amount: int, now: float) -> None:
        self.charges.append((now, amount))
        self.used += amount

    def clear(self) -> None:
        self.charges.clear()
        self.used = 0


@dataclass
class _Client:
    weight: _Window
    limited_at: float = 0.0
    retry_until: float = 0.0
    banned_until: float = 0.0
    banned_until_ms: int = 0


@dataclass
class Decision:
    """What the limiter decided: the headers to send, and the refusal if there is one."""

    headers: dict[str, str] = field(default_factory=dict)
    refusal: errors.BinanceError | None = None


class RateLimiter:
    """The emulator's request-weight, order-count and ban bookkeeping."""

    def __init__(self, *, weight_limit: int = 6000, orders_per_10s: int = 100,
                 orders_per_day: int = 200_000, weight_window: float = 60.0,
                 ban_seconds: float = 120.0, ban_grace: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        for name, value in (("weight_limit", weight_limit), ("orders_per_10s", orders_per_10s),
                            ("orders_per_day", orders_per_day)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1")
        if weight_window <= 0 or ban_seconds < 0 or ban_grace < 0:
            raise ValueError("weight_window must be > 0, ban_seconds and ban_grace >= 0")
        self.weight_limit = weight_limit
        self.orders_per_10s = orders_per_10s
        self.orders_per_day = orders_per_day
        self.weight_window = weight_window
        self.order_window = weight_window / 6
        self.ban_seconds = ban_seconds
        self.ban_grace = ban_grace
        self._clock = clock
        self._wall_ms = wall_ms
        self._clients: dict[str, _Client] = {}
        self._orders = _Window(self.order_window)
        self._orders_day = _Window(DAY)
        self.responses_429 = 0
        self.responses_418 = 0
        self._suffix = interval_name(weight_window)[2]
        unit, number, _ = interval_name(self.order_window)
        self._interval = f"{number} {unit}"  # as -1015 names it: "10 SECOND", or scaled

    # reporting -----------------------------------------------------------------------
    def _client(self, ip: str) -> _Client:
        client = self._clients.get(ip)
        if client is None:
            client = self._clients[ip] = _Client(_Window(self.weight_window))
        return client

    def used_weight(self, ip: str) -> int:
        client = self._client(ip)
        client.weight.expire(self._clock())
        return client.weight.used

    def order_counts(self) -> tuple[int, int]:
        now = self._clock()
        self._orders.expire(now)
        self._orders_day.expire(now)
        return self._orders.used, self._orders_day.used

    def _weight_headers(self, used: int) -> dict[str, str]:
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
        if self._suffix != "1M":
            headers[f"X-MBX-USED-WEIGHT-{self._suffix}"] = str(used)
        return headers

    def _order_headers(self) -> dict[str, str]:
        ten, day = self.order_counts()
        return {"X-MBX-ORDER-COUNT-10S": str(ten), "X-MBX-ORDER-COUNT-1D": str(day)}

    def _period(self) -> str:
        if self.weight_window == 60:
            return "minute"
        return "second" if self.weight_window == 1 else f"{self.weight_window:g} seconds"

    def count(self, status: int) -> None:
        """Count a 429 or 418 answer the limiter did not give (an injected fault)."""
        if status == 429:
            self.responses_429 += 1
        elif status == 418:
            self.responses_418 += 1

    # deciding ------------------------------------------------------------------------
    def admit(self, ip: str, weight: int, *, order: bool = False) -> Decision:
        """Charge one request of ``weight`` (and one new order if ``order``), or refuse it."""
        now = self._clock()
        client = self._client(ip)
        window = client.weight
        window.expire(now)
        if now < client.banned_until:
            return self._ban(client, now, extend=False)
        if now < client.retry_until:
            if now - client.limited_at > self.ban_grace:
                return self._ban(client, now, extend=True)
            wait = client.retry_until - now
        else:
            wait = window.wait_for(weight, self.weight_limit, now)
            if wait > 0:
                client.limited_at = now
                client.retry_until = now + wait
        if wait > 0:
            self.responses_429 += 1
            seconds = max(1, math.ceil(wait))
            refusal = errors.too_many_requests(ip, self.weight_limit, self._period(), seconds)
            return Decision(self._weight_headers(window.used), refusal)
        if order:
            too_many = self._refuse_order(now)
            if too_many is not None:
                self.responses_429 += 1
                headers = self._weight_headers(window.used) | self._order_headers()
                return Decision(headers, too_many)
        window.charge(weight, now)
        headers = self._weight_headers(window.used)
        if order:
            self._orders.charge(1, now)
            self._orders_day.charge(1, now)
            headers |= self._order_headers()
        return Decision(headers)

    def _ban(self, client: _Client, now: float, *, extend: bool) -> Decision:
        if extend:
            client.retry_until = 0.0
            client.banned_until = now + self.ban_seconds
            client.banned_until_ms = self._wall_ms() + math.ceil(self.ban_seconds * 1000)
        self.responses_418 += 1
        seconds = max(1, math.ceil(client.banned_until - now))
        return Decision(self._weight_headers(client.weight.used),
                        errors.banned(client.banned_until_ms, seconds))

    def _refuse_order(self, now: float) -> errors.BinanceError | None:
        for window, limit, interval in ((self._orders, self.orders_per_10s, self._interval),
                                        (self._orders_day, self.orders_per_day, "1 DAY")):
            window.expire(now)
            wait = window.wait_for(1, limit, now)
            if wait > 0:
                return errors.too_many_orders(limit, interval, max(1, math.ceil(wait)))
        return None

    def reset(self) -> None:
        """Forget every charge, count and ban."""
        self._clients.clear()
        self._orders.clear()
        self._orders_day.clear()

    def rate_limits(self, ip: str | None = None) -> list[dict[str, object]]:
        """The ``rateLimits`` of exchangeInfo, with ``count`` when ``ip`` is given (ws-api)."""
        unit, number, _ = interval_name(self.weight_window)
        ounit, onumber, _ = interval_name(self.order_window)
        rows: list[dict[str, object]] = [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": unit, "intervalNum": number,
             "limit": self.weight_limit},
            {"rateLimitType": "ORDERS", "interval": ounit, "intervalNum": onumber,
             "limit": self.orders_per_10s},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1,
             "limit": self.orders_per_day},
        ]
        if ip is not None:
            ten, day = self.order_counts()
            for row, count in zip(rows, (self.used_weight(ip), ten, day), strict=True):
                row["count"] = count
        return rows
