"""Binance's answers read into venuekit's model exactly: instruments from the filters,
orders and their executions with fees in any asset, execution reports, balances."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit.model import OrderRequest, OrderState, OrderType, Side, TimeInForce
from venuekit_ccxt import convert
from venuekit_ccxt.venue import BinanceVenue

D = Decimal
SYMBOL_INFO = {
    "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "baseAssetPrecision": 8,
    "quoteAsset": "USDT", "quotePrecision": 8, "quoteAssetPrecision": 8,
    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": False, "permissions": [], "permissionSets": [["SPOT"]],
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000",
         "tickSize": "0.01000000"},
        {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
         "stepSize": "0.00001000"},
        {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
         "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5}]}


@pytest.fixture(scope="module")
def exchange() -> Any:
    exchange = BinanceVenue(base_url="http://127.0.0.1:9", api_key="k", secret="s")._exchange
    exchange.options["crossMarginPairsData"] = []
    exchange.options["isolatedMarginPairsData"] = []
    exchange.set_markets([exchange.parse_market(SYMBOL_INFO)])
    return exchange


def test_an_instrument_keeps_binance_filters_exactly(exchange: Any) -> None:
    instrument = convert.instrument(exchange.market("BTC/USDT"), "binance")
    assert (instrument.symbol, instrument.currency, instrument.base_currency) == (
        "BTC/USDT", "USDT", "BTC")
    assert instrument.tick_size == D("0.01") and instrument.lot_size == D("0.00001")
    assert instrument.min_quantity == D("0.00001") and instrument.min_notional == D(5)
    assert instrument.fractional and instrument.tradable


def test_an_order_answer_and_its_executions(exchange: Any) -> None:
    raw = {"symbol": "BTCUSDT", "orderId": 28, "orderListId": -1, "clientOrderId": "vk-1",
           "transactTime": 1765100000000, "price": "0.00000000", "origQty": "0.00300000",
           "executedQty": "0.00300000", "origQuoteOrderQty": "0.00000000",
           "cummulativeQuoteQty": "180.00300000", "status": "FILLED", "timeInForce": "GTC",
           "type": "MARKET", "side": "BUY", "workingTime": 1765100000000,
           "selfTradePreventionMode": "EXPIRE_MAKER",
           "fills": [{"price": "60000.00", "qty": "0.002", "commission": "0.000002",
                      "commissionAsset": "BTC", "tradeId": 7},
                     {"price": "60003.00", "qty": "0.001", "commission": "0.00009",
                      "commissionAsset": "BNB", "tradeId": 8}]}
    order = exchange.parse_order(raw, exchange.market("BTC/USDT"))
    snap = convert.snapshot(order, "BTCUSDT", "binance")
    assert (snap.venue_order_id, snap.client_order_id, snap.symbol) == (
        "BTCUSDT:28", "vk-1", "BTC/USDT")
    assert (snap.side, snap.order_type, snap.state) == (Side.BUY, OrderType.MARKET,
                                                        OrderState.FILLED)
    assert snap.quantity == D("0.003") and snap.filled_quantity == D("0.003")
    assert snap.average_price == D("60001")  # 180.003 / 0.003, exact
    assert snap.limit_price is None
    fills = convert.fills_of(order, "BTCUSDT", "binance", "USDT")
    assert [(f.trade_id, f.quantity, f.price, f.fee, f.fee_currency) for f in fills] == [
        ("7", D("0.002"), D("60000.00"), D("0.000002"), "BTC"),
        ("8", D("0.001"), D("60003.00"), D("0.00009"), "BNB")]
    assert {f.venue_order_id for f in fills} == {"BTCUSDT:28"}
    assert all(f.side is Side.BUY and f.client_order_id == "vk-1" for f in fills)


def test_a_partly_filled_order_and_a_trade_row(exchange: Any) -> None:
    order = exchange.parse_order({
        "symbol": "BTCUSDT", "orderId": 31, "clientOrderId": "vk-2", "price": "59000.00",
        "origQty": "0.01000", "executedQty": "0.00400", "cummulativeQuoteQty": "236.00000",
        "status": "PARTIALLY_FILLED", "timeInForce": "GTC", "type": "LIMIT", "side": "SELL",
        "time": 1765100000000, "updateTime": 1765100005000}, exchange.market("BTC/USDT"))
    snap = convert.snapshot(order, "BTCUSDT", "binance")
    assert snap.state is OrderState.PARTIALLY_FILLED and snap.limit_price == D("59000.00")
    assert snap.average_price == D(59000) and snap.updated_at is not None
    trade = exchange.parse_trade({
        "symbol": "BTCUSDT", "id": 12, "orderId": 31, "orderListId": -1, "price": "59000.00",
        "qty": "0.00400", "quoteQty": "236", "commission": "0.236", "commissionAsset": "USDT",
        "time": 1765100001000, "isBuyer": False, "isMaker": True, "isBestMatch": True},
        exchange.market("BTC/USDT"))
    fill = convert.fill(trade, "BTCUSDT", "binance", currency="USDT")
    assert (fill.trade_id, fill.side, fill.quantity, fill.fee, fill.fee_currency,
            fill.venue_order_id) == ("12", Side.SELL, D("0.004"), D("0.236"), "USDT",
                                     "BTCUSDT:31")


def report(**fields: Any) -> dict[str, Any]:
    event = {"e": "executionReport", "E": 1765100002000, "s": "BTCUSDT", "c": "vk-3",
             "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "0.01000000", "p": "60000.00000000",
             "P": "0.00000000", "F": "0.00000000", "g": -1, "C": "", "x": "NEW", "X": "NEW",
             "r": "NONE", "i": 40, "l": "0.00000000", "z": "0.00000000", "L": "0.00000000",
             "n": "0", "N": None, "T": 1765100002000, "t": -1, "I": 1, "w": True, "m": False,
             "M": False, "O": 1765100001000, "Z": "0.00000000", "Y": "0.00000000",
             "Q": "0.00000000", "W": 1765100001000, "V": "EXPIRE_MAKER"}
    return event | fields


def test_execution_reports_are_read_exactly() -> None:
    new = convert.from_report(report(), "BTC/USDT", "binance", "USDT")
    assert new.fill is None and new.order.state is OrderState.ACKNOWLEDGED
    assert new.order.venue_order_id == "BTCUSDT:40" and new.order.limit_price == D(60000)
    trade = convert.from_report(report(x="TRADE", X="PARTIALLY_FILLED", l="0.00400000",
                                       L="59999.99000000", z="0.00400000",
                                       Z="239.99996000", n="0.00000400", N="BTC", t=99),
                                "BTC/USDT", "binance", "USDT")
    assert trade.order.state is OrderState.PARTIALLY_FILLED
    assert trade.order.average_price == D("59999.99")
    assert trade.fill is not None
    assert (trade.fill.trade_id, trade.fill.quantity, trade.fill.price, trade.fill.fee,
            trade.fill.fee_currency) == ("99", D("0.004"), D("59999.99"), D("0.000004"),
                                         "BTC")
    cancelled = convert.from_report(report(x="CANCELED", X="CANCELED", c="cancel-77",
                                           C="vk-3"), "BTC/USDT", "binance", "USDT")
    assert cancelled.order.client_order_id == "vk-3"  # the order's, not the cancel's
    assert cancelled.order.state is OrderState.CANCELLED
    notional = convert.from_report(report(o="MARKET", q="0.00000000", Q="100.00000000"),
                                   "BTC/USDT", "binance", "USDT")
    assert notional.order.quantity is None and notional.order.notional == D(100)


def test_balances_become_cash_in_the_quote_asset_and_positions_in_the_others() -> None:
    balances = {"USDT": {"free": "900.5", "used": "99.5", "total": "1000"},
                "BTC": {"free": "0.1", "used": "0.05", "total": "0.15"},
                "BNB": {"free": "2", "used": "0", "total": "2"},
                "XYZ": {"free": "5", "used": "0", "total": "5"},
                "ETH": {"free": "0", "used": "0", "total": "0"}}
    listed = {"BTC/USDT", "BNB/USDT", "ETH/USDT"}

    def symbol_of(asset: str) -> str | None:
        return f"{asset}/USDT" if f"{asset}/USDT" in listed else None

    account = convert.account(balances, "USDT", symbol_of, "binance")
    assert (account.currency, account.cash, account.buying_power) == ("USDT", D(1000),
                                                                      D("900.5"))
    assert {p.symbol: p.quantity for p in account.positions} == {"BTC/USDT": D("0.15"),
                                                                 "BNB/USDT": D(2)}


def test_order_ids_carry_their_market() -> None:
    assert convert.order_id("BTCUSDT", 28) == "BTCUSDT:28"
    assert convert.split_order_id("BTCUSDT:28") == ("BTCUSDT", "28")
    assert convert.split_order_id("VK-NEVER-SENT-1") is None
    assert convert.split_order_id(":28") is None


def test_a_new_order_is_binances_own_request_with_plain_decimals() -> None:
    def request(**fields: Any) -> OrderRequest:
        return OrderRequest(symbol="BTC/USDT", side=Side.BUY, **fields)

    limit = convert.binance_order(
        request(quantity=D("0.00001"), order_type=OrderType.LIMIT, limit_price=D("6E+4"),
                time_in_force=TimeInForce.IOC), "BTCUSDT", "cid-1")
    assert limit == {"symbol": "BTCUSDT", "side": "BUY", "newClientOrderId": "cid-1",
                     "newOrderRespType": "RESULT", "type": "LIMIT", "timeInForce": "IOC",
                     "quantity": "0.00001", "price": "60000"}
    day = convert.binance_order(request(quantity=D(1), order_type=OrderType.LIMIT,
                                        limit_price=D("1"), time_in_force=TimeInForce.DAY),
                                "BTCUSDT", "c")
    assert day["timeInForce"] == "GTC"  # the market never closes
    market = convert.binance_order(request(quantity=D("1E+1")), "BTCUSDT", "c")
    assert (market["type"], market["quantity"]) == ("MARKET", "10")
    cost = convert.binance_order(request(notional=D("250.50")), "BTCUSDT", "c")
    assert (cost["type"], cost["quoteOrderQty"]) == ("MARKET", "250.50")
    assert "quantity" not in cost


def test_binances_answer_to_a_new_order_reads_like_ccxts_order() -> None:
    answer = {"symbol": "BTCUSDT", "orderId": 28, "clientOrderId": "cid-1",
              "transactTime": 1_700_000_000_000, "price": "59000.00000000",
              "origQty": "0.00100000", "executedQty": "0.00040000",
              "cummulativeQuoteQty": "23.60000000", "status": "PARTIALLY_FILLED",
              "timeInForce": "GTC", "type": "LIMIT", "side": "BUY"}
    snap = convert.from_answer(answer, "BTC/USDT", "binance")
    assert (snap.venue_order_id, snap.client_order_id, snap.symbol) == (
        "BTCUSDT:28", "cid-1", "BTC/USDT")
    assert (snap.state, snap.quantity, snap.filled_quantity, snap.limit_price,
            snap.average_price) == (OrderState.PARTIALLY_FILLED, D("0.001"), D("0.0004"),
                                    D(59000), D(59000))
    with pytest.raises(VenueKitError) as info:
        convert.from_answer({"symbol": "BTCUSDT"}, "BTC/USDT", "binance")
    assert info.value.code is Code.VENUE_ERROR
