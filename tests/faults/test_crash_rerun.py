"""``venuekit rebalance`` is SIGKILLed at random points, then the same command is run again.

What a user does after a crash: run the same plan again. The second run resumes the first
(its working orders cancelled, what is left sized from what filled), so that, per kill
point:

* per symbol and side, what the venue executed over both runs never exceeds the plan
  (a quantity item by more than one lot; a notional item by more than one lot at the
  highest fill price, beyond what the plan's amount buys at the prices paid);
* afterwards no order works at the venue (every order the CLI sends is one the user did
  not ask to keep: it has a deadline);
* the journal's fills equal the venue's ledger, execution for execution, with no venue
  order placed twice.

Both runs are the real CLI in real processes; the first is killed by hooks installed on
the journal and venue classes (``tests/faults/crash_cli.py``). Kill points cover the SELL
and BUY phases and the three strategies. It runs on both journal backends: the
configuration's ``journal`` a SQLite file, or a PostgreSQL database's URL (the second run's
client adopts the killed writer's orders; fewer kill points there). The run prints one JSON
line of totals per backend.
"""

from __future__ import annotations

import json
import random
import signal
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.crash import run_driver
from tests.support.journal_backends import POSTGRES, SQLITE, JournalBackend, backend_for
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit.journal import open_journal
from venuekit.model import Side
from venuekit.runs import RunState
from venuekit_mock import MockVenue, state
from venuekit_mock.sim import Simulator

from .crash_rebalance import HELD, PRICES, job, symbols
from .report import emit, machine

REDUCED, FULL = 36, 200
REDUCED_POSTGRES = 18
"""Kill points on PostgreSQL at the reduced size (the CI's time; the full size runs all)."""
MODES = ("journal", "venue", "time")
STRATEGIES = ("market", "limit", "aggressive-limit")
# A CLI rebalance of these plans makes about 28 journal writes and 11 venue calls and
# trades for 80 to 180 ms: the ranges keep most kill points inside the work.
RANGES = {"journal": (2, 30), "venue": (2, 11), "time": (5, 170)}
TIMEOUTS = {"market": "2", "limit": "0.4", "aggressive-limit": "0.4"}
LOT = Decimal(1)
CONFIG = """\
journal = "{journal}"
state_dir = "."

[venues.mock]
seed = 5
latency = "0.01"
tick_interval = "0.02"

[validation]
max_concentration = "none"
max_spread_bps = "none"
"""


def kill_point(seed: int) -> tuple[str, str]:
    rng = random.Random(f"venuekit-rerun/{seed}")
    mode = MODES[seed % len(MODES)]
    strategy = STRATEGIES[(seed // len(MODES)) % len(STRATEGIES)]
    low, high = RANGES[mode]
    return f"{mode}:{rng.randint(low, high)}", strategy


def prepare(directory: Path, plan: dict[str, Any], journal: str) -> None:
    """The directory a user works in: the plan, venuekit.toml, and the venue's state (its
    market and the positions the plan sells), beside the journal as the CLI keeps it."""
    (directory / "venuekit.toml").write_text(CONFIG.format(journal=journal),
                                            encoding="utf-8")
    (directory / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    venue = MockVenue(seed=5, symbols=symbols(), cash=Decimal(10**6),
                      state_path=directory / "mock-venue.state")
    for item in plan["items"]:
        if item["action"] == "SELL":
            venue.control.set_position(item["symbol"], HELD, Decimal(PRICES[item["symbol"]]))


def simulator(directory: Path) -> Simulator:
    restored = state.load(directory / "mock-venue.state", "mock")
    assert restored is not None
    return restored


def _opened(target: str) -> bool:
    """The killed run got as far as creating its journal (a database's, once migrated)."""
    if "://" not in target:
        return Path(target).exists()
    import psycopg

    with psycopg.connect(target) as conn:
        return bool(conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0])


def phase_reached(target: str) -> str:
    """How far the killed run got: the last phase it journaled an order in."""
    if not _opened(target):
        return "before the journal"
    with open_journal(target, readonly=True) as journal:
        sides = {order.side for order in journal.orders()}
    return "buy" if Side.BUY in sides else "sell" if Side.SELL in sides else "before orders"


def first_run(target: str) -> RunState | None:
    """The state the first run's process left its run in (None: it made none)."""
    if not _opened(target):
        return None
    with open_journal(target, readonly=True) as journal:
        runs = journal.runs()
    return runs[0].state if runs else None


def excess(plan: dict[str, Any], sim: Simulator) -> list[str]:
    """Where the venue executed more than the plan (beyond the allowed rounding)."""
    quantity: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    notional: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    highest: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for fill in sim.ledger.fills:
        key = (fill.symbol, fill.side.value.upper())
        quantity[key] += fill.quantity
        notional[key] += fill.quantity * fill.price
        highest[key] = max(highest[key], fill.price)
    found = []
    for item in plan["items"]:
        key = (item["symbol"], item["action"])
        if "quantity" in item and quantity[key] > Decimal(item["quantity"]) + LOT:
            found.append(f"{key}: {quantity[key]} executed, plan {item['quantity']}")
        if "notional" in item and notional[key] > Decimal(item["notional"]) + LOT * highest[key]:
            found.append(f"{key}: {notional[key]} executed, plan {item['notional']}")
    return found


def crash_and_rerun(seed: int, root: Path, journals: JournalBackend) -> dict[str, Any]:
    directory = root / f"kill-{seed}"
    directory.mkdir()
    plan, _, _ = job(seed)
    kill, strategy = kill_point(seed)
    target = journals.new(directory)
    prepare(directory, plan, target if "://" in target else Path(target).name)
    command = ["rebalance", "plan.json", "--strategy", strategy, "--timeout",
               TIMEOUTS[strategy], "--json"]
    first = run_driver("tests.faults.crash_cli", "--kill", kill, "--", *command,
                       cwd=directory, unset=("VENUEKIT_JOURNAL",))
    outcome: dict[str, Any] = {"seed": seed, "kill": kill, "strategy": strategy,
                               "killed": first.returncode == -signal.SIGKILL}
    if first.returncode not in (0, 1, -signal.SIGKILL):
        return {**outcome, "error": f"first run exited {first.returncode}: "
                                    f"{first.stderr[-2000:]}"}
    outcome["phase"] = phase_reached(target)
    left = first_run(target)
    outcome["unfinished_run"] = left is not None and left.resumable
    finished = left is RunState.FINISHED
    second = run_driver("venuekit", *command, cwd=directory, unset=("VENUEKIT_JOURNAL",))
    outcome["second_exit"] = second.returncode
    # A run that ended (killed after its last journal write, or not killed at all) is
    # refused when run again; any other must be resumed.
    expected = (2,) if finished else (0, 1)
    if second.returncode not in expected or (finished and "RUN_FINISHED" not in second.stderr):
        return {**outcome, "error": f"second run exited {second.returncode} (the first run "
                                    f"{'finished' if finished else 'did not finish'}): "
                                    f"{second.stderr[-2000:]}"}
    if second.returncode in (0, 1):
        report = json.loads(second.stdout)
        outcome["resumed"] = report["resumed"]
    sim = simulator(directory)
    outcome["working_at_venue"] = len(sim.open_orders())
    outcome["excess"] = excess(plan, sim)
    outcome["duplicate_client_ids"] = len(sim.ledger.duplicate_client_ids())
    with open_journal(target, readonly=True) as journal:
        try:
            assert_journal_matches_ledger(journal, sim.ledger)
            outcome["journal_equals_ledger"] = True
        except AssertionError as exc:
            outcome["journal_equals_ledger"] = False
            outcome["mismatch"] = str(exc)[:500]
        outcome["runs"] = len(journal.runs())
    return outcome


@pytest.fixture(scope="module", params=[SQLITE, POSTGRES])
def reruns(request: pytest.FixtureRequest, full_size: bool,
           tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    journals = backend_for(request, request.param)
    count = FULL if full_size else REDUCED_POSTGRES if journals.kind == POSTGRES else REDUCED
    root = tmp_path_factory.mktemp(f"reruns-{journals.kind}")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda s: crash_and_rerun(s, root, journals), range(count)))
    killed = [o for o in outcomes if o["killed"]]
    emit(request.config, {
        "suite": "crash-rerun", "journal": journals.kind,
        "size": "full" if full_size else "reduced",
        "seconds": round(time.perf_counter() - started, 1), "machine": machine(),
        "kill_points": len(outcomes), "killed": len(killed),
        "by_mode": {m: sum(1 for o in killed if o["kill"].startswith(m)) for m in MODES},
        "by_strategy": {s: sum(1 for o in killed if o["strategy"] == s) for s in STRATEGIES},
        "by_phase": {p: sum(1 for o in killed if o.get("phase") == p)
                     for p in ("before orders", "sell", "buy")},
        "resumed": sum(1 for o in outcomes if o.get("resumed")),
        "finished_before_the_kill": sum(1 for o in outcomes if o.get("second_exit") == 2),
        "over_the_plan": sum(1 for o in outcomes if o.get("excess")),
        "working_at_venue_after": sum(o.get("working_at_venue", 0) for o in outcomes),
        "duplicate_client_ids": sum(o.get("duplicate_client_ids", 0) for o in outcomes),
        "journal_not_equal_ledger": sum(1 for o in outcomes
                                        if not o.get("journal_equals_ledger", True)),
        "errors": [o for o in outcomes if o.get("error")][:5]})
    return outcomes


def test_the_kill_points_cover_both_phases_and_every_strategy(
        reruns: list[dict[str, Any]]) -> None:
    assert [o["error"] for o in reruns if o.get("error")] == []
    killed = [o for o in reruns if o["killed"]]
    assert len(killed) >= 30 or len(killed) >= len(reruns) * 3 // 4, len(killed)
    assert {o["phase"] for o in killed} >= {"sell", "buy"}
    assert {o["strategy"] for o in killed} == set(STRATEGIES)
    assert {o["kill"].split(":")[0] for o in killed} == set(MODES)


def test_the_rerun_resumes_and_never_trades_more_than_the_plan(
        reruns: list[dict[str, Any]]) -> None:
    assert [(o["seed"], o["excess"]) for o in reruns if o["excess"]] == []
    unfinished = [o for o in reruns if o["unfinished_run"]]
    assert [o["seed"] for o in unfinished if not o.get("resumed")] == [], \
        "a run its process left unfinished is resumed, not started again"
    assert len(unfinished) >= len(reruns) // 2


def test_nothing_is_left_working_at_the_venue(reruns: list[dict[str, Any]]) -> None:
    assert [(o["seed"], o["working_at_venue"]) for o in reruns if o["working_at_venue"]] == []


def test_the_journal_equals_the_ledger_with_no_order_placed_twice(
        reruns: list[dict[str, Any]]) -> None:
    assert [(o["seed"], o.get("mismatch")) for o in reruns
            if not o["journal_equals_ledger"]] == []
    assert [o["seed"] for o in reruns if o["duplicate_client_ids"]] == []
