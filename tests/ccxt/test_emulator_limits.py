"""Binance's rate limits as the emulator enforces them: request weight per IP with the
``X-MBX-USED-WEIGHT-*`` headers, 429 with ``Retry-After``, the 418 ban for a client that
ignores it, and the new-order counts (windows shortened for the tests)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import ccxt
import pytest

from venuekit_ccxt.emulator import BinanceEmulator

from .emulator_clients import async_client, run

BTC = "BTC/USDT"


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, str], dict]:
    async with session.get(url) as reply:
        return reply.status, dict(reply.headers), await reply.json()


def test_every_answer_carries_the_used_weight_of_its_endpoints() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=1) as emulator, async_client(emulator) as ex, \
                aiohttp.ClientSession() as session:
            base = emulator.base_url + "/api/v3"
            used = []
            for path in ("/time", "/depth?symbol=BTCUSDT&limit=5",
                         "/depth?symbol=BTCUSDT&limit=500", "/ticker/24hr?symbol=BTCUSDT",
                         "/ticker/24hr", "/exchangeInfo", "/ticker/bookTicker"):
                status, headers, _ = await get(session, base + path)
                assert status == 200 and "X-MBX-USED-WEIGHT-2S" not in headers
                used.append(int(headers["X-MBX-USED-WEIGHT-1M"]))
            assert used == [1, 6, 31, 33, 113, 133, 137]
            info = await ex.public_get_exchangeinfo()
            assert info["rateLimits"] == [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
                 "limit": 100},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1,
                 "limit": 200000}]
            await ex.create_order(BTC, "limit", "buy", "0.001", "59000")
            headers = ex.last_response_headers
            # 137, exchangeInfo twice (ours, then load_markets), the order
            assert headers["X-MBX-USED-WEIGHT-1M"] == "178"
            assert (headers["X-MBX-ORDER-COUNT-10S"], headers["X-MBX-ORDER-COUNT-1D"]) == (
                "1", "1")
            await ex.fetch_open_orders(BTC)
            assert ex.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "184"
            assert "X-MBX-ORDER-COUNT-10S" not in ex.last_response_headers

    run(scenario())


def test_429_with_retry_after_then_418_for_a_client_that_ignores_it() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=2, weight_limit=30, weight_window=1.0,
                                   ban_seconds=0.5, ban_grace=0.0) as emulator, \
                async_client(emulator) as ex, aiohttp.ClientSession() as session:
            await ex.load_markets()  # exchangeInfo: 20
            url = emulator.base_url + "/api/v3/exchangeInfo"
            status, headers, body = await get(session, url)
            assert status == 429 and headers["Retry-After"] == "1"
            assert (headers["X-MBX-USED-WEIGHT-1M"], headers["X-MBX-USED-WEIGHT-1S"]) == (
                "20", "20")
            assert body == {"code": -1003, "msg": "Too many requests; current limit of "
                            "IP(127.0.0.1) is 30 requests per second. Please use WebSocket "
                            "Streams for live updates to avoid polling the API."}
            with pytest.raises(ccxt.DDoSProtection, match="418"):
                await ex.fetch_time()  # before Retry-After has passed: banned
            status, headers, body = await get(session, url)
            assert status == 418 and headers["Retry-After"] == "1"
            assert body["code"] == -1003 and body["msg"].startswith(
                "Way too much request weight used; IP banned until ")
            until_ms = int(body["msg"].split("until ")[1].split(".")[0])
            assert 0 < until_ms - time.time() * 1000 <= 600
            stats = emulator.control.statistics()
            assert (stats.responses_429, stats.responses_418) == (1, 2)
            await asyncio.sleep(0.6)  # the ban is over, the weight has not all left yet
            assert await ex.fetch_time() > 0

    run(scenario())


def test_requests_in_flight_when_the_429_was_sent_get_a_429_not_a_ban() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=2, weight_limit=30, weight_window=1.0,
                                   ban_seconds=0.5, ban_grace=0.3) as emulator, \
                async_client(emulator) as ex, aiohttp.ClientSession() as session:
            await ex.load_markets()  # exchangeInfo: 20
            url = emulator.base_url + "/api/v3/exchangeInfo"
            statuses = [status for status, _, _ in await asyncio.gather(
                *(get(session, url) for _ in range(5)))]
            assert statuses == [429] * 5
            await asyncio.sleep(0.4)  # past the grace, before Retry-After: banned
            status, _, body = await get(session, url)
            assert status == 418 and body["code"] == -1003
            stats = emulator.control.statistics()
            assert (stats.responses_429, stats.responses_418) == (5, 1)

    run(scenario())


def test_a_client_that_waits_for_retry_after_is_not_banned() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=3, weight_limit=25, weight_window=1.0) as emulator, \
                async_client(emulator) as ex:
            await ex.load_markets()
            with pytest.raises(ccxt.DDoSProtection, match="429"):
                await ex.fetch_balance()  # 20 more
            await asyncio.sleep(int(ex.last_response_headers["Retry-After"]))
            assert "USDT" in await ex.fetch_balance()
            assert emulator.control.statistics().responses_418 == 0

    run(scenario())


def test_new_orders_beyond_the_order_count_are_refused_with_1015() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=4, orders_per_10s=3, orders_per_day=5,
                                   weight_window=6.0) as emulator, \
                async_client(emulator) as ex:
            for n in range(3):
                await ex.create_order(BTC, "market", "buy", "0.001")
                assert ex.last_response_headers["X-MBX-ORDER-COUNT-10S"] == str(n + 1)
            with pytest.raises(ccxt.DDoSProtection, match="-1015") as info:
                await ex.create_order(BTC, "market", "buy", "0.001")
            # The message names the window enforced: Binance's 10 seconds, scaled (6 s / 6).
            assert "Too many new orders; current limit is 3 orders per 1 SECOND." in \
                str(info.value)
            assert ex.last_response_headers["Retry-After"] == "1"
            assert len(await ex.fetch_my_trades(BTC)) == 3  # no ban follows a -1015
            await asyncio.sleep(1.05)  # the 10-second window, scaled: 6 s / 6
            for _ in range(2):
                await ex.create_order(BTC, "market", "buy", "0.001")
            with pytest.raises(ccxt.DDoSProtection, match="per 1 DAY"):
                await ex.create_order(BTC, "market", "buy", "0.001")
            assert emulator.control.ledger.order_count == 5
            assert emulator.control.statistics().responses_429 == 2

    run(scenario())
