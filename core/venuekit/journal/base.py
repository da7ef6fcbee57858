"""The journal interface: the book of record every order is written to before it is sent.

A journal backend (embedded SQLite today, a server such as PostgreSQL later) keeps these
promises, which the rest of venuekit relies on:

* :meth:`Journal.create_order` allocates the client order id and commits the order with
  its NEW event in one transaction, durable before it returns. Nothing is sent to a venue
  before that.
* :meth:`Journal.append` records one lifecycle event and the order's new totals together:
  a reader never sees one without the other. It is durable when it returns.
* :meth:`Journal.append_behind` records an event the same way but lets it become durable
  with the next commit (the next create, batch, durable append, :meth:`Journal.flush` or
  :meth:`Journal.close`): one commit then carries the events of many orders. Commits keep
  their order, so the durable journal is always a prefix of what happened: a crash can
  lose only the latest events, of orders that were durably open before them, which
  recovery reconciles with the venue.
* Executions are stored once: a fill whose execution is already recorded is not stored
  again, and :meth:`Journal.append` says so instead of raising.
* An inferred fill is a placeholder: when a later fill event restates it (its data names
  the inferred fill, see :func:`venuekit.lifecycle.restatements`), the journal counts only
  the part no venue execution took over, in :meth:`Journal.fills` and in rebuilt orders.
* Orders read back (:meth:`Journal.get`, :meth:`Journal.open_orders`, :meth:`Journal.orders`)
  are rebuilt exactly: request, state, quantities as the same Decimals, fills, history,
  venue ids and the state a pending cancel or replace returns to.
* Runs (:mod:`venuekit.runs`) are stored with their items; an order created inside a run
  keeps its :class:`~venuekit.journal.runs.RunLink`, and :meth:`Journal.orders` finds a
  run's orders. Run writes are durable when they return.
* Errors are :class:`venuekit.errors.JournalError` with a ``JOURNAL_*`` code.
* A journal shared by several writers may *fence* this one (another process took over its
  orders): from then on every call raises ``JOURNAL_FENCED``, and the listeners given to
  :meth:`Journal.on_fenced` are told once, from whichever thread noticed.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Self

from ..errors import Code, error
from ..model import BracketRequest, Fill, Order, OrderEvent, OrderRequest, OrderState
from .ids import ClientIdRules
from .runs import Run, RunItem, RunKind, RunLink, RunState

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..errors import JournalError
    from .follow import Follower

__all__ = ["Journal"]


class Journal(abc.ABC):
    """Durable storage of orders, their lifecycle events and their fills."""

    @abc.abstractmethod
    def create_order(self, venue: str, request: OrderRequest, *, id_rules: ClientIdRules,
                     quantity: Decimal | None = None, limit_price: Decimal | None = None,
                     replaces: str | None = None, at: datetime | None = None,
                     submitted: bool = False, run: RunLink | None = None,
                     held: bool = False, bracket: BracketRequest | None = None,
                     parent: str | None = None, leg: str | None = None) -> Order:
        """Commit a new order and return it in state NEW, its ``id`` the client order id.

        ``quantity`` and ``limit_price`` are what will be sent (after quantization); None
        means the request's own. ``replaces`` links the order that this one replaces.
        ``at`` is the creation time (now by default). The order's history holds its NEW
        event (``seq`` 1), and the order is durable before this returns.

        With ``submitted`` the order is about to be sent: its SUBMIT event (``seq`` 2, at
        the creation time) is recorded with it, in the same commit, and it is returned
        SUBMITTED. This is the lifecycle's NEW -> SUBMITTED step, written with the order
        instead of as an update after it. ``run`` is the run item the order serves.

        With ``held`` the engine holds the order until its trigger fires: its HOLD event
        is recorded with it and it is returned HELD. ``bracket`` (on a bracket's entry)
        records its exits; ``parent`` and ``leg`` (on an exit) its entry and which exit
        it is. All of them are read back with the order.
        """

    @abc.abstractmethod
    def append(self, order: Order, event: OrderEvent) -> bool:
        """Record ``event`` (already applied to ``order``) and ``order``'s new totals.

        Returns False when the event carries a fill whose execution the journal already
        holds (for this or another order): the event is recorded, the execution is not
        stored twice, and a warning is logged. Returns True otherwise.
        """

    def append_behind(self, order: Order, event: OrderEvent) -> bool:
        """Record ``event`` like :meth:`append`; it becomes durable with the next commit.

        Use it only for an event that recovery can rebuild from the venue should the
        process die before that commit: an event of an order whose open state is already
        durable (an ack, a fill, a cancel). The default writes it durably at once.
        """
        return self.append(order, event)

    def flush(self) -> None:
        """Make every event written behind durable now (nothing to do by default)."""

    @property
    def pending(self) -> bool:
        """True while events written behind wait for a commit."""
        return False

    def batch(self) -> AbstractContextManager[None]:
        """Share one commit among the journal calls made inside ``with journal.batch():``.

        Each call stays atomic on its own (a failed call leaves no trace and raises as
        usual), but none is durable until the block exits, when a single commit makes them
        all durable, also when the block raises. Use it to journal a burst (many creates
        before a rebalance phase, the updates drained from a stream) at the cost of one
        disk flush. **Nothing created or submitted inside a batch may be sent to a venue
        before the block exits**, and if the exit raises, nothing in the batch was kept.
        Batches nest; the outermost commits.

        A backend without group commit may keep this default, which commits every call
        at once (durable earlier than required).
        """
        return nullcontext()

    @abc.abstractmethod
    def set_venue_order_id(self, order_id: str, venue_order_id: str, *,
                           behind: bool = False) -> None:
        """Record the id the venue gave the order (with ``behind``, durable with the next
        commit, as :meth:`append_behind`)."""

    @abc.abstractmethod
    def get(self, order_id: str) -> Order | None:
        """The order with client order id ``order_id``, or None."""

    @abc.abstractmethod
    def open_orders(self, venue: str | None = None) -> list[Order]:
        """Every order not in a terminal state (of ``venue``), oldest first: what recovery
        reconciles."""

    @abc.abstractmethod
    def venues(self) -> list[str]:
        """The venues the journal holds orders of, by name."""

    @abc.abstractmethod
    def orders(self, *, state: OrderState | Iterable[OrderState] | None = None,
               symbol: str | None = None, venue: str | None = None,
               since: datetime | None = None, until: datetime | None = None,
               limit: int | None = None, run_id: str | None = None) -> list[Order]:
        """Orders matching every filter given, newest first.

        ``since`` and ``until`` bound the creation time (``since`` inclusive, ``until``
        exclusive); ``limit`` keeps the newest ``limit`` orders; ``run_id`` keeps the orders
        of one run.
        """

    # runs ---------------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(self, *, kind: RunKind, venue: str, plan_hash: str, strategy: str,
                   items: Sequence[RunItem], correlation_id: str | None = None,
                   owner: str | None = None) -> Run:
        """Commit a new run in state RUNNING with its items; returns it with its id.

        Run ids are unique per journal (and across journals, like client order ids). The
        run is durable before this returns, so before any of its orders is created.
        """

    @abc.abstractmethod
    def update_run(self, run_id: str, *, state: RunState | None = None,
                   note: str | None = None, items: Sequence[RunItem] = (),
                   resumed_by: str | None = None) -> None:
        """Record a run's new state, note and items' targets and statuses; durable on return.

        ``note`` (when given) says why the run ended as it did; ``items`` replace the
        status and note of those items, and set their target unless one is recorded
        already (an item's target, once fixed, never changes). ``resumed_by`` (an owner such as
        ``pid 12 on host``) records a new session: the run is RUNNING again, its note
        cleared and its session count raised. Raises UNKNOWN_RUN for an unknown run.
        (It returns nothing: read the run back with :meth:`get_run` where needed; a run's
        writer keeps its own copy, and a rebalance writes its run three times.)
        """

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run | None:
        """The run with id ``run_id``, or None."""

    @abc.abstractmethod
    def runs(self, *, venue: str | None = None, plan_hash: str | None = None,
             kind: RunKind | None = None, state: RunState | Iterable[RunState] | None = None,
             limit: int | None = None) -> list[Run]:
        """Runs matching every filter given, newest first."""

    def venue_order_ids(self, venue: str, since: datetime) -> set[str]:
        """The venue order ids held by orders of ``venue`` created at or after ``since``,
        open or terminal: the venue orders a fingerprint lookup must not give to another.

        The default rebuilds those orders; a backend may answer from an index.
        """
        return {o.venue_order_id for o in self.orders(venue=venue, since=since)
                if o.venue_order_id}

    def children(self, entry: Order) -> list[Order]:
        """The exits of bracket ``entry`` (the orders naming it as their ``parent``), oldest
        first. The default reads the venue's orders created since the entry; a backend
        may answer from an index."""
        found = [o for o in self.orders(venue=entry.venue, since=entry.created_at)
                 if o.parent == entry.id]
        found.reverse()
        return found

    @abc.abstractmethod
    def fills(self, *, venue: str | None = None, symbol: str | None = None) -> list[Fill]:
        """Every recorded execution (each once), in execution-time order; an inferred fill
        with only its part that no venue execution restated, and none when nothing is left."""

    def on_fenced(self, listener: Callable[[JournalError], None]) -> None:
        """Call ``listener`` with the JOURNAL_FENCED error once this writer is fenced (at
        once if it already is). It may be called from any thread. A journal with a single
        writer (SQLite) is never fenced: the default keeps no listener."""
        return None

    def follow(self) -> Follower:
        """A :class:`~.follow.Follower` of the orders changed from now on by any process
        writing this journal (read-only journals may follow too); close it when done.
        A backend that offers none refuses with CAPABILITY_NOT_SUPPORTED."""
        raise error(Code.CAPABILITY_NOT_SUPPORTED,
                    f"the {type(self).__name__} journal cannot be followed: list its orders "
                    "with `venuekit orders` instead")

    @abc.abstractmethod
    def close(self) -> None:
        """Commit what was written behind, then release the storage; safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
