"""A real process is SIGKILLed at the dangerous points of an order's life, then restarted.

After recovery: no order is duplicated at the venue, every order is resolved, and the
journal's fills are exactly the venue's.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.crash import run_driver
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderState
from venuekit_mock import MockVenue

from .crash_driver import POINTS, SYMBOLS

ORDERS = 6
KILL_ORDER = 3  # an order of 15 against 10 displayed: it can fill partly


def driver(*args: str) -> subprocess.CompletedProcess[str]:
    return run_driver("tests.mock.crash_driver", *args)


def ledger_of(directory: Path) -> MockVenue:
    venue = MockVenue(seed=3, symbols=SYMBOLS, state_path=directory / "venue.state")
    asyncio.run(venue.connect())
    return venue


@pytest.mark.parametrize("point", POINTS)
def test_kill_restart_recover(tmp_path: Path, point: str) -> None:
    crashed = driver("run", "--dir", str(tmp_path), "--orders", str(ORDERS),
                     "--kill-at", point, "--kill-order", str(KILL_ORDER))
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr

    # What the crash left: the killed order is in the journal, unresolved.
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        by_job = {o.request.correlation_id: o for o in journal.orders()}
    assert set(by_job) == {f"job-{i}" for i in range(KILL_ORDER + 1)}
    killed = by_job[f"job-{KILL_ORDER}"]
    expected = OrderState.PARTIALLY_FILLED if point == "partial_fill" else OrderState.SUBMITTED
    assert killed.state is expected
    at_venue = ledger_of(tmp_path).control.ledger.orders_with_client_id(killed.id)
    assert len(at_venue) == (1 if point in ("accepted", "partial_fill") else 0)

    resumed = driver("resume", "--dir", str(tmp_path), "--orders", str(ORDERS))
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["ok"] and report["failed"] == []

    ledger = ledger_of(tmp_path).control.ledger
    assert ledger.duplicate_client_ids() == {}
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        orders = journal.orders()
        assert len(orders) == ORDERS
        assert journal.orders(state=[OrderState.NEW, OrderState.SUBMITTED]) == []
        assert_journal_matches_ledger(journal, ledger)
        recovered = journal.get(killed.id)
    assert recovered is not None
    if point in ("after_new", "in_flight"):
        # never reached the venue: resolved as such, not re-sent by the restart
        assert recovered.state is OrderState.ERROR
        assert ledger.orders_with_client_id(killed.id) == []
    else:
        assert recovered.venue_order_id is not None
        assert recovered.filled_quantity == ledger.filled_quantity(recovered.venue_order_id)
        assert recovered.filled_quantity > 0
