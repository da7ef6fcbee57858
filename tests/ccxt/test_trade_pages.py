"""Reading executions over many pages: none skipped (many trades share a millisecond),
none twice, and each request after the first charged to the rate limiter."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from venuekit.limited import LimitedVenue
from venuekit.ratelimit import RateLimiter
from venuekit.venue import RateLimitPool
from venuekit_ccxt.venue import BinanceVenue, CcxtVenue

from .test_convert import SYMBOL_INFO

T0 = 1_765_000_000_000
# 2,500 trades, five in each millisecond: a page of 1,000 ends inside a millisecond.
TRADES = [{"id": str(n + 1), "order": "7", "symbol": "BTC/USDT", "side": "buy",
           "amount": "0.001", "price": "60000.00", "timestamp": T0 + n // 5,
           "fee": {"cost": "0.000001", "currency": "BTC"}} for n in range(2500)]


class Exchange:
    """The one call under test, answered as Binance does (by time, inclusive, or by id)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.requests: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def fetch_my_trades(self, symbol: str, since: int | None, limit: int,
                              params: dict[str, Any]) -> list[dict[str, Any]]:
        self.requests.append({"since": since, **params})
        if "fromId" in params:
            rows = [t for t in TRADES if int(t["id"]) >= params["fromId"]]
        else:
            rows = [t for t in TRADES if since is None or t["timestamp"] >= since]
        return rows[:limit]


def _venue(kind: type[CcxtVenue], **settings: Any) -> tuple[CcxtVenue, Exchange]:
    venue = kind(base_url="http://127.0.0.1:9", api_key="k", secret="s", **settings)
    real = venue._exchange
    real.options["crossMarginPairsData"] = []
    real.options["isolatedMarginPairsData"] = []
    real.set_markets([real.parse_market(SYMBOL_INFO)])
    venue._markets_at = time.monotonic()
    fake = Exchange(real)
    venue._exchange = fake
    return venue, fake


@pytest.mark.parametrize(("kind", "settings", "pages_by"), [
    (BinanceVenue, {}, "fromId"),  # by trade id: 1,000 + 1,000 + 500
    # Any exchange: by time, again from the last millisecond (only Binance knows fromId).
    (CcxtVenue, {"exchange": "binance"}, "since"),
])
def test_every_trade_is_read_once_and_every_request_is_charged(
        kind: type[CcxtVenue], settings: dict[str, Any], pages_by: str) -> None:
    venue, exchange = _venue(kind, **settings)
    limiter = RateLimiter([RateLimitPool("weight", 10_000, 60.0)],
                          weights={"fills_since": {"weight": 20}})
    limited = LimitedVenue(venue, limiter)

    async def read() -> list[Any]:
        try:
            return list(await limited.fills_since(datetime.fromtimestamp(T0 / 1000, UTC),
                                                  "BTC/USDT"))
        finally:
            await venue.close()

    fills = asyncio.run(read())
    assert len(fills) == len(TRADES)  # none twice
    assert sorted(int(f.trade_id) for f in fills) == list(range(1, len(TRADES) + 1))
    assert {f.venue_order_id for f in fills} == {"BTCUSDT:7"}
    assert fills[0].fee == Decimal("0.000001") and fills[0].fee_currency == "BTC"
    requests = len(exchange.requests)
    assert requests == 3
    assert all(request.get(pages_by) is not None for request in exchange.requests[1:])
    if pages_by == "since":
        assert not any("fromId" in request for request in exchange.requests)
    assert limiter.stats().pools[0].used == 20 * requests  # one charge per request
