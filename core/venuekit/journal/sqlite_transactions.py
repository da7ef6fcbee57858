"""The SQLite journal's transactions: one call's atomic unit, batches, writes behind.

:class:`Transactions` is the part of :class:`~venuekit.journal.sqlite.SQLiteJournal` that
decides what is committed when; the journal says what is written. Every journal call is
atomic on its own: a transaction it commits, or a savepoint inside one already open (a
batch, or the transaction that holds events written behind). Events written behind wait,
executed or queued (:class:`~.writes.WriteQueue`), in an open transaction until the
next durable call, :meth:`Transactions.flush`, a batch's end or a read commits or runs them:
commits keep their order, so the durable journal is always a prefix of what happened.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from ..errors import Code, ErrorCode, JournalError, error
from . import sqlite_file
from .sqlite_checkpoint import Commits
from .writes import WriteQueue

__all__ = ["Transactions"]

log = logging.getLogger("venuekit.journal")


class Transactions:
    """Transactions over one connection (mixed into the SQLite journal)."""

    path: Path
    readonly: bool
    _conn: sqlite3.Connection
    _cursor: sqlite3.Cursor
    _write: Callable[..., sqlite3.Cursor]
    _queue: WriteQueue
    _batch_depth: int
    _behind: bool
    """True while a transaction holds events written behind."""
    _commits: Commits
    """Commits made so far (the checkpoint thread paces itself by them)."""

    # errors -----------------------------------------------------------------------------
    def _error(self, code: ErrorCode, what: str, cause: BaseException | None = None,
               **details: Any) -> JournalError:
        details["journal"] = str(self.path)
        if cause is not None:
            details["cause"] = f"{type(cause).__name__}: {cause}"
        exc = error(code, f"journal {self.path}: {what}", details=details)
        assert isinstance(exc, JournalError)
        return exc

    def _sqlite_error(self, what: str, exc: sqlite3.Error, **details: Any) -> JournalError:
        return self._error(sqlite_file.error_code(exc), f"could not {what}: {exc}", exc,
                           **details)

    def _refuse_read_only(self) -> NoReturn:
        raise self._error(Code.JOURNAL_ERROR, "it was opened read-only; open it without "
                          "readonly=True to write")

    def _rollback(self) -> None:
        self._queue.clear()  # it belonged to the transaction
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("journal rollback failed", extra={"journal": str(self.path)})

    def _begin(self) -> bool:
        """Start one call's atomic unit: a transaction, or a savepoint inside an open one
        (a batch, or the transaction holding events written behind).

        Returns True when the call owns a transaction it must commit itself.
        """
        if self._batch_depth or self._behind:
            self._write("SAVEPOINT entry")
            return False
        self._write("BEGIN IMMEDIATE")
        return True

    def _end(self, owned: bool, *, durable: bool = True) -> None:
        """End one call's atomic unit; a durable call outside a batch commits, taking every
        event written behind with it."""
        if owned:
            self._write("COMMIT")
            self._commits.count += 1
            return
        self._write("RELEASE entry")
        if durable and self._behind and not self._batch_depth:
            self._commit_behind()

    def _write_queued(self) -> None:
        """Execute the writes queued behind (inside the open transaction; not a commit)."""
        if self._queue:
            self._queue.write(self._cursor)

    def _commit_behind(self) -> None:
        self._behind = False
        try:
            self._write_queued()
            self._write("COMMIT")
            self._commits.count += 1
        except sqlite3.Error:
            self._rollback()
            raise

    def flush(self) -> None:
        """Commit the events written behind (nothing to do inside a batch: it commits)."""
        if not self._behind or self._batch_depth:
            return
        try:
            self._commit_behind()
        except sqlite3.Error as exc:
            raise self._sqlite_error("commit the events written behind; they were not kept",
                                     exc) from exc

    @property
    def pending(self) -> bool:
        """True while events written behind wait for a commit."""
        return self._behind

    @property
    def refused_writes(self) -> int:
        """Orders whose events written behind the journal refused (and logged as "events
        written behind were not recorded") since it was opened: 0 in a healthy journal."""
        return self._queue.refused

    @contextmanager
    def _atomic(self, what: str, **details: Any) -> Iterator[sqlite3.Cursor]:
        """One call's writes as one atomic unit (committed when the block ends, unless a
        batch or the writes behind hold the transaction): an error undoes them all, an
        SQLite error raised as a JOURNAL_* error saying ``what`` could not be done."""
        if self.readonly:
            self._refuse_read_only()
        owned: bool | None = None
        try:
            self._write_queued()
            owned = self._begin()
            yield self._cursor
            self._end(owned)
        except sqlite3.Error as exc:
            self._undo(owned)
            raise self._sqlite_error(what, exc, **details) from exc
        except BaseException:
            self._undo(owned)
            raise

    def _undo(self, owned: bool | None) -> None:
        """Undo what :meth:`_begin` started (``owned`` is None when it never started)."""
        if owned is None:
            return
        conn = self._conn
        try:
            if owned:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            else:
                conn.execute("ROLLBACK TO entry")
                conn.execute("RELEASE entry")
        except sqlite3.Error:
            log.exception("journal rollback failed", extra={"journal": str(self.path)})

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for every call inside the block (see :meth:`Journal.batch`)."""
        if self.readonly:
            self._refuse_read_only()
        if self._batch_depth == 0 and not self._behind:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._sqlite_error("start a batch", exc) from exc
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._behind = False  # the batch's commit takes them along
                try:
                    self._write_queued()
                    self._conn.execute("COMMIT")
                    self._commits.count += 1
                except sqlite3.Error as exc:
                    self._rollback()
                    raise self._sqlite_error("commit the batch; nothing written in it was "
                                             "kept", exc) from exc

    def _open_behind(self) -> None:
        if self._behind:
            return
        try:
            self._write("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._sqlite_error("start writing behind", exc) from exc
        self._behind = True

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One consistent view for several queries, including what this journal wrote
        (its queued writes are executed first); inside a batch it is the batch's view."""
        conn = self._conn
        self._write_queued()
        opened = not conn.in_transaction
        if opened:
            conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if opened:
                self._rollback()
