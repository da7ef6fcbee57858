"""Cost as work grows: per-order cost against open orders held, throughput against burst size.

Two curves, each point through an Engine, the mock venue (latency 0, simulated clock) and
the durable SQLite journal (a real file, WAL, durability ``normal``), built as
``engine_throughput`` builds them, whose venue and scenarios are imported here:

* ``per_order``: the engine first places N limit orders far from the market (buys at half
  the price, sells at one and a half times it, good till cancelled), which rest open: held
  by the engine's tracker, the journal and the mock's book. They are placed in bursts of
  concurrent submits that share the journal's commits, outside the clock. Then
  ``--measured`` orders of each of two of ``engine_throughput``'s scenarios (``market_fill``,
  ``limit_cancel``) run one after the other, one quote update each, as in
  ``engine_throughput``, and the point reports the CPU time (``time.process_time``: user and
  system) and wall time per measured order. Every point is set up first, in one process,
  and the measured orders then run point after point, ``--repetitions`` times (each
  repetition in the other direction), so that a busy moment of the machine falls on every
  point alike; a point's figure is its best repetition, and every repetition's is listed. An
  untimed pass then counts, per order, the Python function calls (a profiler) and the
  SQLite virtual-machine instructions (the progress handler): the work itself, whatever the
  machine does. The memory per open order is what the N resting orders added to the live
  Python allocations (:mod:`tracemalloc`, after a garbage collection; engine, journal
  objects and the mock's book together; SQLite's page cache is outside Python and not
  counted), divided by N; tracemalloc runs only while they are placed. The curve is flat
  when each scenario's largest per-order CPU cost is within 20 % of its smallest
  (``--check`` exits 1 otherwise).
* ``burst``: bursts of K orders in flight at once (``asyncio.gather`` over submit and
  settle, as a bot sends a burst), one quote update per burst: market orders that fill, or
  limit orders one tick behind the touch that are then cancelled together. The K submits of
  a burst are journaled under one commit. The point reports orders per wall second and per
  CPU second, the CPU time the garbage collector took per order (``gc.callbacks``), and the
  journal's commits per order (COMMIT statements counted with
  ``sqlite3.Connection.set_trace_callback`` on the journal's connection, in a round of
  their own outside the figures).

Each burst point runs on a fresh venue, journal and engine, ``--rounds`` times; the figures
are the best round (the one least disturbed by other work on the machine) and every round's
is listed. One JSON line per point, then one summary line per curve::

    python benchmarks/open_orders_scale.py                      # both curves, published size
    python benchmarks/open_orders_scale.py --curve per_order --open 1000 --open 10000
    python benchmarks/open_orders_scale.py --curve burst --burst 1 --burst 100 -n 2000
    python benchmarks/open_orders_scale.py --check              # exit 1 unless flat within 20 %
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from engine_throughput import QUANTITY, SCENARIOS, SYMBOL, UPDATES_PER_ORDER, _venue

from venuekit.engine import Engine
from venuekit.journal import Durability, SQLiteJournal
from venuekit.model import OrderRequest, OrderState, OrderType, Side, TimeInForce
from venuekit.plugins import PluginHost

NAME = "open_orders_scale"
FLAT_WITHIN = 0.20
OPEN_ORDERS = (1_000, 10_000, 30_000, 100_000)
BURSTS = (1, 10, 100, 1_000)
CURVE_SCENARIOS = ("market_fill", "limit_cancel")
PLACE_BURST = 1_000  # resting orders submitted at once while setting up (outside the clock)
WARM_UP = 20  # orders of each scenario run at each point before the measured ones


# -- shared ---------------------------------------------------------------------------------


def _requests(orders: int) -> list[OrderRequest]:
    return [OrderRequest(symbol=SYMBOL, side=Side.BUY if i % 2 == 0 else Side.SELL,
                         quantity=QUANTITY) for i in range(orders)]


async def _engine(journal: SQLiteJournal) -> Engine:
    engine = Engine(_venue(), journal, host=PluginHost(load_entry_points=False))
    await engine.start()
    await engine.instrument(SYMBOL)  # reference data is loaded once, before trading
    return engine


def _updates(engine: Engine) -> int:
    return int(engine.settlement.updates)  # type: ignore[attr-defined]


async def _consume(engine: Engine, expected: int) -> None:
    """Let the engine consume the venue's order stream up to ``expected`` updates."""
    for _ in range(expected + 100_000):
        if _updates(engine) >= expected:
            return
        await asyncio.sleep(0)
    raise RuntimeError("the order stream was not consumed")


def _advance(engine: Engine) -> None:
    engine.raw_venue.control.advance()  # type: ignore[attr-defined]


@contextmanager
def _counting(journal: SQLiteJournal, what: str) -> Iterator[list[int]]:
    """Count, while the block runs: ``"commits"`` (COMMIT statements the journal's
    connection runs), ``"sqlite_steps"`` (SQLite virtual-machine instructions, through the
    progress handler) or ``"python_calls"`` (Python function calls, through a profiler)."""
    count = [0]
    conn: sqlite3.Connection = journal._conn  # the journal's one connection
    if what == "commits":
        def statement(sql: str) -> None:
            if sql == "COMMIT":
                count[0] += 1
        conn.set_trace_callback(statement)
    elif what == "sqlite_steps":
        def step() -> None:
            count[0] += 1
        conn.set_progress_handler(step, 1)
    else:
        def profile(frame: object, event: str, arg: object) -> None:
            if event == "call":
                count[0] += 1
        sys.setprofile(profile)
    try:
        yield count
    finally:
        sys.setprofile(None)
        conn.set_trace_callback(None)
        conn.set_progress_handler(None, 1)


@contextmanager
def _collections() -> Iterator[list[float]]:
    """CPU seconds spent in the garbage collector while the block runs (a callback at each
    collection's start and stop)."""
    spent = [0.0]
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            spent[0] += time.process_time() - started[0]
    gc.callbacks.append(callback)
    try:
        yield spent
    finally:
        gc.callbacks.remove(callback)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _within(values: Sequence[float]) -> tuple[float, bool]:
    ratio = max(values) / min(values)
    return round(ratio, 3), ratio <= 1 + FLAT_WITHIN


# -- per-order cost against open orders held --------------------------------------------


def _resting(orders: int, mid: Decimal) -> list[OrderRequest]:
    """Limit orders that rest: buys at half ``mid``, sells at 1.5 times it, spread over 500
    ticks on each side as a user's prices would be, good till cancelled."""
    low = (mid / 2).quantize(Decimal("0.01"))
    high = (mid * 3 / 2).quantize(Decimal("0.01"))
    return [OrderRequest(symbol=SYMBOL, side=Side.BUY if i % 2 == 0 else Side.SELL,
                         quantity=QUANTITY, order_type=OrderType.LIMIT,
                         limit_price=(low - Decimal(i % 500) / 100 if i % 2 == 0
                                      else high + Decimal(i % 500) / 100),
                         time_in_force=TimeInForce.GTC) for i in range(orders)]


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def _rest(engine: Engine, orders: int, burst: int) -> None:
    """Place ``orders`` resting orders, ``burst`` submits at a time (one commit each)."""
    requests = _resting(orders, (await engine.quote(SYMBOL)).mid)
    updates = _updates(engine)
    for start in range(0, orders, burst):
        placed = await asyncio.gather(*(engine.submit(r)
                                        for r in requests[start:start + burst]))
        for order in placed:
            if order.state is not OrderState.ACKNOWLEDGED:
                raise RuntimeError(f"resting order {order.id} is {order.state.value}")
    await _consume(engine, updates + orders)  # their acks, from the order stream
    engine.tracker.flush()


async def _sequential(engine: Engine, name: str, orders: int) -> tuple[float, float]:
    """``orders`` of scenario ``name`` one after the other: (CPU, wall) seconds."""
    scenario, final = SCENARIOS[name]
    requests = _requests(orders)
    updates = _updates(engine)
    started = time.perf_counter()
    cpu_started = time.process_time()
    for request in requests:
        _advance(engine)  # one quote update ...
        await asyncio.sleep(0)  # ... delivered through the event loop, as a feed's is
        order = await scenario(engine, request)
        if order.state is not final:
            raise RuntimeError(f"{name}: order {order.id} ended {order.state.value}")
    await _consume(engine, updates + UPDATES_PER_ORDER * orders)
    engine.tracker.flush()  # every event durable
    return time.process_time() - cpu_started, time.perf_counter() - started


@dataclass
class _Point:
    """One point of the per-order curve: an engine holding ``open_orders`` resting."""

    open_orders: int
    journal: SQLiteJournal
    engine: Engine
    memory: int = 0
    setup: float = 0.0
    cpu: dict[str, list[float]] = field(default_factory=dict)
    wall: dict[str, list[float]] = field(default_factory=dict)
    counts: dict[str, dict[str, float]] = field(default_factory=dict)

    def line(self, args: argparse.Namespace) -> dict[str, object]:
        cpu, wall = self.cpu, self.wall
        point: dict[str, object] = {
            "benchmark": NAME, "figure": "per_order", "open_orders": self.open_orders,
            "measured_orders": args.measured, "repetitions": args.repetitions,
            "cpu_us_per_order": round(statistics.fmean(min(v) for v in cpu.values()), 1),
            "wall_us_per_order": round(statistics.fmean(min(v) for v in wall.values()), 1),
        }
        for name in CURVE_SCENARIOS:
            point[name] = {
                "cpu_us_per_order": round(min(cpu[name]), 1),
                "wall_us_per_order": round(min(wall[name]), 1),
                "repetitions_cpu_us": [round(v, 1) for v in cpu[name]],
                **self.counts.get(name, {})}
        if not args.no_memory:
            point["memory_bytes_per_open_order"] = round(self.memory / self.open_orders)
            point["memory_method"] = ("tracemalloc: live Python allocations the resting "
                                      "orders added (engine, journal objects, mock book), "
                                      "over N")
        point["setup_seconds"] = round(self.setup, 1)
        return point


async def _set_up(point: _Point, memory: bool) -> None:
    started = time.perf_counter()
    if memory:
        tracemalloc.start()
        before = _traced()
    await _rest(point.engine, point.open_orders, PLACE_BURST)
    if memory:
        point.memory = _traced() - before
        tracemalloc.stop()
    point.setup = time.perf_counter() - started


async def _per_order(points: Sequence[int], args: argparse.Namespace) -> list[_Point]:
    """Every point set up, then the measured orders, point after point, repetition after
    repetition: a busy moment of the machine falls on every point alike."""
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp, ExitStack() as stack:
        built: list[_Point] = []
        for open_orders in points:
            journal = stack.enter_context(SQLiteJournal(
                Path(tmp) / f"journal-{open_orders}.sqlite3", durability=args.durability))
            point = _Point(open_orders, journal, await _engine(journal))
            await _set_up(point, not args.no_memory)
            point.cpu = {name: [] for name in CURVE_SCENARIOS}
            point.wall = {name: [] for name in CURVE_SCENARIOS}
            built.append(point)
        for point in built:  # first calls (caches, prepared statements) outside the figures
            for name in CURVE_SCENARIOS:
                await _sequential(point.engine, name, WARM_UP)
        gc.collect()
        for repetition in range(args.repetitions):
            # Each repetition in the other direction: a trend in the machine's speed
            # during a repetition does not favour the same point every time.
            for point in built if repetition % 2 == 0 else built[::-1]:
                for name in CURVE_SCENARIOS:
                    spent, elapsed = await _sequential(point.engine, name, args.measured)
                    point.cpu[name].append(spent / args.measured * 1e6)
                    point.wall[name].append(elapsed / args.measured * 1e6)
        for point in built:
            for name in CURVE_SCENARIOS if args.count else ():
                point.counts[name] = {}
                for what in ("python_calls", "sqlite_steps"):
                    with _counting(point.journal, what) as counted:
                        await _sequential(point.engine, name, args.count)
                    point.counts[name][what] = round(counted[0] / args.count, 1)
            still = len(point.engine.tracker.open_orders())
            if still != point.open_orders:
                raise RuntimeError(f"{still} orders open at the end, expected "
                                   f"{point.open_orders}")
            await point.engine.close()
    return built


# -- throughput against orders in flight --------------------------------------------------


async def _bursts(engine: Engine, name: str, orders: int,
                  size: int) -> tuple[float, float, float]:
    """``orders`` of scenario ``name`` in bursts of ``size`` concurrent ones, one quote
    update per burst: (CPU, wall, CPU in the garbage collector) seconds."""
    scenario, final = SCENARIOS[name]
    requests = _requests(orders)
    updates = _updates(engine)
    with _collections() as collecting:
        started = time.perf_counter()
        cpu_started = time.process_time()
        for start in range(0, orders, size):
            _advance(engine)
            await asyncio.sleep(0)
            done = await asyncio.gather(*(scenario(engine, request)
                                          for request in requests[start:start + size]))
            for order in done:
                if order.state is not final:
                    raise RuntimeError(f"{name}: order {order.id} ended "
                                       f"{order.state.value}")
        await _consume(engine, updates + UPDATES_PER_ORDER * orders)
        engine.tracker.flush()
        cpu = time.process_time() - cpu_started
        wall = time.perf_counter() - started
    return cpu, wall, collecting[0]


async def _burst_round(name: str, orders: int, size: int, durability: Durability,
                       directory: str | None,
                       count: bool) -> tuple[float, float, float, int]:
    with tempfile.TemporaryDirectory(dir=directory) as tmp, \
            SQLiteJournal(Path(tmp) / "journal.sqlite3", durability=durability) as journal:
        engine = await _engine(journal)
        commits = -1
        if count:
            with _counting(journal, "commits") as counted:
                cpu, wall, collecting = await _bursts(engine, name, orders, size)
            commits = counted[0]
        else:
            cpu, wall, collecting = await _bursts(engine, name, orders, size)
        await engine.close()
    return cpu, wall, collecting, commits


def burst_point(name: str, orders: int, size: int, rounds: int, durability: Durability,
                directory: str | None) -> dict[str, object]:
    orders = -(-orders // size) * size  # whole bursts
    # Commits are counted in a round of their own, outside the figures: the trace callback
    # is a Python call per statement.
    *_, commits = asyncio.run(_burst_round(name, orders, size, durability, directory, True))
    measured = [asyncio.run(_burst_round(name, orders, size, durability, directory, False))
                for _ in range(max(rounds, 1))]
    wall = min(m[1] for m in measured)
    cpu, _, collecting, _ = min(measured)  # the round of least CPU time
    return {
        "benchmark": NAME, "figure": "burst", "scenario": name, "in_flight": size,
        "orders": orders, "orders_per_s": round(orders / wall),
        "orders_per_cpu_s": round(orders / cpu),
        "rounds_orders_per_s": [round(orders / m[1]) for m in measured],
        "rounds_orders_per_cpu_s": [round(orders / m[0]) for m in measured],
        "gc_cpu_us_per_order": round(collecting / orders * 1e6, 1),
        "commits_per_order": round(commits / orders, 4),
        "load": _load(),
    }


# -- main ---------------------------------------------------------------------------------


def _emit(line: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def per_order_curve(points: Sequence[int], args: argparse.Namespace) -> bool:
    """Print the per-order curve and its summary; True when it is flat within 20 %."""
    lines = []
    for point in asyncio.run(_per_order(points, args)):
        line = point.line(args)
        lines.append(line)
        _emit(line)
    summary: dict[str, object] = {"benchmark": NAME, "figure": "per_order_summary",
                                  "open_orders": list(points)}
    flat = True
    for name in CURVE_SCENARIOS:
        figures: list[dict[str, float]] = [line[name] for line in lines]  # type: ignore[misc]
        costs = [figure["cpu_us_per_order"] for figure in figures]
        ratio, within = _within(costs)
        flat = flat and within
        entry: dict[str, object] = {"cpu_us_per_order": costs, "max_over_min": ratio}
        for what in ("python_calls", "sqlite_steps") if args.count else ():
            entry[f"{what}_max_over_min"] = _within([figure[what] for figure in figures])[0]
        summary[name] = entry
    ratio, _ = _within([float(str(line["cpu_us_per_order"])) for line in lines])
    summary["cpu_max_over_min"] = ratio
    summary["wall_max_over_min"] = _within(
        [float(str(line["wall_us_per_order"])) for line in lines])[0]
    summary["flat_within"] = FLAT_WITHIN
    summary["flat"] = flat
    summary["python"] = platform.python_version()
    summary["sqlite"] = sqlite3.sqlite_version
    _emit(summary)
    return flat


def burst_curve(sizes: Sequence[int], args: argparse.Namespace) -> None:
    for name in CURVE_SCENARIOS:
        lines = []
        for size in sizes:
            line = burst_point(name, args.orders, size, args.rounds, args.durability,
                               args.dir)
            lines.append(line)
            _emit(line)
        rates = [float(str(line["orders_per_cpu_s"])) for line in lines]
        _emit({"benchmark": NAME, "figure": "burst_summary", "scenario": name,
               "in_flight": list(sizes), "orders_per_cpu_s": rates,
               "largest_over_smallest": round(rates[-1] / rates[0], 3),
               "max_over_min": round(max(rates) / min(rates), 3),
               # Rising: no point below its predecessor by more than 5 % (the noise).
               "rises": all(b >= a * 0.95 for a, b in itertools.pairwise(rates)),
               "python": platform.python_version(), "sqlite": sqlite3.sqlite_version})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--curve", choices=("per_order", "burst"), action="append",
                        help="run only this curve (default: both)")
    parser.add_argument("--open", type=int, action="append", metavar="N",
                        help=f"open orders held at a point (repeatable; default "
                             f"{', '.join(map(str, OPEN_ORDERS))})")
    parser.add_argument("--measured", type=int, default=200,
                        help="measured orders per scenario and repetition (default 200)")
    parser.add_argument("--repetitions", type=int, default=10,
                        help="repetitions of the measured orders at each point (best wins)")
    parser.add_argument("--count", type=int, default=200,
                        help="orders per scenario of the untimed counting pass (calls, "
                             "SQLite steps; 0 skips it)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the memory figure (tracemalloc slows the set-up)")
    parser.add_argument("--burst", type=int, action="append", metavar="K",
                        help=f"orders in flight at a point (repeatable; default "
                             f"{', '.join(map(str, BURSTS))})")
    parser.add_argument("-n", "--orders", type=int, default=5_000,
                        help="orders per burst point and round (default 5,000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per burst point (best wins)")
    parser.add_argument("--durability", choices=("normal", "full"), default="normal")
    parser.add_argument("--dir", default=None, help="where to put the journal files")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when the per-order CPU cost is not flat within "
                             f"{FLAT_WITHIN:.0%} from the fewest to the most open orders")
    args = parser.parse_args(argv)
    if min([args.measured, args.repetitions, args.orders, *(args.open or [1]),
            *(args.burst or [1])]) < 1:
        parser.error("counts must be at least 1")
    curves = args.curve or ["per_order", "burst"]
    flat = True
    if "per_order" in curves:
        flat = per_order_curve(sorted(args.open or OPEN_ORDERS), args)
    if "burst" in curves:
        burst_curve(sorted(args.burst or BURSTS), args)
    return 1 if args.check and not flat else 0


if __name__ == "__main__":
    raise SystemExit(main())
