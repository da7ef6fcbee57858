"""Writers of the PostgreSQL journal: registering, the lease, fencing and takeover.

Each journal opened for writing is a *writer*: a ``writers`` row (host, pid, the backends of
its two connections, venues, heartbeat, epoch, live). It holds a lease:

* a session advisory lock ``(LOCK_NAMESPACE, writer id)`` on a dedicated connection, which
  the server frees when that session ends (the process died: measured 6-14 ms after
  ``kill -9``);
* a heartbeat thread on that connection, every ``lease / 3`` seconds, which also notices
  when the writer was fenced.

Every write checks the writer's standing in its own statement (:data:`FENCE`, or a
``FOR SHARE`` lock on the writer's row in a create), so a writer that lost its lease is
refused by the database, not by its own good behaviour. A takeover (:func:`adopt`) runs in
one transaction: it retires the dead writer (``live = false``, ``epoch + 1``) and moves its
open orders on the adopter's venues, and its unfinished runs there, to the adopter. Orders
of dead writers on other venues stay where they are, for a writer serving those venues to
claim (``FOR UPDATE SKIP LOCKED``: concurrent claimers take disjoint sets).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .postgres_schema import LOCK_NAMESPACE

__all__ = ["FENCE", "Adopted", "Lease", "adopt", "claim_orphans", "register", "retire",
           "standing"]

log = logging.getLogger("venuekit.journal")

_beating: weakref.WeakSet[Lease] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """At interpreter exit, stop the heartbeats of journals still open (a script that never
    closed its journal): a daemon thread that finds its connection gone while the
    interpreter finalizes would log it, and a thread caught writing to stderr then aborts
    the process ("could not acquire lock for <stderr>")."""
    for lease in list(_beating):
        lease.stop()

FENCE = " AND owner = ? AND EXISTS (SELECT 1 FROM writers WHERE id = ? AND epoch = ? AND live)"
"""Added to every update of an order's row: this writer owns it and still stands."""

_TERMINATE_WAIT = 5.0  # seconds to wait for a terminated writer's lock to be freed


def register(lease_conn: Any, journal_pid: int, host: str, pid: int,
             venues: Sequence[str]) -> tuple[int, int]:
    """Insert this process's writer row and take its lease lock; returns (id, epoch).

    Both happen in one transaction, so the row becomes visible to other writers only with
    its lock already held (a session lock outlives the transaction that took it). Inserted
    first and locked after, a writer opening at the same moment could find the row live
    with its lock free, take it for a dead writer's and retire it."""
    lease_conn.execute("BEGIN")
    try:
        row = lease_conn.execute(
            "INSERT INTO writers (host, pid, backend_pid, journal_pid, venues) "
            "VALUES (%s, %s, pg_backend_pid(), %s, %s) RETURNING id, epoch",
            (host, pid, journal_pid, list(venues))).fetchone()
        writer_id, epoch = int(row[0]), int(row[1])
        lease_conn.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, writer_id))
        lease_conn.execute("COMMIT")
    except BaseException:
        lease_conn.execute("ROLLBACK")
        raise
    return writer_id, epoch


def standing(conn: Any, writer_id: int, epoch: int) -> str | None:
    """None while the writer stands; else why it was fenced."""
    row = conn.execute("SELECT epoch, live FROM writers WHERE id = %s",
                       (writer_id,)).fetchone()
    if row is None:
        return f"writer {writer_id} is not registered"
    if row[0] != epoch:
        return (f"writer {writer_id} was taken over (its epoch is {row[0]}, this process "
                f"holds {epoch})")
    if not row[1]:
        return f"writer {writer_id} was retired"
    return None


def retire(conn: Any, writer_id: int, epoch: int) -> None:
    """Mark the writer not live (closed cleanly): its open orders become claimable."""
    conn.execute("UPDATE writers SET live = false, epoch = epoch + 1 "
                 "WHERE id = %s AND epoch = %s AND live", (writer_id, epoch))


class Lease:
    """The heartbeat thread of one writer (on the lease connection).

    ``on_lost`` is called once, from the thread that noticed, with why the lease is lost
    (the writer was fenced, or the lease connection is gone). :meth:`fresh` says whether
    the last heartbeat is recent enough that no other writer can have taken this one over
    for a late heartbeat; :meth:`renew` beats at once (the journal does, before a write,
    when the process was stopped or starved past that point)."""

    def __init__(self, conn: Any, writer_id: int, epoch: int, seconds: float,
                 on_lost: Callable[[str], None] | None = None) -> None:
        self.conn = conn
        self.writer_id = writer_id
        self.epoch = epoch
        self.seconds = seconds
        self.lost: str | None = None
        """Why the lease was lost (fenced, or its connection gone); None while held."""
        self._on_lost = on_lost
        self._renewed = time.monotonic()  # when the last heartbeat that held was sent
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"venuekit-lease-{writer_id}",
                                        daemon=True)
        self._thread.start()
        _beating.add(self)

    def fresh(self) -> bool:
        """True while the last heartbeat that held was sent less than two thirds of the
        lease ago: another writer takes this one over only once its heartbeat is older than
        the whole lease (the last third is the margin for clocks and round trips)."""
        return self.lost is None and time.monotonic() - self._renewed < self.seconds * 2 / 3

    def renew(self) -> bool:
        """Beat now; False (and :attr:`lost` set) when the lease is lost."""
        if self.lost is not None:
            return False
        sent = time.monotonic()
        try:
            done = self.conn.execute(
                "UPDATE writers SET heartbeat_at = now() WHERE id = %s AND epoch = %s "
                "AND live", (self.writer_id, self.epoch)).rowcount
        except Exception as exc:  # the connection is gone: the lock with it
            self._lose(f"the lease connection was lost ({type(exc).__name__}: "
                       f"{str(exc).strip()})")
            return False
        if done != 1:
            try:
                reason = standing(self.conn, self.writer_id, self.epoch) or "fenced"
            except Exception:
                reason = "fenced"
            self._lose(reason)
            return False
        with self._lock:
            self._renewed = max(self._renewed, sent)
        return True

    def _lose(self, reason: str) -> None:
        with self._lock:
            if self.lost is not None:
                return
            self.lost = reason
        if self._on_lost is not None:
            self._on_lost(reason)

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            if not self.renew():
                return

    def stop(self) -> None:
        self._stop.set()
        _beating.discard(self)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


@dataclass(frozen=True)
class Adopted:
    """What one takeover moved to this writer."""

    writer_id: int
    host: str
    pid: int
    orders: list[str]
    runs: list[str]
    terminated: bool


def _take_lock(lease_conn: Any, other: int) -> bool:
    row = lease_conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                             (LOCK_NAMESPACE, other)).fetchone()
    return bool(row[0])


def adopt(conn: Any, lease_conn: Any, me: int, epoch: int, venues: Sequence[str],
          lease_seconds: float) -> list[Adopted]:
    """Retire every other live writer whose lease is gone, moving its open orders (and
    unfinished runs) on ``venues`` to ``me``; a writer whose heartbeat is older than the
    lease but still holds its lock (hung, stopped, cut off) has its backends terminated
    first. ``conn`` is the journal's connection, outside a transaction."""
    others = conn.execute(
        "SELECT id, host, pid, backend_pid, journal_pid, "
        "extract(epoch FROM now() - heartbeat_at) FROM writers WHERE live AND id <> %s",
        (me,)).fetchall()
    adopted: list[Adopted] = []
    for other, host, pid, backend_pid, journal_pid, age in others:
        terminated = False
        if not _take_lock(lease_conn, other):
            if age is None or float(age) <= lease_seconds:
                continue  # alive: its lease holds
            conn.execute("SELECT pg_terminate_backend(p) FROM unnest(%s::int[]) AS p "
                         "WHERE p <> pg_backend_pid()", ([backend_pid, journal_pid],))
            terminated = True
            deadline = time.monotonic() + _TERMINATE_WAIT
            while not _take_lock(lease_conn, other):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            else:
                deadline = 0.0
            if deadline:
                log.warning("journal writer could not be taken over",
                            extra={"writer_id": other, "host": host, "pid": pid})
                continue
        try:
            moved = _move(conn, me, epoch, other, venues)
        finally:
            lease_conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, other))
        if moved is not None:
            adopted.append(Adopted(other, host, pid, moved[0], moved[1], terminated))
    return adopted


def _move(conn: Any, me: int, epoch: int, other: int,
          venues: Sequence[str]) -> tuple[list[str], list[str]] | None:
    conn.execute("BEGIN")
    try:
        mine = conn.execute("SELECT 1 FROM writers WHERE id = %s AND epoch = %s AND live "
                            "FOR SHARE", (me, epoch)).fetchone()
        retired = conn.execute("UPDATE writers SET live = false, epoch = epoch + 1 "
                               "WHERE id = %s AND live", (other,)).rowcount
        if mine is None or retired != 1:
            conn.execute("ROLLBACK")
            return None
        orders = [r[0] for r in conn.execute(
            "UPDATE orders SET owner = %s WHERE owner = %s AND closed_at IS NULL "
            "AND venue = ANY(%s) RETURNING id", (me, other, list(venues))).fetchall()]
        runs = [r[0] for r in conn.execute(
            "UPDATE runs SET writer = %s WHERE writer = %s AND state <> 'finished' "
            "AND venue = ANY(%s) RETURNING id", (me, other, list(venues))).fetchall()]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return orders, runs


def claim_orphans(conn: Any, me: int, epoch: int, venues: Sequence[str],
                  limit: int = 1000) -> list[str]:
    """Claim open orders (and unfinished runs) on ``venues`` whose owner is retired; rows
    another claimer holds are skipped (``SKIP LOCKED``), so concurrent claims are disjoint.
    ``conn`` is the journal's connection, outside a transaction."""
    claimed: list[str] = []
    while True:
        rows = conn.execute(
            "UPDATE orders SET owner = %(me)s WHERE seq IN ("
            "SELECT o.seq FROM orders o JOIN writers w ON w.id = o.owner "
            "WHERE o.closed_at IS NULL AND NOT w.live AND o.venue = ANY(%(venues)s) "
            "ORDER BY o.created_at, o.seq LIMIT %(limit)s FOR UPDATE OF o SKIP LOCKED) "
            "AND EXISTS (SELECT 1 FROM writers WHERE id = %(me)s AND epoch = %(epoch)s "
            "AND live) RETURNING id",
            {"me": me, "epoch": epoch, "venues": list(venues), "limit": limit}).fetchall()
        claimed += [r[0] for r in rows]
        if len(rows) < limit:
            break
    conn.execute(
        "UPDATE runs SET writer = %(me)s WHERE id IN (SELECT r.id FROM runs r "
        "JOIN writers w ON w.id = r.writer WHERE r.state <> 'finished' AND NOT w.live "
        "AND r.venue = ANY(%(venues)s) FOR UPDATE OF r SKIP LOCKED)",
        {"me": me, "venues": list(venues)})
    return claimed
