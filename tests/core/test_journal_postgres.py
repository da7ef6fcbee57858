"""The PostgreSQL journal's own promises: several writers on one book, fencing, takeover."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from venuekit.errors import Code, JournalError
from venuekit.journal import JournalURL, PostgresJournal, open_journal
from venuekit.lifecycle import EventKind, apply
from venuekit.settings import load_settings

from .journal_support import AT_EXIT_THREADS, RULES, limit, step


@pytest.fixture
def writers(postgres_url: str) -> Iterator[list[PostgresJournal]]:
    opened: list[PostgresJournal] = []
    yield opened
    for journal in opened:
        journal.close()


def writer(url: str, opened: list[PostgresJournal], **options: Any) -> PostgresJournal:
    journal = open_journal(url, **options)
    assert isinstance(journal, PostgresJournal)
    opened.append(journal)
    return journal


def kill_lease(url: str, journal: PostgresJournal) -> None:
    """End ``journal``'s lease session, as the server does when its process dies."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(backend_pid, 5000) FROM writers "
                     "WHERE id = %s", (journal.writer_id,))  # waits for it to end


def test_two_writers_never_hand_out_the_same_id(postgres_url: str,
                                                writers: list[PostgresJournal]) -> None:
    first, second = writer(postgres_url, writers), writer(postgres_url, writers)
    ids: list[str] = []
    lock = threading.Lock()

    def create(journal: PostgresJournal) -> None:
        made = [journal.create_order("mock", limit(), id_rules=RULES, submitted=True).id
                for _ in range(200)]
        with lock:
            ids.extend(made)

    threads = [threading.Thread(target=create, args=(j,)) for j in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == len(set(ids)) == 400
    with open_journal(postgres_url, readonly=True) as reader:
        assert len(reader.orders()) == 400  # a reader sees the whole book
    assert len(first.open_orders()) == len(second.open_orders()) == 200  # each its own


class _Interleaved:
    """A lease connection that lets ``between`` run just before the lease lock is taken."""

    def __init__(self, conn: psycopg.Connection[Any], between: Any) -> None:
        self.conn, self.between = conn, between

    def execute(self, sql: str, params: Any = None) -> Any:
        if "pg_advisory_lock" in sql:
            self.between()
        return self.conn.execute(sql, params)


def test_a_writer_opening_while_another_adopts_is_not_taken_for_dead(
        postgres_url: str, writers: list[PostgresJournal]) -> None:
    """Processes that open at once each adopt what dead writers left: one still
    registering (its row written, its lock not yet taken) must not look dead to them."""
    from venuekit.journal import postgres_writers

    survivor = writer(postgres_url, writers)
    adopted: list[str] = []
    with psycopg.connect(postgres_url, autocommit=True) as lease_conn:
        writer_id, epoch = postgres_writers.register(
            _Interleaved(lease_conn, lambda: adopted.extend(survivor.adopt(["mock"]))),
            0, "host", 1, ["mock"])
        assert adopted == []
        assert postgres_writers.standing(lease_conn, writer_id, epoch) is None
        with psycopg.connect(postgres_url, autocommit=True) as other:  # and it holds the lock
            assert other.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                 (postgres_writers.LOCK_NAMESPACE, writer_id)
                                 ).fetchone()[0] is False


def test_a_writer_taken_over_is_fenced_and_writes_nothing(postgres_url: str,
                                                          writers: list[PostgresJournal],
                                                          ) -> None:
    dead = writer(postgres_url, writers)
    order = dead.create_order("mock", limit(), id_rules=RULES)
    step(dead, order, EventKind.SUBMIT)
    survivor = writer(postgres_url, writers)
    kill_lease(postgres_url, dead)
    assert survivor.adopt(["mock"]) == [order.id]
    with pytest.raises(JournalError) as raised:
        dead.create_order("mock", limit(), id_rules=RULES)
    assert raised.value.code is Code.JOURNAL_FENCED
    with pytest.raises(JournalError) as raised:
        dead.append(order, apply(order, EventKind.ACK).event)  # type: ignore[arg-type]
    assert raised.value.code is Code.JOURNAL_FENCED
    with open_journal(postgres_url, readonly=True) as reader:
        assert len(reader.orders()) == 1
        stored = reader.get(order.id)
        assert stored is not None and len(stored.history) == 2  # NEW, SUBMIT: no ACK
    assert [o.id for o in survivor.open_orders("mock")] == [order.id]


def test_a_writer_fenced_by_epoch_alone_is_refused_in_sql(
        postgres_url: str, writers: list[PostgresJournal]) -> None:
    journal = writer(postgres_url, writers)
    order = journal.create_order("mock", limit(), id_rules=RULES)
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # its lease held
        conn.execute("UPDATE writers SET epoch = epoch + 1 WHERE id = %s",
                     (journal.writer_id,))
    for attempt in (lambda: journal.create_order("mock", limit(), id_rules=RULES),
                    lambda: step(journal, order, EventKind.SUBMIT)):
        with pytest.raises(JournalError) as raised:
            attempt()
        assert raised.value.code is Code.JOURNAL_FENCED
        assert "taken over" in raised.value.message


def test_adopt_takes_only_the_dead_writers_open_orders_on_my_venues(
        postgres_url: str, writers: list[PostgresJournal]) -> None:
    dead = writer(postgres_url, writers)
    alive = writer(postgres_url, writers)
    mine = dead.create_order("mock", limit(), id_rules=RULES, submitted=True)
    elsewhere = dead.create_order("other", limit(), id_rules=RULES, submitted=True)
    done = dead.create_order("mock", limit(), id_rules=RULES)
    step(dead, done, EventKind.SUBMIT, EventKind.ACK, EventKind.CANCELLED)
    untouched = alive.create_order("mock", limit(), id_rules=RULES)
    survivor = writer(postgres_url, writers)
    kill_lease(postgres_url, dead)
    assert survivor.adopt(["mock"]) == [mine.id]
    assert [o.id for o in survivor.open_orders()] == [mine.id]
    assert [o.id for o in alive.open_orders()] == [untouched.id]  # a live writer keeps its own
    # The order on a venue the survivor does not serve waits for a writer that does.
    other = writer(postgres_url, writers)
    assert other.adopt(["other"]) == [elsewhere.id]


def test_concurrent_claims_of_orphans_are_disjoint(postgres_url: str,
                                                   writers: list[PostgresJournal]) -> None:
    gone = writer(postgres_url, writers)
    created = {gone.create_order("mock", limit(), id_rules=RULES).id for _ in range(300)}
    gone.close()  # retired: its open orders are anybody's on their venue
    claimers = [writer(postgres_url, writers) for _ in range(3)]
    claimed: list[list[str]] = [[] for _ in claimers]

    def claim(i: int) -> None:
        claimed[i] = claimers[i].adopt(["mock"])

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(claimers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [order_id for part in claimed for order_id in part]
    assert len(everything) == len(set(everything))  # nobody claimed an order twice
    assert set(everything) == created


def test_a_url_password_is_never_shown(postgres_url: str) -> None:
    url = postgres_url.replace("postgres@", "postgres:hunter2@")
    with open_journal(url) as journal:
        assert "hunter2" not in repr(journal) and "hunter2" not in journal.url
    settings = load_settings(journal=url)
    assert isinstance(settings.journal, JournalURL)
    assert "hunter2" not in f"{settings.journal} {settings.journal!r}"
    assert settings.journal.reveal() == url


def test_a_missing_database_is_a_journal_error(postgres_url: str) -> None:
    with pytest.raises(JournalError) as raised:
        open_journal(postgres_url.replace("/t", "/missing_t", 1))
    assert raised.value.code is Code.JOURNAL_ERROR


def test_a_batch_that_meets_the_fence_keeps_nothing(postgres_url: str,
                                                    writers: list[PostgresJournal]) -> None:
    journal = writer(postgres_url, writers)
    other = writer(postgres_url, writers)
    with pytest.raises(JournalError) as raised, other.batch():
        other.create_order("mock", limit(), id_rules=RULES, submitted=True)
        # Another writer's batch holds its own writer row; fencing this one needs no wait.
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("UPDATE writers SET live = false WHERE id = %s", (journal.writer_id,))
        with pytest.raises(JournalError) as first, journal.batch():
            journal.create_order("mock", limit(), id_rules=RULES, submitted=True)
        assert first.value.code is Code.JOURNAL_FENCED
        with pytest.raises(JournalError):
            journal.create_order("mock", limit(), id_rules=RULES, submitted=True)
        raise first.value
    assert raised.value.code is Code.JOURNAL_FENCED  # the engine then sends none of them
    with open_journal(postgres_url, readonly=True) as reader:
        assert [o.venue for o in reader.orders()] == ["mock"]  # the other writer's only


def test_a_script_that_never_closes_its_journal_exits_without_its_lease_thread(
        postgres_url: str) -> None:
    """A script that exits with a PostgreSQL journal open has its heartbeat thread stopped
    before the interpreter finalizes; the lease then ends with the process's session."""
    done = subprocess.run([sys.executable, "-c", AT_EXIT_THREADS, postgres_url],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "running: venuekit-lease-" in done.stdout
    assert "alive at exit: \n" in done.stdout, done.stdout
