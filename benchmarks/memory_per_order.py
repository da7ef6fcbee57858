"""Memory per tracked open order: what an Engine holds for each order still working.

100,000 limit orders rest at the mock venue, far from the touch, so every one stays open
and tracked. The figure is measured with :mod:`tracemalloc` (live Python allocations after
a garbage collection, so freed temporaries do not count) in two phases in one process:

* the venue alone: the same orders sent straight to a fresh mock venue;
* the engine: the orders sent through an Engine with its durable SQLite journal to
  another fresh mock venue.

``bytes_per_order`` is the difference divided by the number of orders: what the engine,
its tracker and the order records cost per open order, without the simulated venue's own
book keeping. Each request is built inside the measured window, as a user's code builds
it, so the request an order keeps counts. SQLite's page cache is allocated outside Python
and not counted (it is bounded, about 2 MB). Target: at most 2 KB per order.

    python benchmarks/memory_per_order.py            # 100,000 orders
    python benchmarks/memory_per_order.py -n 20000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import sys
import tempfile
import tracemalloc
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

from venuekit.engine import Engine
from venuekit.journal import SQLiteJournal
from venuekit.model import Order, OrderRequest, OrderState, OrderType, Side, TimeInForce
from venuekit.plugins import PluginHost
from venuekit_mock import MockVenue
from venuekit_mock.sim import SymbolSpec

TARGET = 2048
SYMBOL = "XYZ"


def _venue() -> MockVenue:
    spec = SymbolSpec(SYMBOL, Decimal("100.005"), volatility_bps=Decimal(0),
                      size=Decimal(1_000))
    return MockVenue(symbols=[spec], cash=Decimal(10) ** 12, clock="sim")


def _requests(orders: int) -> Iterator[OrderRequest]:
    # Buys well below the touch: they rest and stay open. Prices vary as a user's would.
    for i in range(orders):
        yield OrderRequest(symbol=SYMBOL, side=Side.BUY, quantity=Decimal(1 + i % 7),
                           order_type=OrderType.LIMIT,
                           limit_price=Decimal("90.00") - Decimal(i % 500) / 100,
                           time_in_force=TimeInForce.GTC)


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def venue_alone(orders: int) -> int:
    """Traced bytes the mock venue keeps for ``orders`` resting orders."""
    venue = _venue()
    await venue.connect()
    before = _traced()
    for i, request in enumerate(_requests(orders)):
        await venue.submit(request, f"memorybench{i:08d}")
    kept = _traced() - before
    await venue.close()
    return kept


async def through_engine(orders: int, directory: str | None) -> tuple[int, int]:
    """Traced bytes with ``orders`` open through an engine, and how many it tracks."""
    venue = _venue()
    with tempfile.TemporaryDirectory(dir=directory) as tmp, \
            SQLiteJournal(Path(tmp) / "journal.sqlite3") as journal:
        engine = Engine(venue, journal, host=PluginHost(load_entry_points=False))
        await engine.start()
        await engine.instrument(SYMBOL)
        before = _traced()
        held: list[Order] = []  # the caller keeps its orders, as a user's code would
        for request in _requests(orders):
            held.append(await engine.submit(request))
        await asyncio.sleep(0.01)  # the order stream's copies are consumed
        engine.tracker.flush()
        kept = _traced() - before
        tracked = len(engine.tracker)
        if tracked != orders or any(o.state is not OrderState.ACKNOWLEDGED for o in held):
            raise RuntimeError(f"{tracked} of {orders} orders tracked and acknowledged")
        await engine.close()
    return kept, tracked


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--orders", type=int, default=100_000)
    parser.add_argument("--dir", default=None, help="where to put the journal file")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when an order costs more than {TARGET} bytes")
    args = parser.parse_args(argv)
    if args.orders < 1:
        parser.error("--orders must be at least 1")
    tracemalloc.start()
    venue_bytes = asyncio.run(venue_alone(args.orders))
    engine_bytes, tracked = asyncio.run(through_engine(args.orders, args.dir))
    tracemalloc.stop()
    per_order = (engine_bytes - venue_bytes) / args.orders
    report = {
        "benchmark": "memory_per_order",
        "orders": args.orders,
        "tracked_open_orders": tracked,
        "bytes_per_order": round(per_order),
        "method": "tracemalloc, engine phase minus venue-alone phase",
        "venue_bytes_per_order": round(venue_bytes / args.orders),
        "engine_phase_bytes_per_order": round(engine_bytes / args.orders),
        "target": TARGET,
        "python": platform.python_version(),
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 1 if args.check and per_order > TARGET else 0


if __name__ == "__main__":
    raise SystemExit(main())
