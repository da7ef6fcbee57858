"""Runs: a plan (or one CLI order) journaled with its intent, resumed instead of traded twice.

In one process, on the mock: a run that is stopped part-way (halted, as the CLI's first
interrupt does) is resumed by running the same plan again; what filled is not traded
again, what was left working is cancelled first, and what is left is sized from what
filled (against the target fixed before the first order, not a fresh sizing). A finished
plan is refused unless asked again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.helpers import flat
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit.engine import Engine
from venuekit.errors import Code, VenueKitError
from venuekit.journal.runs import RunItem
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest, OrderState, Side
from venuekit.plugins import PluginHost
from venuekit.rebalance import ItemStatus, Rebalancer, parse_plan
from venuekit.rebalance.executor import run_items
from venuekit.runs import RunKind, RunLink, RunState, linked
from venuekit.runs.book import ItemProgress, RunBook, plan_hash
from venuekit.runs.single import execute_order
from venuekit.settlement import SettlementOptions
from venuekit_mock import MockVenue

T = TypeVar("T")
D = Decimal
FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.2, late_grace=0.02)
PLAN = parse_plan({"correlation_id": "runs", "items": [
    {"symbol": "AAA", "action": "SELL", "quantity": "10"},
    {"symbol": "BBB", "action": "BUY", "notional": "1000"},
    {"symbol": "CCC", "action": "HOLD"}]})


def venue() -> MockVenue:
    return MockVenue(seed=2, symbols=[flat("AAA", "50.005"), flat("BBB", "20.005"),
                                      flat("CCC", "80.005")], cash=D(10**6))


def session(journal: SQLiteJournal, mock: MockVenue,
            body: Callable[[Engine], Awaitable[T]]) -> T:
    """One process's work: an engine started on the journal, ``body``, closed."""
    async def main() -> T:
        async with Engine(mock, journal, settlement=FAST,
                          host=PluginHost(load_entry_points=False)) as engine:
            return await body(engine)
    return asyncio.run(main())


async def halted_when(engine: Engine, ready: Callable[[], bool], work: Awaitable[T]) -> T:
    """Run ``work``; halt the engine (as a first interrupt does) once ``ready()``."""
    task = asyncio.ensure_future(work)
    while not ready():
        await asyncio.sleep(0.01)
    await engine.halt("interrupted by the test")
    return await task


def test_a_plan_runs_once_and_its_orders_serve_its_items(tmp_path: Path) -> None:
    mock = venue()
    mock.control.set_position("AAA", 30, "50")
    with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
        report = session(journal, mock, lambda e: Rebalancer(e).run(PLAN))
        assert report.complete and report.run_id and not report.resumed
        run = journal.get_run(report.run_id)
        assert run is not None and run.state is RunState.FINISHED
        assert run.kind is RunKind.REBALANCE and run.correlation_id == "runs"
        assert [(i.symbol, i.action, i.status) for i in run.items] == [
            ("AAA", "SELL", "completed"), ("BBB", "BUY", "completed"), ("CCC", "HOLD", "held")]
        assert run.item(0).target == 10 and run.item(1).target == 49  # 1000 at the ask 20.01
        orders = journal.orders(run_id=run.id)
        assert sorted((o.symbol, o.run_item) for o in orders) == [("AAA", 0), ("BBB", 1)]

        with pytest.raises(VenueKitError) as refused:
            session(journal, mock, lambda e: Rebalancer(e).run(PLAN))
        assert refused.value.code is Code.RUN_FINISHED
        assert run.id in refused.value.message and "--again" in refused.value.message
        assert len(mock.control.ledger.orders) == 2, "nothing was sent"

        again = session(journal, mock, lambda e: Rebalancer(e).run(PLAN, again=True))
        assert again.run_id != run.id and again.complete
        assert len(journal.runs()) == 2
        assert_journal_matches_ledger(journal, mock.control.ledger)


def test_a_halted_plan_resumes_with_what_is_left(tmp_path: Path) -> None:
    mock = venue()
    mock.control.set_position("AAA", 30, "50")
    with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
        # First session: the sell rests at the ask; 4 of its 10 fill, then the interrupt.
        async def first(engine: Engine) -> Any:
            rebalancer = Rebalancer(engine, strategy="limit", strategy_options={"timeout": 60})

            def four_filled() -> bool:
                working = [o for o in engine.tracker.open_orders() if o.venue_order_id]
                if working and working[0].filled_quantity == 0:
                    mock.control.set_quote("AAA", "50.01", "50.02", bid_size="4")
                return bool(working) and working[0].filled_quantity == 4

            return await halted_when(engine, four_filled, rebalancer.run(PLAN))

        interrupted = session(journal, mock, first)
        assert interrupted.interrupted == "interrupted by the test"
        sell, buy, _ = interrupted.items
        assert (sell.status, sell.filled_quantity) == (ItemStatus.INTERRUPTED, 4)
        assert buy.status is ItemStatus.INTERRUPTED and buy.note
        run = journal.get_run(interrupted.run_id or "")
        assert run is not None and run.state is RunState.INTERRUPTED
        assert run.item(1).target is None, "the buys were never sized"

        # The market moves before the plan runs again: the notional buy is sized now.
        mock.control.advance()  # the books refill
        mock.control.set_quote("BBB", "24.99", "25.00")
        resumed = session(journal, mock, lambda e: Rebalancer(e).run(PLAN))
        assert resumed.resumed and resumed.run_id == run.id and resumed.complete
        sell, buy, _ = resumed.items
        assert (sell.earlier_quantity, sell.filled_quantity, sell.requested_quantity) == (
            4, 6, 6)
        assert sell.total_quantity == 10 and sell.drift == 0
        assert buy.filled_quantity == 40  # 1000 at the ask of 25.00
        run = journal.get_run(run.id)
        assert run is not None and run.state is RunState.FINISHED and run.sessions == 2
        ledger = mock.control.ledger
        sold = sum(f.quantity for f in ledger.fills if f.side is Side.SELL)
        assert sold == 10, "what filled before the interrupt is not sold again"
        assert_journal_matches_ledger(journal, ledger)


def test_a_resumed_buy_trades_what_is_left_of_its_target(tmp_path: Path) -> None:
    mock = venue()
    plan = parse_plan({"items": [{"symbol": "BBB", "action": "BUY", "notional": "1000"}]})
    with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
        async def first(engine: Engine) -> Any:
            rebalancer = Rebalancer(engine, strategy="limit", strategy_options={"timeout": 60})

            def partly_filled() -> bool:
                working = [o for o in engine.tracker.open_orders() if o.venue_order_id]
                if working and working[0].filled_quantity == 0:
                    mock.control.set_quote("BBB", "19.98", "19.99", ask_size="9")
                return bool(working) and working[0].filled_quantity == 9

            return await halted_when(engine, partly_filled, rebalancer.run(plan))

        interrupted = session(journal, mock, first)
        run = journal.get_run(interrupted.run_id or "")
        assert run is not None and run.item(0).target == 49  # 1000 at the ask 20.01
        # Dearer now: a fresh sizing would buy 1000 / 40.01 = 24; the run buys what is
        # left of its target, 49 - 9.
        mock.control.advance()
        mock.control.set_quote("BBB", "40.00", "40.01")
        resumed = session(journal, mock, lambda e: Rebalancer(e).run(plan))
        [item] = resumed.items
        assert (item.earlier_quantity, item.requested_quantity, item.filled_quantity) == (
            9, 40, 40)
        bought = sum(f.quantity for f in mock.control.ledger.fills)
        assert bought == 49


def test_resuming_cancels_what_the_dead_session_left_working(tmp_path: Path) -> None:
    mock = venue()
    plan = parse_plan({"items": [{"symbol": "BBB", "action": "BUY", "quantity": "8"}]})
    with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
        # What a session that died leaves: its run RUNNING under another process, and its
        # order for the item resting at the venue, 3 of 8 filled.
        async def dies(engine: Engine) -> str:
            book = RunBook(journal, "mock")
            start = book.start(RunKind.REBALANCE, run_items(plan), strategy="limit")
            run = book.record_targets(start, {0: D(8)})
            with linked(RunLink(run.id, 0)):
                order = await engine.submit(OrderRequest(
                    symbol="BBB", side="buy", quantity=D(8), order_type="limit",
                    limit_price=D("20.00")))
            mock.control.set_quote("BBB", "19.98", "19.99", ask_size="3")
            while order.filled_quantity < 3:
                await asyncio.sleep(0.01)
            return run.id

        run_id = session(journal, mock, dies)
        journal.update_run(run_id, resumed_by="pid 1 on a host that is gone")
        assert len(mock.simulator.open_orders()) == 1
        mock.control.set_quote("BBB", "20.00", "20.01")  # away from the resting buy
        resumed = session(journal, mock, lambda e: Rebalancer(e, strategy="market").run(plan))
        assert resumed.resumed and resumed.complete
        [item] = resumed.items
        assert (item.earlier_quantity, item.filled_quantity) == (3, 5)
        ledger = mock.control.ledger
        assert len(ledger.cancels) == 1, "the dead session's order was cancelled first"
        assert sum(f.quantity for f in ledger.fills) == 8
        assert mock.simulator.open_orders() == []
        assert_journal_matches_ledger(journal, ledger)


def test_a_dry_run_shows_the_resume_and_sends_nothing(tmp_path: Path) -> None:
    mock = venue()
    mock.control.set_position("AAA", 30, "50")
    with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
        async def first(engine: Engine) -> Any:
            rebalancer = Rebalancer(engine, strategy="limit", strategy_options={"timeout": 60})

            def resting() -> bool:
                return bool([o for o in engine.tracker.open_orders() if o.venue_order_id])

            return await halted_when(engine, resting, rebalancer.run(PLAN))

        interrupted = session(journal, mock, first)
        sent = len(mock.control.ledger.orders)
        priced = session(journal, mock, lambda e: Rebalancer(e).run(PLAN, dry_run=True))
        assert priced.dry_run and priced.resumed and priced.run_id == interrupted.run_id
        assert len(mock.control.ledger.orders) == sent
        run = journal.get_run(interrupted.run_id or "")
        assert run is not None and run.state is RunState.INTERRUPTED and run.sessions == 1


def test_one_order_is_a_run_resumed_until_it_finishes(tmp_path: Path) -> None:
    mock = venue()
    request = OrderRequest(symbol="AAA", side="buy", quantity=D(10), order_type="limit",
                           limit_price=D("50.00"))
    with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
        async def first(engine: Engine) -> Any:
            def three_filled() -> bool:
                working = [o for o in engine.tracker.open_orders() if o.venue_order_id]
                if working and working[0].filled_quantity == 0:
                    mock.control.set_quote("AAA", "49.98", "49.99", ask_size="3")
                return bool(working) and working[0].filled_quantity == 3

            return await halted_when(engine, three_filled,
                                     execute_order(engine, request, "limit", timeout=60))

        halted = session(journal, mock, first)
        assert halted.filled_quantity == 3 and not halted.complete
        assert halted.run.kind is RunKind.ORDER
        mock.control.advance()
        mock.control.set_quote("AAA", "49.98", "49.99")  # the market comes to the limit
        resumed = session(journal, mock,
                          lambda e: execute_order(e, request, "limit", timeout=5))
        assert resumed.resumed and resumed.run.id == halted.run.id
        assert resumed.earlier is not None and resumed.earlier.filled == 3
        assert resumed.result is not None and resumed.result.request.quantity == 7
        assert resumed.complete and resumed.filled_quantity == 10
        # Finished: the same order again is a new order, not a refusal.
        later = session(journal, mock, lambda e: execute_order(e, request, "limit",
                                                                timeout=5))
        assert later.run.id != halted.run.id and not later.resumed
        assert sum(f.quantity for f in mock.control.ledger.fills) == 20


def test_the_plan_hash_is_the_intent_not_the_text() -> None:
    def items(*rows: tuple[str, str, str]) -> list[RunItem]:
        return [RunItem(index=i, symbol=s, action=a, quantity=D(q))
                for i, (s, a, q) in enumerate(rows)]

    one = plan_hash(RunKind.REBALANCE, items(("A", "BUY", "10"), ("B", "SELL", "2.50")), None)
    same = plan_hash(RunKind.REBALANCE, items(("B", "SELL", "2.5"), ("A", "BUY", "10.0")), None)
    assert one == same
    assert one != plan_hash(RunKind.REBALANCE, items(("A", "BUY", "11"), ("B", "SELL", "2.5")),
                            None)
    assert one != plan_hash(RunKind.REBALANCE, items(("A", "BUY", "10"), ("B", "SELL", "2.5")),
                            "another day")
    assert one != plan_hash(RunKind.ORDER, items(("A", "BUY", "10"), ("B", "SELL", "2.5")), None)


def test_what_is_left_counts_an_unsettled_order_as_filled() -> None:
    from venuekit.model import Order

    item = RunItem(index=0, symbol="A", action="BUY", quantity=D(10), target=D(10))
    request = OrderRequest(symbol="A", side="buy", quantity=D(6))
    unknown = Order(id="t-1", venue="mock", request=request, quantity=D(6),
                    state=OrderState.SUBMITTED)
    filled = Order(id="t-2", venue="mock", request=request, quantity=D(4),
                   state=OrderState.FILLED, filled_quantity=D(4), filled_notional=D(40))
    progress = ItemProgress(item, [unknown, filled])
    assert (progress.filled, progress.unsettled, progress.left(D(10))) == (4, 6, 0)
