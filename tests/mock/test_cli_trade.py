"""`venuekit quote` and `venuekit order` on the mock, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from venuekit.cli import main
from venuekit.plugins import reset_default_host


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # journal and mock state live under ./.venuekit
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)
    reset_default_host()


def test_quote_prints_decimal_strings() -> None:
    result = CliRunner().invoke(main, ["quote", "AAPL", "--json"])
    assert result.exit_code == 0, result.output
    quote = json.loads(result.output)
    assert quote["symbol"] == "AAPL"
    assert isinstance(quote["bid"], str) and "." in quote["bid"]


def test_market_order_fills_and_is_journaled() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["order", "buy", "AAPL", "10", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["state"] == "filled" and data["filled_quantity"] == "10"
    listed = json.loads(runner.invoke(main, ["orders", "--json"]).output)["orders"]
    assert [o["id"] for o in listed] == [data["order_id"]]
    assert Path(".venuekit/journal.sqlite3").exists()


def test_an_order_the_venue_refuses_exits_1_with_the_reason() -> None:
    result = CliRunner().invoke(main, ["order", "sell", "MSFT", "5", "--limit", "999",
                                       "--skip-checks", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["state"] == "rejected"
    assert data["reason"].startswith("INSUFFICIENT_POSITION")


def test_an_order_the_pre_trade_checks_refuse_exits_2_with_the_reason() -> None:
    result = CliRunner().invoke(main, ["order", "sell", "MSFT", "5", "--limit", "999",
                                       "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "INSUFFICIENT_POSITION" and "--skip-checks" in error["action"]


def test_a_limit_order_that_does_not_fill_times_out() -> None:
    result = CliRunner().invoke(main, ["order", "buy", "MSFT", "1", "--limit", "1.00",
                                       "--timeout", "0.3", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["state"] == "timeout"


def test_bad_input_exits_2_and_says_what_to_fix() -> None:
    runner = CliRunner()
    bad_quantity = runner.invoke(main, ["order", "buy", "AAPL", "ten"])
    assert bad_quantity.exit_code == 2 and "not a decimal number" in bad_quantity.output
    unknown = runner.invoke(main, ["order", "buy", "NOPE", "1"])
    assert unknown.exit_code == 2 and "UNKNOWN_SYMBOL" in unknown.output
    venue = runner.invoke(main, ["quote", "AAPL", "--venue", "nowhere"])
    assert venue.exit_code == 2 and "UNKNOWN_VENUE" in venue.output


def test_json_errors_are_json_on_stdout_with_the_same_exit_code(tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(main, ["quote", "ZZZZ", "--json"])
    assert unknown.exit_code == 2
    error = json.loads(unknown.stdout)["error"]
    assert (error["code"], error["category"]) == ("UNKNOWN_SYMBOL", "validation")
    assert "ZZZZ" in error["message"] and error["action"]

    plan = tmp_path / "malformed.json"
    plan.write_text("{", encoding="utf-8")
    refused = runner.invoke(main, ["rebalance", str(plan), "--json"])
    assert refused.exit_code == 2
    error = json.loads(refused.stdout)["error"]
    assert error["code"] == "INVALID_PLAN"
    assert [p["location"] for p in error["problems"]] == ["line 1 column 2"]


def test_orders_in_a_fresh_directory_say_there_are_none_yet() -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["orders", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == {"orders": []}
    plain = runner.invoke(main, ["orders"])
    assert plain.exit_code == 0 and "No orders yet" in plain.stdout


def test_an_order_ended_by_its_timeout_says_so() -> None:
    result = CliRunner().invoke(main, ["order", "buy", "MSFT", "1", "--limit", "1.00",
                                       "--timeout", "0.3", "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["state"] == "timeout"
    assert data["reason"].startswith("its deadline passed"), data["reason"]
