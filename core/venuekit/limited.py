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
        return await self.limiter.call("instruments", self.inner.instruments, symbols)

    async def quote(self, symbol: str) -> Quote:
        return await self.limiter.call("quote", self.inner.quote, symbol)

    async def quotes(self, symbols: Sequence[str]) -> Sequence[Quote]:
        if type(self.inner).quotes is Venue.quotes:  # no batch: one limited quote each
            return await super().quotes(symbols)
        return await self.limiter.call("quotes", self.inner.quotes, symbols)

    async def account(self) -> Account:
        return await self.limiter.call("account", self.inner.account)

    async def submit(self, request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        return await self.limiter.call("submit", self.inner.submit, request, client_order_id)

    async def cancel(self, ref: OrderRef) -> OrderSnapshot | None:
        return await self.limiter.call("cancel", self.inner.cancel, ref)

    async def replace(self, ref: OrderRef, *, quantity: Decimal | None = None,
                      limit_price: Decimal | None = None,
                      client_order_id: str | None = None) -> OrderSnapshot:
        return await self.limiter.call("replace", self.inner.replace, ref, quantity=quantity,
                                       limit_price=limit_price,
                                       client_order_id=client_order_id)

    async def fetch_order(self, ref: OrderRef) -> OrderSnapshot:
        return await self.limiter.call("fetch_order", self.inner.fetch_order, ref)

    async def open_orders(self, symbol: str | None = None) -> Sequence[OrderSnapshot]:
        return await self.limiter.call("open_orders", self.inner.open_orders, symbol)

    async def recent_orders(self, since: datetime) -> Sequence[OrderSnapshot]:
        return await self.limiter.call("recent_orders", self.inner.recent_orders, since)

    async def fills_since(self, since: datetime, symbol: str | None = None) -> Sequence[Fill]:
        return await self.limiter.call("fills_since", self.inner.fills_since, since, symbol)

    def order_updates(self) -> AsyncIterator[OrderUpdate]:
        return self.inner.order_updates()
