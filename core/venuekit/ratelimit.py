"""Client-side rate limiting: the venue's weighted pools, kept exactly, plus backoff on a 429.

This module owns when a request may leave the process. A venue declares its pools
(:class:`~venuekit.venue.RateLimitPool`: ``capacity`` weight units per ``period`` seconds) and
the weight each operation charges in each pool (:meth:`Capabilities.weight
<venuekit.venue.Capabilities.weight>`). :class:`RateLimiter` admits a request only when, in
every pool it charges, the weight charged in the trailing ``period`` plus its own weight fits
the *usable* capacity::

    usable = max(1, floor(capacity * (1 - safety_margin) * share))

The margin absorbs clock skew and network jitter between us and the venue; ``share`` splits
one budget between the processes (bots) that use the same account or IP.

Each pool keeps a sliding-window log of its charges, so the limit is exact rather than
approximated by buckets: a charge made at ``t`` frees its weight at exactly ``t + period``.
Waiters are admitted in call order; only the one at the head of the queue sleeps, and it
sleeps precisely until the charges it needs have left the window. A call that fits now goes
ahead of the queue only past waiters held back by pools it does not charge: a lookup or a
cancel is not held behind a burst of orders waiting for the order pool.

When the venue answers "rate limited" anyway, :meth:`RateLimiter.penalize` blocks every pool
(or the named ones) until ``Retry-After`` has passed, or for an exponential backoff that grows
with consecutive penalties when the venue gave no ``Retry-After``. An IP ban blocks for the
venue's ``Retry-After`` and is logged as an error. Where the refusal says what the venue
enforces (:attr:`RateLimited.limits <venuekit.errors.RateLimited.limits>`), a limit tighter
than the declared one replaces it for the rest of the limiter's life (:meth:`RateLimiter.adopt`):
a pool declared wrong costs one refusal, not one per window.

A limiter belongs to one event loop and is not thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction
from typing import ParamSpec, TypeVar

from .errors import Code, ErrorCode, RateLimited
from .retry import Backoff
from .venue import Capabilities, RateLimitPool

__all__ = [
    "ALL_POOLS",
    "PENALTY_BACKOFF",
    "PoolStats",
    "RateLimitStats",
    "RateLimiter",
    "WaitMeter",
    "first_in_line",
    "metered",
    "usable_capacity",
]

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger("venuekit.ratelimit")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

PENALTY_BACKOFF = Backoff(base=1.0, factor=2.0, cap=60.0, jitter=0.0)
"""Blocks after rate-limit answers without ``Retry-After``: 1 s, 2 s, 4 s, ... up to 60 s.
(``attempts`` plays no part here: the caller decides whether to try again.)"""

_FIRST: ContextVar[bool] = ContextVar("venuekit_first_in_line", default=False)


class WaitMeter:
    """Seconds the calls made under :func:`metered` have spent waiting for a limiter's
    room or a penalty's end, read live (a wait still going counts up to now)."""

    __slots__ = ("_depth", "_since", "_total")

    def __init__(self) -> None:
        self._total = 0.0
        self._depth = 0
        self._since = 0.0

    def waited(self) -> float:
        if self._depth:
            return self._total + time.monotonic() - self._since
        return self._total

    def _begin(self) -> None:
        if not self._depth:
            self._since = time.monotonic()
        self._depth += 1

    def _end(self) -> None:
        self._depth -= 1
        if not self._depth:
            self._total += time.monotonic() - self._since


_METER: ContextVar[WaitMeter | None] = ContextVar("venuekit_wait_meter", default=None)


@contextmanager
def metered() -> Iterator[WaitMeter]:
    """Measure how long the calls made in this block, and in tasks started from it, wait
    for rate limiters (the outcome policy leaves that time out of its ``resolve_timeout``:
    waiting for the venue's budget is not the venue's silence)."""
    meter = WaitMeter()
    token = _METER.set(meter)
    try:
        yield meter
    finally:
        _METER.reset(token)


@contextmanager
def first_in_line() -> Iterator[None]:
    """Calls made in this block wait at the front of the limiter's queue, behind only the
    caller being admitted: a create sent again after its first attempt was proven absent
    is older than every order queued since, and its caller waits on it."""
    token = _FIRST.set(True)
    try:
        yield
    finally:
        _FIRST.reset(token)


ALL_POOLS = "*"
"""The ``pool`` field of log records about a block that covers every pool."""


@dataclass(frozen=True, slots=True)
class PoolStats:
    """One pool at one instant: weight ``used`` in the trailing window, of ``usable``."""

    name: str
    capacity: int
    usable: int
    period: float
    used: int
    blocked_s: float
    """Seconds until a penalty on this pool ends (0 when not blocked)."""


@dataclass(frozen=True, slots=True)
class RateLimitStats:
    """What a limiter has done so far, for benchmarks and reports."""

    pools: tuple[PoolStats, ...]
    admitted: int
    waits: int
    """Admissions that had to wait (each counts once, however long it waited)."""
    wait_s: float
    """Seconds spent waiting, summed over those admissions."""
    penalties: int
    queued: int
    blocked_s: float
    """Seconds until a penalty on every pool ends (0 when not blocked)."""


class _Window:
    """One pool's sliding-window log: ``(expires_at, weight)`` for each charge, oldest first."""

    __slots__ = ("blocked_until", "charges", "pool", "usable", "used")

    def __init__(self, pool: RateLimitPool, usable: int) -> None:
        self.pool = pool
        self.usable = usable
        self.charges: deque[tuple[float, int]] = deque()
        self.used = 0
        self.blocked_until = -math.inf

    def expire(self, now: float) -> None:
        charges = self.charges
        while charges and charges[0][0] <= now:
            self.used -= charges.popleft()[1]

    def wait(self, weight: int, now: float) -> float:
        """Seconds until ``weight`` fits (<= 0: it fits now). ``weight <= usable`` holds."""
        self.expire(now)
        wait = self.blocked_until - now
        excess = self.used + weight - self.usable
        if excess > 0:
            freed = 0
            for expires_at, charged in self.charges:
                freed += charged
                if freed >= excess:
                    wait = max(wait, expires_at - now)
                    break
        return wait

    def charge(self, weight: int, now: float) -> None:
        self.charges.append((now + self.pool.period, weight))
        self.used += weight


_Charges = tuple[tuple[_Window, int], ...]


def usable_capacity(pool: RateLimitPool, safety_margin: float, share: float) -> int:
    """``floor(capacity * (1 - safety_margin) * share)``, at least 1.

    Computed on the decimal values as written (0.3 is 3/10, not the nearest binary float), so
    that 90 * (1 - 0.3) is 63 and not 62.
    """
    exact = pool.capacity * (1 - Fraction(str(safety_margin))) * Fraction(str(share))
    return max(1, math.floor(exact))


class RateLimiter:
    """Admits requests within a venue's rate-limit pools; see the module docstring.

    ``pools`` is a venue's :class:`~venuekit.venue.Capabilities` or its pools. ``weights``
    maps an operation to the weight it charges in each pool (it defaults to the capabilities'
    weights); an operation it does not list charges 1 in every pool, as
    :meth:`Capabilities.weight <venuekit.venue.Capabilities.weight>` says. A limiter without
    pools admits at once, until a penalty blocks it.

    ``backoff`` sets the blocks after rate-limit answers without ``Retry-After``; the streak of
    consecutive penalties resets once ``backoff_reset`` seconds pass after a block without a
    new penalty. ``clock`` and ``sleep`` are injectable for tests; they must agree (``sleep(d)``
    returns once ``clock()`` has advanced by ``d``).
    """

    def __init__(self, pools: Capabilities | Iterable[RateLimitPool], *,
                 weights: Mapping[str, Mapping[str, int]] | None = None,
                 safety_margin: float = 0.05, share: float = 1.0,
                 backoff: Backoff = PENALTY_BACKOFF, backoff_reset: float = 60.0,
                 venue: str | None = None, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        if isinstance(pools, Capabilities):
            weights = pools.weights if weights is None else weights
            pools = pools.rate_limits
        if not 0 <= safety_margin < 1:
            raise ValueError(f"safety_margin must be in [0, 1), not {safety_margin!r}")
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share!r}")
        if not backoff_reset >= 0:
            raise ValueError(f"backoff_reset must be >= 0 seconds, not {backoff_reset!r}")
        self.safety_margin = safety_margin
        self.share = share
        self.venue = venue
        self._backoff = backoff
        self._backoff_reset = backoff_reset
        self._clock = clock
        self._sleep = sleep
        self._windows: dict[str, _Window] = {}
        for pool in pools:
            if pool.name in self._windows:
                raise ValueError(f"rate-limit pool {pool.name!r} is declared twice")
            self._windows[pool.name] = _Window(pool, usable_capacity(pool, safety_margin, share))
        self._every_pool: _Charges = tuple((window, 1) for window in self._windows.values())
        self._charges: dict[str, _Charges] = {
            operation: self._resolve(operation, charged)
            for operation, charged in (weights or {}).items()
        }
        self._queue: deque[asyncio.Future[None]] = deque()
        self._queued: Counter[str] = Counter()  # operations waiting, by name
        self._blocked_until = -math.inf
        self._streak = 0
        self._admitted = 0
        self._waits = 0
        self._wait_s = 0.0
        self._penalties = 0

    @classmethod
    def for_venue(cls, capabilities: Capabilities, *, safety_margin: float = 0.05,
                  share: float = 1.0, backoff: Backoff = PENALTY_BACKOFF,
                  backoff_reset: float = 60.0, venue: str | None = None,
                  clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> RateLimiter:
        """The limiter for a venue's declared pools and weights."""
        return cls(capabilities, safety_margin=safety_margin, share=share, backoff=backoff,
                   backoff_reset=backoff_reset, venue=venue, clock=clock, sleep=sleep)

    @classmethod
    def unlimited(cls, *, venue: str | None = None, clock: Clock = time.monotonic,
                  sleep: Sleep = asyncio.sleep) -> RateLimiter:
        """A limiter without pools: it admits at once and only ever waits out penalties."""
        return cls((), venue=venue, clock=clock, sleep=sleep)

    @property
    def pools(self) -> tuple[RateLimitPool, ...]:
        return tuple(window.pool for window in self._windows.values())

    def usable(self, pool: str) -> int:
        """The weight ``pool`` admits per period after the margin and the share."""
        return self._window(pool).usable

    def admit(self, operation: str) -> bool:
        """Charge ``operation`` and return True if it fits now and no waiter stands before
        it (see :meth:`acquire`); otherwise charge nothing and return False (then
        :meth:`acquire` waits its turn)."""
        charges = self._charges.get(operation)
        if charges is None:
            charges = self._charges[operation] = self._every_pool
        now = self._clock()
        if self._wait(charges, now)[0] > 0 or (
                self._queue and not _FIRST.get() and self._contended(charges, now)):
            return False
        self._charge(charges, now)
        return True

    async def acquire(self, operation: str) -> None:
        """Wait until ``operation`` fits in every pool it charges, then charge them all.

        Callers are admitted in call order, except that one that fits at once goes ahead
        of waiters held back only by pools it does not charge. Cancelling a waiting caller
        gives up its place without charging anything.
        """
        if self.admit(operation):
            return
        charges = self._charges[operation]
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if _FIRST.get() and self._queue:
            self._queue.insert(1, turn)  # next, behind the head (which may be sleeping)
        else:
            self._queue.append(turn)
        self._queued[operation] += 1
        queued_at = self._clock()
        meter = _METER.get()
        if meter is not None:
            meter._begin()
        try:
            if len(self._queue) > 1:
                await turn
            admitted_at = await self._wait_turn(operation, charges)
        finally:
            if meter is not None:
                meter._end()
            self._queued[operation] -= 1
            if not self._queued[operation]:
                del self._queued[operation]
            self._leave(turn)
        if admitted_at > queued_at:
            self._waits += 1
            self._wait_s += admitted_at - queued_at

    @asynccontextmanager
    async def slot(self, operation: str) -> AsyncIterator[None]:
        """``acquire(operation)``, then run the block; a :class:`RateLimited` it raises is
        passed to :meth:`refused` and re-raised."""
        await self.acquire(operation)
        try:
            yield
        except RateLimited as exc:
            self.refused(exc, operation)
            raise

    async def call(self, operation: str, send: Callable[P, Awaitable[T]], /,
                   *args: P.args, **kwargs: P.kwargs) -> T:
        """``await send(*args, **kwargs)`` in a :meth:`slot` for ``operation``, without a
        context manager per call (the engine's venue calls go through here)."""
        if not self.admit(operation):
            await self.acquire(operation)
        try:
            return await send(*args, **kwargs)
        except RateLimited as exc:
            self.refused(exc, operation)
            raise

    def refused(self, exc: RateLimited, operation: str | None = None) -> float:
        """Take in the venue's refusal ``exc``: adopt the limits it announced
        (:meth:`adopt`), then :meth:`penalize` with its ``retry_after``, code and pools.
        Returns the seconds until the block ends."""
        for name, (capacity, period) in (exc.limits or {}).items():
            if name in self._windows:
                self.adopt(RateLimitPool(name, capacity, period))
        return self.penalize(exc.retry_after, code=exc.code, pools=exc.pools,
                             operation=operation)

    def adopt(self, pool: RateLimitPool) -> bool:
        """The venue enforces ``pool`` (``capacity`` per ``period`` seconds) on the pool of
        that name: use it instead of the declared one when it admits less, that is when it
        is not at least as large over at most as long a period. Charges already made keep
        their age (each now expires ``period`` after it was made). The margin and the share
        apply as before; the usable weight stays at least the largest weight an operation
        charges in the pool, so that every operation can still be sent. Returns whether the
        pool changed; a change is logged as a warning with both limits."""
        window = self._window(pool.name)
        old = window.pool
        if pool == old or (pool.capacity >= old.capacity and pool.period <= old.period):
            return False
        largest = max((weight for charges in self._charges.values()
                       for charged, weight in charges if charged is window), default=1)
        shift = pool.period - old.period
        if shift:
            window.charges = deque((expires_at + shift, weight)
                                   for expires_at, weight in window.charges)
        window.pool = pool
        window.usable = max(usable_capacity(pool, self.safety_margin, self.share), largest)
        log.warning("the venue enforces a tighter limit than declared: using the venue's",
                    extra={"venue": self.venue, "pool": pool.name,
                           "declared": f"{old.capacity}/{old.period:g}s",
                           "enforced": f"{pool.capacity}/{pool.period:g}s",
                           "usable": window.usable})
        return True

    def penalize(self, retry_after: float | None = None, *, code: ErrorCode | None = None,
                 pools: Iterable[str] | None = None, operation: str | None = None) -> float:
        """Block every pool (or ``pools``) after a rate-limit answer.

        The block lasts ``retry_after`` seconds when the venue said so; otherwise it follows
        the exponential ``backoff`` of the current streak of penalties. An IP ban
        (``Code.IP_BANNED``) without ``retry_after`` blocks for the backoff's cap. A block
        never shortens one already in force. Returns the seconds until the block ends.
        """
        if retry_after is not None and not 0 <= retry_after < math.inf:
            raise ValueError(f"retry_after must be finite and >= 0 seconds, not {retry_after!r}")
        if isinstance(pools, str):
            pools = (pools,)
        windows = None if pools is None else [self._window(name) for name in pools]
        if windows == []:
            raise ValueError("penalize(pools=...) names no pool; pass None to block them all")
        now = self._clock()
        if now - self._block_end() >= self._backoff_reset:
            self._streak = 0
        banned = code == Code.IP_BANNED
        if retry_after is not None:
            block = retry_after
        elif banned:
            block = self._backoff.cap
        else:
            block = self._backoff.delay(self._streak)
        self._streak += 1
        self._penalties += 1
        until = now + block
        if windows is None:
            self._blocked_until = until = max(self._blocked_until, until)
        else:
            for window in windows:
                window.blocked_until = max(window.blocked_until, until)
            until = max(window.blocked_until for window in windows)
        extra = {
            "venue": self.venue, "operation": operation, "wait_s": round(until - now, 6),
            "code": code.name if code is not None else Code.RATE_LIMITED.name,
            "pool": ALL_POOLS if windows is None else ",".join(w.pool.name for w in windows),
            "retry_after": retry_after, "streak": self._streak,
        }
        if banned:
            log.error("IP banned by the venue: every request waits out the ban", extra=extra)
        else:
            log.warning("rate limited by the venue: backing off", extra=extra)
        return until - now

    def stats(self) -> RateLimitStats:
        """Per-pool usage now, and the totals since the limiter was made."""
        now = self._clock()
        pools = []
        for window in self._windows.values():
            window.expire(now)
            pools.append(PoolStats(
                name=window.pool.name, capacity=window.pool.capacity, usable=window.usable,
                period=window.pool.period, used=window.used,
                blocked_s=max(0.0, window.blocked_until - now)))
        return RateLimitStats(
            pools=tuple(pools), admitted=self._admitted, waits=self._waits,
            wait_s=self._wait_s, penalties=self._penalties, queued=len(self._queue),
            blocked_s=max(0.0, self._blocked_until - now))

    def _resolve(self, operation: str, charged: Mapping[str, int]) -> _Charges:
        unknown = sorted(set(charged) - set(self._windows))
        if unknown:
            raise ValueError(f"operation {operation!r} charges undeclared rate-limit pools "
                             f"{unknown}; declared: {sorted(self._windows)}")
        charges = []
        for name, weight in charged.items():
            window = self._windows[name]
            if weight < 0:
                raise ValueError(f"operation {operation!r} has a negative weight ({weight}) "
                                 f"in pool {name!r}")
            if weight > window.usable:
                raise ValueError(
                    f"operation {operation!r} charges {weight} in pool {name!r}, which admits "
                    f"only {window.usable} per {window.pool.period:g} s (capacity "
                    f"{window.pool.capacity}, safety_margin {self.safety_margin:g}, share "
                    f"{self.share:g}): it could never be sent")
            if weight:
                charges.append((window, weight))
        return tuple(charges)

    def _window(self, name: str) -> _Window:
        window = self._windows.get(name)
        if window is None:
            raise ValueError(f"no rate-limit pool {name!r}; declared: {sorted(self._windows)}")
        return window

    def _wait(self, charges: _Charges, now: float) -> tuple[float, str]:
        """Seconds until ``charges`` fit (<= 0: now) and the pool that holds them back."""
        wait, binding = self._blocked_until - now, ALL_POOLS
        for window, weight in charges:
            pool_wait = window.wait(weight, now)
            if pool_wait > wait:
                wait, binding = pool_wait, window.pool.name
        return wait, binding

    def _contended(self, charges: _Charges, now: float) -> bool:
        """Whether a waiter stands before ``charges``: one that shares a pool with them and
        is not held back by a pool they leave alone (a submit waiting for the order pool
        does not stand before a lookup, which charges only the request weight)."""
        mine = {window for window, _ in charges}
        for waiting in self._queued:
            theirs = self._charges[waiting]
            if not any(window in mine for window, _ in theirs):
                continue
            if not any(window not in mine and window.wait(weight, now) > 0
                       for window, weight in theirs):
                return True
        return False

    def _charge(self, charges: _Charges, now: float) -> None:
        for window, weight in charges:
            window.charge(weight, now)
        self._admitted += 1

    async def _wait_turn(self, operation: str, charges: _Charges) -> float:
        """At the head of the queue: sleep until ``charges`` fit, charge them, return when."""
        now = self._clock()
        while True:
            wait, binding = self._wait(charges, now)
            if wait <= 0:
                break
            log.info("rate limit: waiting for room",
                     extra={"venue": self.venue, "operation": operation, "pool": binding,
                            "wait_s": round(wait, 6), "queued": len(self._queue)})
            await self._sleep(wait)
            now = self._clock()
        self._charge(charges, now)
        return now

    def _leave(self, turn: asyncio.Future[None]) -> None:
        head = self._queue[0] is turn
        self._queue.remove(turn)
        if head and self._queue and not self._queue[0].done():
            self._queue[0].set_result(None)

    def _block_end(self) -> float:
        """When the last block in force ends (-inf when there never was one)."""
        return max([self._blocked_until,
                    *(window.blocked_until for window in self._windows.values())])
