"""The tracker keeps open orders only; late events still reach finished orders and the journal.

A long-running engine must not hold every order it ever placed, yet a fill that arrives
after an order was cancelled is real money and must be recorded. And fills that a create's
answer shows are taken from the order stream (itemized, with trade ids) before REST is
asked.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from tests.support.helpers import count_calls
from venuekit import tracking
from venuekit.engine import Engine
from venuekit.journal.ids import ClientIdRules
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.lifecycle import EventKind
from venuekit.model import (
    Fill,
    Order,
    OrderRequest,
    OrderSnapshot,
    OrderState,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
)
from venuekit.outcome import OutcomePolicy
from venuekit.plugins import PluginHost
from venuekit.settlement import SettlementOptions
from venuekit.strategies import run_strategy
from venuekit_mock import MockVenue

from .helpers import flat
from .journal_truth import assert_journal_matches_ledger

T = TypeVar("T")
D = Decimal
FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.1, late_grace=0.01)


def on_mock(tmp_path: Path, body: Callable[[Engine, MockVenue, SQLiteJournal], Awaitable[T]],
            *, policy: OutcomePolicy | None = None, **venue_options: Any) -> T:
    async def main() -> T:
        venue = MockVenue(seed=5, symbols=[flat("XYZ", size="1000")], **venue_options)
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            engine = Engine(venue, journal, host=PluginHost(load_entry_points=False),
                            settlement=FAST, policy=policy)
            await engine.start()
            try:
                return await asyncio.wait_for(body(engine, venue, journal), 20)
            finally:
                await engine.close()
    return asyncio.run(main())


def market(side: Side = Side.BUY, quantity: str = "1") -> OrderRequest:
    return OrderRequest(symbol="XYZ", side=side, quantity=D(quantity))


def resting(quantity: str = "10") -> OrderRequest:
    return OrderRequest(symbol="XYZ", side=Side.BUY, quantity=D(quantity),
                        order_type=OrderType.LIMIT, limit_price=D("99.00"),
                        time_in_force=TimeInForce.GTC)


def late_fill(order: Order, trade_id: str, quantity: str) -> OrderUpdate:
    """What a venue's stream sends when an execution raced the cancel it already confirmed."""
    assert order.venue_order_id is not None
    snapshot = OrderSnapshot(venue_order_id=order.venue_order_id, client_order_id=order.id,
                             symbol=order.symbol, side=order.side, order_type=OrderType.LIMIT,
                             state=OrderState.CANCELLED, quantity=order.quantity,
                             limit_price=order.limit_price, filled_quantity=D(quantity))
    fill = Fill(trade_id=trade_id, symbol=order.symbol, side=order.side, quantity=D(quantity),
                price=D("99.00"), at=datetime.now(UTC), venue_order_id=order.venue_order_id,
                client_order_id=order.id)
    return OrderUpdate(order=snapshot, fill=fill)


def test_finished_orders_leave_the_tracker_and_open_ones_stay(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue, journal: SQLiteJournal) -> None:
        working = [await engine.submit(resting()) for _ in range(3)]
        for i in range(40):
            order = await run_strategy(engine, market(Side.BUY if i % 2 == 0 else Side.SELL),
                                         "market")
            assert order.state is OrderState.FILLED
        cancelled = await engine.submit(resting())
        await engine.cancel(cancelled, as_timeout=True)
        assert cancelled.state is OrderState.TIMEOUT
        await asyncio.sleep(0.05)  # the stream's late copies of every update arrive
        assert sorted(o.id for o in engine.tracker) == sorted(o.id for o in working)
        assert len(engine.tracker) == 3
        assert engine.tracker.cancel_as == {} and engine.tracker.replacements == {}
        assert_journal_matches_ledger(journal, venue.control.ledger)
    on_mock(tmp_path, body, cash="1000000")


def test_a_late_fill_reaches_a_finished_order_its_caller_still_holds(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue, journal: SQLiteJournal) -> None:
        order = await engine.submit(resting())
        await engine.cancel(order)
        assert order.state is OrderState.CANCELLED and len(engine.tracker) == 0
        engine.settlement.on_update(late_fill(order, "late-1", "4"))  # type: ignore[attr-defined]
        assert order.filled_quantity == 4 and order.state is OrderState.CANCELLED
        # Committed at once: recovery never revisits an order the journal holds as ended.
        assert not journal.pending
        with SQLiteJournal(journal.path, readonly=True) as reader:
            stored = reader.get(order.id)
        assert stored is not None and stored.filled_quantity == 4
        assert [f.trade_id for f in stored.fills] == ["late-1"]
    on_mock(tmp_path, body)


def test_a_late_fill_for_an_order_nobody_holds_is_found_in_the_journal(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue, journal: SQLiteJournal) -> None:
        order = await engine.submit(resting())
        await engine.cancel(order)
        update = late_fill(order, "late-2", "10")
        order_id = order.id
        del order
        await asyncio.sleep(0.01)  # the event loop lets go of what it still referenced
        gc.collect()
        assert engine.tracker.find(client_order_id=order_id) is None
        engine.settlement.on_update(update)  # type: ignore[attr-defined]
        with SQLiteJournal(journal.path, readonly=True) as reader:
            stored = reader.get(order_id)
        assert stored is not None
        # A late fill that completes the order makes it FILLED (see the lifecycle).
        assert stored.state is OrderState.FILLED and stored.filled_quantity == 10
        assert [f.trade_id for f in reader_fills(journal)] == ["late-2"]
        assert len(engine.tracker) == 0
    on_mock(tmp_path, body)


def reader_fills(journal: SQLiteJournal) -> list[Fill]:
    with SQLiteJournal(journal.path, readonly=True) as reader:
        return reader.fills()


def test_fills_of_orders_never_seen_are_buffered_within_a_bound(tmp_path: Path,
                                                                monkeypatch: Any) -> None:
    monkeypatch.setattr(tracking, "MAX_BUFFERED", 4)

    async def body(engine: Engine, venue: MockVenue, journal: SQLiteJournal) -> None:
        for i in range(10):  # another process's orders on the same account
            engine.tracker.on_fill(Fill(trade_id=f"x-{i}", symbol="XYZ", side=Side.BUY,
                                        quantity=D(1), price=D(100), venue_order_id=f"V{i}",
                                        client_order_id=f"other-{i}"))
        assert len(engine.tracker._buffered) <= 4
        assert reader_fills(journal) == []
    on_mock(tmp_path, body)



def test_a_market_orders_fills_come_from_the_stream_not_rest(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue, journal: SQLiteJournal) -> None:
        fetches = count_calls(venue, "fills_since")
        order = await engine.submit(market(quantity="5"))
        assert order.state is OrderState.FILLED
        assert fetches == [0]
        assert [f.inferred for f in order.fills] == [False]
        assert order.trade_ids == [f.trade_id for f in venue.control.ledger.fills]
        assert_journal_matches_ledger(journal, venue.control.ledger)
    on_mock(tmp_path, body)


def test_a_silent_stream_falls_back_to_rest_without_double_counting(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue, journal: SQLiteJournal) -> None:
        fetches = count_calls(venue, "fills_since")
        order = await engine.submit(market(quantity="5"))
        # The stream is slower than the policy waits: REST itemizes the fill.
        assert order.state is OrderState.FILLED and fetches == [1]
        await asyncio.sleep(0.4)  # the stream's copy arrives and is recognised
        assert order.filled_quantity == 5 and len(order.fills) == 1
        assert engine.tracker.overfills == [] and engine.tracker.duplicate_executions == []
        assert_journal_matches_ledger(journal, venue.control.ledger)
    on_mock(tmp_path, body, stream_delay=0.3, policy=OutcomePolicy(stream_fill_wait=0.05))


def test_finished_orders_nobody_holds_leave_no_trace_in_the_tracker(tmp_path: Path,
                                                                     monkeypatch: Any) -> None:
    """Memory follows the orders still open or still held, not every order ever finished."""
    monkeypatch.setattr(tracking, "SWEEP_RETIRED", 10)
    with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
        tracker = tracking.OrderTracker("mock", journal)
        rules = ClientIdRules()

        def finished(i: int) -> Order:
            order = journal.create_order("mock", market(), id_rules=rules, submitted=True)
            tracker.track(order)
            tracker.set_venue_order_id(order, f"V{i}")
            tracker.apply(order, EventKind.CANCELLED)
            assert order.state is OrderState.CANCELLED and len(tracker) == 0
            return order

        held = finished(0)
        for i in range(1, 200):
            finished(i)  # dropped at once: nothing holds it
        gc.collect()
        retired = len(tracker._retired) + len(tracker._retired_by_venue_id)
        assert retired <= 2 * 10 + 2
        # The order still held is found by either id, through every sweep.
        assert tracker.find(client_order_id=held.id) is held
        assert tracker.find(venue_order_id="V0") is held
        journal.flush()
