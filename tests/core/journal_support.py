"""Helpers of the journal's tests: requests, fills, recording what the lifecycle applied,
comparing a rebuilt order with the live one, a journal per test, and a script that leaves its
journal open at exit."""


from __future__ import annotations

import hashlib
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from venuekit.journal import (
    ClientIdRules,
    Journal,
    PostgresJournal,
)
from venuekit.lifecycle import Applied, EventKind, apply
from venuekit.model import Fill, Order, OrderRequest, OrderType, Side

RULES = ClientIdRules()
T0 = datetime(2026, 3, 2, 14, 30, 0, 123456, tzinfo=UTC)


def limit(symbol: str = "AAPL", side: Side = Side.BUY, quantity: str = "10",
          price: str = "101.25") -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, quantity=Decimal(quantity),
                        order_type=OrderType.LIMIT, limit_price=Decimal(price))


def execution(trade_id: str, quantity: str, price: str, *, symbol: str = "AAPL",
              side: Side = Side.BUY, fee: str = "0", at: datetime = T0) -> Fill:
    return Fill(trade_id=trade_id, symbol=symbol, side=side, quantity=Decimal(quantity),
                price=Decimal(price), fee=Decimal(fee), at=at)


def record(journal: Journal, order: Order, applied: Applied) -> bool:
    """Journal what the lifecycle just applied, as the order tracker does."""
    assert applied, applied.reason
    assert applied.event is not None
    return journal.append(order, applied.event)


def step(journal: Journal, order: Order, *kinds: EventKind) -> None:
    for kind in kinds:
        record(journal, order, apply(order, kind))


def assert_same(stored: Order | None, live: Order) -> None:
    """Every field of the rebuilt order equals the live one, Decimals digit for digit."""
    assert stored is not None
    for name in ("id", "venue", "request", "state", "venue_order_id", "fills", "history",
                 "created_at", "replaced_by", "replaces", "reason", "resume_state", "run_id",
                 "run_item"):
        assert getattr(stored, name) == getattr(live, name), name
    for name in ("quantity", "limit_price", "filled_quantity", "filled_notional", "fees"):
        assert str(getattr(stored, name)) == str(getattr(live, name)), name


def take_over(journal: Journal, *venues: str) -> None:
    """What a process opening a shared journal does before recovery: adopt the open orders
    of the writers that are gone (PostgreSQL); the SQLite journal has one writer."""
    if isinstance(journal, PostgresJournal):
        journal.adopt(venues)


def digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


# A handler registered before venuekit is imported runs after venuekit's own (atexit runs
# its handlers last in, first out): it sees which of venuekit's threads are still alive
# once venuekit has stopped what it stops at exit.
AT_EXIT_THREADS = textwrap.dedent("""
    import atexit, sys, threading

    def alive_at_exit():
        names = sorted(thread.name for thread in threading.enumerate()
                       if thread.name.startswith("venuekit-"))
        print("alive at exit:", ",".join(names), flush=True)

    atexit.register(alive_at_exit)
    from venuekit.journal import open_journal

    journal = open_journal(sys.argv[1])  # never closed
    print("running:", ",".join(sorted(thread.name for thread in threading.enumerate()
                                      if thread.name.startswith("venuekit-"))), flush=True)
""")
