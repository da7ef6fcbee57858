"""Following a journal's changes from every process writing it (``Journal.follow()``).

A :class:`Follower`'s :meth:`~Follower.changes` waits up to a timeout and returns the ids of
the orders that changed since its last call (each once per call, oldest change first). On
PostgreSQL it is woken by the writers' notices (:mod:`.postgres_notify`); on SQLite
(:class:`PollingFollower`) it polls the events table, whose single writer appends in commit
order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["POLL", "Follower", "PollingFollower", "SQLiteChanges"]

POLL = 0.2
"""How often (seconds) a polling follower reads the journal while it waits."""


class Follower(Protocol):
    def changes(self, timeout: float) -> list[str]:
        """The ids of the orders changed since the last call, waiting up to ``timeout``
        seconds for one."""
        ...

    def close(self) -> None: ...


class PollingFollower:
    """A follower that calls ``read()`` (the ids of the orders changed since its last call)
    every :data:`POLL` seconds until something changed or the timeout passed."""

    def __init__(self, read: Callable[[], list[str]], *, poll: float = POLL) -> None:
        self._read = read
        self._poll = poll

    def changes(self, timeout: float) -> list[str]:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            changed = self._read()
            left = deadline - time.monotonic()
            if changed or left <= 0:
                return changed
            time.sleep(min(self._poll, left))

    def close(self) -> None:
        pass


_WATCHED = (
    "SELECT o.id, o.seq, o.closed_at IS NULL, "
    "(SELECT max(e.seq) FROM events AS e WHERE e.order_id = o.id) "
    "FROM orders AS o WHERE o.closed_at IS NULL OR o.seq > ? "
    "OR o.id IN (SELECT value FROM json_each(?)) ORDER BY o.seq")


class SQLiteChanges:
    """What changed in an SQLite journal since the last call: its orders created since, and
    its open orders (and those that were open at the last call), whose last event moved.

    ``query`` runs a statement on a consistent view of the journal and returns its rows.
    """

    def __init__(self, query: Callable[[str, tuple[object, ...]], list[tuple[object, ...]]]
                 ) -> None:
        self._query = query
        rows = query("SELECT coalesce(max(seq), 0) FROM orders", ())
        self._after = int(rows[0][0])  # type: ignore[call-overload]
        self._last: dict[str, int] = {}
        self._open: list[str] = []
        self._started = False
        self()  # the starting point: nothing before it is reported
        self._started = True

    def __call__(self) -> list[str]:
        rows = self._query(_WATCHED, (self._after, json.dumps(self._open)))
        changed: list[str] = []
        last: dict[str, int] = {}
        still_open: list[str] = []
        for order_id, order_seq, is_open, event_seq in rows:
            name, seq = str(order_id), int(event_seq or 0)  # type: ignore[call-overload]
            last[name] = seq
            if is_open:
                still_open.append(name)
            self._after = max(self._after, int(order_seq))  # type: ignore[call-overload]
            if self._started and self._last.get(name) != seq:
                changed.append(name)
        self._last = last
        self._open = still_open
        return changed
