"""Stops, trailing stops and brackets emulated by the engine (the venue declares them
``"emulated"``): held in the journal, released once at the right quote, re-armed after a
restart, and a bracket's exits never selling more than the entry bought.

The mock's quote is frozen (``flat``) and moved by hand, so a trigger fires exactly when
the test says; the journal is checked against the venue's ledger after every test.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.helpers import flat
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit.engine import Engine
from venuekit.errors import Code, VenueKitError
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import BracketRequest, Order, OrderRequest, OrderState, OrderType, Side
from venuekit.plugins import PluginHost
from venuekit.retry import Backoff
from venuekit.settlement import SettlementOptions
from venuekit_mock import MockVenue

T = TypeVar("T")
D = Decimal
FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.1, late_grace=0.01,
                         reconnect=Backoff(base=0.05, factor=1.0, cap=0.05, jitter=0.0,
                                           attempts=1_000_000))
Body = Callable[[Engine, MockVenue], Awaitable[T]]


def emulating(venue: MockVenue) -> MockVenue:
    """``venue`` declaring every stop type and brackets emulated by the engine."""
    venue.capabilities = dataclasses.replace(
        venue.capabilities, stop_orders="emulated", stop_limit_orders="emulated",
        trailing_stops="emulated", brackets="emulated")
    return venue


def new_mock() -> MockVenue:
    venue = MockVenue(seed=5, symbols=[flat("XYZ", size="100")])
    venue.control.set_position("XYZ", "100", "100")
    return emulating(venue)


async def started(venue: MockVenue, journal: SQLiteJournal) -> Engine:
    engine = Engine(venue, journal, host=PluginHost(load_entry_points=False), settlement=FAST,
                    trigger_interval=0.01)
    await engine.start()
    return engine


def on_mock(tmp_path: Path, body: Body[T], venue: MockVenue | None = None) -> T:
    async def main() -> T:
        mock = venue or new_mock()
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            engine = await started(mock, journal)
            try:
                result = await asyncio.wait_for(body(engine, mock), 20)
            finally:
                await engine.close()
            assert engine.tracker.overfills == []
            assert_journal_matches_ledger(journal, mock.control.ledger)
            return result
    return asyncio.run(main())


def quote(venue: MockVenue, bid: str, ask: str, size: str = "100") -> None:
    venue.control.set_quote("XYZ", bid, ask, size, size)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.002)
    await asyncio.wait_for(poll(), timeout)


async def quiet(engine: Engine, rounds: int = 5) -> None:
    """Let the held orders' watch see the current quote a few times."""
    await asyncio.sleep(engine.held.interval * rounds + 0.02)


def venue_orders(venue: MockVenue) -> int:
    return len(venue.control.ledger.orders)


def stop(side: Side, price: str, quantity: str = "10", **fields: Any) -> OrderRequest:
    kind = fields.pop("order_type", OrderType.STOP)
    return OrderRequest(symbol="XYZ", side=side, quantity=D(quantity), order_type=kind,
                        stop_price=D(price), **fields)


# stops ---------------------------------------------------------------------------------
def test_a_sell_stop_is_held_until_the_bid_falls_to_it_then_sent_once(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        order = await engine.submit(stop(Side.SELL, "99.00"))
        assert order.state is OrderState.HELD and venue_orders(venue) == 0
        quote(venue, "99.01", "99.02")  # one cent above the trigger: nothing
        await quiet(engine)
        assert order.state is OrderState.HELD and venue_orders(venue) == 0
        quote(venue, "99.00", "99.01")
        done = await engine.settle(order, timeout=5)
        assert done.state is OrderState.FILLED and done.average_price == D("99.00")
        assert venue_orders(venue) == 1
        submit = [e for e in done.history if e.kind == "submit"]
        assert len(submit) == 1 and submit[0].data == {
            "trigger": "99.00", "bid": "99.00", "ask": "99.01"}
        quote(venue, "98.00", "98.01")  # further down: fired once, never again
        await quiet(engine)
        assert venue_orders(venue) == 1
    on_mock(tmp_path, body)


def test_a_buy_stop_limit_releases_a_limit_order_at_its_limit(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        order = await engine.submit(stop(Side.BUY, "101.00", order_type=OrderType.STOP_LIMIT,
                                         limit_price=D("101.05")))
        quote(venue, "100.99", "101.00")
        await until(lambda: order.state is OrderState.FILLED)
        assert order.average_price == D("101.00")  # a marketable limit takes the touch
        placed = venue.control.ledger.orders[0]
        assert placed.order_type is OrderType.LIMIT and placed.limit_price == D("101.05")
    on_mock(tmp_path, body)


def test_a_stop_already_crossed_is_refused_with_nothing_journaled(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        with pytest.raises(VenueKitError) as caught:
            await engine.submit(stop(Side.BUY, "100.01"))  # the ask is 100.01
        assert caught.value.code is Code.STOP_CROSSED
        assert "would fire at once" in caught.value.message
        assert engine.journal.orders() == [] and venue_orders(venue) == 0
    on_mock(tmp_path, body)


def test_an_off_tick_stop_rounds_towards_the_market(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        sell = await engine.submit(stop(Side.SELL, "98.994"))
        buy = await engine.submit(stop(Side.BUY, "101.006"))
        assert (sell.request.stop_price, buy.request.stop_price) == (D("99.00"), D("101.00"))
        await engine.cancel(sell)
        await engine.cancel(buy)
    on_mock(tmp_path, body)


def test_a_held_stop_cancelled_is_withdrawn_and_never_sent(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        order = await engine.submit(stop(Side.SELL, "99.00"))
        await engine.cancel(order)
        assert order.state is OrderState.CANCELLED
        assert order.reason == "withdrawn while held: nothing was sent"
        quote(venue, "98.00", "98.01")
        await quiet(engine)
        assert venue_orders(venue) == 0
        stored = engine.journal.get(order.id)
        assert stored is not None and stored.state is OrderState.CANCELLED
    on_mock(tmp_path, body)


def test_a_trailing_stop_follows_the_best_bid_and_fires_by_its_trail(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        order = await engine.submit(OrderRequest(
            symbol="XYZ", side=Side.SELL, quantity=D(10), order_type=OrderType.TRAILING_STOP,
            trail_amount=D("1.00")))
        await quiet(engine)
        for bid in ("101.00", "102.50", "102.00"):
            quote(venue, bid, str(D(bid) + D("0.01")))
            await quiet(engine)
        marks = [e.data["mark"] for e in order.history if e.kind == "mark" and e.data]
        assert marks == ["100.00", "101.00", "102.50"]
        quote(venue, "101.51", "101.52")  # the stop is 101.50
        await quiet(engine)
        assert order.state is OrderState.HELD
        quote(venue, "101.50", "101.51")
        await until(lambda: order.state is OrderState.FILLED)
        assert order.average_price == D("101.50") and venue_orders(venue) == 1
    on_mock(tmp_path, body)


def test_a_venue_without_stops_refuses_them_clearly(tmp_path: Path) -> None:
    venue = new_mock()
    venue.capabilities = dataclasses.replace(venue.capabilities, stop_orders=False)

    async def body(engine: Engine, venue: MockVenue) -> None:
        with pytest.raises(VenueKitError) as caught:
            await engine.submit(stop(Side.SELL, "99.00"))
        assert caught.value.code is Code.UNSUPPORTED_ORDER
        assert "takes no stop orders" in caught.value.message
    on_mock(tmp_path, body, venue)


def test_held_orders_are_rearmed_after_a_restart_with_their_mark(tmp_path: Path) -> None:
    """The engine closes with a trailing stop held (as a crash would leave it); the next
    engine on the same journal re-arms it from its last recorded mark and fires it once."""
    async def main() -> None:
        venue = new_mock()
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            engine = await started(venue, journal)
            order = await engine.submit(OrderRequest(
                symbol="XYZ", side=Side.SELL, quantity=D(10),
                order_type=OrderType.TRAILING_STOP, trail_percent=D(1)))
            quote(venue, "105.00", "105.01")
            await until(lambda: any(e.data == {"mark": "105.00"} for e in order.history))
            await engine.close()
        quote(venue, "104.00", "104.01")  # above the stop (103.95): nothing while down
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            engine = await started(venue, journal)
            assert engine.recovery is not None and engine.recovery.held == [order.id]
            assert order.id in engine.held and venue_orders(venue) == 0
            held = engine.tracker.get(order.id)
            assert held is not None and held.state is OrderState.HELD
            quote(venue, "103.95", "103.96")
            await until(lambda: held.state is OrderState.FILLED)
            await engine.close()
            assert venue_orders(venue) == 1
            assert_journal_matches_ledger(journal, venue.control.ledger)
    asyncio.run(main())


# brackets ------------------------------------------------------------------------------
def bracket(quantity: str = "10", entry_limit: str | None = None) -> BracketRequest:
    entry = OrderRequest(symbol="XYZ", side=Side.BUY, quantity=D(quantity),
                         order_type=OrderType.LIMIT if entry_limit else OrderType.MARKET,
                         limit_price=D(entry_limit) if entry_limit else None)
    return BracketRequest(entry=entry, take_profit=D("102.00"), stop_loss=D("99.00"))


def position(venue: MockVenue) -> Decimal:
    return venue.control.simulator.account.position("XYZ")


def test_a_take_profit_filled_withdraws_the_stop_loss(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        start = position(venue)
        placed = await engine.submit_bracket(bracket())
        tp, sl = placed.take_profit, placed.stop_loss
        await until(lambda: tp.state is OrderState.ACKNOWLEDGED)
        assert placed.entry.state is OrderState.FILLED and sl.state is OrderState.HELD
        sent = venue.control.ledger.orders[1]
        assert (sent.order_type, sent.limit_price, sent.quantity) == (
            OrderType.LIMIT, D("102.00"), D(10))
        quote(venue, "102.00", "102.01")
        await until(lambda: sl.state is OrderState.CANCELLED)
        assert tp.state is OrderState.FILLED and "take-profit" in (sl.reason or "")
        quote(venue, "98.00", "98.01")
        await quiet(engine)
        assert venue_orders(venue) == 2 and position(venue) == start
    on_mock(tmp_path, body)


def test_a_stop_loss_cancels_the_take_profit_first_and_sells_what_is_left(
        tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        start = position(venue)
        placed = await engine.submit_bracket(bracket())
        tp, sl = placed.take_profit, placed.stop_loss
        await until(lambda: tp.state is OrderState.ACKNOWLEDGED)
        quote(venue, "102.00", "102.01", size="4")  # the take-profit fills 4 of 10
        await until(lambda: tp.filled_quantity == 4)
        quote(venue, "99.00", "99.01")
        await until(lambda: sl.state is OrderState.FILLED)
        assert tp.state is OrderState.CANCELLED and tp.filled_quantity == 4
        assert sl.quantity == 6 and position(venue) == start
    on_mock(tmp_path, body)


def test_a_take_profit_fill_racing_the_stop_loss_never_oversells(tmp_path: Path) -> None:
    """The take-profit fills in full while the stop-loss's cancel of it is on its way: the
    cancel is refused, the stop-loss sends nothing, and the position is flat again."""
    async def body(engine: Engine, venue: MockVenue) -> None:
        start = position(venue)
        placed = await engine.submit_bracket(bracket())
        tp, sl = placed.take_profit, placed.stop_loss
        await until(lambda: tp.state is OrderState.ACKNOWLEDGED)
        real_cancel = engine.cancel

        async def cancel_raced(order: Order, **kwargs: Any) -> Order:
            quote(venue, "102.00", "102.01")  # the take-profit fills as the cancel leaves
            return await real_cancel(order, **kwargs)
        engine.cancel = cancel_raced  # type: ignore[method-assign]
        quote(venue, "99.00", "99.01")
        await until(lambda: sl.state.is_terminal and tp.state.is_terminal)
        assert tp.state is OrderState.FILLED and tp.filled_quantity == 10
        assert sl.state is OrderState.CANCELLED and sl.filled_quantity == 0
        assert position(venue) == start and venue_orders(venue) == 2
    on_mock(tmp_path, body)


def test_an_entry_that_fills_nothing_withdraws_both_exits(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        placed = await engine.submit_bracket(bracket(entry_limit="99.50"))
        await engine.cancel(placed.entry)
        await until(lambda: placed.take_profit.state.is_terminal
                    and placed.stop_loss.state.is_terminal)
        assert placed.take_profit.state is placed.stop_loss.state is OrderState.CANCELLED
        assert venue_orders(venue) == 1
    on_mock(tmp_path, body)


def test_a_bracket_with_its_stop_loss_above_the_take_profit_is_refused() -> None:
    entry = OrderRequest(symbol="XYZ", side=Side.BUY, quantity=D(10))
    with pytest.raises(ValueError, match=r"stop_loss .* must lie below its take_profit"):
        BracketRequest(entry=entry, take_profit=D("99"), stop_loss=D("101"))


def test_a_bracket_is_taken_up_again_after_a_restart(tmp_path: Path) -> None:
    """The engine closes with the take-profit working and the stop-loss held (as a crash
    would leave them); the next engine re-arms the stop-loss as the bracket's, so that
    when it fires it cancels the take-profit first and sells only what is left."""
    async def main() -> None:
        venue = new_mock()
        start = position(venue)
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            engine = await started(venue, journal)
            placed = await engine.submit_bracket(bracket())
            await until(lambda: placed.take_profit.state is OrderState.ACKNOWLEDGED)
            quote(venue, "102.00", "102.01", size="3")  # the take-profit sells 3 of 10
            await until(lambda: placed.take_profit.filled_quantity == 3)
            await engine.close()
        quote(venue, "100.00", "100.01")
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            engine = await started(venue, journal)
            assert engine.recovery is not None
            assert engine.recovery.held == [placed.stop_loss.id]
            stop_loss = engine.tracker.get(placed.stop_loss.id)
            take_profit = engine.tracker.get(placed.take_profit.id)
            assert stop_loss is not None and take_profit is not None
            quote(venue, "99.00", "99.01")
            await until(lambda: stop_loss.state is OrderState.FILLED)
            await until(lambda: take_profit.state.is_terminal)
            await engine.close()
            assert take_profit.state is OrderState.CANCELLED
            assert (take_profit.filled_quantity, stop_loss.filled_quantity) == (D(3), D(7))
            assert position(venue) == start
            assert_journal_matches_ledger(journal, venue.control.ledger)
    asyncio.run(main())
