"""What venuekit adds to a KIS order's submit-to-answer time, over raw httpx.

The KIS emulator runs as its own process, started as a user starts it (``venuekit emulate
kis --port 0 --json``, the market standing still, its rate limit raised out of reach).
Against it, the same limit order (buy 1 share of 005930 at 50,000 won: resting, far below
the market and inside the day's limits, so the answer is the order number) is submitted
by each path in turn, ``--orders`` rounds. Each round runs every path once, in each order
in turn, so that drift in the machine's load hits every path alike:

* ``raw``: an ``httpx.AsyncClient`` posting ``order-cash`` with the headers and body KIS's
  official samples send, built for each order as they build them (the access token fetched
  once beforehand), reading ``rt_cd`` and ``ODNO`` from the JSON answer: what a client
  written from KIS's documents does;
* ``adapter``: ``KisVenue.submit``: the day's rules of the symbol (read once before the
  rounds) checked, the same request sent through the plugin's client (token, headers,
  paper tr_id), the answer read into venuekit's snapshot;
* ``engine``: ``Engine.submit``: quantization, the rate limiter, the SQLite journal's
  durable commit before the send, the outcome policy, then the adapter, with the notice
  stream open as a user runs it.

Phase 1 compares ``raw`` and ``adapter`` (the target: the adapter's median at most 1.05
times raw's); phase 2 ``raw`` and ``engine``. The whole measurement (a fresh emulator,
clients, venue and journal) is repeated ``--runs`` times. Prints one JSON line per run,
phase and path (median, p90, mean in ms), one per run and phase with the ratio of the
medians, and one per phase with the median of the per-run ratios. Wall-clock times on a
shared machine: compare ratios from the same run, not absolute numbers across runs.

    python benchmarks/kis_overhead.py [--orders 300] [--runs 5]
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
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path

import httpx

from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest, OrderType, Side
from venuekit.plugins import PluginHost
from venuekit_kis.venue import KisVenue

BENCHMARK = "kis_overhead"
SYMBOL = "005930"
PRICE = Decimal(50_000)  # on the 100-won tick, inside the day's limits, below the market
ORDER_CASH = "/uapi/domestic-stock/v1/trading/order-cash"
BUDGET = 1_000_000  # requests a second, both sides: the benchmark measures paths, not pacing
TIMEOUT = 10.0
WARMUP = 5
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
STREAM_PAUSE = 0.005  # seconds after each submit of phase 2, for its notices to be read
TARGET = 1.05

Settings = dict[str, str]
Submit = Callable[[str], Awaitable[object]]


@contextlib.contextmanager
def emulator_process() -> Iterator[Settings]:
    """``venuekit emulate kis`` in a child process, stopped (SIGTERM) on exit."""
    command = [sys.executable, "-m", "venuekit", "emulate", "kis", "--port", "0", "--json",
               "-o", "seed=1", "-o", "tick_interval=none", "-o", f"rate_limit={BUDGET}",
               "-o", "token_interval=0", "-o", "cash=100000000000"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator did not start (exit status {child.poll()})")
        settings: Settings = json.loads(line)["client_settings"]
        yield settings
    finally:
        child.terminate()
        try:
            child.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


async def raw_path(client: httpx.AsyncClient, settings: Settings) -> Submit:
    """A client written from KIS's documents: token once, then order-cash as the samples
    send it."""
    token = (await client.post("/oauth2/tokenP", content=json.dumps({
        "grant_type": "client_credentials", "appkey": settings["KIS_APP_KEY"],
        "appsecret": settings["KIS_APP_SECRET"]}))).json()["access_token"]
    account, product = settings["KIS_ACCOUNT"].split("-")
    base = {"content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {token}", "appkey": settings["KIS_APP_KEY"],
            "appsecret": settings["KIS_APP_SECRET"], "custtype": "P", "tr_cont": ""}

    async def submit(_: str) -> object:
        # The order's request, made per order as KIS's samples make it (their
        # order_cash builds the body, their _url_fetch the headers, then json.dumps).
        params = {"CANO": account, "ACNT_PRDT_CD": product, "PDNO": SYMBOL,
                  "ORD_DVSN": "00", "ORD_QTY": "1", "ORD_UNPR": str(PRICE),
                  "EXCG_ID_DVSN_CD": "KRX", "SLL_TYPE": "", "CNDT_PRIC": ""}
        headers = {**base, "tr_id": "VTTC0012U"}
        answer = (await client.post(ORDER_CASH, content=json.dumps(params),
                                    headers=headers)).json()
        assert answer["rt_cd"] == "0", answer
        return answer["output"]["ODNO"]

    return submit


async def interleave(paths: dict[str, Submit], orders: int,
                     pause: float) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in paths}
    turns = list(itertools.permutations(paths))
    for i in range(orders + WARMUP):
        for name in turns[i % len(turns)]:
            started = time.perf_counter()
            await paths[name](f"{name}-{i}")
            if i >= WARMUP:
                samples[name].append(time.perf_counter() - started)
            if pause:
                await asyncio.sleep(pause)
    return samples


async def measure(settings: Settings, orders: int) -> dict[str, dict[str, list[float]]]:
    request = OrderRequest(symbol=SYMBOL, side=Side.BUY, quantity=Decimal(1),
                           order_type=OrderType.LIMIT, limit_price=PRICE)
    venue = KisVenue(app_key=settings["KIS_APP_KEY"], app_secret=settings["KIS_APP_SECRET"],
                     account=settings["KIS_ACCOUNT"], hts_id=settings["KIS_HTS_ID"],
                     base_url=settings["KIS_BASE_URL"], ws_url=settings["KIS_WS_URL"],
                     timeout=TIMEOUT, requests=f"{BUDGET}/1", token_cache="off")
    phases: dict[str, dict[str, list[float]]] = {}
    async with httpx.AsyncClient(base_url=settings["KIS_BASE_URL"], timeout=TIMEOUT) as client:
        raw = await raw_path(client, settings)
        try:
            await venue.connect()
            await venue.instruments([SYMBOL])  # the day's rules, as a user's first read

            async def adapter(client_order_id: str) -> object:
                return await venue.submit(request, client_order_id)

            phases["adapter"] = await interleave({"raw": raw, "adapter": adapter}, orders, 0)
            with tempfile.TemporaryDirectory() as workdir, \
                    SQLiteJournal(Path(workdir) / "journal.sqlite3") as journal:
                engine = Engine(venue, journal, host=PluginHost(load_entry_points=False))

                async def through_engine(_: str) -> object:
                    order = await engine.submit(request)
                    assert order.venue_order_id, order
                    return order

                async with engine:
                    phases["engine"] = await interleave(
                        {"raw": raw, "engine": through_engine}, orders, STREAM_PAUSE)
        finally:
            await venue.close()
    return phases


def line(**fields: object) -> None:
    sys.stdout.write(json.dumps({"benchmark": BENCHMARK, **fields}) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=300, help="rounds per phase")
    parser.add_argument("--runs", type=int, default=5, help="fresh measurements")
    args = parser.parse_args()
    ratios: dict[str, list[float]] = {"adapter": [], "engine": []}
    for run in range(args.runs):
        with emulator_process() as settings:
            phases = asyncio.run(measure(settings, args.orders))
        for phase, samples in phases.items():
            medians = {}
            for path, values in samples.items():
                ordered = sorted(values)
                medians[path] = statistics.median(ordered)
                line(run=run, phase=phase, path=path, orders=len(values),
                     median_ms=round(medians[path] * 1000, 4),
                     p90_ms=round(ordered[int(len(ordered) * 0.9)] * 1000, 4),
                     mean_ms=round(statistics.fmean(ordered) * 1000, 4))
            ratio = medians[phase] / medians["raw"]
            ratios[phase].append(ratio)
            line(run=run, phase=phase, ratio=round(ratio, 4))
    for phase, values in ratios.items():
        median = statistics.median(values)
        line(phase=phase, runs=len(values), median_ratio=round(median, 4),
             min_ratio=round(min(values), 4), max_ratio=round(max(values), 4),
             **({"target": TARGET, "met": median <= TARGET} if phase == "adapter" else {}))


if __name__ == "__main__":
    main()
