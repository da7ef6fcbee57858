"""What the journal costs per order lifecycle on PostgreSQL and on SQLite, side by side.

The lifecycle is the engine's: the order created with NEW and SUBMIT in one write, then
its ACK and a complete fill (which makes it final), measured with ``journal_cost``'s
:func:`~journal_cost.measure` on each backend in turn, in one run:

- ``writes = "each"``: every write is its own commit (three per order);
- ``writes = "behind"``: the ACK and the fill are written behind and committed with the
  next order's create, as the engine writes them (one commit per order).

Each is measured under ``durability`` ``normal`` and ``full``. On SQLite, ``normal`` is WAL
with ``synchronous=NORMAL`` (a commit does not wait for the disk) and ``full`` waits for it
at every commit. On PostgreSQL a create, and an ``append``, always commits with
``synchronous_commit=on``; ``normal`` commits what was written behind with
``synchronous_commit=off``, ``full`` with ``on``.

PostgreSQL is a throw-away server (:func:`venuekit.testing.postgres.server`) started with
**fsync on**, on a unix socket of this machine: its figures are durable commits without a
network round trip. The SQLite file and the server's data are on the same disk (the
system's temporary directory unless ``--dir`` is given for SQLite). A disk probe (8 KB
written and ``fdatasync``-ed, p50) is printed first: on a cloud disk the cost of a flush
varies several-fold from hour to hour, and every durable figure follows it.

Prints one JSON line per backend, mode and way of writing; a PostgreSQL line carries
``ratio_to_sqlite``, its µs per lifecycle over SQLite's in the same mode::

    python benchmarks/journal_backends.py                 # 500 orders per figure
    python benchmarks/journal_backends.py -n 2000 --durability normal --writes behind

Without the PostgreSQL server binaries (or psycopg) it prints one ``"skipped"`` line saying
what to install and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from journal_cost import measure

from venuekit.journal import Durability, PostgresJournal, SQLiteJournal
from venuekit.testing import postgres

NAME = "journal_backends"


def emit(line: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def unavailable() -> str | None:
    """Why PostgreSQL cannot be benchmarked here, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed: pip install 'venuekit[postgres]'"
    if postgres.find_binaries() is None:
        return postgres.MISSING
    return None


def disk_probe(directory: str | None, rounds: int = 200) -> dict[str, object]:
    """p50 and p99 of an 8 KB write and fdatasync in ``directory``: what a flush costs now."""
    times: list[int] = []
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        fd = os.open(Path(tmp) / "probe", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            block = b"\0" * 8192
            for i in range(rounds):
                started = time.perf_counter_ns()
                os.pwrite(fd, block, (i % 16) * 8192)
                os.fdatasync(fd)
                times.append(time.perf_counter_ns() - started)
        finally:
            os.close(fd)
    times.sort()
    return {"benchmark": NAME, "probe": "disk", "what": "8 KB pwrite + fdatasync",
            "rounds": rounds, "p50_us": round(statistics.median(times) / 1000, 1),
            "p99_us": round(times[int((rounds - 1) * 0.99)] / 1000, 1)}


def server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        assert row is not None
        return str(row[0]).split()[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--orders", type=int, default=500,
                        help="order lifecycles per figure (default 500)")
    parser.add_argument("--durability", choices=("normal", "full"), action="append",
                        help="run only this mode (repeatable; default: both)")
    parser.add_argument("--writes", choices=("each", "behind"), action="append",
                        help="each write its own commit, or the engine's write-behind "
                             "(repeatable; default: both)")
    parser.add_argument("--dir", default=None, help="where to put the SQLite file")
    args = parser.parse_args(argv)
    if args.orders < 1:
        parser.error("--orders must be at least 1")
    why = unavailable()
    if why is not None:
        emit({"benchmark": NAME, "skipped": why})
        return 0
    modes: list[Durability] = args.durability or ["normal", "full"]
    ways: list[str] = args.writes or ["each", "behind"]
    emit(disk_probe(args.dir))
    with postgres.server(fsync=True) as pg:
        version = server_version(pg.url())
        for mode in modes:
            for way in ways:
                behind = way == "behind"
                with tempfile.TemporaryDirectory(dir=args.dir) as tmp, \
                        SQLiteJournal(Path(tmp) / "journal.sqlite3",
                                      durability=mode) as lite:
                    base = measure(lite, args.orders, submitted=True, behind=behind)
                emit({"benchmark": NAME, "backend": "sqlite", "durability": mode,
                      "writes": way, **base, "sqlite": sqlite3.sqlite_version})
                with PostgresJournal(pg.database(), durability=mode) as book:
                    figures = measure(book, args.orders, submitted=True, behind=behind)
                ratio = (float(str(figures["journal_us_per_order"]))
                         / float(str(base["journal_us_per_order"])))
                emit({"benchmark": NAME, "backend": "postgresql", "durability": mode,
                      "writes": way, **figures, "ratio_to_sqlite": round(ratio, 2),
                      "postgresql": version, "fsync": pg.fsync, "connection": "unix socket"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
