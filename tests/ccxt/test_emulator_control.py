"""The emulator's control surface (Python and HTTP), its configuration, its addresses, its
saved state and its shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import socket
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from venuekit.errors import Code, VenueKitError
from venuekit_ccxt.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_SECRET_KEY,
    BinanceEmulator,
    run_in_thread,
)

from .emulator_clients import D, async_client, run, until

BTC = "BTC/USDT"


def test_control_rows_ids_balances_and_statistics() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=1) as emulator, async_client(emulator) as ex, \
                aiohttp.ClientSession() as session:
            control = emulator.control
            control.set_quote("BTCUSDT", "59999.99", "60000.01")
            control.set_balance("BNB", "2.5")
            control.set_balance("ADA", "100")  # an asset without a pair
            control.set_position("ETHUSDT", "1.5", "2900")
            control.set_cash("5000")
            placed = await ex.create_order(BTC, "limit", "buy", "0.001", "60000.01",
                                           {"clientOrderId": "row-1"})
            await ex.create_market_buy_order_with_cost("ETH/USDT", "10")
            await ex.create_order("ETH/USDT", "limit", "buy", "0.01", "2000",
                                  {"clientOrderId": "row-3"})
            await ex.edit_order("3", "ETH/USDT", "limit", "buy", "0.02", "2100",
                                {"clientOrderId": "row-4"})
            rows = control.orders()
            assert rows[0] == {
                "orderId": 1, "clientOrderId": "row-1", "symbol": "BTCUSDT", "side": "BUY",
                "type": "LIMIT", "timeInForce": "GTC", "origQty": "0.001",
                "price": "60000.01", "quoteOrderQty": None, "replaces": None, "orderIndex": 1}
            assert {k: v for k, v in rows[1].items() if k != "clientOrderId"} == {
                "orderId": 2, "symbol": "ETHUSDT", "side": "BUY", "type": "MARKET",
                "timeInForce": "GTC", "origQty": "0.0033", "price": None,
                "quoteOrderQty": "10", "replaces": None, "orderIndex": 2}
            assert [(r["orderId"], r["clientOrderId"], r["price"], r["replaces"],
                     r["orderIndex"]) for r in rows[2:]] == [
                (3, "row-3", "2000", None, 3), (4, "row-4", "2100", 3, 4)]
            fills = control.fills()
            assert fills[0] == {"tradeId": 1, "orderId": 1, "clientOrderId": "row-1",
                                "symbol": "BTCUSDT", "side": "BUY", "qty": "0.001",
                                "price": "60000.01", "commission": "0.000001",
                                "commissionAsset": "BTC", "time": fills[0]["time"]}
            assert fills[0]["time"] == placed["timestamp"]
            ledger_id = control.ledger.orders[0].venue_order_id
            assert control.order_id(ledger_id) == 1 and control.ledger_id(1) == ledger_id
            assert control.ledger_id(99) is None
            balance = await ex.fetch_balance()
            assert {a: D(balance[a]["total"]) for a in ("BNB", "ADA", "ETH", "BTC")} == {
                "BNB": D("2.5"), "ADA": D(100), "ETH": D("1.5") + D("0.0033") - D("0.0000033"),
                "BTC": D("0.000999")}
            stats = control.statistics()
            assert (stats.orders_accepted, stats.orders_cancelled, stats.fills,
                    stats.responses_429, stats.responses_418) == (4, 1, 2, 0, 0)
            # the HTTP form
            url = emulator.control_url
            headers = {"X-MBX-APIKEY": emulator.api_key,
                       "X-MBX-SECRET-KEY": emulator.secret_key}
            async with session.get(url + "/ledger") as reply:
                assert reply.status == 401
            async with session.get(url + "/ledger", headers=headers) as reply:
                ledger = await reply.json()
            assert ledger["orders"] == control.orders() and ledger["fills"] == fills
            assert ledger["replaces"] == [{"oldOrderId": 3, "newOrderId": 4}]
            assert [c["orderId"] for c in ledger["cancels"]] == [3]
            assert ledger["duplicate_client_order_ids"] == {}
            assert (ledger["responses_429"], ledger["responses_418"]) == (0, 0)
            for path, body in (("/quote", {"symbol": "SOLUSDT", "bid": "149.99",
                                           "ask": "150.01"}),
                               ("/advance", {"steps": 2}),
                               ("/balance", {"asset": "BNB", "amount": "7"}),
                               ("/cash", {"amount": "6000"}),
                               ("/position", {"symbol": "SOLUSDT", "quantity": "3"}),
                               ("/faults", {"schedule": {"drop_response": [9]}}),
                               ("/auth_failure", {"enabled": False}),
                               ("/rate_limit", {"weight_limit": 7000, "reset": True}),
                               ("/end_session", {}), ("/disconnect_stream", {})):
                async with session.post(url + path, json=body, headers=headers) as reply:
                    assert reply.status == 200, (path, await reply.text())
            async with session.post(url + "/cash", json={"amount": 1.5},
                                    headers=headers) as reply:
                assert reply.status == 400 and "decimal strings" in \
                    (await reply.json())["message"]
            balance = await ex.fetch_balance()
            assert (D(balance["BNB"]["total"]), D(balance["SOL"]["total"])) == (D(7), D(3))
            assert emulator.state.limiter.weight_limit == 7000

    run(scenario())


def test_control_balance_changes_reach_the_user_data_stream() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=2) as emulator, aiohttp.ClientSession() as session, \
                async_client(emulator) as ex:
            await ex.load_markets()
            watch = asyncio.create_task(_first_event(session, emulator))
            await until(lambda: emulator.control.stream_subscribers == 1)
            emulator.control.set_balance("BNB", "3")
            event = await asyncio.wait_for(watch, 5)
            assert event["e"] == "outboundAccountPosition"
            assert event["B"] == [{"a": "BNB", "f": "3.00000000", "l": "0.00000000"}]

    run(scenario())


async def _first_event(session: aiohttp.ClientSession, emulator: BinanceEmulator) -> Any:
    from .test_emulator_stream import receive, subscribe

    async with session.ws_connect(emulator.ws_api_url) as ws:
        assert (await subscribe(ws, emulator))["status"] == 200
        return (await receive(ws))["event"]


def test_from_config_builds_the_emulator_and_names_a_bad_setting() -> None:
    emulator = BinanceEmulator.from_config({
        "seed": "7", "cash": "2500", "bnb": "4", "balances.ADA": "10",
        "commission_bps": "7.5", "commission_asset": "bnb", "weight_limit": "1200",
        "orders_per_10s": "50", "orders_per_day": "1000", "weight_window": "30",
        "ban_seconds": "5", "stall": "2", "api_key": "k", "secret_key": "s",
        "symbols": "BTCUSDT,BNBUSDT", "symbols.BTCUSDT.price": "65000",
        "faults.drop_response": "0.1", "latency": "0.01"}, port=0)
    account = emulator.state.account
    assert [s.symbol for s in emulator.venue.simulator.symbols] == ["BTCUSDT", "BNBUSDT"]
    assert emulator.venue.simulator.market.books["BTCUSDT"].spec.price == Decimal(65000)
    assert (account.cash, account.balance("BNB"), account.balance("ADA")) == (
        Decimal(2500), (Decimal(4), Decimal(0)), (Decimal(10), Decimal(0)))
    assert (account.rate, account.commission_asset) == (Decimal("0.00075"), "BNB")
    limiter = emulator.state.limiter
    assert (limiter.weight_limit, limiter.orders_per_10s, limiter.orders_per_day,
            limiter.weight_window, limiter.order_window, limiter.ban_seconds) == (
        1200, 50, 1000, 30.0, 5.0, 5.0)
    assert (emulator.api_key, emulator.secret_key, emulator.state.stall) == ("k", "s", 2.0)
    assert emulator.venue.faults.probability("drop_response") == Decimal("0.1")
    for bad, named in ((("colour", "red"),), "colour"), ((("currency", "EUR"),), "currency"), \
            ((("weight_limit", "many"),), "weight_limit"), \
            ((("commission_asset", "ETH"),), "commission_asset"), \
            ((("symbols", "DOGEUSDT"),), "DOGEUSDT"), ((("cash", 1.5),), "cash"), \
            ((("weight_limit", "0"),), "weight_limit"):
        with pytest.raises(VenueKitError) as info:
            BinanceEmulator.from_config(dict(bad))
        assert info.value.code is Code.INVALID_CONFIG and named in info.value.message
    with pytest.raises(VenueKitError, match="not a loopback address"):
        BinanceEmulator(host="10.1.2.3")


def test_addresses_and_client_settings() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=3) as emulator:
            base = f"http://127.0.0.1:{emulator.port}"
            assert emulator.endpoints() == {
                "rest": base, "ws-api": f"ws://127.0.0.1:{emulator.port}/ws-api/v3",
                "control": base + "/_venuekit"}
            assert emulator.ws_url == f"ws://127.0.0.1:{emulator.port}/ws"
            assert emulator.client_settings() == {
                "BINANCE_API_KEY": DEFAULT_API_KEY, "BINANCE_API_SECRET": DEFAULT_SECRET_KEY,
                "BINANCE_BASE_URL": base}
            assert repr(emulator) == f"BinanceEmulator({base}, seed=3)"
        other = BinanceEmulator(secret_key="mine")
        assert other.client_settings()["BINANCE_API_SECRET"] != "mine"

    run(scenario())


def test_a_saved_state_keeps_orders_fills_commissions_and_ids(tmp_path: Path) -> None:
    state = tmp_path / "binance.state"

    async def first() -> None:
        async with BinanceEmulator(seed=4, state_path=state) as emulator, \
                async_client(emulator) as ex:
            await ex.create_order(BTC, "limit", "buy", "0.001", "59000", {"clientOrderId": "a"})
            await ex.create_order(BTC, "limit", "buy", "1", "59000", {"timeInForce": "FOK"})
            await ex.create_order(BTC, "market", "buy", "0.001", None, {"clientOrderId": "b"})

    async def second() -> None:
        async with BinanceEmulator(seed=4, state_path=state) as emulator, \
                async_client(emulator) as ex:
            assert [o["id"] for o in await ex.fetch_orders(BTC)] == ["1", "2", "3"]
            again = await ex.create_order(BTC, "market", "buy", "0.001", None,
                                          {"clientOrderId": "b"})
            assert again["id"] == "4"
            trades = await ex.fetch_my_trades(BTC)
            assert [(t["id"], t["fee"]["cost"]) for t in trades] == [
                ("1", "0.00000100"), ("2", "0.00000100")]
            assert (await ex.fetch_order(None, BTC, {"clientOrderId": "a"}))["id"] == "1"

    run(first())
    run(second())


def test_run_in_thread_and_stop_close_every_connection() -> None:
    with run_in_thread(seed=5) as emulator:
        client = socket.create_connection(("127.0.0.1", emulator.port), timeout=2)
    with client, contextlib.suppress(ConnectionResetError):
        assert client.recv(1) == b""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
    with pytest.raises(VenueKitError, match="cannot listen"), \
            run_in_thread(port=emulator.port, host="127.0.0.1") as first, \
            run_in_thread(port=first.port):
        pass  # the second one cannot bind the first one's port


def test_a_stalled_request_is_released_when_the_emulator_stops() -> None:
    async def scenario() -> None:
        emulator = BinanceEmulator(seed=6, stall=30)
        await emulator.start()
        async with async_client(emulator) as ex:
            await ex.load_markets()
            emulator.control.script_fault("timeout", 1)
            pending = asyncio.create_task(ex.create_order(BTC, "market", "buy", "0.001"))
            await until(lambda: bool(emulator.control.ledger.faults))
            await emulator.stop()
            with pytest.raises(Exception):  # noqa: B017 (closed: any network error)
                await asyncio.wait_for(pending, 5)
        assert json.dumps(emulator.control.orders()) == "[]"

    run(scenario(), timeout=15)
