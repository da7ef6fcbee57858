"""Checkpoints of the SQLite journal's write-ahead log, made off the writer's path.

In WAL mode a commit appends to the ``-wal`` file; a *checkpoint* copies those pages back
into the journal file, and it syncs both files to the disk (with ``durability="normal"``
the only syncs there are). Left to SQLite, the commit that takes the log past 1,000 pages
runs the checkpoint itself, so every few hundred orders one order waits the copy and the
syncs (3 ms and more here), on the path to its send.

:class:`Checkpointer` takes that work to a thread of its own, with a connection of its
own: it runs a ``PASSIVE`` checkpoint (one that never waits for, nor blocks, the writer or
a reader) whenever 1,000 pages have been appended to the log since its last one (read
from the log file's size). sqlite3 releases the GIL while the checkpoint runs, so it
proceeds beside the event loop on another core.

The log starts again from its beginning at the first commit after a checkpoint that copied
all of it. A writer that commits without a pause leaves every pass of the thread a few
pages behind, so the writer's own automatic checkpoint stays on as a backstop, at four
times the limit (:data:`BACKSTOP`): it then copies only what the thread has not, and the
log starts again. What a commit guarantees does not change: a commit is in the log, and the
log is synced at least as often as SQLite's own checkpoints would sync it. Closing the
journal stops the thread first; the writer's connection, the last one, then checkpoints
what is left and removes the log, as before.

Should a checkpoint fail (a full disk, say), it is logged and tried again later; the
commits themselves go on, and report their own errors.
"""

from __future__ import annotations

import atexit
import logging
import os
import sqlite3
import threading
import weakref
from pathlib import Path

__all__ = ["BACKSTOP", "Checkpointer"]

log = logging.getLogger("venuekit.journal")

PAGES = 1000
"""The log's size, in pages, past which a checkpoint runs (SQLite's own default)."""

BACKSTOP = 4 * PAGES
"""The log's size, in pages, past which the writer's commit checkpoints (what is left)."""

INTERVAL = 0.02
"""Seconds between two looks at the log's size while it grows."""

IDLE_INTERVAL = 1.0
"""Seconds between two looks once it has stopped growing (the wait doubles up to this)."""


_running: weakref.WeakSet[Checkpointer] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """At interpreter exit, stop the threads of journals still open (a script that never
    closed its journal): a daemon thread caught writing to stderr while the interpreter
    finalizes aborts the process ("could not acquire lock for <stderr>")."""
    for checkpointer in list(_running):
        checkpointer.close()


class Checkpointer:
    """A thread that checkpoints the journal at ``path`` once its log passes ``pages``.

    ``synchronous`` and ``fullfsync`` are the writer's settings, so that a checkpoint syncs
    as the writer's own would have. :attr:`checkpoints` counts the checkpoints made."""

    def __init__(self, path: Path, *, synchronous: str, fullfsync: bool, page_size: int,
                 pages: int = PAGES, interval: float = INTERVAL) -> None:
        self.path = path
        self.checkpoints = 0
        self._wal = path.with_name(path.name + "-wal")
        self._threshold = pages * page_size
        self._copied = 0  # the log's size when this thread last checkpointed it
        self._size = 0
        self._interval = interval
        self._synchronous = synchronous
        self._fullfsync = fullfsync
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="venuekit-journal-checkpoint",
                                        daemon=True)
        self._thread.start()
        _running.add(self)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True,
                               isolation_level=None)
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        if self._fullfsync:
            conn.execute("PRAGMA checkpoint_fullfsync = ON")
        return conn

    def _appended(self) -> int:
        """Bytes of log appended since the last checkpoint this thread made (and the
        thread's note of the log's size: only the thread calls it), from the log
        file's size (``os.stat``: the thread never opens a file of the journal outside
        SQLite, which would drop the POSIX locks SQLite holds on it in this process). The
        writer's ``journal_size_limit`` of 0 truncates the log when it starts again, so a
        smaller size than last seen means a new log."""
        try:
            size = os.stat(self._wal).st_size
        except OSError:  # no log (yet, or any more)
            size = 0
        if size < self._copied:
            self._copied = 0
        self._size = size
        return size - self._copied

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        failing = False
        wait, last = self._interval, -1
        try:
            while not self._stop.wait(wait):
                pending = self._appended()
                # A journal at rest is looked at about once a second, a busy one every
                # interval: an idle bot's process is not woken fifty times a second.
                wait = self._interval if pending != last else min(wait * 2, IDLE_INTERVAL)
                last = pending
                if pending < self._threshold:
                    continue
                try:
                    if conn is None:
                        conn = self._connect()
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self._copied = self._size  # and what was appended meanwhile
                    self.checkpoints += 1
                    failing = False
                except sqlite3.Error as exc:
                    if not failing:  # once per spell of failures, not every interval
                        log.warning("journal checkpoint failed; will try again",
                                    extra={"journal": str(self.path),
                                           "cause": f"{type(exc).__name__}: {exc}"})
                    failing = True
        finally:
            if conn is not None:
                conn.close()

    def stop(self) -> None:
        """Ask the thread to stop, without waiting for it (for a journal dropped without
        being closed: see :class:`~.sqlite.SQLiteJournal`)."""
        self._stop.set()

    def close(self) -> None:
        """Stop the thread (after the checkpoint it may be running) and close its
        connection."""
        self._stop.set()
        _running.discard(self)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
