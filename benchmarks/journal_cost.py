"""What the journal costs per order: create, then the submit, ack and fill events.

Each order is created (the order and its NEW event) and taken through SUBMIT, ACK and a
complete fill with :mod:`venuekit.lifecycle`, each event appended to the journal: four
journal writes per order, as in the engine. Only the journal calls are timed; the
lifecycle's own cost is reported separately.

By default every write is its own commit. ``--batch N`` models bursts instead: N orders
are created and submitted inside one ``journal.batch()``, then acknowledged and filled
inside another, so two commits are shared by N orders.

:func:`measure` drives any journal (``journal_backends.py`` runs it on SQLite and
PostgreSQL side by side, with the engine's lifecycle: NEW and SUBMIT in one create).

Prints one JSON line per durability mode::

    python benchmarks/journal_cost.py            # 5,000 orders, normal and full
    python benchmarks/journal_cost.py -n 20000 --durability normal --dir ./scratch
    python benchmarks/journal_cost.py --batch 100

The journal file is written to a fresh temporary directory under ``--dir`` (the system's
temporary directory by default). On a RAM-backed filesystem (tmpfs) ``full`` costs the
same as ``normal``: point ``--dir`` at the disk the journal will live on.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from venuekit.journal import ClientIdRules, Durability, Journal, SQLiteJournal
from venuekit.lifecycle import EventKind, apply, apply_fill
from venuekit.model import Fill, Order, OrderEvent, OrderRequest, OrderType, Side

_RULES = ClientIdRules(36, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_")
_REQUEST = OrderRequest(symbol="BTCUSDT", side=Side.BUY, quantity=Decimal("0.015"),
                        order_type=OrderType.LIMIT, limit_price=Decimal("64250.10"))
_clock = time.perf_counter_ns


class _Meter:
    """Accumulates time spent in the journal and in the lifecycle."""

    def __init__(self, append: Callable[[Order, OrderEvent], bool], trades: str) -> None:
        self.append = append
        self.trades = trades
        self.create_ns = 0
        self.append_ns = 0
        self.lifecycle_ns = 0

    def create(self, journal: Journal, submitted: bool = False) -> Order:
        started = _clock()
        order = journal.create_order("binance", _REQUEST, id_rules=_RULES, submitted=submitted)
        self.create_ns += _clock() - started
        return order

    @contextmanager
    def batch(self, journal: Journal) -> Iterator[None]:
        """A journal batch whose begin and commit count as journal time."""
        started = _clock()
        with journal.batch():
            self.append_ns += _clock() - started
            yield
            started = _clock()
        self.append_ns += _clock() - started

    def step(self, journal: Journal, order: Order, kind: EventKind, n: int) -> None:
        started = _clock()
        if kind is EventKind.FILL:
            fill = Fill(trade_id=f"{self.trades}{n}", symbol="BTCUSDT", side=Side.BUY,
                        quantity=Decimal("0.015"), price=Decimal("64250.10"),
                        fee=Decimal("0.0000150"), fee_currency="BTC", venue_order_id=str(n))
            applied = apply_fill(order, fill)
        else:
            applied = apply(order, kind)
            if kind is EventKind.ACK:
                order.venue_order_id = str(n)
        applied_at = _clock()
        assert applied.event is not None
        self.append(order, applied.event)
        self.lifecycle_ns += applied_at - started
        self.append_ns += _clock() - applied_at


def _percentile(sorted_values: Sequence[int], fraction: Decimal) -> int:
    return sorted_values[int((len(sorted_values) - 1) * fraction)]


def measure(journal: Journal, orders: int, batch: int = 1, *, submitted: bool = False,
            behind: bool = False, trades: str = "") -> dict[str, object]:
    """Drive ``orders`` lifecycles through ``journal`` (any backend) and return the timing
    fields of a JSON line.

    The lifecycle is create (NEW), SUBMIT, ACK and a complete fill; ``submitted=True``
    creates the order with NEW and SUBMIT in one write, as the engine does (then ACK and
    the fill, which makes the order final): three writes. ``behind=True`` writes the ACK
    and the fill behind (``append_behind``), committed with the next order's create, as the
    engine does: one commit per order (needs ``batch == 1``). Trade ids are ``trades``
    followed by the order's number: writers sharing one book each need their own prefix
    (an execution is stored once per book)."""
    if behind and batch != 1:
        raise ValueError("behind=True writes one order at a time (batch 1)")
    append = journal.append_behind if behind else journal.append
    meter = _Meter(append, trades)
    groups: list[int] = []  # journal time of each group of `batch` orders
    later = (EventKind.ACK, EventKind.FILL) if submitted else (
        EventKind.SUBMIT, EventKind.ACK, EventKind.FILL)
    started = _clock()
    for first in range(0, orders, batch):
        numbers = range(first, min(first + batch, orders))
        before = meter.create_ns + meter.append_ns
        if batch == 1:
            order = meter.create(journal, submitted)
            for kind in later:
                meter.step(journal, order, kind, first)
        else:
            with meter.batch(journal):
                burst = [(n, meter.create(journal, submitted)) for n in numbers]
                if not submitted:
                    for n, order in burst:
                        meter.step(journal, order, EventKind.SUBMIT, n)
            with meter.batch(journal):
                for n, order in burst:
                    meter.step(journal, order, EventKind.ACK, n)
                    meter.step(journal, order, EventKind.FILL, n)
        groups.append(meter.create_ns + meter.append_ns - before)
    if behind:
        flushed = _clock()
        journal.flush()  # the last order's events: part of the journal's cost
        meter.append_ns += _clock() - flushed
    wall_ns = _clock() - started
    groups.sort()
    journal_ns = meter.create_ns + meter.append_ns
    writes = len(later) + 1
    per = batch * 1000
    return {
        "orders": orders,
        "batch": batch,
        "writes_per_order": writes,
        "commits_per_order": (1 if behind else writes) if batch == 1 else round(2 / batch, 4),
        "journal_us_per_order": round(journal_ns / orders / 1000, 1),
        "create_us": round(meter.create_ns / orders / 1000, 1),
        "append_us": round(meter.append_ns / orders / len(later) / 1000, 1),
        "p50_us_per_order": round(_percentile(groups, Decimal("0.5")) / per, 1),
        "p99_us_per_order": round(_percentile(groups, Decimal("0.99")) / per, 1),
        "journal_orders_per_second": round(orders * 1_000_000_000 / journal_ns),
        "lifecycle_us_per_order": round(meter.lifecycle_ns / orders / 1000, 1),
        "wall_seconds": round(wall_ns / 1_000_000_000, 2),
    }


def run(orders: int, durability: Durability, directory: str | None,
        batch: int = 1) -> dict[str, object]:
    with tempfile.TemporaryDirectory(dir=directory) as tmp, \
            SQLiteJournal(Path(tmp) / "journal.sqlite3", durability=durability) as journal:
        figures = measure(journal, orders, batch)
    del figures["writes_per_order"]
    return {
        "benchmark": "journal_cost",
        "durability": durability,
        **figures,
        "sqlite": sqlite3.sqlite_version,
        "python": sys.version.split()[0],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--orders", type=int, default=5000, help="orders per run")
    parser.add_argument("--durability", choices=("normal", "full"), action="append",
                        help="run only this mode (repeatable; default: both)")
    parser.add_argument("--batch", type=int, default=1,
                        help="orders per journal.batch() burst (default 1: no batching)")
    parser.add_argument("--dir", default=None, help="where to put the journal file")
    args = parser.parse_args(argv)
    if args.orders < 1 or args.batch < 1:
        parser.error("--orders and --batch must be at least 1")
    modes: list[Durability] = args.durability or ["normal", "full"]
    for mode in modes:
        sys.stdout.write(json.dumps(run(args.orders, mode, args.dir, args.batch)) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
