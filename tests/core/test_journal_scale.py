"""What must not grow with the journal: opening it, and reading its open orders.

A journal of a million orders is too large for a test; what made opening and listing grow
with it is cheap to catch on a small one. The open checks the whole file (``quick_check``,
a read of every page) unless the file is exactly as its last writer closed it, and a
damaged file is still refused; listing open orders walks the open-orders index, never the
whole table (``benchmarks/recovery_scale.py`` measures both on a million orders).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.files import flip_byte
from venuekit.errors import Code, JournalError
from venuekit.journal import SQLiteJournal, sqlite_file
from venuekit.lifecycle import EventKind
from venuekit.model import OrderRequest, OrderState

from .journal_support import RULES, step

OPEN_STATES = [state for state in OrderState if not state.is_terminal]


def _journal(path: Path, closed: int = 60, working: int = 3) -> list[str]:
    """A journal of ``closed`` filled orders, then ``working`` acknowledged ones (their ids)."""
    request = OrderRequest(symbol="AAPL", side="buy", quantity=Decimal(3))
    ids = []
    with SQLiteJournal(path) as journal, journal.batch():
        for n in range(closed + working):
            order = journal.create_order("mock", request, id_rules=RULES, submitted=True)
            step(journal, order, EventKind.ACK)
            if n < closed:
                step(journal, order, EventKind.CANCEL_REQUEST, EventKind.CANCELLED)
            else:
                ids.append(order.id)
    return ids


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The whole-file checks run by opens from now on (one entry per check)."""
    done: list[str] = []
    real = sqlite_file.quick_check

    def counted(conn: sqlite3.Connection) -> None:
        done.append("quick_check")
        real(conn)

    monkeypatch.setattr(sqlite_file, "quick_check", counted)
    return done


@pytest.mark.parametrize("readonly", [False, True], ids=["writer", "reader"])
def test_a_journal_as_its_writer_closed_it_is_not_read_whole_again(
        tmp_path: Path, checks: list[str], readonly: bool) -> None:
    path = tmp_path / "journal.sqlite3"
    _journal(path)
    checks.clear()  # the new journal's own
    for _ in range(2):
        with SQLiteJournal(path, readonly=readonly) as journal:
            assert len(journal.open_orders()) == 3
    assert checks == []


@pytest.mark.parametrize("readonly", [False, True], ids=["writer", "reader"])
def test_a_page_damaged_right_after_a_clean_close_is_still_refused(
        tmp_path: Path, readonly: bool) -> None:
    """The stamp the writer left no longer matches: the whole file is checked again."""
    path = tmp_path / "journal.sqlite3"
    _journal(path)
    size = int.from_bytes(path.read_bytes()[16:18], "big")
    flip_byte(path, 2 * size)  # the type byte of page 3, at once
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path, readonly=readonly)
    assert raised.value.code is Code.JOURNAL_CORRUPT


_CRASH = textwrap.dedent("""
    import os, sys
    from venuekit.journal import ClientIdRules, SQLiteJournal
    from venuekit.model import OrderRequest

    journal = SQLiteJournal(sys.argv[1])
    journal.create_order("mock", OrderRequest(symbol="AAPL", side="buy", quantity="3"),
                         id_rules=ClientIdRules())
    os._exit(9)  # no close: as a killed process leaves it
""")


def test_after_a_crash_the_whole_file_is_checked(tmp_path: Path, checks: list[str]) -> None:
    path = tmp_path / "journal.sqlite3"
    _journal(path)
    subprocess.run([sys.executable, "-c", _CRASH, str(path)], check=False, timeout=60)
    checks.clear()
    with SQLiteJournal(path) as journal:
        assert len(journal.open_orders()) == 4
    assert checks == ["quick_check"]
    with SQLiteJournal(path, readonly=True):  # closed cleanly since
        pass
    assert checks == ["quick_check"]


def test_a_reader_beside_a_live_writer_trusts_its_check_until_it_dies(
        tmp_path: Path, checks: list[str]) -> None:
    """`venuekit orders` while a bot runs: the bot's journal checked the file at its open,
    and the listing does not read it whole again; once the bot died without closing it,
    a reader checks the whole file."""
    path = tmp_path / "journal.sqlite3"
    _journal(path)
    with SQLiteJournal(path):
        checks.clear()
        with SQLiteJournal(path, readonly=True) as reader:
            assert len(reader.open_orders()) == 3
        assert checks == []
    # The writer's process is gone: a process that wrote the same note, then died.
    subprocess.run([sys.executable, "-c", _CRASH, str(path)], check=False, timeout=60)
    checks.clear()
    with SQLiteJournal(path, readonly=True) as reader:
        assert len(reader.open_orders()) == 4
    assert checks == ["quick_check"]


def _plans(journal: SQLiteJournal, read: str) -> list[str]:
    """The query plan of every read of the orders table that ``read`` makes."""
    statements: list[str] = []
    conn = journal._conn
    conn.set_trace_callback(statements.append)
    try:
        if read == "open orders":
            journal.open_orders()
        elif read == "open orders of a venue":
            journal.open_orders("mock")
        else:
            journal.orders(state=OPEN_STATES, limit=50)
    finally:
        conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")
               and " orders " in s]
    assert selects
    return [detail for sql in selects
            for *_, detail in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]


@pytest.mark.parametrize("read", ["open orders", "open orders of a venue",
                                  "orders --open"])
def test_open_orders_are_found_through_their_index_not_by_reading_every_order(
        tmp_path: Path, read: str) -> None:
    path = tmp_path / "journal.sqlite3"
    working = _journal(path)
    with SQLiteJournal(path, readonly=True) as journal:
        plans = _plans(journal, read)
        found = (journal.orders(state=OPEN_STATES, limit=50) if read == "orders --open"
                 else journal.open_orders())
    assert sorted(o.id for o in found) == sorted(working)
    scans = [p for p in plans if p.startswith("SCAN orders") and "orders_open" not in p]
    assert not scans, plans
    assert any("orders_open" in p for p in plans), plans
