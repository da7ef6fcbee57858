"""Several venuekit processes on one venue: the shared emulator, the books, the markers.

* :class:`SharedVenue` is one ``venuekit emulate alpaca`` process on 127.0.0.1: every worker
  trades it through the real alpaca-py client over HTTP and the websocket, so they all see one
  venue state, and its control endpoint (``/_venuekit/ledger``) is the ledger of truth.
* :func:`open_book` opens a journal target: a path (SQLite) or a ``postgresql://`` URL.
* :func:`check_books` holds every journal involved against that ledger.
* :class:`Markers` reads the JSON lines a worker writes as it goes (see
  ``tests/faults/multi_driver.py``), so that a test can stop or kill it at a chosen point.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from venuekit.journal.base import Journal
from venuekit.journal.sqlite import SQLiteJournal

from .journal_truth import WireTruth, tally
from .processes import first_line, reap, start_emulate

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
VENUE = "alpaca"
# Credentials and addresses a worker must not inherit from the developer's shell.
_SCRUBBED = ("APCA_API_BASE_URL", "APCA_API_DATA_URL", "APCA_API_STREAM_URL", "APCA_API_KEY_ID",
             "APCA_API_SECRET_KEY", "VENUEKIT_LIVE", "VENUEKIT_JOURNAL")


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def open_book(target: str, *, readonly: bool = False) -> Journal:
    """The journal at ``target`` through ``venuekit.journal.open_journal`` where it exists
    (issue #20), else a path as today's :class:`SQLiteJournal`."""
    opener = getattr(importlib.import_module("venuekit.journal"), "open_journal", None)
    if opener is not None:
        book: Journal = opener(target, readonly=readonly)
        return book
    if is_postgres(target):
        raise AssertionError("this venuekit has no open_journal: the PostgreSQL journal "
                             "backend is not installed")
    return SQLiteJournal(Path(target), readonly=readonly)


@dataclass
class SharedVenue:
    """One ``venuekit emulate alpaca`` process that several workers trade."""

    process: subprocess.Popen[str]
    settings: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.settings["APCA_API_BASE_URL"]

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a worker or CLI process: the emulator's keys, nothing else of
        the caller's Alpaca or venuekit settings, this checkout importable."""
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        env["APCA_API_KEY_ID"] = self.settings["APCA_API_KEY_ID"]
        env["APCA_API_SECRET_KEY"] = self.settings["APCA_API_SECRET_KEY"]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT),
                                                          os.environ.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        env.update(extra)
        return env

    def control(self, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.base_url}/_venuekit/{path}",
            data=None if body is None else json.dumps(body).encode(),
            method="GET" if body is None else "POST",
            headers={"APCA-API-KEY-ID": self.settings["APCA_API_KEY_ID"],
                     "APCA-API-SECRET-KEY": self.settings["APCA_API_SECRET_KEY"],
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            found: dict[str, Any] = json.loads(answer.read() or b"{}")
        return found

    def ledger(self) -> dict[str, Any]:
        body = self.control("ledger")
        return dict(body.get("ledger", body))


@contextmanager
def shared_venue(*options: str) -> Iterator[SharedVenue]:
    """Start the emulator (``-o`` ``options``), yield it, and stop it however the test ends.
    The request budget is raised: several processes share the one account's."""
    args = ["--port", "0", "--json", "-o", "seed=11", "-o", "cash=1000000",
            "-o", "rate_limit=100000"]
    for option in options:
        args += ["-o", option]
    process = start_emulate(VENUE, *args)
    try:
        info = json.loads(first_line(process, START_TIMEOUT))
        yield SharedVenue(process, info["client_settings"])
    finally:
        reap(process)


# markers ------------------------------------------------------------------------------------
class Markers:
    """The JSON lines one worker appends to its marker file, read as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        # A line being written may be cut: only whole lines count.
        found = []
        for line in lines:
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                break
        return found

    def of(self, event: str) -> list[dict[str, Any]]:
        return [m for m in self.read() if m.get("event") == event]

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float,
             process: subprocess.Popen[str] | None = None) -> dict[str, Any]:
        """The first marker ``predicate`` accepts; an AssertionError after ``timeout``
        seconds, or as soon as ``process`` exits without writing it."""
        deadline = time.monotonic() + timeout
        while True:
            for marker in self.read():
                if predicate(marker):
                    return marker
            if process is not None and process.poll() is not None:
                for marker in self.read():  # written just before it exited
                    if predicate(marker):
                        return marker
                raise AssertionError(f"the worker exited ({process.returncode}) before the "
                                     f"marker; its markers: {self.read()[-5:]}; "
                                     f"stderr: {_tail(process)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no such marker in {timeout} s; the last ones: "
                                     f"{self.read()[-5:]}")
            time.sleep(0.02)


def _tail(process: subprocess.Popen[str]) -> str:
    if process.stderr is None or process.poll() is None:
        return ""
    return process.stderr.read()[-3000:]


def start_worker(venue: SharedVenue, *args: str, env: Mapping[str, str] | None = None
                 ) -> subprocess.Popen[str]:
    """``python -m tests.faults.multi_driver ARGS`` against ``venue``, stdout and stderr
    piped (text)."""
    return subprocess.Popen([sys.executable, "-m", "tests.faults.multi_driver", *args,
                             "--base-url", venue.base_url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**venue.env(), **(env or {})}, cwd=ROOT)


def finish(process: subprocess.Popen[str], timeout: float) -> tuple[int, str, str]:
    """Wait up to ``timeout`` seconds for ``process``: its exit code, stdout and stderr.
    Killed (and an AssertionError) if it runs longer."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate(timeout=10)
        raise AssertionError(f"the process ran over {timeout} s: {err[-3000:]}") from None
    return process.returncode, out, err


def venuekit_cli(venue: SharedVenue, *args: str, timeout: float
                 ) -> subprocess.CompletedProcess[str]:
    """``python -m venuekit ARGS --venue alpaca -o base_url=...`` against ``venue``."""
    return subprocess.run([sys.executable, "-m", "venuekit", *args, "--venue", VENUE,
                           "-o", f"base_url={venue.base_url}"],
                          capture_output=True, text=True, env=venue.env(), cwd=ROOT,
                          timeout=timeout, check=False)


# the books against the ledger ---------------------------------------------------------------
@dataclass(frozen=True)
class BookCheck:
    """What every journal of a test holds against the emulator's ledger; all the counts are
    0 and ``fills_equal`` is True when the books are exact."""

    journal_orders: int
    venue_orders: int
    venue_fills: int
    duplicate_client_ids_at_venue: int
    duplicate_client_ids_in_books: int
    sent_but_not_journaled: int
    journaled_twice: int
    venue_id_mismatches: int
    not_sent_but_at_venue: int
    fills_in_two_books: int
    fills_equal: bool
    missing_fills: int
    extra_fills: int
    tallied: Mapping[str, int]

    def problems(self) -> dict[str, Any]:
        found: dict[str, Any] = {k: v for k, v in self.__dict__.items()
                                 if k.startswith(("duplicate", "sent_but", "journaled_twice",
                                                  "venue_id", "not_sent", "fills_in",
                                                  "missing", "extra")) and v}
        if not self.fills_equal:
            found["fills_equal"] = False
        found.update({k: v for k, v in self.tallied.items()
                      if v and k not in ("intended", "venue_orders", "restated_fills",
                                         "inferred_fills")})
        return found


def check_books(targets: Sequence[str], ledger: Mapping[str, Any]) -> BookCheck:
    """Hold the journals at ``targets`` (each opened read-only once: one PostgreSQL URL
    shared by every process, or one SQLite file per process) against the emulator's
    ``ledger`` (``/_venuekit/ledger``), matching orders by client order id:

    * no client order id twice at the venue, nor in the books together;
    * every order the venue accepted is in exactly one book, once, under the venue order id
      the venue gave it; every journaled order that holds a venue order id is at the venue,
      and one that holds none is not;
    * the fills: (execution, order, quantity, price) as Decimals, the books' union equals
      the ledger's, and no execution is in two books;
    * per book, :func:`~tests.support.journal_truth.tally` against the ledger's orders of
      that book (lost, phantom, over- and under-fills, unresolved orders).
    """
    truth = WireTruth.of(ledger["orders"], ledger["fills"])
    at_venue = Counter(o["client_order_id"] for o in ledger["orders"])
    venue_id_of = {o["client_order_id"]: o["id"] for o in ledger["orders"]}
    journaled: Counter[str] = Counter()
    fills_seen: Counter[tuple[str, str, Decimal, Decimal]] = Counter()
    mismatches = not_sent = 0
    tallied: Counter[str] = Counter()
    orders_total = 0
    for target in dict.fromkeys(targets):
        with open_book(target, readonly=True) as book:
            orders = book.orders(venue=VENUE)
            orders_total += len(orders)
            ids = {o.id for o in orders}
            journaled.update(o.id for o in orders)
            for order in orders:
                if order.venue_order_id:
                    if venue_id_of.get(order.id) != order.venue_order_id:
                        mismatches += 1
                elif order.id in at_venue:
                    not_sent += 1  # at the venue, but its book never learnt its venue id
            fills_seen.update((f.trade_id, f.venue_order_id or "", f.quantity, f.price)
                              for f in book.fills(venue=VENUE))
            placed = [p for p in truth.orders if p.client_order_id in ids]
            theirs = {p.venue_order_id for p in placed}
            own = WireTruth(placed, [f for f in truth.fills if f.venue_order_id in theirs])
            tallied.update(tally(book, own, client_order_ids=True, venue=VENUE))
    venue_fills = {(f.trade_id, f.venue_order_id, f.quantity, f.price) for f in truth.fills}
    book_fills = set(fills_seen)
    return BookCheck(
        journal_orders=orders_total,
        venue_orders=len(ledger["orders"]),
        venue_fills=len(truth.fills),
        duplicate_client_ids_at_venue=sum(n - 1 for n in at_venue.values() if n > 1)
        + len(ledger.get("duplicate_client_order_ids") or {}),
        duplicate_client_ids_in_books=sum(n - 1 for n in journaled.values() if n > 1),
        sent_but_not_journaled=sum(1 for cid in at_venue if cid not in journaled),
        journaled_twice=sum(1 for cid in at_venue if journaled[cid] > 1),
        venue_id_mismatches=mismatches,
        not_sent_but_at_venue=not_sent,
        fills_in_two_books=sum(1 for n in fills_seen.values() if n > 1),
        fills_equal=book_fills == venue_fills,
        missing_fills=len(venue_fills - book_fills),
        extra_fills=len(book_fills - venue_fills),
        tallied=dict(tallied),
    )
