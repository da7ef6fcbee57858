"""Injected faults act at the wire, as a real client sees them, and the ledger tells the
truth about what the venue did."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import requests

from venuekit_alpaca.emulator import AlpacaEmulator, run_in_thread
from venuekit_mock.sim import FaultPlan

from .emulator_clients import (
    APIError,
    limit,
    market,
    trade_updates,
    trading_client,
    until,
)


@pytest.fixture
def emulator() -> Iterator[AlpacaEmulator]:
    with run_in_thread(seed=3, stall=1.0) as running:
        yield running


def test_dropped_response_leaves_one_order_found_by_client_id(emulator: AlpacaEmulator
                                                              ) -> None:
    emulator.control.script_fault("drop_response", 1)
    client = trading_client(emulator)
    with pytest.raises(requests.ConnectionError):
        client.submit_order(limit("AAPL", 1, 150.0, cid="lost-answer"))
    found = client.get_order_by_client_id("lost-answer")
    assert found.status.value == "new"
    with pytest.raises(APIError) as info:  # a blind re-send is refused, never duplicated
        client.submit_order(limit("AAPL", 1, 150.0, cid="lost-answer"))
    assert info.value.status_code == 422 and info.value.code == 40010001
    ledger = emulator.control.ledger
    assert ledger.order_count == 1 and ledger.duplicate_client_ids() == {}
    assert [f.kind for f in ledger.faults] == ["drop_response"]
    assert emulator.control.order_id(ledger.orders[0].venue_order_id) == str(found.id)


def test_timeout_holds_the_request_and_the_venue_does_not_act(emulator: AlpacaEmulator
                                                              ) -> None:
    emulator.control.script_fault("timeout", 1)
    client = trading_client(emulator, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        client.submit_order(limit("AAPL", 1, 150.0, cid="slow"))
    assert time.monotonic() - started < 5
    with pytest.raises(APIError) as info:
        trading_client(emulator).get_order_by_client_id("slow")
    assert info.value.status_code == 404
    assert emulator.control.ledger.order_count == 0
    # A client patient enough sees the connection close after the stall, with no answer.
    emulator.control.script_fault("timeout", 2)
    with pytest.raises(requests.ConnectionError):
        trading_client(emulator, timeout=10).submit_order(limit("AAPL", 1, 150.0))


def test_server_error_before_and_after_acting() -> None:
    with run_in_thread(seed=3, faults=FaultPlan(schedule={"server_error": [1, 2]})) as emu:
        client = trading_client(emu)
        with pytest.raises(APIError) as info:
            client.submit_order(market("AAPL", 1, cid="first"))
        assert info.value.status_code == 500
        assert json.loads(str(info.value)) == {"code": 50010000,
                                               "message": "internal server error"}
        assert emu.control.ledger.order_count == 0
    plan = FaultPlan(schedule={"server_error": [1]}, server_error_after_accept=True)
    with run_in_thread(seed=3, faults=plan) as emu:
        client = trading_client(emu)
        with pytest.raises(APIError) as info:
            client.submit_order(market("AAPL", 1, cid="acted"))
        assert info.value.status_code == 500
        assert client.get_order_by_client_id("acted").status.value == "filled"


def test_injected_rate_limit_is_a_429_with_retry_after(emulator: AlpacaEmulator) -> None:
    emulator.control.script_fault("rate_limit", 1)
    headers = {"APCA-API-KEY-ID": emulator.api_key,
               "APCA-API-SECRET-KEY": emulator.secret_key}
    answer = requests.post(emulator.base_url + "/v2/orders", headers=headers, timeout=10,
                           json={"symbol": "AAPL", "qty": "1", "side": "buy",
                                 "type": "market", "time_in_force": "day"})
    assert answer.status_code == 429 and answer.json()["code"] == 42910000
    assert int(answer.headers["Retry-After"]) >= 1
    assert "X-Ratelimit-Remaining" in answer.headers
    assert emulator.control.ledger.order_count == 0


def test_authentication_failure_fault_is_a_401(emulator: AlpacaEmulator) -> None:
    emulator.control.fail_authentication()
    with pytest.raises(APIError) as info:
        trading_client(emulator).get_account()
    assert info.value.status_code == 401
    emulator.control.fail_authentication(False)
    assert trading_client(emulator).get_account().status.value == "ACTIVE"


def test_duplicate_and_out_of_order_stream_events() -> None:
    async def scenario() -> list[str]:
        received: list[Any] = []
        async with AlpacaEmulator(seed=4) as emulator, trade_updates(emulator, received):
            emulator.control.script_fault("duplicate_event", 1)
            emulator.control.script_fault("out_of_order", 2)
            client = trading_client(emulator)
            await asyncio.to_thread(client.submit_order, limit("AAPL", 1, 150.0))
            await asyncio.to_thread(client.submit_order, market("MSFT", 1))
            await until(lambda: len(received) >= 4)
            await asyncio.sleep(0.1)
            return [f"{u.order.symbol}:{u.event}" for u in received]

    events = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert events == ["AAPL:new", "AAPL:new", "MSFT:fill", "MSFT:new"]


def test_stream_disconnect_drops_the_socket_and_alpaca_py_reconnects() -> None:
    async def scenario() -> tuple[aiohttp.WSMsgType, list[str]]:
        received: list[Any] = []
        async with AlpacaEmulator(seed=4) as emulator:
            async with aiohttp.ClientSession() as session, \
                    session.ws_connect(emulator.stream_url) as ws:
                await ws.send_str(json.dumps({"action": "auth", "key": emulator.api_key,
                                              "secret": emulator.secret_key}))
                await ws.receive(timeout=5)
                await ws.send_str(json.dumps({"action": "listen",
                                              "data": {"streams": ["trade_updates"]}}))
                await ws.receive(timeout=5)
                await until(lambda: emulator.control.stream_subscribers == 1)
                emulator.control.disconnect_stream()
                dropped = (await ws.receive(timeout=5)).type
            async with trade_updates(emulator, received):
                emulator.control.disconnect_stream()
                await until(lambda: emulator.control.stream_subscribers == 0)
                await until(lambda: emulator.control.stream_subscribers == 1, timeout=15)
                client = trading_client(emulator)
                await asyncio.to_thread(client.submit_order, market("F", 1))
                await until(lambda: len(received) >= 2)
            return dropped, [u.event for u in received]

    dropped, events = asyncio.run(asyncio.wait_for(scenario(), 40))
    assert dropped in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    assert events == ["new", "fill"]
