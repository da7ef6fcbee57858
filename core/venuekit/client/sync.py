"""The client for code without an event loop: :class:`Client`, the twin of
:class:`~venuekit.client.aio.AsyncClient`, method for method::

    with venuekit.Client("mock") as vk:
        result = vk.buy("AAPL", "10")
        print(vk.positions())

It runs an :class:`AsyncClient` on an event loop of its own, in a background thread that
lives as long as the client is open, so that the venues' streams and clocks keep running
between calls. Each method blocks until done. Ctrl-C (``KeyboardInterrupt``) while a
method runs cancels it in the loop, which cancels the orders it sent (each cancel
confirmed by the venue), and waits for that before the interrupt propagates; a second
Ctrl-C stops waiting at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from concurrent import futures
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from ..cancelling import CancelOutcome, CancelReport
from ..engine import Bracket, Engine
from ..errors import Code, error
from ..lifecycle import OrderEventRecord
from ..model import Account, BracketRequest, Fill, Order, OrderRequest, Quote
from ..positions import PositionLine
from ..rebalance import ItemReport, Plan, PlanReport
from ..recovery import RecoveryReport
from ..runs.single import OrderRun
from ..strategies import ExecutionResult
from ..venue import Venue
from .aio import AsyncClient, PathLike, VenueStatus
from .events import Subscription
from .shortcuts import Amount

__all__ = ["Client"]

T = TypeVar("T")


class Client:
    """Venues, one journal, and what a script does with them, without ``async``.

    Takes the arguments of :class:`AsyncClient`; every method is its twin's, blocking.
    """

    def __init__(self, *venues: str | Venue, **options: Any) -> None:
        self.aio = AsyncClient(*venues, **options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # the loop ----------------------------------------------------------------------------
    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        loop = self._loop
        if loop is None:
            work.close()
            raise error(Code.INVALID_CONFIG, "the client is not open: use `with "
                        "venuekit.Client(...)` or call open()")
        # One hand-over each way: the task is started on the loop, and its outcome comes
        # back through ``outcome`` (set by the task's done callback, which runs however the
        # task ends, even cancelled before its first step).
        outcome: futures.Future[T] = futures.Future()
        started: list[asyncio.Task[T]] = []

        def start() -> None:
            task = loop.create_task(work)
            started.append(task)
            task.add_done_callback(lambda done: _hand_back(done, outcome))

        loop.call_soon_threadsafe(start)
        try:
            return outcome.result()
        except KeyboardInterrupt:
            # Cancel the work in its loop (callbacks run in order: the task exists by then):
            # what it sent is cancelled there, each cancel confirmed by the venue, and this
            # waits for that. A second Ctrl-C stops waiting.
            loop.call_soon_threadsafe(lambda: started[0].cancel())
            futures.wait([outcome])
            raise

    def open(self) -> Self:
        if self._loop is not None:
            return self
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="venuekit-client", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._call(self.aio.open())
        except BaseException:
            self._stop_loop()
            raise
        return self

    def close(self) -> None:
        if self._loop is None:
            return
        try:
            self._call(self.aio.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # venues ------------------------------------------------------------------------------
    @property
    def venues(self) -> list[str]:
        return self.aio.venues

    @property
    def refused_venues(self) -> dict[str, str]:
        return self.aio.refused_venues

    def status(self, venue: str | None = None) -> VenueStatus:
        return self.aio.status(venue)

    def engine(self, venue: str | None = None) -> Engine:
        """The venue's engine (its coroutines run on the client's loop: use the methods)."""
        return self.aio.engine(venue)

    def recovery(self, venue: str | None = None) -> RecoveryReport | None:
        return self.aio.recovery(venue)

    def recover(self, venue: str | None = None) -> RecoveryReport:
        return self._call(self.aio.recover(venue))

    # trading -----------------------------------------------------------------------------
    def execute(self, request: OrderRequest, strategy: str | None = None, *,
                venue: str | None = None, **options: Any) -> ExecutionResult:
        return self._call(self.aio.execute(request, strategy, venue=venue, **options))

    def buy(self, symbol: str, quantity: Amount, *, limit: Amount | None = None,
            venue: str | None = None, strategy: str | None = None,
            **options: Any) -> ExecutionResult:
        return self._call(self.aio.buy(symbol, quantity, limit=limit, venue=venue,
                                       strategy=strategy, **options))

    def sell(self, symbol: str, quantity: Amount, *, limit: Amount | None = None,
             venue: str | None = None, strategy: str | None = None,
             **options: Any) -> ExecutionResult:
        return self._call(self.aio.sell(symbol, quantity, limit=limit, venue=venue,
                                        strategy=strategy, **options))

    def place(self, request: OrderRequest, *, venue: str | None = None) -> Order:
        return self._call(self.aio.place(request, venue=venue))

    def place_bracket(self, bracket: BracketRequest, *, venue: str | None = None) -> Bracket:
        return self._call(self.aio.place_bracket(bracket, venue=venue))

    def wait(self, order: str | Order, *, timeout: float | None = None) -> Order:
        return self._call(self.aio.wait(order, timeout=timeout))

    def run_order(self, request: OrderRequest, strategy: str | None = None, *,
                  venue: str | None = None, again: bool = False, **options: Any) -> OrderRun:
        return self._call(self.aio.run_order(request, strategy, venue=venue, again=again,
                                             **options))

    def rebalance(self, plan: Plan | Mapping[str, Any] | PathLike, *,
                  venue: str | None = None, strategy: str = "market",
                  strategy_options: dict[str, Any] | None = None, dry_run: bool = False,
                  again: bool = False,
                  on_item: Callable[[ItemReport], None] | None = None) -> PlanReport:
        return self._call(self.aio.rebalance(
            plan, venue=venue, strategy=strategy, strategy_options=strategy_options,
            dry_run=dry_run, again=again, on_item=on_item))

    def cancel(self, order: str | Order) -> CancelOutcome:
        return self._call(self.aio.cancel(order))

    def cancel_all(self, *, venue: str | None = None, symbol: str | None = None,
                   run: str | None = None) -> CancelReport:
        return self._call(self.aio.cancel_all(venue=venue, symbol=symbol, run=run))

    def cancel_orders(self, *, order_ids: Sequence[str] = (), run_id: str | None = None,
                      every: bool = False, symbol: str | None = None,
                      venue: str | None = None) -> CancelReport:
        return self._call(self.aio.cancel_orders(order_ids=order_ids, run_id=run_id,
                                                 every=every, symbol=symbol, venue=venue))

    def cancel_chosen(self, orders: Sequence[Order]) -> CancelReport:
        return self._call(self.aio.cancel_chosen(orders))

    def halt(self, reason: str) -> None:
        self._call(self.aio.halt(reason))

    # reading -----------------------------------------------------------------------------
    def orders(self, *, working: bool = False, run: str | None = None,
               symbol: str | None = None, venue: str | None = None,
               since: datetime | None = None, limit: int | None = None) -> list[Order]:
        return self._call(self.aio.orders(working=working, run=run, symbol=symbol,
                                          venue=venue, since=since, limit=limit))

    def order(self, order_id: str) -> Order:
        return self._call(self.aio.order(order_id))

    def fills(self, *, since: datetime | None = None, venue: str | None = None,
              symbol: str | None = None) -> list[Fill]:
        return self._call(self.aio.fills(since=since, venue=venue, symbol=symbol))

    def quote(self, symbol: str, *, venue: str | None = None) -> Quote:
        return self._call(self.aio.quote(symbol, venue=venue))

    def account(self, *, venue: str | None = None) -> Account:
        return self._call(self.aio.account(venue=venue))

    def positions(self, *, venue: str | None = None,
                  symbols: set[str] | None = None) -> list[PositionLine]:
        return self._call(self.aio.positions(venue=venue, symbols=symbols))

    def events(self) -> Iterator[OrderEventRecord]:
        """Order events from now on, as they happen (blocking between them), until the
        client closes or the iterator is closed (``close()``, or leaving a ``for`` loop
        with ``break`` and dropping it)."""

        async def subscribe() -> Subscription:
            return self.aio.events()

        return self._iterate(self._call(subscribe()))

    def _iterate(self, subscription: Subscription) -> Iterator[OrderEventRecord]:
        async def following() -> OrderEventRecord:
            return await anext(subscription)

        try:
            while True:
                try:
                    yield self._call(following())
                except StopAsyncIteration:
                    return
        finally:
            subscription.close()


def _hand_back(task: asyncio.Task[T], outcome: futures.Future[T]) -> None:
    """Give the calling thread what ``task`` ended with."""
    if task.cancelled():
        outcome.cancel()
        outcome.set_running_or_notify_cancel()
    elif (exc := task.exception()) is not None:
        outcome.set_exception(exc)
    else:
        outcome.set_result(task.result())
