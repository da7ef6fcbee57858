"""A plan across venues, on two simulated venues in one client and one journal: each venue
sells, then buys sized to its own buying power; every symbol is checked everywhere before
anything is sent; a part that finished is not traded again while an unfinished one resumes;
a single-venue plan reads and runs as before."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import flat
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit import Client
from venuekit.errors import Code, VenueKitError, error
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.plugins import PluginHost
from venuekit.rebalance import Action, ItemStatus, PlanError, parse_plan
from venuekit.runs import RunState
from venuekit.settings import Settings
from venuekit.settlement import SettlementOptions
from venuekit.validation import ValidationRules
from venuekit_mock import MockVenue

D = Decimal
FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.2, late_grace=0.02)
PLAN: dict[str, Any] = {"correlation_id": "two-books", "items": [
    {"symbol": "AAA", "action": "SELL", "quantity": "30", "venue": "east"},
    {"symbol": "BBB", "action": "BUY", "notional": "10000", "venue": "east"},
    {"symbol": "AAA", "action": "BUY", "notional": "2000", "venue": "west"},
    {"symbol": "BBB", "action": "HOLD", "venue": "west"},
]}


def venue(name: str, cash: str, seed: int) -> MockVenue:
    mock = MockVenue(seed=seed, cash=cash, symbols=[flat("AAA"), flat("BBB", price="50.005")])
    mock.name = name
    return mock


def books() -> tuple[MockVenue, MockVenue]:
    east, west = venue("east", "1000", 1), venue("west", "100000", 2)
    east.control.set_position("AAA", "30", "95")
    return east, west


def client(tmp_path: Path, *venues: MockVenue) -> Client:
    # East's one buy takes its whole budget: no concentration limit in these books.
    return Client(*venues, settings=Settings(journal=tmp_path / "j.sqlite3",
                                             state_dir=tmp_path),
                  host=PluginHost(load_entry_points=False), settlement=FAST,
                  rules=ValidationRules(max_concentration=None))


def test_each_venue_sells_then_buys_sized_to_its_own_buying_power(tmp_path: Path) -> None:
    east, west = books()
    with client(tmp_path, east, west) as vk:
        report = vk.rebalance(PLAN, strategy_options={"timeout": 10})
    assert report.complete and list(report.reports) == ["east", "west"]
    on_east, on_west = report.reports["east"], report.reports["west"]
    # East: 1000 cash plus the sale of 30 AAA at 100.00 = 4000; 95 % of it for buys.
    [sell, buy] = on_east.items
    assert (sell.action, sell.status, sell.filled_quantity) == (Action.SELL,
                                                                ItemStatus.COMPLETED, 30)
    assert sell.finished_at is not None and buy.started_at is not None
    assert sell.finished_at <= buy.started_at
    assert east.control.ledger.orders[0].side.value == "sell"
    assert on_east.account_between is not None
    assert on_east.account_between.buying_power == D("4000.00")
    assert on_east.buy_budget == D("3800.00") and on_east.buy_scale == D("0.38")
    assert buy.requested_quantity == 75  # 3800 / 50.01, in whole shares
    # West: no sells, its buy as planned from its own cash.
    assert on_west.buy_scale == 1
    [west_buy, hold] = on_west.items
    assert (west_buy.requested_quantity, hold.status) == (19, ItemStatus.HELD)  # 2000/100.01
    totals = report.totals()
    assert totals == {"USD": {"bought": D("75") * D("50.01") + D("19") * D("100.01"),
                              "sold": D("3000.00"), "fees": D(0)}}
    data = report.as_dict()
    assert set(data["venues"]) == {"east", "west"} and data["complete"] is True
    assert data["finished_before"] == {}
    with SQLiteJournal(tmp_path / "j.sqlite3", readonly=True) as journal:
        assert_journal_matches_ledger(journal, east.control.ledger, "east")
        assert_journal_matches_ledger(journal, west.control.ledger, "west")
        assert {(r.venue, r.state) for r in journal.runs()} == {
            ("east", RunState.FINISHED), ("west", RunState.FINISHED)}


def test_a_symbol_unknown_on_its_venue_stops_the_whole_plan_before_anything_is_sent(
        tmp_path: Path) -> None:
    east, west = books()
    plan = {"items": [*PLAN["items"],
                      {"symbol": "ZZZ", "action": "BUY", "notional": "10", "venue": "west"}]}
    with client(tmp_path, east, west) as vk, pytest.raises(PlanError) as raised:
        vk.rebalance(plan)
    assert [(p.location, p.message) for p in raised.value.problems] == [
        ("items[4].symbol", "unknown symbol 'ZZZ' on west")]
    assert east.control.ledger.orders == [] and west.control.ledger.orders == []


def test_a_venue_the_client_does_not_hold_or_an_item_without_a_venue_is_refused(
        tmp_path: Path) -> None:
    east, west = books()
    with client(tmp_path, east) as vk:
        with pytest.raises(VenueKitError) as missing:
            vk.rebalance(PLAN)
        assert missing.value.code is Code.INVALID_CONFIG and "'west'" in missing.value.message
    with client(tmp_path, east, west) as vk:
        unnamed = {"items": [{"symbol": "AAA", "action": "BUY", "notional": "10"},
                             {"symbol": "BBB", "action": "BUY", "notional": "10",
                              "venue": "west"}]}
        with pytest.raises(PlanError) as raised:
            vk.rebalance(unnamed)
        assert [p.location for p in raised.value.problems] == ["items[0].venue"]
        report = vk.rebalance(unnamed, venue="east", dry_run=True)  # a default venue
        assert set(report.reports) == {"east", "west"} and report.dry_run
    assert east.control.ledger.orders == [] and west.control.ledger.orders == []


def test_a_finished_part_is_not_traded_again_while_the_others_run(tmp_path: Path) -> None:
    east, west = books()
    plan = parse_plan(PLAN)
    with client(tmp_path, east) as vk:  # east's part ran to its end in an earlier session
        assert vk.rebalance(plan.on("east")).complete
    with client(tmp_path, west) as vk:  # west's was interrupted before it sent anything
        vk.halt("interrupted for the test")
        interrupted = vk.rebalance(plan.on("west"))
        assert interrupted.interrupted and west.control.ledger.orders == []
    east_orders = len(east.control.ledger.orders)

    with client(tmp_path, east, west) as vk:
        report = vk.rebalance(plan)
    assert list(report.reports) == ["west"] and list(report.finished) == ["east"]
    assert report.complete
    assert len(east.control.ledger.orders) == east_orders, "east was not traded twice"
    assert [o.side.value for o in west.control.ledger.orders] == ["buy"]
    assert report.as_dict()["finished_before"] == {"east": report.finished["east"].id}

    with client(tmp_path, east, west) as vk:  # both parts finished: the plan ran
        with pytest.raises(VenueKitError) as again:
            vk.rebalance(plan)
        assert again.value.code is Code.RUN_FINISHED
        assert len(vk.rebalance(plan, again=True).reports) == 2


def test_a_single_venue_plan_runs_as_it_did(tmp_path: Path) -> None:
    east, _ = books()
    single = {"items": [{"symbol": "AAA", "action": "SELL", "quantity": "10"},
                        {"symbol": "BBB", "action": "BUY", "notional": "500"}]}
    with client(tmp_path, east) as vk:
        report = vk.rebalance(single)
    assert report.complete and list(report.reports) == ["east"]
    data = report.as_dict()  # one venue: that venue's report, with its positions
    assert data["venue"] == "east" and len(data["items"]) == 2
    assert {line["symbol"] for line in data["positions"]} == {"AAA", "BBB"}


class Failing(MockVenue):
    """A venue whose quotes fail with an error no retry cures."""

    async def quotes(self, symbols: Any) -> Any:
        raise error(Code.INVALID_CONFIG, "the venue's market data is misconfigured",
                    venue=self.name)


def test_an_error_on_one_venue_stops_the_others_resumably(tmp_path: Path) -> None:
    east, _ = books()
    west = Failing(seed=2, cash="100000", symbols=[flat("AAA"), flat("BBB", price="50.005")])
    west.name = "west"
    with client(tmp_path, east, west) as vk:
        with pytest.raises(VenueKitError) as raised:
            vk.rebalance(PLAN)
        assert raised.value.code is Code.INVALID_CONFIG and raised.value.venue == "west"
        assert vk.orders(working=True) == []  # nothing left working anywhere
    with SQLiteJournal(tmp_path / "j.sqlite3", readonly=True) as journal:
        assert all(run.state.resumable for run in journal.runs()), journal.runs()
        assert_journal_matches_ledger(journal, east.control.ledger, "east")
    assert west.control.ledger.orders == []
