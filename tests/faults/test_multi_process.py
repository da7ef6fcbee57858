"""Several venuekit processes trade one venue: the book of record holds, whoever dies.

Every process is real (``python -m tests.faults.multi_driver`` or the ``venuekit`` CLI), and
they all trade one ``venuekit emulate alpaca`` process over HTTP and the websocket on
127.0.0.1: one venue state, whose ledger (``/_venuekit/ledger``) is the truth every journal is
held to (:func:`tests.support.multi.check_books`: client order ids unique, every order the
venue saw journaled exactly once and the other way round, fills equal as Decimals).

Each scenario runs on each journal backend it applies to:

* ``sqlite``: one file per process (a file has one writer), today's backend;
* ``postgres``: one ``postgresql://`` book for every process (issue #20), on the
  ``postgres_url`` fixture's fresh database.

The scenarios: 2 and 4 processes trading at once; a process SIGKILLed in the middle of a
rebalance, taken over by ``venuekit recover`` in another process and resumed by ``venuekit
rebalance PLAN`` (the SQLite variant is today's crash recovery, the baseline); a writer
SIGSTOPped past its lease while a standby adopts its orders, then SIGCONTed: fenced, it sends
nothing more (PostgreSQL only). Each prints one JSON line of totals (``--faults-report``).
``--full`` (or ``VENUEKIT_FAULTS_FULL=1``) runs more orders and more kill points.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.multi import (
    Markers,
    SharedVenue,
    check_books,
    finish,
    open_book,
    shared_venue,
    start_worker,
    venuekit_cli,
)

from .report import emit, machine

SQLITE = pytest.param("sqlite", id="sqlite")
POSTGRES = pytest.param("postgres", id="postgres")

WORKER_TIMEOUT = 120.0  # one worker, start to exit
CLI_TIMEOUT = 90.0
MARKER_TIMEOUT = 60.0
ADOPT_TIMEOUT = 60.0  # a stopped writer's lease must run out within this
TERMINAL = {"filled", "cancelled", "rejected", "expired", "error", "replaced", "done_for_day"}


@dataclass
class Backend:
    """Where the processes of one test keep their journal."""

    kind: str
    root: Path
    url: str | None = None

    def targets(self, processes: int) -> list[str]:
        """One target per process: its own SQLite file, or the one PostgreSQL book."""
        if self.url is not None:
            return [self.url] * processes
        return [str(self.root / f"journal-{i}.sqlite3") for i in range(processes)]


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "postgres":
        return Backend("postgres", tmp_path, request.getfixturevalue("postgres_url"))
    return Backend("sqlite", tmp_path)


@pytest.fixture
def venue() -> Iterator[SharedVenue]:
    with shared_venue() as running:
        yield running


def latest_states(markers: Markers) -> dict[str, str]:
    """Each order's last state the worker marked (markers follow the journal's commits)."""
    states: dict[str, str] = {}
    for marker in markers.of("order"):
        states[marker["id"]] = marker["state"]
    return states


def working(markers: Markers) -> list[str]:
    return [i for i, state in latest_states(markers).items()
            if state not in TERMINAL and state not in ("new", "submitted")]


# a. concurrent writers -------------------------------------------------------------------
@pytest.mark.parametrize("backend", [SQLITE, POSTGRES], indirect=True)
@pytest.mark.parametrize("processes", [2, 4])
def test_processes_trading_one_venue_at_once_keep_one_exact_book(
        request: pytest.FixtureRequest, backend: Backend, venue: SharedVenue,
        processes: int, tmp_path: Path, full_size: bool) -> None:
    orders = 30 if full_size else 6
    targets = backend.targets(processes)
    markers = [Markers(tmp_path / f"markers-{i}.jsonl") for i in range(processes)]
    started = time.perf_counter()
    workers = [start_worker(venue, "trade", "--target", target, "--markers",
                            str(marker.path), "--orders", str(orders))
               for target, marker in zip(targets, markers, strict=True)]
    try:
        exits = [finish(worker, WORKER_TIMEOUT) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
    seconds = time.perf_counter() - started
    assert [code for code, _, _ in exits] == [0] * processes, [err[-3000:] for _, _, err in exits]
    for marker in markers:
        assert marker.of("finished"), marker.read()[-5:]
    per_worker = [{i for done in m.of("done") for i in done["ids"]} for m in markers]
    assert sum(map(len, per_worker)) == len(set().union(*per_worker)) == processes * orders, \
        "each worker's orders have ids of their own"

    ledger = venue.ledger()
    check = check_books(targets, ledger)
    emit(request.config, {
        "suite": "multi-process", "scenario": "concurrent", "backend": backend.kind,
        "processes": processes, "orders_per_process": orders,
        "seconds": round(seconds, 2), "machine": machine(),
        "journal_orders": check.journal_orders, "venue_orders": check.venue_orders,
        "venue_fills": check.venue_fills, "problems": check.problems()})
    assert check.problems() == {}
    assert check.fills_equal
    # Each order is one venue order: market, limit through the ask, far limit cancelled.
    assert check.venue_orders == check.journal_orders == processes * orders
    assert check.venue_fills >= processes * (2 * orders // 3)


# b. SIGKILL in a rebalance; a survivor takes over -----------------------------------------
ITEMS: list[dict[str, str]] = [
    {"symbol": "AAPL", "action": "SELL", "quantity": "30"},
    {"symbol": "MSFT", "action": "SELL", "quantity": "20"},
    {"symbol": "SPY", "action": "BUY", "quantity": "10"},
    {"symbol": "TSLA", "action": "BUY", "quantity": "15"},
    {"symbol": "NVDA", "action": "HOLD"},
]
PLAN = {"correlation_id": "multi-takeover", "items": ITEMS}
HELD = {"AAPL": ("30", "185"), "MSFT": ("20", "400")}
BYSTANDER_SYMBOLS = "F"  # the plan's symbols stay the plan's: their fills are counted


def takeover(backend: Backend, root: Path, kill_when_working: int) -> dict[str, Any]:
    """One round, on an emulator of its own: a worker runs the plan (limit orders at the
    touch, 60 s each) beside a bystander that trades other symbols; it is SIGKILLed once
    ``kill_when_working`` of its orders work (0: as soon as its first order is journaled,
    its request perhaps in flight); ``venuekit recover`` then takes over its book, and
    ``venuekit rebalance PLAN`` resumes the run at market. Returns the round's figures;
    asserts as it goes."""
    root.mkdir()
    with shared_venue() as venue:
        return _takeover(backend, venue, root, kill_when_working)


def _takeover(backend: Backend, venue: SharedVenue, root: Path,
              kill_when_working: int) -> dict[str, Any]:
    for symbol, (quantity, price) in HELD.items():
        venue.control("position", {"symbol": symbol, "quantity": quantity,
                                   "average_price": price})
    plan = root / "plan.json"
    plan.write_text(json.dumps(PLAN), encoding="utf-8")
    target, bystander_target = backend.targets(2) if backend.url else \
        [str(root / "journal.sqlite3"), str(root / "bystander.sqlite3")]
    marks, bystander_marks = Markers(root / "worker.jsonl"), Markers(root / "bystander.jsonl")
    bystander = start_worker(venue, "trade", "--target", bystander_target, "--markers",
                             str(bystander_marks.path), "--orders", "9", "--pause", "0.3",
                             "--symbols", BYSTANDER_SYMBOLS)
    worker = start_worker(venue, "rebalance", "--target", target, "--markers",
                          str(marks.path), "--plan", str(plan), "--strategy", "limit",
                          "--timeout", "60")
    try:
        marks.wait(lambda m: m.get("event") == "order" and len(working(marks))
                   >= kill_when_working, MARKER_TIMEOUT, worker)
        if kill_when_working == 0:
            time.sleep(0.005)  # the first request on its way
        at_kill = set(working(marks))
        killed_at = time.monotonic()
        worker.send_signal(signal.SIGKILL)
        code, _, _ = finish(worker, 10)
        assert code == -signal.SIGKILL

        recovered = venuekit_cli(venue, "recover", "--journal", target, "--json",
                                 timeout=CLI_TIMEOUT)
        taken_over = time.monotonic() - killed_at
        assert recovered.returncode == 0, recovered.stderr[-3000:]
        report = json.loads(recovered.stdout)
        orphaned = {o["order_id"] for o in report["orphaned"]}
        # The dead process's working orders are the survivor's now, reconciled: each still
        # works and is named an orphan of its run, or ended (its fill or cancel recorded).
        with open_book(target, readonly=True) as book:
            states = {o.id: o.state.value for o in book.orders(venue="alpaca")}
        for order_id in at_kill:
            assert order_id in orphaned or states[order_id] in TERMINAL, (order_id, report)
        if backend.kind == "postgres":  # the survivor says what it took over: all of them
            assert at_kill <= set(report["adopted"]), (at_kill, report["adopted"])
        else:  # a file has one writer at a time: the next one recovers, nothing to adopt
            assert report["adopted"] == []
        assert orphaned <= at_kill | {i for i, s in states.items() if s not in TERMINAL}

        resume_started = time.monotonic()
        resumed = venuekit_cli(venue, "rebalance", str(plan), "--journal", target,
                               "--strategy", "market", "--timeout", "20", "--json",
                               timeout=CLI_TIMEOUT)
        resume_seconds = time.monotonic() - resume_started
        assert resumed.returncode == 0, (resumed.stdout[-3000:], resumed.stderr[-3000:])
        plan_report = json.loads(resumed.stdout)
        assert (plan_report["resumed"], plan_report["complete"]) == (True, True), plan_report
        code, _, err = finish(bystander, WORKER_TIMEOUT)
        assert code == 0, err[-3000:]
    finally:
        for process in (worker, bystander):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    ledger = venue.ledger()
    targets = [target, bystander_target]
    check = check_books(targets, ledger)
    assert check.problems() == {}, check
    # Nothing traded twice, nothing lost: each item's fills add up to its quantity exactly.
    for item in ITEMS:
        if item["action"] == "HOLD":
            continue
        side = item["action"].lower()
        executed = sum((Decimal(f["qty"]) for f in ledger["fills"]
                        if f["symbol"] == item["symbol"] and f["side"] == side), Decimal(0))
        assert executed == Decimal(item["quantity"]), (item, executed)
    with open_book(target, readonly=True) as book:
        assert [o.id for o in book.orders(venue="alpaca") if not o.state.is_terminal] == []
    return {"working_at_kill": len(at_kill), "orphaned": len(orphaned),
            # What the PostgreSQL survivor says it took over (always 0 on SQLite).
            "adopted": len(report["adopted"]),
            "takeover_seconds": round(taken_over, 3), "resume_seconds": round(resume_seconds, 3),
            "journal_orders": check.journal_orders, "venue_orders": check.venue_orders}


# Where the worker dies: its first order journaled (in flight), one, or both sells working.
KILL_POINTS = {"first-order": 0, "one-working": 1, "two-working": 2}
REDUCED_KILL_POINTS = ("two-working",)


@pytest.mark.parametrize("kill_point", list(KILL_POINTS))
@pytest.mark.parametrize("backend", [SQLITE, POSTGRES], indirect=True)
def test_a_survivor_takes_over_a_rebalance_killed_half_way(
        request: pytest.FixtureRequest, backend: Backend, tmp_path: Path, kill_point: str,
        full_size: bool) -> None:
    """SIGKILL with orders working, ``venuekit recover`` in another process adopts and
    reconciles them (kill to reconciled is the takeover time, printed), and the plan run
    again resumes its run: no duplicate, nothing lost, every journal equal to the ledger.
    With SQLite, the survivor opens the dead process's file (its lock died with it)."""
    if not full_size and kill_point not in REDUCED_KILL_POINTS:
        pytest.skip("--full runs this kill point")
    started = time.perf_counter()
    figures = takeover(backend, tmp_path / "round", KILL_POINTS[kill_point])
    emit(request.config, {
        "suite": "multi-process", "scenario": "takeover", "backend": backend.kind,
        "kill_point": kill_point, "seconds": round(time.perf_counter() - started, 2),
        "machine": machine(), **figures})


# c. a writer stopped past its lease -------------------------------------------------------
@pytest.mark.parametrize("backend", [POSTGRES], indirect=True)
def test_a_writer_stopped_past_its_lease_is_fenced_and_sends_nothing_more(
        request: pytest.FixtureRequest, backend: Backend, venue: SharedVenue,
        tmp_path: Path) -> None:
    """A writer SIGSTOPped between two orders, with one order resting, keeps its session
    and its lock; a standby adopts its order once the lease has run out (and cancels it).
    SIGCONT: the writer's next write is refused with JOURNAL_FENCED, it exits saying so,
    and the venue receives nothing from it after the fence: no order, no cancel."""
    [target] = backend.targets(1)
    marks, standby_marks = Markers(tmp_path / "writer.jsonl"), Markers(tmp_path / "standby.jsonl")
    # Orders 0 and 1 fill, order 2 rests; the writer is stopped in its pause before order 3.
    writer = start_worker(venue, "trade", "--target", target, "--markers", str(marks.path),
                          "--orders", "40", "--pause", "2", "--resting", "1")
    standby = None
    try:
        opened = marks.wait(lambda m: m.get("event") == "open", MARKER_TIMEOUT, writer)
        assert opened["writer_id"] is not None, "a PostgreSQL writer has a writer id"
        marks.wait(lambda m: m.get("event") == "ready" and m["i"] == 3, MARKER_TIMEOUT, writer)
        writer.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        [resting] = [d["ids"][0] for d in marks.of("done") if d["kind"] == "resting"]
        writer_ids = {m["id"] for m in marks.of("order")}

        standby = start_worker(venue, "adopt", "--target", target, "--markers",
                               str(standby_marks.path), "--expect", resting,
                               "--timeout", str(ADOPT_TIMEOUT))
        adopted = standby_marks.wait(lambda m: m.get("event") == "adopted",
                                     ADOPT_TIMEOUT + MARKER_TIMEOUT, standby)
        fenced_after = time.monotonic() - stopped_at
        code, _, err = finish(standby, WORKER_TIMEOUT)
        assert code == 0, err[-3000:]
        assert [c["order_id"] for c in adopted["cancelled"]] == [resting]
        at_fence = venue.ledger()

        writer.send_signal(signal.SIGCONT)
        code, _, err = finish(writer, WORKER_TIMEOUT)
    finally:
        for process in (writer, standby):
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.kill()
                process.wait(timeout=10)
    assert code == 3, f"the fenced writer must stop with JOURNAL_FENCED: exit {code}, {err}"
    [fence] = marks.of("fenced")
    assert fence["code"] == "JOURNAL_FENCED"
    assert fence["message"] and "JOURNAL_FENCED" in err, err
    assert not marks.of("finished")

    after = venue.ledger()
    before = {o["id"] for o in at_fence["orders"]}
    new_orders = [o for o in after["orders"] if o["id"] not in before]
    from_writer = [o for o in new_orders if o["client_order_id"] in writer_ids]
    new_cancels = after["cancels"][len(at_fence["cancels"]):]
    new_replaces = after["replaces"][len(at_fence["replaces"]):]
    check = check_books([target], after)
    emit(request.config, {
        "suite": "multi-process", "scenario": "fenced", "backend": backend.kind,
        "machine": machine(), "stopped_to_adopted_seconds": round(fenced_after, 3),
        "adopt_tries": adopted["tries"], "orders_after_fence": len(new_orders),
        "orders_after_fence_from_writer": len(from_writer),
        "cancels_after_fence": len(new_cancels), "problems": check.problems()})
    assert from_writer == []
    assert new_orders == [], "nobody trades after the fence: any new order is the zombie's"
    assert (new_cancels, new_replaces) == ([], [])
    assert check.problems() == {}
