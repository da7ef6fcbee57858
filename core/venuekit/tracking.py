"""The order tracker: the one place where lifecycle events are applied to live orders.

Every change to a tracked order goes through :class:`OrderTracker`: the lifecycle decides
whether the event is legal, the journal records it, observers hear about it, and anything
waiting on the order is woken. Fills for an order the tracker does not know yet (a stream
fill that overtakes the submit response) are buffered by venue and client order id and
applied as soon as the order is known.

The tracker does no I/O with the venue; :mod:`venuekit.reconcile` does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from . import lifecycle
from .lifecycle import Applied, EventKind, Result
from .model import Fill, Order, OrderState

if TYPE_CHECKING:
    from .journal.base import Journal
    from .plugins import PluginHost

__all__ = ["OrderTracker"]

log = logging.getLogger("venuekit.tracking")


class OrderTracker:
    """Live orders of one venue, kept in step with the journal."""

    def __init__(self, venue: str, journal: Journal, host: PluginHost | None = None) -> None:
        self.venue = venue
        self.journal = journal
        self.host = host
        self._orders: dict[str, Order] = {}
        self._by_venue_id: dict[str, Order] = {}
        self._buffered: dict[str, list[Fill]] = {}
        self._versions: dict[str, int] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self.overfills: list[tuple[str, Fill, str]] = []
        self.duplicate_executions: list[tuple[str, Fill]] = []
        # How a venue's "cancelled" is recorded for an order cancelled for a reason of
        # ours: a strategy whose deadline passed records TIMEOUT, not CANCELLED.
        self.cancel_as: dict[str, EventKind] = {}
        # Old order id -> the id of the order replacing it, set before the replace is sent.
        self.replacements: dict[str, str] = {}

    # registry -----------------------------------------------------------------------
    def track(self, order: Order) -> None:
        self._orders[order.id] = order
        if order.venue_order_id:
            self._by_venue_id[order.venue_order_id] = order
        self._drain_buffer(order)

    def forget(self, order: Order) -> None:
        """Stop tracking a terminal order (its record stays in the journal)."""
        self._orders.pop(order.id, None)
        if order.venue_order_id:
            self._by_venue_id.pop(order.venue_order_id, None)
        self._versions.pop(order.id, None)
        self._waiters.pop(order.id, None)

    def get(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def find(self, *, client_order_id: str | None = None,
             venue_order_id: str | None = None) -> Order | None:
        if venue_order_id and venue_order_id in self._by_venue_id:
            return self._by_venue_id[venue_order_id]
        if client_order_id:
            return self._orders.get(client_order_id)
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
        self._by_venue_id[venue_order_id] = order
        self.journal.set_venue_order_id(order.id, venue_order_id)
        self._drain_buffer(order)
        self._wake(order)

    def apply(self, order: Order, kind: EventKind, *, reason: str | None = None,
              data: dict[str, str] | None = None) -> Applied:
        previous = order.state
        applied = lifecycle.apply(order, kind, reason=reason, data=data)
        if applied.result is Result.APPLIED and applied.event is not None:
            self._committed(order, applied, previous)
        return applied

    def apply_fill(self, order: Order, fill: Fill) -> Applied:
        previous = order.state
        applied = lifecycle.apply_fill(order, fill)
        if applied.result is Result.APPLIED and applied.event is not None:
            self._committed(order, applied, previous)
        elif applied.result is Result.OVERFILL:
            self.overfills.append((order.id, fill, applied.reason or ""))
        return applied

    def on_fill(self, fill: Fill) -> Applied | None:
        """A fill from the venue: apply it to its order, or buffer it until the order is known.

        Returns None when the fill was buffered.
        """
        order = self.find(client_order_id=fill.client_order_id,
                          venue_order_id=fill.venue_order_id)
        if order is None:
            for key in (fill.venue_order_id, fill.client_order_id):
                if key:
                    self._buffered.setdefault(key, []).append(fill)
            log.debug("buffered fill for an unknown order",
                      extra={"trade_id": fill.trade_id, "venue_order_id": fill.venue_order_id,
                             "client_order_id": fill.client_order_id})
            return None
        return self.apply_fill(order, fill)

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
        if not self.journal.append(order, event) and event.fill is not None:
            # The execution is already booked (for this or another order): say so.
            self.duplicate_executions.append((order.id, event.fill))
        host = self.host
        if host is not None and host.has_order_observers():
            from .plugins import OrderEventRecord

            host.order_event(OrderEventRecord(
                order_id=order.id, venue=self.venue, symbol=order.symbol, kind=event.kind,
                state=event.state, previous_state=previous, seq=event.seq, at=event.at,
                fill=event.fill, reason=event.reason))
        self._wake(order)

    # waiting ------------------------------------------------------------------------
    def version(self, order: Order) -> int:
        """A counter that grows whenever ``order`` changes (for race-free waiting)."""
        return self._versions.get(order.id, 0)

    def _wake(self, order: Order) -> None:
        self._versions[order.id] = self._versions.get(order.id, 0) + 1
        waiters = self._waiters.pop(order.id, None)
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def wait_for_change(self, order: Order, since: int, timeout: float) -> bool:
        """Wait until ``order`` changed after version ``since``; False on timeout.

        Read :meth:`version` before checking the order, then wait with it: a change that
        happens in between is not missed.
        """
        if self.version(order) != since:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(order.id, []).append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return self.version(order) != since
        return True
