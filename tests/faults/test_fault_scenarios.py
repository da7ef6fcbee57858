"""Randomized fault scenarios against every venue target, judged by the venue's ledger.

Each target runs on both journal backends: a SQLite file per scenario, and a fresh
PostgreSQL database per scenario (issue #20; the ``postgres_server`` fixture's throw-away
server), through the same scenario code.

Every fault knob of the simulated venue, mixed at random per scenario, under market,
limit and aggressive-limit executions and rebalances (see :mod:`tests.faults.scenarios`).
The run prints one JSON line of totals, with the seed of every failing scenario; re-run
one with ``python -m tests.faults.scenarios SEED``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.journal_backends import POSTGRES, SQLITE, backend_for

from .report import emit, machine
from .scenarios import run_bounded, totals
from .targets import TARGETS

# Scenarios (reduced, full) and how many run at once, per venue. An Alpaca scenario goes
# through HTTP, a websocket and worker threads, so it takes seconds where the mock's takes
# tens of milliseconds: it runs fewer.
SIZES = {"mock": (200, 10_000, 24), "alpaca": (12, 400, 6), "binance": (24, 400, 6),
         "kis": (24, 400, 6)}
RUNS = [pytest.param((name, journal), id=f"{name}-{journal}")
        for journal in (SQLITE, POSTGRES) for name in sorted(TARGETS)]


@pytest.fixture(scope="module", params=RUNS)
def tallied(request: pytest.FixtureRequest, full_size: bool,
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    name, journal = request.param
    target = TARGETS[name]
    journals = backend_for(request, journal)
    reduced, full, concurrency = SIZES[target.name]
    count = full if full_size else reduced
    directory: Path = tmp_path_factory.mktemp(f"faults-{target.name}-{journal}")
    logging.disable(logging.CRITICAL)  # thousands of expected warnings; the ledger judges
    started = time.perf_counter()
    try:
        results = run_bounded(range(count), directory, target,
                              concurrency=concurrency * (2 if full_size else 1),
                              journals=journals)
    finally:
        logging.disable(logging.NOTSET)
    summary = totals(results, venue=target.name, journal=journal,
                     size="full" if full_size else "reduced",
                     seconds=round(time.perf_counter() - started, 1), machine=machine())
    emit(request.config, summary)
    return summary


def test_every_scenario_ran_with_faults_injected(tallied: dict[str, Any]) -> None:
    assert tallied["scenarios"] in SIZES[tallied["venue"]][:2]
    assert tallied["faults_injected"] > tallied["scenarios"], "the knobs did not bite"
    assert tallied["intended"] > tallied["scenarios"]


def test_no_duplicate_orders_at_the_venue(tallied: dict[str, Any]) -> None:
    """Each journaled order is at most one venue order, and the venue holds no other."""
    assert tallied["duplicates"] == 0, tallied["failing_seeds"]


def test_no_fill_lost_or_invented(tallied: dict[str, Any]) -> None:
    """Every venue execution is in the journal (by trade id, or a journaled execution of the
    same quantity standing in for it) and the journal holds no execution beyond them."""
    assert (tallied["lost_fills"], tallied["phantom_fills"]) == (0, 0), \
        tallied["failing_seeds"]


def test_no_unhandled_exception_and_nothing_hangs(tallied: dict[str, Any]) -> None:
    """Whatever the faults, the caller sees only venuekit errors, and every scenario ends."""
    assert (tallied["crashes"], tallied["hung"]) == (0, 0), tallied["failing_seeds"]


def test_journal_fills_equal_the_venue_fills_per_order(tallied: dict[str, Any]) -> None:
    """Per order, the journal's filled quantity is the venue's: a fill inferred while the
    venue had not itemized it yet is restated by the venue's execution, never added to it."""
    assert (tallied["overfills"], tallied["underfills"]) == (0, 0), tallied["failing_seeds"]


def test_nothing_left_unresolved_after_recovery(tallied: dict[str, Any]) -> None:
    """After the network heals, recovery plus a cancel of leftovers ends every order."""
    assert tallied["unresolved"] == 0, tallied["failing_seeds"]


def test_a_stuck_scenario_is_reported_hung_and_the_run_ends(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A scenario stuck where no timeout reaches (a close that swallows its cancellation)
    must not hang the suite: it is left behind and counted as hung, with its seed."""
    from . import scenarios

    async def stuck(seed: int, directory: Path, target: object,
                    journals: object = None) -> object:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue  # ignores cancellation, as a badly written close might

    monkeypatch.setattr(scenarios, "run_scenario", stuck)
    monkeypatch.setattr(scenarios, "WHOLE_SCENARIO_LIMIT", 0.2)
    started = time.perf_counter()
    [result] = scenarios.run_bounded([7], tmp_path)
    assert time.perf_counter() - started < 10
    assert result.failed and result.counts == {"hung": 1} and result.seed == 7
    assert "stuck" in result.notes[0]


def test_every_event_reaches_the_journal(tallied: dict[str, Any]) -> None:
    """No event of an order is refused by the journal (two writers numbering its events
    alike would be): every order's history in the journal is whole."""
    assert tallied["lost_events"] == 0, tallied["failing_seeds"]
