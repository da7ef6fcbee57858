"""What the crash-and-rerun suites against an emulator process share: where to kill the
CLI, what the killed run left, and the totals printed for a suite.

A suite (``test_crash_binance``, ``test_crash_kis``) kills ``venuekit rebalance`` at a
drawn point (the journal's N-th write, the N-th venue call in flight, or a time after
trading starts), runs the same command again, and compares the journal with the venue's
ledger; see each suite's docstring.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from venuekit.journal.sqlite import SQLiteJournal
from venuekit.runs import RunState

from .report import emit, machine

__all__ = ["MODES", "STRATEGIES", "TIMEOUTS", "first_run", "kill_point", "run_suite"]

MODES = ("journal", "venue", "time")
STRATEGIES = ("market", "limit", "aggressive-limit")
# A CLI rebalance of the suites' plans makes about 25 journal writes and 10 venue calls and
# trades for 100 to 400 ms (thin books: orders fill over several steps).
RANGES = {"journal": (2, 26), "venue": (2, 10), "time": (5, 300)}
TIMEOUTS = {"market": "2", "limit": "0.4", "aggressive-limit": "0.4"}


def kill_point(seed: int, venue: str) -> tuple[str, str]:
    """``(MODE:N, strategy)`` for ``seed``: the modes and strategies in turn."""
    rng = random.Random(f"venuekit-{venue}-rerun/{seed}")
    mode = MODES[seed % len(MODES)]
    strategy = STRATEGIES[(seed // len(MODES)) % len(STRATEGIES)]
    low, high = RANGES[mode]
    return f"{mode}:{rng.randint(low, high)}", strategy


def first_run(directory: Path) -> tuple[RunState | None, str]:
    """The state the killed run left its run in, and the last phase it sent orders in."""
    path = directory / "journal.sqlite3"
    if not path.exists():
        return None, "before the journal"
    with SQLiteJournal(path, readonly=True) as journal:
        runs = journal.runs()
        sides = {order.side.value for order in journal.orders()}
    phase = "buy" if "buy" in sides else "sell" if "sell" in sides else "before orders"
    return (runs[0].state if runs else None), phase


def run_suite(request: pytest.FixtureRequest, venue: str, count: int, root: Path,
              crash_and_rerun: Callable[[int, Path], dict[str, Any]],
              extra: Callable[[Sequence[dict[str, Any]]], dict[str, Any]] | None = None
              ) -> list[dict[str, Any]]:
    """Run ``count`` kill points two at a time and print the suite's totals."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda s: crash_and_rerun(s, root), range(count)))
    killed = [o for o in outcomes if o["killed"]]
    emit(request.config, {
        "suite": "crash-rerun", "venue": venue,
        "size": "full" if count >= 400 else "reduced",
        "seconds": round(time.perf_counter() - started, 1), "machine": machine(),
        "kill_points": len(outcomes), "killed": len(killed),
        "by_mode": {m: sum(1 for o in killed if o["kill"].startswith(m)) for m in MODES},
        "by_strategy": {s: sum(1 for o in killed if o["strategy"] == s) for s in STRATEGIES},
        "by_phase": {p: sum(1 for o in killed if o.get("phase") == p)
                     for p in ("before orders", "sell", "buy")},
        "resumed": sum(1 for o in outcomes if o.get("resumed")),
        "finished_before_the_kill": sum(1 for o in outcomes if o.get("second_exit") == 2),
        "fills": sum(o.get("fills", 0) for o in outcomes),
        "over_the_plan": sum(1 for o in outcomes if o.get("excess")),
        "working_at_venue_after": sum(o.get("working_at_venue", 0) for o in outcomes),
        "journal_not_equal_ledger": sum(1 for o in outcomes if o.get("mismatch")),
        **(extra(outcomes) if extra is not None else {}),
        "errors": [o for o in outcomes if o.get("error")][:5]})
    return outcomes


FULL_COVERAGE = 100
"""Kill points from which both phases must be among the killed: where a kill lands depends
on timing, and the BUY phase is the shorter (about one kill in eight on KIS), so a dozen
points may miss it by chance."""


def check_coverage(reruns: Sequence[dict[str, Any]]) -> None:
    """The kill points cover every strategy and every mode, and trading: both phases at
    full size, at least one at the reduced size."""
    assert [o["error"] for o in reruns if o.get("error")] == []
    killed = [o for o in reruns if o["killed"]]
    assert len(killed) >= len(reruns) * 2 // 3, len(killed)
    phases = {o["phase"] for o in killed}
    if len(reruns) >= FULL_COVERAGE:
        assert phases >= {"sell", "buy"}, phases
    else:
        assert phases & {"sell", "buy"}, phases
    assert {o["strategy"] for o in killed} == set(STRATEGIES)
    assert {o["kill"].split(":")[0] for o in killed} == set(MODES)


def check_resumed_within_the_plan(reruns: Sequence[dict[str, Any]]) -> None:
    assert [(o["seed"], o["excess"]) for o in reruns if o["excess"]] == []
    unfinished = [o for o in reruns if o["unfinished_run"]]
    assert [o["seed"] for o in unfinished if not o.get("resumed")] == [], \
        "a run its process left unfinished is resumed, not started again"
    assert len(unfinished) >= len(reruns) // 2


