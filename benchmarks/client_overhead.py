"""What the client adds to an order: the same market orders through three paths.

On the mock venue (latency 0) with the durable SQLite journal, alternating buy and sell
market orders of one share, each waited on until final and confirmed:

* ``engine``: ``run_strategy(engine, request, "market")`` on an engine the benchmark
  starts itself: the floor;
* ``async_client``: ``AsyncClient.execute(request)``: the strategy chosen for the request,
  the venue looked up by name, the same engine underneath;
* ``sync_client``: ``Client.execute(request)`` from plain code: each call handed to the
  client's event loop on its own thread, and its result handed back.

Each path runs ``--orders`` orders per round on a fresh venue and journal; the rounds of
the three paths alternate so that drift in the machine's load hits each alike. The figure
is each path's best round; ``vs_engine`` divides its time per order by the engine's.
Prints one JSON line per path::

    python benchmarks/client_overhead.py                  # 2,000 orders, 5 rounds
    python benchmarks/client_overhead.py -n 500 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from venuekit import AsyncClient, Client
from venuekit.engine import Engine
from venuekit.journal import SQLiteJournal
from venuekit.model import OrderRequest, OrderState, Side
from venuekit.plugins import PluginHost
from venuekit.settings import Settings
from venuekit.strategies import run_strategy
from venuekit_mock import MockVenue
from venuekit_mock.sim import SymbolSpec

SYMBOL = "XYZ"


def venue() -> MockVenue:
    return MockVenue(seed=1, cash=Decimal(10**9),
                     symbols=[SymbolSpec(SYMBOL, Decimal("100.005"), volatility_bps=Decimal(0),
                                         size=Decimal(10**9))])


def requests(count: int) -> list[OrderRequest]:
    return [OrderRequest(symbol=SYMBOL, side=Side.BUY if n % 2 == 0 else Side.SELL,
                         quantity=Decimal(1)) for n in range(count)]


def host() -> PluginHost:
    return PluginHost(load_entry_points=False)


def through_engine(directory: Path, orders: list[OrderRequest]) -> float:
    async def main() -> float:
        with SQLiteJournal(directory / "journal.sqlite3") as journal:
            async with Engine(venue(), journal, host=host()) as engine:
                started = time.perf_counter()
                for request in orders:
                    result = await run_strategy(engine, request, "market")
                    assert result.state is OrderState.FILLED
                return time.perf_counter() - started
    return asyncio.run(main())


def through_async_client(directory: Path, orders: list[OrderRequest]) -> float:
    async def main() -> float:
        async with AsyncClient(venue(), host=host(), settings=settings(directory)) as vk:
            started = time.perf_counter()
            for request in orders:
                result = await vk.execute(request)
                assert result.state is OrderState.FILLED
            return time.perf_counter() - started
    return asyncio.run(main())


def through_sync_client(directory: Path, orders: list[OrderRequest]) -> float:
    with Client(venue(), host=host(), settings=settings(directory)) as vk:
        started = time.perf_counter()
        for request in orders:
            result = vk.execute(request)
            assert result.state is OrderState.FILLED
        return time.perf_counter() - started


def settings(directory: Path) -> Settings:
    return Settings(journal=directory / "journal.sqlite3", state_dir=directory)


PATHS: dict[str, Callable[[Path, list[OrderRequest]], float]] = {
    "engine": through_engine, "async_client": through_async_client,
    "sync_client": through_sync_client}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--orders", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    orders = requests(args.orders)
    seconds: dict[str, list[float]] = {name: [] for name in PATHS}
    for _ in range(args.rounds):
        for name, path in PATHS.items():
            with tempfile.TemporaryDirectory() as directory:
                seconds[name].append(path(Path(directory), orders))
    floor = min(seconds["engine"]) / args.orders
    for name, rounds in seconds.items():
        per_order = min(rounds) / args.orders
        sys.stdout.write(json.dumps({
            "benchmark": "client_overhead", "path": name, "orders": args.orders,
            "rounds": args.rounds, "orders_per_s": round(1 / per_order),
            "us_per_order": round(per_order * 1e6, 1),
            "vs_engine": round(per_order / floor, 3),
            "all_rounds_s": [round(s, 3) for s in rounds],
            "machine": {"python": platform.python_version(), "cpus": _cpus()}}) + "\n")
    return 0


def _cpus() -> int | None:
    import os
    return os.cpu_count()


if __name__ == "__main__":
    raise SystemExit(main())
