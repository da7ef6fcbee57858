"""How close a rebalance comes to its critical path.

A 100-order plan (50 sells, 50 buys) runs on the mock venue with 20 ms per request. Its
critical path is two phases, each at least one order's submit + settle (measured alone on
the same venue), plus the rate floor: the time the venue's rate-limit pools need to admit
every request of the run (zero when the venue declares none). Prints one JSON line with the
wall time, the bound and their ratio (target: at most 1.2).

The figure is the median over ``--rounds`` runs (ten by default), not the best run. Each
round measures the bound first (one order alone, three times on a fresh venue, journal and
engine; the median of the three) and then the rebalance (on a fresh venue, journal and
engine), and its ratio is its rebalance over its own bound: the two are measured seconds
apart, so a slow spell of a shared machine touches both. Each rebalance starts on a
collected heap, so that the previous round's discarded venue, journal and engine are not
collected inside the next one's measurement. The best round, the ratio of the medians and
each phase's seconds (a phase ends once its orders are confirmed and the account is read
again) are printed too; ``--check`` exits 1 when the median ratio is above 1.2.

    python benchmarks/rebalance_path.py
    python benchmarks/rebalance_path.py --rounds 20 --check
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest, Side
from venuekit.plugins import PluginHost
from venuekit.rebalance import Rebalancer, parse_plan
from venuekit.strategies import run_strategy
from venuekit.validation import PreTradeValidator, ValidationRules
from venuekit_mock import MockVenue
from venuekit_mock.sim import SymbolSpec

LATENCY = 0.02
ORDERS = 50  # per side
SINGLES = 3  # orders alone per round; their median is the round's one order
TARGET = 1.2


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


def _single() -> OrderRequest:
    return OrderRequest(symbol="S100", side=Side.BUY, quantity=Decimal(1))


async def one_order(rounds: int) -> list[float]:
    """One market order alone, ``rounds`` times: submit + settle as an order of the plan
    sees them."""
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, SQLiteJournal(Path(tmp) / "j.sqlite3") as book:
        async with Engine(venue(), book, host=PluginHost(load_entry_points=False)) as engine:
            await run_strategy(engine, _single())
            for _ in range(rounds):
                started = time.perf_counter()
                await run_strategy(engine, _single())
                times.append(time.perf_counter() - started)
    return times


async def rebalance() -> tuple[float, int, float, dict[str, float]]:
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
            floor = rate_floor(engine, len(mock.control.ledger.orders) * 4)
            return wall, completed, floor, dict(report.phase_seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10,
                        help="rounds, each a bound and a rebalance; the median ratio is the "
                             "figure (default 10)")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when the median ratio is above {TARGET}")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    rounds: list[tuple[float, float, int, float, dict[str, float]]] = []
    for _ in range(args.rounds):
        single = statistics.median(asyncio.run(one_order(SINGLES)))
        gc.collect()
        wall, completed, floor, phases = asyncio.run(rebalance())
        rounds.append((single, wall, completed, floor, phases))
    floor = max(r[3] for r in rounds)
    ratios = [wall / (2 * single + floor) for single, wall, _, floor, _ in rounds]
    best = min(range(len(rounds)), key=ratios.__getitem__)
    single, wall, _, _, phases = rounds[best]
    median_single = statistics.median(r[0] for r in rounds)
    median_wall = statistics.median(r[1] for r in rounds)
    median_ratio = statistics.median(ratios)
    json.dump({"benchmark": "rebalance_path", "orders": 2 * ORDERS,
               "completed": min(r[2] for r in rounds),  # every round must complete all
               "latency_s": LATENCY, "rounds": args.rounds,
               "ratio_median": round(median_ratio, 3),
               "ratios": [round(ratio, 3) for ratio in ratios],
               "ratio_best": round(ratios[best], 3),
               "ratio_of_medians": round(median_wall / (2 * median_single + floor), 3),
               "wall_median_s": round(median_wall, 4),
               "one_order_median_s": round(median_single, 4),
               "rate_floor_s": round(floor, 4),
               "best_round": {"wall_s": round(wall, 4), "one_order_s": round(single, 4),
                              "phases_s": {name: round(seconds, 4)
                                           for name, seconds in phases.items()}},
               "target": TARGET},
              sys.stdout)
    sys.stdout.write("\n")
    return 1 if args.check and median_ratio > TARGET else 0


if __name__ == "__main__":
    raise SystemExit(main())
