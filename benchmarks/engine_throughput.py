"""Engine throughput: orders per second through the Engine, the mock venue and the journal.

Everything a user's process does for an order is inside the timing: the engine quantizes
the order, commits it to the durable SQLite journal (a real file, WAL, the default
``normal`` durability) before sending it, sends it to the mock venue (latency 0), applies
the venue's answer and its order stream, and waits until the order is final, confirmed
over REST as settlement does by default. Three scenarios, defined like NautilusTrader's
backtest anchor, each with one order per quote update, alternating buy and sell:

* ``market_fill``: a market order, submitted -> filled;
* ``limit_fill``: a limit order at the touch (buy at the ask, sell at the bid),
  submitted -> acknowledged -> filled;
* ``limit_cancel``: a limit order resting one tick behind the touch, cancelled once
  acknowledged.

A quote update is one step of the mock's market (its simulated clock advances one
second), read back with ``engine.quote``. Each scenario runs ``--rounds`` times on a fresh
venue, journal and engine; the figure is the best round (the one least disturbed by other
work on the machine) and every round is listed. ``orders_per_cpu_s`` divides by the CPU
time the process used instead (user and system, best round): on a machine shared with
other work it approaches what the wall-clock figure would be on an idle one.
``peak_rss_mb`` is the process's peak resident set size after the scenario (``ru_maxrss``,
cumulative over the process).

Prints one JSON line per scenario::

    python benchmarks/engine_throughput.py                 # 10,000 orders per scenario
    python benchmarks/engine_throughput.py -n 2000 --rounds 1 --scenario limit_cancel
    python benchmarks/engine_throughput.py --durability full --dir ./scratch
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from pathlib import Path

from venuekit.engine import Engine
from venuekit.journal import Durability, SQLiteJournal
from venuekit.model import Order, OrderRequest, OrderState, OrderType, Side
from venuekit.plugins import PluginHost
from venuekit_mock import MockVenue
from venuekit_mock.sim import SymbolSpec

TARGET = 5_000
SYMBOL = "XYZ"
QUANTITY = Decimal(1)
UPDATES_PER_ORDER = 2  # the venue streams an ack, then a fill or a cancel, for each order

Scenario = Callable[[Engine, OrderRequest], Awaitable[Order]]


def _venue() -> MockVenue:
    # A deep book (every order fills in full at the touch) and enough cash and shares that
    # alternating buys and sells never run out; the quote moves a little every step.
    spec = SymbolSpec(SYMBOL, Decimal("100.005"), volatility_bps=Decimal(1),
                      size=Decimal(1_000_000))
    venue = MockVenue(symbols=[spec], cash=Decimal(10) ** 9, latency=0.0, clock="sim")
    venue.control.set_position(SYMBOL, Decimal(10) ** 6, Decimal(100))
    return venue


async def market_fill(engine: Engine, request: OrderRequest) -> Order:
    order = await engine.submit(request)
    return await engine.settle(order)


async def limit_fill(engine: Engine, request: OrderRequest) -> Order:
    quote = await engine.quote(SYMBOL)
    order = await engine.submit(request.model_copy(update={
        "order_type": OrderType.LIMIT, "limit_price": quote.touch(request.side)}))
    return await engine.settle(order)


async def limit_cancel(engine: Engine, request: OrderRequest) -> Order:
    quote = await engine.quote(SYMBOL)
    instrument = await engine.instrument(SYMBOL)
    tick = instrument.tick_size
    price = quote.bid - tick if request.side is Side.BUY else quote.ask + tick
    order = await engine.submit(request.model_copy(update={
        "order_type": OrderType.LIMIT, "limit_price": price}))
    return await engine.cancel(order)


SCENARIOS: dict[str, tuple[Scenario, OrderState]] = {
    "market_fill": (market_fill, OrderState.FILLED),
    "limit_fill": (limit_fill, OrderState.FILLED),
    "limit_cancel": (limit_cancel, OrderState.CANCELLED),
}


async def _round(name: str, orders: int, durability: Durability,
                 directory: str | None) -> tuple[float, float]:
    scenario, final = SCENARIOS[name]
    requests = [OrderRequest(symbol=SYMBOL, side=Side.BUY if i % 2 == 0 else Side.SELL,
                             quantity=QUANTITY) for i in range(orders)]
    venue = _venue()
    with tempfile.TemporaryDirectory(dir=directory) as tmp, \
            SQLiteJournal(Path(tmp) / "journal.sqlite3", durability=durability) as journal:
        engine = Engine(venue, journal, host=PluginHost(load_entry_points=False))
        await engine.start()
        await engine.instrument(SYMBOL)  # reference data is loaded once, before trading
        control = venue.control
        started = time.perf_counter()
        cpu_started = time.process_time()
        for request in requests:
            control.advance()  # one quote update ...
            await asyncio.sleep(0)  # ... delivered through the event loop, as a feed's is
            order = await scenario(engine, request)
            if order.state is not final:
                raise RuntimeError(f"{name}: order {order.id} ended {order.state.value}, "
                                   f"expected {final.value}")
        # The clock stops once the order stream is consumed and every event is durable.
        await _drain(engine, UPDATES_PER_ORDER * orders)
        await engine.close()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        if getattr(journal, "pending", False):  # (older journals commit every write)
            raise RuntimeError("events were left uncommitted")
    return elapsed, cpu


async def _drain(engine: Engine, expected: int) -> None:
    """Let the engine consume the rest of the venue's order stream (``expected`` updates)."""
    for _ in range(100_000):
        if engine.settlement.updates >= expected:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0)
    raise RuntimeError("the order stream was not consumed")


def run(name: str, orders: int, rounds: int, durability: Durability,
        directory: str | None) -> dict[str, object]:
    measured = [asyncio.run(_round(name, orders, durability, directory))
                for _ in range(max(rounds, 1))]
    times = [wall for wall, _ in measured]
    best = min(times)
    cpu = min(cpu for _, cpu in measured)
    return {
        "benchmark": "engine_throughput",
        "scenario": name,
        "orders": orders,
        "seconds": round(best, 3),
        "orders_per_s": round(orders / best),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rounds_orders_per_s": [round(orders / t) for t in times],
        "cpu_seconds": round(cpu, 3),
        "orders_per_cpu_s": round(orders / cpu),
        "durability": durability,
        "target": TARGET,
        "python": platform.python_version(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--orders", type=int, default=10_000, help="orders per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per scenario (best wins)")
    parser.add_argument("--scenario", choices=tuple(SCENARIOS), action="append",
                        help="run only this scenario (repeatable; default: all)")
    parser.add_argument("--durability", choices=("normal", "full"), default="normal")
    parser.add_argument("--dir", default=None, help="where to put the journal file")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when a scenario is below {TARGET:,} orders per second")
    args = parser.parse_args(argv)
    if args.orders < 1:
        parser.error("--orders must be at least 1")
    slow = False
    for name in args.scenario or SCENARIOS:
        report = run(name, args.orders, args.rounds, args.durability, args.dir)
        slow = slow or int(str(report["orders_per_s"])) < TARGET
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()
    return 1 if args.check and slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
