"""Shared test helpers: a frozen market, and running coroutines.

Async tests are plain functions that call :func:`run` (``asyncio.run``), so the suite needs
nothing beyond pytest, the core and this plugin.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

from venuekit.model import OrderSnapshot, OrderState, OrderUpdate
from venuekit.venue import OrderRef
from venuekit_mock import MockVenue
from venuekit_mock.sim import SimConfig, Simulator, SymbolSpec

T = TypeVar("T")

D = Decimal


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def flat(symbol: str = "XYZ", price: str = "100.005", size: str = "500", **kw: Any) -> SymbolSpec:
    """A symbol whose quote never moves on its own (volatility 0): 100.00 / 100.01 by default."""
    return SymbolSpec(symbol, D(price), volatility_bps=D(0), size=D(size), **kw)


def simulator(*specs: SymbolSpec, **options: Any) -> Simulator:
    return Simulator(SimConfig(symbols=specs or (flat(),), **options))


class StreamEndsEarly(MockVenue):
    """A venue whose order stream calls a partly filled order cancelled, while the venue
    keeps it working; the rest fills at the next market step, which any REST lookup of an
    order triggers here. A final state heard on the stream is exactly what a REST
    confirmation must be able to overturn."""

    def order_updates(self) -> AsyncIterator[OrderUpdate]:
        return self._ended_early(super().order_updates())

    async def _ended_early(self, updates: AsyncIterator[OrderUpdate]
                           ) -> AsyncIterator[OrderUpdate]:
        async for update in updates:
            snapshot = update.order
            if snapshot.state is OrderState.PARTIALLY_FILLED:
                update = update.model_copy(update={"order": snapshot.model_copy(
                    update={"state": OrderState.CANCELLED})})
            yield update

    async def fetch_order(self, ref: OrderRef) -> OrderSnapshot:
        self.control.advance()
        return await super().fetch_order(ref)


def count_calls(venue: MockVenue, name: str) -> list[int]:
    """Count the calls of ``venue``'s async method ``name`` (in the list's one element)."""
    calls = [0]
    real = getattr(venue, name)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return await real(*args, **kwargs)

    setattr(venue, name, counted)
    return calls
