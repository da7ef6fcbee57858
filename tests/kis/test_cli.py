"""`venuekit rebalance --venue kis` of a KRX plan, end to end, as a user runs it: a real
`venuekit emulate kis` process, credentials in the environment, the CLI in processes of
its own. The plan's stocks trade on different tick bands (1, 5, 50, 100 and 500 won),
and the aggressive-limit strategy prices every order on its band's grid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from venuekit.journal.sqlite import SQLiteJournal
from venuekit_kis.krx import band_tick

from ..support.processes import first_line, reap, start_emulate

D = Decimal
START_TIMEOUT = 30.0
RUN_TIMEOUT = 120.0

# The emulator's stocks: 005930 at about 71,000 (tick 100), 000660 at 210,000 (500),
# 035720 at 45,000 (50), 003530 at 3,500 (5), 001510 at 650 (1).
FIRST = {"correlation_id": "krx-1", "items": [
    {"symbol": "005930", "action": "BUY", "quantity": "10"},
    {"symbol": "000660", "action": "BUY", "notional": "2000000"},
    {"symbol": "001510", "action": "BUY", "quantity": "300"},
    {"symbol": "069500", "action": "HOLD"}]}
SECOND = {"correlation_id": "krx-2", "items": [
    {"symbol": "005930", "action": "SELL", "quantity": "4"},
    {"symbol": "035720", "action": "BUY", "quantity": "7"},
    {"symbol": "003530", "action": "BUY", "notional": "500000"}]}
# The pre-trade rules' amounts are in the account's currency: won here. KIS paper's 2
# requests a second would make the run take a minute: the emulator and the venue allow 20.
CONFIG = """journal = "journal.sqlite3"

[validation]
max_order_notional = "50000000"
max_concentration = "none"

[venues.kis]
requests = "20/1"
"""


def _env(settings: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("KIS_") and key not in ("VENUEKIT_JOURNAL", "VENUEKIT_LIVE")}
    return {**env, **settings}


def _venuekit(args: list[str], cwd: Path, env: dict[str, str]
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "venuekit", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=RUN_TIMEOUT)


def _rebalance(plan: dict[str, Any], directory: Path, env: dict[str, str]) -> dict[str, Any]:
    path = directory / f"{plan['correlation_id']}.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    run = _venuekit(["rebalance", str(path), "--venue", "kis", "--strategy",
                     "aggressive-limit", "--timeout", "1", "--json"], directory, env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert env["KIS_APP_SECRET"] not in run.stdout + run.stderr
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def test_a_krx_plan_on_several_tick_bands_runs_against_the_kis_emulator(
        tmp_path: Path) -> None:
    (tmp_path / "venuekit.toml").write_text(CONFIG, encoding="utf-8")
    emulator = start_emulate("kis", "--port", "0", "--json", "-o", "seed=7",
                             "-o", "rate_limit=20", "-o", "token_interval=0")
    try:
        settings: dict[str, str] = json.loads(first_line(emulator, START_TIMEOUT))[
            "client_settings"]
        env = _env(settings)
        # Both runs share one access token: the first caches it (owner-only) under the
        # journal's directory, the second reads it back.
        first, second = (_rebalance(plan, tmp_path, env) for plan in (FIRST, SECOND))
        account = _venuekit(["account", "--venue", "kis", "--json"], tmp_path, env)
        assert account.returncode == 0, account.stderr[-2000:]
        ledger = httpx.get(settings["KIS_BASE_URL"] + "/_venuekit/ledger", timeout=10,
                           headers={"appkey": settings["KIS_APP_KEY"],
                                    "appsecret": settings["KIS_APP_SECRET"]}).json()
        assert ledger["tokens_issued"] == 1, "three commands, one access token"
        cached = list((tmp_path / "kis-tokens").iterdir())
        assert len(cached) == 1 and cached[0].stat().st_mode & 0o077 == 0
        emulator.send_signal(signal.SIGTERM)
        assert emulator.wait(timeout=15) == 0
    finally:
        reap(emulator)

    for report in (first, second):
        assert report["venue"] == "kis" and report["complete"] is True, report
        assert {line["currency"] for line in report["positions"]} == {"KRW"}
    filled = {item["symbol"]: D(item["filled_quantity"]) for item in first["items"]}
    assert filled == {"005930": 10, "000660": filled["000660"], "001510": 300, "069500": 0}
    assert 5 <= filled["000660"] <= 10  # 2,000,000 won at about 210,000 a share
    assert D(first["items"][1]["executed_notional"]) <= D("2000000")
    sell, bought, sized = second["items"]
    assert [sell["action"], bought["action"], sized["action"]] == ["SELL", "BUY", "BUY"]
    assert sell["finished_at"] <= bought["started_at"], "the buys waited for the sell"
    assert (D(sell["filled_quantity"]), D(bought["filled_quantity"])) == (4, 7)
    assert D(sized["executed_notional"]) <= D("500000")

    # Every limit price the strategy sent is on its band's tick; quantities are whole.
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        orders = journal.orders(venue="kis")
    priced = [o for o in orders if o.limit_price is not None]
    assert len({band_tick(o.limit_price) for o in priced}) >= 4, "several bands traded"
    for order in priced:
        assert order.limit_price % band_tick(order.limit_price) == 0, order
        assert order.quantity == order.quantity.to_integral_value(), order
    held = {line["symbol"]: D(line["quantity"])
            for line in json.loads(account.stdout)["kis"]["positions"]}
    assert held["005930"] == 6 and held["035720"] == 7 and held["001510"] == 300
