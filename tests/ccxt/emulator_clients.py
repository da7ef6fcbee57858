"""Real ccxt clients pointed at a Binance emulator, bounded in time (shared by the emulator
tests).

Each client is redirected as CCXT_KIS.md §B.1 says: every URL in ``urls['api']``
(including ccxt.pro's ``ws`` and ``ws-api`` tables) is rewritten to the emulator's address,
keeping its path; the options keep ``load_markets`` on ``/api/v3/exchangeInfo``; ccxt's own
rate limiter is off; ``number = str`` makes ccxt return exact decimal strings.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

import ccxt
import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import requests

from venuekit_ccxt.emulator import BinanceEmulator

__all__ = [
    "SPOT_OPTIONS",
    "D",
    "async_client",
    "point",
    "pro_client",
    "run",
    "signed",
    "sync_client",
    "until",
]

T = TypeVar("T")

SPOT_OPTIONS = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                "fetchMargins": False}
TIMEOUT_MS = 10_000
D = Decimal


def point(exchange: Any, base_url: str) -> None:
    """Rewrite every URL of ``exchange.urls['api']`` to ``base_url``, keeping its path."""
    ws_base = base_url.replace("http://", "ws://", 1)

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        if isinstance(value, str):
            for scheme, base in (("https://", base_url), ("wss://", ws_base)):
                if value.startswith(scheme):
                    rest = value[len(scheme):]
                    return base + (rest[rest.index("/"):] if "/" in rest else "")
        return value

    exchange.urls["api"] = rewrite(exchange.urls["api"])


def _configure(exchange: Any, emulator: BinanceEmulator) -> Any:
    point(exchange, emulator.base_url)
    exchange.number = str
    # ccxt waits 250 ms on close for TLS transports to shut down; plain loopback HTTP
    # closes at once.
    exchange.timeout_on_exit = 0
    return exchange


def _settings(emulator: BinanceEmulator, options: dict[str, Any] | None,
              keys: bool) -> dict[str, Any]:
    settings: dict[str, Any] = {"enableRateLimit": False, "timeout": TIMEOUT_MS,
                                "options": dict(SPOT_OPTIONS if options is None else options)}
    if keys:
        settings |= {"apiKey": emulator.api_key, "secret": emulator.secret_key}
    return settings


@contextlib.asynccontextmanager
async def async_client(emulator: BinanceEmulator, *, options: dict[str, Any] | None = None,
                       keys: bool = True, **extra: Any) -> AsyncIterator[Any]:
    """A ``ccxt.async_support.binance`` pointed at ``emulator`` (closed on exit)."""
    exchange = _configure(ccxt_async.binance(_settings(emulator, options, keys) | extra),
                          emulator)
    try:
        yield exchange
    finally:
        await exchange.close()


@contextlib.asynccontextmanager
async def pro_client(emulator: BinanceEmulator, **extra: Any) -> AsyncIterator[Any]:
    """A ``ccxt.pro.binance`` pointed at ``emulator`` (closed on exit)."""
    exchange = _configure(ccxt_pro.binance(_settings(emulator, None, True) | extra), emulator)
    try:
        yield exchange
    finally:
        await exchange.close()


def sync_client(emulator: BinanceEmulator) -> Any:
    """The synchronous ``ccxt.binance`` (the emulator must run in another thread)."""
    return _configure(ccxt.binance(_settings(emulator, None, True)), emulator)


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run one test scenario, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def signed(emulator: BinanceEmulator, method: str, path: str, params: dict[str, Any],
           *, secret: str | None = None, timestamp: int | None = None,
           api_key: str | None = None) -> requests.Response:
    """A hand-signed request, for what ccxt cannot be made to send."""
    query = dict(params)
    query["timestamp"] = timestamp if timestamp is not None else time.time_ns() // 1_000_000
    payload = urlencode(query)
    signature = hmac.new((secret or emulator.secret_key).encode(), payload.encode(),
                         hashlib.sha256).hexdigest()
    return requests.request(method, f"{emulator.base_url}{path}?{payload}"
                            f"&signature={signature}", timeout=10,
                            headers={"X-MBX-APIKEY": api_key or emulator.api_key})
