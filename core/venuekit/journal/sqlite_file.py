"""The SQLite journal's file: telling a journal from anything else, and creating a new one.

A journal is created only where no file exists, and it appears complete or not at all: the
schema is written to a temporary file beside it, which is then renamed into place. So a
file at the journal's path is always a whole journal, and anything else found there (an
empty file, a truncated one, one whose bytes were damaged, another program's database) is
refused with ``JOURNAL_CORRUPT`` and left exactly as it is: treating it as a new journal
would silently lose the history it held.

Opening checks, in order: the file's first bytes (SQLite's header), then SQLite's
``quick_check`` of the whole file (its pages, b-trees, free list and record formats), which
finds truncation and damage to the file's structure. SQLite keeps no checksums of stored
values: damage inside a value is found when the value is read, if it leaves the value
unreadable (see docs/journal.md).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ..errors import Code, ErrorCode

__all__ = ["CORRUPT_CODES", "SQLITE_MAGIC", "FileProblem", "check_header", "create_journal",
           "quick_check"]

SQLITE_MAGIC = b"SQLite format 3\x00"
CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
"""SQLite's primary result codes that mean the file is damaged or not a database."""


class FileProblem(Exception):
    """What is wrong with a journal file: a code and a sentence; the journal raises it as a
    JournalError naming the file."""

    def __init__(self, code: ErrorCode, what: str) -> None:
        super().__init__(what)
        self.code = code
        self.what = what


def check_header(path: Path) -> bool:
    """True when ``path`` exists and starts like an SQLite database; False when there is no
    file. Raises :class:`FileProblem` for an empty file or one that is not SQLite."""
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise FileProblem(Code.JOURNAL_ERROR, f"cannot read it: {exc}") from exc
    if not header:
        raise FileProblem(Code.JOURNAL_CORRUPT, "the file is empty (0 bytes): its history is "
                          "gone or it was truncated; it was not modified")
    if not header.startswith(SQLITE_MAGIC):
        raise FileProblem(Code.JOURNAL_CORRUPT, "it is not an SQLite database (its first "
                          "bytes are not SQLite's header); it was not modified")
    if len(header) < 100:
        raise FileProblem(Code.JOURNAL_CORRUPT, f"it is truncated ({len(header)} bytes, shorter "
                          "than SQLite's header); it was not modified")
    return True


def quick_check(conn: sqlite3.Connection) -> None:
    """Raise :class:`FileProblem` unless SQLite's ``quick_check`` finds the file sound."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        raise FileProblem(_code(exc), f"SQLite cannot read it ({exc}); it was not "
                          "modified") from exc
    found = [str(row[0]) for row in rows]
    if found != ["ok"]:
        listed = "; ".join(found[:3]) + (f"; and {len(found) - 3} more" if len(found) > 3
                                          else "")
        raise FileProblem(Code.JOURNAL_CORRUPT, f"it is damaged (SQLite's check found: "
                          f"{listed}); it was not modified")


def _code(exc: sqlite3.Error) -> ErrorCode:
    if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in CORRUPT_CODES:
        return Code.JOURNAL_CORRUPT
    return Code.JOURNAL_ERROR


def create_journal(path: Path, write_schema: Callable[[sqlite3.Connection], None]) -> None:
    """Create a new journal at ``path``, which must not exist: ``write_schema`` fills a
    temporary file beside it (in one transaction), which is then renamed into place.

    The caller holds the journal's write lock, so no other venuekit process creates it
    meanwhile. A temporary file left by a creation that was killed is replaced.
    """
    temporary = path.with_name(f".{path.name}.new")
    for leftover in (temporary, temporary.with_name(temporary.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    try:
        conn = sqlite3.connect(temporary, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous = FULL")
            write_schema(conn)
        finally:
            conn.close()
        _fsync(temporary)
        if path.exists():  # never replace a file that appeared meanwhile
            raise FileProblem(Code.JOURNAL_ERROR, "another program created the file while "
                              "the new journal was being written; it was not modified")
        os.replace(temporary, path)
        _fsync_directory(path.parent)
    except sqlite3.Error as exc:
        raise FileProblem(Code.JOURNAL_ERROR, f"cannot create it: {exc}") from exc
    except OSError as exc:
        raise FileProblem(Code.JOURNAL_ERROR, f"cannot create it: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (a no-op where directories cannot be opened: Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
