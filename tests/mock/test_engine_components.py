"""The engine with plugins: observers, custom pricers and policies, polling-only venues,
and the synchronous entry for scripts."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import venuekit
from tests.support.helpers import flat
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit import hookimpl
from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import Instrument, OrderRequest, OrderState, Quote, Side
from venuekit.plugins import OrderEventRecord, PluginHost
from venuekit.quantize import round_price
from venuekit.repeg import RepegContext, RepegDecision
from venuekit.settlement import PollingReconciler, SettlementOptions
from venuekit.strategies import run_strategy
from venuekit_mock import MockVenue

FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.1, late_grace=0.01)


class Recorder:
    def __init__(self) -> None:
        self.events: list[OrderEventRecord] = []

    @hookimpl
    def venuekit_order_event(self, event: OrderEventRecord) -> None:
        self.events.append(event)


class OneTickBelowMid:
    def price(self, quote: Quote, side: Side, instrument: Instrument) -> Decimal:
        return round_price(instrument, quote.mid - instrument.tick_size, side)


class CrossAfterOne:
    """Keeps the first interval, then crosses to the ask."""

    def decide(self, ctx: RepegContext) -> RepegDecision:
        if ctx.attempt == 0 and ctx.elapsed > 0.05:
            return RepegDecision.reprice(ctx.quote.ask, "cross now")
        return RepegDecision.keep("wait")


class Components:
    @hookimpl
    def venuekit_register_pricers(self, register: Any) -> None:
        register("one-below-mid", OneTickBelowMid)

    @hookimpl
    def venuekit_register_repeg_policies(self, register: Any) -> None:
        register("cross-after-one", CrossAfterOne)


def run_engine(tmp_path: Path, host: PluginHost, venue: MockVenue, request: OrderRequest,
               strategy: str, **options: Any) -> tuple[Any, MockVenue]:
    async def main() -> Any:
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            async with Engine(venue, journal, host=host, settlement=FAST) as engine:
                result = await run_strategy(engine, request, strategy, **options)
                kind = type(engine.settlement)
            assert_journal_matches_ledger(journal, venue.control.ledger)
            return result, kind
    return asyncio.run(main())


def test_lifecycle_events_reach_observers_in_order(tmp_path: Path) -> None:
    host = PluginHost(load_entry_points=False)
    recorder = Recorder()
    host.register(recorder, name="recorder")
    try:
        result, _ = run_engine(tmp_path, host, MockVenue(seed=1),
                               OrderRequest(symbol="AAPL", side="buy", quantity=Decimal(5)),
                               "market")
    finally:
        host.unregister(recorder)
    mine = [e for e in recorder.events if e.order_id == result.order_id]
    # The venue's own order: its stream reports the ack, then the fill with its trade id.
    assert [e.kind for e in mine] == ["submit", "ack", "fill"]
    assert [e.seq for e in mine] == sorted(e.seq for e in mine)
    assert mine[-1].state is OrderState.FILLED and mine[-1].fill is not None
    assert mine[0].previous_state is OrderState.NEW


def test_a_plugins_pricer_and_policy_drive_a_strategy(tmp_path: Path) -> None:
    host = PluginHost(load_entry_points=False)
    plugin = Components()
    host.register(plugin, name="components")
    try:
        venue = MockVenue(seed=1, symbols=[flat("XYZ", price="100.005", size="1000")])
        result, _ = run_engine(
            tmp_path, host, venue, OrderRequest(symbol="XYZ", side="buy", quantity=Decimal(10)),
            "aggressive-limit", pricer="one-below-mid", policy="cross-after-one",
            budget=2.0, interval=0.05, market_fallback=False)
    finally:
        host.unregister(plugin)
    first, second = result.orders
    assert first.limit_price == Decimal("99.99")  # the plugin pricer: one tick below the mid
    assert second.limit_price == Decimal("100.01")  # the plugin policy: cross to the ask
    assert result.state is OrderState.FILLED and result.repegs == 1


def test_a_venue_without_a_stream_is_settled_by_polling(tmp_path: Path) -> None:
    venue = MockVenue(seed=1, order_stream=False,
                      symbols=[flat("XYZ", price="100.005", size="1000")])
    request = OrderRequest(symbol="XYZ", side="buy", quantity=Decimal(10), order_type="limit",
                           limit_price=Decimal("100.00"))

    async def main() -> tuple[OrderState, type]:
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            async with Engine(venue, journal, settlement=FAST) as engine:
                order = await engine.submit(request)
                venue.control.set_quote("XYZ", "99.98", "99.99")  # the market comes to us
                await engine.settle(order, timeout=5)
                return order.state, type(engine.settlement)

    state, kind = asyncio.run(main())
    assert kind is PollingReconciler
    assert state is OrderState.FILLED


def test_synchronous_entry_for_scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                       ) -> None:
    monkeypatch.chdir(tmp_path)
    result = venuekit.execute(OrderRequest(symbol="MSFT", side="buy", quantity=Decimal(2)),
                              venue=MockVenue(seed=4), journal=tmp_path / "script.sqlite3")
    assert result.state is OrderState.FILLED and result.order_id
    with SQLiteJournal(tmp_path / "script.sqlite3", readonly=True) as journal:
        assert [o.id for o in journal.orders()] == [result.order_id]
