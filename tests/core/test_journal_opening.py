"""Opening the SQLite journal: the write lock, read-only use, bad files, schema evolution
and durability settings.

Every test uses a real journal file in ``tmp_path`` (helpers in ``journal_support``).
"""


from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from venuekit.errors import Code, JournalError
from venuekit.journal import (
    NEW_EVENT,
    Durability,
    SQLiteJournal,
    default_journal_path,
)
from venuekit.journal import sqlite_schema as schema
from venuekit.lifecycle import EventKind, apply
from venuekit.model import OrderState

from .journal_support import (
    RULES,
    assert_same,
    digest,
    limit,
    step,
)

# opening: locks, read-only, bad files ---------------------------------------------------------

_HOLDER = textwrap.dedent("""
    import sys
    from venuekit.journal import ClientIdRules, SQLiteJournal
    from venuekit.model import OrderRequest

    journal = SQLiteJournal(sys.argv[1])
    order = journal.create_order(
        "mock", OrderRequest(symbol="AAPL", side="buy", quantity="3"), id_rules=ClientIdRules())
    print(order.id, flush=True)
    sys.stdin.read()  # hold the journal open until killed
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_second_writer_process_is_locked_out_until_the_first_dies(path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stderr is not None
        order_id = holder.stdout.readline().strip()
        assert order_id, holder.stderr.read()

        with pytest.raises(JournalError) as raised:
            SQLiteJournal(path)
        assert raised.value.code is Code.JOURNAL_LOCKED
        assert f"pid {holder.pid}" in str(raised.value)

        # Listing commands read alongside the writer, and see what it committed.
        with SQLiteJournal(path, readonly=True) as reader:
            stored = reader.get(order_id)
            assert stored is not None and stored.state is OrderState.NEW

        holder.kill()  # SIGKILL: no clean-up runs in the holder
        holder.wait(timeout=30)

    with SQLiteJournal(path) as journal:  # the OS released the lock
        stored = journal.get(order_id)
        assert stored is not None and [e.kind for e in stored.history] == [NEW_EVENT]


def test_a_second_writer_in_the_same_process_is_locked_out(journal: SQLiteJournal,
                                                           path: Path) -> None:
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path)
    assert raised.value.code is Code.JOURNAL_LOCKED
    journal.close()
    SQLiteJournal(path).close()


def test_read_only_never_writes(journal: SQLiteJournal, path: Path) -> None:
    order = journal.create_order("mock", limit(), id_rules=RULES)
    with SQLiteJournal(path, readonly=True) as reader:
        applied = apply(order, EventKind.SUBMIT)
        assert applied.event is not None
        for attempt in (lambda: reader.create_order("mock", limit(), id_rules=RULES),
                        lambda: reader.append(order, applied.event),  # type: ignore[arg-type]
                        lambda: reader.set_venue_order_id(order.id, "V-1"),
                        lambda: reader.batch().__enter__()):
            with pytest.raises(JournalError, match="read-only"):
                attempt()
    missing = path.parent / "missing.sqlite3"
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(missing, readonly=True)
    assert raised.value.code is Code.JOURNAL_ERROR
    assert not missing.exists()


@pytest.mark.parametrize("readonly", [False, True])
def test_a_file_that_is_not_sqlite_is_corrupt_and_left_alone(path: Path, readonly: bool) -> None:
    path.write_bytes(b"order book of record\n" * 100)
    before = digest(path)
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path, readonly=readonly)
    assert raised.value.code is Code.JOURNAL_CORRUPT
    assert digest(path) == before


@pytest.mark.parametrize("table", ["users (name TEXT)", "meta (version INTEGER)"])
def test_another_applications_database_is_corrupt_and_left_alone(path: Path,
                                                                 table: str) -> None:
    with sqlite3.connect(path) as other:
        other.execute(f"CREATE TABLE {table}")
        other.execute(f"INSERT INTO {table.split()[0]} VALUES (1)")
    other.close()
    before = digest(path)
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path)
    assert raised.value.code is Code.JOURNAL_CORRUPT
    assert "not a venuekit journal" in raised.value.message
    assert digest(path) == before


def test_a_journal_missing_a_table_is_corrupt(path: Path) -> None:
    SQLiteJournal(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TABLE events")
    raw.close()
    before = digest(path)
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path)
    assert raised.value.code is Code.JOURNAL_CORRUPT
    assert "events" in raised.value.message
    assert digest(path) == before


def test_a_journal_from_a_newer_venuekit_is_refused(path: Path) -> None:
    SQLiteJournal(path).close()
    newer = schema.latest_version() + 1
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(newer),))
        raw.execute("UPDATE meta SET value = '9.0.0' WHERE key = 'venuekit_version'")
    raw.close()
    before = digest(path)
    for readonly in (False, True):
        with pytest.raises(JournalError) as raised:
            SQLiteJournal(path, readonly=readonly)
        assert raised.value.code is Code.JOURNAL_TOO_NEW
        message = raised.value.message
        assert f"schema version {newer}" in message and "9.0.0" in message
        assert f"up to {schema.latest_version()}" in message
    assert digest(path) == before


# schema evolution ---------------------------------------------------------------------------

def test_migrations_are_numbered_one_by_one() -> None:
    assert [m.version for m in schema.MIGRATIONS] == list(range(1, len(schema.MIGRATIONS) + 1))


def _with_next_version(*statements: str) -> tuple[schema.Migration, ...]:
    return (*schema.MIGRATIONS,
            schema.Migration(schema.latest_version() + 1, "test step", statements))


def test_an_older_journal_is_upgraded_on_open(path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with SQLiteJournal(path) as journal:
        order = journal.create_order("mock", limit(), id_rules=RULES)
        step(journal, order, EventKind.SUBMIT)
    old = schema.latest_version()
    monkeypatch.setattr(schema, "MIGRATIONS", _with_next_version(
        "ALTER TABLE orders ADD COLUMN tag TEXT NOT NULL DEFAULT 'manual'"))

    with pytest.raises(JournalError, match="open it once for writing"):
        SQLiteJournal(path, readonly=True)
    with SQLiteJournal(path) as journal:
        assert_same(journal.get(order.id), order)
        later = journal.create_order("mock", limit(), id_rules=RULES)
    with sqlite3.connect(path) as raw:
        version = raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        tags = raw.execute("SELECT id, tag FROM orders ORDER BY seq").fetchall()
    raw.close()
    assert version == (str(old + 1),)
    assert tags == [(order.id, "manual"), (later.id, "manual")]


def test_a_failing_migration_leaves_the_journal_as_it_was(path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with SQLiteJournal(path) as journal:
        order = journal.create_order("mock", limit(), id_rules=RULES)
    monkeypatch.setattr(schema, "MIGRATIONS", _with_next_version(
        "ALTER TABLE orders ADD COLUMN tag TEXT", "THIS IS NOT SQL"))
    with pytest.raises(JournalError):
        SQLiteJournal(path)

    monkeypatch.undo()
    with SQLiteJournal(path) as journal:
        assert journal.get(order.id) is not None
    with sqlite3.connect(path) as raw:
        columns = {row[1] for row in raw.execute("PRAGMA table_info(orders)")}
    raw.close()
    assert "tag" not in columns


# settings -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("durability", "synchronous"), [("normal", 1), ("full", 2)])
def test_durability_sets_how_sqlite_syncs(path: Path, durability: Durability,
                                          synchronous: int) -> None:
    # The setting lives on the connection only, so it is read through the journal's own.
    with SQLiteJournal(path, durability=durability) as journal:
        assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == synchronous


def test_full_durability_keeps_the_same_records(path: Path) -> None:
    with SQLiteJournal(path, durability="full") as journal:
        order = journal.create_order("mock", limit(), id_rules=RULES)
        step(journal, order, EventKind.SUBMIT)
    with SQLiteJournal(path) as journal:
        assert_same(journal.get(order.id), order)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()
    with pytest.raises(ValueError, match="durability"):
        SQLiteJournal(path, durability="fast")  # type: ignore[arg-type]


def test_default_path_and_its_directories(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)
    assert default_journal_path() == Path(".venuekit") / "journal.sqlite3"
    monkeypatch.chdir(tmp_path)
    with SQLiteJournal() as journal:
        assert journal.path.resolve() == (tmp_path / ".venuekit" / "journal.sqlite3").resolve()
    assert (tmp_path / ".venuekit" / "journal.sqlite3").is_file()

    target = tmp_path / "a" / "b" / "book.sqlite3"
    monkeypatch.setenv("VENUEKIT_JOURNAL", os.fspath(target))
    assert default_journal_path() == target
    SQLiteJournal().close()
    assert target.is_file()


def test_close_is_idempotent_and_a_closed_journal_refuses_work(journal: SQLiteJournal) -> None:
    journal.close()
    journal.close()
    with pytest.raises(JournalError):
        journal.create_order("mock", limit(), id_rules=RULES)
    with pytest.raises(JournalError):
        journal.orders()
