"""One client, one journal, two venues: the mock in this process and a real
``venuekit emulate alpaca`` process, traded by the real alpaca-py client over HTTP and the
websocket on 127.0.0.1.

The same strategy code runs unchanged on both venues at once, and a plan across both runs
each venue's sells, then its buys sized to that venue's own buying power. The journal is
held to each venue's own record: the mock's ledger, and the emulator's over its control API.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.journal_truth import WireTruth, assert_journal_matches_ledger, tally
from tests.support.processes import first_line, reap, start_emulate
from venuekit import AsyncClient
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest, OrderState, OrderType, Side
from venuekit.rebalance import Action, ItemStatus
from venuekit.settings import Settings
from venuekit.settlement import SettlementOptions
from venuekit.validation import ValidationRules
from venuekit_mock import MockVenue

D = Decimal
START_TIMEOUT = 30.0
TEST_TIMEOUT = 120.0
FAST = SettlementOptions(poll_min=0.05, poll_max=0.2, silence=0.5, late_grace=0.05)


@dataclass
class Emulator:
    process: subprocess.Popen[str]
    settings: dict[str, str]

    @property
    def options(self) -> dict[str, str]:
        """The alpaca venue's settings pointing at this emulator."""
        return {"base_url": self.settings["APCA_API_BASE_URL"],
                "api_key": self.settings["APCA_API_KEY_ID"],
                "secret_key": self.settings["APCA_API_SECRET_KEY"]}

    def control(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.settings['APCA_API_BASE_URL']}/_venuekit/{path}",
            data=None if body is None else json.dumps(body).encode(),
            method="GET" if body is None else "POST",
            headers={"APCA-API-KEY-ID": self.settings["APCA_API_KEY_ID"],
                     "APCA-API-SECRET-KEY": self.settings["APCA_API_SECRET_KEY"],
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            found: dict[str, Any] = json.loads(answer.read() or b"{}")
        return found

    def ledger(self) -> dict[str, Any]:
        body = self.control("ledger")
        return dict(body.get("ledger", body))


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    process = start_emulate("alpaca", "--port", "0", "--json", "-o", "seed=11",
                            "-o", "cash=20000")
    try:
        info = json.loads(first_line(process, START_TIMEOUT))
        yield Emulator(process, info["client_settings"])
    finally:
        reap(process)


def assert_journal_matches_emulator(journal: SQLiteJournal, emulator: Emulator) -> None:
    ledger = emulator.ledger()
    truth = WireTruth.of(ledger["orders"], ledger["fills"])
    assert {(f.trade_id, f.venue_order_id, f.quantity, f.price)
            for f in journal.fills(venue="alpaca")} == \
        {(f.trade_id, f.venue_order_id, f.quantity, f.price) for f in truth.fills}
    counts = tally(journal, truth, client_order_ids=True, venue="alpaca")
    assert {k: v for k, v in counts.items() if k not in ("intended", "venue_orders")} == \
        dict.fromkeys(("duplicates", "lost_fills", "phantom_fills", "restated_fills",
                       "inferred_fills", "overfills", "underfills", "unresolved"), 0)
    assert ledger["duplicate_client_order_ids"] == {}


def client(tmp_path: Path, mock: MockVenue, emulator: Emulator,
           rules: ValidationRules | None = None) -> AsyncClient:
    return AsyncClient(mock, "alpaca", settlement=FAST, rules=rules,
                       settings=Settings(journal=tmp_path / "journal.sqlite3",
                                         state_dir=tmp_path),
                       venue_options={"alpaca": emulator.options})


async def strategy(vk: AsyncClient, venue: str) -> dict[str, Any]:
    """A small bot: buy at market, sell part with a marketable limit, rest a bid far
    below the market and cancel it. Written once; it names only the venue."""
    bought = await vk.buy("AAPL", "5", venue=venue)
    quote = await vk.quote("AAPL", venue=venue)
    sold = await vk.sell("AAPL", "2", limit=str(quote.bid - D("0.50")), venue=venue)
    far = (quote.bid * D("0.8")).quantize(D("0.01"))
    resting = await vk.place(OrderRequest(symbol="AAPL", side=Side.BUY, quantity=D(1),
                                          order_type=OrderType.LIMIT, limit_price=far),
                             venue=venue)
    placed_as = resting.state  # the order object lives on: the cancel moves it along
    cancelled = await vk.cancel(resting)
    return {"bought": bought, "sold": sold, "placed_as": placed_as, "cancelled": cancelled}


def test_one_strategy_unchanged_on_the_mock_and_the_alpaca_emulator(
        tmp_path: Path, emulator: Emulator) -> None:
    mock = MockVenue(seed=4)

    async def main() -> dict[str, dict[str, Any]]:
        async with client(tmp_path, mock, emulator) as vk:
            assert vk.refused_venues == {}
            done = await asyncio.gather(strategy(vk, "mock"), strategy(vk, "alpaca"))
            outcomes = dict(zip(("mock", "alpaca"), done, strict=True))
            for venue, outcome in outcomes.items():
                outcome["positions"] = {line.symbol: line
                                        for line in await vk.positions(venue=venue)}
                outcome["orders"] = await vk.orders(venue=venue)
                outcome["fills"] = await vk.fills(venue=venue)
            return outcomes

    outcomes = asyncio.run(asyncio.wait_for(main(), TEST_TIMEOUT))
    for venue, outcome in outcomes.items():
        bought, sold = outcome["bought"], outcome["sold"]
        assert (bought.state, bought.filled_quantity) == (OrderState.FILLED, 5), venue
        assert (sold.state, sold.filled_quantity) == (OrderState.FILLED, 2), venue
        assert outcome["placed_as"] is OrderState.ACKNOWLEDGED, venue
        assert outcome["cancelled"].result == "cancelled", venue
        orders = outcome["orders"]
        assert [o.venue for o in orders] == [venue] * 3
        assert [o.state for o in orders] == [OrderState.CANCELLED, OrderState.FILLED,
                                             OrderState.FILLED]
        assert sum(f.quantity for f in outcome["fills"]) == 7
        line = outcome["positions"]["AAPL"]
        assert (line.quantity, line.venue_quantity, line.difference) == (3, 3, 0), venue
        assert line.average_cost == bought.average_price
        expected = (sold.average_price - bought.average_price) * 2 - bought.fees - sold.fees
        assert line.realized_pnl == expected, venue
        assert line.mark is not None and line.unrealized_pnl == \
            (line.mark - bought.average_price) * 3
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        assert journal.venues() == ["alpaca", "mock"]
        assert_journal_matches_ledger(journal, mock.control.ledger, "mock")
        assert_journal_matches_emulator(journal, emulator)


def test_a_plan_across_the_mock_and_the_alpaca_emulator(tmp_path: Path,
                                                        emulator: Emulator) -> None:
    mock = MockVenue(seed=6, cash="100000")
    mock.control.set_position("MSFT", "20", "400")
    emulator.control("position", {"symbol": "AAPL", "quantity": "10", "average_price": "180"})
    plan = {"correlation_id": "across-e2e", "items": [
        {"symbol": "MSFT", "action": "SELL", "quantity": "20", "venue": "mock"},
        {"symbol": "SPY", "action": "BUY", "notional": "5000", "venue": "mock"},
        {"symbol": "AAPL", "action": "SELL", "quantity": "10", "venue": "alpaca"},
        # More than the emulator's account can pay for: scaled to its own buying power.
        {"symbol": "MSFT", "action": "BUY", "notional": "40000", "venue": "alpaca"},
        {"symbol": "NVDA", "action": "HOLD", "venue": "alpaca"},
    ]}

    async def main() -> Any:
        # One symbol takes the whole scaled buy: the concentration rule is off for it.
        async with client(tmp_path, mock, emulator,
                          ValidationRules(max_concentration=None)) as vk:
            return await vk.rebalance(plan, strategy_options={"timeout": 20})

    report = asyncio.run(asyncio.wait_for(main(), TEST_TIMEOUT))
    assert set(report.reports) == {"mock", "alpaca"}
    assert report.complete, [(v, i.symbol, i.status, i.note, i.warnings)
                             for v, r in report.reports.items() for i in r.items]
    on_mock, on_alpaca = report.reports["mock"], report.reports["alpaca"]
    assert [(i.symbol, i.action) for i in on_mock.items] == [
        ("MSFT", Action.SELL), ("SPY", Action.BUY)]
    assert [(i.symbol, i.action) for i in on_alpaca.items] == [
        ("AAPL", Action.SELL), ("MSFT", Action.BUY), ("NVDA", Action.HOLD)]
    for venue_report in (on_mock, on_alpaca):  # each venue: its sells settle before its buys
        sells = [i for i in venue_report.items if i.action is Action.SELL]
        buys = [i for i in venue_report.items if i.action is Action.BUY]
        assert all(i.status is ItemStatus.COMPLETED for i in sells + buys)
        assert max(i.finished_at for i in sells if i.finished_at) <= \
            min(i.started_at for i in buys if i.started_at)
    # Sized per venue: the mock's buy as planned, the emulator's to its own buying power.
    assert on_mock.buy_scale == 1
    assert on_alpaca.buy_scale < 1
    assert on_alpaca.account_between is not None and on_alpaca.buy_budget is not None
    assert on_alpaca.buy_budget < on_alpaca.account_between.buying_power
    spent = on_alpaca.phase(Action.BUY).executed_notional
    assert 0 < spent <= on_alpaca.buy_budget
    totals = report.totals()["USD"]
    assert totals["bought"] == on_mock.phase(Action.BUY).executed_notional + spent
    assert totals["sold"] == sum((r.phase(Action.SELL).executed_notional
                                  for r in (on_mock, on_alpaca)), D(0))
    # The positions of the symbols each venue traded, from the journal, agree with it.
    assert {(line.venue, line.symbol) for lines in report.positions.values()
            for line in lines} == {("mock", "MSFT"), ("mock", "SPY"), ("alpaca", "AAPL"),
                                   ("alpaca", "MSFT")}
    lines = {(line.venue, line.symbol): line for found in report.positions.values()
             for line in found}
    for key in (("mock", "SPY"), ("alpaca", "MSFT")):  # bought through the journal
        assert lines[key].quantity > 0 and lines[key].difference == 0, lines[key]
    for key in (("mock", "MSFT"), ("alpaca", "AAPL")):
        # Sold out of holdings from before the journal: the journal's fills alone say
        # short, the venue says flat, and the line says why they differ.
        line = lines[key]
        assert line.quantity < 0 and line.venue_quantity == 0
        assert line.difference == -line.quantity and line.note is not None
        assert "holdings from before the journal" in line.note
    data = report.as_dict()
    assert set(data["venues"]) == {"mock", "alpaca"} and data["complete"] is True
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        assert_journal_matches_ledger(journal, mock.control.ledger, "mock")
        assert_journal_matches_emulator(journal, emulator)
        runs = journal.runs()
        assert sorted(r.venue for r in runs) == ["alpaca", "mock"]


@pytest.mark.parametrize("case", ["down", "wrong keys"])
def test_an_alpaca_that_cannot_be_reached_or_refuses_the_keys_is_refused_at_open(
        case: str, tmp_path: Path, emulator: Emulator) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    options = {"base_url": f"http://127.0.0.1:{closed}", "api_key": "k", "secret_key": "s"} \
        if case == "down" else emulator.options | {"secret_key": "not-the-secret"}

    async def main() -> tuple[dict[str, str], Any]:
        async with AsyncClient(MockVenue(seed=1), "alpaca", settlement=FAST,
                               settings=Settings(journal=tmp_path / "journal.sqlite3",
                                                 state_dir=tmp_path),
                               venue_options={"alpaca": options}) as vk:
            return vk.refused_venues, await vk.buy("AAPL", "1", venue="mock")

    refused, bought = asyncio.run(asyncio.wait_for(main(), TEST_TIMEOUT))
    assert list(refused) == ["alpaca"]
    assert refused["alpaca"].startswith("CONNECTION_ERROR" if case == "down" else "AUTH")
    assert "not-the-secret" not in refused["alpaca"]
    assert bought.state is OrderState.FILLED  # the mock trades all the same
