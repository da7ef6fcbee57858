"""``venuekit rebalance PLAN --venue alpaca`` against ``venuekit emulate alpaca``: two real
processes, as a user runs them (credentials in the environment, the URL as an option)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..support.processes import first_line, reap, start_emulate

START_TIMEOUT = 30.0
RUN_TIMEOUT = 90.0


def _start_emulator() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = start_emulate("alpaca", "--port", "0", "--json", "-o", "seed=11",
                            "-o", "cash=50000")
    try:
        return process, json.loads(first_line(process, START_TIMEOUT))
    except BaseException:
        reap(process)
        raise


def _ledger(settings: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(
        settings["APCA_API_BASE_URL"] + "/_venuekit/ledger",
        headers={"APCA-API-KEY-ID": settings["APCA_API_KEY_ID"],
                 "APCA-API-SECRET-KEY": settings["APCA_API_SECRET_KEY"]})
    with urllib.request.urlopen(request, timeout=10) as answer:
        body: dict[str, Any] = json.loads(answer.read())
    return body.get("ledger", body)


def test_rebalance_on_the_alpaca_emulator(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"correlation_id": "alpaca-e2e", "items": [
        {"symbol": "AAPL", "action": "BUY", "notional": "2000"},
        {"symbol": "MSFT", "action": "BUY", "quantity": "3"},
        {"symbol": "SPY", "action": "HOLD"},
    ]}))
    emulator, info = _start_emulator()
    try:
        settings = info["client_settings"]
        env = {**os.environ, "APCA_API_KEY_ID": settings["APCA_API_KEY_ID"],
               "APCA_API_SECRET_KEY": settings["APCA_API_SECRET_KEY"]}
        for name in ("APCA_API_BASE_URL", "APCA_API_DATA_URL", "APCA_API_STREAM_URL",
                     "VENUEKIT_LIVE"):
            env.pop(name, None)
        run = subprocess.run(
            [sys.executable, "-m", "venuekit", "rebalance", str(plan), "--venue", "alpaca",
             "-o", f"base_url={settings['APCA_API_BASE_URL']}",
             "--journal", str(tmp_path / "journal.sqlite3"), "--json"],
            capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT)
        assert run.returncode == 0, run.stderr[-2000:]
        report = json.loads(run.stdout)
        assert settings["APCA_API_SECRET_KEY"] not in run.stdout + run.stderr
        items = {item["symbol"]: item for item in report["items"]}
        assert set(items) == {"AAPL", "MSFT", "SPY"}
        for symbol in ("AAPL", "MSFT"):
            assert items[symbol]["status"] == "completed", items[symbol]
        assert Decimal(items["MSFT"]["filled_quantity"]) == 3
        assert 0 < Decimal(items["AAPL"]["filled_quantity"]) < 100  # $2000 of a ~$190 share
        truth = _ledger(settings)
        placed = {o["symbol"]: o for o in truth["orders"]}
        assert set(placed) == {"AAPL", "MSFT"}, "one order per traded item, none for HOLD"
        assert Decimal(placed["MSFT"]["qty"]) == 3
        assert truth["duplicate_client_order_ids"] == {}
        emulator.send_signal(signal.SIGTERM)
        assert emulator.wait(timeout=15) == 0
    finally:
        reap(emulator)


def test_a_plan_across_the_mock_and_the_alpaca_emulator_from_the_command_line(
        tmp_path: Path) -> None:
    plan = tmp_path / "across.json"
    plan.write_text(json.dumps({"correlation_id": "across-cli", "items": [
        {"symbol": "SPY", "action": "BUY", "quantity": "2"},  # on --venue: the mock
        {"symbol": "MSFT", "action": "BUY", "quantity": "3", "venue": "alpaca"},
    ]}))
    emulator, info = _start_emulator()
    try:
        settings = info["client_settings"]
        # Each venue's settings from the config file: -o goes with --venue only.
        (tmp_path / "venuekit.toml").write_text(
            'journal = "journal.sqlite3"\n\n[venues.mock]\nseed = 4\n\n[venues.alpaca]\n'
            f'base_url = "{settings["APCA_API_BASE_URL"]}"\n', encoding="utf-8")
        env = {**os.environ, "APCA_API_KEY_ID": settings["APCA_API_KEY_ID"],
               "APCA_API_SECRET_KEY": settings["APCA_API_SECRET_KEY"]}
        for name in ("APCA_API_BASE_URL", "APCA_API_DATA_URL", "APCA_API_STREAM_URL",
                     "VENUEKIT_LIVE", "VENUEKIT_JOURNAL"):
            env.pop(name, None)
        run = subprocess.run([sys.executable, "-m", "venuekit", "rebalance", str(plan),
                              "--json"], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=RUN_TIMEOUT)
        assert run.returncode == 0, run.stderr[-2000:]
        report = json.loads(run.stdout)
        assert set(report["venues"]) == {"mock", "alpaca"} and report["complete"] is True
        for venue, symbol, quantity in (("mock", "SPY", "2"), ("alpaca", "MSFT", "3")):
            [item] = report["venues"][venue]["items"]
            assert (item["symbol"], item["status"], Decimal(item["filled_quantity"])) == (
                symbol, "completed", Decimal(quantity))
            [line] = report["positions"][venue]
            assert (line["symbol"], Decimal(line["quantity"]), Decimal(line["difference"])) \
                == (symbol, Decimal(quantity), 0)
        bought = sum(Decimal(report["venues"][v]["phases"]["buy"]["executed_notional"])
                     for v in ("mock", "alpaca"))
        assert Decimal(report["totals"]["USD"]["bought"]) == bought
        truth = _ledger(settings)
        assert [(o["symbol"], o["qty"]) for o in truth["orders"]] == [("MSFT", "3")]

        table = subprocess.run([sys.executable, "-m", "venuekit", "positions"],
                               capture_output=True, text=True, env=env, cwd=tmp_path,
                               timeout=RUN_TIMEOUT)
        assert table.returncode == 0, table.stderr[-2000:]
        assert "alpaca" in table.stdout and "MSFT" in table.stdout and "SPY" in table.stdout
        assert settings["APCA_API_SECRET_KEY"] not in run.stdout + run.stderr + table.stdout
    finally:
        reap(emulator)
