"""The SQLite journal's file: telling a journal from anything else, creating a new one, and
opening (and upgrading) an existing one.

A journal is created only where no file exists, and it appears complete or not at all: the
schema is written to a temporary file beside it, which is then renamed into place. So a
file at the journal's path is always a whole journal, and anything else found there (an
empty file, a truncated one, one whose bytes were damaged, another program's database) is
refused with ``JOURNAL_CORRUPT`` and left exactly as it is: treating it as a new journal
would silently lose the history it held.

Opening checks, before anything is written to the file: the file's first bytes (SQLite's
header), then SQLite's ``quick_check`` of the whole file (its pages, b-trees, free list and
record formats), which finds truncation and damage to the file's structure; then that it is
a venuekit journal (its meta table) of a schema this venuekit reads (an older one is upgraded
in one transaction; a newer one is refused with ``JOURNAL_TOO_NEW``), with every table.
SQLite keeps no checksums of stored values: damage inside a value is found when the value is
read, if it leaves the value unreadable (see docs/journal.md).

``quick_check`` reads every page, so its cost grows with the journal (over a second for a
million orders). It is skipped only for a file exactly as the last writer left it when it
closed the journal cleanly: that writer notes the file's :func:`stamp` (device, inode, size,
modification and change times, and no write-ahead log left) in the lock file, and an open
that finds the same stamp knows nothing has written the file since; any write, truncation
or replacement changes it (the change time cannot be set back), and the whole check runs.
A writer notes a stamp only once the file's last change is older than the filesystem's
clock can tell apart (:func:`settled_stamp`), and none after a crash (the write-ahead log
holds its last commits): then the next open checks the whole file again. While a writer has
the journal open, a reader (``venuekit orders`` beside a running bot) trusts the check the
writer made at its open for as long as that writer's process is alive; once it died, a
reader checks the whole file.

Every problem is a :class:`FileProblem` (a code, a sentence and details), which the journal
raises as a ``JournalError`` naming the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Code, ErrorCode
from ..model import utcnow
from ..version import __version__
from . import sqlite_schema as schema
from ._lock import WRITING
from .ids import is_journal_tag, new_journal_tag

__all__ = ["CORRUPT_CODES", "SQLITE_MAGIC", "FileProblem", "Opened", "check_header",
           "create_journal", "error_code", "open_journal", "quick_check", "released",
           "settled_stamp", "stamp"]

log = logging.getLogger("venuekit.journal")

_BUSY_TIMEOUT_MS = 5000
_UNDECODABLE = "Could not decode to UTF-8"

SQLITE_MAGIC = b"SQLite format 3\x00"
CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
"""SQLite's primary result codes that mean the file is damaged or not a database."""


class FileProblem(Exception):
    """What is wrong with a journal file: a code, a sentence and details; the journal
    raises it as a JournalError naming the file."""

    def __init__(self, code: ErrorCode, what: str, **details: Any) -> None:
        super().__init__(what)
        self.code = code
        self.what = what
        self.details = details


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
        raise FileProblem(error_code(exc), f"SQLite cannot read it ({exc}); it was not "
                          "modified") from exc
    found = [str(row[0]) for row in rows]
    if found != ["ok"]:
        listed = "; ".join(found[:3]) + (f"; and {len(found) - 3} more" if len(found) > 3
                                          else "")
        raise FileProblem(Code.JOURNAL_CORRUPT, f"it is damaged (SQLite's check found: "
                          f"{listed}); it was not modified")


_SETTLE_NS = 20_000_000
"""How old a file's last change must be before its stamp is noted: far coarser than the
clock of any local filesystem's modification times (a few milliseconds on Linux)."""


def stamp(path: Path) -> str | None:
    """The journal file as it is now (device, inode, size, modification and change times in
    nanoseconds), to compare with the stamp its last writer noted; None while a
    write-ahead log beside it holds anything (the file is not whole on its own), when it
    cannot be read, or on a filesystem that keeps whole seconds (no stamp tells two
    changes within a second apart)."""
    try:
        found = path.stat()
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size:
            return None
    except OSError:
        return None
    if found.st_mtime_ns % 1_000_000_000 == 0:
        return None
    return (f"checked {found.st_dev} {found.st_ino} {found.st_size} {found.st_mtime_ns} "
            f"{found.st_ctime_ns}")


def settled_stamp(path: Path) -> str | None:
    """:func:`stamp` once the file's last change is old enough that any later change gets
    another modification time (waits up to 20 ms for it); None when there is no stamp."""
    try:
        changed = path.stat().st_mtime_ns
    except OSError:
        return None
    wait = changed + _SETTLE_NS - time.time_ns()
    if wait > 0:
        time.sleep(wait / 1e9)
    return stamp(path)


def error_code(exc: sqlite3.Error) -> ErrorCode:
    """JOURNAL_CORRUPT for an error that says the file is damaged (or a stored text is not
    UTF-8 any more), JOURNAL_ERROR otherwise."""
    if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in CORRUPT_CODES \
            or _UNDECODABLE in str(exc):
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


@dataclass(frozen=True, slots=True)
class Opened:
    """An open journal file: its connection, its tag, the next order and run numbers (one
    past the largest: neither is ever deleted), its schema version and its identity in
    this process (give it to :func:`released` once the connection is closed)."""

    conn: sqlite3.Connection
    tag: str
    next_order: int
    next_run: int
    version: int
    file_id: tuple[int, int] | None


# Journal files this process has open through SQLite, by (device, inode): how many
# connections. Such a file is never opened outside SQLite here (its header is not read
# again): closing any descriptor of a file drops every POSIX lock the process holds on it,
# SQLite's included, and another process could then take itself for the file's last user
# and remove the write-ahead log a connection here still writes to.
_open_here: dict[tuple[int, int], int] = {}
_open_here_lock = threading.Lock()


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _open_in_this_process(path: Path) -> bool:
    file_id = _file_id(path)
    with _open_here_lock:
        return file_id is not None and _open_here.get(file_id, 0) > 0


def _held(path: Path) -> tuple[int, int] | None:
    file_id = _file_id(path)
    if file_id is not None:
        with _open_here_lock:
            _open_here[file_id] = _open_here.get(file_id, 0) + 1
    return file_id


def released(file_id: tuple[int, int] | None) -> None:
    """A connection :func:`open_journal` made was closed."""
    if file_id is None:
        return
    with _open_here_lock:
        left = _open_here.get(file_id, 0) - 1
        if left > 0:
            _open_here[file_id] = left
        else:
            _open_here.pop(file_id, None)


def open_journal(path: Path, *, readonly: bool, synchronous: str, fullfsync: bool,
                 noted: str = "") -> Opened:
    """Open the journal at ``path`` (created where no file exists, unless ``readonly``),
    checked and, for writing, upgraded to the latest schema. Raises :class:`FileProblem`.

    ``noted`` is the stamp its last writer noted at a clean close: when the file still has
    it, nothing wrote the file since it was last open, and ``quick_check`` is skipped. A
    reader skips it too while a live writer has the journal open (``noted`` is
    :data:`~._lock.WRITING`): that writer checked the file at its own open."""
    # A file this process has open is a journal whose header was checked when it was
    # opened; reading it again outside SQLite would drop that connection's locks.
    if not _open_in_this_process(path) and not check_header(path):
        if readonly:
            raise FileProblem(Code.JOURNAL_ERROR, "there is no journal file yet (the first "
                              "command that trades creates it)")
        create_journal(path, _write_new_schema)
        log.info("journal created", extra={"journal": str(path),
                                           "schema_version": schema.latest_version()})
    mode = "ro" if readonly else "rw"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True,
                               isolation_level=None, cached_statements=256)
    except sqlite3.Error as exc:
        raise FileProblem(Code.JOURNAL_ERROR, f"cannot open it: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        if not (readonly and noted == WRITING) and (not noted or stamp(path) != noted):
            quick_check(conn)
        found, meta = _inspect(conn)
        latest = schema.latest_version()
        if found == latest:
            _check_tables(conn)  # before anything is written to the file
        if readonly:
            if found < latest:
                raise FileProblem(Code.JOURNAL_ERROR,
                                  f"it has schema version {found} and needs an upgrade to "
                                  f"{latest}; open it once for writing to upgrade it",
                                  found=found, supported=latest)
        else:
            _prepare_for_writing(conn, synchronous, fullfsync)
            if found != latest:
                schema.migrate(conn, found)
                _check_tables(conn)
                log.info("journal schema ready", extra={"journal": str(path),
                                                        "from_version": found,
                                                        "to_version": latest})
            if meta.get("venuekit_version") != __version__:
                schema.set_meta(conn, "venuekit_version", __version__)
        tag = meta.get("journal_tag", "")
        if not is_journal_tag(tag):
            raise FileProblem(Code.JOURNAL_CORRUPT, f"its journal tag {tag!r} is invalid")
        (last,) = conn.execute("SELECT max(seq) FROM orders").fetchone()
        (last_run,) = conn.execute("SELECT max(seq) FROM runs").fetchone()
        conn.row_factory = sqlite3.Row
    except FileProblem:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise FileProblem(error_code(exc), f"could not open it: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return Opened(conn, tag, (last or 0) + 1, (last_run or 0) + 1, latest, _held(path))


def _write_new_schema(conn: sqlite3.Connection) -> None:
    """Every migration and a new journal's identity, in one transaction."""
    schema.migrate(conn, 0, meta={"application": schema.APPLICATION,
                                  "journal_tag": new_journal_tag(),
                                  "created_at": utcnow().isoformat(),
                                  "venuekit_version": __version__})


def _inspect(conn: sqlite3.Connection) -> tuple[int, dict[str, str]]:
    """The schema version and meta entries of the file."""
    objects = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
    if not objects:
        raise FileProblem(Code.JOURNAL_CORRUPT, "it is an empty SQLite database, not a "
                          "venuekit journal; it was not modified")
    tables = {name for kind, name in objects if kind == "table"}
    if "meta" not in tables:
        raise FileProblem(Code.JOURNAL_CORRUPT, "it is an SQLite database but not a venuekit "
                          "journal (no meta table); it was not modified",
                          tables=sorted(tables))
    try:
        meta: dict[str, str] = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.OperationalError:  # a meta table of some other shape
        meta = {}
    if meta.get("application") != schema.APPLICATION:
        raise FileProblem(Code.JOURNAL_CORRUPT, "it is not a venuekit journal (its meta "
                          f"table names application {meta.get('application')!r}); it was "
                          "not modified")
    try:
        found = int(meta["schema_version"])
    except (KeyError, ValueError):
        raise FileProblem(Code.JOURNAL_CORRUPT, "its schema version "
                          f"{meta.get('schema_version')!r} is unreadable") from None
    latest = schema.latest_version()
    if found > latest:
        writer = meta.get("venuekit_version", "a newer release")
        raise FileProblem(Code.JOURNAL_TOO_NEW,
                          f"it has schema version {found}, written by venuekit {writer}; "
                          f"this venuekit {__version__} reads schema versions up to {latest}",
                          found=found, supported=latest, written_by=writer)
    return found, meta


def _check_tables(conn: sqlite3.Connection) -> None:
    tables = {name for (name,) in
              conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = schema.REQUIRED_TABLES - tables
    if missing:
        raise FileProblem(Code.JOURNAL_CORRUPT,
                          f"tables {', '.join(sorted(missing))} are missing",
                          missing=sorted(missing))


def _prepare_for_writing(conn: sqlite3.Connection, synchronous: str, fullfsync: bool) -> None:
    (journal_mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
    if str(journal_mode).lower() != "wal":
        raise FileProblem(Code.JOURNAL_ERROR, f"cannot use write-ahead logging (the "
                          f"filesystem gave {journal_mode!r}); keep it on a local disk")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    if fullfsync:
        # Without these, fsync on macOS does not flush the drive's cache.
        conn.execute("PRAGMA fullfsync = ON")
        conn.execute("PRAGMA checkpoint_fullfsync = ON")
