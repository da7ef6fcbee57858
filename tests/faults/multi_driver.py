"""A venuekit worker process for the multi-process tests: trades, or runs a rebalance, on the
Alpaca emulator through ``venuekit.Client("alpaca", journal=TARGET)``.

    python -m tests.faults.multi_driver trade     --target T --markers F --base-url U
                                                  [--orders N] [--pause S] [--resting K]
    python -m tests.faults.multi_driver rebalance --target T --markers F --base-url U
                                                  --plan P [--strategy S] [--timeout S]
    python -m tests.faults.multi_driver adopt     --target URL --markers F --base-url U
                                                  --expect ID[,ID...] [--timeout S]

``TARGET`` is a journal path (SQLite: one file per process) or a ``postgresql://`` URL (one
book for every process); ``$VENUEKIT_MULTI_TARGET`` when ``--target`` is not given. The
credentials come from ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``.

The worker appends one JSON line per step to the marker file, flushed at once, so that a
test can SIGKILL or SIGSTOP it at a chosen point:

* ``open``: the client is open (``pid``, the journal's ``writer_id`` where it has one);
* ``order``: every order event, once durable in the journal (``id``, ``state``, ``symbol``);
* ``ready``: (trade) order ``i`` is next; the worker sleeps ``--pause`` seconds first;
* ``done``: (trade) order ``i`` ended (``ids``, ``state``);
* ``fenced``: the journal refused a write with JOURNAL_FENCED (``code``, ``message``); the
  worker stops at once, exit code 3;
* ``adopted``: (adopt) the orders ``--expect`` names are this writer's now, reconciled with
  the venue and cancelled (``seconds`` it took from the open, ``tries`` of ``adopt()``);
* ``finished``: everything ran (``report`` for a rebalance).

``trade`` cycles through three kinds: a market buy, a limit buy above the ask (fills), and a
limit buy far below the bid, cancelled after it is acknowledged. The first ``--resting`` of
the far limits are left working.

``adopt`` is a standby taking over (PostgreSQL only): it opens the client (which adopts what
it can and recovers), then calls the journal's ``adopt(["alpaca"])`` until the orders
``--expect`` names are among its own open orders (a writer stopped but still connected keeps
them until its lease runs out), reconciles them with the venue and cancels them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import venuekit
from venuekit import hookimpl
from venuekit.errors import VenueKitError
from venuekit.lifecycle import OrderEventRecord
from venuekit.model import OrderRequest, OrderType, Side
from venuekit.plugins import default_host
from venuekit.settlement import SettlementOptions

SYMBOLS = ("AAPL", "MSFT", "SPY", "TSLA")
FAST = SettlementOptions(poll_min=0.05, poll_max=0.2, silence=0.5, late_grace=0.05)
FENCED = "JOURNAL_FENCED"
EXIT_FENCED = 3


class MarkerFile:
    """Append-only JSON lines, each written whole and flushed (threads share it)."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, "t": time.time(), **fields}, default=str)
        with self._lock:
            self._handle.write(line + "\n")
            self._handle.flush()


class OrderMarkers:
    """Marks every order event (the engine calls observers once an event is durable)."""

    def __init__(self, markers: MarkerFile) -> None:
        self.markers = markers

    @hookimpl
    def venuekit_order_event(self, event: OrderEventRecord) -> None:
        self.markers.write("order", id=event.order_id, state=event.state.value,
                           symbol=event.symbol)


def fenced(exc: BaseException) -> VenueKitError | None:
    """The JOURNAL_FENCED error in ``exc`` or its causes (the code is named, not imported:
    it arrives with the PostgreSQL backend)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, VenueKitError) and seen.code.name == FENCED:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _client(args: argparse.Namespace, markers: MarkerFile) -> venuekit.Client:
    host = default_host()
    host.register(OrderMarkers(markers))
    return venuekit.Client("alpaca", journal=args.target, host=host, settlement=FAST,
                           venue_options={"alpaca": {"base_url": args.base_url}})


def _opened(client: venuekit.Client, markers: MarkerFile) -> None:
    journal = client.aio.journal
    markers.write("open", pid=os.getpid(), writer_id=getattr(journal, "writer_id", None),
                  refused=client.aio.refused_venues)


def trade(client: venuekit.Client, args: argparse.Namespace, markers: MarkerFile) -> None:
    resting = args.resting
    symbols = args.symbols.split(",")
    for i in range(args.orders):
        symbol = symbols[i % len(symbols)]
        markers.write("ready", i=i)
        time.sleep(args.pause)
        kind = i % 3
        if kind == 0:
            result = client.buy(symbol, "1")
            markers.write("done", i=i, kind="market", ids=[o.id for o in result.orders],
                          state=result.state.value)
        elif kind == 1:
            quote = client.quote(symbol)
            result = client.buy(symbol, "1", limit=str(quote.ask + Decimal("0.50")))
            markers.write("done", i=i, kind="limit", ids=[o.id for o in result.orders],
                          state=result.state.value)
        else:
            quote = client.quote(symbol)
            far = (quote.bid * Decimal("0.8")).quantize(Decimal("0.01"))
            order = client.place(OrderRequest(symbol=symbol, side=Side.BUY, quantity=Decimal(1),
                                              order_type=OrderType.LIMIT, limit_price=far))
            if resting > 0:
                resting -= 1
                markers.write("done", i=i, kind="resting", ids=[order.id],
                              state=order.state.value)
            else:
                outcome = client.cancel(order)
                markers.write("done", i=i, kind="cancelled", ids=[order.id],
                              state=outcome.result)
    markers.write("finished")


def rebalance(client: venuekit.Client, args: argparse.Namespace, markers: MarkerFile) -> None:
    report = client.rebalance(Path(args.plan), strategy=args.strategy,
                              strategy_options={"timeout": args.timeout})
    markers.write("finished", report={"complete": report.complete})


def adopt(client: venuekit.Client, args: argparse.Namespace, markers: MarkerFile) -> None:
    started = time.monotonic()
    journal = client.aio.journal
    taker = getattr(journal, "adopt", None)
    if journal is None or taker is None:
        raise SystemExit("adopt: this journal cannot adopt orders (PostgreSQL only)")
    expected = set(args.expect.split(","))
    tries = 0
    while True:
        owned = {order.id for order in journal.open_orders("alpaca")}
        if expected <= owned:
            break
        if time.monotonic() - started > args.timeout:
            raise SystemExit(f"adopt: {sorted(expected - owned)} not adopted in "
                             f"{args.timeout} s")
        tries += 1
        taker(["alpaca"])
        time.sleep(0.1)
    report = client.recover()
    outcomes = [client.cancel(order_id) for order_id in sorted(expected)]
    markers.write("adopted", seconds=time.monotonic() - started, tries=tries,
                  recovery=report.as_dict(), cancelled=[o.as_dict() for o in outcomes])
    markers.write("finished")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("job", choices=("trade", "rebalance", "adopt"))
    parser.add_argument("--target", default=os.environ.get("VENUEKIT_MULTI_TARGET"))
    parser.add_argument("--markers", type=Path, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--orders", type=int, default=6)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--resting", type=int, default=0)
    parser.add_argument("--plan")
    parser.add_argument("--strategy", default="limit")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--expect", default="")
    parser.add_argument("--symbols", default=",".join(SYMBOLS),
                        help="(trade) the symbols to cycle through")
    args = parser.parse_args(argv)
    if not args.target:
        parser.error("--target or $VENUEKIT_MULTI_TARGET is required")
    markers = MarkerFile(args.markers)
    client = _client(args, markers)
    try:
        with client:
            _opened(client, markers)
            JOBS[args.job](client, args, markers)
    except BaseException as exc:
        found = fenced(exc)
        if found is None:
            raise
        markers.write(FENCED.lower().replace("journal_", ""), code=found.code.name,
                      message=found.message)
        sys.stderr.write(f"{found.code.name}: {found.message}\n")
        return EXIT_FENCED
    return 0


JOBS = {"trade": trade, "rebalance": rebalance, "adopt": adopt}

if __name__ == "__main__":
    sys.exit(main())
