"""A real process is SIGKILLed at seeded points of rebalances, restarted and recovered.

Each kill point is a seed: it picks the plan, the strategy and where the process dies (the
N-th journal write, the N-th venue call while its answer is in flight, or a moment in
time). After the restart recovers and finishes the job, the venue holds no duplicate
order, nothing is left open, and the journal equals the venue's ledger. It runs on both
journal backends: a SQLite file, and a PostgreSQL database (the restart adopts the killed
writer's orders first). The run prints one JSON line of totals per backend.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support.crash import run_driver
from tests.support.journal_backends import POSTGRES, SQLITE, JournalBackend, backend_for
from tests.support.journal_truth import assert_journal_matches_ledger, tally
from venuekit.journal import open_journal
from venuekit_mock import MockVenue

from .crash_rebalance import MODES, symbols
from .report import emit, machine

DRIVER = "tests.faults.crash_rebalance"
REDUCED, FULL = 12, 200
# A whole run makes about 24 to 58 journal writes and 12 to 36 venue calls, and its
# rebalance lasts 0.1 to 0.9 s (fewer calls as the engine batches more): the ranges keep
# most kill points inside the run; a run that ends first is restarted all the same.
RANGES = {"journal": (1, 24), "venue": (1, 12), "time": (5, 100)}


def kill_point(seed: int) -> str:
    rng = random.Random(f"venuekit-kill/{seed}")
    mode = MODES[seed % len(MODES)]
    low, high = RANGES[mode]
    return f"{mode}:{rng.randint(low, high)}"


def ledger(directory: Path) -> Any:
    venue = MockVenue(seed=5, symbols=symbols(), state_path=directory / "venue.state")
    asyncio.run(venue.connect())
    return venue.control.ledger


def crash_and_recover(seed: int, root: Path, journals: JournalBackend) -> dict[str, Any]:
    directory = root / f"kill-{seed}"
    directory.mkdir()
    kill = kill_point(seed)
    target = journals.new(directory)
    crashed = run_driver(DRIVER, "run", "--dir", str(directory), "--seed", str(seed),
                         "--kill", kill, "--journal", target)
    outcome: dict[str, Any] = {"seed": seed, "kill": kill,
                               "killed": crashed.returncode == -signal.SIGKILL}
    if crashed.returncode not in (0, -signal.SIGKILL):
        return {**outcome, "error": f"run exited {crashed.returncode}: {crashed.stderr[-2000:]}"}
    resumed = run_driver(DRIVER, "resume", "--dir", str(directory), "--seed", str(seed),
                         "--journal", target)
    if resumed.returncode != 0:
        return {**outcome, "error": f"resume exited {resumed.returncode}: "
                                    f"{resumed.stderr[-2000:]}"}
    report = json.loads(resumed.stdout)
    truth = ledger(directory)
    with open_journal(target, readonly=True) as journal:
        counts = tally(journal, truth, client_order_ids=True)
        try:
            assert_journal_matches_ledger(journal, truth)
            matches = True
        except AssertionError:
            matches = False
    return {**outcome, **counts, "journal_equals_ledger": matches,
            "duplicate_client_ids": len(truth.duplicate_client_ids()),
            "recovered_ok": report["ok"] and report["final_ok"],
            "recovery_changes": len(report["changes"])}


@pytest.fixture(scope="module", params=[SQLITE, POSTGRES])
def kills(request: pytest.FixtureRequest, full_size: bool,
          tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    count = FULL if full_size else REDUCED
    journals = backend_for(request, request.param)
    root = tmp_path_factory.mktemp(f"crashes-{journals.kind}")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda s: crash_and_recover(s, root, journals),
                                 range(count)))
    failing = [o for o in outcomes if o.get("error") or not o.get("journal_equals_ledger")
               or not o.get("recovered_ok")
               or any(o.get(k) for k in ("duplicates", "duplicate_client_ids", "lost_fills",
                                          "phantom_fills", "overfills", "underfills",
                                          "unresolved"))]
    summed = {key: sum(o.get(key, 0) for o in outcomes)
              for key in ("duplicates", "duplicate_client_ids", "lost_fills", "phantom_fills",
                          "restated_fills", "overfills", "underfills", "unresolved",
                          "intended", "venue_orders", "recovery_changes")}
    emit(request.config, {
        "suite": "crash", "journal": journals.kind, "size": "full" if full_size else "reduced",
        "seconds": round(time.perf_counter() - started, 1), "machine": machine(),
        "kill_points": len(outcomes), "killed": sum(o["killed"] for o in outcomes),
        "by_mode": {m: sum(1 for o in outcomes if o["killed"] and o["kill"].startswith(m))
                    for m in MODES},
        **summed, "journal_not_equal_ledger": sum(1 for o in outcomes
                                                  if not o.get("journal_equals_ledger")),
        "failing": [{k: v for k, v in o.items() if v and k not in (
            "killed", "intended", "venue_orders", "recovery_changes", "recovered_ok",
            "journal_equals_ledger")} for o in failing[:20]]})
    return outcomes


def test_the_kill_points_really_kill(kills: list[dict[str, Any]]) -> None:
    assert [o["error"] for o in kills if o.get("error")] == []
    killed = [o for o in kills if o["killed"]]
    assert len(killed) >= len(kills) * 2 // 3, "most seeded points must land inside the run"
    assert {o["kill"].split(":")[0] for o in killed} == set(MODES)


def test_restart_recovers_without_duplicates_and_the_journal_equals_the_ledger(
        kills: list[dict[str, Any]]) -> None:
    for outcome in kills:
        assert outcome["recovered_ok"], outcome
        assert (outcome["duplicates"], outcome["duplicate_client_ids"]) == (0, 0), outcome
        assert outcome["unresolved"] == 0, outcome
        assert (outcome["lost_fills"], outcome["underfills"]) == (0, 0), outcome


def test_no_execution_is_counted_twice(kills: list[dict[str, Any]]) -> None:
    """A fill inferred during recovery is restated by the venue's execution when it arrives."""
    assert [o["seed"] for o in kills if o.get("overfills") or o.get("phantom_fills")] == []


def test_the_journal_itemizes_every_venue_execution(kills: list[dict[str, Any]]) -> None:
    """Fill for fill (trade id, order, quantity, price, fee), the journal is the ledger:
    recovery reads an order's executions again when it filled after the first read."""
    assert [o["seed"] for o in kills if not o.get("journal_equals_ledger")] == []
