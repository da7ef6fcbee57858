"""Rebalance plans: parsing, every problem listed with its location, and the published schema."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from venuekit.errors import Code, ValidationError
from venuekit.rebalance import Action, PlanError, load_plan, parse_plan, plan_schema

ROOT = Path(__file__).resolve().parents[2]


def problems(data: object) -> dict[str, str]:
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    assert caught.value.code is Code.INVALID_PLAN
    assert isinstance(caught.value, ValidationError)
    return {p.location: p.message for p in caught.value.problems}


def test_a_plan_reads_decimals_and_actions() -> None:
    plan = parse_plan({"correlation_id": "q3", "items": [
        {"symbol": "AAPL", "action": "buy", "notional": "1000.50"},
        {"symbol": "F", "action": "SELL", "quantity": 10},
        {"symbol": "SPY", "action": "HOLD"}]})
    assert plan.correlation_id == "q3"
    assert plan.items[0].action is Action.BUY and plan.items[0].notional == Decimal("1000.50")
    assert plan.items[1].quantity == Decimal(10)
    assert [i for i, _ in plan.trades(Action.SELL)] == [1]


def test_every_problem_is_listed_with_its_location() -> None:
    found = problems({"items": [
        {"symbol": "AAPL", "action": "BUY", "notional": "-5"},
        {"symbol": "MSFT", "action": "SELL", "quantity": "0"},
        {"symbol": "SPY", "action": "HOLD", "notional": "100"},
        {"symbol": "AAPL", "action": "BUY", "notional": "10"},
        {"symbol": "TSLA", "action": "BUY"},
        {"symbol": "F", "action": "BUY", "notional": "1", "quantity": "1"}]})
    assert set(found) == {"items[0].notional", "items[1].quantity", "items[2]",
                          "items[3].symbol", "items[4]", "items[5]"}
    assert "greater than 0" in found["items[0].notional"]
    assert "HOLD takes no notional or quantity" in found["items[2]"]
    assert "first at items[0]" in found["items[3].symbol"]
    assert "exactly one of notional or quantity" in found["items[4]"]


def test_floats_are_refused_with_what_to_write_instead() -> None:
    found = problems({"items": [{"symbol": "AAPL", "action": "BUY", "notional": 1000.5}]})
    assert "write the amount as a string" in found["items[0].notional"]


def test_unknown_fields_and_actions_are_problems() -> None:
    found = problems({"items": [{"symbol": "AAPL", "action": "SHORT", "notional": "1",
                                 "price": "3"}], "extra": 1})
    assert set(found) == {"items[0].action", "items[0].price", "extra"}


def test_unknown_symbols_are_located() -> None:
    plan = parse_plan({"items": [{"symbol": "AAPL", "action": "HOLD"},
                                 {"symbol": "NOPE", "action": "HOLD"}]})
    [problem] = plan.unknown_symbols({"AAPL"})
    assert problem.location == "items[1].symbol" and "NOPE" in problem.message


def test_a_malformed_file_says_where(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{"items": [\n  {"symbol": "AAPL",}\n]}')
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    [problem] = caught.value.problems
    assert problem.location == "line 2 column 21" and "not valid JSON" in problem.message
    with pytest.raises(PlanError, match="cannot be read: the file does not exist"):
        load_plan(tmp_path / "missing.json")


def test_yaml_plans_read_like_json(tmp_path: Path) -> None:
    pytest.importorskip("yaml", reason="YAML plans need the extra: pip install 'venuekit[yaml]' "
                        "(tox installs it)")
    path = tmp_path / "plan.yaml"
    path.write_text("items:\n  - {symbol: AAPL, action: BUY, notional: '100'}\n")
    assert load_plan(path).items[0].notional == Decimal(100)


def test_the_published_schema_matches_the_model() -> None:
    published = json.loads((ROOT / "docs/examples/plan.schema.json").read_text())
    assert published == plan_schema(), "regenerate: venuekit rebalance --schema > " \
        "docs/examples/plan.schema.json"


def test_the_example_plan_is_valid() -> None:
    plan = load_plan(ROOT / "docs/examples/rebalance.json")
    assert {item.symbol for item in plan.items} <= {"AAPL", "MSFT", "SPY", "NVDA", "TSLA", "F"}


def test_an_item_may_name_its_venue_and_a_symbol_may_appear_once_per_venue() -> None:
    plan = parse_plan({"items": [
        {"symbol": "AAPL", "action": "SELL", "quantity": "5", "venue": "alpaca"},
        {"symbol": "AAPL", "action": "BUY", "notional": "100", "venue": "mock"},
        {"symbol": "SPY", "action": "HOLD"}]})
    assert plan.venues("mock") == ["alpaca", "mock"]
    east = plan.on("alpaca", "mock")
    assert [(i.symbol, i.venue) for i in east.items] == [("AAPL", None)]
    assert [i.symbol for i in plan.on("mock", "mock").items] == ["AAPL", "SPY"]
    with pytest.raises(PlanError) as unnamed:
        plan.venues()
    assert [p.location for p in unnamed.value.problems] == ["items[2].venue"]
    # The default venue makes SPY's line and a second one for the same venue collide.
    clash = parse_plan({"items": [{"symbol": "SPY", "action": "HOLD"},
                                  {"symbol": "SPY", "action": "HOLD", "venue": "mock"}]})
    with pytest.raises(PlanError) as twice:
        clash.venues("mock")
    assert [p.location for p in twice.value.problems] == ["items[1].symbol"]
    with pytest.raises(PlanError) as same:
        parse_plan({"items": [{"symbol": "F", "action": "HOLD", "venue": "mock"},
                              {"symbol": "F", "action": "HOLD", "venue": "mock"}]})
    assert "appears more than once" in same.value.problems[0].message


def test_a_single_venue_plan_names_no_venue_and_stays_valid() -> None:
    plan = load_plan(ROOT / "docs" / "examples" / "rebalance.json")
    assert {item.venue for item in plan.items} == {None}
    assert plan.venues("mock") == ["mock"] and plan.on("mock", "mock") == plan
