"""The front door: :class:`AsyncClient`, one journal and one engine per venue.

Opened once and used many times::

    async with venuekit.AsyncClient("mock", "alpaca") as vk:
        await vk.buy("AAPL", "10", venue="alpaca")
        await vk.sell("MSFT", "5", limit="412.50", venue="mock")
        print(await vk.positions())

Opening resolves the settings as every command does (:mod:`venuekit.settings`), opens the
journal, connects each venue and runs its recovery, once. A venue that fails to connect or
to recover is refused (its methods raise the error that refused it) while the others
trade. Every venue's engine writes the same journal: one book of record for the process.

Strategies are the client's to choose (the engine does not know them): ``execute`` runs a
request with the strategy its order type calls for unless told otherwise. Errors are the
taxonomy's typed errors. :class:`~venuekit.client.sync.Client` is the same client for code
without an event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ..cancelling import CancelOutcome, CancelReport, as_found, cancel_orders, choose
from ..engine import Bracket, Engine
from ..errors import Code, VenueKitError, error
from ..journal.base import Journal
from ..journal.postgres import PostgresJournal
from ..journal.target import JournalURL, open_journal
from ..model import Account, BracketRequest, Fill, Order, OrderRequest, Quote, Side
from ..outcome import OutcomePolicy
from ..plugins import PluginHost, default_host
from ..positions import PositionLine
from ..preview import Preview, preview
from ..rebalance import ItemReport, Plan, PlanReport, Rebalancer, load_plan, parse_plan
from ..rebalance.across import rebalance_across
from ..recovery import RecoveryReport
from ..runs.single import OrderRun, execute_order
from ..settings import Settings, load_settings
from ..settlement import SettlementOptions
from ..strategies import ExecutionResult, run_strategy, strategy_for
from ..validation import PreTradeValidator, ValidationRules
from ..venue import Venue
from .events import EventFeed, Subscription
from .holdings import positions_at
from .shortcuts import Amount, shortcut_request

__all__ = ["AsyncClient", "VenueStatus"]

log = logging.getLogger("venuekit.client")

ACCOUNT_MAX_AGE = 1.0
"""Seconds the pre-trade checks of a client with rules trust an account read: at most one
account read a second per venue, whatever the order rate."""

PathLike = str | os.PathLike[str]


@dataclass
class VenueStatus:
    """One venue of a client: its engine once it trades, or the error that refused it."""

    name: str
    engine: Engine | None = None
    error: VenueKitError | None = None

    @property
    def trading(self) -> bool:
        return self.engine is not None and self.error is None


class AsyncClient:
    """Venues, one journal, and what a bot does with them (see the module docstring).

    ``venues`` are registered venue names (built from the config file's ``[venues.NAME]``
    and ``venue_options[NAME]``) or :class:`~venuekit.venue.Venue` objects. ``journal`` and
    ``config`` resolve as for the CLI (or give resolved ``settings``). ``policy`` and
    ``settlement`` tune every engine; ``rules`` are pre-trade checks every order passes
    before it is journaled or sent (none when not given, but a rebalance always checks
    its orders, with the default :class:`~venuekit.validation.ValidationRules` then).
    The checks read each venue's account at most once a second (``ACCOUNT_MAX_AGE``).
    ``trigger_interval`` is how often, in seconds, the client reads quotes for the stops it
    holds where a venue emulates them (see docs/order-types.md). On a shared (PostgreSQL)
    journal the client is also a survivor: every ``takeover_interval`` seconds (by default
    the journal's lease; 0 turns it off) it takes over the open orders, on its venues, of
    writers that are gone and reconciles them (see docs/deployment.md).
    """

    def __init__(self, *venues: str | Venue, journal: PathLike | JournalURL | None = None,
                 config: PathLike | None = None,
                 venue_options: Mapping[str, Mapping[str, Any]] | None = None,
                 host: PluginHost | None = None, policy: OutcomePolicy | None = None,
                 settlement: SettlementOptions | None = None,
                 rules: ValidationRules | None = None, settings: Settings | None = None,
                 trigger_interval: float = 1.0,
                 takeover_interval: float | None = None) -> None:
        if not venues:
            raise error(Code.INVALID_CONFIG, "name at least one venue to connect to")
        names = [v if isinstance(v, str) else v.name for v in venues]
        if len(set(names)) != len(names):
            raise error(Code.INVALID_CONFIG, f"each venue once: {', '.join(names)}")
        self._given: dict[str, str | Venue] = dict(zip(names, venues, strict=True))
        self._journal_path = journal
        self._config_path = config
        self._venue_options = venue_options or {}
        self._host = host
        self._policy = policy
        self._settlement = settlement
        self._rules = rules
        self._trigger_interval = trigger_interval
        self.settings: Settings | None = settings
        self.journal: Journal | None = None
        self._venues: dict[str, VenueStatus] = {name: VenueStatus(name) for name in names}
        self._feed: EventFeed | None = None
        self._following: set[asyncio.Task[Order]] = set()
        self._takeover_interval = takeover_interval
        self._survivor: asyncio.Task[None] | None = None
        self.adopted: list[str] = []
        """Orders this client took over from writers that are gone (a shared journal)."""

    # opening and closing -------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def open(self) -> Self:
        """Open the journal, connect every venue and recover it (concurrently). A venue
        that fails is refused; the client opens as long as the journal does."""
        if self.journal is not None:
            return self
        if self.settings is None:
            self.settings = load_settings(config_path=self._config_path,
                                          journal=self._journal_path)
        host = self._host or default_host()
        self._host = host
        self.journal = open_journal(self.settings.journal)
        self._feed = EventFeed(host)
        try:
            self._adopt()
            await asyncio.gather(*(self._start(status) for status in self._venues.values()))
        except BaseException:  # cancelled (an interrupt) or worse: leave nothing open
            await self.close()
            raise
        if isinstance(self.journal, PostgresJournal):
            every = self._takeover_interval
            every = self.journal.lease if every is None else every
            if every > 0:
                self._survivor = asyncio.create_task(
                    self._survive(self.journal, every), name="venuekit-survivor")
        log.info("client open", extra={"venues": list(self._venues),
                                       "refused": self.refused_venues,
                                       "journal": str(self.settings.journal)})
        return self

    def _adopt(self) -> None:
        """A shared journal: take over the open orders, on this client's venues, of writers
        that are gone, so that each venue's recovery (next) reconciles them with ours."""
        if isinstance(self.journal, PostgresJournal):
            adopted = self.journal.adopt(self._venues)
            self.adopted += adopted
            if adopted:
                log.warning("orders adopted from writers that are gone",
                            extra={"venues": list(self._venues), "orders": adopted,
                                   "writer_id": self.journal.writer_id})

    async def _survive(self, journal: PostgresJournal, every: float) -> None:
        """A survivor, while the client is open on a shared journal: every ``every``
        seconds, take over the open orders, on each venue this client trades, of writers
        that are gone (dead, or hung past their lease), and reconcile them as recovery does
        at open. Stops once this writer is fenced itself."""
        while True:
            await asyncio.sleep(every)
            for status in list(self._venues.values()):
                engine = status.engine
                if engine is None or engine.fenced is not None:
                    continue
                try:
                    adopted = journal.adopt([status.name])
                    if not adopted:
                        continue
                    self.adopted += adopted
                    report = await engine.take_over(adopted)
                except VenueKitError as exc:
                    if exc.code is Code.JOURNAL_FENCED:
                        return
                    log.error("taking over the orders of a writer that is gone failed",
                              extra={"venue": status.name, **exc.log_fields()})
                    continue
                log.warning("orders of a writer that is gone taken over and reconciled",
                            extra={"venue": status.name, "orders": adopted,
                                   "writer_id": journal.writer_id,
                                   "working": report.working, "failed": len(report.failed)})

    async def _start(self, status: VenueStatus) -> None:
        assert self.settings is not None and self.journal is not None
        given = self._given[status.name]
        status.error = None
        engine: Engine | None = None
        try:
            venue = given if isinstance(given, Venue) else self.settings.build_venue(
                given, self._venue_options.get(given), host=self._host)
            engine = Engine(venue, self.journal, host=self._host, policy=self._policy,
                            settlement=self._settlement, trigger_interval=self._trigger_interval,
                            validator=None if self._rules is None
                            else PreTradeValidator(self._rules,
                                                   account_max_age=ACCOUNT_MAX_AGE))
            report = await engine.start()
        except VenueKitError as exc:
            status.error = exc
            log.error("venue refused", extra={"venue": status.name, **exc.log_fields(),
                                              "reason": exc.message})
            if engine is not None:
                await _quietly_close(engine)
            return
        status.engine = engine
        status.error = _refusal(status.name, report)

    async def close(self) -> None:
        """Close every venue and the journal (what was written behind is committed)."""
        if self._survivor is not None:
            self._survivor.cancel()
            await asyncio.gather(self._survivor, return_exceptions=True)
            self._survivor = None
        following, self._following = list(self._following), set()
        for task in following:  # the orders stay working; the next recovery takes them up
            task.cancel()
        await asyncio.gather(*following, return_exceptions=True)
        if self._feed is not None:
            self._feed.close()
            self._feed = None
        engines = [s.engine for s in self._venues.values() if s.engine is not None]
        await asyncio.gather(*(_quietly_close(engine) for engine in engines))
        for status in self._venues.values():
            status.engine = None
        if self.journal is not None:
            self.journal.close()
            self.journal = None

    # venues ------------------------------------------------------------------------------
    @property
    def venues(self) -> list[str]:
        """The venues this client was asked for, trading or not."""
        return list(self._venues)

    @property
    def refused_venues(self) -> dict[str, str]:
        """The venues that do not trade, with the reason."""
        return {name: f"{s.error.code.name}: {s.error.message}"
                for name, s in self._venues.items() if s.error is not None}

    def status(self, venue: str | None = None) -> VenueStatus:
        return self._venues[self._name(venue)]

    def engine(self, venue: str | None = None) -> Engine:
        """The engine of ``venue`` (the only venue when there is one); raises the error that
        refused it, or INVALID_CONFIG for a venue the client does not hold."""
        status = self._venues[self._name(venue)]
        if status.engine is None:
            if status.error is not None:
                raise status.error
            raise error(Code.INVALID_CONFIG, "the client is not open: use `async with` or "
                        "await open()")
        if status.error is not None and status.error.code is not Code.RECONCILIATION_FAILED:
            raise status.error
        return status.engine

    def _trading(self, venue: str | None) -> Engine:
        """The engine to trade on: also refuses a venue whose recovery failed."""
        engine = self.engine(venue)
        status = self._venues[self._name(venue)]
        if status.error is not None:
            raise status.error
        return engine

    def _name(self, venue: str | None) -> str:
        if venue is None:
            if len(self._venues) == 1:
                return next(iter(self._venues))
            raise error(Code.INVALID_CONFIG, "name the venue (venue=...): this client holds "
                        f"{', '.join(self._venues)}")
        if venue not in self._venues:
            raise error(Code.INVALID_CONFIG, f"this client holds no venue {venue!r} (it holds "
                        f"{', '.join(self._venues)})")
        return venue

    def _book(self) -> Journal:
        if self.journal is None:
            raise error(Code.INVALID_CONFIG, "the client is not open: use `async with` or "
                        "await open()")
        return self.journal

    def recovery(self, venue: str | None = None) -> RecoveryReport | None:
        """What recovery found at open (or at the last :meth:`recover`)."""
        return self.engine(venue).recovery

    async def recover(self, venue: str | None = None) -> RecoveryReport:
        """Reconcile ``venue``'s open orders with it again, and return what recovery found.

        A venue refused at open trades once this succeeds: one whose recovery failed is
        recovered again (while the report is not ``ok``, trading there still raises
        RECONCILIATION_FAILED), and one that could not connect is connected and recovered
        anew (the connection's error is raised if it fails again)."""
        status = self._venues[self._name(venue)]
        self._book()
        if status.engine is None:
            await self._start(status)
            if status.engine is None:
                assert status.error is not None
                raise status.error
            report = status.engine.recovery
            assert report is not None
            return report
        report = await status.engine.recover()
        status.error = _refusal(status.name, report)
        return report

    # trading -----------------------------------------------------------------------------
    async def execute(self, request: OrderRequest, strategy: str | None = None, *,
                      venue: str | None = None, **options: Any) -> ExecutionResult:
        """Execute ``request`` on ``venue`` with ``strategy`` (by default the one its order
        type calls for); ``options`` go to the strategy (``timeout``, ``budget``, ...)."""
        return await run_strategy(self._trading(venue), request, strategy, **options)

    async def buy(self, symbol: str, quantity: Amount, *, limit: Amount | None = None,
                  venue: str | None = None, strategy: str | None = None,
                  **options: Any) -> ExecutionResult:
        """Buy ``quantity`` of ``symbol``: at market, or limited to ``limit``."""
        return await self.execute(shortcut_request(Side.BUY, symbol, quantity, limit), strategy,
                                  venue=venue, **options)

    async def sell(self, symbol: str, quantity: Amount, *, limit: Amount | None = None,
                   venue: str | None = None, strategy: str | None = None,
                   **options: Any) -> ExecutionResult:
        """Sell ``quantity`` of ``symbol``: at market, or limited to ``limit``."""
        return await self.execute(shortcut_request(Side.SELL, symbol, quantity, limit), strategy,
                                  venue=venue, **options)

    async def preview(self, request: OrderRequest, *, venue: str | None = None) -> Preview:
        """``request`` as it would be sent (rounded to its instrument's grids, and what
        that changed) and the client's pre-trade checks' verdict, nothing journaled or sent;
        raises the refusal :meth:`place` would raise (see :mod:`venuekit.preview`)."""
        return await preview(self._trading(venue), request)

    async def place(self, request: OrderRequest, *, venue: str | None = None) -> Order:
        """Send ``request`` as one order and return once the venue has answered, leaving it
        working (a resting limit order, say): no strategy waits on it or cancels it.

        The client follows the order until it is final, journaling its fills as they come,
        or until the client closes; an order still working then stays working at the venue,
        and the next client's recovery takes it up. :meth:`wait` waits for it and
        :meth:`cancel` cancels it."""
        engine = self._trading(venue)
        order = await engine.submit(request)
        if not order.state.is_terminal:
            task = asyncio.ensure_future(engine.settle(order))
            self._following.add(task)
            task.add_done_callback(self._followed)
        return order

    async def place_bracket(self, bracket: BracketRequest, *,
                            venue: str | None = None) -> Bracket:
        """Send a bracket (an entry with a take-profit and a stop-loss, one cancelling the
        other) and return its three orders once the venue has answered the entry; the
        client follows each until it is final or the client closes. Where the venue holds
        brackets natively it keeps running the exits after that; where the engine emulates
        them, the next client re-arms them (see docs/order-types.md)."""
        engine = self._trading(venue)
        placed = await engine.submit_bracket(bracket)
        for order in (placed.entry, placed.take_profit, placed.stop_loss):
            if not order.state.is_terminal:
                task = asyncio.ensure_future(engine.settle(order))
                self._following.add(task)
                task.add_done_callback(self._followed)
        return placed

    def _followed(self, task: asyncio.Task[Order]) -> None:
        self._following.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if isinstance(exc, VenueKitError) and exc.code is Code.JOURNAL_FENCED:
                # Said once by the journal; the order is another process's now.
                log.info("stopped following a placed order: the journal writer is fenced")
                return
            log.error("could not follow a placed order", extra={
                "error": exc.code.name if isinstance(exc, VenueKitError) else repr(exc)})

    async def wait(self, order: str | Order, *, timeout: float | None = None) -> Order:
        """Wait until ``order`` (a client order id, or the order) is final, or ``timeout``
        seconds pass; returns it as it is then (settled with the venue, fills journaled)."""
        order_id = order if isinstance(order, str) else order.id
        found = await self.order(order_id)
        engine = self.engine(found.venue)
        live = engine.tracker.live(order_id)
        if live is None:  # final, or no longer followed: the journal has the last word
            return found
        return await engine.settle(live, timeout=timeout)

    async def run_order(self, request: OrderRequest, strategy: str | None = None, *,
                        venue: str | None = None, again: bool = False,
                        **options: Any) -> OrderRun:
        """Execute ``request`` as a journaled run, resumed if its last run did not finish
        (what ``venuekit order`` does; see :mod:`venuekit.runs.single`)."""
        return await execute_order(self._trading(venue), request,
                                   strategy_for(request, strategy), again=again, **options)

    async def rebalance(self, plan: Plan | Mapping[str, Any] | PathLike, *,
                        venue: str | None = None, strategy: str = "market",
                        strategy_options: dict[str, Any] | None = None,
                        dry_run: bool = False, again: bool = False,
                        on_item: Callable[[ItemReport], None] | None = None) -> PlanReport:
        """Run ``plan`` (a :class:`~venuekit.rebalance.Plan`, its dict, or a file): each
        venue it names runs its own sells, then its buys sized to its own buying power,
        concurrently with the others (see :mod:`venuekit.rebalance.across`). Items naming
        no venue trade on ``venue`` (the only venue when there is one). Each venue's part is
        a run of its own: resumed if unfinished, refused once finished unless ``again``.
        Every order is checked against the client's ``rules`` (the defaults when it has
        none) before it is sent."""
        if not isinstance(plan, Plan):
            plan = parse_plan(plan) if isinstance(plan, Mapping) else load_plan(Path(plan))
        default = venue if venue is not None else (
            self.venues[0] if len(self.venues) == 1 else None)
        engines = {name: self._trading(name) for name in plan.venues(default)}
        def rebalancer(engine: Engine) -> Rebalancer:
            # The engine's own checks when the client has rules (one validator sees every
            # order), else the default rules.
            return Rebalancer(engine, strategy=strategy, strategy_options=strategy_options,
                              on_item=on_item)

        report = await rebalance_across(engines, plan, default=default, rebalancer=rebalancer,
                                        dry_run=dry_run, again=again)
        if not dry_run:
            for name, venue_report in report.reports.items():
                traded = {item.symbol for item in venue_report.trades}
                report.positions[name] = await self.positions(venue=name, symbols=traded)
        return report

    async def cancel(self, order: str | Order) -> CancelOutcome:
        """Cancel one order (by client order id, or the order), confirmed by its venue."""
        order_id = order if isinstance(order, str) else order.id
        report = await self.cancel_orders(order_ids=[order_id])
        return report.outcomes[0]

    async def cancel_all(self, *, venue: str | None = None, symbol: str | None = None,
                         run: str | None = None) -> CancelReport:
        """Cancel every working order (of ``venue``, ``symbol``, ``run``), each confirmed."""
        return await self.cancel_orders(run_id=run, every=run is None, symbol=symbol,
                                        venue=venue)

    async def cancel_orders(self, *, order_ids: Sequence[str] = (), run_id: str | None = None,
                            every: bool = False, symbol: str | None = None,
                            venue: str | None = None) -> CancelReport:
        """Cancel the orders :func:`venuekit.cancelling.choose` chooses from the journal.

        An order of a venue this client does not hold, or of one that refused to connect,
        is reported as it is, with the reason (it stays working until a client that trades
        on its venue cancels it)."""
        return await self.cancel_chosen(choose(self._book(), order_ids=order_ids,
                                               run_id=run_id, every=every, symbol=symbol,
                                               venue=venue))

    async def cancel_chosen(self, orders: Sequence[Order]) -> CancelReport:
        """Cancel ``orders`` as they were chosen (read from the journal before the client
        opened, say, with :func:`venuekit.cancelling.choose_in`): each is reported with
        the state it had then, and cancelled as recovery left it."""
        groups: dict[str, list[Order]] = {}
        for order in orders:
            groups.setdefault(order.venue, []).append(order)
        report = CancelReport()
        for name, group in groups.items():
            status = self._venues.get(name)
            if status is None:
                report.outcomes.extend(as_found(group, f"the order is at {name}, a venue "
                                                       "this client does not hold"))
            elif status.engine is None:
                reason = status.error.message if status.error else "the client is not open"
                report.outcomes.extend(as_found(group, f"{name} is not trading: {reason}"))
            else:
                report.outcomes.extend(await cancel_orders(status.engine, group))
        return report

    async def halt(self, reason: str) -> None:
        """Stop every venue's trading as a first interrupt does (see :meth:`Engine.halt`)."""
        engines = [s.engine for s in self._venues.values() if s.engine is not None]
        await asyncio.gather(*(engine.halt(reason) for engine in engines))

    # reading -----------------------------------------------------------------------------
    async def orders(self, *, working: bool = False, run: str | None = None,
                     symbol: str | None = None, venue: str | None = None,
                     since: datetime | None = None, limit: int | None = None) -> list[Order]:
        """Orders from the journal, newest first (``working``: those not final). A time
        without a zone is UTC."""
        book = self._book()
        since = _utc(since)
        if working:
            found = [o for o in book.open_orders(venue) if (run is None or o.run_id == run)
                     and (symbol is None or o.symbol == symbol)
                     and (since is None or o.created_at >= since)]
            found.reverse()
            return found[:limit] if limit is not None else found
        return book.orders(symbol=symbol, venue=venue, since=since, limit=limit, run_id=run)

    async def order(self, order_id: str) -> Order:
        """One order by client order id; UNKNOWN_ORDER when the journal has none."""
        found = self._book().get(order_id)
        if found is None:
            raise error(Code.UNKNOWN_ORDER, f"the journal has no order {order_id!r}")
        return found

    async def fills(self, *, since: datetime | None = None, venue: str | None = None,
                    symbol: str | None = None) -> list[Fill]:
        """Executions the journal holds, oldest first (each once); ``since`` without a zone
        is UTC."""
        since = _utc(since)
        found = self._book().fills(venue=venue, symbol=symbol)
        return [fill for fill in found if since is None or fill.at >= since]

    async def quote(self, symbol: str, *, venue: str | None = None) -> Quote:
        return await self.engine(venue).quote(symbol)

    async def account(self, *, venue: str | None = None) -> Account:
        """Cash, buying power and positions as the venue reports them."""
        engine = self.engine(venue)
        return await engine.venue.account()

    async def positions(self, *, venue: str | None = None,
                        symbols: set[str] | None = None) -> list[PositionLine]:
        """Each symbol's position from the journal's fills (average cost, realized and
        unrealized P&L), marked at the latest quotes and compared with the venue's own
        positions (see :mod:`venuekit.positions`): of ``venue``, or of every venue that
        trades when none is named. Sorted by venue, then symbol."""
        if venue is not None or len(self._venues) == 1:
            names = [self._name(venue)]
        else:
            names = [name for name, s in self._venues.items() if s.engine is not None]
        book = self._book()
        found = await asyncio.gather(*(positions_at(self.engine(name), book, symbols)
                                       for name in names))
        return [line for lines in found for line in lines]

    def events(self) -> Subscription:
        """Every order event of every venue from now on, as it happens (durable before it
        is heard), until the client closes or the subscription is closed::

            async with vk.events() as events:
                async for event in events:
                    print(event.order_id, event.kind, event.state)
        """
        if self._feed is None:
            raise error(Code.INVALID_CONFIG, "the client is not open: use `async with` or "
                        "await open()")
        return self._feed.subscribe()


def _utc(when: datetime | None) -> datetime | None:
    return when if when is None or when.tzinfo is not None else when.replace(tzinfo=UTC)


def _refusal(venue: str, report: RecoveryReport) -> VenueKitError | None:
    if report.ok:
        return None
    return error(Code.RECONCILIATION_FAILED, f"{venue}: {len(report.failed)} open order(s) "
                 "could not be reconciled; trading there is refused until recover() succeeds",
                 venue=venue)


async def _quietly_close(engine: Engine) -> None:
    try:
        await engine.close()
    except Exception:
        log.exception("venue did not close cleanly", extra={"venue": engine.venue.name})
