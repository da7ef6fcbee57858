"""A venue seen through the rate limiter: every call waits for its pools first.

The engine talks to its venue only through :class:`LimitedVenue`, so reads, creates,
cancels and lookups all share the budget the venue declared, and a rate-limit answer
slows every later call down (the limiter's reactive backoff).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from decimal import Decimal

from .model import Account, Fill, Instrument, OrderRequest, OrderSnapshot, OrderUpdate, Quote
from .ratelimit import RateLimiter
from .venue import OrderRef, Venue

__all__ = ["LimitedVenue"]


class LimitedVenue(Venue):
    """Delegates to ``inner`` after ``limiter`` admits the call."""

    def __init__(self, inner: Venue, limiter: RateLimiter) -> None:
        self.inner = inner
        self.limiter = limiter
        self.name = inner.name  # type: ignore[misc]
        self.capabilities = inner.capabilities

    async def connect(self) -> None:
        await self.inner.connect()

    async def close(self) -> None:
        await self.inner.close()

    async def instruments(self, symbols: Sequence[str] | None = None) -> Sequence[Instrument]:
        async with self.limiter.slot("instruments"):
            return await self.inner.instruments(symbols)

    async def quote(self, symbol: str) -> Quote:
        async with self.limiter.slot("quote"):
            return await self.inner.quote(symbol)

    async def quotes(self, symbols: Sequence[str]) -> Sequence[Quote]:
        if type(self.inner).quotes is Venue.quotes:  # no batch: one limited quote each
            return await super().quotes(symbols)
        async with self.limiter.slot("quotes"):
            return await self.inner.quotes(symbols)

    async def account(self) -> Account:
        async with self.limiter.slot("account"):
            return await self.inner.account()

    async def submit(self, request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        async with self.limiter.slot("submit"):
            return await self.inner.submit(request, client_order_id)

    async def cancel(self, ref: OrderRef) -> OrderSnapshot | None:
        async with self.limiter.slot("cancel"):
            return await self.inner.cancel(ref)

    async def replace(self, ref: OrderRef, *, quantity: Decimal | None = None,
                      limit_price: Decimal | None = None,
                      client_order_id: str | None = None) -> OrderSnapshot:
        async with self.limiter.slot("replace"):
            return await self.inner.replace(ref, quantity=quantity, limit_price=limit_price,
                                            client_order_id=client_order_id)

    async def fetch_order(self, ref: OrderRef) -> OrderSnapshot:
        async with self.limiter.slot("fetch_order"):
            return await self.inner.fetch_order(ref)

    async def open_orders(self, symbol: str | None = None) -> Sequence[OrderSnapshot]:
        async with self.limiter.slot("open_orders"):
            return await self.inner.open_orders(symbol)

    async def recent_orders(self, since: datetime) -> Sequence[OrderSnapshot]:
        async with self.limiter.slot("recent_orders"):
            return await self.inner.recent_orders(since)

    async def fills_since(self, since: datetime, symbol: str | None = None) -> Sequence[Fill]:
        async with self.limiter.slot("fills_since"):
            return await self.inner.fills_since(since, symbol)

    def order_updates(self) -> AsyncIterator[OrderUpdate]:
        return self.inner.order_updates()
