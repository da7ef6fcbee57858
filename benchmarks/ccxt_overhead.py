"""What venuekit adds to a Binance order's submit-to-ack time, over raw ccxt.

The Binance emulator runs as its own process, started as a user starts it (``venuekit
emulate binance --port 0 --json``, the market standing still, its rate limits raised out of
reach): like a real exchange, it shares neither this process's GIL nor its CPU time slices.
``--emulator thread`` runs it on a thread of this process instead, where its request
handling competes for the GIL with the paths measured. Against the one emulator, the same
limit order (buy 0.001 BTCUSDT at 30000.00: resting, far below the market, so the answer is
the ack) is submitted by each path in turn, ``--orders`` rounds. Each round takes the next
of the paths' orders, all of them in turn, so that drift in the machine's load hits every
path alike and each path follows each other one equally often:

* ``raw``: ccxt.pro's ``binance.create_order`` called directly, on an exchange object
  configured as the plugin configures its own (the same spot-only options, ccxt's rate
  limiter off, numbers as strings, every URL pointed at the emulator, the same timeout),
  but without the plugin's hooks: the comparison is about the path, not the options;
* ``adapter``: ``BinanceVenue.submit`` (the market looked up, the request checked against
  the price and lot grid, Binance's ``POST /api/v3/order`` sent through the same exchange
  object's signed method, ``privatePostOrder``: the request ``create_order`` sends, without
  ccxt's request building and answer parsing; Binance's answer read into venuekit's
  snapshot). It can take less time than ``raw``;
* ``engine``: ``Engine.submit`` (quantization, the rate limiter, the SQLite journal's
  durable commit of the order before it is sent, the outcome policy, then the adapter).

ccxt is asynchronous: unlike ``alpaca_overhead``, no path needs a worker thread, so there
is no ``thread`` phase. Each phase compares one path with ``raw``, the two interleaved as
above:

1. ``adapter``: ``raw`` and ``adapter``, no user-data stream open: the figure of the target
   (the adapter at most 1.05 times ``raw``).
2. ``engine``: ``raw`` and ``engine``, with the engine running as a user runs it, its
   user-data stream open. An order's ``executionReport`` (``raw``'s orders' too: they are
   the same account's) usually arrives while its submit is still in flight; the engine
   reads it on the event loop, inside its timed window.

Phase 1 runs the submits back to back. In phase 2 each submit is followed by a pause of 5
ms outside the timed window, so that the stream report of one order is read before the
next submit starts: without it, that work lands in the next submit's window, more often
the engine's than ``raw``'s. ``--pause-ms`` pauses after every submit of every phase
instead, as when orders are sporadic: every path then starts colder, ``raw`` included; the
ratios of such a run are not those of the back-to-back phase.

The whole measurement (a fresh emulator, clients, venue and journal) is repeated
``--runs`` times. Prints, per run, one JSON line per phase and path (median, p90 and mean
in milliseconds, and the median over rounds of the path's time minus ``raw``'s in the same
round, in microseconds) and one line per phase with the ratios of the medians; then one
line per phase with the median of the per-run ratios. Wall-clock times on a shared
machine: compare ratios from the same run, not absolute numbers across runs.

    python benchmarks/ccxt_overhead.py [--orders 200] [--runs 5]
                                       [--emulator process|thread] [--pause-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import ctypes
import importlib
import itertools
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest, OrderType, Side
from venuekit.plugins import PluginHost
from venuekit_ccxt.emulator import run_in_thread
from venuekit_ccxt.exchange import _SPOT_ONLY, point_at
from venuekit_ccxt.venue import BinanceVenue

BENCHMARK = "ccxt_overhead"
SYMBOL = "BTC/USDT"  # ccxt's unified symbol of the emulator's BTCUSDT
QUANTITY = Decimal("0.001")  # a multiple of the lot (0.00001); 30 USDT, over the 5 minimum
LIMIT = Decimal("30000.00")  # on the tick (0.01), half the market: every order rests
BUDGET = 1_000_000  # per window, both sides: the benchmark measures paths, not pacing
CASH = "100000000"  # USDT: every resting buy reserves its notional
TIMEOUT = 10.0  # seconds per request, the plugin's default
WARMUP = 5  # rounds per phase that warm connections and caches up, not counted
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
STREAM_PAUSE = 0.005  # seconds after each submit of phase 2, for its stream report to be read
RUN_TIMEOUT_BASE = 60.0  # seconds a run may take, plus RUN_TIMEOUT_PER_ROUND per round
RUN_TIMEOUT_PER_ROUND = 0.25
TARGET = 1.05
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str
    secret: str


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a ``preexec_fn`` that has the kernel send the child SIGTERM when this
    process dies, even by SIGKILL (``benchmarks/run.py``'s timeout): no emulator outlives
    the benchmark. The libc function is looked up here, before the fork."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return arm


@contextlib.contextmanager
def emulator_process() -> Iterator[Endpoint]:
    """``venuekit emulate binance`` in a child process, stopped (SIGTERM) on exit."""
    command = [sys.executable, "-m", "venuekit", "emulate", "binance", "--port", "0", "--json",
               "-o", "seed=1", "-o", "symbols=BTCUSDT", "-o", f"cash={CASH}",
               "-o", f"weight_limit={BUDGET}", "-o", f"orders_per_10s={BUDGET}",
               "-o", f"orders_per_day={BUDGET}", "-o", "tick_interval=none"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                             preexec_fn=_die_with_parent())
    try:
        stdout = child.stdout
        assert stdout is not None
        announced: list[str] = []
        reader = threading.Thread(target=lambda: announced.append(stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(START_TIMEOUT)
        if not announced or not announced[0]:
            raise RuntimeError(f"the emulator did not start within {START_TIMEOUT:g} s "
                               f"(exit status {child.poll()})")
        settings = json.loads(announced[0])["client_settings"]
        yield Endpoint(settings["BINANCE_BASE_URL"], settings["BINANCE_API_KEY"],
                       settings["BINANCE_API_SECRET"])
    finally:
        child.terminate()
        try:
            child.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


@contextlib.contextmanager
def emulator_thread() -> Iterator[Endpoint]:
    with run_in_thread(seed=1, symbols=["BTCUSDT"], cash=CASH, weight_limit=BUDGET,
                       orders_per_10s=BUDGET, orders_per_day=BUDGET,
                       timeout=START_TIMEOUT) as emulator:
        yield Endpoint(emulator.base_url, emulator.api_key, emulator.secret_key)


def raw_exchange(endpoint: Endpoint) -> Any:
    """A plain ccxt.pro ``binance``, configured as ``venuekit_ccxt.exchange.build_exchange``
    configures the plugin's (its options, no rate limiter, exact strings, the emulator's
    URLs), without the plugin's hooks."""
    pro: Any = importlib.import_module("ccxt.pro")
    exchange = pro.binance({
        "apiKey": endpoint.api_key,
        "secret": endpoint.secret,
        "enableRateLimit": False,
        "timeout": int(TIMEOUT * 1000),
        "options": copy.deepcopy(_SPOT_ONLY),
    })
    exchange.number = str
    point_at(exchange, endpoint.base_url)
    return exchange


Submit = Callable[[str], Awaitable[object]]


async def interleave(prefix: str, paths: dict[str, Submit], orders: int,
                     pause: float) -> dict[str, list[float]]:
    """Seconds per submit, per path; each round runs every path once, in each order in turn."""
    samples: dict[str, list[float]] = {name: [] for name in paths}
    orders_of_paths = list(itertools.permutations(paths))
    for i in range(orders + WARMUP):
        for name in orders_of_paths[i % len(orders_of_paths)]:
            started = time.perf_counter()
            await paths[name](f"{prefix}-{name}-{i}")
            elapsed = time.perf_counter() - started
            if i >= WARMUP:
                samples[name].append(elapsed)
            if pause:
                await asyncio.sleep(pause)
    return samples


async def measure(endpoint: Endpoint, run: int, orders: int,
                  pause: float) -> dict[str, dict[str, list[float]]]:
    exchange = raw_exchange(endpoint)
    venue = BinanceVenue(base_url=endpoint.base_url, api_key=endpoint.api_key,
                         secret=endpoint.secret, timeout=TIMEOUT,
                         request_weight=f"{BUDGET}/60", orders=f"{BUDGET}/10",
                         orders_daily=f"{BUDGET}/86400")
    request = OrderRequest(symbol=SYMBOL, side=Side.BUY, quantity=QUANTITY,
                           order_type=OrderType.LIMIT, limit_price=LIMIT)
    amount, price = str(QUANTITY), str(LIMIT)  # as the adapter hands them to ccxt

    async def raw(client_order_id: str) -> object:
        return await exchange.create_order(SYMBOL, "limit", "buy", amount, price,
                                           {"newClientOrderId": client_order_id})

    async def adapter(client_order_id: str) -> object:
        return await venue.submit(request, client_order_id)

    phases: dict[str, dict[str, list[float]]] = {}
    try:
        await exchange.load_markets()  # as the venue's connect does
        await venue.connect()
        phases["adapter"] = await interleave(f"r{run}-adapter",
                                             {"raw": raw, "adapter": adapter}, orders, pause)
        with tempfile.TemporaryDirectory() as workdir, \
                SQLiteJournal(Path(workdir) / "journal.sqlite3") as journal:
            engine = Engine(venue, journal, host=PluginHost(load_entry_points=False))

            async def through_engine(_: str) -> object:
                order = await engine.submit(request)  # the engine names its orders itself
                assert order.venue_order_id, order
                return order

            async with engine:
                phases["engine"] = await interleave(
                    f"r{run}-engine", {"raw": raw, "engine": through_engine}, orders,
                    max(pause, STREAM_PAUSE))
    finally:
        await venue.close()
        await exchange.close()
    return phases


async def bounded(endpoint: Endpoint, run: int, orders: int,
                  pause: float) -> dict[str, dict[str, list[float]]]:
    limit = RUN_TIMEOUT_BASE + RUN_TIMEOUT_PER_ROUND * (orders + WARMUP)
    try:
        async with asyncio.timeout(limit):
            return await measure(endpoint, run, orders, pause)
    except TimeoutError:
        raise RuntimeError(f"run {run} did not finish within {limit:g} s") from None


def summary(run: int, phase: str, path: str, samples: list[float],
            raw: list[float]) -> dict[str, object]:
    ordered = sorted(samples)
    extra = statistics.median(s - r for s, r in zip(samples, raw, strict=True))
    return {"benchmark": BENCHMARK, "run": run, "phase": phase, "path": path,
            "orders": len(samples),
            "median_ms": round(statistics.median(ordered) * 1000, 3),
            "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 3),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
            "median_extra_over_raw_us": round(extra * 1e6)}


def ratios(run: int, phase: str, medians: dict[str, float],
           emulator: str) -> dict[str, object]:
    """The ratio of each path's median to ``raw``'s, from unrounded medians."""
    line: dict[str, object] = {"benchmark": BENCHMARK, "run": run, "phase": phase,
                               "path": "ratio", "emulator": emulator}
    for path, value in medians.items():
        if path != "raw":
            line[f"{path}_over_raw"] = round(value / medians["raw"], 3)
    if phase == "adapter":
        line["target_adapter_over_raw"] = TARGET
    return line


def overall(phase: str, per_run: dict[str, list[float]], emulator: str) -> dict[str, object]:
    """The median over runs of each per-run ratio, with the runs' own figures."""
    line: dict[str, object] = {"benchmark": BENCHMARK, "run": "all", "phase": phase,
                               "path": "ratio", "emulator": emulator,
                               "runs": len(next(iter(per_run.values()), []))}
    for key, values in per_run.items():
        line[key] = round(statistics.median(values), 3)
        line[f"{key}_runs"] = [round(value, 3) for value in values]
    if phase == "adapter":
        line["target_adapter_over_raw"] = TARGET
        line["target_met"] = bool(statistics.median(per_run["adapter_over_raw"]) <= TARGET)
    return line


def emit(line: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def _exit_on_signal(signum: int, _: FrameType | None) -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C does, so that the emulator is stopped and reaped."""
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--orders", type=int, default=200, help="rounds per phase")
    parser.add_argument("--runs", type=int, default=5,
                        help="times the whole measurement is repeated (default 5)")
    parser.add_argument("--emulator", choices=["process", "thread"], default="process",
                        help="the emulator in a child process (default) or on a thread of "
                             "this one")
    parser.add_argument("--pause-ms", type=float, default=0.0,
                        help="pause after every submit, outside the timed window (default: "
                             "none, 5 ms in the engine phase)")
    args = parser.parse_args()
    if args.orders < 1 or args.runs < 1 or args.pause_ms < 0:
        parser.error("--orders and --runs must be at least 1, --pause-ms at least 0")
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    serve = emulator_process if args.emulator == "process" else emulator_thread
    per_run: dict[str, dict[str, list[float]]] = {}
    for run in range(1, args.runs + 1):
        with serve() as endpoint:
            phases = asyncio.run(bounded(endpoint, run, args.orders, args.pause_ms / 1000))
        for phase, samples in phases.items():
            medians = {path: statistics.median(values) for path, values in samples.items()}
            for path, values in samples.items():
                emit(summary(run, phase, path, values, samples["raw"]))
            line = ratios(run, phase, medians, args.emulator)
            emit(line)
            for path, value in medians.items():
                if path != "raw":
                    per_run.setdefault(phase, {}).setdefault(f"{path}_over_raw", []).append(
                        value / medians["raw"])
    for phase, figures in per_run.items():
        emit(overall(phase, figures, args.emulator))


if __name__ == "__main__":
    main()
