"""What the journal keeps of a run: its intent, its items, its state, and the link from an
order to the run item it serves.

A *run* is one job of several orders that the CLI (or a program) starts: a rebalance plan,
or one ``venuekit order``. It is journaled before its first order, with the content hash
of its plan and each item's intent (symbol, action, and the quantity or notional asked
for). Every order the run sends carries a :class:`RunLink` (the run's id and the item's
index), so that after a crash the journal tells which orders served which item, how much
of each item already filled, and which working orders belong to a run nobody is running
any more.

The link travels with the work, not through every call: the code running an item sets
it with :func:`linked`, and the engine reads :func:`current_link` when it journals an
order. A task inherits the link of the code that created it, so a strategy's orders (its
re-pegs, its market fallback) are all linked to their item.

These are plain records, kept with the journal that stores them (and below everything that
journals orders); :mod:`venuekit.runs.book` decides what a run does next.
"""

from __future__ import annotations

import enum
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

__all__ = [
    "OWNER",
    "Run",
    "RunItem",
    "RunKind",
    "RunLink",
    "RunState",
    "current_link",
    "linked",
]


class RunKind(enum.StrEnum):
    REBALANCE = "rebalance"
    """A rebalance plan: sells, then buys."""
    ORDER = "order"
    """One ``venuekit order``: one item, one or more venue orders (re-pegs, fallbacks)."""


class RunState(enum.StrEnum):
    """Where a run stands. Every state but FINISHED can be resumed."""

    RUNNING = "running"
    """Started and not ended: running now, or its process died (recovery tells which)."""
    INTERRUPTED = "interrupted"
    """Stopped by SIGINT, SIGTERM or cancellation: its working orders were cancelled."""
    FAILED = "failed"
    """Stopped by an error before its end (the note says which)."""
    FINISHED = "finished"
    """Ran to its end; items may still be incomplete (a limit that timed out, say)."""

    @property
    def resumable(self) -> bool:
        return self is not RunState.FINISHED


class RunLink(NamedTuple):
    """The run and item an order serves: what the journal stores with the order."""

    run_id: str
    item: int


@dataclass(frozen=True, slots=True)
class RunItem:
    """One item of a run: what was asked for and, once sized, the quantity it trades.

    ``target`` is fixed, and journaled, before the item's first order is sent: a resumed
    run trades what is left of it (``target`` less what filled), never a fresh sizing that
    could add up to more than the plan.
    """

    index: int
    symbol: str
    action: str
    """``BUY``, ``SELL`` or ``HOLD``."""
    quantity: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    target: Decimal | None = None
    status: str | None = None
    """How the item ended in the latest session (an :class:`~venuekit.rebalance.ItemStatus`
    value), None until then."""
    note: str | None = None

    def with_target(self, target: Decimal) -> RunItem:
        return RunItem(self.index, self.symbol, self.action, self.quantity, self.notional,
                       self.limit_price, target, self.status, self.note)

    def ended(self, status: str, note: str | None) -> RunItem:
        """This item with how it ended in the latest session."""
        return RunItem(self.index, self.symbol, self.action, self.quantity, self.notional,
                       self.limit_price, self.target, status, note)


@dataclass(slots=True)
class Run:
    """A journaled run (see the module docstring)."""

    id: str
    kind: RunKind
    venue: str
    plan_hash: str
    strategy: str
    state: RunState
    created_at: datetime
    updated_at: datetime
    items: list[RunItem] = field(default_factory=list)
    correlation_id: str | None = None
    owner: str | None = None
    """Who ran it last: ``pid N on HOST``."""
    sessions: int = 1
    """How many times it was started: 1, plus one per resume."""
    finished_at: datetime | None = None
    note: str | None = None
    """Why it ended as it did (an interrupt, an error), or None."""

    @property
    def live(self) -> bool:
        """True while this process runs it. A journal has one writing process at a time (its
        write lock), so a run another process left RUNNING is one whose process is gone."""
        return self.state is RunState.RUNNING and self.owner == OWNER

    def item(self, index: int) -> RunItem:
        for item in self.items:
            if item.index == index:
                return item
        raise KeyError(f"run {self.id} has no item {index}")


OWNER = f"pid {os.getpid()} on {socket.gethostname()} ({secrets.token_hex(3)})"
"""This process, as the journal records the owner of the runs it runs. The random part
tells this process from an earlier one that had the same pid."""

_CURRENT: ContextVar[RunLink | None] = ContextVar("venuekit_run_link", default=None)


def current_link() -> RunLink | None:
    """The run item the running code works for, or None outside any run."""
    return _CURRENT.get()


@contextmanager
def linked(link: RunLink | None) -> Iterator[None]:
    """Orders journaled inside the block (and by tasks it starts) serve ``link``."""
    token = _CURRENT.set(link)
    try:
        yield
    finally:
        _CURRENT.reset(token)
