"""`venuekit rebalance` on the mock as a user runs it: exit codes, JSON, nothing sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from venuekit.cli import main
from venuekit.plugins import reset_default_host

EXAMPLE = Path(__file__).resolve().parents[2] / "docs/examples/rebalance.json"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)
    reset_default_host()


def write(plan: Any, name: str = "plan.json") -> str:
    Path(name).write_text(plan if isinstance(plan, str) else json.dumps(plan))
    return name


def sent_orders() -> list[Any]:
    if not Path(".venuekit/journal.sqlite3").exists():
        return []
    listed = CliRunner().invoke(main, ["orders", "--json"])
    return list(json.loads(listed.output)["orders"])


def test_the_example_plan_runs_clean_and_writes_its_report() -> None:
    result = CliRunner().invoke(main, ["rebalance", str(EXAMPLE), "--json", "--report",
                                       "out/report.json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["complete"] is True and data["phases"]["buy"]["success_rate"] == "1.0000"
    assert json.loads(Path("out/report.json").read_text()) == data
    assert {o["id"] for o in sent_orders()} == \
        {i["order_id"] for i in data["items"] if i["order_id"]}
    table = CliRunner().invoke(main, ["rebalance", str(EXAMPLE), "--dry-run"])
    assert table.exit_code == 0 and "dry run: nothing was sent" in table.output


@pytest.mark.parametrize(("plan", "locations"), [
    ({"items": [{"symbol": "AAPL", "action": "BUY", "notional": "-1"},
                {"symbol": "MSFT", "action": "BUY", "notional": "0"}]},
     ["items[0].notional", "items[1].notional"]),
    ({"items": [{"symbol": "AAPL", "action": "BUY", "notional": "10"},
                {"symbol": "AAPL", "action": "SELL", "quantity": "1"}]}, ["items[1].symbol"]),
    ({"items": [{"symbol": "SPY", "action": "HOLD", "quantity": "3"}]}, ["items[0]"]),
    ('{"items": [', ["line 1 column 12"]),
    ({"items": [{"symbol": "NOPE", "action": "BUY", "notional": "10"},
                {"symbol": "AAPL", "action": "BUY", "notional": "10"},
                {"symbol": "ZZZ", "action": "HOLD"}]}, ["items[0].symbol", "items[2].symbol"]),
])
def test_an_invalid_plan_lists_every_problem_exits_2_and_sends_nothing(
        plan: Any, locations: list[str]) -> None:
    result = CliRunner().invoke(main, ["rebalance", write(plan)])
    assert result.exit_code == 2, result.output
    assert "INVALID_PLAN" in result.output and "nothing was sent" in result.output
    for location in locations:
        assert f"  {location}: " in result.output
    assert sent_orders() == []


def test_dry_run_sends_nothing() -> None:
    result = CliRunner().invoke(main, ["rebalance", str(EXAMPLE), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["dry_run"] is True
    assert {i["status"] for i in data["items"]} == {"priced", "held"}
    assert sent_orders() == []


def test_an_order_that_cannot_complete_exits_1_and_the_rest_still_run() -> None:
    plan = {"items": [{"symbol": "MSFT", "action": "SELL", "quantity": "5"},
                      {"symbol": "AAPL", "action": "BUY", "notional": "1000"}]}
    result = CliRunner().invoke(main, ["rebalance", write(plan), "--json"])
    assert result.exit_code == 1, result.output
    sell, buy = json.loads(result.output)["items"]
    assert sell["status"] == "refused" and "INSUFFICIENT_POSITION" in sell["note"]
    assert buy["status"] == "completed"
    assert len(sent_orders()) == 1


def test_the_schema_is_printed() -> None:
    result = CliRunner().invoke(main, ["rebalance", "--schema"])
    assert result.exit_code == 0 and json.loads(result.output)["title"] == "Plan"
