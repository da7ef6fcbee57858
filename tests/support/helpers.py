"""Shared test helpers: a frozen market, and running coroutines.

Async tests are plain functions that call :func:`run` (``asyncio.run``), so the suite needs
nothing beyond pytest, the core and this plugin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any, TypeVar

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
