"""Wake-ups between the processes sharing a PostgreSQL book: LISTEN/NOTIFY as a hint.

A ``NOTIFY`` inside an order's transaction serializes every writer's commits (PostgreSQL
holds a cluster-wide lock from the notifying transaction's pre-commit until after its commit),
so the journal never sends one there. :class:`Notifier` sends ``NOTIFY venuekit_journal,
'<venue>'`` from a thread of its own, on the writer's lease connection (autocommit, never in
an order's transaction), after the order's commit returned, and at most once per
:data:`INTERVAL` per process: changes within one interval share one notice per venue, and
the last change of a burst is always followed by one (a quiet period ends with a notice).

A notice is only a hint that the book changed. :class:`PostgresFollower` (what
``PostgresJournal.follow()`` returns) LISTENs on a connection of its own, waits for a notice
or its timeout (a lost notice is covered by reading at the timeout), then reads the events
past what it has seen. ``events.gid`` is not commit-ordered (an earlier gid can commit
later), so it re-reads the gids of the last :data:`OVERLAP` seconds and drops the ``(order_id,
seq)`` it already reported.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["CHANNEL", "INTERVAL", "OVERLAP", "Notifier", "PostgresFollower"]

log = logging.getLogger("venuekit.journal")

CHANNEL = "venuekit_journal"
"""The channel every writer of a book notifies (one book per database)."""
INTERVAL = 0.05
"""At most one notice per venue per this many seconds from one process."""
OVERLAP = 5.0
"""Seconds of events a follower re-reads, for those committed out of gid order."""
PRIMED = 1024
"""Events below the book's last one, when a follower starts, that it re-reads too."""


def notify_statement(venues: list[str], quote: Callable[[str], str]) -> str:
    """One small transaction (one round trip) notifying ``venues``; it commits without
    waiting for the WAL flush (a lost notice only delays a follower to its timeout)."""
    notices = "".join(f"NOTIFY {CHANNEL}, {quote(venue)}; " for venue in venues)
    return f"BEGIN; SET LOCAL synchronous_commit TO off; {notices}COMMIT"


class Notifier:
    """Coalesced notices of one writer, sent on ``conn`` (autocommit) by a daemon thread."""

    def __init__(self, conn: Any, *, interval: float = INTERVAL) -> None:
        from psycopg import sql

        self._conn = conn
        self._interval = interval
        self._quote: Callable[[str], str] = lambda text: sql.Literal(text).as_string(conn)
        self._pending: set[str] = set()
        self._last = 0.0  # when the last notice was sent (monotonic)
        self._wake = threading.Condition()
        self._stopped = False
        self.sent = 0
        """How many notice transactions were sent (for tests and benchmarks)."""
        self._thread: threading.Thread | None = None

    def changed(self, venues: set[str]) -> None:
        """The transaction that changed orders of ``venues`` has committed: notify them
        within :data:`INTERVAL` (never waits for the server)."""
        if not venues:
            return
        with self._wake:
            if self._stopped:
                return
            self._pending |= venues
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="venuekit-journal-notify")
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                delay = self._last + self._interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._send()

    def _send(self) -> None:
        with self._wake:
            venues = sorted(self._pending)
            self._pending.clear()
            self._last = time.monotonic()
        if not venues:
            return
        try:
            self._conn.execute(notify_statement(venues, self._quote))
            self.sent += 1
        except Exception as exc:  # a hint: followers read at their timeout anyway
            log.debug("journal notice not sent", extra={"cause": repr(exc)})

    def stop(self) -> None:
        """Send what is pending, then stop the thread (before its connection closes)."""
        with self._wake:
            if self._stopped:
                return
            self._stopped = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=2)
        self._send()


class PostgresFollower:
    """The ids of the orders that changed in the whole book, as notices wake it.

    ``read`` runs the journal's read of ``(gid, order_id, seq)`` past a gid (on the journal's
    own connection); ``listen`` is a connection of the follower's own, closed with it.
    """

    def __init__(self, listen: Any, read: Callable[[int], list[tuple[int, str, int]]], *,
                 start: int) -> None:
        self._listen = listen
        self._read = read
        listen.execute(f"LISTEN {CHANNEL}")
        self._top = start  # the highest gid seen
        self._marks: deque[tuple[float, int]] = deque()  # (when, top then)
        # Every event at or below the floor committed before a read that saw it. Events
        # just below ``start`` may still commit: the last PRIMED are read as already seen.
        self._floor = max(start - PRIMED, 0)
        self._seen: dict[tuple[str, int], int] = {
            (order_id, seq): gid for gid, order_id, seq in read(self._floor) if gid <= start}
        self._marks.append((time.monotonic(), start))
        self.notices = 0
        """How many notices woke this follower."""

    def changes(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` seconds for a notice (at once if one is queued), then
        the ids of the orders with events not reported yet, oldest change first."""
        woken = 0
        for _ in self._listen.notifies(timeout=max(timeout, 0.0), stop_after=1):
            woken += 1
        if woken:  # and the others queued meanwhile: this read covers them
            woken += sum(1 for _ in self._listen.notifies(timeout=0.0))
        self.notices += woken
        return self.poll()

    def poll(self) -> list[str]:
        """The orders changed since the last read, without waiting."""
        now = time.monotonic()
        while self._marks and self._marks[0][0] <= now - OVERLAP:
            self._floor = self._marks.popleft()[1]
        changed: dict[str, None] = {}
        for gid, order_id, seq in self._read(self._floor):
            key = (order_id, seq)
            if key in self._seen:
                continue
            self._seen[key] = gid
            self._top = max(self._top, gid)
            changed[order_id] = None
        self._marks.append((now, self._top))
        if len(self._seen) > 4096:
            floor = self._floor
            self._seen = {key: gid for key, gid in self._seen.items() if gid > floor}
        return list(changed)

    def close(self) -> None:
        self._listen.close()
