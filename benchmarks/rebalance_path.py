"""How close a rebalance comes to its critical path.

A 100-order plan (50 sells, 50 buys) runs on the mock venue with 20 ms per request. Its
critical path is two phases, each at least one order's submit + settle (measured alone on
the same venue), plus the rate floor: the time the venue's rate-limit pools need to admit
every request of the run (zero when the venue declares none). Prints one JSON line with the
wall time, the bound and their ratio (target: at most 1.2).

    python benchmarks/rebalance_path.py
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest
from venuekit.plugins import PluginHost
from venuekit.rebalance import Rebalancer, parse_plan
from venuekit.validation import PreTradeValidator, ValidationRules
from venuekit_mock import MockVenue
from venuekit_mock.sim import SymbolSpec

LATENCY = 0.02
ORDERS = 50  # per side


def venue() -> MockVenue:
    specs = [SymbolSpec(f"S{i:03d}", Decimal("100.005"), volatility_bps=Decimal(0),
                        size=Decimal(10_000)) for i in range(2 * ORDERS + 1)]
    return MockVenue(seed=1, symbols=specs, cash=Decimal(1_000_000), latency=LATENCY)


def rate_floor(engine: Engine, requests: int) -> float:
    """Seconds the declared pools need to admit ``requests`` calls (0 without pools)."""
    floor = 0.0
    for pool in engine.limiter.pools:
        usable = engine.limiter.usable(pool.name)
        floor = max(floor, max(requests - usable, 0) / usable * pool.period)
    return floor


async def one_order() -> float:
    """One market order alone: submit + settle as an order of the plan sees them."""
    with tempfile.TemporaryDirectory() as tmp, SQLiteJournal(Path(tmp) / "j.sqlite3") as book:
        async with Engine(venue(), book, host=PluginHost(load_entry_points=False)) as engine:
            await engine.execute(OrderRequest(symbol="S100", side="buy", quantity="1"))
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                await engine.execute(OrderRequest(symbol="S100", side="buy", quantity="1"))
                best = min(best, time.perf_counter() - started)
            return best


async def rebalance() -> tuple[float, int, float]:
    items = [{"symbol": f"S{i:03d}", "action": "SELL", "quantity": "10"}
             for i in range(ORDERS)]
    items += [{"symbol": f"S{i:03d}", "action": "BUY", "notional": "1000"}
              for i in range(ORDERS, 2 * ORDERS)]
    plan = parse_plan({"items": items})
    mock = venue()
    for i in range(ORDERS):
        mock.control.set_position(f"S{i:03d}", "10", "100")
    with tempfile.TemporaryDirectory() as tmp, SQLiteJournal(Path(tmp) / "j.sqlite3") as book:
        rules = ValidationRules(max_concentration=None)
        async with Engine(mock, book, host=PluginHost(load_entry_points=False),
                          validator=PreTradeValidator(rules)) as engine:
            started = time.perf_counter()
            report = await Rebalancer(engine).run(plan)
            wall = time.perf_counter() - started
            completed = sum(1 for item in report.items if item.status.done)
            return wall, completed, rate_floor(engine, len(mock.control.ledger.orders) * 4)


def main() -> None:
    single = asyncio.run(one_order())
    wall, completed, floor = asyncio.run(rebalance())
    bound = 2 * single + floor
    json.dump({"benchmark": "rebalance_path", "orders": 2 * ORDERS, "completed": completed,
               "latency_s": LATENCY, "wall_s": round(wall, 4),
               "one_order_s": round(single, 4), "rate_floor_s": round(floor, 4),
               "bound_s": round(bound, 4), "ratio": round(wall / bound, 3)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
