"""A real process holding stops is SIGKILLed, then restarted: stops the engine holds
(emulated) and stops the venue holds (the mock's native stops).

While held, a stop is only in the journal: the restart re-arms it (a trailing stop from
its last recorded mark) and it fires once. Killed between its release and its create's
answer, it is resolved as any sent order is: found at the venue and reconciled, or proven
never sent and ended in ERROR. Never sent twice; the journal equals the venue's ledger.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.crash import run_driver
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderState
from venuekit_mock import MockVenue

from .stop_crash_driver import SYMBOLS


def driver(*args: str) -> subprocess.CompletedProcess[str]:
    return run_driver("tests.mock.stop_crash_driver", *args)


def venue_of(directory: Path) -> MockVenue:
    venue = MockVenue(seed=3, symbols=SYMBOLS, state_path=directory / "venue.state",
                      stops="native")
    asyncio.run(venue.connect())
    return venue


def held_then_killed(directory: Path) -> dict[str, str]:
    crashed = driver("hold", "--dir", str(directory))
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    with SQLiteJournal(directory / "journal.sqlite3", readonly=True) as journal:
        orders = {o.request.correlation_id or "": o for o in journal.orders()}
    assert {job: o.state for job, o in orders.items()} == {
        "stop": OrderState.HELD, "stop_limit": OrderState.HELD, "trailing": OrderState.HELD}
    assert venue_of(directory).control.ledger.orders == []
    return {job: o.id for job, o in orders.items()}


def resumed(directory: Path) -> dict[str, Any]:
    done = driver("resume", "--dir", str(directory))
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["ok"] and report["still_held"] == []
    return report


def check_truth(directory: Path) -> None:
    ledger = venue_of(directory).control.ledger
    assert ledger.duplicate_client_ids() == {}
    with SQLiteJournal(directory / "journal.sqlite3", readonly=True) as journal:
        assert_journal_matches_ledger(journal, ledger)


def test_a_stop_held_at_the_kill_is_rearmed_and_fires_once(tmp_path: Path) -> None:
    ids = held_then_killed(tmp_path)
    report = resumed(tmp_path)
    assert sorted(report["held"]) == sorted(ids.values())
    assert report["states"] == {"stop": "filled", "stop_limit": "filled", "trailing": "filled"}
    ledger = venue_of(tmp_path).control.ledger
    assert [len(ledger.orders_with_client_id(i)) for i in ids.values()] == [1, 1, 1]
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        trailing = journal.get(ids["trailing"])
    assert trailing is not None
    submit = next(e for e in trailing.history if e.kind == "submit")
    assert submit.data is not None and submit.data["trigger"] == "50.00"  # 51.00 - 1.00
    check_truth(tmp_path)


def test_a_stop_killed_after_its_release_before_sending_is_never_sent(tmp_path: Path) -> None:
    ids = held_then_killed(tmp_path)
    crashed = driver("fire", "--dir", str(tmp_path), "--kill-at", "released")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    report = resumed(tmp_path)
    assert report["states"]["stop"] == "error"
    assert venue_of(tmp_path).control.ledger.orders_with_client_id(ids["stop"]) == []
    check_truth(tmp_path)


def test_a_stop_killed_once_the_venue_took_it_is_found_there_and_not_resent(
        tmp_path: Path) -> None:
    ids = held_then_killed(tmp_path)
    crashed = driver("fire", "--dir", str(tmp_path), "--kill-at", "accepted")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    report = resumed(tmp_path)
    assert report["states"]["stop"] == "filled"
    ledger = venue_of(tmp_path).control.ledger
    placed = ledger.orders_with_client_id(ids["stop"])
    assert len(placed) == 1
    assert ledger.filled_quantity(placed[0].venue_order_id) == Decimal(10)
    check_truth(tmp_path)


def test_native_stops_fire_at_the_venue_while_the_process_is_down(tmp_path: Path) -> None:
    """The venue holds the stops: the market falls through all three while no process runs,
    and the restart finds them filled, once each, the trailing stop at its trail from the
    bid the venue saw before the kill."""
    crashed = driver("hold", "--dir", str(tmp_path), "--native")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        ids = {o.request.correlation_id or "": o.id for o in journal.orders()}
        assert {o.state for o in journal.orders()} == {OrderState.ACKNOWLEDGED}
    venue = venue_of(tmp_path)
    venue.control.set_quote("AAA", "50.01", "50.02")  # above the trailing stop (50.00)
    assert venue.control.ledger.fills == []
    venue.control.set_quote("AAA", "49.00", "49.01")  # through all three
    done = driver("resume", "--dir", str(tmp_path), "--native")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["held"] == []
    assert report["states"] == {"stop": "filled", "stop_limit": "filled", "trailing": "filled"}
    ledger = venue_of(tmp_path).control.ledger
    assert [len(ledger.orders_with_client_id(i)) for i in ids.values()] == [1, 1, 1]
    assert sorted(f.price for f in ledger.fills) == [Decimal("49.00")] * 3
    check_truth(tmp_path)
