"""Injected faults act at the wire, as ccxt sees them, and the ledger tells the truth
about what the venue did."""

from __future__ import annotations

import asyncio
import json
import re
import time

import aiohttp
import ccxt
import pytest

from venuekit_ccxt.emulator import BinanceEmulator
from venuekit_mock.sim import FaultPlan

from .emulator_clients import async_client, pro_client, run, until

BTC = "BTC/USDT"


def test_a_dropped_response_leaves_the_order_to_be_found_by_client_id() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=1) as emulator, async_client(emulator) as ex:
            await ex.load_markets()
            emulator.control.script_fault("drop_response", 1)
            started = time.monotonic()
            with pytest.raises(ccxt.NetworkError):
                await ex.create_order(BTC, "limit", "buy", "0.001", "59000",
                                      {"clientOrderId": "lost-answer"})
            assert time.monotonic() - started < 2
            found = await ex.fetch_order(None, BTC, {"clientOrderId": "lost-answer"})
            assert found["status"] == "open" and found["id"] == "1"
            with pytest.raises(ccxt.InvalidOrder, match=re.escape("Duplicate order sent.")):
                await ex.create_order(BTC, "limit", "buy", "0.001", "59000",
                                      {"clientOrderId": "lost-answer"})
            ledger = emulator.control.ledger
            assert ledger.order_count == 1 and [f.kind for f in ledger.faults] == \
                ["drop_response"]
            assert emulator.control.order_id(ledger.orders[0].venue_order_id) == 1

    run(scenario())


def test_a_timeout_holds_the_request_and_the_venue_does_not_act() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=2, stall=1.0) as emulator, \
                async_client(emulator, timeout=300) as impatient, \
                async_client(emulator) as patient:
            await impatient.load_markets()
            await patient.load_markets()
            emulator.control.script_fault("timeout", 1, 2)
            started = time.monotonic()
            with pytest.raises(ccxt.RequestTimeout):
                await impatient.create_order(BTC, "market", "buy", "0.001",
                                             None, {"clientOrderId": "slow"})
            assert time.monotonic() - started < 1
            with pytest.raises(ccxt.OrderNotFound):
                await patient.fetch_order(None, BTC, {"clientOrderId": "slow"})
            started = time.monotonic()
            with pytest.raises(ccxt.ExchangeNotAvailable):  # closed after the stall
                await patient.create_order(BTC, "market", "buy", "0.001")
            assert 0.9 < time.monotonic() - started < 5
            assert emulator.control.ledger.order_count == 0
            assert [f.kind for f in emulator.control.ledger.faults] == ["timeout", "timeout"]

    run(scenario())


@pytest.mark.parametrize("after_accept", [False, True])
def test_server_errors_before_and_after_acting(after_accept: bool) -> None:
    async def scenario() -> None:
        plan = FaultPlan(schedule={"server_error": [1]}, server_error_after_accept=after_accept)
        async with BinanceEmulator(seed=3, faults=plan) as emulator, \
                async_client(emulator) as ex:
            with pytest.raises(ccxt.OperationFailed, match="-1001") as info:
                await ex.create_order(BTC, "market", "buy", "0.001", None,
                                      {"clientOrderId": "unknown-outcome"})
            assert "Internal error; unable to process your request." in str(info.value)
            assert isinstance(info.value, ccxt.OperationFailed)
            if after_accept:
                found = await ex.fetch_order(None, BTC, {"clientOrderId": "unknown-outcome"})
                assert found["status"] == "closed"
            else:
                with pytest.raises(ccxt.OrderNotFound):
                    await ex.fetch_order(None, BTC, {"clientOrderId": "unknown-outcome"})
            assert emulator.control.ledger.order_count == (1 if after_accept else 0)

    run(scenario())


def test_injected_rate_limit_and_authentication_failure() -> None:
    async def scenario() -> None:
        plan = FaultPlan(retry_after=3.0)
        async with BinanceEmulator(seed=4, faults=plan) as emulator, \
                async_client(emulator) as ex, aiohttp.ClientSession() as session:
            await ex.load_markets()
            emulator.control.script_fault("rate_limit", 1)
            with pytest.raises(ccxt.DDoSProtection, match="429"):
                await ex.create_order(BTC, "market", "buy", "0.001")
            assert ex.last_response_headers["Retry-After"] == "3"
            assert emulator.control.statistics().responses_429 == 1
            assert emulator.control.ledger.order_count == 0
            emulator.control.fail_authentication()
            with pytest.raises(ccxt.AuthenticationError, match="-2015"):
                await ex.fetch_balance()
            assert (await ex.fetch_ticker(BTC))["bid"] is not None  # public data needs no key
            async with session.ws_connect(emulator.ws_api_url) as ws:
                await ws.send_str(json.dumps({"id": "1", "method":
                                              "userDataStream.subscribe.signature",
                                              "params": {"apiKey": emulator.api_key}}))
                answer = json.loads((await ws.receive(timeout=5)).data)
                assert answer["status"] == 401 and answer["error"]["code"] == -2015
            emulator.control.fail_authentication(False)
            assert "USDT" in await ex.fetch_balance()
            # ccxt reads a -2015 after a successful private call as a temporary ban
            emulator.control.fail_authentication()
            with pytest.raises(ccxt.DDoSProtection, match="-2015"):
                await ex.fetch_balance()

    run(scenario())


def test_eventual_consistency_and_latency() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=5, visibility_delay=0.3, latency=0.05) as emulator, \
                async_client(emulator) as ex:
            await ex.load_markets()
            started = time.monotonic()
            order = await ex.create_order(BTC, "limit", "buy", "0.001", "59000")
            assert time.monotonic() - started >= 0.05
            with pytest.raises(ccxt.OrderNotFound, match="-2013"):
                await ex.fetch_order(order["id"], BTC)
            assert await ex.fetch_open_orders(BTC) == []
            await asyncio.sleep(0.3)
            assert (await ex.fetch_order(order["id"], BTC))["status"] == "open"

    run(scenario())


def test_a_stream_delay_postpones_events_but_loses_none() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=6, stream_delay=0.2) as emulator, \
                pro_client(emulator) as ex:
            watch = asyncio.create_task(ex.watch_my_trades(BTC))
            await until(lambda: emulator.control.stream_subscribers == 1)
            started = time.monotonic()
            await ex.create_order(BTC, "market", "buy", "0.001")
            trades = await asyncio.wait_for(watch, 5)
            assert time.monotonic() - started >= 0.2
            assert [t["id"] for t in trades] == ["1"]

    run(scenario())
