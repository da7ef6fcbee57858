"""An order costs the same work however many orders are open.

Nothing an order goes through (the engine, its tracker, settlement, the rate limiter, the
journal, the mock's simulator) may walk the open orders: with thousands resting, each new
order would pay for all of them. Counted, not timed, for the same orders with few and with
many orders resting: the Python lines run (each turn of a loop or comprehension is a line
event, so a walk over the open orders shows) and the SQLite virtual-machine instructions
(so does a scan of the journal's tables). ``benchmarks/open_orders_scale.py`` measures the
time.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest, OrderState, OrderType, Side, TimeInForce
from venuekit.plugins import PluginHost
from venuekit_mock import MockVenue
from venuekit_mock.sim import SymbolSpec

SYMBOL = "XYZ"
FEW, MANY = 10, 2_000
ORDERS = 10  # of each kind, counted


def _venue() -> MockVenue:
    spec = SymbolSpec(SYMBOL, Decimal("100.005"), volatility_bps=Decimal(0),
                      size=Decimal(1_000_000))
    venue = MockVenue(symbols=[spec], cash=Decimal(10) ** 9, latency=0.0, clock="sim")
    venue.control.set_position(SYMBOL, Decimal(10) ** 6, Decimal(100))
    return venue


def _resting(i: int) -> OrderRequest:
    buy = i % 2 == 0
    price = Decimal("50.00") - Decimal(i % 50) / 100 if buy \
        else Decimal("150.00") + Decimal(i % 50) / 100
    return OrderRequest(symbol=SYMBOL, side=Side.BUY if buy else Side.SELL,
                        quantity=Decimal(1), order_type=OrderType.LIMIT, limit_price=price,
                        time_in_force=TimeInForce.GTC)


async def _orders(engine: Engine, count: int) -> None:
    """``count`` market orders that fill, and ``count`` limit orders cancelled once working."""
    for i in range(count):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        engine.raw_venue.control.advance()  # type: ignore[attr-defined]
        filled = await engine.settle(await engine.submit(OrderRequest(
            symbol=SYMBOL, side=side, quantity=Decimal(1))))
        assert filled.state is OrderState.FILLED
        quote = await engine.quote(SYMBOL)
        price = quote.bid - Decimal("0.01") if side is Side.BUY else quote.ask + Decimal("0.01")
        working = await engine.submit(OrderRequest(
            symbol=SYMBOL, side=side, quantity=Decimal(1), order_type=OrderType.LIMIT,
            limit_price=price))
        assert (await engine.cancel(working)).state is OrderState.CANCELLED
    engine.tracker.flush()


def _line_counter(count: list[int], *,
                  besides: Callable[..., Any]) -> Callable[[FrameType, str, Any], Any]:
    """A tracer counting the lines run, except in ``besides`` (the other counter)."""
    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            count[0] += 1
        return local

    def traced(frame: FrameType, event: str, arg: Any) -> Any:
        return None if frame.f_code is besides.__code__ else local
    return traced


def work_per_order(path: Path, resting: int) -> tuple[float, float]:
    """Python lines and SQLite instructions per counted order, ``resting`` orders open."""
    lines, steps = [0], [0]

    def step() -> None:
        steps[0] += 1

    async def main() -> None:
        with SQLiteJournal(path) as journal:
            async with Engine(_venue(), journal,
                              host=PluginHost(load_entry_points=False)) as engine:
                await engine.instrument(SYMBOL)
                placed = await asyncio.gather(*(engine.submit(_resting(i))
                                                for i in range(resting)))
                assert all(o.state is OrderState.ACKNOWLEDGED for o in placed)
                await _orders(engine, 2)  # first calls (caches, prepared statements) aside
                journal._conn.set_progress_handler(step, 1)
                sys.settrace(_line_counter(lines, besides=step))
                try:
                    await _orders(engine, ORDERS)
                finally:
                    sys.settrace(None)
                    journal._conn.set_progress_handler(None, 1)
                assert len(engine.tracker.open_orders()) == resting

    asyncio.run(main())
    return lines[0] / (2 * ORDERS), steps[0] / (2 * ORDERS)


def test_an_orders_work_does_not_grow_with_the_orders_open(tmp_path: Path) -> None:
    few_lines, few_steps = work_per_order(tmp_path / "few.sqlite3", FEW)
    many_lines, many_steps = work_per_order(tmp_path / "many.sqlite3", MANY)
    # A walk over the open orders would add thousands per order; a few percent is what
    # a timer that fired in one run and not the other adds.
    assert many_lines <= few_lines * 1.05, (few_lines, many_lines)
    assert many_steps <= few_steps * 1.05, (few_steps, many_steps)
