"""What venuekit adds to an Alpaca order's submit-to-ack time.

One Alpaca emulator runs on its own thread and event loop in this process. Against it, the
same limit order (resting, far below the market, so the answer is the ack) is submitted
``--orders`` times by three paths, interleaved so that drift in the machine's load hits all
of them alike:

* ``raw``: alpaca-py's ``TradingClient.submit_order`` called directly (internal retries off,
  as venuekit runs it; the comparison is about the path, not the retry policy);
* ``raw_in_thread``: the same call handed to a worker thread from the event loop, as any
  asyncio program must do with a blocking client: the cost of staying off the loop;
* ``adapter``: ``AlpacaVenue.submit`` (request checks, a worker thread, mapping the answer);
* ``engine``: ``Engine.submit`` (quantization, the rate limiter, the SQLite journal's commit
  before the send, the outcome policy, then the adapter).

Prints one JSON line per path (median, p90, mean in milliseconds) and one with the ratios of
the medians to ``raw`` (target for the adapter: at most 1.05). Figures are wall-clock times
on a shared machine: compare ratios from the same run, not absolute numbers across runs.

    python benchmarks/alpaca_overhead.py [--orders 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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


def summary(path: str, samples: list[float]) -> dict[str, object]:
    ordered = sorted(samples)
    return {"benchmark": "alpaca_overhead", "path": path, "orders": len(samples),
            "median_ms": round(statistics.median(ordered) * 1000, 3),
            "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 3),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3)}


async def measure(emulator: object, orders: int) -> dict[str, list[float]]:
    base_url = emulator.base_url  # type: ignore[attr-defined]
    key, secret = emulator.api_key, emulator.secret_key  # type: ignore[attr-defined]
    raw_client = sdk.TradingClient(key, secret, paper=True, url_override=base_url)
    raw_client._retry = 0
    venue = AlpacaVenue(api_key=key, secret_key=secret, base_url=base_url,
                        rate_limit=BUDGET)
    request = OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal(1),
                           order_type=OrderType.LIMIT, limit_price=LIMIT)
    samples: dict[str, list[float]] = {"raw": [], "raw_in_thread": [], "adapter": [],
                                       "engine": []}
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=sdk.WORKERS)
    with tempfile.TemporaryDirectory() as workdir, \
            SQLiteJournal(Path(workdir) / "journal.sqlite3") as journal:
        engine = Engine(venue, journal, host=PluginHost(load_entry_points=False))
        async with engine:
            for i in range(orders + 5):  # the first five warm connections and caches up
                started = time.perf_counter()
                raw_client.submit_order(raw_request(f"raw-{i}"))
                raw_s = time.perf_counter() - started

                started = time.perf_counter()
                await loop.run_in_executor(pool, raw_client.submit_order,
                                           raw_request(f"thread-{i}"))
                thread_s = time.perf_counter() - started

                started = time.perf_counter()
                await venue.submit(request, f"adapter-{i}")
                adapter_s = time.perf_counter() - started

                started = time.perf_counter()
                order = await engine.submit(request)
                engine_s = time.perf_counter() - started
                assert order.venue_order_id, order
                if i >= 5:
                    samples["raw"].append(raw_s)
                    samples["raw_in_thread"].append(thread_s)
                    samples["adapter"].append(adapter_s)
                    samples["engine"].append(engine_s)
    pool.shutdown()
    return samples


def raw_request(client_order_id: str) -> object:
    return sdk.LimitOrderRequest(symbol="AAPL", qty=1, side="buy", type="limit",
                                 time_in_force="day", limit_price=float(LIMIT),
                                 client_order_id=client_order_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    with run_in_thread(seed=1, symbols=["AAPL"], cash="100000000",
                       rate_limit=BUDGET) as emulator:
        samples = asyncio.run(measure(emulator, args.orders))
    results = {path: summary(path, values) for path, values in samples.items()}
    for line in results.values():
        sys.stdout.write(json.dumps(line) + "\n")
    raw = float(results["raw"]["median_ms"])  # type: ignore[arg-type]
    sys.stdout.write(json.dumps({
        "benchmark": "alpaca_overhead", "path": "ratio",
        **{f"{path}_over_raw": round(float(results[path]["median_ms"]) / raw, 3)  # type: ignore[arg-type]
           for path in ("raw_in_thread", "adapter", "engine")},
        "adapter_over_raw_in_thread": round(
            float(results["adapter"]["median_ms"])  # type: ignore[arg-type]
            / float(results["raw_in_thread"]["median_ms"]), 3),  # type: ignore[arg-type]
        "target_adapter_over_raw": 1.05}) + "\n")


if __name__ == "__main__":
    main()
