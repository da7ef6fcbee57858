"""`venuekit orders`, `orders show` and `recover` against a real journal and the mock."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from venuekit.cli import main
from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest
from venuekit_mock import MockVenue


def trade(journal_path: Path) -> list[str]:
    async def work() -> list[str]:
        with SQLiteJournal(journal_path) as journal:
            engine = Engine(MockVenue(seed=5), journal)
            await engine.start()
            ids = []
            for symbol, side in (("AAPL", "buy"), ("MSFT", "buy"), ("NVDA", "sell")):
                order = await engine.submit(OrderRequest(symbol=symbol, side=side,
                                                         quantity=Decimal(2)))
                ids.append(order.id)
            await engine.close()
            return ids
    return asyncio.run(work())


def test_orders_lists_filters_and_shows_history(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    ids = trade(path)
    runner = CliRunner()
    listed = runner.invoke(main, ["orders", "--journal", str(path), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)["orders"]
    assert [r["id"] for r in rows] == list(reversed(ids))  # newest first
    assert {r["state"] for r in rows} == {"filled", "rejected"}  # no NVDA to sell
    only_msft = json.loads(runner.invoke(main, ["orders", "--journal", str(path), "--symbol",
                                                "MSFT", "--json"]).output)["orders"]
    assert [r["symbol"] for r in only_msft] == ["MSFT"]
    assert isinstance(only_msft[0]["filled_quantity"], str), "Decimals are strings in JSON"
    rejected = json.loads(runner.invoke(main, ["orders", "--journal", str(path), "--state",
                                               "rejected", "--json"]).output)["orders"]
    assert [r["id"] for r in rejected] == [ids[2]]
    assert rejected[0]["reason"].startswith("INSUFFICIENT_POSITION")

    shown = runner.invoke(main, ["orders", "--journal", str(path), "show", ids[0], "--json"])
    detail = json.loads(shown.output)
    assert [h["event"] for h in detail["history"]][:2] == ["new", "submit"]
    assert detail["history"][-1]["state"] == "filled"
    assert len(detail["fills"]) >= 1

    table = runner.invoke(main, ["orders", "--journal", str(path)])
    assert table.exit_code == 0 and ids[0] in table.output
    human = runner.invoke(main, ["orders", "--journal", str(path), "show", ids[0]])
    assert human.exit_code == 0 and "history" in human.output


def test_an_unknown_order_exits_2_and_unusable_journals_1_with_a_reason(
        tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    trade(path)
    runner = CliRunner()
    missing = runner.invoke(main, ["orders", "--journal", str(path), "show", "nope"])
    assert missing.exit_code == 2 and "UNKNOWN_ORDER" in missing.output

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a journal" * 100)
    corrupt = runner.invoke(main, ["orders", "--journal", str(garbage)])
    assert corrupt.exit_code == 1 and "JOURNAL_CORRUPT" in corrupt.output
    assert garbage.read_bytes() == b"this is not a journal" * 100, "nothing was overwritten"

    newer = tmp_path / "newer.sqlite3"
    trade(newer)
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    too_new = runner.invoke(main, ["orders", "--journal", str(newer)])
    assert too_new.exit_code == 1 and "JOURNAL_TOO_NEW" in too_new.output


def test_recover_reports_and_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "j.sqlite3"
    trade(path)
    result = CliRunner().invoke(main, ["recover", "--venue", "mock", "-o", "seed=5",
                                       "--journal", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report == {"venue": "mock", "ok": True, "checked": 0, "changes": [],
                      "working": [], "failed": [], "inferred_fills": 0, "live": [],
                      "orphaned": [], "standalone": [], "held": [], "cancelled": [],
                      "adopted": []}
    assert not (tmp_path / ".venuekit").exists(), "nothing is kept in a fixed place"
