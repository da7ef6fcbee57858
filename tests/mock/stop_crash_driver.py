"""A process holding stops that SIGKILLs itself, for the held-order crash tests.

    python -m tests.mock.stop_crash_driver hold   --dir D [--native]
    python -m tests.mock.stop_crash_driver fire   --dir D --kill-at released|accepted
    python -m tests.mock.stop_crash_driver resume --dir D [--native]

``hold`` submits a sell stop (stop 49.00), a sell stop-limit (stop 49.00, limit 48.50) and
a sell trailing stop (trail 1.00), lets the trailing stop record a mark at a bid of 51.00,
and dies with all three held by the engine. With ``--native`` the mock holds the stops
itself (its native stops, kept in its state file) and the process dies once the venue has
seen the bid of 51.00. ``fire`` restarts, re-arms them, moves the bid to 49.00 (all fire)
and dies at ``--kill-at`` of the stop's release: after its SUBMIT is committed but before
its create leaves the process (``released``), or once the venue has accepted it, before
the answer arrives (``accepted``). ``resume`` restarts (moving the bid to 49.00, through
every trigger), waits until no order is held or working, and prints the recovery report as
JSON. The venue keeps its state in a file, as a real venue would across the kill.
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
from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest, OrderSnapshot, OrderState, OrderType, Side
from venuekit.outcome import OutcomePolicy
from venuekit_mock import MockVenue
from venuekit_mock.sim import SymbolSpec

POINTS = ("released", "accepted")
LATENCY = 0.2
SYMBOLS = [SymbolSpec("AAA", Decimal("50.005"), volatility_bps=Decimal(0), size=Decimal(100))]
STOP = OrderRequest(symbol="AAA", side=Side.SELL, quantity=Decimal(10),
                    order_type=OrderType.STOP, stop_price=Decimal("49.00"),
                    correlation_id="stop")
STOP_LIMIT = OrderRequest(symbol="AAA", side=Side.SELL, quantity=Decimal(3),
                          order_type=OrderType.STOP_LIMIT, stop_price=Decimal("49.00"),
                          limit_price=Decimal("48.50"), correlation_id="stop_limit")
TRAILING = OrderRequest(symbol="AAA", side=Side.SELL, quantity=Decimal(5),
                        order_type=OrderType.TRAILING_STOP, trail_amount=Decimal("1.00"),
                        correlation_id="trailing")


def venue(directory: Path, *, native: bool = False, **extra: Any) -> MockVenue:
    """The mock, holding stops natively or (by default) declaring them emulated."""
    return MockVenue(seed=3, symbols=SYMBOLS, latency=LATENCY,
                     state_path=directory / "venue.state",
                     stops="native" if native else "emulated", **extra)


def engine_on(mock: MockVenue, journal: SQLiteJournal) -> Engine:
    return Engine(mock, journal, policy=OutcomePolicy(grace=0.3), trigger_interval=0.02)


async def until(condition: Any, timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)
    await asyncio.wait_for(poll(), timeout)


async def hold(directory: Path, native: bool) -> None:
    mock = venue(directory, native=native)
    with SQLiteJournal(directory / "journal.sqlite3") as journal:
        engine = engine_on(mock, journal)
        await engine.start()
        mock.control.set_position("AAA", "18", "50")
        await engine.submit(STOP)
        await engine.submit(STOP_LIMIT)
        trailing = await engine.submit(TRAILING)
        mock.control.set_quote("AAA", "51.00", "51.01")  # the venue's mark moves at once
        if not native:
            await until(lambda: any(e.data == {"mark": "51.00"} for e in trailing.history))
        engine.tracker.flush()  # the mark is durable: die with the orders held
        die()


async def fire(directory: Path, kill_at: str) -> None:
    stop_ids: set[str] = set()

    def on_accepted(snapshot: OrderSnapshot) -> None:
        if kill_at == "accepted" and snapshot.client_order_id in stop_ids:
            die()  # the venue has it; its answer never comes back

    mock = venue(directory, on_accepted=on_accepted)
    real_submit = mock.submit

    async def submit(request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        if request.correlation_id == "stop":
            stop_ids.add(client_order_id)
            if kill_at == "released":
                die()  # its SUBMIT is committed; no byte has left the process
        return await real_submit(request, client_order_id)

    mock.submit = submit  # type: ignore[method-assign]
    with SQLiteJournal(directory / "journal.sqlite3") as journal:
        engine = engine_on(mock, journal)
        await engine.start()
        mock.control.set_quote("AAA", "49.00", "49.01")
        await asyncio.sleep(5)  # the kill comes first
        sys.exit("the process was not killed")


async def resume(directory: Path, native: bool) -> dict[str, Any]:
    mock = venue(directory, native=native)
    with SQLiteJournal(directory / "journal.sqlite3") as journal:
        engine = engine_on(mock, journal)
        report = await engine.start()
        mock.control.set_quote("AAA", "49.00", "49.01")

        def settled() -> bool:
            return all(o.state.is_terminal for o in journal.orders()) and not engine.held
        await until(settled)
        await engine.close()
        result = report.as_dict()
        result["states"] = {o.request.correlation_id: o.state.value for o in journal.orders()}
        result["still_held"] = [o.id for o in journal.orders(state=OrderState.HELD)]
        return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=("hold", "fire", "resume"))
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--kill-at", choices=POINTS)
    parser.add_argument("--native", action="store_true",
                        help="the venue holds the stops (the mock's native stops)")
    args = parser.parse_args(argv)
    if args.phase == "hold":
        asyncio.run(hold(args.dir, args.native))
    elif args.phase == "fire":
        asyncio.run(fire(args.dir, args.kill_at))
    else:
        sys.stdout.write(json.dumps(asyncio.run(resume(args.dir, args.native))) + "\n")


if __name__ == "__main__":
    main()
