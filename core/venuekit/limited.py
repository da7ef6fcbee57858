"""A venue seen through the rate limiter: every call waits for its pools first.

The engine talks to its venue only through :class:`LimitedVenue`, so reads, creates,
cancels and lookups all share the budget the venue declared, and a rate-limit answer
slows every later call down (the limiter's reactive backoff).

Each limited call returns the limiter's coroutine itself rather than awaiting it in a
coroutine of its own: one frame less on every venue call, and on every resumption of it.
The calls that may send several requests (listings that page, reads that go symbol by
symbol: ``instruments``, ``account``, ``open_orders``, ``recent_orders``, ``fills_since``)
let the venue wait for room before each request after the first
(:func:`venuekit.venue.another_request`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from .model import (
    Account,
    BracketRequest,
    Fill,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    OrderUpdate,
    Quote,
)
from .ratelimit import RateLimiter
from .venue import BracketSnapshot, OrderRef, Venue, more_room_from, more_room_reset

__all__ = ["LimitedVenue"]

_T = TypeVar("_T")
_Call = Coroutine[Any, Any, _T]


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

    async def instruments(self, symbols: Sequence[str] | None = None
                          ) -> Sequence[Instrument]:
        return await self._several("instruments", self.inner.instruments, symbols)

    def quote(self, symbol: str) -> _Call[Quote]:
        return self.limiter.call("quote", self.inner.quote, symbol)

    async def quotes(self, symbols: Sequence[str]) -> Sequence[Quote]:
        if type(self.inner).quotes is Venue.quotes:  # no batch: one limited quote each
            return await super().quotes(symbols)
        return await self.limiter.call("quotes", self.inner.quotes, symbols)

    async def account(self) -> Account:
        return await self._several("account", self.inner.account)

    def submit(self, request: OrderRequest, client_order_id: str) -> _Call[OrderSnapshot]:
        return self.limiter.call("submit", self.inner.submit, request, client_order_id)

    def submit_bracket(self, bracket: BracketRequest,
                       client_order_id: str) -> _Call[BracketSnapshot]:
        return self.limiter.call("submit", self.inner.submit_bracket, bracket, client_order_id)

    def fetch_bracket(self, ref: OrderRef) -> _Call[BracketSnapshot]:
        return self.limiter.call("fetch_order", self.inner.fetch_bracket, ref)

    def cancel(self, ref: OrderRef) -> _Call[OrderSnapshot | None]:
        return self.limiter.call("cancel", self.inner.cancel, ref)

    def replace(self, ref: OrderRef, *, quantity: Decimal | None = None,
                limit_price: Decimal | None = None,
                client_order_id: str | None = None) -> _Call[OrderSnapshot]:
        return self.limiter.call("replace", self.inner.replace, ref, quantity=quantity,
                                 limit_price=limit_price, client_order_id=client_order_id)

    def fetch_order(self, ref: OrderRef) -> _Call[OrderSnapshot]:
        return self.limiter.call("fetch_order", self.inner.fetch_order, ref)

    async def open_orders(self, symbol: str | None = None) -> Sequence[OrderSnapshot]:
        return await self._several("open_orders", self.inner.open_orders, symbol)

    async def recent_orders(self, since: datetime) -> Sequence[OrderSnapshot]:
        return await self._several("recent_orders", self.inner.recent_orders, since)

    async def fills_since(self, since: datetime, symbol: str | None = None
                          ) -> Sequence[Fill]:
        return await self._several("fills_since", self.inner.fills_since, since, symbol)

    async def _several(self, operation: str, send: Callable[..., Awaitable[_T]],
                       *args: Any) -> _T:
        """A call that may take several requests (pages, symbols): each one after the
        first waits for room too (venuekit.venue.another_request)."""
        token = more_room_from(self.limiter.acquire)
        try:
            return await self.limiter.call(operation, send, *args)
        finally:
            more_room_reset(token)

    def order_updates(self) -> AsyncIterator[OrderUpdate]:
        return self.inner.order_updates()
