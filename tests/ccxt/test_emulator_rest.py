"""The Binance emulator's REST API, driven by the real ccxt 4.5.90 clients
(``ccxt.async_support.binance`` throughout, the synchronous ``ccxt.binance`` once)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from venuekit_ccxt.emulator import BinanceEmulator, run_in_thread

from .emulator_clients import D, async_client, run, sync_client

BTC = "BTC/USDT"


def quote(emulator: BinanceEmulator, symbol: str = "BTCUSDT", bid: str = "59999.99",
          ask: str = "60000.01", size: str = "5") -> None:
    emulator.control.set_quote(symbol, bid, ask, size, size)


def balances(balance: dict[str, Any], *assets: str) -> dict[str, tuple[Decimal, Decimal]]:
    return {a: (D(balance[a]["free"]), D(balance[a]["used"])) for a in assets}


def test_load_markets_reads_exact_filters_and_the_market_data() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=1) as emulator, async_client(emulator) as ex:
            markets = await ex.load_markets()
            assert set(markets) == {"BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT"}
            expected = {"BTC/USDT": ("0.00001", "0.00001"), "ETH/USDT": ("0.0001", "0.0001"),
                        "BNB/USDT": ("0.001", "0.001"), "SOL/USDT": ("0.001", "0.001")}
            for symbol, (lot, minimum) in expected.items():
                market = markets[symbol]
                assert D(market["precision"]["price"]) == D("0.01")
                assert D(market["precision"]["amount"]) == D(lot)
                assert D(market["limits"]["amount"]["min"]) == D(minimum)
                assert D(market["limits"]["cost"]["min"]) == D(5)
                assert market["active"] and market["spot"] and market["quote"] == "USDT"
            assert abs(await ex.fetch_time() - time.time() * 1000) < 5_000
            emulator.control.set_quote("BTCUSDT", "59999.99", "60000.01", "2", "3")
            ticker = await ex.fetch_ticker(BTC)
            assert (D(ticker["bid"]), D(ticker["ask"])) == (D("59999.99"), D("60000.01"))
            assert (D(ticker["bidVolume"]), D(ticker["askVolume"])) == (D(2), D(3))
            book = await ex.fetch_order_book(BTC, 5)
            assert book["bids"] == [[59999.99, 2.0]] and book["asks"] == [[60000.01, 3.0]]
            balance = await ex.fetch_balance()
            assert balances(balance, "USDT", "BTC", "BNB") == {
                "USDT": (D(100_000), D(0)), "BTC": (D(0), D(0)), "BNB": (D(0), D(0))}
            tickers = await ex.fetch_tickers(["BTC/USDT", "ETH/USDT"])
            assert set(tickers) == {"BTC/USDT", "ETH/USDT"}

    run(scenario())


def test_market_orders_by_quantity_and_by_cost_pay_fees_in_the_received_asset() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=2) as emulator, async_client(emulator) as ex:
            quote(emulator)
            bought = await ex.create_order(BTC, "market", "buy", "0.001")
            assert bought["status"] == "closed" and D(bought["filled"]) == D("0.001")
            assert D(bought["cost"]) == D("60.00001") and D(bought["average"]) == D("60000.01")
            assert bought["fee"] == {"currency": "BTC", "cost": "0.00000100"}
            assert bought["info"]["fills"] == [{
                "price": "60000.01000000", "qty": "0.00100000", "commission": "0.00000100",
                "commissionAsset": "BTC", "tradeId": 1}]
            by_cost = await ex.create_market_buy_order_with_cost(BTC, "100")
            info = by_cost["info"]
            assert (info["origQuoteOrderQty"], info["executedQty"],
                    info["cummulativeQuoteQty"]) == ("100.00000000", "0.00166000",
                                                     "99.60001660")
            sold = await ex.create_order(BTC, "market", "sell", "0.0005")
            assert sold["fee"] == {"currency": "USDT", "cost": "0.03000000"}  # 29.999995
            sold_for = await ex.create_market_sell_order_with_cost(BTC, "30")
            assert sold_for["info"]["executedQty"] == "0.00050000"
            trades = await ex.fetch_my_trades(BTC)
            assert [(t["id"], t["order"], t["side"], t["takerOrMaker"]) for t in trades] == [
                ("1", "1", "buy", "taker"), ("2", "2", "buy", "taker"),
                ("3", "3", "sell", "taker"), ("4", "4", "sell", "taker")]
            assert [(t["fee"]["currency"], D(t["fee"]["cost"])) for t in trades] == [
                ("BTC", D("0.000001")), ("BTC", D("0.00000166")),
                ("USDT", D("0.03")), ("USDT", D("0.03"))]
            btc = D("0.001") + D("0.00166") - D("0.000001") - D("0.00000166") - D("0.001")
            usdt = (D(100_000) - D("60.00001") - D("99.6000166")
                    + 2 * (D("0.0005") * D("59999.99")) - 2 * D("0.03"))
            assert balances(await ex.fetch_balance(), "BTC", "USDT") == {
                "BTC": (btc, D(0)), "USDT": (usdt, D(0))}
            truth = emulator.control.fills()
            assert [(f["tradeId"], f["commission"], f["commissionAsset"]) for f in truth] == [
                (1, "0.000001", "BTC"), (2, "0.00000166", "BTC"), (3, "0.03", "USDT"),
                (4, "0.03", "USDT")]
            rows = emulator.control.orders()
            assert [(r["orderId"], r["type"], r["quoteOrderQty"]) for r in rows] == [
                (1, "MARKET", None), (2, "MARKET", "100"), (3, "MARKET", None),
                (4, "MARKET", "30")]

    run(scenario())


@pytest.mark.parametrize(("mode", "bnb", "expected"), [
    ("quote", "0", [("USDT", "0.06000001"), ("USDT", "0.05999999")]),
    ("BNB", "5", [("BNB", "0.0001"), ("BNB", "0.0001")]),  # 0.06000001 / 600, rounded
    ("BNB", "0.00015", [("BNB", "0.0001"), ("USDT", "0.05999999")]),  # BNB runs short
])
def test_commission_modes(mode: Any, bnb: str, expected: list[tuple[str, str]]) -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=3, commission_asset=mode,
                                   balances={"BNB": bnb}) as emulator, \
                async_client(emulator) as ex:
            quote(emulator)
            quote(emulator, "BNBUSDT", "599.99", "600.01")
            await ex.create_order(BTC, "market", "buy", "0.001")
            await ex.create_order(BTC, "market", "sell", "0.001")
            trades = await ex.fetch_my_trades(BTC)
            assert [(t["fee"]["currency"], D(t["fee"]["cost"])) for t in trades] == \
                [(a, D(c)) for a, c in expected]
            fees: dict[str, Decimal] = {}
            for asset, cost in expected:
                fees[asset] = fees.get(asset, D(0)) + D(cost)
            balance = await ex.fetch_balance()
            assert D(balance["BNB"]["total"]) == D(bnb) - fees.get("BNB", D(0))
            assert D(balance["USDT"]["total"]) == (D(100_000) - D("60.00001") + D("59.99999")
                                                   - fees.get("USDT", D(0)))
            assert D(balance["BTC"]["total"]) == 0

    run(scenario())


def test_limit_orders_gtc_ioc_fok_and_post_only() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=4) as emulator, async_client(emulator) as ex:
            quote(emulator, size="0.002")
            resting = await ex.create_order(BTC, "limit", "buy", "0.001", "59000")
            assert resting["status"] == "open" and resting["info"]["timeInForce"] == "GTC"
            assert balances(await ex.fetch_balance(), "USDT")["USDT"] == (D(99_941), D(59))
            missed = await ex.create_order(BTC, "limit", "buy", "0.001", "59000",
                                           {"timeInForce": "IOC"})
            assert missed["status"] == "expired" and D(missed["filled"]) == 0
            assert missed["info"]["expiryReason"] == "UNFILLED_IOC_QUANTITY_EXPIRED"
            partial = await ex.create_order(BTC, "limit", "buy", "0.003", "60000.01",
                                            {"timeInForce": "IOC"})
            assert partial["status"] == "expired" and D(partial["filled"]) == D("0.002")
            quote(emulator, size="0.002")
            killed = await ex.create_order(BTC, "limit", "buy", "0.003", "60000.01",
                                           {"timeInForce": "FOK"})
            assert killed["status"] == "expired" and D(killed["filled"]) == 0
            assert killed["info"]["expiryReason"] == "UNFILLED_FOK_ORDER_EXPIRED"
            fetched = await ex.fetch_order(killed["id"], BTC)
            assert fetched["status"] == "expired" and fetched["clientOrderId"] == \
                killed["clientOrderId"]
            assert emulator.control.ledger_id(int(killed["id"])) is None
            assert [r.code for r in emulator.control.ledger.rejects] == \
                ["FILL_OR_KILL_UNFILLABLE"]
            filled = await ex.create_order(BTC, "limit", "buy", "0.002", "60000.01",
                                           {"timeInForce": "FOK"})
            assert filled["status"] == "closed"
            with pytest.raises(ccxt.OrderImmediatelyFillable):
                await ex.create_order(BTC, "limit", "sell", "0.001", "59999.99",
                                      {"postOnly": True})
            maker = await ex.create_order(BTC, "limit", "sell", "0.001", "60500",
                                          {"postOnly": True})
            assert maker["status"] == "open" and maker["info"]["type"] == "LIMIT_MAKER"
            assert maker["postOnly"] is True
            ids = [int(o["id"]) for o in (resting, missed, partial, killed, filled, maker)]
            assert ids == [1, 2, 3, 4, 5, 6]  # the expired FOK order has its place
            assert [o["orderId"] for o in emulator.control.orders()] == [1, 2, 3, 5, 6]
            everything = await ex.fetch_orders(BTC)
            assert [(o["id"], o["status"]) for o in everything] == [
                ("1", "open"), ("2", "expired"), ("3", "expired"), ("4", "expired"),
                ("5", "closed"), ("6", "open")]

    run(scenario())


def test_fetch_and_cancel_by_order_id_and_by_client_order_id() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=5) as emulator, async_client(emulator) as ex:
            first = await ex.create_order(BTC, "limit", "buy", "0.001", "59000",
                                          {"clientOrderId": "cid-1"})
            second = await ex.create_order(BTC, "limit", "buy", "0.002", "58000",
                                           {"clientOrderId": "cid-2"})
            assert (await ex.fetch_order(first["id"], BTC))["clientOrderId"] == "cid-1"
            by_cid = await ex.fetch_order(None, BTC, {"clientOrderId": "cid-2"})
            assert by_cid["id"] == second["id"] and D(by_cid["amount"]) == D("0.002")
            assert [o["id"] for o in await ex.fetch_open_orders(BTC)] == ["1", "2"]
            cancelled = await ex.cancel_order(first["id"], BTC)
            assert cancelled["status"] == "canceled"
            assert cancelled["info"]["origClientOrderId"] == "cid-1"
            cancelled = await ex.cancel_order(None, BTC, {"clientOrderId": "cid-2"})
            assert cancelled["status"] == "canceled" and cancelled["id"] == second["id"]
            with pytest.raises(ccxt.OrderNotFound, match="-2011"):
                await ex.cancel_order(first["id"], BTC)
            with pytest.raises(ccxt.OrderNotFound, match="-2013"):
                await ex.fetch_order("999", BTC)
            with pytest.raises(ccxt.OrderNotFound, match="-2013"):
                await ex.fetch_order(first["id"], "ETH/USDT")  # another symbol's order
            assert await ex.fetch_open_orders(BTC) == []
            # A client order id may be used again once its order is closed, not while open.
            again = await ex.create_order(BTC, "limit", "buy", "0.001", "59000",
                                          {"clientOrderId": "cid-1"})
            with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
                await ex.create_order(BTC, "limit", "buy", "0.001", "59000",
                                      {"clientOrderId": "cid-1"})
            latest = await ex.fetch_order(None, BTC, {"clientOrderId": "cid-1"})
            assert latest["id"] == again["id"] == "3" and latest["status"] == "open"
            ledger = emulator.control._call(emulator.control._ledger_json)
            assert ledger["duplicate_client_order_ids"] == {"cid-1": 2}
            assert [r.code for r in emulator.control.ledger.rejects] == []

    run(scenario())


def test_cancel_all_orders_of_one_symbol() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=6) as emulator, async_client(emulator) as ex:
            for price in ("59000", "58000", "57000"):
                await ex.create_order(BTC, "limit", "buy", "0.001", price)
            eth = await ex.create_order("ETH/USDT", "limit", "buy", "0.01", "2900")
            cancelled = await ex.cancel_all_orders(BTC)
            assert [(o["id"], o["status"]) for o in cancelled] == [
                ("1", "canceled"), ("2", "canceled"), ("3", "canceled")]
            assert len({o["info"]["clientOrderId"] for o in cancelled}) == 1
            assert [o["id"] for o in await ex.fetch_open_orders("ETH/USDT")] == [eth["id"]]
            with pytest.raises(ccxt.OrderNotFound):
                await ex.cancel_all_orders(BTC)
            assert emulator.control.statistics().orders_cancelled == 3

    run(scenario())


def test_partial_fills_as_taker_then_maker_and_the_order_trades() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=7) as emulator, async_client(emulator) as ex:
            quote(emulator, size="0.001")
            order = await ex.create_order(BTC, "limit", "buy", "0.003", "60000.01")
            assert order["status"] == "open" and D(order["filled"]) == D("0.001")
            emulator.control.set_quote("BTCUSDT", "59998.00", "59999.00", "5", "5")
            done = await ex.fetch_order(order["id"], BTC)
            assert done["status"] == "closed" and D(done["cost"]) == D("180.00003")
            trades = await ex.fetch_order_trades(order["id"], BTC)
            assert [(t["id"], t["takerOrMaker"], D(t["amount"]), D(t["price"]))
                    for t in trades] == [("1", "taker", D("0.001"), D("60000.01")),
                                         ("2", "maker", D("0.002"), D("60000.01"))]
            await ex.create_order("ETH/USDT", "market", "buy", "0.01")
            eth = await ex.fetch_my_trades("ETH/USDT")
            assert [t["id"] for t in eth] == ["1"]  # trade ids count per symbol
            later = await ex.fetch_my_trades(BTC, None, None, {"fromId": 2})
            assert [t["id"] for t in later] == ["2"]
            recent = await ex.fetch_my_trades(BTC, None, 1)
            assert [t["id"] for t in recent] == ["2"]
            since = await ex.fetch_my_trades(BTC, trades[0]["timestamp"], 1)
            assert [t["id"] for t in since] == ["1"]

    run(scenario())


def test_edit_order_is_a_cancel_replace_and_its_failures_are_exchange_errors() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=8) as emulator, async_client(emulator) as ex:
            quote(emulator)
            old = await ex.create_order(BTC, "limit", "buy", "0.001", "59000")
            new = await ex.edit_order(old["id"], BTC, "limit", "buy", "0.002", "59500",
                                      {"clientOrderId": "edited"})
            assert (new["id"], new["status"], new["clientOrderId"]) == ("2", "open", "edited")
            assert D(new["price"]) == D(59500) and D(new["amount"]) == D("0.002")
            assert (await ex.fetch_order(old["id"], BTC))["status"] == "canceled"
            assert emulator.control.orders()[1]["replaces"] == 1
            # -2022: the cancel fails (the order is closed), nothing new is placed
            with pytest.raises(ccxt.ExchangeError, match="-2022") as info:
                await ex.edit_order(old["id"], BTC, "limit", "buy", "0.001", "59600")
            assert type(info.value) is ccxt.ExchangeError
            assert '"newOrderResult":"NOT_ATTEMPTED"' in str(info.value)
            # -2021: the cancel succeeds, the new order is refused (it would take)
            with pytest.raises(ccxt.ExchangeError, match="-2021") as info:
                await ex.edit_order(new["id"], BTC, "limit", "buy", "0.002", "60000.01",
                                    {"postOnly": True})
            assert type(info.value) is ccxt.ExchangeError
            assert "Order would immediately match and take." in str(info.value)
            assert await ex.fetch_open_orders(BTC) == []
            # ALLOW_FAILURE: the cancel fails, the new order is placed anyway (-2021)
            with pytest.raises(ccxt.ExchangeError, match="-2021") as info:
                await ex.edit_order(old["id"], BTC, "limit", "buy", "0.001", "59100",
                                    {"cancelReplaceMode": "ALLOW_FAILURE"})
            assert '"cancelResult":"FAILURE","newOrderResult":"SUCCESS"' in str(info.value)
            assert [o["price"] for o in await ex.fetch_open_orders(BTC)] == ["59100.00000000"]
            assert emulator.control.orders()[-1]["replaces"] is None

    run(scenario())


def test_the_synchronous_client_through_run_in_thread() -> None:
    with run_in_thread(seed=9, cash="1000") as emulator:
        ex = sync_client(emulator)
        ex.load_markets()
        emulator.control.set_quote("ETHUSDT", "2999.99", "3000.01", "10", "10")
        order = ex.create_order("ETH/USDT", "market", "buy", "0.1")
        assert order["status"] == "closed" and order["fee"]["cost"] == "0.00010000"
        assert D(ex.fetch_balance()["USDT"]["free"]) == D(1000) - D("300.001")
        with pytest.raises(ccxt.InsufficientFunds):
            ex.create_order("ETH/USDT", "market", "buy", "1")
        assert ex.fetch_order(order["id"], "ETH/USDT")["status"] == "closed"


def test_market_data_variants_test_orders_and_list_windows() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=10, symbols=["BTCUSDT", "ETHUSDT"]) as emulator, \
                async_client(emulator) as ex:
            quote(emulator)
            one = await ex.public_get_exchangeinfo({"symbol": "ETHUSDT"})
            assert [s["symbol"] for s in one["symbols"]] == ["ETHUSDT"]
            both = await ex.public_get_exchangeinfo({"symbols": '["ETHUSDT","BTCUSDT"]'})
            assert [s["symbol"] for s in both["symbols"]] == ["ETHUSDT", "BTCUSDT"]
            filters = {f["filterType"]: f for f in one["symbols"][0]["filters"]}
            assert filters["LOT_SIZE"] == {"filterType": "LOT_SIZE", "minQty": "0.00010000",
                                           "maxQty": "90000.00000000", "stepSize": "0.00010000"}
            assert filters["MARKET_LOT_SIZE"]["stepSize"] == "0.00010000"
            assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
            with pytest.raises(ccxt.BadSymbol):
                await ex.public_get_exchangeinfo({"symbols": '["ETHUSDT","XRPUSDT"]'})
            bids_asks = await ex.fetch_bids_asks(["BTC/USDT", "ETH/USDT"])
            assert D(bids_asks[BTC]["ask"]) == D("60000.01")
            book = await ex.public_get_ticker_bookticker({"symbol": "BTCUSDT"})
            assert book == {"symbol": "BTCUSDT", "bidPrice": "59999.99000000",
                            "bidQty": "5.00000000", "askPrice": "60000.01000000",
                            "askQty": "5.00000000"}
            assert await ex.create_order(BTC, "market", "buy", "0.001", None,
                                         {"test": True}) is not None
            assert emulator.control.ledger.order_count == 0  # a test order is only checked
            with pytest.raises(ccxt.InsufficientFunds):
                await ex.create_order(BTC, "market", "sell", "0.001", None, {"test": True})
            await ex.create_order(BTC, "market", "buy", "0.001")
            await ex.create_order(BTC, "limit", "buy", "0.001", "59000")
            assert await ex.fetch_my_trades(BTC, None, None, {"endTime": 1}) == []
            with pytest.raises(ccxt.BadRequest, match="-1127"):
                await ex.fetch_my_trades(BTC, None, None, {"startTime": 1,
                                                           "endTime": 90_000_000})
            with pytest.raises(ccxt.BadRequest, match="-1128"):
                await ex.fetch_my_trades(BTC, None, None, {"fromId": 1, "startTime": 1})
            listed = await ex.fetch_orders(BTC, None, None, {"orderId": 2})
            assert [o["id"] for o in listed] == ["2"]
            assert [o["id"] for o in await ex.fetch_orders(BTC, None, 1)] == ["2"]
            counts = await ex.private_get_ratelimit_order()
            assert [(c["interval"], c["count"]) for c in counts] == [("SECOND", 2), ("DAY", 2)]

    run(scenario())
