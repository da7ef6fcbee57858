"""`venuekit place` on the mock, as a user runs it: a stop left working, a bracket, and the
input mistakes a user makes, each refused with what to fix."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from venuekit.cli import main
from venuekit.plugins import reset_default_host


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # journal and mock state live under ./.venuekit
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)
    reset_default_host()


def venuekit(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def ask(symbol: str) -> Decimal:
    result = venuekit("quote", symbol, "--json")
    assert result.exit_code == 0, result.output
    return Decimal(json.loads(result.output)["ask"])


def test_a_stop_is_placed_and_left_working() -> None:
    stop = str(ask("AAPL") + 5)
    result = venuekit("place", "buy", "AAPL", "3", "--stop", stop, "--json")
    assert result.exit_code == 0, result.output
    [placed] = json.loads(result.output)["orders"]
    assert (placed["type"], placed["stop_price"], placed["state"]) == (
        "stop", stop, "acknowledged")
    listed = json.loads(venuekit("orders", "--open", "--json").output)["orders"]
    assert [(o["id"], o["stop_price"]) for o in listed] == [(placed["id"], stop)]
    cancelled = venuekit("cancel", placed["id"], "--json")
    assert cancelled.exit_code == 0, cancelled.output


def test_a_bracket_places_its_entry_and_two_exits() -> None:
    price = ask("MSFT")
    result = venuekit("place", "buy", "MSFT", "2", "--take-profit", str(price + 10),
                      "--stop-loss", str(price - 10), "--wait", "1", "--json")
    assert result.exit_code == 0, result.output
    orders = json.loads(result.output)["orders"]
    assert [o["role"] for o in orders] == ["entry", "take-profit", "stop-loss"]
    entry, take_profit, stop_loss = orders
    assert entry["state"] == "filled"
    assert (take_profit["parent"], take_profit["leg"]) == (entry["id"], "take_profit")
    assert take_profit["state"] == "acknowledged"  # placed once the entry filled
    assert (stop_loss["leg"], stop_loss["state"]) == ("stop_loss", "held")


def test_a_crossed_stop_is_refused_with_nothing_sent() -> None:
    result = venuekit("place", "buy", "AAPL", "1", "--stop", str(ask("AAPL") - 1))
    assert result.exit_code == 2, result.output
    assert "STOP_CROSSED" in result.output and "would fire at once" in result.output
    assert json.loads(venuekit("orders", "--json").output)["orders"] == []


@pytest.mark.parametrize(("args", "says"), [
    (["--take-profit", "200"], "needs both --take-profit and --stop-loss"),
    (["--trail", "1", "--trail-percent", "2"], "exactly one of trail_amount or trail_percent"),
    (["--take-profit", "200", "--stop-loss", "100", "--stop", "150"],
     "leave out --stop, --trail and --trail-percent"),
    (["--take-profit", "100", "--stop-loss", "200"], "must lie below its take_profit"),
])
def test_input_mistakes_exit_2_and_say_what_to_fix(args: list[str], says: str) -> None:
    result = venuekit("place", "buy", "AAPL", "1", *args)
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split())


def test_help_reads_well() -> None:
    result = venuekit("place", "--help")
    assert result.exit_code == 0
    assert "leave it working" in result.output and "--trail-percent" in result.output
