"""venuekit against NautilusTrader: orders per second on the same three scenarios, side by side.

venuekit runs ``engine_throughput``'s scenarios, through its own code (imported, not
copied): the Engine, the mock venue (latency 0, simulated clock) and the durable SQLite
journal (a real file, WAL, ``--durability normal`` by default, ``full`` on request), the
clock running from the first quote update until the order stream is consumed and every
event is committed. NautilusTrader runs its ``BacktestEngine`` in memory with no
persistence (no cache database, no streaming, logging at ERROR, post-run analysis off):
one instrument (an equity with a 0.01 tick), N synthetic QuoteTicks one second apart, a
simulated venue (NETTING, margin account, the default ``FillModel``: no slippage, limits
fill when marketable), and a Strategy that submits one order on each QuoteTick, alternating
buy and sell. The scenarios, the same on both sides:

* ``market_fill``: a market order, filled;
* ``limit_fill``: a limit order at the touch (buy at the ask, sell at the bid), filled;
* ``limit_cancel``: a limit order one tick behind the touch, cancelled once accepted.

NautilusTrader's figure is N orders over the wall time of ``engine.run()`` (building the
engine, the venue, the instrument and the ticks is outside it, as venuekit's start-up is
outside its clock); CPU per order is ``time.process_time`` over the same span on both
sides. Each NautilusTrader run is checked at the end: every order submitted, filled or
cancelled as the scenario says, none rejected or denied, no order left open, buys and
sells alternating, each ``limit_fill`` order filled at its limit; the counts are in its
JSON line. venuekit's round checks each order's final state itself.

Fairness: every run is a fresh child process (this script with ``--child``), so neither
side inherits the other's heap, garbage-collector generations, imported modules or caches,
and each side's peak RSS is its own; start-up and imports are outside both clocks. A pair
is one venuekit run and one NautilusTrader run of a scenario; pairs alternate which side
goes first (venuekit first in even pairs, NautilusTrader in odd ones) so that neither side
always runs after the other, and within a pair the scenarios follow each other, so a burst
of other work on the machine hits one pair of every scenario rather than every pair of
one. The figures are the medians over the pairs (not the best run); ``ratio`` is
venuekit's median over NautilusTrader's, ``pair_ratios`` each pair's own (the two runs of
a pair are close in time, so a slow spell of the machine disturbs them more alike), and
``cpu_ratio`` NautilusTrader's median CPU per order over venuekit's (orders per CPU
second, venuekit's over NautilusTrader's: on a shared machine it moves less than the
wall-clock figures).

Prints one JSON line per run (``"figure": "round"``: each side's orders/s in each pair)
and, at the end, one per scenario (``"figure": "median"``: the medians and the ratio).
NautilusTrader is not a dependency of venuekit: run this in its own environment::

    tox -e bench-nautilus                                    # 10,000 orders, 3 pairs
    tox -e bench-nautilus -- -n 2000 --pairs 3 --scenario limit_cancel
    python benchmarks/nautilus_compare.py --durability full --dir ./scratch

``--check`` exits with status 1 when a scenario's ratio is below the target (3).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from venuekit.journal import Durability

NAME = "nautilus_compare"
SCENARIO_NAMES = ("market_fill", "limit_fill", "limit_cancel")  # engine_throughput's
SIDES = ("venuekit", "nautilus_trader")
TARGET_RATIO = 3.0
TICK_SPACING_NS = 1_000_000_000  # one quote update per simulated second, as the mock's clock


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- venuekit: engine_throughput's round, in this (child) process ---------------------------


def venuekit_round(scenario: str, orders: int, durability: Durability,
                   directory: str | None) -> dict[str, object]:
    """One round of ``engine_throughput``'s scenario (its code, imported here)."""
    # Imported here, so that only the venuekit child process loads venuekit.
    import engine_throughput

    if set(engine_throughput.SCENARIOS) != set(SCENARIO_NAMES):
        raise RuntimeError("engine_throughput's scenarios changed: update SCENARIO_NAMES")
    report = engine_throughput.run(scenario, orders, 1, durability, directory)
    seconds = float(str(report["seconds"]))
    cpu = float(str(report["cpu_seconds"]))
    state = engine_throughput.SCENARIOS[scenario][1].value
    return {
        "orders_per_s": report["orders_per_s"],
        "seconds": seconds,
        "cpu_us_per_order": round(cpu / orders * 1e6, 1),
        "peak_rss_mb": _peak_rss_mb(),
        "durability": durability,
        "checked": f"each of the {orders} orders ended {state}",
    }


# -- NautilusTrader: a BacktestEngine and a one-order-per-quote Strategy --------------------


def nautilus_round(scenario: str, orders: int) -> dict[str, object]:
    """One NautilusTrader backtest of ``scenario`` with ``orders`` QuoteTicks, checked."""
    # NautilusTrader is imported here, in its child process only: the rest of this script
    # (and mypy, ruff and the benchmark runner) work without it installed.
    import nautilus_trader
    from nautilus_trader.backtest.config import BacktestEngineConfig
    from nautilus_trader.backtest.engine import BacktestEngine
    from nautilus_trader.backtest.models import FillModel
    from nautilus_trader.config import LoggingConfig, StrategyConfig
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import QuoteTick
    from nautilus_trader.model.enums import (
        AccountType,
        OmsType,
        OrderSide,
        OrderStatus,
    )
    from nautilus_trader.model.identifiers import TraderId, Venue
    from nautilus_trader.model.objects import Money, Price, Quantity
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.trading.strategy import Strategy

    # NautilusTrader ships no stubs for its compiled modules: Strategy is Any to mypy.
    class OnePerQuote(Strategy):  # type: ignore[misc]
        def __init__(self, instrument: Any, name: str) -> None:
            super().__init__(StrategyConfig(strategy_id="BENCH-001", order_id_tag="001"))
            self.instrument = instrument
            self.scenario = name
            self.tick_raw = instrument.price_increment.raw
            self.precision = instrument.price_precision
            self.quantity = Quantity.from_int(1)
            self.quotes = 0
            self.counts = dict.fromkeys(
                ("submitted", "accepted", "filled", "canceled", "rejected", "denied",
                 "cancel_rejected"), 0)

        def on_start(self) -> None:
            self.subscribe_quote_ticks(self.instrument.id)

        def on_quote_tick(self, tick: Any) -> None:
            side = OrderSide.BUY if self.quotes % 2 == 0 else OrderSide.SELL
            self.quotes += 1
            factory = self.order_factory
            if self.scenario == "market_fill":
                order = factory.market(self.instrument.id, side, self.quantity)
            elif self.scenario == "limit_fill":
                touch = tick.ask_price if side == OrderSide.BUY else tick.bid_price
                order = factory.limit(self.instrument.id, side, self.quantity, touch)
            else:  # limit_cancel: one tick behind the touch, so it rests
                raw = (tick.bid_price.raw - self.tick_raw if side == OrderSide.BUY
                       else tick.ask_price.raw + self.tick_raw)
                order = factory.limit(self.instrument.id, side, self.quantity,
                                      Price.from_raw(raw, self.precision))
            self.submit_order(order)
            self.counts["submitted"] += 1

        def on_order_accepted(self, event: Any) -> None:
            self.counts["accepted"] += 1
            if self.scenario == "limit_cancel":
                self.cancel_order(self.cache.order(event.client_order_id))

        def on_order_filled(self, event: Any) -> None:
            self.counts["filled"] += 1

        def on_order_canceled(self, event: Any) -> None:
            self.counts["canceled"] += 1

        def on_order_rejected(self, event: Any) -> None:
            self.counts["rejected"] += 1

        def on_order_denied(self, event: Any) -> None:
            self.counts["denied"] += 1

        def on_order_cancel_rejected(self, event: Any) -> None:
            self.counts["cancel_rejected"] += 1

    engine = BacktestEngine(BacktestEngineConfig(
        trader_id=TraderId("BENCH-001"), logging=LoggingConfig(log_level="ERROR"),
        run_analysis=False))
    venue = Venue("XNAS")
    engine.add_venue(venue=venue, oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     base_currency=USD, starting_balances=[Money(10**9, USD)],
                     fill_model=FillModel())
    instrument = TestInstrumentProvider.equity(symbol="XYZ", venue=venue.value)
    engine.add_instrument(instrument)
    # Quotes around 100.00 / 100.01, moving a cent at a time, deep enough that every
    # order fills in full at the touch (as the mock's book).
    size = Quantity.from_int(1_000_000)
    ticks = []
    for i in range(orders):
        bid = 10_000 + (i % 7)
        ts = (i + 1) * TICK_SPACING_NS
        ticks.append(QuoteTick(instrument.id, Price(bid / 100, 2), Price((bid + 1) / 100, 2),
                               size, size, ts, ts))
    engine.add_data(ticks)
    strategy = OnePerQuote(instrument, scenario)
    engine.add_strategy(strategy)

    started = time.perf_counter()
    cpu_started = time.process_time()
    engine.run()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started

    statuses: dict[str, int] = {}
    sides = {"buy": 0, "sell": 0}
    off_limit = 0  # limit_fill: orders filled at another price than their limit (the touch)
    for order in engine.cache.orders():
        key = OrderStatus(order.status).name.lower()
        statuses[key] = statuses.get(key, 0) + 1
        sides["buy" if order.side == OrderSide.BUY else "sell"] += 1
        if scenario == "limit_fill" and order.avg_px != order.price.as_double():
            off_limit += 1
    counts = dict(strategy.counts)
    engine.dispose()
    final = "canceled" if scenario == "limit_cancel" else "filled"
    expected = {
        "submitted": orders,
        "filled": 0 if final == "canceled" else orders,
        "canceled": orders if final == "canceled" else 0,
        "rejected": 0, "denied": 0, "cancel_rejected": 0,
    }
    if scenario != "market_fill":  # a backtest fills a market order without an accept
        expected["accepted"] = orders
    wrong = {k: (counts[k], v) for k, v in expected.items() if counts[k] != v}
    alternating = {"buy": orders - orders // 2, "sell": orders // 2}
    if wrong or statuses != {final: orders} or sides != alternating or off_limit:
        raise RuntimeError(f"{scenario}: NautilusTrader did not do what the scenario says: "
                           f"(got, expected) {wrong}, order statuses {statuses}, "
                           f"sides {sides}, filled away from the limit {off_limit}")
    return {
        "orders_per_s": round(orders / elapsed),
        "seconds": round(elapsed, 3),
        "cpu_us_per_order": round(cpu / orders * 1e6, 1),
        "peak_rss_mb": _peak_rss_mb(),
        "counts": counts,
        "order_statuses": statuses,
        "order_sides": sides,
        "nautilus_trader": nautilus_trader.__version__,
    }


# -- the parent: alternating pairs of child processes ---------------------------------------


def _child(side: str, scenario: str, orders: int, durability: str, directory: str | None,
           timeout: float) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", side,
               "--scenario", scenario, "-n", str(orders), "--durability", durability]
    if directory is not None:
        command += ["--dir", directory]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{side} {scenario} exited {done.returncode}: {last}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _emit(line: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def compare(scenarios: Sequence[str], orders: int, pairs: int, durability: str,
            directory: str | None, timeout: float) -> bool:
    """Run the pairs, print every run and the medians; True when every ratio meets 3."""
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {
        (s, side): [] for s in scenarios for side in SIDES}
    load_started = _load()
    for pair in range(pairs):
        order = SIDES if pair % 2 == 0 else SIDES[::-1]
        for scenario in scenarios:
            for side in order:
                load = _load()
                result = _child(side, scenario, orders, durability, directory, timeout)
                runs[scenario, side].append(result)
                _emit({"benchmark": NAME, "figure": "round", "scenario": scenario,
                       "pair": pair + 1, "side": side, "orders": orders, **result,
                       "load_1m": load})
    ok = True
    for scenario in scenarios:
        vk, nt = runs[scenario, "venuekit"], runs[scenario, "nautilus_trader"]
        vk_rate = statistics.median(r["orders_per_s"] for r in vk)
        nt_rate = statistics.median(r["orders_per_s"] for r in nt)
        ratio = vk_rate / nt_rate
        pair_ratios = [v["orders_per_s"] / n["orders_per_s"] for v, n in zip(vk, nt, strict=True)]
        vk_cpu = statistics.median(r["cpu_us_per_order"] for r in vk)
        nt_cpu = statistics.median(r["cpu_us_per_order"] for r in nt)
        ok = ok and ratio >= TARGET_RATIO
        _emit({
            "benchmark": NAME, "figure": "median", "scenario": scenario, "orders": orders,
            "pairs": pairs,
            "venuekit_orders_per_s": round(vk_rate),
            "nautilus_orders_per_s": round(nt_rate),
            "ratio": round(ratio, 2),
            "pair_ratios": [round(r, 2) for r in pair_ratios],
            "pair_ratio_median": round(statistics.median(pair_ratios), 2),
            "venuekit_rounds": [r["orders_per_s"] for r in vk],
            "nautilus_rounds": [r["orders_per_s"] for r in nt],
            "venuekit_cpu_us_per_order": round(vk_cpu, 1),
            "nautilus_cpu_us_per_order": round(nt_cpu, 1),
            "cpu_ratio": round(nt_cpu / vk_cpu, 2),
            "nautilus_counts": nt[-1]["counts"],
            "durability": durability,
            "target_ratio": TARGET_RATIO,
            "met": ratio >= TARGET_RATIO,
            "nautilus_trader": nt[-1]["nautilus_trader"],
            "python": platform.python_version(),
            "load_1m": [load_started, _load()],
        })
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--orders", type=int, default=10_000, help="orders per run")
    parser.add_argument("--pairs", type=int, default=3,
                        help="alternating venuekit/NautilusTrader pairs per scenario "
                             "(default 3, at least 1)")
    parser.add_argument("--scenario", choices=SCENARIO_NAMES, action="append",
                        help="run only this scenario (repeatable; default: all)")
    parser.add_argument("--durability", choices=("normal", "full"), default="normal",
                        help="venuekit's journal durability (default normal)")
    parser.add_argument("--dir", default=None, help="where to put venuekit's journal file")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds each run may take (default 900)")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when a scenario's ratio is below {TARGET_RATIO:g}")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.orders < 1 or args.pairs < 1:
        parser.error("--orders and --pairs must be at least 1")
    scenarios = tuple(args.scenario or SCENARIO_NAMES)
    if args.child is not None:  # one run, in a fresh process; prints one JSON line
        if len(scenarios) != 1:
            parser.error("--child runs one --scenario")
        if args.child == "venuekit":
            result = venuekit_round(scenarios[0], args.orders, args.durability, args.dir)
        else:
            result = nautilus_round(scenarios[0], args.orders)
        _emit(result)
        return 0
    if importlib.util.find_spec("nautilus_trader") is None:
        _emit({"benchmark": NAME, "error": "nautilus_trader is not installed here; "
               "run `tox -e bench-nautilus`"})
        return 2
    try:
        ok = compare(scenarios, args.orders, args.pairs, args.durability, args.dir,
                     args.timeout)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        _emit({"benchmark": NAME, "error": str(exc)})
        return 1
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
