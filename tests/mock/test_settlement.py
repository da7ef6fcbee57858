"""Settlement on the mock: stream outages, lost and repeated events, cancel races, rate limits.

Each test drives the real engine and SQLite journal against the mock venue with a frozen
market (``flat`` symbols), moves the quote by hand so that fills happen exactly when the test
says, and checks the journal against the venue's ledger of truth.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.helpers import flat
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit.engine import Engine
from venuekit.errors import Code, VenueKitError
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import (
    Order,
    OrderRequest,
    OrderState,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
)
from venuekit.outcome import OutcomePolicy
from venuekit.plugins import PluginHost
from venuekit.ratelimit import RateLimiter
from venuekit.retry import Backoff
from venuekit.settlement import SettlementOptions
from venuekit.strategies import run_strategy
from venuekit.venue import RateLimitPool
from venuekit_mock import MockVenue
from venuekit_mock.sim import Fault

T = TypeVar("T")
D = Decimal

# Fast polling, and a fixed reconnect delay long enough to observe the outage.
FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.1, late_grace=0.01,
                         reconnect=Backoff(base=0.3, factor=1.0, cap=0.3, jitter=0.0,
                                           attempts=1_000_000))

Body = Callable[[Engine, MockVenue], Awaitable[T]]


def on_mock(tmp_path: Path, body: Body[T], *, engine_options: dict[str, Any] | None = None,
            venue: MockVenue | None = None, **venue_options: Any) -> T:
    async def main() -> T:
        mock = venue or MockVenue(seed=5, symbols=[flat("XYZ", size="100")], **venue_options)
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            engine = Engine(mock, journal, host=PluginHost(load_entry_points=False),
                            settlement=FAST, **(engine_options or {}))
            await engine.start()
            try:
                result = await asyncio.wait_for(body(engine, mock), 20)
            finally:
                await engine.close()
            assert engine.tracker.overfills == []
            assert engine.tracker.duplicate_executions == []
            assert_journal_matches_ledger(journal, mock.control.ledger)
            return result
    return asyncio.run(main())


def limit_buy(quantity: str, price: str = "100.00") -> OrderRequest:
    return OrderRequest(symbol="XYZ", side=Side.BUY, quantity=D(quantity),
                        order_type=OrderType.LIMIT, limit_price=D(price),
                        time_in_force=TimeInForce.GTC)


def cross(venue: MockVenue, size: str) -> None:
    """Offer ``size`` at 99.99: a resting buy at 100.00 fills that much at 100.00."""
    venue.control.set_quote("XYZ", "99.98", "99.99", "100", size)


def restore(venue: MockVenue) -> None:
    venue.control.set_quote("XYZ", "100.00", "100.01", "100", "100")


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Yield to the loop until ``condition()`` holds (fail after ``timeout`` seconds)."""
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.001)
    await asyncio.wait_for(poll(), timeout)


def venue_filled(venue: MockVenue, order: Order) -> Decimal:
    assert order.venue_order_id
    return venue.control.ledger.filled_quantity(order.venue_order_id)


# 1. the stream drops in the middle of partial fills ---------------------------------------
def test_stream_disconnect_mid_partial_fills_polls_then_gap_fills(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        settlement = engine.settlement
        order = await engine.submit(limit_buy("350"))
        assert order.state.value == "acknowledged" and order.filled_quantity == 0

        cross(venue, "100")  # first partial fill, heard on the stream
        await until(lambda: order.filled_quantity == 100)
        assert settlement.streaming

        venue.control.disconnect_stream()
        await until(lambda: not settlement.streaming)
        assert settlement.reconnects == 1
        updates = settlement.updates

        # While the stream is down (0.3 s), polling follows the order.
        cross(venue, "100")
        assert await engine.settle(order, timeout=0.15) is order
        assert order.state is OrderState.PARTIALLY_FILLED
        assert order.filled_quantity == 200 == venue_filled(venue, order)
        assert settlement.updates == updates, "nothing came over the stream"
        assert not settlement.streaming

        # A fill nobody polls for is recovered by the gap fill after the reconnect.
        cross(venue, "100")
        assert order.filled_quantity == 200
        await asyncio.wait_for(settlement.ready(), 2)
        assert settlement.streaming
        assert order.filled_quantity == 300 == venue_filled(venue, order)

        cross(venue, "100")  # the final 50, on the new stream
        final = await engine.settle(order, timeout=5)
        assert final.state is OrderState.FILLED
        assert order.filled_quantity == 350 == venue_filled(venue, order)
        assert settlement.updates > updates
        assert settlement.reconnects >= 1
        assert len(venue.control.ledger.fills_for(order.id)) == 4
    on_mock(tmp_path, body)


def test_scripted_stream_disconnect_during_partial_fills(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        settlement = engine.settlement
        order = await engine.submit(limit_buy("250"))
        cross(venue, "100")
        await until(lambda: order.filled_quantity == 100)
        venue.control.set_fault(Fault.STREAM_DISCONNECT, 1)  # the next event breaks it
        cross(venue, "100")
        venue.control.clear_faults()
        cross(venue, "100")
        final = await engine.settle(order, timeout=5)
        assert final.state is OrderState.FILLED
        assert order.filled_quantity == 250 == venue_filled(venue, order)
        assert venue.control.ledger.faults_of(Fault.STREAM_DISCONNECT)
        assert settlement.reconnects >= 1
    on_mock(tmp_path, body)


# 2. the completing fill never reaches the stream ------------------------------------------
def test_lost_final_fill_is_settled_over_rest(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        venue.control.script_fault(Fault.LOSE_FINAL_FILL, 1)
        order = await engine.submit(limit_buy("150"))
        cross(venue, "100")
        await until(lambda: order.filled_quantity == 100)
        updates = engine.settlement.updates
        cross(venue, "100")  # completes the order: that update is lost
        final = await engine.settle(order, timeout=5)
        assert final.state is OrderState.FILLED
        assert order.filled_quantity == 150 == venue_filled(venue, order)
        assert engine.settlement.updates == updates, "the completion was not streamed"
        assert len(venue.control.ledger.faults_of(Fault.LOSE_FINAL_FILL)) == 1
        assert engine.settlement.streaming and engine.settlement.reconnects == 0
    on_mock(tmp_path, body)


# 3. repeated and reordered events ---------------------------------------------------------
@pytest.mark.parametrize("fault", [Fault.DUPLICATE_EVENT, Fault.OUT_OF_ORDER])
def test_duplicate_and_out_of_order_events_count_once(tmp_path: Path, fault: Fault) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        venue.control.set_fault(fault, 1)
        # Marketable: 100 fill at once (ack and fill in one batch), the rest in partial
        # fills as the quote is refreshed and then crossed.
        resting = await engine.submit(limit_buy("340", "100.01"))
        venue.control.set_quote("XYZ", "100.00", "100.01", "100", "100")  # fresh size
        for _ in range(3):
            cross(venue, "100")
        final = await engine.settle(resting, timeout=5)
        assert final.state is OrderState.FILLED
        assert resting.filled_quantity == 340 == venue_filled(venue, resting)
        fills = [e.fill for e in resting.history if e.fill is not None]
        assert len(fills) == len(venue.control.ledger.fills_for(resting.id))
        assert len({f.trade_id for f in fills}) == len(fills)
        assert venue.control.ledger.faults_of(fault)
        if fault is Fault.DUPLICATE_EVENT:
            assert engine.settlement.updates >= 2 * len(fills)
    on_mock(tmp_path, body, cash=D(10**7))


# 4. a fill races the cancel of a re-peg ---------------------------------------------------
def test_fill_during_direct_cancel_is_counted(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        order = await engine.submit(limit_buy("100"))
        cancel = asyncio.create_task(engine.cancel(order))
        await until(lambda: order.state is OrderState.PENDING_CANCEL)
        assert not venue.control.ledger.cancels, "the cancel has not reached the venue"
        cross(venue, "30")
        restore(venue)
        await cancel
        assert order.state is OrderState.CANCELLED
        assert order.filled_quantity == 30 == venue_filled(venue, order)
        [cancelled] = venue.control.ledger.cancels
        assert cancelled.remaining == 70
    on_mock(tmp_path, body, latency=0.06)


def test_repeg_sizes_the_replacement_from_fills_that_raced_the_cancel(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        async def race() -> None:
            pending: list[Order] = []

            def cancelling() -> bool:
                pending[:] = [o for o in engine.tracker if o.state is OrderState.PENDING_CANCEL]
                return bool(pending)
            await until(cancelling)
            assert not venue.control.ledger.cancels
            cross(venue, "30")  # the venue fills 30 of the order being cancelled
            restore(venue)

        racer = asyncio.create_task(race())
        result = await run_strategy(engine,
            OrderRequest(symbol="XYZ", side=Side.BUY, quantity=D(100)), "aggressive-limit",
            budget=3.0, interval=0.1, pricer="touch", policy="aggressive",
            market_fallback=False)
        await racer
        first, replacement = result.orders
        assert first.limit_price == D("100.00") and replacement.limit_price == D("100.01")
        assert first.state is OrderState.CANCELLED
        assert first.filled_quantity == 30 == venue_filled(venue, first)
        assert replacement.quantity == D(100) - first.filled_quantity == 70
        assert replacement.state is OrderState.FILLED
        assert result.state is OrderState.FILLED
        assert result.filled_quantity == 100
        assert sum(f.quantity for f in venue.control.ledger.fills) == 100, "no overfill"
        assert result.repegs == 1
    # A venue without native replace: the re-peg is a confirmed cancel and a new order.
    on_mock(tmp_path, body, latency=0.06, replace=False)


def test_native_replace_keeps_only_what_the_venue_still_has_open(tmp_path: Path) -> None:
    """A fill racing a native replace: the venue sizes the replacement, so no overfill."""
    async def body(engine: Engine, venue: MockVenue) -> None:
        async def race() -> None:
            await until(lambda: any(o.state is OrderState.PENDING_REPLACE
                                    for o in engine.tracker))
            assert not venue.control.ledger.replaces
            cross(venue, "30")  # the venue fills 30 of the order being replaced
            restore(venue)

        racer = asyncio.create_task(race())
        result = await run_strategy(engine,
            OrderRequest(symbol="XYZ", side=Side.BUY, quantity=D(100)), "aggressive-limit",
            budget=3.0, interval=0.1, pricer="touch", policy="aggressive",
            market_fallback=False)
        await racer
        first, replacement = result.orders
        assert first.state is OrderState.REPLACED and first.replaced_by == replacement.id
        assert first.filled_quantity == 30 == venue_filled(venue, first)
        assert replacement.quantity == 70, "the venue kept what was still open"
        assert replacement.limit_price == D("100.01")
        assert result.state is OrderState.FILLED and result.filled_quantity == 100
        assert sum(f.quantity for f in venue.control.ledger.fills) == 100, "no overfill"
        assert not venue.control.ledger.cancels, "a replace, not a cancel and a new order"
    on_mock(tmp_path, body, latency=0.06)


def test_price_unchanged_after_rounding_causes_no_churn(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        async def fill_later() -> None:
            await until(lambda: len(decisions()) >= 5)
            cross(venue, "100")

        racer = asyncio.create_task(fill_later())
        # Bid 100.00 + 0.004 rounds passively back to 100.00: the target never moves.
        result = await run_strategy(engine,
            OrderRequest(symbol="XYZ", side=Side.BUY, quantity=D(50)), "aggressive-limit",
            budget=5.0, interval=0.03, pricer="touch", policy="conservative",
            policy_options={"base_improvement": "0.004", "step": "0",
                            "max_improvement": "0.004"})
        await racer
        assert len(decisions()) >= 5
        assert all(r.action == "keep" for r in decisions())
        assert result.state is OrderState.FILLED
        assert len(result.orders) == 1 and result.repegs == 0
        ledger = venue.control.ledger
        assert ledger.order_count == 1
        assert ledger.cancels == [] and ledger.replaces == []

    def decisions() -> list[Any]:
        return [r for r in caplog.records if r.getMessage() == "re-peg decision"]

    caplog.set_level(logging.DEBUG, logger="venuekit.repeg")
    on_mock(tmp_path, body)


# 5. a 500-order burst against the venue's rate limits -------------------------------------
POOLS = [RateLimitPool("orders", 400, 0.5), RateLimitPool("requests", 600, 0.5)]
# Creates and cancels charge the order pool; lookups charge only the request pool.
WEIGHTS = {"submit": {"orders": 2, "requests": 1}, "cancel": {"orders": 1, "requests": 1},
           "fetch_order": {"requests": 1}, "fills_since": {"requests": 1}}
BURST = 500


class CountingMock(MockVenue):
    """The mock, counting the rate-limit answers its pools give (the ledger does not)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.rate_limited = 0

    async def _request(self, operation: str) -> Any:
        try:
            return await super()._request(operation)
        except VenueKitError as exc:
            if exc.code == Code.RATE_LIMITED:
                self.rate_limited += 1
            raise


def burst_venue(pools: list[RateLimitPool] = POOLS) -> CountingMock:
    return CountingMock(seed=9, symbols=[flat("XYZ", size="1000000")], cash=D(10**9),
                        rate_limits=pools, weights=WEIGHTS)


async def burst(engine: Engine, count: int = BURST) -> list[Order]:
    await engine.instrument("XYZ")
    # Distinct quantities keep fingerprints distinct; every order is marketable.
    return await asyncio.gather(*(engine.submit(limit_buy(str(1 + i), "100.01"))
                                  for i in range(count)))


def check_burst(venue: CountingMock, orders: list[Order]) -> None:
    ledger = venue.control.ledger
    assert ledger.order_count == len(orders), "one venue order per SDK order"
    assert ledger.duplicate_client_ids() == {}
    assert {v.client_order_id for v in ledger.orders} == {o.id for o in orders}
    assert [o.id for o in orders if o.state is not OrderState.FILLED] == []
    for order in orders:
        assert order.filled_quantity == order.quantity == venue_filled(venue, order)


def test_burst_within_declared_limits_is_never_rate_limited(tmp_path: Path) -> None:
    venue = burst_venue()

    async def body(engine: Engine, mock: MockVenue) -> list[Order]:
        assert {p.name for p in engine.limiter.pools} == {"orders", "requests"}
        loop = asyncio.get_running_loop()
        started = loop.time()
        orders = await burst(engine)
        assert loop.time() - started >= 1.0, "the limiter paced the burst"
        assert engine.limiter.stats().penalties == 0
        return orders

    orders = on_mock(tmp_path, body, venue=venue)
    assert venue.rate_limited == 0
    check_burst(venue, orders)


def test_burst_with_too_generous_limits_backs_off_and_loses_nothing(tmp_path: Path) -> None:
    # The venue allows 50 creates per 0.5 s; the engine is told ten times that, so even a
    # slow machine outruns the venue and meets its rate-limit answers.
    venue = burst_venue([RateLimitPool("orders", 100, 0.5), RateLimitPool("requests", 150, 0.5)])
    wrong = RateLimiter([RateLimitPool("orders", 1000, 0.5),
                         RateLimitPool("requests", 1500, 0.5)], weights=WEIGHTS, venue="mock")

    async def body(engine: Engine, mock: MockVenue) -> list[Order]:
        orders = await burst(engine, 200)
        assert engine.limiter.stats().penalties > 0
        return orders

    # A refused create is an unknown outcome: it is looked up, proven absent and sent
    # again with the same client order id. A resend the venue throttles again does not use
    # up the resend budget, so the default policy gets every order through.
    policy = OutcomePolicy(resolve_timeout=15)
    orders = on_mock(tmp_path, body, venue=venue,
                     engine_options={"limiter": wrong, "policy": policy})
    assert venue.rate_limited > 0
    check_burst(venue, orders)
    resent = [o for o in orders if sum(1 for e in o.history if e.kind == "submit") > 1]
    assert resent, "refused creates were looked up and sent again"


# 6. a native replace whose answer is lost --------------------------------------------------
def replace_faults(fault: Fault) -> Any:
    from venuekit_mock.sim import FaultPlan

    return FaultPlan({fault.value: Decimal(1)}, operations=["replace"], seed=5)


@pytest.mark.parametrize(("fault", "replaced"), [(Fault.DROP_RESPONSE, True),
                                                  (Fault.TIMEOUT, False)])
def test_a_replace_with_an_unknown_outcome_is_looked_up_never_resent(
        tmp_path: Path, fault: Fault, replaced: bool) -> None:
    """The replace times out: done at the venue (answer lost) or not done at all."""
    async def body(engine: Engine, venue: MockVenue) -> None:
        order = await engine.submit(OrderRequest(symbol="XYZ", side=Side.BUY, quantity=D(10),
                                                 order_type=OrderType.LIMIT,
                                                 limit_price=D("99.90")))
        working = await engine.replace(order, limit_price=D("99.95"))
        ledger = venue.control.ledger
        assert len(ledger.orders) == (2 if replaced else 1), "never a second create"
        if replaced:
            assert working is not order and working.state is OrderState.ACKNOWLEDGED
            assert order.state is OrderState.REPLACED and order.replaced_by == working.id
            assert working.venue_order_id == ledger.orders[1].venue_order_id
        else:
            assert working is order and order.state is OrderState.ACKNOWLEDGED
            replacement = engine.journal.orders(state=OrderState.ERROR)
            assert [r.replaces for r in replacement] == [order.id]
        submits = [e for o in engine.journal.orders() for e in o.history if e.kind == "submit"]
        assert len(submits) == 2, "the replacement was journaled once and never resent"
    on_mock(tmp_path, body, faults=replace_faults(fault),
            engine_options={"policy": OutcomePolicy(grace=0.05, resolve_timeout=5)})


@pytest.mark.parametrize("client_ids", [True, False], ids=["client-ids", "fingerprint"])
@pytest.mark.parametrize("marketable", [False, True], ids=["resting", "filled-at-once"])
def test_a_replacement_found_by_lookup_has_the_size_the_venue_gave_it(
        tmp_path: Path, client_ids: bool, marketable: bool) -> None:
    """A fill races a replace whose answer is lost: the venue sized the replacement to what
    was still open (70, not the 100 asked for). The lookup must find it (by fingerprint
    too, where the venue has no client ids) and adopt that size, so that it can read
    FILLED, also when the stream reports its fill before the lookup tells its size."""
    async def body(engine: Engine, venue: MockVenue) -> None:
        order = await engine.submit(limit_buy("100"))

        async def race() -> None:
            await until(lambda: order.state is OrderState.PENDING_REPLACE)
            cross(venue, "30")  # fills 30 of the order before the venue replaces it
            restore(venue)

        racer = asyncio.create_task(race())
        price = D("100.01") if marketable else D("99.95")  # 100.01 crosses the ask
        working = await engine.replace(order, limit_price=price)
        await racer
        ledger = venue.control.ledger
        assert len(ledger.orders) == 2 and len(ledger.replaces) == 1
        assert working is not order, "the replacement was found, not marked never received"
        assert working.venue_order_id == ledger.replaces[0].new_venue_order_id
        assert working.quantity == 70, "the venue's size, not the size asked for"
        await engine.settle(order, timeout=2)
        assert order.state is OrderState.REPLACED and order.filled_quantity == 30
        if not marketable:
            venue.control.set_quote("XYZ", "99.90", "99.94", "100", "100")  # the rest fills
        await engine.settle(working, timeout=2)
        assert working.state is OrderState.FILLED and working.filled_quantity == 70
    on_mock(tmp_path, body, latency=0.06, client_order_ids=client_ids,
            faults=replace_faults(Fault.DROP_RESPONSE),
            engine_options={"policy": OutcomePolicy(grace=0.05, resolve_timeout=5)})


# 7. closing the engine ---------------------------------------------------------------------
def test_engine_close_ends_a_stream_task_whose_cancel_was_swallowed(tmp_path: Path) -> None:
    """A cancel can be lost inside what the stream task awaits (Python 3.11's
    ``asyncio.wait_for`` returns the result instead when what it waited for finishes at
    that moment). ``Engine.close()`` cancels again until the task has ended, rather than
    waiting forever for a task that went on."""
    swallowed: list[int] = []

    class Swallowing:
        """The venue's stream, with its first cancel lost the way wait_for loses it."""

        def __init__(self, inner: AsyncIterator[OrderUpdate]) -> None:
            self.inner = inner

        def __aiter__(self) -> Swallowing:
            return self

        async def __anext__(self) -> OrderUpdate:
            try:
                return await self.inner.__anext__()
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(1)
                return await self.inner.__anext__()

    async def main() -> None:
        mock = MockVenue(seed=5, symbols=[flat("XYZ", size="100")])
        subscribe = mock.order_updates
        mock.order_updates = lambda: Swallowing(subscribe())  # type: ignore[method-assign]
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            engine = Engine(mock, journal, host=PluginHost(load_entry_points=False),
                            settlement=FAST)
            await engine.start()
            closing = asyncio.ensure_future(engine.close())
            done, _ = await asyncio.wait({closing}, timeout=5)
            assert swallowed, "the stream task's first cancel was not swallowed"
            assert done, "Engine.close() waits for a stream task that will never end"
            closing.result()
    asyncio.run(main())


def test_open_orders_are_read_only_once_the_stream_is_subscribed(tmp_path: Path) -> None:
    """A stream that subscribes in the background says when it is in force (``ready()``):
    settlement reads the open orders over REST after that, never before, and submits wait
    for both, so nothing falls between the REST read and the subscription."""
    steps: list[str] = []

    class Subscribing:
        def __init__(self, inner: AsyncIterator[OrderUpdate]) -> None:
            self.inner = inner

        def __aiter__(self) -> Subscribing:
            return self

        async def ready(self) -> None:
            await asyncio.sleep(0.3)  # the subscription's answer takes a while
            steps.append("subscribed")

        async def __anext__(self) -> OrderUpdate:
            return await self.inner.__anext__()

    async def main() -> Order:
        mock = MockVenue(seed=5, symbols=[flat("XYZ", size="100")])
        subscribe, fetch = mock.order_updates, mock.fetch_order
        mock.order_updates = lambda: Subscribing(subscribe())  # type: ignore[method-assign]

        async def fetch_order(ref: Any) -> Any:
            steps.append("rest read")
            return await fetch(ref)
        mock.fetch_order = fetch_order  # type: ignore[method-assign]
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            engine = Engine(mock, journal, host=PluginHost(load_entry_points=False),
                            settlement=FAST)
            await engine.start()
            try:
                order = await engine.submit(limit_buy("5"))
                assert steps[0] == "subscribed"
                await engine.settlement.stop()  # force a reconnect with an open order
                await engine.settlement.start()
                return order
            finally:
                await engine.close()

    order = asyncio.run(main())
    assert order.state is OrderState.ACKNOWLEDGED
    assert steps[:3] == ["subscribed", "subscribed", "rest read"], steps
