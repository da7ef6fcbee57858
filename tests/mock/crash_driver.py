"""A trading process that SIGKILLs itself at a chosen point, for the crash tests.

    python -m tests.mock.crash_driver run    --dir D --kill-at POINT --kill-order K --orders N
    python -m tests.mock.crash_driver resume --dir D --orders N

``run`` submits orders 0..N-1 (correlation id ``job-i``) and kills the process at POINT of
order K. ``resume`` is the restart: it recovers, then submits the orders the journal does
not hold yet, and prints the recovery report as JSON. The venue's state (the mock's
ledger of truth) lives in a file, so it survives the kill like a real venue would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.crash import die
from venuekit import hookimpl
from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest, OrderSnapshot
from venuekit.outcome import OutcomePolicy
from venuekit.plugins import OrderEventRecord, PluginHost
from venuekit_mock import MockVenue
from venuekit_mock.sim import SymbolSpec

POINTS = ("after_new", "in_flight", "accepted", "partial_fill")
LATENCY = 0.2
# Thin books: an order of 15 against 10 displayed fills partly and keeps working.
SYMBOLS = [SymbolSpec("AAA", Decimal("50.005"), volatility_bps=Decimal(0), size=Decimal(10)),
           SymbolSpec("BBB", Decimal("20.005"), volatility_bps=Decimal(0), size=Decimal(10))]


def request(i: int) -> OrderRequest:
    symbol = SYMBOLS[i % 2].symbol
    quantity = Decimal(15) if i % 3 == 0 else Decimal(1 + i % 5)
    return OrderRequest(symbol=symbol, side="buy", quantity=quantity, correlation_id=f"job-{i}")


def venue(directory: Path, **extra: Any) -> MockVenue:
    return MockVenue(seed=3, symbols=SYMBOLS, cash=Decimal(10**7), latency=LATENCY,
                     state_path=directory / "venue.state", **extra)


class KillOnPartialFill:
    def __init__(self, order_ids: set[str]) -> None:
        self.order_ids = order_ids

    @hookimpl
    def venuekit_order_event(self, event: OrderEventRecord) -> None:
        if event.order_id in self.order_ids and event.state.value == "partially_filled":
            die()


async def run(directory: Path, orders: int, kill_at: str, kill_order: int) -> None:
    target: set[str] = set()

    def on_accepted(snapshot: OrderSnapshot) -> None:
        if kill_at == "accepted" and snapshot.client_order_id in target:
            die()

    mock = venue(directory, on_accepted=on_accepted)
    host = PluginHost(load_entry_points=False)
    host.register(KillOnPartialFill(target if kill_at == "partial_fill" else set()))
    real_submit = mock.submit

    async def submit(request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        if client_order_id in target:
            if kill_at == "after_new":
                die()  # NEW and SUBMIT are committed; no byte has left the process
            if kill_at == "in_flight":
                asyncio.get_running_loop().call_later(LATENCY / 4, die)
        return await real_submit(request, client_order_id)

    mock.submit = submit  # type: ignore[method-assign]
    with SQLiteJournal(directory / "journal.sqlite3") as journal:
        engine = Engine(mock, journal, host=host, policy=OutcomePolicy(grace=0.3))
        await engine.start()
        real_create = journal.create_order

        def create_order(*args: Any, **kwargs: Any) -> Any:
            order = real_create(*args, **kwargs)
            if order.request.correlation_id == f"job-{kill_order}":
                target.add(order.id)
            return order

        journal.create_order = create_order  # type: ignore[method-assign]
        for i in range(orders):
            await engine.submit(request(i))
        await engine.close()


async def resume(directory: Path, orders: int) -> dict[str, Any]:
    with SQLiteJournal(directory / "journal.sqlite3") as journal:
        engine = Engine(venue(directory), journal, policy=OutcomePolicy(grace=0.3))
        report = await engine.start()
        seen = {o.request.correlation_id for o in journal.orders()}
        for i in range(orders):
            if f"job-{i}" not in seen:
                await engine.submit(request(i))
        await engine.recover()
        await engine.close()
        return report.as_dict()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=("run", "resume"))
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--orders", type=int, default=6)
    parser.add_argument("--kill-at", choices=POINTS)
    parser.add_argument("--kill-order", type=int, default=3)
    args = parser.parse_args(argv)
    if args.phase == "run":
        asyncio.run(run(args.dir, args.orders, args.kill_at, args.kill_order))
    else:
        sys.stdout.write(json.dumps(asyncio.run(resume(args.dir, args.orders))) + "\n")


if __name__ == "__main__":
    main()
