"""What venuekit adds to an Alpaca order's submit-to-ack time.

The Alpaca emulator runs as its own process, started as a user starts it (``venuekit
emulate alpaca --port 0 --json``, the market standing still): like a real venue, it shares
neither this process's GIL nor its CPU time slices. ``--emulator thread`` runs it on a
thread of this process instead, where its request handling competes for the GIL with the
paths measured. Against the one emulator, the same limit order (resting, far below the
market, so the answer is the ack) is submitted by each path in turn, ``--orders`` rounds.
Each round takes the next of the paths' orders, all of them in turn, so that drift in the
machine's load hits every path alike and each path follows each other one equally often:
what one submit leaves behind (a worker thread finishing its own bookkeeping after it woke
the loop, the emulator finishing its request) lands on every path alike:

* ``raw``: alpaca-py's ``TradingClient.submit_order`` called directly (internal retries
  off, as venuekit runs it; the comparison is about the path, not the retry policy). It
  blocks the calling thread, here the event loop's, which an asyncio program cannot
  afford: it is the floor, not an alternative;
* ``raw_in_thread``: the same call handed to a worker thread with
  ``loop.run_in_executor``, as an asyncio program using alpaca-py by itself would do;
* ``adapter``: ``AlpacaVenue.submit`` (request checks, the worker thread, the answer read
  into venuekit's snapshot);
* ``engine``: ``Engine.submit`` (quantization, the rate limiter, the SQLite journal's
  durable commit of the order before it is sent, the outcome policy, then the adapter).

Each phase compares one path with ``raw``, the two interleaved as above:

1. ``adapter``: ``raw`` and ``adapter``, no order stream open: the figure of the target
   (the adapter at most 1.05 times ``raw``).
2. ``thread``: ``raw`` and ``raw_in_thread``: what the hop to a worker thread costs asyncio
   code that uses alpaca-py by itself.
3. ``engine``: ``raw`` and ``engine``, with the engine running as a user runs it, its
   ``trade_updates`` stream open. An order's update usually arrives while its submit is
   still in flight; the engine reads it on the event loop, inside its timed window.

``raw_in_thread`` has a phase of its own because what it leaves behind is not the same
for every path: ``run_in_executor``'s worker thread finishes its bookkeeping (a
semaphore, a condition variable, in Python) after it has woken the loop, holding the GIL
the next submit needs, and an asynchronous next submit needs it more often than ``raw``.
Interleaved with it, the adapter's median extra over ``raw`` came out 96-123 µs, against
60-67 µs without it (three runs each).

Phases 1 and 2 run the submits back to back. In phase 3 each submit is followed by a pause
of 5 ms outside the timed window, so that the stream update of one order is read before
the next submit starts: without it, that work lands in the next submit's window, more often
the engine's than ``raw``'s, which blocks the loop and so defers it. ``--pause-ms`` pauses
after every submit of every phase instead, as when orders are sporadic: every path then
starts colder (idle threads, cold caches), ``raw`` included, which lengthens all of them;
the ratios of such a run are not those of the back-to-back phases.

Prints one JSON line per phase and path (median, p90 and mean in milliseconds, and the
median over rounds of the path's time minus ``raw``'s in the same round, in microseconds)
and one line per phase with the ratios of the medians. Wall-clock times on a shared machine:
compare ratios from the same run, not absolute numbers across runs.

    python benchmarks/alpaca_overhead.py [--orders 200] [--emulator process|thread]
                                         [--pause-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest, OrderType, Side
from venuekit.plugins import PluginHost
from venuekit_alpaca import sdk
from venuekit_alpaca.emulator import run_in_thread
from venuekit_alpaca.venue import AlpacaVenue

LIMIT = Decimal("1.00")  # far below the market: every order rests, the answer is the ack
BUDGET = 1_000_000  # requests per minute on both sides: the benchmark measures paths, not pacing
WARMUP = 5  # rounds per phase that warm connections and caches up, not counted
START_TIMEOUT = 30.0
STREAM_PAUSE = 0.005  # seconds after each submit of phase 3, for its stream update to be read


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str
    secret_key: str


@contextlib.contextmanager
def emulator_process() -> Iterator[Endpoint]:
    """``venuekit emulate alpaca`` in a child process, stopped (SIGTERM) on exit."""
    command = [sys.executable, "-m", "venuekit", "emulate", "alpaca", "--port", "0", "--json",
               "-o", "seed=1", "-o", "symbols=AAPL", "-o", "cash=100000000",
               "-o", f"rate_limit={BUDGET}", "-o", "tick_interval=none"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
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
        info = json.loads(announced[0])
        settings = info["client_settings"]
        yield Endpoint(info["endpoints"]["trading"], settings["APCA_API_KEY_ID"],
                       settings["APCA_API_SECRET_KEY"])
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextlib.contextmanager
def emulator_thread() -> Iterator[Endpoint]:
    with run_in_thread(seed=1, symbols=["AAPL"], cash="100000000",
                       rate_limit=BUDGET) as emulator:
        yield Endpoint(emulator.base_url, emulator.api_key, emulator.secret_key)


Submit = Callable[[str], Awaitable[object]]


async def interleave(phase: str, paths: dict[str, Submit], orders: int,
                     pause: float) -> dict[str, list[float]]:
    """Seconds per submit, per path; each round runs every path once, in each order in turn."""
    samples: dict[str, list[float]] = {name: [] for name in paths}
    orders_of_paths = list(itertools.permutations(paths))
    for i in range(orders + WARMUP):
        for name in orders_of_paths[i % len(orders_of_paths)]:
            started = time.perf_counter()
            await paths[name](f"{phase}-{name}-{i}")
            elapsed = time.perf_counter() - started
            if i >= WARMUP:
                samples[name].append(elapsed)
            if pause:
                await asyncio.sleep(pause)
    return samples


async def measure(endpoint: Endpoint, orders: int,
                  pause: float) -> dict[str, dict[str, list[float]]]:
    raw_client = sdk.TradingClient(endpoint.api_key, endpoint.secret_key, paper=True,
                                   url_override=endpoint.base_url)
    raw_client._retry = 0
    venue = AlpacaVenue(api_key=endpoint.api_key, secret_key=endpoint.secret_key,
                        base_url=endpoint.base_url, rate_limit=BUDGET)
    request = OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal(1),
                           order_type=OrderType.LIMIT, limit_price=LIMIT)
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=sdk.WORKERS)

    async def raw(client_order_id: str) -> object:
        return raw_client.submit_order(raw_request(client_order_id))

    async def raw_in_thread(client_order_id: str) -> object:
        return await loop.run_in_executor(pool, raw_client.submit_order,
                                          raw_request(client_order_id))

    async def adapter(client_order_id: str) -> object:
        return await venue.submit(request, client_order_id)

    phases = {
        "adapter": await interleave("adapter", {"raw": raw, "adapter": adapter}, orders, pause),
        "thread": await interleave("thread", {"raw": raw, "raw_in_thread": raw_in_thread},
                                   orders, pause)}

    with tempfile.TemporaryDirectory() as workdir, \
            SQLiteJournal(Path(workdir) / "journal.sqlite3") as journal:
        engine = Engine(venue, journal, host=PluginHost(load_entry_points=False))

        async def through_engine(_: str) -> object:
            order = await engine.submit(request)  # the engine names its orders itself
            assert order.venue_order_id, order
            return order

        async with engine:
            phases["engine"] = await interleave(
                "engine", {"raw": raw, "engine": through_engine}, orders,
                max(pause, STREAM_PAUSE))
    pool.shutdown()
    await venue.close()
    return phases


def raw_request(client_order_id: str) -> sdk.LimitOrderRequest:
    return sdk.LimitOrderRequest(symbol="AAPL", qty=1, side="buy", type="limit",
                                 time_in_force="day", limit_price=float(LIMIT),
                                 client_order_id=client_order_id)


def summary(phase: str, path: str, samples: list[float],
            raw: list[float]) -> dict[str, object]:
    ordered = sorted(samples)
    extra = statistics.median(s - r for s, r in zip(samples, raw, strict=True))
    return {"benchmark": "alpaca_overhead", "phase": phase, "path": path,
            "orders": len(samples),
            "median_ms": round(statistics.median(ordered) * 1000, 3),
            "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 3),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
            "median_extra_over_raw_us": round(extra * 1e6)}


def ratios(phase: str, medians: dict[str, float], emulator: str) -> dict[str, object]:
    line: dict[str, object] = {"benchmark": "alpaca_overhead", "phase": phase,
                               "path": "ratio", "emulator": emulator}
    for path, value in medians.items():
        if path != "raw":
            line[f"{path}_over_raw"] = round(value / medians["raw"], 3)
    if phase == "adapter":
        line["target_adapter_over_raw"] = 1.05
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--orders", type=int, default=200, help="rounds per phase")
    parser.add_argument("--emulator", choices=["process", "thread"], default="process",
                        help="the emulator in a child process (default) or on a thread of "
                             "this one")
    parser.add_argument("--pause-ms", type=float, default=0.0,
                        help="pause after every submit, outside the timed window (default: "
                             "none, 5 ms in the engine phase)")
    args = parser.parse_args()
    serve = emulator_process if args.emulator == "process" else emulator_thread
    with serve() as endpoint:
        phases = asyncio.run(measure(endpoint, args.orders, args.pause_ms / 1000))
    for phase, samples in phases.items():
        medians: dict[str, float] = {}
        for path, values in samples.items():
            line = summary(phase, path, values, samples["raw"])
            medians[path] = float(line["median_ms"])  # type: ignore[arg-type]
            sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.write(json.dumps(ratios(phase, medians, args.emulator)) + "\n")


if __name__ == "__main__":
    main()
