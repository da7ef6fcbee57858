"""Every command agrees on which journal it uses and refuses the same damaged ones.

A journal file that is empty, truncated or damaged is refused by ``order``, ``rebalance``,
``recover`` and ``orders`` alike, with JOURNAL_CORRUPT, and left untouched (no command
writes to a journal another cannot read). ``venuekit.toml``'s ``journal`` is honoured by
every command, and the mock's state follows the journal.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.files import flip_byte
from venuekit.cli import main
from venuekit.journal.sqlite import SQLiteJournal

PLAN = {"items": [{"symbol": "AAPL", "action": "BUY", "quantity": "2"}]}
COMMANDS = {
    "order": ["order", "buy", "MSFT", "1"],
    "rebalance": ["rebalance", "plan.json"],
    "recover": ["recover"],
    "orders": ["orders"],
    "runs": ["runs"],
}


@pytest.fixture(autouse=True)
def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)
    (tmp_path / "plan.json").write_text(json.dumps(PLAN), encoding="utf-8")


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()



DAMAGE: dict[str, Callable[[Path], None]] = {
    "zero bytes": lambda path: path.write_bytes(b""),
    "truncated": lambda path: os.truncate(path, path.stat().st_size // 2),
    "header byte flipped": lambda path: flip_byte(path, 5),
    "a page's type flipped": lambda path: flip_byte(path, 4096),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_journal_is_refused_by_every_command_and_left_untouched(
        tmp_path: Path, damage: str) -> None:
    code, output = invoke("order", "buy", "AAPL", "3", "--journal", "books/j.sqlite3")
    assert code == 0, output
    path = tmp_path / "books" / "j.sqlite3"
    with SQLiteJournal(path):  # closing checkpoints everything into the main file
        pass
    for leftover in ("-wal", "-shm"):
        path.with_name(path.name + leftover).unlink(missing_ok=True)
    DAMAGE[damage](path)
    before = digest(path)
    for name, args in COMMANDS.items():
        code, output = invoke(*args, "--journal", str(path))
        assert code == 1, f"{name}: {output}"
        assert "JOURNAL_CORRUPT" in output, f"{name}: {output}"
        assert digest(path) == before, f"{name} changed the file"


def test_every_command_honours_the_journal_in_venuekit_toml(tmp_path: Path) -> None:
    (tmp_path / "venuekit.toml").write_text('journal = "journal.sqlite3"\n')
    code, output = invoke("rebalance", "plan.json", "--json")
    assert code == 0, output
    run_id = json.loads(output)["run_id"]
    assert (tmp_path / "journal.sqlite3").exists()
    assert not (tmp_path / ".venuekit").exists()
    code, output = invoke("orders", "--json")
    assert code == 0, output
    [order] = json.loads(output)["orders"]
    assert order["symbol"] == "AAPL" and order["run_id"] == run_id
    code, output = invoke("runs", "--json")
    assert code == 0 and [r["id"] for r in json.loads(output)["runs"]] == [run_id]
    code, output = invoke("recover", "--json")
    assert code == 0 and json.loads(output)["ok"], output


def test_the_mock_state_follows_the_journal_given(tmp_path: Path) -> None:
    code, output = invoke("order", "buy", "AAPL", "3", "--journal", "elsewhere/j.sqlite3")
    assert code == 0, output
    assert (tmp_path / "elsewhere" / "mock-venue.state").exists()
    assert not (tmp_path / ".venuekit").exists(), "nothing is kept in a fixed place"
    code, output = invoke("recover", "--journal", "elsewhere/j.sqlite3", "--json")
    assert code == 0 and json.loads(output)["ok"], output
    code, output = invoke("quote", "AAPL", "--journal", "elsewhere/j.sqlite3", "--json")
    assert code == 0, output


def test_orders_in_a_fresh_directory_says_there_are_none_yet() -> None:
    code, output = invoke("orders")
    assert code == 0 and "No orders yet" in output
    code, output = invoke("runs")
    assert code == 0 and "No runs yet" in output
