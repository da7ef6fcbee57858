"""Client-side rate limiting: exact pools, FIFO admission, reactive backoff.

Time is fake in every test but one: the limiter's sleep advances the clock it reads, so a
minute of throttling runs in microseconds and every admission time is exact.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from venuekit.errors import Code, RateLimited
from venuekit.ratelimit import RateLimiter, first_in_line, metered, usable_capacity
from venuekit.venue import Capabilities, RateLimitPool

Weights = Mapping[str, Mapping[str, int]]
Admission = tuple[int, str, float]  # (call index, operation, admission time)

START = 1000.0
ORDERS = RateLimitPool("orders", capacity=10, period=10.0)
WEIGHT = RateLimitPool("weight", capacity=25, period=60.0)
BINANCE_LIKE: Weights = {"submit": {"orders": 1, "weight": 1}, "quote": {"weight": 2}}


class FakeTime:
    """A clock that moves only when the code under test sleeps.

    A sleeper first lets every task that is already runnable take its step, then moves the
    clock: work that is ready "now" happens now, before time jumps ahead.
    """

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        await asyncio.sleep(0)
        self.now += delay


def capabilities(*pools: RateLimitPool, weights: Weights | None = None) -> Capabilities:
    return Capabilities(client_order_ids=True, order_stream=True, replace=True,
                        market_orders=True, fractional=True, short_selling=False,
                        rate_limits=pools, weights=weights or {})


def limiter(clock: FakeTime, *pools: RateLimitPool, weights: Weights | None = None,
            safety_margin: float = 0.0, share: float = 1.0) -> RateLimiter:
    return RateLimiter(pools, weights=weights, safety_margin=safety_margin, share=share,
                       clock=clock, sleep=clock.sleep)


async def burst(limit: RateLimiter, clock: FakeTime,
                operations: Sequence[str]) -> list[Admission]:
    """Start every acquire at once; return the admissions in the order they happened."""
    admitted: list[Admission] = []

    async def one(index: int, operation: str) -> None:
        await limit.acquire(operation)
        admitted.append((index, operation, clock()))

    await asyncio.gather(*(one(i, op) for i, op in enumerate(operations)))
    return admitted


def assert_in_call_order_within_pools(weights: Weights, admitted: Sequence[Admission]
                                      ) -> None:
    """Admissions follow call order, except that a call may go ahead of an earlier one
    that charges a pool it does not charge (held back by that pool, not by its own)."""
    position = {index: n for n, (index, _, _) in enumerate(admitted)}
    calls = sorted((index, op) for index, op, _ in admitted)
    for a, (first, first_op) in enumerate(calls):
        for later, later_op in calls[a + 1:]:
            if position[later] < position[first]:
                theirs = {pool for pool, w in weights.get(first_op, {}).items() if w}
                mine = {pool for pool, w in weights.get(later_op, {}).items() if w}
                assert theirs - mine, (f"call {later} ({later_op}) went ahead of call "
                                       f"{first} ({first_op}), which charges no other pool")


def assert_pools_never_exceeded(limit: RateLimiter, weights: Weights,
                                admitted: Sequence[Admission]) -> None:
    """The weight charged in any trailing window never exceeds a pool's usable capacity.

    A window's total only rises when something is admitted, so checking the window that
    ends at each admission covers every instant. A charge at ``t`` counts until
    ``t + period`` (exclusive), as the limiter promises.
    """
    for pool in limit.pools:
        usable = limit.usable(pool.name)
        for _, _, at in admitted:
            in_window = sum(weights.get(op, {}).get(pool.name, 0)
                            for _, op, t in admitted if t <= at < t + pool.period)
            assert in_window <= usable, f"{pool.name} holds {in_window} > {usable} at {at}"


def fields(record: logging.LogRecord, *names: str) -> tuple[object, ...]:
    """The structured ``extra`` fields of a log record."""
    return tuple(record.__dict__[name] for name in names)


# --- capacity ---------------------------------------------------------------------------


@pytest.mark.parametrize(("capacity", "margin", "share", "usable"), [
    (200, 0.05, 1.0, 190),
    (200, 0.05, 0.5, 95),  # Alpaca, two bots sharing one account
    (90, 0.3, 1.0, 63),  # 90 * 0.7 is 62.99999999999999 in binary floats
    (10, 0.05, 1.0, 9),
    (2, 0.05, 0.1, 1),  # never below 1
])
def test_usable_capacity_applies_margin_and_share(capacity: int, margin: float, share: float,
                                                  usable: int) -> None:
    pool = RateLimitPool("requests", capacity, 60.0)
    assert usable_capacity(pool, margin, share) == usable
    assert RateLimiter([pool], safety_margin=margin, share=share).usable("requests") == usable


def test_admits_exactly_the_usable_weight_per_window() -> None:
    clock = FakeTime()
    alpaca = RateLimitPool("requests", capacity=200, period=60.0)
    limit = RateLimiter.for_venue(capabilities(alpaca), safety_margin=0.05, share=0.5,
                                  clock=clock, sleep=clock.sleep)

    admitted = asyncio.run(burst(limit, clock, ["submit"] * 300))

    times = [at for _, _, at in admitted]
    assert times == [START + 60.0 * (i // 95) for i in range(300)]
    assert clock.sleeps == [60.0, 60.0, 60.0]  # one sleep per refill, no polling
    stats = limit.stats()
    assert (stats.admitted, stats.waits, stats.queued) == (300, 300 - 95, 0)
    assert stats.pools[0].used == 15 and stats.pools[0].usable == 95


def test_a_charge_frees_its_weight_exactly_one_period_later() -> None:
    clock = FakeTime()
    limit = limiter(clock, RateLimitPool("requests", 2, 1.0))

    async def main() -> None:
        await limit.acquire("quote")
        clock.now += 0.25
        await limit.acquire("quote")
        await limit.acquire("quote")  # the first charge leaves the window at START + 1
        assert clock() == START + 1.0
        await limit.acquire("quote")  # and the second at START + 1.25
        assert clock() == START + 1.25

    asyncio.run(main())
    assert clock.sleeps == [0.75, 0.25]


def test_an_operation_charges_every_pool_it_names() -> None:
    clock = FakeTime()
    limit = limiter(clock, ORDERS, WEIGHT, weights=BINANCE_LIKE)

    async def main() -> None:
        for _ in range(10):
            await limit.acquire("submit")
        await limit.acquire("quote")  # charges only "weight": not held back by "orders"
        assert clock() == START
        await limit.acquire("submit")  # "orders" is full until its window moves
        assert clock() == START + 10.0
        for _ in range(9):
            await limit.acquire("submit")
        await limit.acquire("submit")
        assert clock() == START + 20.0
        await limit.acquire("submit")
        await limit.acquire("submit")
        assert [p.used for p in limit.stats().pools] == [3, 25]
        await limit.acquire("submit")  # "orders" has room, "weight" is full until START + 60
        assert clock() == START + 60.0

    asyncio.run(main())
    assert [p.used for p in limit.stats().pools] == [1, 14]


def test_admit_charges_only_when_the_call_may_go_now() -> None:
    clock = FakeTime()
    limit = limiter(clock, RateLimitPool("orders", capacity=2, period=10.0))

    async def main() -> None:
        assert limit.admit("submit") and limit.admit("submit")
        assert not limit.admit("submit")  # full: nothing charged, acquire would wait
        assert limit.stats().pools[0].used == 2
        waiting = asyncio.create_task(limit.acquire("submit"))
        await asyncio.sleep(0)
        clock.now += 10.0  # room again, but a caller is queued: it goes first
        assert not limit.admit("submit")
        await waiting
        assert limit.stats().admitted == 3

    asyncio.run(main())


def test_call_runs_in_a_slot_and_a_rate_limit_answer_blocks_later_calls() -> None:
    clock = FakeTime()
    limit = limiter(clock, ORDERS)

    async def refused(operation: str) -> str:
        raise RateLimited(Code.RATE_LIMITED, f"{operation}: slow down", retry_after=3.0)

    async def main() -> None:
        with pytest.raises(RateLimited):
            await limit.call("submit", refused, "submit")
        assert limit.stats().blocked_s == 3.0
        assert await limit.call("quote", asyncio.sleep, 0, "late") == "late"
        assert clock() == START + 3.0

    asyncio.run(main())


def test_operations_not_listed_charge_one_in_every_pool() -> None:
    clock = FakeTime()
    caps = capabilities(ORDERS, WEIGHT, weights=BINANCE_LIKE)
    limit = RateLimiter.for_venue(caps, safety_margin=0.0, clock=clock, sleep=clock.sleep)
    asyncio.run(limit.acquire("open_orders"))
    assert [p.used for p in limit.stats().pools] == [1, 1]
    assert caps.weight("open_orders") == {"orders": 1, "weight": 1}


def test_waiting_is_logged_with_the_binding_pool(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeTime()
    limit = limiter(clock, ORDERS, WEIGHT, weights=BINANCE_LIKE)
    caplog.set_level(logging.INFO, logger="venuekit.ratelimit")
    asyncio.run(burst(limit, clock, ["submit"] * 11))
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert fields(record, "pool", "operation", "wait_s") == ("orders", "submit", 10.0)


# --- fairness and exactness under a burst -----------------------------------------------


def test_a_burst_of_500_is_admitted_in_call_order_within_every_pool() -> None:
    # A quote (weight only) goes ahead of submits and cancels waiting for the order pool.
    clock = FakeTime()
    weights: Weights = {"submit": {"orders": 1, "weight": 1}, "cancel": {"orders": 1},
                        "quote": {"weight": 2}, "account": {"weight": 5}}
    limit = limiter(clock, ORDERS, RateLimitPool("weight", 100, 60.0), weights=weights,
                    safety_margin=0.05)
    cycle = ["submit", "submit", "cancel", "quote", "submit", "account"]
    operations = [cycle[i % len(cycle)] for i in range(500)]

    admitted = asyncio.run(burst(limit, clock, operations))

    assert_in_call_order_within_pools(weights, admitted)
    assert [index for index, op, _ in admitted if op == "submit"] == \
        [index for index, op in enumerate(operations) if op == "submit"]
    assert_pools_never_exceeded(limit, weights, admitted)
    assert len(clock.sleeps) <= 500 - 9, "at most one sleep per waiter"
    stats = limit.stats()
    assert stats.admitted == 500 and stats.queued == 0
    assert stats.wait_s > 0 and stats.waits > 0


@st.composite
def phases(draw: st.DrawFn) -> list[tuple[float, list[str]]]:
    """Bursts of operations, each starting some time after the previous one ended."""
    return draw(st.lists(
        st.tuples(st.floats(0.0, 30.0, allow_nan=False),
                  st.lists(st.sampled_from(["submit", "cancel", "quote", "account"]),
                           min_size=1, max_size=40)),
        min_size=1, max_size=6))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=phases(), margin=st.sampled_from([0.0, 0.05, 0.2]),
       share=st.sampled_from([1.0, 0.5]))
def test_no_pool_is_ever_exceeded_and_order_is_kept(plan: list[tuple[float, list[str]]],
                                                    margin: float, share: float) -> None:
    clock = FakeTime()
    weights: Weights = {"submit": {"orders": 1, "weight": 2}, "cancel": {"orders": 1},
                        "quote": {"weight": 1}, "account": {"weight": 5}}
    limit = limiter(clock, RateLimitPool("orders", 7, 3.0), RateLimitPool("weight", 20, 10.0),
                    weights=weights, safety_margin=margin, share=share)
    everything: list[Admission] = []

    async def main() -> None:
        for gap, operations in plan:
            clock.now += gap
            admitted = await burst(limit, clock, operations)
            assert_in_call_order_within_pools(weights, admitted)
            everything.extend(admitted)

    asyncio.run(main())
    assert_pools_never_exceeded(limit, weights, everything)


def test_a_cancelled_waiter_gives_up_its_place_without_charging() -> None:
    clock = FakeTime()
    limit = limiter(clock, RateLimitPool("requests", 1, 5.0))
    order: list[str] = []

    async def take(name: str) -> None:
        await limit.acquire("quote")
        order.append(name)

    async def main() -> None:
        await limit.acquire("quote")
        head = asyncio.create_task(take("head"))
        middle = asyncio.create_task(take("middle"))
        tail = asyncio.create_task(take("tail"))
        await asyncio.sleep(0)  # all three are queued; the head is asleep until START + 5
        middle.cancel()
        head.cancel()
        await tail
        assert clock() == START + 5.0
        with pytest.raises(asyncio.CancelledError):
            await head
        with pytest.raises(asyncio.CancelledError):
            await middle

    asyncio.run(main())
    assert order == ["tail"]
    assert limit.stats().admitted == 2


# --- reactive backoff -------------------------------------------------------------------


def test_retry_after_holds_every_pool_until_then(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeTime()
    limit = limiter(clock, ORDERS, WEIGHT, weights=BINANCE_LIKE)

    async def main() -> None:
        await limit.acquire("submit")
        assert limit.penalize(7.5, code=Code.RATE_LIMITED, operation="submit") == 7.5
        assert limit.stats().blocked_s == 7.5
        await limit.acquire("quote")
        assert clock() == START + 7.5

    asyncio.run(main())
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert fields(warning, "pool", "code", "wait_s", "operation") == (
        "*", "RATE_LIMITED", 7.5, "submit")


def test_a_penalty_on_named_pools_holds_only_what_charges_them() -> None:
    clock = FakeTime()
    limit = limiter(clock, ORDERS, WEIGHT, weights=BINANCE_LIKE)

    async def main() -> None:
        limit.penalize(4.0, pools=["orders"])
        await limit.acquire("quote")
        assert clock() == START
        await limit.acquire("submit")
        assert clock() == START + 4.0

    asyncio.run(main())
    assert limit.stats().pools[0].blocked_s == 0


def test_a_penalty_never_shortens_a_longer_block() -> None:
    clock = FakeTime()
    limit = limiter(clock, ORDERS)
    assert limit.penalize(30.0) == 30.0
    assert limit.penalize(2.0) == 30.0
    assert limit.penalize(1.0, pools=["orders"]) == 1.0  # the pool's own block
    asyncio.run(limit.acquire("submit"))
    assert clock() == START + 30.0


def test_backoff_without_retry_after_grows_then_resets_after_a_calm_period() -> None:
    clock = FakeTime()
    limit = RateLimiter([ORDERS], backoff_reset=60.0, clock=clock, sleep=clock.sleep)

    assert [limit.penalize(None) for _ in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert [limit.penalize(None) for _ in range(4)][-1] == 60.0  # capped

    clock.now += 60.0 + 59.0  # the block ends at +60; not yet calm for 60 s after it
    assert limit.penalize(None) == 60.0
    clock.now += 60.0 + 60.0
    assert limit.penalize(None) == 1.0
    assert limit.stats().penalties == 10


def test_an_ip_ban_waits_out_retry_after_and_is_an_error(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeTime()
    limit = limiter(clock, ORDERS)

    async def main() -> None:
        limit.penalize(120.0, code=Code.IP_BANNED)
        await limit.acquire("submit")

    asyncio.run(main())
    assert clock() == START + 120.0
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert fields(record, "code", "wait_s") == ("IP_BANNED", 120.0)
    assert limit.penalize(None, code=Code.IP_BANNED) == 60.0  # no Retry-After: the cap


def test_slot_passes_a_rate_limit_answer_to_penalize() -> None:
    clock = FakeTime()
    limit = limiter(clock, ORDERS)

    async def main() -> None:
        with pytest.raises(RateLimited):
            async with limit.slot("submit"):
                raise RateLimited(retry_after=3.0, venue="test")
        async with limit.slot("submit"):
            assert clock() == START + 3.0

    asyncio.run(main())
    assert limit.stats().admitted == 2


# --- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"weights": {"submit": {"orders": 1, "margin": 2}}}, r"'submit'.*\['margin'\]"),
    ({"weights": {"submit": {"weight": 30}}}, r"'submit' charges 30 in pool 'weight'.*25"),
    ({"weights": {"quote": {"weight": 20}}, "share": 0.5},
     r"'quote' charges 20 in pool 'weight'.*only 12.*share 0.5"),
    ({"weights": {"cancel": {"orders": -1}}}, r"negative weight.*'orders'"),
    ({"safety_margin": 1.0}, "safety_margin"),
    ({"safety_margin": -0.1}, "safety_margin"),
    ({"share": 0.0}, "share"),
    ({"share": 1.5}, "share"),
])
def test_bad_configuration_says_what_is_wrong(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimiter([ORDERS, WEIGHT], **{"safety_margin": 0.0, **kwargs})  # type: ignore[arg-type]


def test_bad_pools_and_penalties_are_refused() -> None:
    with pytest.raises(ValueError, match="'orders' is declared twice"):
        RateLimiter([ORDERS, ORDERS])
    limit = RateLimiter([ORDERS])
    with pytest.raises(ValueError, match="no rate-limit pool 'weight'"):
        limit.penalize(1.0, pools=["weight"])
    with pytest.raises(ValueError, match="names no pool"):
        limit.penalize(1.0, pools=[])
    with pytest.raises(ValueError, match="retry_after"):
        limit.penalize(-1.0)
    with pytest.raises(ValueError, match="retry_after"):
        limit.penalize(float("inf"))
    with pytest.raises(ValueError, match="no rate-limit pool"):
        limit.usable("nope")


# --- no pools ---------------------------------------------------------------------------


def test_a_venue_without_pools_admits_at_once_and_fast() -> None:
    limit = RateLimiter.for_venue(capabilities())
    assert limit.pools == ()

    async def main() -> float:
        started = time.perf_counter()
        for _ in range(20_000):
            await limit.acquire("submit")
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    assert elapsed < 1.0, f"20,000 acquires took {elapsed:.3f} s"
    assert limit.stats().admitted == 20_000 and limit.stats().waits == 0


def test_a_limiter_without_pools_still_honours_retry_after() -> None:
    clock = FakeTime()
    limit = RateLimiter.unlimited(clock=clock, sleep=clock.sleep)
    limit.penalize(2.0)
    asyncio.run(limit.acquire("submit"))
    assert clock() == START + 2.0


# --- real time --------------------------------------------------------------------------


def test_real_time_pacing_is_exact_and_quick() -> None:
    pool = RateLimitPool("requests", capacity=4, period=0.1)
    limit = RateLimiter([pool], safety_margin=0.0)
    admitted: list[Admission] = []

    async def one(index: int) -> None:
        await limit.acquire("quote")
        admitted.append((index, "quote", time.monotonic()))

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(10)))

    started = time.monotonic()
    asyncio.run(main())
    elapsed = time.monotonic() - started
    assert [index for index, _, _ in admitted] == list(range(10))
    assert_pools_never_exceeded(limit, {"quote": {"requests": 1}}, admitted)
    assert 0.2 <= elapsed < 1.0


def test_a_lookup_is_not_held_behind_orders_waiting_for_the_order_pool() -> None:
    """A burst of submits fills the order pool; lookups and reads (weight only) go at once
    rather than behind them."""
    clock = FakeTime()
    weights: Weights = {"submit": {"orders": 1, "weight": 1}, "fetch_order": {"weight": 4},
                        "account": {"weight": 10}}
    limit = limiter(clock, RateLimitPool("orders", 3, 10.0), RateLimitPool("weight", 30, 60.0),
                    weights=weights, safety_margin=0.0)

    async def main() -> None:
        submits = [asyncio.create_task(limit.acquire("submit")) for _ in range(6)]
        await asyncio.sleep(0)
        assert sum(task.done() for task in submits) == 3  # the rest wait for the order pool
        assert limit.admit("fetch_order")  # weight 3 + 4 of 30: it goes now
        assert limit.admit("fetch_order")
        assert limit.admit("account")  # 11 + 10 of 30: the submits wait for another pool
        await asyncio.gather(*submits)

    asyncio.run(main())


def test_a_call_never_takes_the_room_a_waiter_waits_for() -> None:
    clock = FakeTime()
    weights: Weights = {"account": {"weight": 5}, "quote": {"weight": 1}}
    limit = limiter(clock, RateLimitPool("weight", 12, 60.0), weights=weights,
                    safety_margin=0.0)

    async def main() -> None:
        reads = [asyncio.create_task(limit.acquire("account")) for _ in range(3)]
        await asyncio.sleep(0)
        assert sum(task.done() for task in reads) == 2  # the third waits for weight
        assert not limit.admit("quote")  # 1 fits in the 2 left, but the waiter needs them
        clock.now += 60.0
        await asyncio.gather(*reads)
        assert limit.admit("quote")

    asyncio.run(main())


def test_a_call_first_in_line_waits_behind_only_the_caller_being_admitted() -> None:
    """A create sent again after proven absence goes before the orders queued since."""
    clock = FakeTime()
    limit = limiter(clock, RateLimitPool("orders", 1, 10.0), weights={"submit": {"orders": 1}})
    admitted: list[str] = []

    async def send(name: str, first: bool = False) -> None:
        if first:
            with first_in_line():
                await limit.acquire("submit")
        else:
            await limit.acquire("submit")
        admitted.append(name)

    async def main() -> None:
        await limit.acquire("submit")  # the pool is full for 10 s
        queued = [asyncio.create_task(send(f"order-{n}")) for n in range(6)]
        await asyncio.sleep(0)
        resend = asyncio.create_task(send("resend", first=True))
        await asyncio.gather(*queued, resend)

    asyncio.run(main())
    # Behind at most the caller being admitted when it came (and those before it).
    assert admitted.index("resend") <= 2, admitted
    assert [name for name in admitted if name != "resend"] == [f"order-{n}" for n in range(6)]


def test_a_refusal_that_names_its_pools_blocks_only_those() -> None:
    """Binance's "too many new orders" holds orders back, not lookups and cancels."""
    clock = FakeTime()
    limit = limiter(clock, RateLimitPool("orders", 10, 10.0), RateLimitPool("weight", 100, 60.0),
                    weights={"submit": {"orders": 1, "weight": 1}, "fetch_order": {"weight": 4}})

    async def refused() -> None:
        raise RateLimited(retry_after=5.0, pools=("orders",))

    async def main() -> None:
        with pytest.raises(RateLimited):
            await limit.call("submit", refused)
        assert not limit.admit("submit")  # the order pool waits out the 5 s
        assert limit.admit("fetch_order")  # the weight pool does not

    asyncio.run(main())


def test_a_refusal_announcing_a_tighter_limit_replaces_the_declared_one(
        caplog: pytest.LogCaptureFixture) -> None:
    """A pool declared four times too large costs one refusal: the venue's limit, announced
    with it, is used from then on (Binance: "current limit is 10 orders per 10 SECOND")."""
    clock = FakeTime()
    limit = limiter(clock, RateLimitPool("orders", 40, 10.0), WEIGHT,
                    weights={"submit": {"orders": 1, "weight": 1}})

    async def refused() -> None:
        raise RateLimited(retry_after=1.0, pools=("orders",), limits={"orders": (10, 11.0)})

    async def main() -> list[float]:
        for _ in range(12):  # 12 charged in the window: more than the venue's 10
            assert limit.admit("submit")
        with pytest.raises(RateLimited):
            await limit.call("submit", refused)
        admitted = []
        for _ in range(10):
            await limit.acquire("submit")
            admitted.append(clock() - START)
        return admitted

    admitted = asyncio.run(main())
    [pool, _] = limit.stats().pools
    assert (pool.capacity, pool.period, pool.usable) == (10, 11.0, 10)
    # The 13 charges made so far now leave the window 11 s after they were made (not 10):
    # the next ten go once they have, together, at 11 s.
    assert admitted == [11.0] * 10
    [warning] = [r for r in caplog.records if r.msg.startswith("the venue enforces")]
    assert fields(warning, "pool", "declared", "enforced", "usable") == (
        "orders", "40/10s", "10/11s", 10)


@pytest.mark.parametrize(("announced", "adopted"), [
    (RateLimitPool("orders", 10, 10.0), True),    # fewer per window
    (RateLimitPool("orders", 40, 20.0), True),    # as many over a longer window
    (RateLimitPool("orders", 5, 1.0), True),      # fewer, over a shorter window
    (RateLimitPool("orders", 40, 10.0), False),   # what was declared
    (RateLimitPool("orders", 80, 10.0), False),   # more: the declared pool stays
    (RateLimitPool("orders", 40, 5.0), False),    # as many over a shorter window
])
def test_only_a_limit_that_admits_less_is_adopted(announced: RateLimitPool,
                                                   adopted: bool) -> None:
    """A user may declare less than the venue allows (to leave room for another bot): an
    announcement of more never widens the pool."""
    clock = FakeTime()
    limit = limiter(clock, RateLimitPool("orders", 40, 10.0), safety_margin=0.1)
    assert limit.adopt(announced) is adopted
    expected = announced if adopted else RateLimitPool("orders", 40, 10.0)
    [pool] = limit.stats().pools
    assert (pool.capacity, pool.period) == (expected.capacity, expected.period)
    assert pool.usable == usable_capacity(expected, 0.1, 1.0)


def test_an_adopted_limit_keeps_room_for_the_heaviest_operation() -> None:
    clock = FakeTime()
    limit = limiter(clock, WEIGHT, weights={"quote": {"weight": 20}})
    assert limit.adopt(RateLimitPool("weight", 5, 60.0))
    assert limit.usable("weight") == 20  # the venue's 5 could never send a quote
    asyncio.run(limit.acquire("quote"))
    assert clock() == START


def test_an_announced_limit_for_an_undeclared_pool_is_ignored() -> None:
    clock = FakeTime()
    limit = limiter(clock, ORDERS)

    async def refused() -> None:
        raise RateLimited(retry_after=1.0, limits={"weight": (5, 60.0)})

    async def main() -> None:
        with pytest.raises(RateLimited):
            await limit.call("submit", refused)

    asyncio.run(main())
    assert [p.name for p in limit.stats().pools] == ["orders"]



def test_a_meter_counts_the_waits_of_the_calls_made_under_it() -> None:
    """What the outcome policy leaves out of its resolve_timeout: the time its own calls
    waited for the limiter, live while a wait goes on; calls outside the block are not
    counted."""
    limit = RateLimiter([RateLimitPool("orders", 1, 0.2)])

    async def main() -> tuple[float, float, float]:
        await limit.acquire("submit")  # fills the pool for 0.2 s
        with metered() as meter:
            task = asyncio.ensure_future(limit.acquire("submit"))
        await asyncio.sleep(0.1)
        during = meter.waited()
        await task
        after = meter.waited()
        await limit.acquire("submit")  # not under the meter: not counted
        return during, after, meter.waited()

    during, after, later = asyncio.run(main())
    assert 0.05 <= during < after
    assert 0.15 <= after < 0.5
    assert later == after
