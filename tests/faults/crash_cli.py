"""The ``venuekit`` command, SIGKILLed at a chosen point of its work.

    python -m tests.faults.crash_cli --kill MODE:N -- rebalance plan.json --strategy limit

runs the real CLI (``venuekit.cli.main``) with the arguments after ``--``, in the working
directory, and kills the process with SIGKILL (no cleanup, no flush) at:

* ``journal:N``: just after the N-th journal write of the command (a create, an event, an
  event written behind, a flush, a run write);
* ``venue:N``: while the N-th venue call is in flight (the request is on its way);
* ``time:MS``: MS milliseconds after the engine starts trading.

The hooks are installed on the classes (the CLI builds its own journal, SQLite or
PostgreSQL, and venue: the mock's, or Binance's or KIS's against an emulator process), so
the code path is the user's. A command that ends before its kill point exits as usual.
"""

from __future__ import annotations

import atexit
import sys
import threading
from collections.abc import Sequence
from typing import Any

from tests.support.crash import die, die_after, die_during, nth
from venuekit.engine import Engine
from venuekit.journal.postgres import PostgresJournal
from venuekit.journal.sqlite import SQLiteJournal
from venuekit_mock import MockVenue

_JOURNAL_WRITES = ("create_order", "append", "append_behind", "flush", "create_run",
                   "update_run")
_VENUE_CALLS = ("submit", "cancel", "replace", "fetch_order", "open_orders", "recent_orders",
                "fills_since", "account", "quote", "quotes", "instruments")
_IN_FLIGHT = 0.002
"""Seconds after a venue call starts that the process dies: the request is on its way."""


def _venue_classes() -> list[type]:
    """The venues a command may trade on here: the mock, and Binance and KIS when
    installed."""
    classes: list[type] = [MockVenue]
    try:
        from venuekit_ccxt.venue import BinanceVenue
    except ImportError:
        pass
    else:
        classes.append(BinanceVenue)
    try:
        from venuekit_kis.venue import KisVenue
    except ImportError:
        pass
    else:
        classes.append(KisVenue)
    return classes


def arm(mode: str, count: int) -> None:
    if mode == "journal":
        tick = nth(count)  # one journal serves a command: the count is its writes
        for journal_class in (SQLiteJournal, PostgresJournal):
            die_after(journal_class, _JOURNAL_WRITES, tick)
    elif mode == "venue":
        tick = nth(count)  # one venue class serves a command: the count is its calls
        for venue_class in _venue_classes():
            die_during(venue_class, _VENUE_CALLS, tick, _IN_FLIGHT)
    elif mode == "time":
        real_start = Engine.start

        async def start(self: Engine) -> Any:
            report = await real_start(self)
            timer = threading.Timer(count / 1000, die)
            timer.daemon = True
            timer.start()
            # A command that ends before its point must not be killed while the interpreter
            # shuts down: die() flushing stdout then, beside the main thread's last flush,
            # aborts the process ("could not acquire lock ... at interpreter shutdown").
            atexit.register(timer.cancel)
            return report

        setattr(Engine, "start", start)  # noqa: B010
    else:
        raise SystemExit(f"unknown kill mode {mode!r}")


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[0] != "--kill" or args[2] != "--":
        raise SystemExit("usage: python -m tests.faults.crash_cli --kill MODE:N -- ARGS...")
    mode, _, amount = args[1].partition(":")
    arm(mode, int(amount))
    from venuekit.cli import main as cli

    cli(args[3:], prog_name="venuekit")


if __name__ == "__main__":
    main()
