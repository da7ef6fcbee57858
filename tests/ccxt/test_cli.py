"""`venuekit emulate binance` and `venuekit rebalance --venue binance` as a user runs them:
real processes, credentials in the environment; and the same crypto plan on the mock venue,
which must behave alike."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from venuekit.cli import main

from ..support.processes import first_line, reap, start_emulate

D = Decimal
START_TIMEOUT = 30.0
RUN_TIMEOUT = 90.0

FIRST = {"correlation_id": "crypto-1", "items": [
    {"symbol": "BTC/USDT", "action": "BUY", "notional": "2000"},
    {"symbol": "ETH/USDT", "action": "BUY", "quantity": "0.5"},
    {"symbol": "SOL/USDT", "action": "HOLD"}]}
SECOND = {"correlation_id": "crypto-2", "items": [
    {"symbol": "ETH/USDT", "action": "SELL", "quantity": "0.2"},
    {"symbol": "SOL/USDT", "action": "BUY", "notional": "300"}]}

# The mock venue configured as the emulator's market: the same pairs, filters, prices and
# seed, and Binance's default commission (10 bps; the mock charges it in USDT).
MOCK_CONFIG = """journal = "journal.sqlite3"

[venues.mock]
seed = 5
cash = "100000"
currency = "USDT"
commission = { model = "percentage", bps = "10" }
"""
PAIRS = {"BTC": ("60000", "0.00001", "5"), "ETH": ("3000", "0.0001", "80"),
         "SOL": ("150", "0.001", "2000")}


def _mock_config() -> str:
    text = MOCK_CONFIG
    for base, (price, lot, size) in PAIRS.items():
        text += (f'\n[venues.mock.symbols."{base}/USDT"]\nprice = "{price}"\n'
                 f'tick_size = "0.01"\nlot_size = "{lot}"\nmin_quantity = "{lot}"\n'
                 f'min_notional = "5"\nfractional = true\ncurrency = "USDT"\n'
                 f'base_currency = "{base}"\nsize = "{size}"\n')
    return text


def _clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("BINANCE_") and key not in ("VENUEKIT_JOURNAL",
                                                            "VENUEKIT_LIVE")}
    return {**env, **extra}


def _venuekit(args: list[str], cwd: Path, env: dict[str, str]
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "venuekit", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=RUN_TIMEOUT)


def _start_emulator() -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = start_emulate("binance", "--port", "0", "--json", "-o", "seed=5",
                            "-o", "tick_interval=none")
    try:
        info: dict[str, Any] = json.loads(first_line(process, START_TIMEOUT))
    except BaseException:
        reap(process)
        raise
    return process, info["client_settings"]


def _rebalance(plan: dict[str, Any], directory: Path, env: dict[str, str],
               *venue: str) -> dict[str, Any]:
    path = directory / f"{plan['correlation_id']}.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    run = _venuekit(["rebalance", str(path), *venue, "--json"], directory, env)
    assert run.returncode == 0, run.stderr[-3000:]
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def _behaviour(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What must be alike on every venue: per item, the status, the quantity filled, the
    price, and the fee in the quote asset (to the cent: the mock rounds its commission to
    cents, Binance charges eight decimals)."""
    return [(item["symbol"], item["action"], item["status"], D(item["filled_quantity"]),
             item["average_price"] and D(item["average_price"]),
             D(item["fees"]).quantize(D("0.01")),
             item["other_fees"], len(item["orders"])) for item in report["items"]]


def test_emulate_binance_serves_the_plugin_then_stops_on_sigterm(tmp_path: Path) -> None:
    emulator, settings = _start_emulator()
    try:
        assert settings["BINANCE_BASE_URL"].startswith("http://127.0.0.1:")
        env = _clean_env(**settings)
        quote = _venuekit(["quote", "BTC/USDT", "--venue", "binance", "--json"], tmp_path,
                          env)
        assert quote.returncode == 0, quote.stderr[-2000:]
        line = json.loads(quote.stdout)
        assert line["symbol"] == "BTC/USDT"
        assert D(line["bid"]) < D(line["ask"]) and D("50000") < D(line["bid"]) < D("70000")
        account = _venuekit(["account", "--venue", "binance", "--json"], tmp_path, env)
        assert account.returncode == 0, account.stderr[-2000:]
        assert json.loads(account.stdout)["binance"] | {"positions": []} == {
            "currency": "USDT", "cash": "100000", "buying_power": "100000", "positions": []}
        assert settings["BINANCE_API_SECRET"] not in quote.stdout + quote.stderr + \
            account.stdout + account.stderr
        emulator.send_signal(signal.SIGTERM)
        assert emulator.wait(timeout=15) == 0
    finally:
        reap(emulator)


def test_emulate_binance_refuses_bad_options_with_exit_code_2() -> None:
    runner = CliRunner()
    unknown = runner.invoke(main, ["emulate", "binance", "-o", "colour=blue"])
    assert unknown.exit_code == 2 and "colour" in unknown.output
    fee = runner.invoke(main, ["emulate", "binance", "-o", "commission_asset=DOGE"])
    assert fee.exit_code == 2 and "commission_asset" in fee.output


def test_a_crypto_plan_runs_alike_on_the_binance_emulator_and_on_the_mock(
        tmp_path: Path) -> None:
    on_binance, on_mock = tmp_path / "binance", tmp_path / "mock"
    on_binance.mkdir()
    on_mock.mkdir()
    (on_mock / "venuekit.toml").write_text(_mock_config(), encoding="utf-8")
    emulator, settings = _start_emulator()
    try:
        env = _clean_env(**settings)
        reports = {"binance": [], "mock": []}
        for plan in (FIRST, SECOND):  # buys; then SELL -> settle -> BUY
            reports["binance"].append(_rebalance(
                plan, on_binance, env, "--venue", "binance", "--journal",
                str(on_binance / "journal.sqlite3")))
            reports["mock"].append(_rebalance(plan, on_mock, _clean_env()))
        emulator.send_signal(signal.SIGTERM)
        assert emulator.wait(timeout=15) == 0
    finally:
        reap(emulator)
    for binance, mock in zip(reports["binance"], reports["mock"], strict=True):
        assert (binance["venue"], mock["venue"]) == ("binance", "mock")
        assert binance["complete"] is mock["complete"] is True
        assert _behaviour(binance) == _behaviour(mock)
        for phase in ("sell", "buy"):
            ours, theirs = binance["phases"][phase], mock["phases"][phase]
            for key in ("items", "completed", "success_rate", "planned_notional",
                        "other_fees"):
                assert ours[key] == theirs[key], (phase, key)
            for key in ("executed_notional", "fees"):
                assert D(ours[key]).quantize(D("0.01")) == D(theirs[key]).quantize(
                    D("0.01")), (phase, key)
        # Figures in the quote asset: the positions' P&L and fees are in USDT everywhere.
        for report in (binance, mock):
            assert {line["currency"] for line in report["positions"]} == {"USDT"}
    first, second = reports["binance"]
    items = {item["symbol"]: item for item in first["items"]}
    assert D(items["ETH/USDT"]["filled_quantity"]) == D("0.5")
    assert D(items["BTC/USDT"]["executed_notional"]) <= 2000
    # 10 bps, in USDT: Binance takes a buy's fee in the asset bought, valued at its price.
    assert D(items["BTC/USDT"]["fees"]) == D(items["BTC/USDT"]["executed_notional"]) / 1000
    assert D(first["phases"]["buy"]["fees"]).quantize(D("0.01")) == D("3.50")
    # The fee taken in ETH is held no longer on Binance; the mock charged USDT instead.
    held = {venue: {line["symbol"]: D(line["quantity"])
                    for line in reports[venue][1]["positions"]} for venue in reports}
    assert held["mock"]["ETH/USDT"] == D("0.3")
    assert held["binance"]["ETH/USDT"] == D("0.3") - D("0.0005")
    assert [item["action"] for item in second["items"]] == ["SELL", "BUY"]
    sell, buy = second["items"]
    assert sell["finished_at"] <= buy["started_at"], "the buy waited for the sell to settle"
