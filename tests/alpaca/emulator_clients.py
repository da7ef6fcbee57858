"""Real alpaca-py clients pointed at an emulator, bounded in time (shared by the emulator
tests)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

with warnings.catch_warnings():
    # alpaca-py imports websockets' legacy client, deprecated since websockets 14: every
    # alpaca-py name the emulator tests use is imported here, under this filter.
    warnings.filterwarnings("ignore", "websockets.legacy is deprecated", DeprecationWarning)
    from alpaca.common.exceptions import APIError
    from alpaca.data.historical.stock import StockHistoricalDataClient
    from alpaca.data.requests import StockLatestQuoteRequest
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderClass, OrderStatus, QueryOrderStatus
    from alpaca.trading.requests import (
        GetOrdersRequest,
        LimitOrderRequest,
        MarketOrderRequest,
        ReplaceOrderRequest,
        StopLimitOrderRequest,
        StopLossRequest,
        StopOrderRequest,
        TakeProfitRequest,
        TrailingStopOrderRequest,
    )
    from alpaca.trading.stream import TradingStream

from venuekit_alpaca.emulator import AlpacaEmulator

__all__ = [
    "APIError",
    "GetOrdersRequest",
    "LimitOrderRequest",
    "MarketOrderRequest",
    "OrderClass",
    "OrderStatus",
    "QueryOrderStatus",
    "ReplaceOrderRequest",
    "StockLatestQuoteRequest",
    "StopLimitOrderRequest",
    "StopLossRequest",
    "StopOrderRequest",
    "TakeProfitRequest",
    "TradingClient",
    "TradingStream",
    "TrailingStopOrderRequest",
    "data_client",
    "limit",
    "market",
    "trade_updates",
    "trading_client",
    "until",
    "wait_until",
]

REQUEST_TIMEOUT = 10.0


def market(symbol: str, qty: object, side: str = "buy", cid: str | None = None
           ) -> MarketOrderRequest:
    return MarketOrderRequest(symbol=symbol, qty=qty, side=side, time_in_force="day",
                              client_order_id=cid)


def limit(symbol: str, qty: object, price: float, side: str = "buy", cid: str | None = None,
          tif: str = "day") -> LimitOrderRequest:
    return LimitOrderRequest(symbol=symbol, qty=qty, side=side, time_in_force=tif,
                             limit_price=price, client_order_id=cid)


def _bounded(client: Any, timeout: float) -> None:
    """alpaca-py sets no HTTP timeout and retries 429/504 itself: bound every request and
    turn the retries off, so a test fails fast instead of hanging."""
    client._session.request = functools.partial(client._session.request, timeout=timeout)
    client._retry = 0


def trading_client(emulator: AlpacaEmulator, *, timeout: float = REQUEST_TIMEOUT,
                   api_key: str | None = None, secret_key: str | None = None
                   ) -> TradingClient:
    client = TradingClient(api_key or emulator.api_key, secret_key or emulator.secret_key,
                           paper=True, url_override=emulator.base_url)
    _bounded(client, timeout)
    return client


def data_client(emulator: AlpacaEmulator) -> StockHistoricalDataClient:
    client = StockHistoricalDataClient(emulator.api_key, emulator.secret_key,
                                       url_override=emulator.data_url)
    _bounded(client, REQUEST_TIMEOUT)
    return client


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def trade_updates(emulator: AlpacaEmulator, received: list[Any]
                        ) -> AsyncIterator[TradingStream]:
    """A real TradingStream listening to the emulator, its updates appended to ``received``;
    yields once the emulator counts the subscription."""
    stream = TradingStream(emulator.api_key, emulator.secret_key, paper=True,
                           url_override=emulator.stream_url)

    async def on_update(update: Any) -> None:
        received.append(update)

    stream.subscribe_trade_updates(on_update)
    task = asyncio.create_task(stream._run_forever())
    try:
        await until(lambda: emulator.control.stream_subscribers > 0)
        yield stream
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stream.close()
