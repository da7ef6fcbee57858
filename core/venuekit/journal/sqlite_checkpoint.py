"""Checkpoints of the SQLite journal's write-ahead log, made off the writer's path.

In WAL mode a commit appends to the ``-wal`` file; a *checkpoint* copies those pages back
into the journal file, and it syncs both files to the disk (with ``durability="normal"``
the only syncs there are). Left to SQLite, the commit that takes the log past 1,000 pages
runs the checkpoint itself, so every few hundred orders one order waits the copy and the
syncs (3 ms and more here), on the path to its send.

:class:`Checkpointer` takes that work to a thread of its own, with a connection of its
own: it runs a ``PASSIVE`` checkpoint (one that never waits for, nor blocks, the writer or
a reader) once about 1,000 pages have been appended to the log since its last one.
sqlite3 releases the GIL while the checkpoint runs, so it proceeds beside the event loop
on another core.

How much was appended is counted, not read from a file: the writer counts its commits,
and each checkpoint reports how many pages the log holds, so the thread learns the pages
per commit and checkpoints after the commits that make about 1,000 pages. The thread never
opens a file of the journal outside SQLite (closing any descriptor of a file drops the
POSIX locks SQLite holds on it in this process), and the log file keeps its size when it
starts again (up to twice the backstop's, below): commits then overwrite blocks the file
already has, and with ``durability="full"`` their syncs need not also record a file that
grew (a quarter fewer orders per second when the log was cut back to nothing at every
restart).

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
import sqlite3
import threading
import weakref
from pathlib import Path

__all__ = ["BACKSTOP", "WAL_FRAME_HEADER", "Checkpointer", "Commits"]

log = logging.getLogger("venuekit.journal")

PAGES = 1000
"""Pages appended to the log after which the thread checkpoints (SQLite's own default)."""

BACKSTOP = 4 * PAGES
"""The log's size, in pages, past which the writer's commit checkpoints (what is left)."""

WAL_FRAME_HEADER = 24
"""Bytes in the log before each page it holds."""

PAGES_PER_COMMIT = 8.0
"""What the thread assumes a commit appends until its first checkpoint tells it."""

INTERVAL = 0.02
"""Seconds between two looks at the writer's commits while it commits."""

IDLE_INTERVAL = 1.0
"""Seconds between two looks once the writer has stopped committing (the wait doubles up
to this)."""


_running: weakref.WeakSet[Checkpointer] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """At interpreter exit, stop the threads of journals still open (a script that never
    closed its journal): a daemon thread caught writing to stderr while the interpreter
    finalizes aborts the process ("could not acquire lock for <stderr>")."""
    for checkpointer in list(_running):
        checkpointer.close()


class Commits:
    """The writer's count of its commits, which it shares with its checkpoint thread (not
    the journal itself: the thread must not keep a dropped journal alive)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class Checkpointer:
    """A thread that checkpoints the journal at ``path`` once about ``pages`` pages were
    appended to its log.

    ``commits`` is the writer's count of its commits. ``synchronous`` and ``fullfsync``
    are the writer's settings, so that a checkpoint syncs as the writer's own would have.
    :attr:`checkpoints` counts the checkpoints made."""

    def __init__(self, path: Path, commits: Commits, *, synchronous: str,
                 fullfsync: bool, pages: int = PAGES, interval: float = INTERVAL) -> None:
        self.path = path
        self.checkpoints = 0
        self._commits = commits
        self._pages = pages
        # Pages per commit, learnt at each checkpoint; until the first, a guess on the
        # high side (an order's commit appends about six), so that the first comes early.
        self._per_commit = PAGES_PER_COMMIT
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

    def _learn(self, commits: int, logged: int, logged_before: int) -> None:
        """Learn the pages per commit from a checkpoint that found ``logged`` pages in the
        log, ``commits`` commits after the last one (which found ``logged_before``).

        A log that holds fewer pages than before started again in between. One that holds
        more either grew from where it was (a writer that commits without a pause: the
        checkpoint never catches up, and only the backstop starts the log again) or started
        again and grew past it (a writer that paused while a checkpoint copied it all):
        whichever reading is nearer what was learnt so far is taken. The writer's backstop
        may also have started the log again unseen, which hides pages: so the estimate
        falls slowly (a tenth per checkpoint at most) and rises at once. Too high, it only
        brings the next checkpoint earlier."""
        if commits <= 0 or logged <= 0:
            return
        anew = logged / commits
        if logged >= logged_before:
            grew = (logged - logged_before) / commits
            if abs(grew - self._per_commit) < abs(anew - self._per_commit):
                anew = grew
        self._per_commit = max(anew, self._per_commit * 0.9, 1.0)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        failing = False
        wait = self._interval
        seen = done = self._commits.count  # commits at the last look, at the last checkpoint
        logged_before = 0  # pages in the log at the last checkpoint
        try:
            while not self._stop.wait(wait):
                commits = self._commits.count
                # A journal at rest is looked at about once a second, a busy one every
                # interval: an idle bot's process is not woken fifty times a second.
                wait = self._interval if commits != seen else min(wait * 2, IDLE_INTERVAL)
                seen = commits
                if (commits - done) * self._per_commit < self._pages:
                    continue
                try:
                    if conn is None:
                        conn = self._connect()
                    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    logged = row[1]
                    self._learn(commits - done, logged, logged_before)
                    done, logged_before = commits, max(logged, 0)
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
