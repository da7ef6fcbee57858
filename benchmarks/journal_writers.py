"""How many orders per second 1, 4 and 8 concurrent writers commit to one PostgreSQL book.

Each writer is its own process with its own :class:`~venuekit.journal.PostgresJournal` on
the same URL (a registered writer with its lease, as every venuekit process is). The
writers start together and each takes ``--orders`` orders through the engine's lifecycle
as fast as it can (``journal_cost``'s :func:`~journal_cost.measure`): the order created
with NEW and SUBMIT in one durable commit, then its ACK and a complete fill, written
behind and committed with its next create (``--writes each`` commits every write on its
own instead). The figure is the aggregate: every writer's orders over the time from the
first writer's start to the last one's end; each writer's own rate is listed too. The
book is then checked: as many orders as were created, every id distinct, every order
filled, one fill each.

PostgreSQL is a throw-away server (:func:`venuekit.testing.postgres.server`) started with
**fsync on**, reached on a unix socket of this machine: the figures are durable commits,
where concurrent writers share WAL flushes (group commit). Writers and server share this
machine's cores, so with more writers than cores the figure is also bounded by the CPU.

Prints one JSON line per number of writers::

    python benchmarks/journal_writers.py                      # 1, 4 and 8 writers, 400 orders each
    python benchmarks/journal_writers.py --writers 2 --writers 16 -n 1000

Without the PostgreSQL server binaries (or psycopg) it prints one ``"skipped"`` line saying
what to install and exits 0.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections.abc import Sequence
from multiprocessing.synchronize import Barrier
from typing import Any

from journal_backends import server_version, unavailable
from journal_cost import measure

from venuekit.journal import Durability, PostgresJournal
from venuekit.model import OrderState
from venuekit.testing import postgres

NAME = "journal_writers"


def writer(url: str, orders: int, durability: Durability, behind: bool, start: Barrier,
           results: Any) -> None:
    """One writer process: open the journal, wait for the others, write, report."""
    with PostgresJournal(url, durability=durability) as book:
        start.wait(timeout=60)
        began = time.time()
        figures = measure(book, orders, submitted=True, behind=behind,
                          trades=f"w{book.writer_id}-")
        ended = time.time()
    results.put({"began": began, "ended": ended, **figures})


def run(url: str, writers: int, orders: int, durability: Durability,
        behind: bool) -> dict[str, object]:
    PostgresJournal(url).close()  # the schema, created once before the writers race
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(writers)
    results = context.Queue()
    processes = [context.Process(target=writer, args=(url, orders, durability, behind,
                                                      start, results))
                 for _ in range(writers)]
    for process in processes:
        process.start()
    reports = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        if process.exitcode != 0:
            raise RuntimeError(f"a writer exited with status {process.exitcode}")
    seconds = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    each = sorted(round(orders / (r["ended"] - r["began"])) for r in reports)
    with PostgresJournal(url, readonly=True) as book:
        stored = book.orders()
        filled = sum(1 for order in stored if order.state is OrderState.FILLED)
        fills = len(book.fills())
    total = writers * orders
    if (len(stored) != total or len({o.id for o in stored}) != total or filled != total
            or fills != total):
        raise RuntimeError(f"the book holds {len(stored)} orders "
                           f"({len({o.id for o in stored})} distinct ids, {filled} filled) "
                           f"and {fills} fills; {total} orders were written")
    return {
        "benchmark": NAME,
        "writers": writers,
        "orders_per_writer": orders,
        "durability": durability,
        "writes": "behind" if behind else "each",
        "commits_per_order": 1 if behind else 3,
        "orders_per_second": round(total / seconds),
        "per_writer_orders_per_second": each,
        "per_writer_median": each[len(each) // 2],
        "journal_us_per_order_median": sorted(
            float(str(r["journal_us_per_order"])) for r in reports)[len(reports) // 2],
        "seconds": round(seconds, 2),
        "orders_in_book": len(stored),
        "distinct_ids": len({o.id for o in stored}),
        "fills_in_book": fills,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--orders", type=int, default=400,
                        help="orders each writer creates and completes (default 400)")
    parser.add_argument("--writers", type=int, action="append",
                        help="concurrent writers (repeatable; default: 1, 4 and 8)")
    parser.add_argument("--durability", choices=("normal", "full"), default="normal")
    parser.add_argument("--writes", choices=("each", "behind"), default="behind",
                        help="each write its own commit, or the engine's write-behind "
                             "(default)")
    args = parser.parse_args(argv)
    counts: list[int] = args.writers or [1, 4, 8]
    if args.orders < 1 or min(counts) < 1:
        parser.error("--orders and --writers must be at least 1")
    why = unavailable()
    if why is not None:
        sys.stdout.write(json.dumps({"benchmark": NAME, "skipped": why}) + "\n")
        return 0
    with postgres.server(fsync=True) as pg:
        version = server_version(pg.url())
        for count in counts:
            line = run(pg.database(), count, args.orders, args.durability,
                       args.writes == "behind")
            line |= {"postgresql": version, "fsync": pg.fsync, "connection": "unix socket"}
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
