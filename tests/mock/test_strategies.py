"""Strategies end to end on the mock: market, limit with timeout, aggressive limit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.helpers import StreamEndsEarly, flat
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit.engine import Engine
from venuekit.errors import Code, error
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import Order, OrderRequest, OrderState, Quote
from venuekit.plugins import PluginHost
from venuekit.settlement import SettlementOptions
from venuekit.strategies import run_strategy
from venuekit_mock import MockVenue

T = TypeVar("T")
FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.1, late_grace=0.01)


def on_mock(tmp_path: Path, body: Callable[[Engine, MockVenue], Awaitable[T]], *,
            venue_class: type[MockVenue] = MockVenue, **options: Any) -> T:
    async def main() -> T:
        venue = venue_class(**{"seed": 2, "symbols": [flat("XYZ", size="100")], **options})
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            engine = Engine(venue, journal, host=PluginHost(load_entry_points=False),
                            settlement=FAST)
            await engine.start()
            try:
                return await body(engine, venue)
            finally:
                await engine.close()
                assert_journal_matches_ledger(journal, venue.control.ledger)
    return asyncio.run(main())


def buy(quantity: str, **kw: Any) -> OrderRequest:
    return OrderRequest(symbol="XYZ", side="buy", quantity=Decimal(quantity), **kw)


def test_market_fills_and_reports(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        result = await run_strategy(engine, buy("10"))
        assert result.state is OrderState.FILLED
        assert result.filled_quantity == Decimal(10)
        assert result.average_price == Decimal("100.01")
        assert result.order_id and result.attempts == 1
    on_mock(tmp_path, body)


def test_a_final_state_from_the_stream_is_confirmed_over_rest(tmp_path: Path) -> None:
    # 100 shown: a 150 market buy takes 100 at once and the stream wrongly calls it
    # cancelled there; the venue fills the other 50 at the next step.
    async def body(engine: Engine, venue: MockVenue) -> None:
        confirmed = await run_strategy(engine, buy("150"))
        assert confirmed.state is OrderState.FILLED and confirmed.unconfirmed == []
        assert confirmed.filled_quantity == Decimal(150)
    on_mock(tmp_path, body, venue_class=StreamEndsEarly)


def test_a_filled_order_is_never_left_to_confirm(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        result = await run_strategy(engine, buy("10"), confirm=False)
        assert result.state is OrderState.FILLED and result.filled_quantity == Decimal(10)
        assert result.unconfirmed == []  # its fills add up to its quantity: nothing can change
    on_mock(tmp_path, body)


def test_without_confirmation_the_caller_confirms_later(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        result = await run_strategy(engine, buy("150"), confirm=False)
        [order] = result.orders
        assert result.unconfirmed == [order]
        assert order.state is OrderState.CANCELLED  # the stream's word, not yet checked
        assert result.filled_quantity == Decimal(100)
        await result.confirm(engine)
        assert result.unconfirmed == []
        assert result.state is OrderState.FILLED and order.state is OrderState.FILLED
        assert result.filled_quantity == Decimal(150)
        assert sum(f.quantity for f in venue.control.ledger.fills_for(order.id)) == 150
        steps = venue.simulator.step_index  # every lookup steps this venue's market
        await result.confirm(engine)  # nothing left to confirm: no lookup
        assert venue.simulator.step_index == steps
    on_mock(tmp_path, body, venue_class=StreamEndsEarly)


def test_on_order_hears_each_order_journaled_and_not_yet_sent(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        heard: list[tuple[Order, OrderState, int]] = []
        result = await run_strategy(engine, buy("10"), on_order=lambda order: heard.append(
            (order, order.state, len(venue.control.ledger.orders))))
        [(order, state, at_venue)] = heard
        assert order is result.orders[0] and result.state is OrderState.FILLED
        assert (state, at_venue) == (OrderState.SUBMITTED, 0)
    on_mock(tmp_path, body)


def test_limit_times_out_only_after_the_venue_confirms_the_cancel(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        result = await run_strategy(engine, buy("5", order_type="limit", limit_price="99.50"),
                                      "limit", timeout=0.2)
        assert result.state is OrderState.TIMEOUT
        assert result.filled_quantity == 0
        [order] = result.orders
        assert [e.kind for e in order.history][-2:] == ["cancel_request", "timeout"]
        assert venue.control.ledger.cancels, "the venue really cancelled it"
    on_mock(tmp_path, body)


def test_aggressive_limit_falls_back_to_market_when_the_budget_ends(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        result = await run_strategy(engine, buy("30"), "aggressive-limit", budget=0.3,
                                      interval=0.1, pricer="touch", policy="disabled")
        assert result.state is OrderState.FILLED
        assert result.orders[0].state is OrderState.CANCELLED
        assert result.orders[-1].request.order_type.value == "market"
        assert result.filled_quantity == Decimal(30)
    on_mock(tmp_path, body)


def test_aggressive_limit_reprices_from_confirmed_fills(tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        result = await run_strategy(engine, buy("20"), "aggressive-limit", budget=2.0,
                                      interval=0.05, pricer="touch", policy="aggressive",
                                      market_fallback=False)
        assert result.repegs >= 1
        assert result.filled_quantity == Decimal(20)
        total = sum((o.quantity or 0 for o in result.orders[1:]), Decimal(0))
        assert all(o.filled_quantity <= (o.quantity or 0) for o in result.orders)
        assert total <= Decimal(20)
    on_mock(tmp_path, body)


def test_slippage_guard_falls_back_to_a_marketable_limit_when_the_book_is_wide(
        tmp_path: Path) -> None:
    async def body(engine: Engine, venue: MockVenue) -> None:
        venue.control.set_quote("XYZ", "99.00", "101.00")  # crossing costs 100 bps
        guarded = await run_strategy(engine, buy("5"), max_slippage_bps="20", timeout=0.2)
        [order] = guarded.orders
        assert order.request.order_type.value == "limit"
        assert order.limit_price == Decimal("100.20")  # mid + 20 bps, never beyond
        assert guarded.state is OrderState.TIMEOUT and guarded.filled_quantity == 0
        assert guarded.note is not None and "guard" in guarded.note
        loose = await run_strategy(engine, buy("5"), max_slippage_bps="150")
        assert loose.orders[0].request.order_type.value == "market"
        assert loose.state is OrderState.FILLED and loose.average_price == Decimal("101.00")
    on_mock(tmp_path, body)


def test_a_repeg_refused_inside_the_visibility_delay_keeps_working_the_order(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The venue shows a new order only after a delay and answers not-found before: a
    re-peg sent then does not happen, which is no news about the order. The strategy
    keeps following it and re-pegs once the venue shows it, then ends at its deadline,
    instead of raising and leaving the order working without one."""
    async def body(engine: Engine, venue: MockVenue) -> None:
        result = await run_strategy(engine, buy("20"), "aggressive-limit", budget=1.0,
                                      interval=0.03, pricer="touch", policy="aggressive",
                                      market_fallback=False)
        first, replacement = result.orders
        assert first.limit_price == Decimal("100.00")
        assert replacement.limit_price == Decimal("100.01")
        assert first.state is OrderState.REPLACED and replacement.state is OrderState.TIMEOUT
        assert result.repegs == 1 and result.state is OrderState.TIMEOUT
    caplog.set_level(logging.WARNING, logger="venuekit.engine")
    # Ten ticks wide (100.00 / 100.10): one tick better than the bid never fills.
    on_mock(tmp_path, body, visibility_delay=0.3,
            symbols=[flat("XYZ", price="100.05", spread_ticks=10, size="100")])
    refused = [r for r in caplog.records if r.getMessage() == "replace did not happen"]
    assert refused and all(getattr(r, "code", None) == "ORDER_NOT_FOUND" for r in refused)


class QuotesDown(MockVenue):
    """Answers no quote while ``down`` (every retry fails too)."""

    down = False

    async def quote(self, symbol: str) -> Quote:
        if self.down:
            raise error(Code.VENUE_ERROR, "quote: service unavailable", venue=self.name)
        return await super().quote(symbol)


def test_a_re_peg_without_a_quote_keeps_the_order_until_the_deadline(tmp_path: Path) -> None:
    """Quotes that fail past their retries during the re-peg loop are no reason to abandon
    the working order: it is kept, and the deadline still ends it (confirmed cancel)."""
    async def body(engine: Engine, venue: MockVenue) -> None:
        assert isinstance(venue, QuotesDown)
        result_task = asyncio.create_task(run_strategy(engine,
            buy("20"), "aggressive-limit", budget=0.6, interval=0.03, pricer="touch",
            policy="aggressive", market_fallback=False,
            arrival=await engine.quote("XYZ")))
        await asyncio.sleep(0)
        venue.down = True
        result = await result_task
        (order,) = result.orders
        assert order.state is OrderState.TIMEOUT and result.repegs == 0
        assert venue.control.ledger.cancels, "the venue really cancelled it"
    on_mock(tmp_path, body, venue_class=QuotesDown,
            symbols=[flat("XYZ", price="100.05", spread_ticks=10, size="100")])
