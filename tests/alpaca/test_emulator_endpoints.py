"""The emulator's positions closing, account history, activities, calendar, configuration
and market data, through the real alpaca-py clients (and raw requests where alpaca-py has
no call). The emulators here run on the stepped clock: time is 2024-01-02 14:30 UTC (a
Tuesday, 09:30 in New York) plus one second per step."""

from __future__ import annotations

import base64
import itertools
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from venuekit_alpaca.emulator import AlpacaEmulator, run_in_thread

from .emulator_clients import APIError, data_client, limit, market, trading_client

with warnings.catch_warnings():
    # As in emulator_clients: alpaca-py's imports reach websockets' legacy client.
    warnings.filterwarnings("ignore", "websockets.legacy is deprecated", DeprecationWarning)
    from alpaca.broker.client import BrokerClient
    from alpaca.data.requests import (
        StockBarsRequest,
        StockLatestBarRequest,
        StockLatestTradeRequest,
        StockQuotesRequest,
        StockSnapshotRequest,
    )
    from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
    from alpaca.trading.enums import OrderSide, OrderStatus, OrderType
    from alpaca.trading.models import Calendar, NonTradeActivity, TradeActivity
    from alpaca.trading.requests import (
        ClosePositionRequest,
        GetCalendarRequest,
        GetPortfolioHistoryRequest,
    )

START = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
def emulator() -> Iterator[AlpacaEmulator]:
    with run_in_thread(seed=11, cash="100000", clock="sim") as running:
        running.control.set_quote("AAPL", "189.99", "190.01", "300", "300")
        yield running


def raw(emulator: AlpacaEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"APCA-API-KEY-ID": emulator.api_key,
               "APCA-API-SECRET-KEY": emulator.secret_key}
    return requests.request(method, emulator.base_url + path, headers=headers, timeout=10,
                            **kwargs)


def money(value: object) -> Decimal:
    return Decimal(str(value))


# closing positions ---------------------------------------------------------------------
def test_close_a_position_in_part_then_whole(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    client.submit_order(market("AAPL", 10))
    half = client.close_position("AAPL", ClosePositionRequest(percentage="50"))
    assert (half.status, half.side, half.type, half.qty) == \
        (OrderStatus.ACCEPTED, OrderSide.SELL, OrderType.MARKET, "5")
    assert client.get_order_by_id(half.id).filled_avg_price == "189.99"  # at the bid
    assert client.get_open_position("AAPL").qty == "5"
    by_id = client.get_open_position("AAPL").asset_id
    rest = client.close_position(by_id, ClosePositionRequest(qty="5"))
    assert rest.qty == "5" and client.get_all_positions() == []


def test_closing_more_than_held_or_nothing_is_refused(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    client.submit_order(market("AAPL", 3))
    with pytest.raises(APIError) as beyond:
        client.close_position("AAPL", ClosePositionRequest(qty="4"))
    assert beyond.value.status_code == 403 and beyond.value.code == 40310000
    assert "requested: 4, available: 3" in beyond.value.message
    with pytest.raises(APIError) as none:
        client.close_position("MSFT")
    assert none.value.status_code == 404
    assert raw(emulator, "DELETE", "/v2/positions/MSFT").json() == \
        {"code": 40410000, "message": "position not found: MSFT"}
    both = raw(emulator, "DELETE", "/v2/positions/AAPL", params={"qty": 1, "percentage": 5})
    assert both.status_code == 422
    assert client.get_open_position("AAPL").qty == "3"  # nothing was sold


def test_close_all_cancels_open_orders_first_when_asked(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    client.submit_order(market("AAPL", 2))
    client.submit_order(market("MSFT", 1))
    resting = client.submit_order(limit("MSFT", 1, 999.0, side="sell"))
    kept = client.close_all_positions()
    statuses = {entry.symbol: entry.status for entry in kept}
    assert statuses == {"AAPL": 200, "MSFT": 403}  # MSFT's share is held for the sell
    assert client.get_open_position("MSFT").qty == "1"
    closed = client.close_all_positions(cancel_orders=True)
    assert [(c.symbol, c.status) for c in closed] == [("MSFT", 200)]
    assert closed[0].body.side is OrderSide.SELL  # type: ignore[union-attr]
    assert client.get_order_by_id(resting.id).status is OrderStatus.CANCELED
    assert client.get_all_positions() == []
    assert raw(emulator, "DELETE", "/v2/positions").status_code == 207


def test_positions_carry_their_figures_in_usd(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    client.submit_order(market("AAPL", 4))
    position = client.get_open_position("AAPL")
    assert position.usd is not None
    for name in ("avg_entry_price", "market_value", "cost_basis", "unrealized_pl",
                 "unrealized_plpc", "current_price", "lastday_price", "change_today"):
        assert getattr(position.usd, name) == getattr(position, name), name
    assert (position.usd.cost_basis, position.usd.market_value) == ("760.04", "760")


# account history, calendar, configuration ----------------------------------------------
def test_portfolio_history_follows_the_trades_and_the_market(emulator: AlpacaEmulator
                                                             ) -> None:
    client = trading_client(emulator)
    client.submit_order(market("AAPL", 10))  # at 190.01, valued at the mid 190.00
    emulator.control.advance(300)  # five minutes
    emulator.control.set_quote("AAPL", "191.99", "192.01")
    history = client.get_portfolio_history(GetPortfolioHistoryRequest(
        period="1D", timeframe="1Min"))
    assert history.timeframe == "1Min" and history.base_value == 100000
    assert history.timestamp[0] == int(START.timestamp())
    assert all(b - a == 60 for a, b in itertools.pairwise(history.timestamp))
    assert len(history.timestamp) == len(history.equity) == 6
    account = client.get_account()
    assert money(history.equity[-1]) == money(account.equity) == Decimal("100019.90")
    # The first minute ends at 14:31: ten shares at the mid of then (the 14:31 bar's open).
    then = data_client(emulator).get_stock_bars(StockBarsRequest(
        symbol_or_symbols="AAPL", timeframe=TimeFrame.Minute,
        start=START + timedelta(minutes=1), end=START + timedelta(minutes=1))).data["AAPL"]
    cash = Decimal("100000") - Decimal("1900.10")
    assert money(history.equity[0]) == (cash + 10 * money(then[0].open)).quantize(
        Decimal("0.01"))
    for equity, pnl, pct in zip(history.equity, history.profit_loss,
                                history.profit_loss_pct, strict=True):
        assert money(pnl) == money(equity) - 100000
        assert pct is not None and abs(money(pct) - money(pnl) / 100000) < Decimal("1e-6")
    daily = client.get_portfolio_history(GetPortfolioHistoryRequest(period="1W"))
    assert daily.timeframe == "15Min" and money(daily.equity[-1]) == Decimal("100019.90")
    bad = raw(emulator, "GET", "/v2/account/portfolio/history", params={"timeframe": "2H"})
    assert bad.status_code == 422


def test_calendar_lists_weekdays_with_the_regular_session(emulator: AlpacaEmulator) -> None:
    days = trading_client(emulator).get_calendar(
        GetCalendarRequest(start=date(2024, 1, 1), end=date(2024, 1, 14)))
    assert all(isinstance(day, Calendar) for day in days)
    assert [day.date.day for day in days] == [1, 2, 3, 4, 5, 8, 9, 10, 11, 12]
    assert (days[0].open, days[0].close) == (datetime(2024, 1, 1, 9, 30),
                                             datetime(2024, 1, 1, 16, 0))
    assert raw(emulator, "GET", "/v2/calendar", params={"start": "someday"}).status_code == 422


def test_account_configuration_keeps_what_is_set(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    configuration = client.get_account_configurations()
    assert configuration.no_shorting is True and configuration.max_margin_multiplier == "1"
    configuration.suspend_trade = True
    configuration.trade_confirm_email = "none"  # type: ignore[assignment]
    answered = client.set_account_configurations(configuration)
    assert answered.suspend_trade is True and answered.trade_confirm_email.value == "none"
    again = client.get_account_configurations()
    assert again.suspend_trade is True and again.trade_confirm_email.value == "none"
    refused = raw(emulator, "PATCH", "/v2/account/configurations",
                  json={"trade_confirm_email": "sometimes"})
    assert refused.status_code == 422 and refused.json()["code"] == 40010001
    assert client.get_account_configurations().trade_confirm_email.value == "none"


# activities ----------------------------------------------------------------------------
def parsed(answer: list[dict[str, Any]]) -> list[TradeActivity | NonTradeActivity]:
    return [BrokerClient._parse_activity(item) for item in answer]


def test_activities_list_fills_and_the_opening_deposit(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    account = client.get_account()
    bought = client.submit_order(market("AAPL", 3))
    emulator.control.advance(60)
    client.submit_order(market("AAPL", 1, side="sell"))
    everything = parsed(client.get("/account/activities"))
    assert [type(a).__name__ for a in everything] == ["TradeActivity", "TradeActivity",
                                                      "NonTradeActivity"]  # newest first
    assert {a.account_id for a in everything} == {account.id}
    deposit = everything[-1]
    assert isinstance(deposit, NonTradeActivity)
    assert (deposit.activity_type.value, deposit.net_amount, deposit.date) == \
        ("CSD", 100000, date(2024, 1, 2))
    first = everything[1]
    assert isinstance(first, TradeActivity)
    assert (first.order_id, first.qty, first.price, first.cum_qty, first.leaves_qty) == \
        (bought.id, 3, 190.01, 3, 0)
    fills = parsed(client.get("/account/activities/FILL", {"direction": "asc"}))
    assert [a.side.value for a in fills] == ["buy", "sell"]  # type: ignore[union-attr]
    deposits = client.get("/account/activities", {"activity_types": "CSD,DIV"})
    assert [a["activity_type"] for a in deposits] == ["CSD"]
    assert client.get("/account/activities", {"date": "2024-01-03"}) == []
    page = client.get("/account/activities", {"page_size": 2})
    rest = client.get("/account/activities", {"page_size": 2, "page_token": page[-1]["id"]})
    assert [a["id"] for a in page + rest] == [a.id for a in everything]
    assert raw(emulator, "GET", "/v2/account/activities/NOPE").status_code == 422


# market data ---------------------------------------------------------------------------
def test_latest_trade_and_bar_sit_at_the_current_quote(emulator: AlpacaEmulator) -> None:
    data = data_client(emulator)
    emulator.control.advance(125)
    emulator.control.set_quote("AAPL", "191.49", "191.51")
    trade = data.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols="AAPL"))
    assert trade["AAPL"].price == 191.5 and trade["AAPL"].timestamp == \
        START + timedelta(seconds=125)
    bar = data.get_stock_latest_bar(StockLatestBarRequest(symbol_or_symbols=["AAPL", "NOPE"]))
    assert list(bar) == ["AAPL"]
    assert bar["AAPL"].close == 191.5 and bar["AAPL"].timestamp == START + \
        timedelta(minutes=2)
    one = raw(emulator, "GET", "/v2/stocks/AAPL/trades/latest").json()
    assert one["symbol"] == "AAPL" and '"p":191.5' in raw(
        emulator, "GET", "/v2/stocks/AAPL/trades/latest").text  # an exact number
    assert raw(emulator, "GET", "/v2/stocks/NOPE/bars/latest").status_code == 404


def check_bar(bar: Any) -> None:
    assert bar.high >= max(bar.open, bar.close) >= min(bar.open, bar.close) >= bar.low
    assert bar.low <= bar.vwap <= bar.high and bar.volume > 0 and bar.trade_count > 0


def test_bars_are_consistent_on_their_grid_and_within_the_window(emulator: AlpacaEmulator
                                                                 ) -> None:
    data = data_client(emulator)
    start, end = START - timedelta(hours=2), START - timedelta(minutes=30)
    five = data.get_stock_bars(StockBarsRequest(
        symbol_or_symbols="AAPL", timeframe=TimeFrame(5, TimeFrameUnit.Minute),
        start=start, end=end)).data["AAPL"]
    assert len(five) == 19
    for bar in five:
        check_bar(bar)
        assert start <= bar.timestamp <= end and bar.timestamp.minute % 5 == 0
        assert bar.timestamp.second == 0
    ones = data.get_stock_bars(StockBarsRequest(
        symbol_or_symbols="AAPL", timeframe=TimeFrame.Minute, start=start,
        end=start + timedelta(minutes=4))).data["AAPL"]
    assert len(ones) == 5
    assert (ones[0].open, ones[-1].close) == (five[0].open, five[0].close)
    assert max(b.high for b in ones) == five[0].high and min(b.low for b in ones) == five[0].low
    assert sum(b.volume for b in ones) == five[0].volume
    for earlier, later in itertools.pairwise(ones):
        assert later.open == earlier.close  # a continuous path
    # The last synthetic minute closes on the opening mid.
    last = data.get_stock_bars(StockBarsRequest(
        symbol_or_symbols="AAPL", timeframe=TimeFrame.Minute,
        start=START - timedelta(minutes=1), end=START - timedelta(minutes=1))).data["AAPL"]
    assert last[-1].close == 189.995  # the opening mid (the quote 189.99/190.00)


def test_daily_bars_are_stamped_at_midnight_new_york(emulator: AlpacaEmulator) -> None:
    data = data_client(emulator)
    days = data.get_stock_bars(StockBarsRequest(
        symbol_or_symbols="AAPL", timeframe=TimeFrame.Day,
        start=datetime(2023, 12, 20, tzinfo=UTC))).data["AAPL"]
    assert [d.timestamp.date() for d in days][-1] == date(2024, 1, 2)
    assert len(days) == 14 and all(d.timestamp.hour == 5 for d in days)  # EST: UTC-5
    for bar in days:
        check_bar(bar)
    summer = data.get_stock_bars(StockBarsRequest(
        symbol_or_symbols="AAPL", timeframe=TimeFrame.Day, start=datetime(2023, 7, 3),
        end=datetime(2023, 7, 5))).data["AAPL"]
    assert [d.timestamp.hour for d in summer] == [4, 4]  # EDT: UTC-4


def test_bars_page_with_next_page_token(emulator: AlpacaEmulator) -> None:
    params = {"symbols": "MSFT,AAPL", "timeframe": "15Min", "start": "2024-01-01T00:00:00Z",
              "end": "2024-01-01T05:00:00Z", "limit": 7}
    pages, token = [], None
    while True:
        answer = raw(emulator, "GET", "/v2/stocks/bars",
                     params={**params, **({"page_token": token} if token else {})}).json()
        pages.append(answer["bars"])
        token = answer["next_page_token"]
        if token is None:
            break
    assert [sum(map(len, p.values())) for p in pages] == [7, 7, 7, 7, 7, 7]
    assert list(pages[0]) == ["AAPL"] and list(pages[-1]) == ["MSFT"]  # symbol by symbol
    whole = data_client(emulator).get_stock_bars(StockBarsRequest(
        symbol_or_symbols=["AAPL", "MSFT"], timeframe=TimeFrame(15, TimeFrameUnit.Minute),
        start=datetime(2024, 1, 1), end=datetime(2024, 1, 1, 5))).data
    paged: dict[str, list[str]] = {}
    for page in pages:
        for symbol, bars in page.items():
            paged.setdefault(symbol, []).extend(b["t"] for b in bars)
    assert {s: len(b) for s, b in whole.items()} == {"AAPL": 21, "MSFT": 21}
    assert paged["AAPL"] == [b.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") for b in whole["AAPL"]]
    descending = raw(emulator, "GET", "/v2/stocks/AAPL/bars",
                     params={**params, "sort": "desc", "limit": 3}).json()
    assert descending["symbol"] == "AAPL" and descending["next_page_token"] is not None
    assert [b["t"] for b in descending["bars"]] == list(reversed(paged["AAPL"]))[:3]
    bad = raw(emulator, "GET", "/v2/stocks/bars", params={**params, "page_token": "%%%"})
    assert bad.status_code == 400
    assert base64.urlsafe_b64decode(descending["next_page_token"]).startswith(b"AAPL|")


def test_bars_are_the_same_for_the_same_seed() -> None:
    def hourly(seed: int) -> list[Any]:
        with run_in_thread(seed=seed, clock="sim") as running:
            return data_client(running).get_stock_bars(StockBarsRequest(
                symbol_or_symbols="MSFT", timeframe=TimeFrame.Hour,
                start=datetime(2023, 12, 28))).data["MSFT"]
    first, again, other = hourly(5), hourly(5), hourly(6)
    assert first == again and first != other
    assert first[-1].close == 409.995  # both end on the opening mid


def test_bad_market_data_queries_are_400(emulator: AlpacaEmulator) -> None:
    for params in ({"symbols": "AAPL", "timeframe": "7Day"},
                   {"symbols": "AAPL", "timeframe": "60Min"},
                   {"symbols": "AAPL", "timeframe": "1Min", "limit": 10001},
                   {"symbols": "AAPL", "timeframe": "1Min", "feed": "nasdaq"},
                   {"timeframe": "1Min"}):
        answer = raw(emulator, "GET", "/v2/stocks/bars", params=params)
        assert answer.status_code == 400 and answer.json()["code"] == 40010001, params
    accepted = raw(emulator, "GET", "/v2/stocks/bars",
                   params={"symbols": "AAPL", "timeframe": "1Hour", "feed": "iex",
                           "start": "2024-01-02"})
    assert accepted.status_code == 200 and len(accepted.json()["bars"]["AAPL"]) == 15


def test_historical_quotes_are_one_per_minute_inside_the_spread(emulator: AlpacaEmulator
                                                                ) -> None:
    start = START - timedelta(minutes=10)
    quotes = data_client(emulator).get_stock_quotes(StockQuotesRequest(
        symbol_or_symbols="AAPL", start=start, end=START)).data["AAPL"]
    assert len(quotes) == 11  # ten synthetic minutes, and the quote seen at the start
    for quote in quotes:
        assert start <= quote.timestamp <= START
        assert 0 < quote.ask_price - quote.bid_price < 0.02 and quote.bid_size > 0
    assert (quotes[-1].bid_price, quotes[-1].ask_price) == (189.99, 190.01)


def test_snapshots_bring_trade_quote_and_bars_together(emulator: AlpacaEmulator) -> None:
    emulator.control.advance(90)
    emulator.control.set_quote("AAPL", "190.49", "190.51")
    snapshots = data_client(emulator).get_stock_snapshot(
        StockSnapshotRequest(symbol_or_symbols=["AAPL", "NOPE"]))
    assert list(snapshots) == ["AAPL"]
    snapshot = snapshots["AAPL"]
    assert snapshot.latest_trade is not None and snapshot.latest_trade.price == 190.5
    assert snapshot.latest_quote is not None and snapshot.latest_quote.bid_price == 190.49
    assert snapshot.minute_bar is not None and snapshot.minute_bar.close == 190.5
    daily, previous = snapshot.daily_bar, snapshot.previous_daily_bar
    assert daily is not None and previous is not None
    assert daily.timestamp == datetime(2024, 1, 2, 5, tzinfo=UTC) and daily.close == 190.5
    assert previous.timestamp == datetime(2024, 1, 1, 5, tzinfo=UTC)
    check_bar(daily)
    check_bar(previous)
    one = raw(emulator, "GET", "/v2/stocks/AAPL/snapshot").json()
    assert one["symbol"] == "AAPL" and one["minuteBar"]["c"] == 190.5
    assert raw(emulator, "GET", "/v2/stocks/NOPE/snapshot").status_code == 404
