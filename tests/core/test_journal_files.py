"""A journal file that is not what it seems is refused, and left exactly as it was.

An empty, truncated or damaged file at the journal's path once held a history: taking it
for a new journal would lose that history without a word. Every open (for writing or for
reading) refuses it with JOURNAL_CORRUPT; only a path where no file exists gets a new
journal, and that journal appears whole or not at all.
"""

from __future__ import annotations

import gc
import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.files import flip_byte
from venuekit.errors import Code, JournalError
from venuekit.journal import ClientIdRules, SQLiteJournal
from venuekit.journal import sqlite_schema as schema
from venuekit.lifecycle import EventKind, apply
from venuekit.model import OrderRequest

from .journal_support import AT_EXIT_THREADS

RULES = ClientIdRules()


def digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def journal_with_orders(path: Path, count: int = 120) -> None:
    """A closed journal (checkpointed: everything in the main file) holding ``count``
    acknowledged orders."""
    with SQLiteJournal(path) as journal, journal.batch():
        for _ in range(count):
            order = journal.create_order("mock", OrderRequest(symbol="AAPL", side="buy",
                                                              quantity=Decimal(3)),
                                         id_rules=RULES, submitted=True)
            applied = apply(order, EventKind.ACK)
            assert applied.event is not None
            journal.append(order, applied.event)
    assert not path.with_name(path.name + "-wal").exists()



def page_size(path: Path) -> int:
    size = int.from_bytes(path.read_bytes()[16:18], "big")
    return 65536 if size == 1 else size


Damage = Callable[[Path], None]


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _cut_to_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _cut_last_page(path: Path) -> None:
    os.truncate(path, path.stat().st_size - page_size(path))


def _cut_inside_header(path: Path) -> None:
    os.truncate(path, 40)


def _flip_magic(path: Path) -> None:
    flip_byte(path, 3)


def _flip_page_size(path: Path) -> None:
    flip_byte(path, 16)


DAMAGE: dict[str, Damage] = {
    "zero bytes": _empty,
    "truncated to half": _cut_to_half,
    "last page cut": _cut_last_page,
    "truncated inside the header": _cut_inside_header,
    "header magic flipped": _flip_magic,
    "page size flipped": _flip_page_size,
}


@pytest.mark.parametrize("readonly", [False, True], ids=["writer", "reader"])
@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_journal_is_refused_as_corrupt_and_left_untouched(
        tmp_path: Path, damage: str, readonly: bool) -> None:
    path = tmp_path / "journal.sqlite3"
    journal_with_orders(path)
    DAMAGE[damage](path)
    before = digest(path)
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path, readonly=readonly)
    assert raised.value.code is Code.JOURNAL_CORRUPT, raised.value
    assert "it was not modified" in raised.value.message
    assert digest(path) == before
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "nothing was written beside it"


def test_every_page_whose_type_byte_is_flipped_is_refused(tmp_path: Path) -> None:
    """A flipped byte in the structure of any page (here its b-tree page type) is found by
    the check at open, wherever the page is in the file."""
    original = tmp_path / "original.sqlite3"
    journal_with_orders(original)
    size = page_size(original)
    pages = original.stat().st_size // size
    assert pages > 10
    damaged = tmp_path / "journal.sqlite3"
    for page in range(1, pages):
        damaged.write_bytes(original.read_bytes())
        flip_byte(damaged, page * size)
        with pytest.raises(JournalError) as raised:
            SQLiteJournal(damaged)
        assert raised.value.code is Code.JOURNAL_CORRUPT, f"page {page + 1}"


def test_an_empty_sqlite_database_is_not_taken_for_a_new_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    sqlite3.connect(path).execute("PRAGMA user_version = 1").connection.close()
    assert path.stat().st_size > 0
    before = digest(path)
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path)
    assert raised.value.code is Code.JOURNAL_CORRUPT
    assert digest(path) == before


def test_a_new_journal_is_created_only_where_no_file_exists(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "journal.sqlite3"
    with SQLiteJournal(path) as journal:
        assert journal.orders() == []
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["journal.sqlite3", "journal.sqlite3.lock"], "no temporary file is left"
    with sqlite3.connect(path) as raw:
        version = raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    raw.close()
    assert version == (str(schema.latest_version()),)


def test_a_creation_killed_half_way_leaves_no_journal_and_is_redone(tmp_path: Path) -> None:
    """A creation that died while writing its temporary file left nothing at the journal's
    path: the next open creates the journal afresh (the leftover is replaced)."""
    path = tmp_path / "journal.sqlite3"
    leftover = tmp_path / ".journal.sqlite3.new"
    leftover.write_bytes(b"SQLite format 3\x00 half written")
    with SQLiteJournal(path) as journal:
        assert journal.orders() == []
    assert not leftover.exists()


def test_reading_a_missing_journal_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path, readonly=True)
    assert raised.value.code is Code.JOURNAL_ERROR
    assert "no journal file yet" in raised.value.message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("per_commit", [1, 40], ids=["an-order-a-commit", "40-a-commit"])
def test_the_log_is_checkpointed_beside_the_writer_and_stays_bounded(
        tmp_path: Path, per_commit: int) -> None:
    """A journal that commits without a pause, an order or a batch of 40 at a time, keeps
    its write-ahead log near 1,000 pages: the checkpoints run on a thread of their own,
    paced by the pages the commits append, never inside one of the writer's commits, and
    what they copied reads back from the journal file alone. The log file is reused when
    it starts again, never cut back and grown anew (which, with ``durability="full"``,
    makes every commit's sync also record a larger file)."""
    path = tmp_path / "journal.sqlite3"
    wal = path.with_name(path.name + "-wal")
    limit_bytes = 1000 * 4096
    with SQLiteJournal(path) as journal:
        conn = journal._conn
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 4000  # a backstop
        checkpointer = journal._checkpointer
        assert checkpointer is not None
        largest = 0
        created = 0
        deadline = time.monotonic() + 60
        while checkpointer.checkpoints < 3:  # the log passed its limit three times at least
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            with journal.batch():
                for _ in range(per_commit):
                    order = journal.create_order(
                        "mock", OrderRequest(symbol="AAPL", side="buy", quantity=Decimal(3)),
                        id_rules=RULES, submitted=True)
                    created += 1
                    applied = apply(order, EventKind.ACK)
                    assert applied.event is not None
                    journal.append(order, applied.event)
            size = wal.stat().st_size
            assert size >= largest, f"the log was cut back from {largest} to {size} bytes"
            largest = size
        # The log starts again once a checkpoint has copied all of it; committing without
        # a pause, the writer's own backstop (4,000 pages) ends the run of it.
        assert largest < 5 * limit_bytes, largest
    assert not wal.exists()  # the writer's close checkpointed the rest
    with SQLiteJournal(path, readonly=True) as reader:
        assert len(reader.orders(limit=None)) == created


# Dropping a journal unclosed is a mistake Python reports (its files were left open).
@pytest.mark.filterwarnings("ignore::ResourceWarning",
                            "ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_journal_dropped_without_closing_stops_its_checkpoint_thread(tmp_path: Path) -> None:
    """A script that forgets to close its journal leaves no thread behind once the journal
    is collected."""
    journal = SQLiteJournal(tmp_path / "journal.sqlite3")
    checkpointer = journal._checkpointer
    assert checkpointer is not None and checkpointer._thread.is_alive()
    del journal
    gc.collect()
    checkpointer._thread.join(timeout=5)
    assert not checkpointer._thread.is_alive()


def test_a_script_that_never_closes_its_journal_exits_without_its_thread(
        tmp_path: Path) -> None:
    """A script that exits with its journal open has its checkpoint thread stopped before
    the interpreter finalizes (a daemon thread caught writing then can abort the process)."""
    done = subprocess.run([sys.executable, "-c", AT_EXIT_THREADS,
                           str(tmp_path / "journal.sqlite3")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "running: venuekit-journal-checkpoint" in done.stdout
    assert "alive at exit: \n" in done.stdout, done.stdout
    assert done.stderr == ""


_WRITER = textwrap.dedent("""
    import sys, time
    from decimal import Decimal
    from venuekit.journal import ClientIdRules, SQLiteJournal
    from venuekit.model import OrderRequest

    with SQLiteJournal(sys.argv[1]) as journal:
        print("open", flush=True)
        ends = time.monotonic() + float(sys.argv[2])
        while time.monotonic() < ends:
            journal.create_order("mock", OrderRequest(symbol="AAPL", side="buy",
                                                      quantity=Decimal(1)),
                                 id_rules=ClientIdRules(), submitted=True)
""")


def test_readers_opening_again_and_again_never_disturb_a_writer(tmp_path: Path) -> None:
    """`venuekit orders` run in a loop beside a bot: the bot keeps writing (its checkpoints
    included) and exits cleanly, and every listing reads a consistent journal."""
    path = tmp_path / "journal.sqlite3"
    SQLiteJournal(path).close()
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), "4"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "open\n"
        listings = 0
        while writer.poll() is None:
            with SQLiteJournal(path, readonly=True) as reader:
                reader.orders(limit=5)
            listings += 1
        _, err = writer.communicate(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=10)
    assert writer.returncode == 0, (writer.returncode, err[-2000:])
    assert listings > 10
    with SQLiteJournal(path, readonly=True) as reader:
        assert len(reader.orders(limit=None)) > 1000  # enough to pass checkpoints


_OTHER_USER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1])  # another program reading the file, then closing it
    conn.execute("SELECT count(*) FROM orders").fetchone()
    conn.close()
""")


def test_a_second_journal_object_keeps_the_first_ones_log_in_place(tmp_path: Path) -> None:
    """A script that lists its journal while its bot's writer is open in the same process:
    the listing must not drop the writer's locks, or another program closing the file takes
    itself for its last user and deletes the write-ahead log the writer still commits to
    (its next commits would then be lost)."""
    path = tmp_path / "journal.sqlite3"
    wal = path.with_name(path.name + "-wal")
    request = OrderRequest(symbol="AAPL", side="buy", quantity=Decimal(1))
    with SQLiteJournal(path) as writer:
        writer.create_order("mock", request, id_rules=RULES, submitted=True)
        with SQLiteJournal(path, readonly=True) as listing:
            assert len(listing.orders()) == 1
        subprocess.run([sys.executable, "-c", _OTHER_USER, str(path)], check=True, timeout=60)
        assert wal.exists()
        later = writer.create_order("mock", request, id_rules=RULES, submitted=True)
        seen = subprocess.run(
            [sys.executable, "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1])"
             ".execute('SELECT count(*) FROM orders').fetchone()[0])", str(path)],
            check=True, timeout=60, capture_output=True, text=True)
        assert seen.stdout.strip() == "2", later.id
