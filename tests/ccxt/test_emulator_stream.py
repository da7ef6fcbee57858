"""The ws-api user data stream, driven by the real ccxt.pro 4.5.90 client (and, for what
ccxt.pro does not show, a raw websocket): events agree with REST, fills, fees and
cumulative quantities included; faults and disconnects end a watch promptly."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import aiohttp
import ccxt
import pytest

from venuekit_ccxt.emulator import BinanceEmulator

from .emulator_clients import D, async_client, pro_client, run, until

BTC = "BTC/USDT"
REPORT_FIELDS = {"e", "E", "s", "c", "S", "o", "f", "q", "p", "P", "F", "g", "C", "x", "X",
                 "r", "i", "l", "z", "L", "n", "N", "T", "t", "I", "w", "m", "M", "O", "Z",
                 "Y", "Q", "W", "V"}


@contextlib.asynccontextmanager
async def collecting(watch: Callable[[], Coroutine[Any, Any, list[Any]]],
                     into: list[Any]) -> AsyncIterator[asyncio.Task[None]]:
    """Call ``watch`` in a loop, appending what each call returns."""
    async def loop() -> None:
        while True:
            into.extend(await watch())

    task = asyncio.create_task(loop())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def sign(secret: str, params: dict[str, Any]) -> str:
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


async def subscribe(ws: aiohttp.ClientWebSocketResponse, emulator: BinanceEmulator, *,
                    secret: str | None = None, key: str | None = None,
                    request_id: str = "1") -> dict[str, Any]:
    params: dict[str, Any] = {"apiKey": key or emulator.api_key, "recvWindow": 10000,
                              "timestamp": time.time_ns() // 1_000_000}
    params["signature"] = sign(secret or emulator.secret_key, params)
    await ws.send_str(json.dumps({"id": request_id, "method":
                                  "userDataStream.subscribe.signature", "params": params}))
    return await receive(ws)


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    body: dict[str, Any] = json.loads(message.data)
    return body


def test_watch_orders_and_my_trades_on_one_socket_agree_with_rest() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=1) as emulator, pro_client(emulator) as ex:
            emulator.control.set_quote("BTCUSDT", "59999.99", "60000.01", "5", "0.001")
            orders: list[Any] = []
            trades: list[Any] = []
            async with collecting(lambda: ex.watch_orders(BTC), orders), \
                    collecting(lambda: ex.watch_my_trades(BTC), trades):
                await until(lambda: emulator.control.stream_subscribers == 1)
                await asyncio.sleep(0.05)
                assert emulator.control.stream_connections == 1  # one socket, one subscribe
                limit = await ex.create_order(BTC, "limit", "buy", "0.003", "60000.01",
                                              {"clientOrderId": "partial"})
                emulator.control.set_quote("BTCUSDT", "59998.00", "59999.00", "5", "5")
                sold = await ex.create_order(BTC, "market", "sell", "0.001")
                resting = await ex.create_order(BTC, "limit", "buy", "0.001", "59000",
                                                {"clientOrderId": "to-cancel"})
                await ex.cancel_order(resting["id"], BTC)
                await until(lambda: len(trades) == 3 and any(
                    o["id"] == resting["id"] and o["status"] == "canceled" for o in orders))
            rest_trades = await ex.fetch_my_trades(BTC)
            assert [(t["id"], t["order"], t["side"], t["takerOrMaker"], t["price"],
                     t["amount"], t["fee"]) for t in trades] == \
                [(t["id"], t["order"], t["side"], t["takerOrMaker"], t["price"], t["amount"],
                  t["fee"]) for t in rest_trades]
            assert [t["takerOrMaker"] for t in trades] == ["taker", "maker", "taker"]
            last: dict[str, Any] = {}
            for order in orders:
                last[order["id"]] = order
            for placed in (limit, sold, resting):
                streamed = last[placed["id"]]
                fetched = await ex.fetch_order(placed["id"], BTC)
                assert (streamed["status"], D(streamed["filled"]), D(streamed["cost"])) == \
                    (fetched["status"], D(fetched["filled"]), D(fetched["cost"]))
                assert streamed["clientOrderId"] == fetched["clientOrderId"]
            assert D(last[limit["id"]]["cost"]) == D("180.00003")
            assert last[resting["id"]]["clientOrderId"] == "to-cancel"  # the C field
            assert [(D(t["amount"]), t["takerOrMaker"]) for t in trades
                    if t["order"] == limit["id"]] == [(D("0.001"), "taker"),
                                                      (D("0.002"), "maker")]

    run(scenario())


def test_watch_balance_after_a_fill_matches_the_account() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=2, commission_asset="BNB",
                                   balances={"BNB": "5"}) as emulator, \
                pro_client(emulator) as ex:
            emulator.control.set_quote("BTCUSDT", "59999.99", "60000.01")
            emulator.control.set_quote("BNBUSDT", "599.99", "600.01")
            watched: list[Any] = []

            async def watch() -> list[Any]:
                return [await ex.watch_balance()]

            async with collecting(watch, watched):
                await until(lambda: emulator.control.stream_subscribers == 1)
                order = await ex.create_order(BTC, "market", "buy", "0.001")
                assert order["fee"] == {"currency": "BNB", "cost": "0.00010000"}
                await until(lambda: bool(watched) and D(watched[-1]["BTC"]["free"]) > 0)
                await asyncio.sleep(0.05)
            streamed = watched[-1]
            fetched = await ex.fetch_balance()
            for asset, total in (("BTC", D("0.001")), ("BNB", D("4.9999")),
                                 ("USDT", D(100_000) - D("60.00001"))):
                assert D(streamed[asset]["free"]) == D(fetched[asset]["free"]) == total
                assert D(streamed[asset]["used"]) == D(fetched[asset]["used"]) == 0

    run(scenario())


def test_the_raw_user_data_stream() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=3) as emulator, aiohttp.ClientSession() as session, \
                async_client(emulator) as ex, \
                session.ws_connect(emulator.ws_api_url, autoping=False) as ws:
            refused = await subscribe(ws, emulator, secret="not-the-secret")
            assert (refused["id"], refused["status"], refused["error"]) == (
                "1", 400, {"code": -1022, "msg": "Signature for this request is not "
                           "valid."})
            refused = await subscribe(ws, emulator, key="another-key")
            assert (refused["status"], refused["error"]["code"]) == (401, -2015)
            accepted = await subscribe(ws, emulator, request_id="abc")
            assert (accepted["id"], accepted["status"], accepted["result"]) == (
                "abc", 200, {"subscriptionId": 0})
            assert accepted["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
            again = await subscribe(ws, emulator, request_id="2")
            assert again["error"]["code"] == -2035
            await ws.ping(b"hi")
            pong = await ws.receive(timeout=5)
            assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"hi")
            emulator.control.set_quote("BTCUSDT", "59999.99", "60000.01")
            await ex.create_order(BTC, "market", "buy", "0.001", None,
                                  {"clientOrderId": "raw-1"})
            events = [await receive(ws) for _ in range(4)]
            assert [e["subscriptionId"] for e in events] == [0, 0, 0, 0]
            kinds = [(e["event"]["e"], e["event"].get("x")) for e in events]
            assert kinds == [("executionReport", "NEW"), ("outboundAccountPosition", None),
                             ("executionReport", "TRADE"),
                             ("outboundAccountPosition", None)]
            new, trade = events[0]["event"], events[2]["event"]
            assert set(new) == set(trade) == REPORT_FIELDS
            assert (new["n"], new["N"], new["t"], new["X"]) == ("0", None, -1, "NEW")
            assert (trade["c"], trade["C"], trade["X"], trade["i"], trade["t"]) == (
                "raw-1", "", "FILLED", 1, 1)
            assert (trade["l"], trade["L"], trade["z"], trade["Z"], trade["Y"]) == (
                "0.00100000", "60000.01000000", "0.00100000", "60.00001000",
                "60.00001000")
            assert (trade["n"], trade["N"], trade["m"], trade["o"], trade["f"]) == (
                "0.00000100", "BTC", False, "MARKET", "GTC")
            assert trade["I"] > new["I"]
            balances = {b["a"]: (b["f"], b["l"]) for b in events[3]["event"]["B"]}
            assert balances == {"BTC": ("0.00099900", "0.00000000"),
                                "USDT": ("99939.99999000", "0.00000000")}
            await ws.send_str(json.dumps({"id": 9, "method": "userDataStream.unsubscribe"}))
            ended, answer = await receive(ws), await receive(ws)
            assert ended == {"subscriptionId": 0, "event": {
                "e": "eventStreamTerminated", "E": ended["event"]["E"]}}
            assert (answer["id"], answer["result"]) == (9, {})
            await until(lambda: emulator.control.stream_subscribers == 0)

    run(scenario())


def test_cancel_and_expiry_events_name_the_cancel_and_the_reason() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=4) as emulator, aiohttp.ClientSession() as session, \
                async_client(emulator) as ex:
            async with session.ws_connect(emulator.ws_api_url) as ws:
                assert (await subscribe(ws, emulator))["status"] == 200
                order = await ex.create_order(BTC, "limit", "buy", "0.001", "59000",
                                              {"clientOrderId": "keep-me"})
                await ex.private_delete_order({"symbol": "BTCUSDT", "orderId": order["id"],
                                               "newClientOrderId": "the-cancel"})
                await ex.create_order(BTC, "limit", "buy", "0.001", "59000",
                                      {"timeInForce": "IOC", "clientOrderId": "ioc"})
                await ex.create_order(BTC, "limit", "buy", "1", "59000",
                                      {"timeInForce": "FOK", "clientOrderId": "fok"})
                reports = []
                while len(reports) < 6:
                    event = (await receive(ws))["event"]
                    if event["e"] == "executionReport":
                        reports.append(event)
            assert [(r["c"], r["C"], r["x"], r["X"]) for r in reports] == [
                ("keep-me", "", "NEW", "NEW"), ("the-cancel", "keep-me", "CANCELED", "CANCELED"),
                ("ioc", "", "NEW", "NEW"), ("ioc", "", "EXPIRED", "EXPIRED"),
                ("fok", "", "NEW", "NEW"), ("fok", "", "EXPIRED", "EXPIRED")]
            assert [r.get("eR") for r in reports] == [
                None, None, None, "UNFILLED_IOC_QUANTITY_EXPIRED", None,
                "UNFILLED_FOK_ORDER_EXPIRED"]
            assert [r["i"] for r in reports] == [1, 1, 2, 2, 3, 3]

    run(scenario())


def test_disconnect_stream_ends_a_watch_promptly_and_a_new_watch_reconnects() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=5) as emulator, pro_client(emulator) as ex:
            watch = asyncio.create_task(ex.watch_orders(BTC))
            await until(lambda: emulator.control.stream_subscribers == 1)
            started = time.monotonic()
            emulator.control.disconnect_stream()
            with pytest.raises(ccxt.NetworkError):
                await asyncio.wait_for(watch, 5)
            assert time.monotonic() - started < 2
            await until(lambda: emulator.control.stream_connections == 0)
            again = asyncio.create_task(ex.watch_orders(BTC))
            await until(lambda: emulator.control.stream_subscribers == 1)
            await ex.create_order(BTC, "market", "buy", "0.001")
            assert (await asyncio.wait_for(again, 5))[-1]["id"] == "1"

    run(scenario())


def test_stream_faults_duplicate_events_and_drop_the_connection() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=6) as emulator, aiohttp.ClientSession() as session, \
                async_client(emulator) as ex:
            emulator.control.script_fault("duplicate_event", 1)
            emulator.control.script_fault("stream_disconnect", 2)
            async with session.ws_connect(emulator.ws_api_url) as ws:
                assert (await subscribe(ws, emulator))["status"] == 200
                await ex.create_order(BTC, "limit", "buy", "0.001", "59000")
                first, _, second, _ = [await receive(ws) for _ in range(4)]  # + balances
                assert first == second and first["event"]["x"] == "NEW"  # the same event
                await ex.create_order(BTC, "limit", "buy", "0.001", "58000")
                message = await ws.receive(timeout=5)
                assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
            assert [f.kind for f in emulator.control.ledger.faults] == [
                "duplicate_event", "stream_disconnect"]
            async with pro_client(emulator) as pro:
                emulator.control.script_fault("stream_disconnect", 3)
                watch = asyncio.create_task(pro.watch_orders(BTC))
                await until(lambda: emulator.control.stream_subscribers == 1)
                await ex.create_order(BTC, "limit", "buy", "0.001", "57000")
                with pytest.raises(ccxt.NetworkError):
                    await asyncio.wait_for(watch, 5)

    run(scenario())


def test_public_ticker_and_book_ticker_streams() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=7) as emulator, pro_client(emulator) as ex:
            emulator.control.set_quote("BTCUSDT", "59999.99", "60000.01")
            ticker = await asyncio.wait_for(ex.watch_ticker(BTC), 5)
            assert D(ticker["close"]) == D("60000.00")
            async with aiohttp.ClientSession() as session, \
                    session.ws_connect(emulator.base_url.replace("http", "ws") + "/ws/1") as ws:
                await ws.send_str(json.dumps({"method": "SUBSCRIBE",
                                              "params": ["btcusdt@bookTicker"], "id": 7}))
                assert await receive(ws) == {"result": None, "id": 7}
                book = await receive(ws)
                assert (book["s"], book["b"], book["a"]) == ("BTCUSDT", "59999.99000000",
                                                             "60000.01000000")
                emulator.control.set_quote("BTCUSDT", "60010.00", "60010.02")
                moved = await receive(ws)
                assert (moved["b"], moved["a"]) == ("60010.00000000", "60010.02000000")

    run(scenario())


def test_session_logon_and_the_other_ws_api_methods() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=8) as emulator, aiohttp.ClientSession() as session, \
                session.ws_connect(emulator.ws_api_url) as ws:
            async def call(method: str, params: dict[str, Any] | None = None,
                           request_id: Any = 1) -> dict[str, Any]:
                frame: dict[str, Any] = {"id": request_id, "method": method}
                if params is not None:
                    frame["params"] = params
                await ws.send_str(json.dumps(frame))
                return await receive(ws)

            assert (await call("ping"))["result"] == {}
            assert abs((await call("time"))["result"]["serverTime"] - time.time() * 1000) < 5e3
            refused = await call("userDataStream.subscribe")
            assert (refused["status"], refused["error"]["code"]) == (401, -1002)
            params: dict[str, Any] = {"apiKey": emulator.api_key,
                                      "timestamp": time.time_ns() // 1_000_000}
            params["signature"] = sign(emulator.secret_key, params)
            logged = await call("session.logon", params)
            assert logged["result"]["apiKey"] == emulator.api_key
            assert (await call("userDataStream.subscribe"))["result"] == {"subscriptionId": 0}
            assert (await call("session.subscriptions"))["result"] == [{"subscriptionId": 0}]
            assert (await call("session.status"))["result"]["userDataStream"] is True
            assert (await call("session.logout"))["result"]["apiKey"] is None
            unknown = await call("order.place", {"symbol": "BTCUSDT"}, "x")
            assert (unknown["id"], unknown["status"], unknown["error"]["code"]) == (
                "x", 400, -1020)
            await ws.send_str("not json")
            garbled = await receive(ws)
            assert (garbled["id"], garbled["error"]) == (None, {"code": -1135,
                                                               "msg": "Invalid JSON Request"})

    run(scenario())
