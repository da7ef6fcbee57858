"""Rebalancing end to end on the mock: exact reports, SELL before BUY, scaling, dry runs."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import StreamEndsEarly, flat
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit.engine import Engine
from venuekit.errors import Code, VenueKitError, error
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import Account, OrderRequest, OrderSnapshot, Quote
from venuekit.plugins import PluginHost
from venuekit.rebalance import Action, ItemStatus, Rebalancer, RebalanceReport, parse_plan
from venuekit.settlement import SettlementOptions
from venuekit.validation import Finding, PreTradeValidator, ValidationContext
from venuekit_mock import MockVenue, PercentageSlippage

D = Decimal
FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.1, late_grace=0.01)
SYMBOLS = [f"S{i:02d}" for i in range(20)]


def rebalance(tmp_path: Path, venue: MockVenue, plan: dict[str, Any], *,
              dry_run: bool = False, setup: Any = None) -> RebalanceReport:
    async def main() -> RebalanceReport:
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            engine = Engine(venue, journal, host=PluginHost(load_entry_points=False),
                            settlement=FAST, validator=PreTradeValidator())
            await engine.start()
            try:
                if setup is not None:
                    setup(venue)
                return await Rebalancer(engine, strategy_options={"timeout": 10}).run(
                    parse_plan(plan), dry_run=dry_run)
            finally:
                await engine.close()
                assert_journal_matches_ledger(journal, venue.control.ledger)
    return asyncio.run(main())


def test_twenty_symbols_with_partial_fills_and_a_halted_symbol(tmp_path: Path) -> None:
    # 30 displayed per step: the 50-share sells fill 30 then 20 at the next market step.
    # S19 is halted after the listing: its reference data still reads tradable, so the
    # order passes pre-trade validation and the venue rejects it.
    specs = [flat(s, size="30") for s in SYMBOLS[:19]] + [flat("S19")]
    venue = MockVenue(seed=3, symbols=specs, cash="50000", tick_interval=0.01,
                      halted=["S19"])

    def positions(v: MockVenue) -> None:
        for symbol in SYMBOLS[:8]:
            v.control.set_position(symbol, "50", "90")

    plan = {"correlation_id": "twenty", "items": [
        *({"symbol": s, "action": "SELL", "quantity": "50"} for s in SYMBOLS[:8]),
        *({"symbol": s, "action": "BUY", "notional": "2000"} for s in SYMBOLS[8:20])]}
    report = rebalance(tmp_path, venue, plan, setup=positions)

    assert not report.complete and report.success_rate == D("0.95")
    sells, buys = report.items[:8], report.items[8:19]
    for item in sells:
        assert (item.status, item.state, item.filled_quantity, item.average_price) == \
            (ItemStatus.COMPLETED, "filled", D(50), D("100.00"))
        assert item.order_id and item.attempts == 1 and item.drift == 0
    assert any(len(f) > 1 for f in (venue.control.ledger.fills_for(i.order_id or "")
                                    for i in sells)), "partial fills happened"
    for item in buys:  # 2000 / 100.01 rounds down to 19
        assert (item.status, item.requested_quantity, item.filled_quantity,
                item.average_price) == (ItemStatus.COMPLETED, D(19), D(19), D("100.01"))
        assert item.drift == D(19) * D("100.01") - D(2000)
        assert item.slippage_bps == D("0.50")  # the ask against the 100.005 mid
    halted = report.items[19]
    assert (halted.status, halted.state, halted.filled_quantity) == \
        (ItemStatus.REJECTED, "rejected", D(0))
    assert halted.order_id and halted.note and "SYMBOL_HALTED" in halted.note
    assert report.phase(Action.BUY).completed == 11
    data = report.as_dict()
    assert data["phases"]["sell"]["success_rate"] == D(1)
    assert data["phases"]["buy"]["success_rate"] == D("0.9167")
    assert [r.code for r in venue.control.ledger.rejects] == ["SYMBOL_HALTED"]


def test_sells_settle_before_buys_and_worse_sells_scale_the_buys_down(tmp_path: Path) -> None:
    names = ["A", "B", "C", "D", "E", "F"]
    venue = MockVenue(seed=1, symbols=[flat(s, size="1000") for s in names], cash="0",
                      slippage=PercentageSlippage(D(200)))
    plan = {"items": [{"symbol": "A", "action": "SELL", "quantity": "100"},
                      *({"symbol": s, "action": "BUY", "notional": "1998"} for s in names[1:])]}
    report = rebalance(tmp_path, venue, plan,
                       setup=lambda v: v.control.set_position("A", "100", "90"))
    sell, *buys = report.items
    assert sell.status is ItemStatus.COMPLETED and sell.average_price == D("98.00")
    between = report.account_between
    assert between is not None and between.buying_power == D(9800)
    assert report.buy_scale < 1  # the plan expected ~10,000 of proceeds
    assert report.buy_scale == D("0.931931")  # 9,310 (95 % of 9,800) / 9,990 planned
    for buy in buys:  # 1998 / 100.01 x 0.931931 = 18.6, rounded down
        assert buy.status is ItemStatus.COMPLETED and buy.filled_quantity == D(18)
    spent = sum(b.executed_notional + b.fees for b in buys)
    assert spent <= between.buying_power
    ledger = venue.control.ledger
    assert [o.side.value for o in ledger.orders] == ["sell"] + ["buy"] * 5
    last_sell_fill = max(f.at for f in ledger.fills if f.side.value == "sell")
    first_buy_fill = min(f.at for f in ledger.fills if f.side.value == "buy")
    assert last_sell_fill <= first_buy_fill
    assert sell.finished_at is not None
    assert all(b.started_at is not None and sell.finished_at <= b.started_at for b in buys)


def test_buys_are_sized_from_the_account_after_the_sells_are_confirmed(
        tmp_path: Path) -> None:
    # The stream calls the sell cancelled after 30 of 50 (30 shown); the venue fills the
    # other 20 at the next step. The confirmation runs beside the account read, finds the
    # 20, and the account is read again: the buys see all 5,000 of proceeds (on 3,000 they
    # would have been scaled down).
    names = ["B", "C", "D", "E"]
    venue = StreamEndsEarly(seed=1, symbols=[flat("A", size="30"),
                                             *(flat(s, size="1000") for s in names)],
                            cash="0")
    plan = {"items": [{"symbol": "A", "action": "SELL", "quantity": "50"},
                      *({"symbol": s, "action": "BUY", "notional": "1000"} for s in names)]}
    report = rebalance(tmp_path, venue, plan,
                       setup=lambda v: v.control.set_position("A", "50", "90"))
    sell, *buys = report.items
    assert (sell.status, sell.state, sell.filled_quantity) == \
        (ItemStatus.COMPLETED, "filled", D(50))
    assert report.account_between is not None
    assert report.account_between.cash == D(5000)  # not the 3,000 the stream implied
    assert report.buy_scale == 1 and report.buy_budget == D(4750)
    for buy in buys:  # 1000 / 100.01, rounded down
        assert (buy.status, buy.filled_quantity) == (ItemStatus.COMPLETED, D(9))
    assert report.account_after is not None
    assert report.account_after.cash == D(5000) - 4 * D(9) * D("100.01")


class Recording(MockVenue):
    """The mock, noting when each account read starts and each create is answered."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.calls: list[str] = []

    async def account(self) -> Account:
        self.calls.append("account")
        return await super().account()

    async def submit(self, request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        snapshot = await super().submit(request, client_order_id)
        self.calls.append("answered")
        return snapshot


def test_the_account_is_read_while_the_answers_to_the_creates_are_on_their_way(
        tmp_path: Path) -> None:
    # 0.4 s per request, half before the venue acts: the stream reports the fills 0.2 s
    # before the creates are answered, and the final account read starts then.
    venue = Recording(seed=1, symbols=[flat(s) for s in "ABC"], cash="10000", latency=0.4)
    plan = {"items": [{"symbol": s, "action": "BUY", "quantity": "10"} for s in "ABC"]}
    report = rebalance(tmp_path, venue, plan)
    assert report.complete
    assert venue.calls == ["account", "account", "answered", "answered", "answered"]
    assert report.account_after is not None  # and it counts every buy
    assert report.account_after.cash == D(10000) - 30 * D("100.01")


class CountChecks:
    """A pre-trade rule that only counts the orders it has seen."""

    name = "count"

    def __init__(self) -> None:
        self.seen = 0

    def check(self, request: OrderRequest, context: ValidationContext) -> list[Finding]:
        self.seen += 1
        return []


def test_a_phase_starts_in_waves_each_journaled_before_it_is_sent(tmp_path: Path) -> None:
    # Seven buys in waves of three: when the first create reaches the venue, the first wave
    # (and only it) is durable, as sent, and the later waves are not validated yet.
    path = tmp_path / "j.sqlite3"
    counter = CountChecks()
    at_first_send: list[tuple[int, dict[str, str]]] = []

    def accepted(snapshot: OrderSnapshot) -> None:
        if not at_first_send:
            with sqlite3.connect(path) as reader:  # what another process would read
                committed = dict(reader.execute("SELECT id, state FROM orders"))
            at_first_send.append((counter.seen, committed))

    names = [f"W{i}" for i in range(7)]
    venue = MockVenue(seed=2, symbols=[flat(s) for s in names], cash="100000",
                      on_accepted=accepted)

    async def main() -> RebalanceReport:
        with SQLiteJournal(path) as journal:
            validator = PreTradeValidator(extra_rules=[counter])
            async with Engine(venue, journal, host=PluginHost(load_entry_points=False),
                              settlement=FAST, validator=validator) as engine:
                rebalancer = Rebalancer(engine)
                rebalancer.wave = 3
                report = await rebalancer.run(parse_plan({"items": [
                    {"symbol": s, "action": "BUY", "quantity": "5"} for s in names]}))
            assert_journal_matches_ledger(journal, venue.control.ledger)
            return report

    report = asyncio.run(main())
    assert report.complete and len(venue.control.ledger.orders) == 7
    [(validated, committed)] = at_first_send
    assert validated == 3
    first_wave = {item.order_id for item in report.items[:3]}
    assert committed == dict.fromkeys(first_wave, "submitted")


def test_a_wave_of_no_orders_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    venue = MockVenue(seed=2, symbols=[flat("W0")], cash="1000")

    async def main() -> None:
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            async with Engine(venue, journal, host=PluginHost(load_entry_points=False),
                              settlement=FAST) as engine:
                rebalancer = Rebalancer(engine)
                rebalancer.wave = 0
                with pytest.raises(VenueKitError) as raised:
                    await rebalancer.run(parse_plan({"items": [
                        {"symbol": "W0", "action": "BUY", "quantity": "1"}]}))
                assert raised.value.code is Code.INVALID_CONFIG
                assert "Rebalancer.wave" in raised.value.message

    asyncio.run(main())
    assert venue.control.ledger.orders == []


def test_a_cancelled_rebalance_leaves_no_order_running(tmp_path: Path) -> None:
    # Cancelled while its sells are at the venue (0.4 s per request): the executions end
    # with it instead of running on behind the caller's back.
    names = ["C0", "C1", "C2"]
    venue = MockVenue(seed=5, symbols=[flat(s) for s in names], cash="0", latency=0.4)
    for name in names:
        venue.control.set_position(name, "5", "90")

    async def main() -> list[str]:
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            async with Engine(venue, journal, host=PluginHost(load_entry_points=False),
                              settlement=FAST) as engine:
                run = asyncio.ensure_future(Rebalancer(engine).run(parse_plan({"items": [
                    {"symbol": s, "action": "SELL", "quantity": "5"} for s in names]})))
                await asyncio.sleep(0.3)  # validated, journaled and sent; not answered
                run.cancel()
                await asyncio.wait([run], timeout=5)
                assert run.cancelled()
                await asyncio.sleep(0)
                return [task.get_coro().__qualname__ for task in asyncio.all_tasks()
                        if task is not asyncio.current_task()
                        and "_one" in task.get_coro().__qualname__]

    assert asyncio.run(main()) == []


def test_a_dry_run_validates_and_prices_but_sends_nothing(tmp_path: Path) -> None:
    venue = MockVenue(seed=1, symbols=[flat("A"), flat("B")], cash="10000")
    plan = {"items": [{"symbol": "A", "action": "BUY", "notional": "2000"},
                      {"symbol": "B", "action": "BUY", "notional": "5000"}]}
    report = rebalance(tmp_path, venue, plan, dry_run=True)
    first, second = report.items
    assert first.status is ItemStatus.PRICED and first.requested_quantity == D(19)
    assert second.status is ItemStatus.REFUSED  # 50 % of equity: above the 25 % limit
    assert second.note and "CONCENTRATION_LIMIT" in second.note
    assert not venue.control.ledger.orders and not venue.control.ledger.rejects


class Flaky(MockVenue):
    """Every account and quotes read fails once with a retryable error before it answers."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.calls: dict[str, int] = {"account": 0, "quotes": 0}

    def _flake(self, read: str, code: Code) -> None:
        self.calls[read] += 1
        if self.calls[read] % 2 == 1:
            raise error(code, f"{read}: injected", venue=self.name, retry_after=0.01)

    async def account(self) -> Account:
        self._flake("account", Code.RATE_LIMITED)
        return await super().account()

    async def quotes(self, symbols: Sequence[str]) -> Sequence[Quote]:
        self._flake("quotes", Code.TIMEOUT)
        return await super().quotes(symbols)


def test_one_transient_error_on_the_account_or_the_quotes_does_not_end_the_rebalance(
        tmp_path: Path) -> None:
    venue = Flaky(seed=1, symbols=[flat(s) for s in "AB"], cash="10000")
    venue.control.set_position("A", D(10), D("100"))
    plan = {"items": [{"symbol": "A", "action": "SELL", "quantity": "10"},
                      {"symbol": "B", "action": "BUY", "quantity": "10"}]}
    report = rebalance(tmp_path, venue, plan)
    assert report.complete and [i.status for i in report.items] == [ItemStatus.COMPLETED] * 2
    # Read before the sells, between the phases and (the account) after the buys: each
    # read failed once and was made again.
    assert venue.calls["account"] >= 6 and venue.calls["quotes"] >= 4
    assert report.account_after is not None and report.account_after.positions
