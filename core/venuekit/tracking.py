"""The order tracker: the one place where lifecycle events are applied to live orders.

Every change to a tracked order goes through :class:`OrderTracker`: the lifecycle decides
whether the event is legal, the journal records it, observers hear about it, and anything
waiting on the order is woken. Fills for an order the tracker does not know yet (a stream
fill that overtakes the submit response) are buffered by venue and client order id and
applied as soon as the order is known.

Memory stays proportional to the open orders, not to every order ever placed: an order
that reaches a terminal state leaves the tracker once the event is journaled. Late events
still find it: while any caller holds the order object the tracker reaches it through a
weak reference, and a fill for an order it no longer holds is matched by client order id
against the journal, rebuilt from there and recorded (a fill after a cancel, an expiry or
a replace counts; see :mod:`venuekit.lifecycle`).

Journal writes. Before an order is sent, its NEW and SUBMIT events are committed by the
engine. Every later event of an order whose open state is already durable is written
behind (:meth:`Journal.append_behind`): it becomes durable with the next commit, at the
latest ``flush_after`` seconds later, so that one commit carries the events of many
orders. A crash can lose only such events, and recovery rebuilds them from the venue
because their order is still open in the journal. An event of an order that the journal
already holds as terminal (a late fill) is committed at once, because recovery does not
revisit terminal orders; and when observers are registered, an event is durable before
they hear of it.

One object per order. Events are numbered from the order object's history, and the
journal takes each number once: two live objects for one order would both number their
next event alike, and the second write would be refused (its events dropped). So every
live order object is known here, from the moment it is journaled: tracked (open),
*held* (journaled and on its way but not tracked yet: a replacement whose size the venue
has not confirmed), or retired (terminal, while someone holds it). An order is rebuilt
from the journal only when no live object exists (:meth:`OrderTracker.live`); a fill for a
held order waits in the buffer until it is tracked.

The tracker does no I/O with the venue; :mod:`venuekit.reconcile` does.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING

from . import lifecycle
from .lifecycle import TERMINAL, Applied, EventKind, OrderEventRecord, Result
from .model import Fill, Order, OrderEvent, OrderState

if TYPE_CHECKING:
    from .errors import VenueKitError
    from .journal.base import Journal
    from .plugins import PluginHost

__all__ = ["OrderTracker"]

log = logging.getLogger("venuekit.tracking")

FLUSH_AFTER = 0.05
"""Seconds within which an event written behind is committed when no other commit comes."""

# Read once: on Python 3.11 each read of a member through its enum class is a call.
_APPLIED, _OVERFILL = Result.APPLIED, Result.OVERFILL

MAX_BUFFERED = 10_000
"""Fills for unknown orders kept at most (the oldest are dropped, with a warning)."""

SWEEP_RETIRED = 1_000
"""References to retired orders kept before the dead ones are first swept away."""


class OrderTracker:
    """Live orders of one venue, kept in step with the journal."""

    def __init__(self, venue: str, journal: Journal, host: PluginHost | None = None, *,
                 flush_after: float = FLUSH_AFTER) -> None:
        self.venue = venue
        self.journal = journal
        self.host = host
        self.flush_after = flush_after
        self._flush_scheduled = False
        self._orders: dict[str, Order] = {}
        self._by_venue_id: dict[str, Order] = {}
        # Terminal orders that left the tracker, reachable while someone holds them: weak
        # references by client and by venue order id. Plain dicts sharing the order's one
        # reference cost less per order than a WeakValueDictionary (a keyed reference per
        # entry, and a callback per entry when the order dies); references to orders gone
        # are swept once the tables have doubled since the last sweep (:meth:`forget`).
        self._retired: dict[str, weakref.ref[Order]] = {}
        self._retired_by_venue_id: dict[str, weakref.ref[Order]] = {}
        self._sweep_at = SWEEP_RETIRED
        # Orders journaled and live but not tracked yet (see hold()), by client order id.
        self._held: dict[str, weakref.ref[Order]] = {}
        self._buffered: dict[str, list[Fill]] = {}
        self._versions: dict[str, int] = {}
        self._waiters: dict[str, list[asyncio.Future[bool]]] = {}
        self.overfills: list[tuple[str, Fill, str]] = []
        self.duplicate_executions: list[tuple[str, Fill]] = []
        # How a venue's "cancelled" is recorded for an order cancelled for a reason of
        # ours: a strategy whose deadline passed records TIMEOUT, not CANCELLED.
        self.cancel_as: dict[str, EventKind] = {}
        # Old order id -> the id of the order replacing it, set before the replace is sent.
        self.replacements: dict[str, str] = {}
        self.stopped: VenueKitError | None = None
        """Why the tracker stopped for good (the journal fenced this writer): every wait
        raises it. None while it runs."""

    # registry -----------------------------------------------------------------------
    def hold(self, order: Order) -> None:
        """Know ``order`` (journaled, on its way) before it is tracked: until
        :meth:`track`, fills for it wait in the buffer and nothing rebuilds it from the
        journal (a replacement, tracked once the venue says what it kept open)."""
        self._held[order.id] = weakref.ref(order)

    def live(self, order_id: str) -> Order | None:
        """The live object of order ``order_id``: tracked, held or retired; None when no
        object of it is alive (it may then be rebuilt from the journal)."""
        order = self._orders.get(order_id)
        if order is not None:
            return order
        for table in (self._held, self._retired):
            ref = table.get(order_id)
            if ref is not None:
                found = ref()
                if found is not None:
                    return found
        return None

    def track(self, order: Order) -> None:
        if self._held:
            self._held.pop(order.id, None)
        self._orders[order.id] = order
        if order.venue_order_id:
            self._by_venue_id[order.venue_order_id] = order
        if self._buffered:
            self._drain_buffer(order)
        if order.state in TERMINAL:
            self.forget(order)

    def track_recorded(self, order: Order) -> None:
        """Track ``order``, whose latest event the journal recorded as it created it (the
        SUBMIT of an order created as sent): observers hear of that event, as of any other.
        """
        self.track(order)
        if self.host is not None and self.host.has_order_observers() and len(order.history) > 1:
            self._announce(order, order.history[-1], order.history[-2].state)

    def forget(self, order: Order) -> None:
        """Stop tracking a terminal order (its record stays in the journal).

        The order stays reachable for late events while any caller holds it.
        """
        order_id = order.id
        self._orders.pop(order_id, None)
        self._versions.pop(order_id, None)
        self._waiters.pop(order_id, None)
        self.cancel_as.pop(order_id, None)
        self.replacements.pop(order_id, None)
        ref = weakref.ref(order)
        self._retired[order_id] = ref
        venue_order_id = order.venue_order_id
        if venue_order_id:
            self._by_venue_id.pop(venue_order_id, None)
            self._retired_by_venue_id[venue_order_id] = ref
        if len(self._retired) + len(self._retired_by_venue_id) > self._sweep_at:
            self._sweep_retired()

    def _sweep_retired(self) -> None:
        """Drop the references to retired orders nobody holds any more."""
        for table in (self._retired, self._retired_by_venue_id, self._held):
            for key in [key for key, ref in table.items() if ref() is None]:
                del table[key]
        # Sweeping again only after doubling keeps the cost per order constant.
        self._sweep_at = max(SWEEP_RETIRED,
                             2 * (len(self._retired) + len(self._retired_by_venue_id)))

    def get(self, order_id: str) -> Order | None:
        """The tracked (open) order with client order id ``order_id``."""
        return self._orders.get(order_id)

    def find(self, *, client_order_id: str | None = None,
             venue_order_id: str | None = None) -> Order | None:
        """The order these ids name: a tracked one, or a retired one someone still holds."""
        if venue_order_id:
            order = self._by_venue_id.get(venue_order_id)
            if order is not None:
                return order
        if client_order_id:
            order = self._orders.get(client_order_id)
            if order is not None:
                return order
        if venue_order_id:
            ref = self._retired_by_venue_id.get(venue_order_id)
            if ref is not None:
                order = ref()
                if order is not None:
                    return order
        if client_order_id:
            ref = self._retired.get(client_order_id)
            if ref is not None:
                return ref()
        return None

    def __iter__(self) -> Iterator[Order]:
        return iter(list(self._orders.values()))

    def __len__(self) -> int:
        return len(self._orders)

    def open_orders(self) -> list[Order]:
        return [o for o in self._orders.values() if not o.state.is_terminal]

    def claimed_venue_ids(self) -> set[str]:
        return set(self._by_venue_id)

    # changes ------------------------------------------------------------------------
    def set_venue_order_id(self, order: Order, venue_order_id: str) -> None:
        if order.venue_order_id == venue_order_id:
            return
        if order.venue_order_id:
            self._by_venue_id.pop(order.venue_order_id, None)
        order.venue_order_id = venue_order_id
        if order.id in self._orders:
            self._by_venue_id[venue_order_id] = order
        else:
            self._retired_by_venue_id[venue_order_id] = weakref.ref(order)
        # A lookup by client order id or fingerprint finds the venue id again: written behind.
        self.journal.set_venue_order_id(order.id, venue_order_id, behind=True)
        if not self._flush_scheduled:
            self._schedule_flush()
        if self._buffered:
            self._drain_buffer(order)
        self._wake(order)

    def apply(self, order: Order, kind: EventKind, *, reason: str | None = None,
              data: dict[str, str] | None = None) -> Applied:
        previous = order.state
        applied = lifecycle.apply(order, kind, reason=reason, data=data)
        if applied.result is _APPLIED and applied.event is not None:
            self._committed(order, applied, previous)
        return applied

    def apply_fill(self, order: Order, fill: Fill) -> Applied:
        previous = order.state
        applied = lifecycle.apply_fill(order, fill)
        if applied.result is _APPLIED and applied.event is not None:
            self._committed(order, applied, previous)
        elif applied.result is _OVERFILL:
            self.overfills.append((order.id, fill, applied.reason or ""))
        return applied

    def on_fill(self, fill: Fill) -> Applied | None:
        """A fill from the venue: apply it to its order, or buffer it until the order is known.

        Returns None when the fill was buffered.
        """
        order = self.find(client_order_id=fill.client_order_id,
                          venue_order_id=fill.venue_order_id)
        if order is None:
            order = self._from_journal(fill.client_order_id)
        if order is None:
            self._buffer(fill)
            return None
        return self.apply_fill(order, fill)

    def _from_journal(self, client_order_id: str | None) -> Order | None:
        """A terminal order of this venue that left the tracker, rebuilt from the journal
        (unless a live object of it exists: a held order's fills wait for it)."""
        if not client_order_id:
            return None
        held = self._held.get(client_order_id)
        if held is not None:
            if held() is not None:
                return None
            del self._held[client_order_id]
        order = self.journal.get(client_order_id)
        if order is None or order.venue != self.venue or not order.state.is_terminal:
            return None  # not ours, or not tracked yet (a replacement being sent)
        self.forget(order)  # reachable by its ids while the fill is applied
        return order

    def _buffer(self, fill: Fill) -> None:
        buffered = self._buffered
        for key in (fill.venue_order_id, fill.client_order_id):
            if key:
                buffered.setdefault(key, []).append(fill)
        while len(buffered) > MAX_BUFFERED:
            dropped = buffered.pop(next(iter(buffered)))
            log.warning("dropped buffered fills of an order never seen",
                        extra={"trade_ids": [f.trade_id for f in dropped]})
        if log.isEnabledFor(logging.DEBUG):
            log.debug("buffered fill for an unknown order",
                      extra={"trade_id": fill.trade_id, "venue_order_id": fill.venue_order_id,
                             "client_order_id": fill.client_order_id})

    def _drain_buffer(self, order: Order) -> None:
        if not self._buffered:
            return
        fills: list[Fill] = []
        for key in (order.venue_order_id, order.id):
            if key and key in self._buffered:
                fills.extend(self._buffered.pop(key))
        seen: set[str] = set()
        for fill in fills:
            if fill.trade_id not in seen:
                seen.add(fill.trade_id)
                self.apply_fill(order, fill)

    def _committed(self, order: Order, applied: Applied, previous: OrderState) -> None:
        event = applied.event
        assert event is not None
        journal = self.journal
        host = self.host
        observed = host is not None and host.has_order_observers()
        if previous in TERMINAL:
            recorded = journal.append(order, event)  # recovery would not revisit it
        else:
            recorded = journal.append_behind(order, event)
            if observed:
                journal.flush()  # durable before anyone hears of it
            elif not self._flush_scheduled:
                self._schedule_flush()
        if not recorded and event.fill is not None:
            # The execution is already booked (for this or another order): say so.
            self.duplicate_executions.append((order.id, event.fill))
        if observed:
            self._announce(order, event, previous)
        self._wake(order)
        if order.state in TERMINAL and order.id in self._orders:
            self.forget(order)

    def _announce(self, order: Order, event: OrderEvent, previous: OrderState) -> None:
        """Tell the observers of order events about ``event`` (already durable)."""
        assert self.host is not None
        self.host.order_event(OrderEventRecord(
            order_id=order.id, venue=self.venue, symbol=order.symbol, kind=event.kind,
            state=event.state, previous_state=previous, seq=event.seq, at=event.at,
            fill=event.fill, reason=event.reason))

    # durability ---------------------------------------------------------------------
    def _schedule_flush(self) -> None:
        if self._flush_scheduled or not self.journal.pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop to flush later: flush now
            self.journal.flush()
            return
        self._flush_scheduled = True
        loop.call_later(self.flush_after, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self.stopped is not None:
            return
        try:
            self.journal.flush()
        except Exception:
            if self.stopped is not None:
                return  # fenced meanwhile: said once, by the journal and the engine
            # The next commit retries; recovery rebuilds what a crash would lose meanwhile.
            log.exception("could not commit the events written behind",
                          extra={"venue": self.venue})

    def flush(self) -> None:
        """Commit every event written behind now."""
        self.journal.flush()

    # waiting ------------------------------------------------------------------------
    def stop(self, exc: VenueKitError) -> None:
        """Stop for good with ``exc``: every wait on an order, now or later, raises it."""
        self.stopped = exc
        waiting, self._waiters = self._waiters, {}
        for waiters in waiting.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)

    def version(self, order: Order) -> int:
        """A counter that grows whenever ``order`` changes (for race-free waiting)."""
        return self._versions.get(order.id, 0)

    def _wake(self, order: Order) -> None:
        self._versions[order.id] = self._versions.get(order.id, 0) + 1
        waiters = self._waiters.pop(order.id, None)
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(True)

    async def wait_for_change(self, order: Order, since: int, timeout: float) -> bool:
        """Wait until ``order`` changed after version ``since``; False on timeout.

        Read :meth:`version` before checking the order, then wait with it: a change that
        happens in between is not missed.
        """
        if self.stopped is not None:
            raise self.stopped
        if self.version(order) != since:
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        waiters = self._waiters.setdefault(order.id, [])
        waiters.append(waiter)
        # A timer on the future itself: asyncio.wait_for would add a second future and
        # callbacks to every wait, and settling waits once or twice per order.
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            changed = await waiter
        finally:
            timer.cancel()
            if waiter in waiters:  # timed out or cancelled: _wake did not take it
                waiters.remove(waiter)
                if not waiters and self._waiters.get(order.id) is waiters:
                    del self._waiters[order.id]
        return changed or self.version(order) != since


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)
