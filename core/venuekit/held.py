"""Held orders: the engine's emulation of stops and of brackets' exits.

Where a venue declares a stop type ``"emulated"`` (see
:meth:`venuekit.venue.Capabilities.order_type`), or for the exits of an emulated bracket,
the engine journals the order HELD (with its trigger, in one commit) and sends nothing.
:class:`HeldOrders` watches quotes for the held orders' symbols, every ``interval``
seconds, and **releases** an order when its trigger fires (:mod:`venuekit.triggers`):
its SUBMIT is committed, then the order it becomes (market, or limit for a stop-limit)
is sent under the outcome policy with the client order id it was journaled with. The
check of the state and the SUBMIT happen in one step of the event loop, so an order is
released at most once, and a cancel that comes first withdraws it with nothing sent.

A trailing stop's new marks are journaled as MARK events. After a restart, recovery leaves
HELD orders alone and the engine re-arms them from the journal, a trailing stop from its
last recorded mark.

Brackets (:meth:`venuekit.engine.Engine.submit_bracket`): the entry is sent, and both
exits are journaled HELD in the same commit, each naming the entry. Neither exit is
released before the entry is final; then

* the take-profit is released as a limit order for what the entry filled (less a fee the
  venue took in the asset bought, rounded down to the lot: what the account holds);
* the stop-loss fires on its trigger. Before it is released, a take-profit still working
  is cancelled and the cancel confirmed (fills that raced it counted); the stop-loss is
  then sent for what the entry filled less what the take-profit sold, or withdrawn if
  nothing is left. Should the cancel not be confirmed, the stop-loss stays held and tries
  again at the next quote that fires it;
* a take-profit that fills in full withdraws the stop-loss; an entry that ends with
  nothing filled withdraws both.

So the exits together never sell more than the entry bought (never buy more than it sold).
Held orders are watched only while an engine runs: nothing protects a position while no
process holds its stops (see docs/order-types.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from .errors import VenueKitError
from .lifecycle import EventKind
from .model import ZERO, Instrument, Order, OrderState, OrderType, Quote
from .quantize import floor_to_lot
from .tracking import OrderTracker
from .triggers import advance_mark, fires, recorded_mark, stop_level

__all__ = ["HeldOrders", "Releaser", "exit_quantity"]

log = logging.getLogger("venuekit.held")

TAKE_PROFIT = "take_profit"
STOP_LOSS = "stop_loss"


def exit_quantity(entry: Order, instrument: Instrument | None) -> Decimal:
    """What a bracket's exits may sell in all: what the entry filled, less the fees the
    venue charged in the asset bought (a buy of BTC paying its fee in BTC holds less than
    it filled), rounded down to the lot."""
    filled = entry.filled_quantity
    if instrument is None:
        return filled
    base = instrument.base_currency
    if base is not None:
        filled -= sum((fill.fee for fill in entry.fills if fill.fee_currency == base), ZERO)
    return floor_to_lot(instrument, filled)


class Releaser(Protocol):
    """What the held orders need from the engine."""

    async def quotes(self, symbols: Sequence[str]) -> Mapping[str, Quote]: ...
    async def release(self, order: Order, data: dict[str, str]) -> None: ...
    async def cancel(self, order: Order) -> Order: ...
    def settle(self, order: Order, *, timeout: float | None = None,
               confirm: bool = True) -> Coroutine[Any, Any, Order]: ...


@dataclass(slots=True)
class _Watch:
    order: Order
    mark: Decimal | None


class HeldOrders:
    """The orders the engine holds, watched against quotes and released once."""

    def __init__(self, engine: Releaser, tracker: OrderTracker, *,
                 interval: float = 1.0) -> None:
        if interval <= 0:
            raise ValueError("the held orders' quote interval must be positive")
        self.engine = engine
        self.tracker = tracker
        self.interval = interval
        self._armed: dict[str, _Watch] = {}
        # A bracket's orders by the entry's id: the entry and each exit, live objects.
        self._families: dict[str, dict[str, Order]] = {}
        self._task: asyncio.Task[None] | None = None
        self._busy: set[asyncio.Task[None]] = set()
        self._supervised: set[str] = set()
        self._sending: set[asyncio.Future[None]] = set()
        self._instruments: dict[str, Instrument] = {}
        self._closed = False

    def __len__(self) -> int:
        return len(self._armed)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._armed

    def arm(self, order: Order) -> None:
        """Watch HELD ``order`` until it is released or withdrawn (a bracket's exit is
        first made known with :meth:`adopt`)."""
        if order.state is not OrderState.HELD:
            raise ValueError(f"order {order.id} is {order.state}, not held")
        self._armed[order.id] = _Watch(order, recorded_mark(order))
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def disarm(self, order: Order) -> None:
        self._armed.pop(order.id, None)

    async def stop(self, *, sending_timeout: float = 10.0) -> None:
        """Stop watching; the held orders stay HELD in the journal (re-armed at the next
        start). Orders being released are given ``sending_timeout`` seconds to be sent and
        answered first (one cut off is resolved by recovery, as any unanswered create)."""
        self._closed = True
        sending = list(self._sending)
        if sending:
            await asyncio.wait(sending, timeout=sending_timeout)
        tasks = [task for task in (self._task, *self._busy) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    # the watch ---------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while self._armed:
                watching = [watch for watch in self._armed.values() if self._triggered(watch)]
                by_symbol = await self._quotes(sorted({w.order.symbol for w in watching}))
                for watch in watching:
                    quote = by_symbol.get(watch.order.symbol)
                    if quote is not None and watch.order.id in self._armed:
                        self._observe(watch, quote)
                await asyncio.sleep(self.interval)
        finally:
            self._task = None

    def _triggered(self, watch: _Watch) -> bool:
        """True when ``watch`` waits for a quote now: a stop, or a bracket's stop-loss
        once its entry is final (its supervisor runs everything else)."""
        order = watch.order
        if order.state is not OrderState.HELD:
            self._armed.pop(order.id, None)
            return False
        if order.parent is None:
            return True
        if order.leg != STOP_LOSS:
            return False
        family = self._family(order)
        entry = family.get("entry")
        return entry is not None and entry.state.is_terminal and self._left(order, family) > 0

    async def _quotes(self, symbols: list[str]) -> Mapping[str, Quote]:
        """The quotes of ``symbols`` (one call where the venue quotes several at once);
        none this round when the venue does not answer."""
        if not symbols:
            return {}
        try:
            return await self.engine.quotes(symbols)
        except VenueKitError as exc:
            log.warning("no quotes for held orders; trying again",
                        extra={"symbols": ",".join(symbols), **exc.log_fields()})
            return {}

    def _observe(self, watch: _Watch, quote: Quote) -> None:
        order = watch.order
        request = order.request
        if request.order_type is OrderType.TRAILING_STOP:
            moved = advance_mark(request.side, watch.mark, quote)
            if moved is not None:
                watch.mark = moved
                self.tracker.apply(order, EventKind.MARK, data={"mark": str(moved)})
        stop = stop_level(request, watch.mark)
        if stop is None or not fires(request.side, stop, quote):
            return
        data = {"trigger": str(stop), "bid": str(quote.bid), "ask": str(quote.ask)}
        log.info("held order triggered",
                 extra={"order_id": order.id, "symbol": order.symbol, "trigger": str(stop),
                        "bid": str(quote.bid), "ask": str(quote.ask)})
        if order.parent is not None:
            self._start(self._release_exit(order, data))
        else:
            self._armed.pop(order.id, None)
            self._start(self.engine.release(order, data))

    def _start(self, work: Awaitable[None]) -> None:
        """Run a release beside the watch (a slow create holds up no other order)."""
        order_task = asyncio.ensure_future(work)
        self._busy.add(order_task)
        self._sending.add(order_task)
        order_task.add_done_callback(self._finished)
        order_task.add_done_callback(self._sending.discard)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._busy.discard(task)
        if not task.cancelled() and task.exception() is not None \
                and self.tracker.stopped is None:  # fenced: nothing was sent, said once
            log.error("releasing a held order failed",
                      exc_info=task.exception(), extra={"error": repr(task.exception())})

    # brackets ----------------------------------------------------------------------
    def _family(self, order: Order) -> dict[str, Order]:
        assert order.parent is not None
        return self._families.setdefault(order.parent, {})

    async def _supervise(self, entry_id: str) -> None:
        """Run one bracket's exits as its orders change: withdraw an exit with nothing left
        to sell, release the take-profit once the entry is final (the stop-loss waits for
        its trigger in the quote watch)."""
        family = self._families[entry_id]
        tracker = self.tracker
        while not self._closed:
            entry = family["entry"]
            exits = [family.get(leg) for leg in (TAKE_PROFIT, STOP_LOSS)]
            if not any(o is not None and o.state is OrderState.HELD for o in exits):
                return
            if entry.state.is_terminal:
                for order in exits:
                    if order is None or order.state is not OrderState.HELD:
                        continue
                    if self._left(order, family) <= 0:
                        self._withdraw(order, "nothing left to exit: " + (
                            "the entry filled nothing" if entry.filled_quantity == 0
                            else "the take-profit sold it all"))
                    elif order.leg == TAKE_PROFIT and order.id in self._armed:
                        self._start(self._release_exit(
                            order, {"released": "the entry is final"}))
            watched = [o for o in (entry, *exits) if o is not None]
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(
                tracker.wait_for_change(o, tracker.version(o), self.interval * 20))
                for o in watched]
            # Settling the orders at the venue follows them where no stream tells of their
            # fills (it polls when the stream is quiet or absent).
            waits += [asyncio.ensure_future(self.engine.settle(
                o, timeout=self.interval * 20, confirm=False))
                for o in watched if o.state is not OrderState.HELD and not o.state.is_terminal]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()

    def _left(self, order: Order, family: dict[str, Order]) -> Decimal:
        """What an exit may still sell: what the entry left in the account (see
        :func:`exit_quantity`) less what the other exit sold."""
        entry = family["entry"]
        other = family.get(STOP_LOSS if order.leg == TAKE_PROFIT else TAKE_PROFIT)
        sold = other.filled_quantity if other is not None else ZERO
        instrument = self._instruments.get(entry.id)
        return exit_quantity(entry, instrument) - sold

    def _withdraw(self, order: Order, reason: str) -> None:
        self._armed.pop(order.id, None)
        if order.state is OrderState.HELD:
            self.tracker.apply(order, EventKind.CANCELLED, reason=reason)
            self.tracker.flush()

    async def _release_exit(self, order: Order, data: dict[str, str]) -> None:
        """Release one exit of a bracket for what is left (see the module docstring)."""
        if order.id not in self._armed or order.state is not OrderState.HELD:
            return
        self._armed.pop(order.id)  # no second release while this one runs
        family = self._family(order)
        if order.leg == STOP_LOSS:
            other = family.get(TAKE_PROFIT)
            if other is not None and other.state is not OrderState.HELD \
                    and not other.state.is_terminal:
                try:
                    await self.engine.cancel(other)
                except VenueKitError as exc:
                    log.warning("could not cancel the take-profit; the stop-loss waits",
                                extra={"order_id": order.id, "take_profit": other.id,
                                       **exc.log_fields()})
                if not other.state.is_terminal:
                    self._rearm(order)
                    return
            elif other is not None and other.state is OrderState.HELD:
                self._withdraw(other, "the stop-loss fired first")
        left = self._left(order, family)
        if left <= 0:
            self._withdraw(order, "nothing left to exit: the take-profit sold it all")
            return
        if order.state is not OrderState.HELD:
            return
        order.quantity = left
        await self.engine.release(order, data)

    def _rearm(self, order: Order) -> None:
        if order.state is OrderState.HELD and not self._closed:
            self._armed[order.id] = _Watch(order, recorded_mark(order))
            if self._task is None:
                self._task = asyncio.get_running_loop().create_task(self._run())

    def family_of(self, order: Order) -> dict[str, Order]:
        """The live objects of the bracket ``order`` belongs to (entry and exits)."""
        key = order.parent or order.id
        return dict(self._families.get(key, {}))

    def adopt(self, entry: Order, exits: list[Order], instrument: Instrument) -> None:
        """Know ``entry`` and its ``exits`` as one bracket (at submit, and after a restart)
        and run them until neither exit is held."""
        self._instruments[entry.id] = instrument
        family = self._families.setdefault(entry.id, {})
        family["entry"] = entry
        for order in exits:
            if order.leg is not None:
                family[order.leg] = order
        if entry.id not in self._supervised and not self._closed:
            self._supervised.add(entry.id)
            task = asyncio.get_running_loop().create_task(self._supervise(entry.id))
            self._busy.add(task)
            task.add_done_callback(self._finished)
            task.add_done_callback(lambda _: self._supervised.discard(entry.id))

