"""The engine: one venue, the journal, the tracker, the rate limiter, settlement, bound together.

An :class:`Engine` refuses to trade until recovery has reconciled every open order the
journal holds for its venue. Each order is quantized to the instrument's rules, committed
to the journal (NEW and SUBMITTED in one commit) and only then sent. Every venue call goes
through the rate limiter; order updates are followed stream first (see
:mod:`venuekit.settlement`). The engine offers submit, cancel, replace, settle, confirm,
quotes and instruments; strategies (:mod:`venuekit.strategies`) build on them, and the engine
does not know them: ``run_strategy(engine, request, strategy)`` executes a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from . import exits
from .errors import Code, JournalError, OrderNotFound, Outcome, VenueKitError, error
from .held import HeldOrders
from .journal.base import Journal
from .journal.ids import ClientIdRules
from .journal.runs import RunLink, current_link
from .lifecycle import EventKind
from .limited import LimitedVenue
from .model import BracketRequest, Instrument, Order, OrderRequest, OrderState, OrderType, Quote
from .outcome import OutcomePolicy, Submitter
from .plugins import PluginHost
from .quantize import quantize_request, round_price
from .ratelimit import RateLimiter
from .reconcile import reconcile_order
from .recovery import RecoveryReport, recover
from .retry import retry_call
from .settlement import Reconciler, SettlementOptions
from .tracking import OrderTracker
from .triggers import refuse_crossed
from .venue import BracketSnapshot, OrderRef, Venue

if TYPE_CHECKING:
    from .validation import OrderValidator

__all__ = ["Bracket", "Engine"]

log = logging.getLogger("venuekit.engine")

_MARKET, _LIMIT = OrderType.MARKET, OrderType.LIMIT


@dataclass(frozen=True, slots=True)
class Bracket:
    """The three orders of a bracket: the entry and its two exits."""

    entry: Order
    take_profit: Order
    stop_loss: Order


class Engine:
    """Executes orders on one venue with a durable journal."""

    def __init__(self, venue: Venue, journal: Journal, *, host: PluginHost | None = None,
                 policy: OutcomePolicy | None = None, limiter: RateLimiter | None = None,
                 settlement: SettlementOptions | None = None,
                 reconciler: str | None = None,
                 validator: OrderValidator | None = None,
                 trigger_interval: float = 1.0) -> None:
        self.raw_venue = venue
        self.validator = validator
        self.limiter = limiter or RateLimiter.for_venue(venue.capabilities, venue=venue.name)
        self.venue: Venue = LimitedVenue(venue, self.limiter)
        self.journal = journal
        self.host = host
        self.policy = policy or OutcomePolicy()
        self.tracker = OrderTracker(venue.name, journal, host)
        # The settlement component says whether the order stream is live (a third-party
        # reconciler without ``streaming`` is taken not to stream).
        self.submitter = Submitter(self.venue, self.tracker, self.policy,
                                   streaming=lambda: getattr(self.settlement, "streaming",
                                                             False))
        if reconciler is None:
            reconciler = ("stream-first" if venue.capabilities.order_stream is not False
                          else "polling")
        # Components (reconcilers, pricers, re-peg policies) come from the plugin host; with
        # none given, from a host holding only the built-ins.
        self.components = host or PluginHost(load_entry_points=False)
        factory = self.components.reconcilers().get(reconciler)
        self.settlement: Reconciler = factory(self.venue, self.tracker, settlement)
        self.id_rules = ClientIdRules.from_capabilities(venue.capabilities)
        self._instruments: dict[str, Instrument] = {}
        # Creates waiting for the end of this turn of the event loop (see _journal_new).
        self._staged: list[tuple[OrderRequest, asyncio.Future[Order], RunLink | None]] = []
        self._refusal: VenueKitError | None = error(
            Code.INVALID_CONFIG, "the engine is not started: call `await engine.start()`")
        self._halted: VenueKitError | None = None
        self._halt_reason: str | None = None
        # Set once the journal fenced this writer (see _stop_fenced): nothing is sent again.
        self._fenced: JournalError | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._winding_down: asyncio.Task[None] | None = None
        # The orders recovery found working at start: another session's, which a halt does
        # not cancel (nothing is cancelled unasked); every other open order this engine
        # tracks is one it sent.
        self._inherited: frozenset[str] = frozenset()
        self.recovery: RecoveryReport | None = None
        # Emulated stops and brackets' exits: journaled HELD, released on their trigger.
        self.held = HeldOrders(self, self.tracker, interval=trigger_interval)
        # Native brackets on their way: the entry's id -> its exits by leg.
        self._native_exits: dict[str, dict[str, Order]] = {}
        self.submitter.on_bracket = self._on_bracket

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def start(self) -> RecoveryReport:
        """Connect the venue and reconcile the journal's open orders with it.

        Trading is refused (every submit raises RECONCILIATION_FAILED naming the orders) if
        any order could not be reconciled; run recovery again once the venue is reachable.
        """
        self._loop = asyncio.get_running_loop()
        self.journal.on_fenced(self._journal_fenced)
        await self.venue.connect()
        report = await self.recover()
        # Orders held for another session are not this session's to cancel on a halt.
        self._inherited = frozenset(report.working) | frozenset(report.held)
        await self.settlement.start()
        await self._rearm(report.held)
        return report

    async def _rearm(self, held: Sequence[str]) -> None:
        """Watch again the orders a previous session held (their triggers, their marks)."""
        for order_id in held:
            order = self.tracker.live(order_id)
            if order is None or order.state is not OrderState.HELD:
                continue
            if order.parent is not None:
                entry = self.tracker.live(order.parent) or self.journal.get(order.parent)
                if entry is None:
                    log.error("a bracket's exit names an entry the journal lacks",
                              extra={"order_id": order.id, "entry": order.parent})
                    continue
                exits = [self.tracker.live(o.id) or o for o in self.journal.children(entry)]
                self.held.adopt(entry, exits, await self.instrument(entry.symbol))
            self.held.arm(order)
        if held:
            log.info("held orders re-armed", extra={"venue": self.venue.name,
                                                    "held": len(held)})

    async def recover(self) -> RecoveryReport:
        """Reconcile the journal's open orders with the venue (see :mod:`venuekit.recovery`).

        :meth:`start` runs it; run it again when the venue was unreachable, or to check the
        book. Orders of work in flight keep their live objects, but reconciling them while
        their strategies run races those strategies: prefer a moment with no work running.
        """
        report = await recover(self.venue, self.tracker, self.policy)
        self.tracker.flush()  # what recovery learned is durable before trading resumes
        self.recovery = report
        if report.ok:
            self._refusal = self._halted
        else:
            names = ", ".join(order_id for order_id, _ in report.failed[:5])
            more = len(report.failed) - 5
            suffix = f" and {more} more" if more > 0 else ""
            self._refusal = error(
                Code.RECONCILIATION_FAILED,
                f"trading is refused: {len(report.failed)} open order(s) could not be "
                f"reconciled with {self.venue.name} ({names}{suffix})", venue=self.venue.name)
            log.error("trading refused after recovery",
                      extra={"venue": self.venue.name, "failed": len(report.failed)})
        return report

    async def take_over(self, order_ids: Collection[str]) -> RecoveryReport:
        """Reconcile ``order_ids``, open orders this engine's journal has just adopted from
        a writer that is gone (a process that died, or hung past its lease), as
        :meth:`recover` reconciles at start; the rest of the book is left alone, so the
        work in flight is not raced. Held orders among them are watched from now on."""
        report = await recover(self.venue, self.tracker, self.policy, only=order_ids)
        self.tracker.flush()
        self._inherited |= frozenset(report.working) | frozenset(report.held)
        await self._rearm(report.held)
        return report

    async def close(self) -> None:
        if self._winding_down is not None:
            await self._winding_down
        await self.held.stop()
        await self.settlement.stop()
        if self._fenced is None:  # a fenced writer has nothing it may commit
            self.tracker.flush()
        await self.venue.close()

    @property
    def fenced(self) -> JournalError | None:
        """The JOURNAL_FENCED error once the journal fenced this process's writer (another
        process took over its orders): the engine has stopped for good. None until then."""
        return self._fenced

    def _journal_fenced(self, exc: JournalError) -> None:
        """The journal's fence listener: called once, from whichever thread noticed."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            self._stop_fenced(exc)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._stop_fenced, exc)

    def _stop_fenced(self, exc: JournalError) -> None:
        """Stop for good: the journal fenced this writer, so another process owns (or may
        own at any moment) its orders. Nothing is sent from now on: no create, cancel,
        replace or release (the halt of :meth:`halt` cancels working orders; this one
        cancels nothing, as they are not this process's any more). Every submit, including
        one waiting to be journaled, and every wait on an order raise ``exc``; the order
        stream and the held orders' watch stop. A send whose NEW and SUBMIT were committed
        before the fence may still get its answer; nothing else happens."""
        if self._fenced is not None:
            return
        self._fenced = self._halted = self._refusal = exc
        self._halt_reason = "the journal fenced this writer"
        staged, self._staged = self._staged, []
        for _, created, _ in staged:
            if not created.done():
                created.set_exception(exc)
        self.tracker.stop(exc)
        log.info("engine stopped: its journal writer is fenced",
                 extra={"venue": self.venue.name, "code": exc.code.name,
                        "left_to_the_new_owner": len(self.tracker.open_orders())})
        if self._loop is not None and not self._loop.is_closed():
            self._winding_down = self._loop.create_task(self._wind_down())

    async def _wind_down(self) -> None:
        await self.held.stop(sending_timeout=0)
        await self.settlement.stop()

    @property
    def halted(self) -> str | None:
        """Why trading stopped (:meth:`halt`), or None while it goes on."""
        return self._halt_reason

    async def halt(self, reason: str) -> list[Order]:
        """Stop trading: no order is sent from now on, and the orders this engine sent that
        are still working are cancelled.

        Each cancel is confirmed by the venue (a fill that races it is counted); a submit
        made from now on, including one waiting to be journaled, raises INTERRUPTED with
        ``reason``, with nothing sent. The executions in progress end on their own once
        their orders are final, so their results (and a rebalance's report) say what
        happened. Orders that recovery found working (another session's) are left as they
        are: nothing is cancelled unasked. Returns the orders that were working when the
        halt began, each as it ended; an order whose cancel failed stays open (logged),
        for recovery to follow. Calling it again cancels what is still working.
        """
        if self._fenced is not None:
            log.info("not halting a fenced engine: its orders are another process's now",
                     extra={"venue": self.venue.name, "reason": reason})
            return []
        if self._halted is None:
            self._halt_reason = reason
            self._halted = error(Code.INTERRUPTED, f"{reason}: no new order is sent",
                                 venue=self.venue.name)
            self._refusal = self._halted
            log.info("trading halted; cancelling the working orders",
                        extra={"venue": self.venue.name, "reason": reason})
        inherited = self._inherited
        working = [order for order in self.tracker.open_orders() if order.id not in inherited]
        outcomes = await asyncio.gather(*(self.cancel(order) for order in working),
                                        return_exceptions=True)
        for order, outcome in zip(working, outcomes, strict=True):
            if isinstance(outcome, VenueKitError):
                log.error("could not cancel a working order while halting",
                          extra={"venue": self.venue.name, "order_id": order.id,
                                 "code": outcome.code.name})
            elif isinstance(outcome, BaseException):
                raise outcome
        self.tracker.flush()
        return working

    async def instrument(self, symbol: str) -> Instrument:
        cached = self._instruments.get(symbol)
        if cached is None:
            cached = self._instruments[symbol] = await retry_call(
                lambda: self.venue.instrument(symbol), operation="instruments",
                venue=self.venue.name)
        return cached

    async def instruments(self, symbols: Sequence[str]) -> dict[str, Instrument]:
        """The instruments of ``symbols`` by symbol, those not cached in one venue call.

        A symbol the venue does not list is absent from the answer (not an error).
        """
        cache = self._instruments
        missing = [symbol for symbol in dict.fromkeys(symbols) if symbol not in cache]
        if missing:
            listed = await retry_call(lambda: self.venue.instruments(missing),
                                      operation="instruments", venue=self.venue.name)
            wanted = set(missing)
            cache.update((i.symbol, i) for i in listed if i.symbol in wanted)
        return {symbol: cache[symbol] for symbol in symbols if symbol in cache}

    async def prepare(self, request: OrderRequest) -> OrderRequest:
        """``request`` quantized to its instrument's rules (a validation error if it cannot be)."""
        instrument = self._instruments.get(request.symbol) or await self.instrument(
            request.symbol)
        reference: Decimal | None = None
        if request.order_type is OrderType.MARKET and instrument.min_notional > 0:
            reference = (await self.quote(request.symbol)).touch(request.side)
        return quantize_request(instrument, request, reference_price=reference)

    async def submit(self, request: OrderRequest, *,
                     on_journaled: Callable[[Order], None] | None = None) -> Order:
        """Quantize, journal and send one order under the outcome policy.

        Returns the order acknowledged, filled or rejected, or still SUBMITTED when its
        outcome could not be resolved in time (recovery resolves it later; the order is in
        the journal either way). Raises a validation error, with nothing sent, when the
        request cannot satisfy the instrument's rules, and the error of the first violation
        (listing them all), with nothing journaled or sent, when the engine's ``validator``
        refuses it (see :mod:`venuekit.validation`). ``on_journaled`` is called with the
        order once it is journaled, before it is sent: the caller can follow it while the
        answer to the create is on its way.
        """
        if self._refusal is not None:
            raise self._refusal
        kind = request.order_type
        # (Identity tests: on Python 3.11 an enum property costs a Python call per order.)
        triggered = kind is not _MARKET and kind is not _LIMIT
        held = triggered and self._held_type(request)
        prepared = await self.prepare(request)
        if triggered:
            refuse_crossed(prepared, await self.quote(prepared.symbol))
        if self.validator is not None:
            await self.validator.check(prepared, self.venue)
        if held:
            order = self._journal_held(prepared)
            if on_journaled is not None:
                on_journaled(order)
            self.held.arm(order)
            return order
        await self.settlement.ready()  # no new order while a stream gap is being filled
        order = await self._journal_new(prepared)
        if on_journaled is not None:
            on_journaled(order)
        return await self.submitter.submit(order)

    def _held_type(self, request: OrderRequest) -> bool:
        """True when the engine holds ``request`` itself (the venue emulates its type);
        UNSUPPORTED_ORDER when the venue offers the type in no way."""
        kind = request.order_type
        if not kind.triggered:
            return False
        support = self.raw_venue.capabilities.order_type(kind)
        if support is False:
            raise error(Code.UNSUPPORTED_ORDER,
                        f"{self.venue.name} takes no {kind} orders, natively or emulated",
                        venue=self.venue.name)
        return support == "emulated"

    def _journal_held(self, prepared: OrderRequest) -> Order:
        """Journal ``prepared`` HELD (NEW and HOLD in one commit) and track it."""
        order = self.journal.create_order(
            self.venue.name, prepared, id_rules=self.id_rules, quantity=prepared.quantity,
            limit_price=prepared.limit_price, held=True, run=current_link())
        self.tracker.track_recorded(order)
        return order

    async def release(self, order: Order, data: dict[str, str]) -> None:
        """Send a HELD order whose trigger fired: its SUBMIT is committed first, then the
        order it becomes is sent under the outcome policy (see :mod:`venuekit.held`)."""
        if order.state is not OrderState.HELD or self._halted is not None:
            return
        self.tracker.apply(order, EventKind.SUBMIT, data=data)
        self.tracker.flush()  # durable before anything is sent
        await self.submitter.submit(order)

    async def submit_bracket(self, bracket: BracketRequest) -> Bracket:
        """Send a bracket's entry; its exits are journaled HELD with it, in one commit.

        The engine runs the exits (see :mod:`venuekit.held`): the take-profit is placed
        once the entry is final, for what it filled; the stop-loss is released on its
        trigger after the take-profit's cancel is confirmed. Returns the three orders.
        UNSUPPORTED_ORDER when the venue declares no brackets.
        """
        if self._refusal is not None:
            raise self._refusal
        support = self.raw_venue.capabilities.brackets
        if support is False:
            raise error(Code.UNSUPPORTED_ORDER, f"{self.venue.name} takes no brackets",
                        venue=self.venue.name)
        entry = await self.prepare(bracket.entry)
        instrument = await self.instrument(entry.symbol)
        assert entry.quantity is not None
        exits = bracket.model_copy(update={
            "entry": entry,
            "take_profit": round_price(instrument, bracket.take_profit, entry.side.opposite),
            "stop_loss": round_price(instrument, bracket.stop_loss, entry.side.opposite)})
        quote = await self.quote(entry.symbol)
        stop_loss = exits.stop_loss_request(entry.quantity)
        refuse_crossed(stop_loss, quote)
        if self.validator is not None:
            await self.validator.check(entry, self.venue)
        await self.settlement.ready()
        link = current_link()
        native = support is True
        with self.journal.batch():
            order = self.journal.create_order(
                self.venue.name, entry, id_rules=self.id_rules, quantity=entry.quantity,
                limit_price=entry.limit_price, submitted=True, run=link, bracket=exits)
            # Native: the exits go out with the entry (the venue makes them). Emulated: the
            # engine holds them until the entry is final.
            legs = [self.journal.create_order(
                self.venue.name, leg, id_rules=self.id_rules, quantity=leg.quantity,
                limit_price=leg.limit_price, submitted=native, held=not native, run=link,
                parent=order.id, leg=name)
                for name, leg in (("take_profit", exits.take_profit_request(entry.quantity)),
                                  ("stop_loss", stop_loss))]
            self.submitter.begin(order)
        for leg in legs:
            self.tracker.track_recorded(leg)
        if native:
            await self._send_native_bracket(order, legs)
        else:
            self.held.adopt(order, legs, instrument)
            for leg in legs:
                self.held.arm(leg)
            await self.submitter.submit(order)
        return Bracket(order, legs[0], legs[1])

    async def _send_native_bracket(self, entry: Order, legs: list[Order]) -> None:
        """Send a bracket the venue holds; its exits learn their venue ids from the answer
        or, when the answer was lost, from a lookup of the entry (see venuekit.exits)."""
        family = {leg.leg: leg for leg in legs if leg.leg is not None}
        self._native_exits[entry.id] = family
        try:
            await self.submitter.submit(entry)
        finally:
            self._native_exits.pop(entry.id, None)
        if exits.end_with_entry(self.tracker, entry, family):
            return
        if entry.venue_order_id and any(leg.venue_order_id is None for leg in legs):
            try:
                await exits.find(self.venue, self.tracker, entry, family,
                                 self.policy.lookup_backoff)
            except VenueKitError as exc:
                log.warning("a bracket's exits are not known yet; recovery finds them",
                            extra={"order_id": entry.id, "venue": self.venue.name,
                                   **exc.log_fields()})

    def _on_bracket(self, entry: Order, answer: BracketSnapshot) -> None:
        family = self._native_exits.get(entry.id)
        if family is not None:
            exits.attach(self.tracker, family, answer)

    async def _journal_new(self, prepared: OrderRequest) -> Order:
        """Journal ``prepared`` as NEW and SUBMIT; returns once both are committed.

        Submits made in the same turn of the event loop (a burst, such as a rebalance
        phase) are journaled together at the end of the turn under one commit, instead of
        one commit each. Nothing is sent before that commit.
        """
        created: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        staged = self._staged
        staged.append((prepared, created, current_link()))
        if len(staged) == 1:
            # The first submit of this turn lets the others join, then commits them all;
            # its own future is then done, so it goes on without waiting for another turn.
            try:
                await asyncio.sleep(0)
            except BaseException:
                created.cancel()  # abandoned: journal the others only
                raise
            finally:
                self._commit_staged()
        return await created

    def _commit_staged(self) -> None:
        staged, self._staged = self._staged, []
        done: list[tuple[Order, asyncio.Future[Order]]] = []
        halted = self._halted
        try:
            with self.journal.batch():
                for prepared, created, link in staged:
                    if created.cancelled():  # its submit was abandoned: nothing to journal
                        continue
                    if halted is not None:  # halted while it waited: it is not sent
                        created.set_exception(halted)
                        continue
                    try:
                        order = self.journal.create_order(
                            self.venue.name, prepared, id_rules=self.id_rules,
                            quantity=prepared.quantity, limit_price=prepared.limit_price,
                            submitted=True, run=link)
                        self.submitter.begin(order)
                    except Exception as exc:  # this create alone failed and left no trace
                        created.set_exception(exc)
                        continue
                    done.append((order, created))
        except Exception as exc:  # the batch failed (to begin or to commit): nothing kept
            for _, created, _ in staged:
                if not created.done():
                    created.set_exception(exc)
            return
        for order, created in done:
            if not created.done():
                created.set_result(order)

    async def quote(self, symbol: str) -> Quote:
        """The latest quote (a read: retried with backoff on transport errors)."""
        return await retry_call(lambda: self.venue.quote(symbol), operation="quote",
                                venue=self.venue.name)

    async def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        """The latest quotes of ``symbols`` by symbol, in one venue call where the venue
        quotes several at once (a read: retried with backoff on transport errors). A
        symbol the venue does not quote is absent."""
        found = await retry_call(lambda: self.venue.quotes(symbols), operation="quotes",
                                 venue=self.venue.name)
        return {quote.symbol: quote for quote in found}

    def settle(self, order: Order, *, timeout: float | None = None,
               confirm: bool = True) -> Coroutine[Any, Any, Order]:
        """Wait until ``order`` is final or ``timeout`` seconds pass (see settlement).

        With ``confirm=False`` the REST confirmation of the final state is left to a later
        :meth:`confirm`, so that many orders' confirmations can run together. (Returns the
        settlement's coroutine itself: no frame of its own on every wake-up of the wait.)
        """
        return self.settlement.settle(order, timeout=timeout, confirm=confirm)

    async def confirm(self, order: Order) -> Order:
        """Confirm a final state over REST (what :meth:`settle` does unless told not to)."""
        await self.settlement.confirm(order)
        return order

    async def cancel(self, order: Order, *, timeout: float = 10.0,
                     as_timeout: bool = False) -> Order:
        """Cancel ``order`` and wait until the venue confirms nothing remains working.

        Fills that race the cancel are counted; a cancel the venue refuses (the order
        already filled) returns the order to its state and reconciles it. With
        ``as_timeout`` the confirmed end is recorded as TIMEOUT (a strategy's deadline).
        An order whose create is still unanswered is resolved first where the venue cannot
        be told which order is meant (no client order ids: a lookup by fingerprint), or
        where the venue answers the cancel with not-found (it may never have received the
        order): found, it is cancelled; proven absent, it ends in ERROR; still unknown,
        RECONCILIATION_FAILED is raised and the order stays SUBMITTED, which recovery
        resolves.
        """
        if order.state.is_terminal:
            return order
        if order.state is OrderState.HELD:
            self.held.disarm(order)  # withdrawn: nothing was sent
            self.tracker.apply(order, EventKind.TIMEOUT if as_timeout else EventKind.CANCELLED,
                               reason="withdrawn while held: nothing was sent")
            self.tracker.flush()
            return order
        unacknowledged = order.state is OrderState.SUBMITTED
        ref = self._ref(order) or await self._named(order, "cancel")
        if ref is None:
            return order  # found final at the venue, or proven never received
        kind = EventKind.TIMEOUT if as_timeout else EventKind.CANCELLED
        if as_timeout:
            self.tracker.cancel_as[order.id] = EventKind.TIMEOUT
        self.tracker.apply(order, EventKind.CANCEL_REQUEST)
        try:
            snapshot = await retry_call(lambda: self.venue.cancel(ref), operation="cancel",
                                        venue=self.venue.name)
        except OrderNotFound:
            if unacknowledged and not order.venue_order_id and order.filled_quantity == 0:
                # Never acknowledged, and the venue does not know it (yet): its outcome is
                # the create's, resolved as the outcome policy resolves it.
                self.tracker.apply(order, EventKind.CANCEL_REJECTED,
                                   reason="the venue does not know the order (yet)")
                if await self._named(order, "cancel") is None:
                    return order
                return await self.cancel(order, timeout=timeout, as_timeout=as_timeout)
            snapshot = None  # it may have filled or never arrived: look it up below
        except VenueKitError as exc:
            if exc.outcome is Outcome.REJECTED:
                self.tracker.apply(order, EventKind.CANCEL_REJECTED,
                                   reason=f"{exc.code.name}: {exc.message}")
                await reconcile_order(self.venue, self.tracker, order, cancelled_as=kind)
                return order
            raise
        if snapshot is not None:
            await reconcile_order(self.venue, self.tracker, order, snapshot, cancelled_as=kind)
        await self.settlement.wait_cancelled(order, timeout=timeout, cancelled_as=kind)
        return order

    def _ref(self, order: Order) -> OrderRef | None:
        """How the venue names ``order``: None while it has no id the venue knows it by."""
        client_id = order.id if self.venue.capabilities.client_order_ids is True else None
        if client_id is None and not order.venue_order_id:
            return None
        return OrderRef(client_order_id=client_id, venue_order_id=order.venue_order_id,
                        symbol=order.symbol)

    async def _named(self, order: Order, action: str) -> OrderRef | None:
        """``order``'s reference at the venue once the venue is known to have it.

        An order whose create went unanswered has, on a venue without client order ids, no
        name the venue knows until a lookup (by fingerprint, as the outcome policy does)
        finds it; on any venue, a not-found answer to its cancel may mean it never arrived.
        Returns None when the lookups settled the order (final at the venue, or proven never
        received); raises RECONCILIATION_FAILED, the order left SUBMITTED for recovery to
        resolve, when its outcome is still unknown.
        """
        ref = self._ref(order)
        if ref is not None and order.venue_order_id:
            return ref
        log.info("order not known to the venue yet; resolving it first",
                 extra={"order_id": order.id, "venue": self.venue.name})
        if order.state is OrderState.SUBMITTED and order.filled_quantity == 0:
            await self.submitter.settle_unknown(order)
        else:  # evidence arrived without the venue's id: find it by fingerprint
            with contextlib.suppress(OrderNotFound):
                await reconcile_order(self.venue, self.tracker, order)
        if order.state.is_terminal:
            return None
        ref = self._ref(order)
        if ref is None or order.state is OrderState.SUBMITTED:
            raise error(Code.RECONCILIATION_FAILED,
                        f"cannot {action} order {order.id} yet: its outcome at "
                        f"{self.venue.name} is still unknown (the create went unanswered and "
                        "lookups have not found it); it stays SUBMITTED for recovery to "
                        "resolve", venue=self.venue.name)
        return ref

    async def replace(self, order: Order, *, limit_price: Decimal,
                      on_journaled: Callable[[Order], None] | None = None) -> Order:
        """Reprice a working limit order; returns the order that now works (or ``order``).

        Where the venue replaces natively, the replacement keeps whatever the venue still
        has open of the old order, decided atomically at the venue, so a fill racing the
        replace cannot cause an overfill. Elsewhere the order is cancelled, the cancel
        confirmed, and the rest (from confirmed fills) sent as a new order. The replacement
        serves the same run item as ``order``; ``on_journaled`` is called with it once it
        is journaled, before it is sent. A halted engine refuses (INTERRUPTED).
        """
        if self._refusal is not None:
            raise self._refusal
        if order.request.order_type.triggered:
            raise error(Code.UNSUPPORTED_ORDER,
                        f"order {order.id} is a {order.request.order_type} order: replace "
                        "reprices limit orders; cancel it and submit a new one",
                        venue=self.venue.name)
        instrument = await self.instrument(order.symbol)
        price = round_price(instrument, limit_price, order.side)
        if order.state.is_terminal or price == order.limit_price:
            return order
        if self.venue.capabilities.replace is not True:
            await self.cancel(order)
            remaining = order.remaining_quantity
            if remaining is None or remaining <= 0 or order.state is OrderState.FILLED:
                return order
            return await self.submit(order.request.model_copy(update={
                "quantity": remaining, "order_type": OrderType.LIMIT, "limit_price": price}),
                on_journaled=on_journaled)
        try:
            ref = await self._named(order, "replace")
        except VenueKitError as exc:
            if exc.outcome is Outcome.REJECTED:
                raise
            log.warning("order not found yet; not replaced this time",
                        extra={"order_id": order.id, **exc.log_fields()})
            return order  # unknown for now: the caller's next step (or deadline) decides
        if ref is None or order.state.is_terminal:
            return order
        request = order.request.model_copy(update={
            "quantity": order.remaining_quantity, "order_type": OrderType.LIMIT,
            "limit_price": price})
        link = None if order.run_id is None or order.run_item is None \
            else RunLink(order.run_id, order.run_item)
        with self.journal.batch():
            new = self.journal.create_order(self.venue.name, request, id_rules=self.id_rules,
                                            quantity=request.quantity, limit_price=price,
                                            replaces=order.id, run=link)
            # Journaled as sent, but tracked only once its size is known: stream fills that
            # overtake the answer wait in the tracker's buffer meanwhile, and the tracker
            # holds it so that nothing rebuilds a second object of it from the journal.
            self.tracker.hold(new)
            self.tracker.apply(new, EventKind.SUBMIT)
            self.tracker.replacements[order.id] = new.id
            self.tracker.apply(order, EventKind.REPLACE_REQUEST)
        if on_journaled is not None:
            on_journaled(new)
        sent_at = asyncio.get_running_loop().time()
        try:
            snapshot = await self.venue.replace(ref, limit_price=price,
                                                client_order_id=new.id)
        except VenueKitError as exc:
            return await self._replace_failed(order, new, exc, sent_at)
        if snapshot.quantity is not None:
            new.quantity = snapshot.quantity  # what the venue kept open
        if snapshot.venue_order_id:
            new.venue_order_id = snapshot.venue_order_id
            self.journal.set_venue_order_id(new.id, snapshot.venue_order_id)
        self.tracker.track(new)
        await reconcile_order(self.venue, self.tracker, new, snapshot)
        self.tracker.apply(order, EventKind.REPLACED, data={"replaced_by": new.id})
        await self.settlement.settle(order, timeout=0)  # counts fills that raced it
        return new

    async def _replace_failed(self, order: Order, new: Order, exc: VenueKitError,
                              sent_at: float) -> Order:
        reason = f"{exc.code.name}: {exc.message}"
        if exc.outcome is Outcome.UNKNOWN:
            # The replacement may exist: look it up like any unknown create, but never send
            # it again (that would be a second order beside the old one).
            log.warning("replace outcome unknown; looking the replacement up",
                        extra={"order_id": order.id, "replacement": new.id,
                               **exc.log_fields()})
            # Tracked only once a lookup gave its size (the venue's: what was still open),
            # as when the answer arrives: stream fills meanwhile wait in the buffer, so the
            # fill that completes it is applied against the right quantity.
            await self.submitter.resolve(new, sent_at, resend=False)
            self.tracker.track(new)
            if new.state is OrderState.SUBMITTED:
                return order  # still unknown: both stay open for recovery to settle
            if new.state is not OrderState.ERROR:
                await self._refresh(order)
                if order.state is OrderState.PENDING_REPLACE:
                    self.tracker.apply(order, EventKind.REPLACED,
                                       data={"replaced_by": new.id})
                return new
            reason = f"{reason}; the venue never received the replacement"
        else:
            self.tracker.track(new)
            self.tracker.apply(new, EventKind.REJECT,
                               reason=f"the replace did not happen ({reason})")
        if order.state is OrderState.PENDING_REPLACE:
            self.tracker.apply(order, EventKind.REPLACE_REJECTED, reason=reason)
        await self._refresh(order)
        log.warning("replace did not happen", extra={"order_id": order.id,
                                                     **exc.log_fields()})
        return order

    async def _refresh(self, order: Order) -> None:
        """Reconcile ``order`` after a replace that failed or went unanswered.

        A venue that cannot show the order yet (a not-found inside its visibility delay,
        like the not-found that refused the replace) or cannot be reached is no news about
        it: the order stays as it is and settlement keeps following it, so the caller goes
        on (its next step or its deadline decides) instead of abandoning a working order.
        """
        try:
            await reconcile_order(self.venue, self.tracker, order)
        except VenueKitError as exc:
            if not (isinstance(exc, OrderNotFound) or exc.retryable):
                raise
            log.warning("order unreadable after its replace; settlement follows it",
                        extra={"order_id": order.id, **exc.log_fields()})
