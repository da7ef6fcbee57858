"""`venuekit account`, `venuekit positions` and `venuekit fills` on the mock, as a user
runs them after trading from the command line."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from venuekit.cli import main
from venuekit.plugins import reset_default_host

D = Decimal


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # journal and mock state live under ./.venuekit
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)
    reset_default_host()


def venuekit(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def as_json(*args: str) -> Any:
    return json.loads(venuekit(*args, "--json"))


def test_nothing_traded_yet() -> None:
    assert "No fills match." in venuekit("fills")
    assert as_json("fills") == {"fills": []}
    assert as_json("positions") == {"positions": []}
    account = as_json("account")["mock"]
    assert (account["cash"], account["positions"]) == ("100000", [])


def test_after_trading_positions_fills_and_the_account_agree() -> None:
    bought = as_json("order", "buy", "AAPL", "10")
    sold = as_json("order", "sell", "AAPL", "4", "--limit", "1")  # marketable: at the bid
    as_json("order", "buy", "MSFT", "2")

    fills = as_json("fills")["fills"]
    assert [(f["venue"], f["symbol"], f["side"], f["quantity"]) for f in fills] == [
        ("mock", "AAPL", "buy", "10"), ("mock", "AAPL", "sell", "4"),
        ("mock", "MSFT", "buy", "2")]
    assert all(isinstance(f["price"], str) for f in fills)
    assert [f["symbol"] for f in as_json("fills", "--symbol", "MSFT")["fills"]] == ["MSFT"]
    assert as_json("fills", "--since", fills[2]["at"])["fills"] == fills[2:]
    assert as_json("fills", "--venue", "elsewhere")["fills"] == []

    lines = {line["symbol"]: line for line in as_json("positions")["positions"]}
    aapl = lines["AAPL"]
    buy_price, sell_price = D(bought["average_price"]), D(sold["average_price"])
    assert D(aapl["quantity"]) == 6 and D(aapl["average_cost"]) == buy_price
    assert D(aapl["realized_pnl"]) == (sell_price - buy_price) * 4
    assert D(aapl["unrealized_pnl"]) == (D(aapl["mark"]) - buy_price) * 6
    assert (aapl["venue_quantity"], aapl["difference"], aapl["note"]) == ("6", "0", None)
    assert [line["symbol"] for line in as_json("positions", "--symbol", "MSFT")["positions"]] \
        == ["MSFT"]
    table = venuekit("positions")
    assert "AAPL" in table and "MSFT" in table and "realized" in table

    account = as_json("account", "--venue", "mock")["mock"]
    held = {p["symbol"]: p["quantity"] for p in account["positions"]}
    assert held == {"AAPL": "6", "MSFT": "2"}
    assert "buying power" in venuekit("account")


def test_a_venue_that_cannot_be_reached_is_named_and_the_command_exits_1() -> None:
    venuekit("order", "buy", "AAPL", "1")
    output = venuekit("positions", "--venue", "mock", "--venue", "nowhere", code=1)
    assert "nowhere could not be reached" in output and "UNKNOWN_VENUE" in output
    assert "AAPL" in output  # the venue that answered is still shown


def test_venue_settings_go_with_a_single_venue() -> None:
    output = venuekit("account", "--venue", "mock", "--venue", "other", "-o", "seed=2", code=2)
    assert "-o applies to a single --venue" in output
    assert as_json("account", "--venue", "mock", "-o", "seed=2")["mock"]["cash"] == "100000"


def test_each_command_explains_itself() -> None:
    for command in ("account", "positions", "fills"):
        text = venuekit(command, "--help")
        assert "--venue" in text and "--json" in text and "Examples:" in text
