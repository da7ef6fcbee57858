"""The rebalance executor: validate, SELL phase, settle, refresh, BUY phase sized to reality.

:class:`Rebalancer` consumes a :class:`~venuekit.rebalance.plan.Plan` and places its orders
through an :class:`~venuekit.engine.Engine`; it never recalculates the portfolio.

1. Every symbol is looked up (an unknown one fails the whole plan with ``INVALID_PLAN``
   before anything is sent); the account, the instruments and the arrival quotes are read
   concurrently (instruments and quotes one request each where the venue batches them).
2. SELL phase: each sell is sized (a notional at the bid, rounded down to the lot),
   validated, and executed; all sells run concurrently (the engine's rate limiter paces the
   venue calls). They start in waves of :attr:`Rebalancer.wave` orders: the engine
   journals each wave's creates under one commit and sends them while the next wave is
   validated, so the venue is already working on the first orders of a large phase
   instead of waiting until the whole phase is prepared.
3. Once the venue has reported every sell final, the account and the quotes are read again
   while the answers to the creates arrive and the REST confirmations run; the events
   those answers brought are committed meanwhile, and if anything changed an order after
   the read began, the account is read once more.
4. BUY phase: the buys are sized to the real buying power less the safety margin: when the
   plan asks for more, every buy is scaled down by the same factor (a notional scales, a
   quantity scales and rounds down to the lot), so the phase never exceeds the buying
   power. Then they run concurrently like the sells, and are confirmed beside the final
   account read.
5. The report says what happened to every item, from the confirmed orders. One failing
   order never stops the others: its error is its item's status and note.

The account and quote reads are retried with backoff (:func:`~venuekit.retry.retry_call`),
so one transient error (a timeout, a 5xx, a 429) does not end the rebalance.

A dry run does steps 1 to 4 without sending anything (buys are sized against the buying
power plus the sells' expected proceeds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import Code, Outcome, VenueKitError, error
from ..fees import fees_of
from ..journal.runs import Run, RunItem, RunKind, RunLink, RunState, linked
from ..model import (
    ZERO,
    Account,
    Instrument,
    Order,
    OrderRequest,
    OrderState,
    Quote,
    utcnow,
)
from ..retry import retry_call
from ..runs.book import RunBook
from ..strategies import ExecutionResult, run_strategy
from ..validation import PreTradeValidator
from .plan import Action, Plan, PlanError
from .report import ItemReport, ItemStatus, RebalanceReport
from .sizing import Sizer, floor

if TYPE_CHECKING:
    from ..engine import Engine
    from ..tracking import OrderTracker

__all__ = ["Rebalancer"]

log = logging.getLogger("venuekit.rebalance")

ProgressCallback = Callable[[ItemReport], None]
_T = TypeVar("_T")


_CENT = Decimal("0.01")


def run_items(plan: Plan) -> list[RunItem]:
    """The plan's items as its run journals them: each one's intent."""
    return [RunItem(index=i, symbol=item.symbol, action=item.action.value,
                    quantity=item.quantity, notional=item.notional)
            for i, item in enumerate(plan.items)]


class _FinalWatch:
    """Tells when every order a phase sent is final on the venue's word, before the
    executions return: each execution reports the orders it sends, and the watch follows
    them through the tracker until each is final and every execution has sent or ended."""

    def __init__(self, tracker: OrderTracker, executions: int) -> None:
        self.tracker = tracker
        self.orders: list[Order] = []
        self._pending = set(range(executions))  # executions that have neither sent nor ended
        self._moved = asyncio.Event()

    def sender(self, execution: int) -> Callable[[Order], None]:
        """The callback execution number ``execution`` reports each order it sends to."""
        def sent(order: Order) -> None:
            self.orders.append(order)
            self._done(execution)
        return sent

    def _done(self, execution: int) -> None:
        self._pending.discard(execution)
        self._moved.set()

    def ended(self, execution: int) -> None:
        """Execution number ``execution`` ended (having sent or not: refused, failed)."""
        self._done(execution)

    async def final(self) -> None:
        tracker = self.tracker
        orders = self.orders
        final = 0  # orders[:final] are final, and a final state stays final
        while True:
            while final < len(orders) and orders[final].state.is_terminal:
                final += 1
            if final < len(orders):
                working = orders[final]
                await tracker.wait_for_change(working, tracker.version(working), 1.0)
            elif self._pending:
                self._moved.clear()
                await self._moved.wait()
            else:
                return


class Rebalancer:
    """Runs plans on one engine. See the module docstring for the pipeline."""

    wave = 10
    """Orders of a phase started together, journaled under one commit and sent while the
    next wave is prepared: small enough that the first orders leave early, large enough
    that the commits stay few."""

    def __init__(self, engine: Engine, *, strategy: str = "market",
                 strategy_options: dict[str, Any] | None = None,
                 validator: PreTradeValidator | None = None,
                 safety_margin: Decimal | None = None,
                 on_item: ProgressCallback | None = None) -> None:
        existing = engine.validator
        self.validator = validator or (existing if isinstance(existing, PreTradeValidator)
                                       else PreTradeValidator())
        self.engine = engine
        self.strategy = strategy
        self.strategy_options = strategy_options or {}
        self._arrivals: dict[str, Quote] = {}
        self._instrument_of: dict[str, Instrument] = {}
        self._run_id: str | None = None
        reserve = self.validator.rules.buying_power_reserve
        self.safety_margin = max(safety_margin if safety_margin is not None else reserve,
                                 reserve)
        self.on_item = on_item

    async def run(self, plan: Plan, *, dry_run: bool = False,
                  again: bool = False) -> RebalanceReport:
        """Run ``plan`` as a journaled run and report it (see the module docstring).

        The plan's unfinished run on this venue is resumed (its working orders cancelled,
        what is left sized from what filled); a plan whose last run finished is refused
        with RUN_FINISHED unless ``again``. A dry run sends and journals nothing.
        """
        if isinstance(self.wave, bool) or not isinstance(self.wave, int) or self.wave < 1:
            raise error(Code.INVALID_CONFIG, f"Rebalancer.wave must be a whole number of "
                        f"orders, at least 1; got {self.wave!r}")
        engine = self.engine
        report = RebalanceReport(venue=engine.venue.name, strategy=self.strategy,
                                 dry_run=dry_run, correlation_id=plan.correlation_id)
        items = [ItemReport(i, item.symbol, item.action, planned_notional=item.notional,
                            planned_quantity=item.quantity) for i, item in
                 enumerate(plan.items)]
        report.items = items
        traded = sorted({item.symbol for item in plan.items if item.action is not Action.HOLD})
        # Reference data, the account and the arrival quotes in one concurrent round trip;
        # the quotes of unknown symbols fail, which the instrument check reports first.
        reads = asyncio.gather(self._instruments(plan), self._snapshot(traded),
                               return_exceptions=True)
        book = RunBook(engine.journal, engine.venue.name)
        planned = run_items(plan)
        try:
            # One turn of the loop sends the reads; the journal is searched for an earlier
            # run of this plan while they are on their way (what it decides waits for them).
            await asyncio.sleep(0)
            found = book.find(RunKind.REBALANCE, planned, plan.correlation_id)
        except BaseException:
            reads.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reads
            raise
        looked_up, snapshot = await reads
        if isinstance(looked_up, BaseException):
            raise looked_up
        if isinstance(snapshot, BaseException):
            raise snapshot
        instruments = looked_up
        start = book.start(RunKind.REBALANCE, planned, strategy=self.strategy,
                           correlation_id=plan.correlation_id, again=again, dry_run=dry_run,
                           found=found)
        report.run_id = None if start.run is None else start.run.id
        report.resumed = start.resumed
        self._run_id = None if dry_run else report.run_id
        try:
            run = start.run
            if run is not None and start.resumed and not dry_run:
                # What the dead session left working is cancelled, confirmed, before the
                # rest is sized from what filled; the account is read again after it.
                if await book.cancel_working(engine, run):
                    snapshot = await self._snapshot(traded)
                start.progress = book.progress(run)
            await self._run(plan, report, instruments, snapshot, traded,
                            Sizer(start, plan.correlation_id, self._finish), book, dry_run)
        except asyncio.CancelledError:
            self._end(book, start.run, report, RunState.INTERRUPTED, "cancelled", dry_run)
            raise
        except BaseException as exc:
            note = f"{exc.code.name}: {exc.message}" if isinstance(exc, VenueKitError) \
                else f"{type(exc).__name__}: {exc}"
            self._end(book, start.run, report, RunState.FAILED, note, dry_run)
            raise
        halted = engine.halted
        self._end(book, start.run, report,
                  RunState.INTERRUPTED if halted else RunState.FINISHED, halted, dry_run)
        return report

    async def _run(self, plan: Plan, report: RebalanceReport,
                   instruments: dict[str, Instrument],
                   snapshot: tuple[Account, dict[str, Quote]], traded: list[str],
                   sizer: Sizer, book: RunBook, dry_run: bool) -> None:
        engine = self.engine
        items = report.items
        account, quotes = snapshot
        report.account_before = account
        self._instrument_of = instruments
        self.validator.use_instruments(instruments.values())

        sells = [(items[i], plan_item) for i, plan_item in plan.trades(Action.SELL)]
        buys = [(items[i], plan_item) for i, plan_item in plan.trades(Action.BUY)]
        for entry, _ in sells + buys:
            entry.arrival_price = quotes[entry.symbol].mid
        for entry in items:
            if entry.action is Action.HOLD:
                self._finish(entry)

        log.info("rebalance started", extra={"venue": report.venue, "sells": len(sells),
                                            "buys": len(buys), "dry_run": dry_run,
                                            "run_id": report.run_id, "resumed": report.resumed,
                                            "correlation_id": plan.correlation_id})
        started = asyncio.get_running_loop().time()
        self.validator.use_account(account)
        self.validator.use_quotes(quotes.values())
        self._arrivals = dict(quotes)  # the strategies price off this snapshot
        sell_requests = [sizer.sell(entry, plan_item, instruments[entry.symbol],
                                    quotes[entry.symbol]) for entry, plan_item in sells]
        self._record_targets(book, sizer, report, dry_run)
        refreshed = await self._phase(
            list(zip((e for e, _ in sells), sell_requests, strict=True)), dry_run,
            (lambda: self._snapshot(traded)) if sells and not dry_run else None,
            commit_answers=bool(buys))
        if refreshed is not None:
            account, quotes = refreshed
        report.phase_seconds["sell"] = asyncio.get_running_loop().time() - started

        if dry_run:  # what the account would hold once the priced sells filled at the bid
            proceeds = sum((entry.requested_quantity * quotes[entry.symbol].bid
                            for entry, _ in sells if entry.requested_quantity
                            and entry.status is ItemStatus.PRICED), ZERO)
            account = account.model_copy(update={"cash": account.cash + proceeds,
                                                 "buying_power": account.buying_power
                                                 + proceeds})
        report.account_between = account
        budget = account.buying_power * (Decimal(1) - self.safety_margin)
        report.buy_budget = floor(max(budget, ZERO), "0.01")
        self.validator.use_account(account)
        self.validator.use_quotes(quotes.values())
        self._arrivals = dict(quotes)  # the strategies price off this snapshot
        started = asyncio.get_running_loop().time()
        if engine.halted:  # interrupted during the sells: no buy is sized or sent
            for entry, _ in buys:
                self._finish(entry, ItemStatus.INTERRUPTED, f"not sent: {engine.halted}")
            report.account_after = await self._account()
        else:
            buy_requests = sizer.buys(buys, instruments, quotes, report)
            self._record_targets(book, sizer, report, dry_run)
            # The answers' events are committed while the last account read is on its
            # way, so that the run's end commits only itself.
            report.account_after = await self._phase(
                list(zip((e for e, _ in buys), buy_requests, strict=True)), dry_run,
                None if dry_run else self._account, commit_answers=True)
        report.phase_seconds["buy"] = asyncio.get_running_loop().time() - started
        report.interrupted = engine.halted
        report.finished_at = utcnow()
        log.info("rebalance finished",
                 extra={"venue": report.venue, "complete": report.complete,
                        "run_id": report.run_id, "interrupted": report.interrupted,
                        "success_rate": str(report.success_rate),
                        "seconds": round(report.seconds, 3)})

    def _record_targets(self, book: RunBook, sizer: Sizer, report: RebalanceReport,
                        dry_run: bool) -> None:
        """Journal the targets sized for the first time, before any of their orders (a new
        run is journaled with its first ones, in the same commit)."""
        if not dry_run and sizer.targets:
            run = book.record_targets(sizer.start, sizer.targets)
            self._run_id = report.run_id = run.id
            sizer.targets = {}

    def _end(self, book: RunBook, run: Run | None, report: RebalanceReport, state: RunState,
             note: str | None, dry_run: bool) -> None:
        """Record how the run ended; a journal failure here is logged, not raised over
        the rebalance's own outcome. Nothing to record for a dry run, or a run that never
        had anything to send."""
        if report.finished_at is None:
            report.finished_at = utcnow()
        if run is None or dry_run:
            return
        try:
            book.end(run, state, note=note, statuses=[
                (item.index, item.status.value, item.note) for item in report.items])
        except VenueKitError as exc:
            log.error("could not record the end of the run",
                      extra={"run_id": run.id, **exc.log_fields()})

    # preparation ---------------------------------------------------------------------
    async def _instruments(self, plan: Plan) -> dict[str, Instrument]:
        """Every plan symbol's instrument; unknown symbols fail the plan, nothing sent."""
        known = await self.engine.instruments([item.symbol for item in plan.items])
        problems = plan.unknown_symbols(known)
        if problems:
            raise PlanError(problems, f"the plan (symbols on {self.engine.venue.name})")
        return known

    async def _account(self) -> Account:
        """The account, a read retried with backoff on transport errors and throttling."""
        venue = self.engine.venue
        return await retry_call(venue.account, operation="account", venue=venue.name)

    async def _snapshot(self, symbols: Sequence[str]) -> tuple[Account, dict[str, Quote]]:
        """The account and the quotes of ``symbols``, read concurrently.

        Both are reads: a transient error (a timeout, a 5xx, a 429) is retried with backoff
        rather than ending the whole rebalance.
        """
        venue = self.engine.venue
        account, quotes = await asyncio.gather(
            self._account(),
            retry_call(lambda: venue.quotes(symbols), operation="quotes", venue=venue.name))
        found = {quote.symbol: quote for quote in quotes}
        missing = [symbol for symbol in symbols if symbol not in found]
        if missing:
            raise error(Code.UNKNOWN_SYMBOL, f"{venue.name} has no quote for "
                        f"{', '.join(missing)}", venue=venue.name)
        return account, found

    # execution -----------------------------------------------------------------------
    async def _phase(self, work: Sequence[tuple[ItemReport, OrderRequest | None]],
                     dry_run: bool, read: Callable[[], Awaitable[_T]] | None, *,
                     commit_answers: bool = False) -> _T | None:
        """Run the orders of ``work`` concurrently, then ``read`` the account once the venue
        has them all final; returns what ``read`` returned (None without it).

        With ``commit_answers``, the events the answers brought are committed while the
        read is on its way, so that the next commit (the next phase's first creates, or the
        run's end) does not carry them; otherwise the tracker commits them within its
        ``flush_after``.

        The read starts as soon as every order sent is final on the venue's word (its
        stream, or its answers), while the executions are still receiving the answers to
        their creates and the REST confirmations run: it costs no round trip of its own.
        If anything changed an order after the read started (a confirmation found a fill
        the stream lost, a fill raced a cancel, a strategy sent another order), the read is
        made again: what is returned always postdates every order of the phase. The items
        are recorded from the confirmed orders.
        """
        sent = [(entry, request) for entry, request in work if request is not None]
        watch = _FinalWatch(self.engine.tracker, len(sent))
        tasks: list[asyncio.Task[ExecutionResult | None]] = []
        try:
            for i, (entry, request) in enumerate(sent):
                if i and i % self.wave == 0:
                    # The waves started so far are journaled and sent before the next is
                    # validated: one turn of the loop lets them through.
                    await asyncio.sleep(0)
                tasks.append(asyncio.ensure_future(self._one(entry, request, dry_run,
                                                             watch, i)))
        except BaseException:  # cancelled between waves: so are the orders started
            for started in tasks:
                started.cancel()
            raise
        running = asyncio.gather(*tasks)
        early: asyncio.Future[_T] | None = None
        final: asyncio.Future[None] | None = None
        seen: dict[str, int] = {}
        try:
            if read is not None and tasks:
                final = asyncio.ensure_future(watch.final())
                await asyncio.wait((running, final), return_when=asyncio.FIRST_COMPLETED)
                if (final.done() and not final.cancelled() and final.exception() is None
                        and not running.done()):
                    seen = {order.id: len(order.history) for order in watch.orders}
                    early = asyncio.ensure_future(read())
                final.cancel()
            executed = [(entry, result) for (entry, _), result
                        in zip(sent, await running, strict=True) if result is not None]
            if early is not None and commit_answers:
                # Every create has its answer: commit what the answers brought while the
                # read is on its way, rather than with the next phase's first creates.
                self._flush()
            # Only executions with a final state left to confirm get a task (none when
            # every order filled).
            confirming = asyncio.gather(*(result.confirm(self.engine)
                                          for _, result in executed if result.unconfirmed))
            if early is None:  # the read starts now, beside the confirmations
                seen = {order.id: len(order.history)
                        for _, result in executed for order in result.orders}
                early = asyncio.ensure_future(read()) if read is not None else None
            try:
                await confirming
            finally:
                for entry, result in executed:
                    self._record(entry, result, notify=False)
            outcome = await early if early is not None else None
        except BaseException:
            # Cancelled (or failed) while waiting: the executions started go down with the
            # phase, each cancelling its working orders at the venue (confirmed) before
            # the phase gives up; their own outcomes are retrieved, never left dangling.
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
            if running.done() and not running.cancelled():
                running.exception()
            raise
        finally:
            if final is not None:  # cancelled too when the phase is
                final.cancel()
            if early is not None and not early.done():
                early.cancel()
        if read is None:
            return None
        if any(seen.get(order.id) != len(order.history)
               for _, result in executed for order in result.orders):
            log.info("an order changed after the account read began; reading it again",
                     extra={"venue": self.engine.venue.name})
            return await read()
        return outcome

    def _flush(self) -> None:
        try:
            self.engine.tracker.flush()
        except VenueKitError as exc:  # the next commit takes them along (or recovery)
            log.warning("could not commit the phase's events yet",
                        extra={"venue": self.engine.venue.name, **exc.log_fields()})

    async def _one(self, entry: ItemReport, request: OrderRequest, dry_run: bool,
                   watch: _FinalWatch, execution: int) -> ExecutionResult | None:
        """Validate and execute one order; every outcome ends in ``entry``, none escapes.

        Returns the execution, its final states still to be confirmed, when it ran. The
        ``watch`` hears of each order it sends and of its end, as execution ``execution``.
        """
        try:
            validator = self.validator
            try:
                context = await validator.context(request, self.engine.venue)
                verdict = validator.evaluate(request, context)
            except VenueKitError as exc:
                self._finish(entry, ItemStatus.FAILED, f"{exc.code.name}: {exc.message}")
                return None
            entry.risk_score = verdict.risk_score
            if verdict.warnings:
                entry.warnings.extend(w.message for w in verdict.warnings)
            if not verdict.ok:
                self._finish(entry, ItemStatus.REFUSED, "; ".join(
                    f"{v.code.name}: {v.message}" for v in verdict.violations))
                return None
            if dry_run:
                self._finish(entry, ItemStatus.PRICED)
                return None
            entry.started_at = utcnow()
            options = {**self.strategy_options, "confirm": False,
                       "on_order": watch.sender(execution)}
            run_id = self._run_id
            try:
                # Every order the execution sends serves this item of the run.
                with linked(None if run_id is None else RunLink(run_id, entry.index)):
                    result = await run_strategy(self.engine,
                        request, self.strategy, arrival=self._arrivals.get(entry.symbol),
                        **options)
            except VenueKitError as exc:
                # Raised before the order reached the venue (validation, instrument rules,
                # an interrupt) or with an outcome the journal and recovery resolve later.
                if exc.code is Code.INTERRUPTED:
                    status = ItemStatus.INTERRUPTED
                elif exc.outcome is Outcome.REJECTED:
                    status = ItemStatus.REFUSED
                else:
                    status = ItemStatus.FAILED
                entry.finished_at = utcnow()
                self._finish(entry, status, f"{exc.code.name}: {exc.message}")
                return None
            except Exception as exc:  # a bug must not hide the other orders' outcomes
                log.exception("rebalance order failed", extra={"symbol": entry.symbol})
                entry.finished_at = utcnow()
                self._finish(entry, ItemStatus.FAILED, f"{type(exc).__name__}: {exc}")
                return None
            if self.on_item is not None:  # shown as done now; recorded again once confirmed
                self._record(entry, result)
            return result
        finally:
            watch.ended(execution)

    def _record(self, entry: ItemReport, result: ExecutionResult, *,
                notify: bool = True) -> None:
        entry.order_id = result.order_id or None
        state = result.state
        entry.state = state.value
        entry.filled_quantity = filled = result.filled_quantity
        entry.average_price = result.average_price
        instrument = self._instrument_of.get(entry.symbol)
        if instrument is None:  # not reached: every traded symbol's instrument is known
            entry.fees = result.fees
        else:
            fees = fees_of((fill for order in result.orders for fill in order.fills),
                           instrument)
            entry.fees = fees.value
            entry.other_fees = dict(fees.other)
        entry.attempts = result.attempts
        entry.repegs = result.repegs
        slippage = result.slippage_bps  # each of these properties sums over the orders
        entry.slippage_bps = None if slippage is None else slippage.quantize(_CENT)
        entry.started_at = result.started_at
        entry.finished_at = result.finished_at or utcnow()
        entry.orders = [{"id": o.id, "venue_order_id": o.venue_order_id,
                         "state": o.state.value, "quantity": o.quantity,
                         "filled_quantity": o.filled_quantity} for o in result.orders]
        if state is OrderState.FILLED:
            status = ItemStatus.COMPLETED
        elif self.engine.halted and state.is_terminal:
            status = ItemStatus.INTERRUPTED  # its order was cancelled by the interrupt
        elif state is OrderState.REJECTED and filled == 0:
            status = ItemStatus.REJECTED
        elif state.is_terminal:
            status = ItemStatus.INCOMPLETE
        else:
            status = ItemStatus.FAILED  # outcome unknown: recovery resolves it
        self._finish(entry, status, result.note, notify=notify)

    def _finish(self, entry: ItemReport, status: ItemStatus = ItemStatus.HELD,
                note: str | None = None, *, notify: bool = True) -> None:
        entry.status = status
        if note:
            entry.note = note
        if notify and self.on_item is not None:
            self.on_item(entry)
