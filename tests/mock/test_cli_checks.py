"""`venuekit order` and `venuekit place` run the pre-trade rules `rebalance` runs, and say
when the instrument's grids round a price or a quantity; as a user meets them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from .cli_subprocess import json_of, venuekit

RICH = ("-o", "cash=1000000")


def test_an_order_over_the_notional_limit_is_refused_with_nothing_journaled(
        tmp_path: Path) -> None:
    refused = venuekit(tmp_path, "order", "buy", "AAPL", "1000", *RICH)
    assert refused.returncode == 2, refused.stderr
    said = " ".join(refused.stderr.split())
    assert "NOTIONAL_LIMIT" in said and "per-order limit 100000" in said
    assert "checked: buying power" in said and "at most 100000 per order" in said
    assert "--skip-checks" in said and "nothing was journaled or sent" in said
    assert json_of(venuekit(tmp_path, "orders", "--json")) == {"orders": []}
    assert json_of(venuekit(tmp_path, "runs", "--json"))["runs"] == []

    as_json = venuekit(tmp_path, "order", "buy", "AAPL", "1000", *RICH, "--json")
    assert as_json.returncode == 2
    error = json_of(as_json)["error"]
    assert error["code"] == "NOTIONAL_LIMIT" and "--skip-checks" in error["action"]
    assert [v["rule"] for v in error["violations"]] == ["notional"]
    assert "at most 100000 per order" in error["checked"]

    sent = venuekit(tmp_path, "order", "buy", "AAPL", "1000", *RICH, "--skip-checks",
                    "--json")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert Decimal(json_of(sent)["filled_quantity"]) == 1000


def test_the_environment_s_rules_apply_to_order_and_place(tmp_path: Path) -> None:
    (tmp_path / "venuekit.toml").write_text(
        '[validation]\nmax_order_notional = "1000000"\n'
        '[validation.tight]\nmax_order_notional = "1000"\n', encoding="utf-8")
    assert venuekit(tmp_path, "order", "buy", "AAPL", "10").returncode == 0
    tight = venuekit(tmp_path, "order", "buy", "AAPL", "10", env={"VENUEKIT_ENV": "tight"})
    assert tight.returncode == 2 and "NOTIONAL_LIMIT" in tight.stderr
    placed = venuekit(tmp_path, "place", "buy", "AAPL", "10", "--limit", "150",
                      "--environment", "tight", "--json")
    assert placed.returncode == 2
    assert json_of(placed)["error"]["code"] == "NOTIONAL_LIMIT"
    assert len(json_of(venuekit(tmp_path, "orders", "--json"))["orders"]) == 1


def test_place_refuses_as_order_does_and_skips_only_when_asked(tmp_path: Path) -> None:
    refused = venuekit(tmp_path, "place", "buy", "AAPL", "1000", "--limit", "150", *RICH)
    assert refused.returncode == 2
    assert "NOTIONAL_LIMIT" in refused.stderr and "--skip-checks" in refused.stderr
    assert json_of(venuekit(tmp_path, "orders", "--json")) == {"orders": []}
    placed = venuekit(tmp_path, "place", "buy", "AAPL", "1000", "--limit", "150", *RICH,
                      "--skip-checks", "--json")
    assert placed.returncode == 0, placed.stderr
    assert json_of(placed)["orders"][0]["state"] == "acknowledged"


def test_a_rounded_limit_and_quantity_are_reported(tmp_path: Path) -> None:
    # NVDA trades whole shares on the mock; its tick is 0.01.
    result = venuekit(tmp_path, "order", "buy", "NVDA", "2.5", "--limit", "800.001",
                      "--timeout", "0.3")
    assert "quantity 2.5 rounded to 2 (lot 1)" in result.stderr
    assert "limit 800.001 rounded to 800.00 (tick 0.01)" in result.stderr
    data = json_of(venuekit(tmp_path, "order", "buy", "NVDA", "2.5", "--limit", "800.001",
                            "--timeout", "0.3", "--json", "--again"))
    assert [(r["field"], r["given"], r["sent"], r["step"]) for r in data["rounded"]] == [
        ("quantity", "2.5", "2", "1"), ("limit_price", "800.001", "800.00", "0.01")]

    placed = venuekit(tmp_path, "place", "buy", "NVDA", "1", "--limit", "800.009", "--json")
    assert placed.returncode == 0, placed.stderr
    [rounded] = json_of(placed)["rounded"]
    assert rounded["message"] == "limit 800.009 rounded to 800.00 (tick 0.01)"
    unrounded = venuekit(tmp_path, "place", "buy", "NVDA", "1", "--limit", "800", "--json")
    assert json_of(unrounded)["rounded"] == []
