"""The ``/stream`` websocket: both authentication dialects, binary JSON frames, and the
trade_updates events as the real alpaca-py TradingStream parses them."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp

from venuekit_alpaca.emulator import AlpacaEmulator

from .emulator_clients import (
    OrderStatus,
    ReplaceOrderRequest,
    limit,
    market,
    trade_updates,
    trading_client,
    until,
)

TIMEOUT = 20.0


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


async def receive(ws: aiohttp.ClientWebSocketResponse) -> tuple[aiohttp.WSMsgType, Any]:
    message = await ws.receive(timeout=5)
    if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
        return message.type, json.loads(message.data)
    return message.type, None


def test_trading_stream_receives_new_partial_fill_fill_with_execution_details() -> None:
    async def scenario() -> list[Any]:
        received: list[Any] = []
        async with AlpacaEmulator(seed=5) as emulator, trade_updates(emulator, received):
            emulator.control.set_quote("TSLA", "179.99", "180.01", "100", "3")
            client = trading_client(emulator)
            order = await asyncio.to_thread(client.submit_order, market("TSLA", 5, cid="m"))
            await until(lambda: len(received) >= 2)
            still = await asyncio.to_thread(client.get_order_by_id, order.id)
            assert still.status is OrderStatus.PARTIALLY_FILLED
            emulator.control.advance(1)  # a new quote with fresh size takes the rest
            await until(lambda: len(received) >= 3)
            return received

    received = run(scenario())
    assert [u.event for u in received] == ["new", "partial_fill", "fill"]
    new, partial, fill = received
    assert new.order.status is OrderStatus.NEW and new.order.client_order_id == "m"
    assert (partial.qty, partial.price, partial.position_qty) == (3.0, 180.01, 3.0)
    assert partial.order.status is OrderStatus.PARTIALLY_FILLED
    assert partial.order.filled_qty == "3" and partial.order.filled_avg_price == "180.01"
    assert fill.qty == 2.0 and fill.position_qty == 5.0
    assert fill.order.status is OrderStatus.FILLED and fill.order.filled_qty == "5"
    assert partial.execution_id != fill.execution_id and fill.execution_id is not None


def test_cancel_replace_and_expiry_events() -> None:
    async def scenario() -> list[Any]:
        received: list[Any] = []
        async with AlpacaEmulator(seed=5) as emulator, trade_updates(emulator, received):
            client = trading_client(emulator)
            first = await asyncio.to_thread(client.submit_order, limit("AAPL", 1, 150.0))
            new = await asyncio.to_thread(client.replace_order_by_id, first.id,
                                          ReplaceOrderRequest(limit_price=151.0))
            await asyncio.to_thread(client.cancel_order_by_id, new.id)
            await asyncio.to_thread(client.submit_order,
                                    limit("AAPL", 1, 150.0, tif="ioc"))
            await until(lambda: len(received) >= 6)
            return received

    events = run(scenario())
    # An IOC's unfilled rest ends canceled, as at Alpaca ("expired" is a day order's end).
    assert [u.event for u in events] == ["new", "replaced", "new", "canceled", "new",
                                         "canceled"]
    assert events[1].order.replaced_by == events[2].order.id
    assert events[2].order.replaces == events[0].order.id
    assert events[3].order.canceled_at is not None
    assert events[5].order.status is OrderStatus.CANCELED
    assert events[5].order.canceled_at is not None and events[5].order.expired_at is None


def test_both_authentication_dialects_and_binary_frames() -> None:
    async def scenario() -> list[Any]:
        seen: list[Any] = []
        async with AlpacaEmulator(seed=1) as emulator, aiohttp.ClientSession() as session:
            hello = {"action": "auth", "key": emulator.api_key, "secret": emulator.secret_key}
            for first in (hello, {"action": "authenticate",
                                  "data": {"key_id": emulator.api_key,
                                           "secret_key": emulator.secret_key}}):
                async with session.ws_connect(emulator.stream_url) as ws:
                    await ws.send_str(json.dumps(first))
                    seen.append(await receive(ws))
                    await ws.send_str(json.dumps({"action": "listen",
                                                  "data": {"streams": ["trade_updates"]}}))
                    seen.append(await receive(ws))
                    await until(lambda: emulator.control.stream_subscribers == 1)
                    client = trading_client(emulator)
                    await asyncio.to_thread(client.submit_order, limit("F", 1, 11.0))
                    seen.append(await receive(ws))
        return seen

    seen = run(scenario())
    authorized = (aiohttp.WSMsgType.BINARY,
                  {"stream": "authorization",
                   "data": {"status": "authorized", "action": "authenticate"}})
    listening = (aiohttp.WSMsgType.BINARY,
                 {"stream": "listening", "data": {"streams": ["trade_updates"]}})
    assert seen[0] == authorized and seen[3] == authorized
    assert seen[1] == listening and seen[4] == listening
    for kind, message in (seen[2], seen[5]):
        assert kind is aiohttp.WSMsgType.BINARY and message["stream"] == "trade_updates"
        assert message["data"]["event"] == "new"
        assert Decimal(message["data"]["order"]["limit_price"]) == Decimal(11)


def test_bad_credentials_and_listen_before_auth_are_unauthorized() -> None:
    async def scenario() -> list[Any]:
        seen: list[Any] = []
        async with AlpacaEmulator(seed=1) as emulator, aiohttp.ClientSession() as session:
            async with session.ws_connect(emulator.stream_url) as ws:
                await ws.send_str(json.dumps({"action": "listen",
                                              "data": {"streams": ["trade_updates"]}}))
                seen.append(await receive(ws))
                await ws.send_str(json.dumps({"action": "auth", "key": emulator.api_key,
                                              "secret": "wrong"}))
                seen.append(await receive(ws))
                seen.append(await receive(ws))
            assert emulator.control.stream_subscribers == 0
        return seen

    listen, auth, after = run(scenario())
    assert listen[1] == {"stream": "authorization",
                         "data": {"status": "unauthorized", "action": "listen"}}
    assert auth[1] == {"stream": "authorization",
                       "data": {"status": "unauthorized", "action": "authenticate"}}
    assert after[0] in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


def test_fill_of_a_resting_limit_order_when_the_market_crosses_it() -> None:
    async def scenario() -> tuple[list[Any], Any]:
        received: list[Any] = []
        async with AlpacaEmulator(seed=2) as emulator, trade_updates(emulator, received):
            client = trading_client(emulator)
            order = await asyncio.to_thread(client.submit_order,
                                            limit("MSFT", 2, 405.0, side="buy"))
            emulator.control.set_quote("MSFT", "404.00", "404.50")
            await until(lambda: len(received) >= 2)
            final = await asyncio.to_thread(client.get_order_by_id, order.id)
            return received, final

    received, final = run(scenario())
    assert [u.event for u in received] == ["new", "fill"]
    assert received[1].price == 405.0 and final.filled_avg_price == "405"
