"""``venuekit rebalance --venue kis`` SIGKILLed at random points against a running
``venuekit emulate kis``, then the same command run again.

The emulator is a process of its own, as KIS is: it outlives the killed CLI, with the
orders that CLI left working and the fills they got. KIS keeps no client order id, so an
order the killed run sent without reading the answer is found again by its fingerprint in
the daily order inquiry. Per kill point (the journal's N-th write, the N-th venue call in
flight, or a time after trading starts), after the second run:

* per symbol and side, what KIS executed over both runs never exceeds the plan: a quantity
  item its quantity, a notional item the whole shares its won were sized to (the run's
  target, journaled before its first order);
* no order works at KIS;
* the journal equals the emulator's ledger: no order placed twice, no execution lost or
  invented, every journaled order final.

Both runs are the real CLI in real processes, with credentials in the environment as a
user sets them; access tokens are cached in the state directory between the two, as they
are for a user. The first run is killed by hooks on the journal and venue classes
(``tests/faults/crash_cli.py``). The run prints one JSON line of totals.
"""

from __future__ import annotations

import json
import random
import signal
import urllib.request
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.crash import run_driver
from tests.support.journal_truth import WireTruth, tally
from tests.support.processes import first_line, reap, start_emulate
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.runs import RunState

from .crash_runs import (
    TIMEOUTS,
    check_coverage,
    check_resumed_within_the_plan,
    first_run,
    kill_point,
    run_suite,
)

pytest.importorskip("venuekit_kis", reason="the KIS crash suite needs venuekit-kis")

D = Decimal
REDUCED, FULL = 12, 400
# KRX shares of the emulator on four tick bands: (displayed size: thin, refreshed every
# step; shares held at the start).
STOCKS = {"005930": ("40", 400), "000660": ("10", 100), "035720": ("60", 600),
          "010140": ("200", 2_000)}
CONFIG = """\
journal = "journal.sqlite3"

[validation]
max_concentration = "none"
max_spread_bps = "none"
max_order_notional = "100000000"

[venues.kis]
requests = "1000/1"
"""
START_TIMEOUT = 30.0


def plan_of(seed: int) -> dict[str, Any]:
    """Two stocks sold from what the account holds, two bought (shares or won)."""
    rng = random.Random(f"venuekit-kis-plan/{seed}")
    codes = list(STOCKS)
    rng.shuffle(codes)
    items: list[dict[str, Any]] = []
    for code in codes[:2]:
        shares = STOCKS[code][1] * rng.randint(5, 30) // 100
        items.append({"symbol": code, "action": "SELL", "quantity": str(shares)})
    for code in codes[2:]:
        if rng.random() < 0.5:
            amount = {"notional": str(rng.randint(200, 3_000) * 1_000)}
        else:
            amount = {"quantity": str(STOCKS[code][1] * rng.randint(5, 30) // 100)}
        items.append({"symbol": code, "action": "BUY", **amount})
    return {"correlation_id": f"kis-crash-{seed}", "items": items}


def _control(settings: dict[str, str], path: str, body: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    request = urllib.request.Request(
        settings["KIS_BASE_URL"] + "/_venuekit/" + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"appkey": settings["KIS_APP_KEY"], "appsecret": settings["KIS_APP_SECRET"],
                 "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        reply: dict[str, Any] = json.loads(answer.read() or b"{}")
    return reply


def start_venue(seed: int) -> tuple[Any, dict[str, str]]:
    options = ["-o", f"seed={seed}", "-o", "tick_interval=0.02", "-o", "rate_limit=1000",
               "-o", "token_interval=0"]
    for code, (size, _) in STOCKS.items():
        options += ["-o", f"symbols.{code}.size={size}"]
    process = start_emulate("kis", "--port", "0", "--json", *options)
    try:
        settings: dict[str, str] = json.loads(first_line(process, START_TIMEOUT))[
            "client_settings"]
        for code, (_, held) in STOCKS.items():
            _control(settings, "position", {"symbol": code, "quantity": str(held)})
    except BaseException:
        reap(process)
        raise
    return process, settings


def excess(plan: dict[str, Any], truth: dict[str, Any], targets: dict[str, Decimal]
           ) -> list[str]:
    """Where KIS executed more than the plan, per symbol and side (``targets``: the shares
    each notional item was sized to, by symbol)."""
    quantity: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for fill in truth["fills"]:
        quantity[(fill["symbol"], fill["side"])] += D(fill["quantity"])
    found = []
    for item in plan["items"]:
        key = (item["symbol"], item["action"].lower())
        planned = D(item["quantity"]) if "quantity" in item else targets.get(item["symbol"])
        if planned is None:
            if quantity[key]:
                found.append(f"{key}: {quantity[key]} executed with no target journaled")
        elif quantity[key] > planned:
            found.append(f"{key}: {quantity[key]} executed, plan {planned}")
    return found


def crash_and_rerun(seed: int, root: Path) -> dict[str, Any]:
    directory = root / f"kill-{seed}"
    directory.mkdir()
    plan = plan_of(seed)
    kill, strategy = kill_point(seed, "kis")
    (directory / "venuekit.toml").write_text(CONFIG, encoding="utf-8")
    (directory / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    command = ["rebalance", "plan.json", "--venue", "kis", "--strategy", strategy,
               "--timeout", TIMEOUTS[strategy], "--json"]
    venue, settings = start_venue(seed)
    try:
        unset = ("VENUEKIT_JOURNAL", "VENUEKIT_LIVE")
        first = run_driver("tests.faults.crash_cli", "--kill", kill, "--", *command,
                           cwd=directory, unset=unset, extra_env=settings)
        outcome: dict[str, Any] = {"seed": seed, "kill": kill, "strategy": strategy,
                                   "killed": first.returncode == -signal.SIGKILL}
        if first.returncode not in (0, 1, -signal.SIGKILL):
            return {**outcome, "error": f"first run exited {first.returncode}: "
                                        f"{first.stderr[-2000:]}"}
        left, outcome["phase"] = first_run(directory)
        outcome["unfinished_run"] = left is not None and left.resumable
        finished = left is RunState.FINISHED
        second = run_driver("venuekit", *command, cwd=directory, unset=unset,
                            extra_env=settings)
        outcome["second_exit"] = second.returncode
        expected = (2,) if finished else (0, 1)
        if second.returncode not in expected or (finished and
                                                 "RUN_FINISHED" not in second.stderr):
            return {**outcome, "error": f"second run exited {second.returncode}: "
                                        f"{second.stderr[-2000:]}"}
        if second.returncode in (0, 1):
            outcome["resumed"] = json.loads(second.stdout)["resumed"]
        truth = _control(settings, "ledger")
        outcome["tokens_issued"] = truth.get("tokens_issued", 0)
        venue.send_signal(signal.SIGTERM)
        venue.wait(timeout=15)
    finally:
        reap(venue)
    outcome["working_at_venue"] = sum(1 for o in truth["orders"] if o["kind"] != "cancel"
                                      and D(str(o["remaining"])) > 0)
    with SQLiteJournal(directory / "journal.sqlite3", readonly=True) as journal:
        counts = tally(journal, WireTruth.of_kis(truth["orders"], truth["fills"]),
                       client_order_ids=False, venue="kis")
        runs = journal.runs()
        outcome["runs"] = len(runs)
    targets = {item.symbol: item.target for run in runs for item in run.items
               if item.target is not None}
    outcome["excess"] = excess(plan, truth, targets)
    outcome["mismatch"] = {key: counts[key] for key in (
        "duplicates", "lost_fills", "phantom_fills", "overfills", "underfills",
        "unresolved") if counts[key]}
    outcome["fills"] = len(truth["fills"])
    return outcome


@pytest.fixture(scope="module")
def reruns(request: pytest.FixtureRequest, full_size: bool,
           tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    def extra(outcomes: Any) -> dict[str, Any]:
        return {"tokens_issued": sum(o.get("tokens_issued", 0) for o in outcomes)}

    return run_suite(request, "kis", FULL if full_size else REDUCED,
                     tmp_path_factory.mktemp("kis-reruns"), crash_and_rerun, extra)


def test_the_kill_points_cover_both_phases_and_every_strategy(
        reruns: list[dict[str, Any]]) -> None:
    check_coverage(reruns)


def test_the_rerun_resumes_and_never_trades_more_than_the_plan(
        reruns: list[dict[str, Any]]) -> None:
    check_resumed_within_the_plan(reruns)


def test_nothing_is_left_working_at_kis(reruns: list[dict[str, Any]]) -> None:
    assert [(o["seed"], o["working_at_venue"]) for o in reruns if o["working_at_venue"]] \
        == []


def test_the_journal_equals_the_ledger(reruns: list[dict[str, Any]]) -> None:
    assert [(o["seed"], o["mismatch"]) for o in reruns if o["mismatch"]] == []


def test_the_two_runs_share_one_access_token(reruns: list[dict[str, Any]]) -> None:
    """The token the first run got is cached (owner-only) and reused by the second: KIS
    issues one a minute."""
    assert [o["seed"] for o in reruns if o.get("tokens_issued", 1) > 1] == []
