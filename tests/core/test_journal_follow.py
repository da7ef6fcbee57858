"""Following the whole book: NOTIFY after commit (coalesced), and the followers."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from venuekit.errors import Code, VenueKitError
from venuekit.journal import PostgresJournal, open_journal
from venuekit.journal.base import Journal
from venuekit.journal.postgres_notify import CHANNEL

from .journal_support import RULES, limit


def test_follower_sees_another_writers_orders(postgres_url: str) -> None:
    with open_journal(postgres_url) as book, open_journal(postgres_url, readonly=True) as reader:
        follower = reader.follow()
        try:
            made = [book.create_order("mock", limit(), id_rules=RULES, submitted=True).id
                    for _ in range(3)]
            start = time.monotonic()
            seen: list[str] = []
            while len(seen) < 3 and time.monotonic() - start < 5:
                seen += follower.changes(timeout=5)
            assert seen == made
            assert time.monotonic() - start < 1  # woken by the notice, not the timeout
            assert follower.notices >= 1
            assert follower.changes(timeout=0.2) == []  # nothing twice
        finally:
            follower.close()


def test_sqlite_follower_polls(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with open_journal(path) as book:
        book.create_order("mock", limit(), id_rules=RULES, submitted=True)  # before: not shown
        follower = book.follow()
        assert follower.changes(timeout=0) == []
        made = book.create_order("mock", limit(), id_rules=RULES, submitted=True)
        assert follower.changes(timeout=1) == [made.id]
        assert follower.changes(timeout=0.3) == []
        follower.close()


def test_sqlite_follower_of_an_empty_journal(tmp_path: Path) -> None:
    with open_journal(tmp_path / "journal.db") as book:
        follower = book.follow()
        made = book.create_order("mock", limit(), id_rules=RULES)
        assert follower.changes(timeout=1) == [made.id]


def test_notice_only_after_the_commit_and_outside_the_orders_transaction(
        postgres_url: str) -> None:
    with open_journal(postgres_url) as book, \
            psycopg.connect(postgres_url, autocommit=True) as listener:
        assert isinstance(book, PostgresJournal)
        notifier = book._notifier
        assert notifier is not None
        # Sent on the lease connection: never on the one holding an order's transaction.
        assert notifier._conn is book._lease_conn and notifier._conn is not book._conn
        listener.execute(f"LISTEN {CHANNEL}")
        with book.batch():
            book.create_order("mock", limit(), id_rules=RULES, submitted=True)
            time.sleep(0.2)  # the coalescing interval has long passed: still nothing
            assert list(listener.notifies(timeout=0.3)) == []
        start = time.monotonic()
        notices = list(listener.notifies(timeout=2, stop_after=1))
        assert [(n.channel, n.payload) for n in notices] == [(CHANNEL, "mock")]
        assert time.monotonic() - start < 1


def test_a_burst_is_coalesced_and_nothing_is_lost(postgres_url: str) -> None:
    with open_journal(postgres_url) as book, open_journal(postgres_url, readonly=True) as reader:
        assert isinstance(book, PostgresJournal) and book._notifier is not None
        follower = reader.follow()
        try:
            made = [book.create_order("mock", limit(), id_rules=RULES, submitted=True).id
                    for _ in range(300)]
            seen: list[str] = []
            deadline = time.monotonic() + 10
            while set(seen) != set(made) and time.monotonic() < deadline:
                seen += follower.changes(timeout=1)
            assert sorted(seen) == sorted(made)  # each once, none lost
            time.sleep(0.2)
            assert 1 <= book._notifier.sent < 300  # one notice per ~50 ms, not per order
        finally:
            follower.close()


def test_a_backend_without_a_follower_refuses_with_a_typed_error(tmp_path: Path) -> None:
    with open_journal(tmp_path / "j.sqlite3") as journal, \
            pytest.raises(VenueKitError) as refused:
        Journal.follow(journal)  # the interface's default, for a backend with none
    assert refused.value.code is Code.CAPABILITY_NOT_SUPPORTED
    assert "venuekit orders" in refused.value.message
