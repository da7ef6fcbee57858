"""``venuekit rebalance --venue binance`` SIGKILLed at random points against a running
``venuekit emulate binance``, then the same command run again.

The emulator is a process of its own, as Binance is: it outlives the killed CLI, with the
orders that CLI left working and the fills they got. Per kill point (the journal's N-th
write, the N-th venue call in flight, or a time after trading starts), after the second
run:

* per pair and side, what Binance executed over both runs never exceeds the plan by more
  than one lot: a quantity item its quantity, a notional item the quantity its USDT was
  sized to (the run's target, fixed and journaled before its first order: an order resent
  after a partial fill buys the rest of that quantity at the price of the moment, which
  may cost a little more or less than the plan's USDT);
* no order works at the exchange;
* the journal equals the exchange's ledger: no order placed twice, no execution lost or
  invented, every journaled order final.

Both runs are the real CLI in real processes, with credentials in the environment as a
user sets them; the first is killed by hooks on the journal and venue classes
(``tests/faults/crash_cli.py``). The run prints one JSON line of totals.
"""

from __future__ import annotations

import json
import random
import signal
import urllib.request
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
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

pytest.importorskip("venuekit_ccxt", reason="the Binance crash suite needs venuekit-ccxt")

from tests.ccxt.emulator_clients import sync_client

D = Decimal
REDUCED, FULL = 12, 400
# Binance pairs of the emulator: (lot, displayed size: thin, refreshed every step).
PAIRS = {"BTC": (D("0.00001"), "0.02"), "ETH": (D("0.0001"), "0.4"),
         "BNB": (D("0.001"), "2"), "SOL": (D("0.001"), "8")}
HELD = {"BTC": "1", "ETH": "10", "BNB": "20", "SOL": "100"}
CONFIG = """\
journal = "journal.sqlite3"

[validation]
max_concentration = "none"
max_spread_bps = "none"
"""
START_TIMEOUT = 30.0


def plan_of(seed: int) -> dict[str, Any]:
    """Two pairs sold from what the account holds, two bought (a quantity or USDT)."""
    rng = random.Random(f"venuekit-binance-plan/{seed}")
    names = list(PAIRS)
    rng.shuffle(names)
    items: list[dict[str, Any]] = []
    for name in names[:2]:
        held = D(HELD[name])
        quantity = (held * D(rng.randint(5, 30)) / 100).quantize(PAIRS[name][0])
        items.append({"symbol": f"{name}/USDT", "action": "SELL", "quantity": str(quantity)})
    for name in names[2:]:
        if rng.random() < 0.5:
            amount = {"notional": str(rng.randint(200, 3000))}
        else:
            amount = {"quantity": str((D(HELD[name]) * D(rng.randint(5, 30)) / 100)
                                      .quantize(PAIRS[name][0]))}
        items.append({"symbol": f"{name}/USDT", "action": "BUY", **amount})
    return {"correlation_id": f"binance-crash-{seed}", "items": items}


def start_exchange(seed: int) -> tuple[Any, dict[str, str]]:
    options = ["-o", f"seed={seed}", "-o", "tick_interval=0.02"]
    for asset, held in HELD.items():
        options += ["-o", f"balances.{asset}={held}",
                    "-o", f"symbols.{asset}USDT.size={PAIRS[asset][1]}"]
    process = start_emulate("binance", "--port", "0", "--json", *options)
    try:
        settings: dict[str, str] = json.loads(first_line(process, START_TIMEOUT))[
            "client_settings"]
    except BaseException:
        reap(process)
        raise
    return process, settings


def ledger(settings: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(
        settings["BINANCE_BASE_URL"] + "/_venuekit/ledger",
        headers={"X-MBX-APIKEY": settings["BINANCE_API_KEY"],
                 "X-MBX-SECRET-KEY": settings["BINANCE_API_SECRET"]})
    with urllib.request.urlopen(request, timeout=10) as answer:
        body: dict[str, Any] = json.loads(answer.read())
    return body


def working_at_exchange(settings: dict[str, str]) -> int:
    exchange = sync_client(SimpleNamespace(base_url=settings["BINANCE_BASE_URL"],
                                           api_key=settings["BINANCE_API_KEY"],
                                           secret_key=settings["BINANCE_API_SECRET"]))
    return sum(len(exchange.fetch_open_orders(f"{name}/USDT")) for name in PAIRS)


def excess(plan: dict[str, Any], truth: dict[str, Any], targets: dict[str, Decimal]
           ) -> list[str]:
    """Where Binance executed more than the plan, per pair and side (``targets``: the
    quantity each notional item was sized to, by symbol)."""
    quantity: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for fill in truth["fills"]:
        key = (fill["symbol"].removesuffix("USDT") + "/USDT", fill["side"])
        quantity[key] += D(fill["qty"])
    found = []
    for item in plan["items"]:
        key = (item["symbol"], item["action"])
        lot = PAIRS[item["symbol"].split("/")[0]][0]
        planned = D(item["quantity"]) if "quantity" in item else targets.get(item["symbol"])
        if planned is None:
            if quantity[key]:
                found.append(f"{key}: {quantity[key]} executed with no target journaled")
        elif quantity[key] > planned + lot:
            found.append(f"{key}: {quantity[key]} executed, plan {planned} "
                         f"({item.get('notional', '')} USDT)" if "notional" in item else
                         f"{key}: {quantity[key]} executed, plan {planned}")
    return found


def crash_and_rerun(seed: int, root: Path) -> dict[str, Any]:
    directory = root / f"kill-{seed}"
    directory.mkdir()
    plan = plan_of(seed)
    kill, strategy = kill_point(seed, "binance")
    (directory / "venuekit.toml").write_text(CONFIG, encoding="utf-8")
    (directory / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    command = ["rebalance", "plan.json", "--venue", "binance", "--strategy", strategy,
               "--timeout", TIMEOUTS[strategy], "--json"]
    exchange, settings = start_exchange(seed)
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
        truth = ledger(settings)
        outcome["working_at_venue"] = working_at_exchange(settings)
        exchange.send_signal(signal.SIGTERM)
        exchange.wait(timeout=15)
    finally:
        reap(exchange)
    outcome["duplicate_client_ids"] = len(truth["duplicate_client_order_ids"])
    outcome["banned"] = truth["responses_418"]
    with SQLiteJournal(directory / "journal.sqlite3", readonly=True) as journal:
        counts = tally(journal, WireTruth.of_binance(truth["orders"], truth["fills"]),
                       client_order_ids=True, venue="binance")
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
    def extra(outcomes: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return {"duplicate_client_ids": sum(o.get("duplicate_client_ids", 0)
                                            for o in outcomes),
                "banned": sum(o.get("banned", 0) for o in outcomes)}

    return run_suite(request, "binance", FULL if full_size else REDUCED,
                     tmp_path_factory.mktemp("binance-reruns"), crash_and_rerun, extra)


def test_the_kill_points_cover_both_phases_and_every_strategy(
        reruns: list[dict[str, Any]]) -> None:
    check_coverage(reruns)


def test_the_rerun_resumes_and_never_trades_more_than_the_plan(
        reruns: list[dict[str, Any]]) -> None:
    check_resumed_within_the_plan(reruns)


def test_nothing_is_left_working_at_the_exchange(reruns: list[dict[str, Any]]) -> None:
    assert [(o["seed"], o["working_at_venue"]) for o in reruns if o["working_at_venue"]] \
        == []


def test_the_journal_equals_the_exchange_ledger(reruns: list[dict[str, Any]]) -> None:
    assert [(o["seed"], o["mismatch"]) for o in reruns if o["mismatch"]] == []
    assert [o["seed"] for o in reruns if o["duplicate_client_ids"]] == []
    assert [o["seed"] for o in reruns if o["banned"]] == []
