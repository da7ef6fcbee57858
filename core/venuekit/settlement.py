"""Settlement: following orders to their final state, stream first and REST for truth.

:class:`StreamFirstReconciler` consumes the venue's order stream and applies every update
through the tracker. REST is the backup and the judge:

* when the stream is down, or an order has heard nothing for ``silence`` seconds, the
  order is polled, with an interval that starts at ``poll_min`` and doubles to
  ``poll_max`` while nothing changes;
* after every (re)connect, every open order is reconciled over REST before the gate opens
  again: submits wait at the gate, so no new order races a gap in the record;
* a final state heard on the stream is confirmed over REST (after ``late_grace`` seconds
  for a cancel-like end, so that a fill racing the cancel is counted).

Venues without a stream are settled by polling alone (the same class, ``use_stream=False``,
registered as ``"polling"``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from .errors import OrderNotFound, VenueKitError
from .lifecycle import EventKind, never_sent
from .model import Order, OrderState, OrderUpdate
from .reconcile import apply_snapshot, reconcile_order
from .retry import Backoff
from .tracking import OrderTracker
from .venue import Venue

__all__ = ["PollingReconciler", "Reconciler", "SettlementOptions", "StreamFirstReconciler"]

log = logging.getLogger("venuekit.settlement")

_CANCEL_LIKE = frozenset({OrderState.CANCELLED, OrderState.EXPIRED, OrderState.TIMEOUT,
                          OrderState.REPLACED})


_STOP_RETRY = 0.1
"""Seconds between cancels of a stream task that has not ended yet (see ``stop``)."""
RECONNECT_BACKOFF = Backoff(base=0.1, factor=2.0, cap=5.0, jitter=0.5, attempts=1_000_000)


@dataclass(frozen=True, slots=True)
class SettlementOptions:
    """Timing of the REST backup, in seconds."""

    poll_min: float = 0.2
    poll_max: float = 5.0
    silence: float = 2.0
    late_grace: float = 0.1
    confirm_terminal: bool = True
    reconnect: Backoff = RECONNECT_BACKOFF


class Reconciler(Protocol):
    """What the engine needs from a settlement component (registered by name through
    ``venuekit_register_reconcilers``; built as ``factory(venue, tracker, options)``)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def ready(self) -> None: ...
    async def settle(self, order: Order, *, timeout: float | None = None,
                     confirm: bool = True) -> Order: ...
    async def confirm(self, order: Order) -> None: ...
    async def wait_cancelled(self, order: Order, *, timeout: float,
                             cancelled_as: EventKind = EventKind.CANCELLED) -> Order: ...


class StreamFirstReconciler:
    """Keeps one venue's tracked orders in step with the venue."""

    def __init__(self, venue: Venue, tracker: OrderTracker,
                 options: SettlementOptions | None = None, *,
                 use_stream: bool | None = None) -> None:
        self.venue = venue
        self.tracker = tracker
        self.options = options or SettlementOptions()
        if use_stream is None:
            use_stream = venue.capabilities.order_stream is not False
        self.use_stream = use_stream
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._gate = asyncio.Event()
        self._gate.set()
        self.reconnects = 0
        self.updates = 0

    @property
    def streaming(self) -> bool:
        return self._connected.is_set()

    async def start(self) -> None:
        if self.use_stream and self._task is None:
            self._gate.clear()
            self._task = asyncio.create_task(self._consume(), name=f"{self.venue.name}-stream")
            await self.ready()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            # Cancel until the task has ended: code it awaits may swallow a cancel (Python
            # 3.11's asyncio.wait_for does when what it waits for finishes at that moment),
            # and the task would go on, reconnecting, while this waited for it forever.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=_STOP_RETRY)
            if not task.cancelled():
                task.result()  # the stream task ends only when cancelled; anything else shows
        self._connected.clear()
        self._gate.set()

    async def ready(self) -> None:
        """Return once no gap fill is pending (submits call this before sending)."""
        if not self._gate.is_set():
            await self._gate.wait()

    # the stream ---------------------------------------------------------------------
    async def _consume(self) -> None:
        failures = 0
        while True:
            try:
                stream = self.venue.order_updates()
                ready = getattr(stream, "ready", None)
                if ready is not None:
                    await ready()  # subscribed: nothing falls between it and the gap fill
                self._connected.set()
                await self._gap_fill()
                failures = 0
                async for update in stream:
                    self.on_update(update)
                log.warning("order stream ended", extra={"venue": self.venue.name})
            except asyncio.CancelledError:
                raise
            except VenueKitError as exc:
                if self.tracker.stopped is not None:
                    return  # the journal fenced this writer: nothing is followed any more
                log.warning("order stream lost; polling until it is back",
                            extra={"venue": self.venue.name, **exc.log_fields()})
            except Exception:
                if self.tracker.stopped is not None:
                    return
                log.exception("order stream failed; polling until it is back",
                              extra={"venue": self.venue.name})
            self._connected.clear()
            self._gate.clear()
            self.reconnects += 1
            delay = self.options.reconnect.delay(failures)
            failures += 1
            await asyncio.sleep(delay)

    async def _gap_fill(self) -> None:
        """Reconcile every open order over REST, then open the gate for submits."""
        try:
            for order in self.tracker.open_orders():
                if order.state is OrderState.NEW or order.state is OrderState.HELD:
                    continue
                await self._poll(order)
        finally:
            self._gate.set()

    def on_update(self, update: OrderUpdate) -> None:
        """Apply one stream message (public so tests and venues can feed updates)."""
        self.updates += 1
        snap = update.order
        fill = update.fill
        if fill is not None:
            if fill.venue_order_id is None or fill.client_order_id is None:
                fill = fill.model_copy(update={
                    "venue_order_id": fill.venue_order_id or snap.venue_order_id,
                    "client_order_id": fill.client_order_id or snap.client_order_id})
            self.tracker.on_fill(fill)
        order = self.tracker.find(client_order_id=snap.client_order_id,
                                  venue_order_id=snap.venue_order_id)
        if order is None:
            return  # an order of another process, or one whose submit has not returned yet
        apply_snapshot(self.tracker, order, snap)

    # REST ---------------------------------------------------------------------------
    async def _poll(self, order: Order) -> None:
        try:
            await reconcile_order(self.venue, self.tracker, order)
        except OrderNotFound:
            log.info("poll found no order yet", extra={"order_id": order.id})
        except VenueKitError as exc:
            if self.tracker.stopped is not None:
                raise  # fenced: the caller stops
            log.warning("poll failed", extra={"order_id": order.id, **exc.log_fields()})

    async def confirm(self, order: Order) -> None:
        """Check a final state over REST (counting fills that raced a cancel).

        Does nothing when ``confirm_terminal`` is off or ``order`` is not final yet, nor for
        a FILLED order: it is FILLED only once executions itemized by trade id add up to its
        whole quantity, and nothing can happen to it after that.
        """
        if (not self.options.confirm_terminal or not order.state.is_terminal
                or order.state is OrderState.FILLED
                or (order.venue_order_id is None and never_sent(order))):
            return
        if order.state in _CANCEL_LIKE and self.options.late_grace > 0:
            await asyncio.sleep(self.options.late_grace)
        await self._poll(order)

    async def settle(self, order: Order, *, timeout: float | None = None,
                     confirm: bool = True) -> Order:
        """Wait until ``order`` is final, or ``timeout`` seconds pass (it may stay open).

        Stream updates wake the wait at once; silence or a stream outage triggers polls.
        A final state is then confirmed over REST (:meth:`confirm`). With ``confirm=False``
        this returns as soon as the order is final and the caller owes the confirmation:
        a batch of orders can be confirmed together, beside other reads, but nothing may
        rely on the order's fills before :meth:`confirm` has returned.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        interval = self.options.poll_min
        while not order.state.is_terminal:
            version = self.tracker.version(order)
            if self.streaming and order.state is not OrderState.SUBMITTED:
                wait = self.options.silence
            else:
                wait = interval
            if deadline is not None:
                wait = min(wait, deadline - loop.time())
                if wait <= 0:
                    return order
            if await self.tracker.wait_for_change(order, version, wait):
                interval = self.options.poll_min
                continue
            if deadline is not None and loop.time() >= deadline:
                return order
            if order.state is OrderState.HELD:
                # The engine holds it: the venue has nothing to say until it is released.
                interval = min(interval * 2, self.options.poll_max)
                continue
            await self._poll(order)
            if self.tracker.version(order) == version:
                interval = min(interval * 2, self.options.poll_max)
        if confirm:
            await self.confirm(order)
        return order

    async def wait_cancelled(self, order: Order, *, timeout: float,
                             cancelled_as: EventKind = EventKind.CANCELLED) -> Order:
        """Wait for a requested cancel to be confirmed (polling when the stream is quiet)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        interval = self.options.poll_min
        while not order.state.is_terminal and loop.time() < deadline:
            version = self.tracker.version(order)
            wait = min(interval, deadline - loop.time())
            if await self.tracker.wait_for_change(order, version, wait):
                continue
            try:
                await reconcile_order(self.venue, self.tracker, order,
                                      cancelled_as=cancelled_as)
            except VenueKitError as exc:
                if self.tracker.stopped is not None:
                    raise
                log.warning("cancel confirmation poll failed",
                            extra={"order_id": order.id, **exc.log_fields()})
            interval = min(interval * 2, self.options.poll_max)
        return order



class PollingReconciler(StreamFirstReconciler):
    """Settlement by REST polling alone, for venues without an order stream."""

    def __init__(self, venue: Venue, tracker: OrderTracker,
                 options: SettlementOptions | None = None) -> None:
        super().__init__(venue, tracker, options, use_stream=False)
