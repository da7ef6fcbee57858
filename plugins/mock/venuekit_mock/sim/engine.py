"""The matching engine: orders, validation, matching, time in force, replace, the account.

:class:`Simulator` is pure and synchronous: no I/O, no asyncio, no pydantic on the hot
path. Every mutating call returns the :class:`~venuekit_mock.sim.records.SimEvent` list it
produced, oldest first, so a caller (the mock venue, a protocol emulator) can stream them.
Timestamps come from a stepped clock (``start + step_index * step``) unless ``start`` is
None, in which case they are the wall clock's; the market moves only in :meth:`advance`.
Arithmetic runs in the standard decimal context (:mod:`.arith`), so the process's context
cannot change a result.

Matching: a taker meets the touch once per step, for at most the displayed size still
available in that step, at a price the slippage model sets (rounded onto the grid against
the taker, never past a limit). What is left rests: a limit order fills at its own price
when a later quote crosses it; a market order's remainder takes again at later steps. IOC
remainders expire at once; a FOK order that cannot fill in full now is rejected; DAY orders
expire at each session close.

Stop orders (:mod:`.stops`) wait, acknowledged, for their trigger: a buy stop fires when
the ask reaches its stop price (ask >= stop), a sell stop when the bid falls to it (bid <=
stop). A trailing stop keeps a mark (a sell's highest bid since it was accepted, a buy's
lowest ask) and its stop is the mark less its trail for a sell, plus for a buy (the trail an
amount, or a percentage of the mark); it fires like a stop at that price. Triggers are
checked against every new quote (each market step, each forced quote), after the resting
orders matched it; a stop fires at most once, then trades in the same step by the normal
matching: a stop or trailing stop as a market order, a stop-limit as a limit order at its
limit price, its remainder resting like any other. A stop whose trigger the current quote
already crosses (a buy stop at or below the ask, a sell stop at or above the bid) is
rejected with ``INVALID_PRICE``. Stops take time in force DAY or GTC and reserve buying
power (a stop-limit buy at its limit, a stop buy at its stop marked up as a market buy) or
shares from acceptance, like a resting order; an armed stop can be cancelled, and a replace
of a stop order is refused with ``UNSUPPORTED_ORDER``.

Contingent orders: :meth:`Simulator.submit_bracket` places an entry (market or limit) with
a take-profit limit and/or a stop-loss exit (one-triggers-other). The exits are held, not
working, until the entry fills; they then work for what the entry filled (when it fills in
full, or when it ends cancelled or expired with part filled; an entry that ends unfilled
cancels them). :meth:`Simulator.submit_oco` places a take-profit limit and a stop-loss that
work at once. Two exits form a one-cancels-other pair: the first fill of either, even a
partial one, cancels the other, so together they never trade more than one of them holds;
cancelling one cancels the other.

Auction orders (:mod:`.auctions`): :meth:`Simulator.submit_auction` places a market or
limit order that trades only in the closing auction (at the session's close, against the
quote standing then) or in the next opening auction (against each symbol's first quote
after a close), once, as a taker; what it leaves unfilled expires. Until its auction it
works (cancellable, reserving) without being on the book. A session's close runs the
closing auction first, then expires DAY orders.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

from venuekit.errors import Code, VenueKitError
from venuekit.model import OrderState, OrderType, Side, TimeInForce

from .account import SimAccount
from .arith import standard_context
from .auctions import AUCTIONS, CLOSE, OPEN, WaitingAuctions
from .checks import OrderChecks
from .config import SimConfig
from .ledger import Ledger, LedgerCancel, LedgerReject, LedgerReplace
from .market import Book, Market
from .models import SlippageModel
from .records import OrderView, SimEvent, SimFill, SimOrder, Statistics, fast_tuple
from .resting import RestingOrders
from .stops import ArmedStops, trailing_stop
from .symbols import SymbolSpec

__all__ = ["Simulator"]

ZERO = Decimal(0)
_BPS = Decimal(10_000)

_STAT_GRID = Decimal("0.0001")
_IMMEDIATE = (TimeInForce.IOC, TimeInForce.FOK)

# On Python 3.11 the enum metaclass defines __getattr__, which makes every ``Side.BUY`` a
# slow attribute lookup (about eight times a module global's); the per-order paths compare
# against these aliases instead.
_BUY = Side.BUY
_SELL = Side.SELL
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_FOK = TimeInForce.FOK
_FILLED = OrderState.FILLED
_PARTIALLY_FILLED = OrderState.PARTIALLY_FILLED
_CANCELLED = OrderState.CANCELLED
_STOP_LIMIT = OrderType.STOP_LIMIT
_STOP_TYPES = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})
_AUCTION_NAMES = {OPEN: "opening", CLOSE: "closing"}


class Simulator:
    """A venue's matching engine, account and ledger, driven by explicit calls."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = cfg = config or SimConfig()
        self.rng = random.Random(cfg.seed)
        self.market = Market(cfg.resolved_symbols(), self.rng, cfg.replay)
        self.account = SimAccount(cfg.cash, cfg.currency)
        self.ledger = Ledger()
        self.step_index = 0
        self._step_time = cfg.start
        self._checks = OrderChecks(cfg, self.account)
        # Looked up on every fill: kept at hand.
        self._slippage = cfg.slippage
        self._commission_model = cfg.commission
        self._client_ids = cfg.client_order_ids
        self._order_prefix = cfg.order_id_prefix
        self._trade_prefix = cfg.trade_id_prefix
        self._currency = cfg.currency
        self._has_impact = (type(cfg.slippage).permanent_impact
                            is not SlippageModel.permanent_impact)
        self._orders: dict[str, SimOrder] = {}
        self._by_client_id: dict[str, SimOrder] = {}
        self._working: dict[str, SimOrder] = {}
        self._resting = {symbol: RestingOrders() for symbol in self.market.books}
        self._stops = {symbol: ArmedStops() for symbol in self.market.books}
        self._auctions = WaitingAuctions()
        # Symbols whose next quote opens a session (their opening auction): all of them
        # after each close, until their next quote.
        self._opening: set[str] = set()
        # Exits their entry's fill released during an operation: they trade once at its end.
        self._released: list[SimOrder] = []
        self._order_seq = 0
        self._trade_seq = 0
        self._event_seq = 0
        self._order_index = 0
        self._at = self.now()

    # clock, lookups ------------------------------------------------------------------
    def now(self) -> datetime:
        """The simulated time: the stepped clock's, or the wall clock's without a start."""
        return self._step_time if self._step_time is not None else datetime.now(UTC)

    def _tick_clock(self) -> None:
        self.step_index += 1
        start = self.config.start
        if start is not None:
            self._step_time = start + self.config.step * self.step_index
        self._at = self.now()

    @property
    def symbols(self) -> list[SymbolSpec]:
        return [book.spec for book in self.market.books.values()]

    def book(self, symbol: str) -> Book:
        """The symbol's current book, or an ``UNKNOWN_SYMBOL`` error."""
        book = self.market.books.get(symbol)
        if book is None:
            raise self._checks.error(Code.UNKNOWN_SYMBOL, f"unknown symbol {symbol!r}")
        return book

    @property
    def next_order_index(self) -> int:
        """The index the next create request will take (scripted faults aim at it)."""
        return self._order_index + 1

    def take_index(self) -> int:
        """Allocate the next order index (the ordinal of a create request, from 1)."""
        self._order_index += 1
        return self._order_index

    def order(self, venue_order_id: str | None = None,
              client_order_id: str | None = None) -> OrderView:
        """One order by venue id and/or client id, or ``OrderNotFound``."""
        return self._find(venue_order_id, client_order_id).view()

    def open_orders(self, symbol: str | None = None) -> list[OrderView]:
        """Working orders, oldest first."""
        working = [o for o in self._working.values() if symbol is None or o.symbol == symbol]
        working.sort(key=lambda o: o.venue_order_id)
        return [order.view() for order in working]

    def orders_since(self, at: datetime) -> list[OrderView]:
        """Every order created at or after ``at``, open or closed, oldest first."""
        return [o.view() for o in self._orders.values() if o.created_at >= at]

    def fills_since(self, at: datetime, symbol: str | None = None) -> list[SimFill]:
        """Executions at or after ``at``, oldest first."""
        return [f for f in self.ledger.fills
                if f.at >= at and (symbol is None or f.symbol == symbol)]

    @standard_context
    def statistics(self) -> Statistics:
        """Aggregates computed from the ledger (so they can never disagree with it)."""
        ledger = self.ledger
        volume = notional = commission = taker_notional = slippage_cost = ZERO
        for fill in ledger.fills:
            volume += fill.quantity
            notional += fill.quantity * fill.price
            commission += fill.fee
            if fill.liquidity == "taker":
                taker_notional += fill.quantity * fill.touch
                paid = fill.price - fill.touch
                slippage_cost += (paid if fill.side is _BUY else -paid) * fill.quantity
        slippage = (slippage_cost * _BPS / taker_notional if taker_notional else ZERO)
        expired = sum(1 for c in ledger.cancels if c.kind == "expired")
        return Statistics(ledger.order_count, len(ledger.rejects),
                          len(ledger.cancels) - expired, expired, len(ledger.replaces),
                          len(ledger.fills), volume, notional, commission,
                          slippage.quantize(_STAT_GRID))

    # orders --------------------------------------------------------------------------
    @standard_context
    def submit(self, symbol: str, side: Side, quantity: Decimal,
               order_type: OrderType = OrderType.MARKET, limit_price: Decimal | None = None,
               time_in_force: TimeInForce = TimeInForce.DAY,
               client_order_id: str | None = None,
               order_index: int | None = None, *, stop_price: Decimal | None = None,
               trail_amount: Decimal | None = None,
               trail_percent: Decimal | None = None) -> tuple[OrderView, list[SimEvent]]:
        """Accept or reject a new order, then match it against the current quote.

        Returns the order after matching and the events it produced. A rejection raises
        the venuekit error for it and is recorded in the ledger. ``order_index`` is one the
        caller took with :meth:`take_index` (a new one by default). A stop, stop-limit or
        trailing stop (``stop_price``, or ``trail_amount`` / ``trail_percent``) is
        accepted armed and trades only once its trigger fires.
        """
        if order_index is None:
            self._order_index += 1
            order_index = self._order_index
        self._at = self._step_time or datetime.now(UTC)
        cid = client_order_id if self._client_ids else None
        if order_type in _STOP_TYPES:
            return self._submit_stop(order_index, cid, symbol, side, quantity, order_type,
                                     limit_price, time_in_force, stop_price, trail_amount,
                                     trail_percent)
        try:
            book = self.market.books.get(symbol) or self.book(symbol)
            checks = self._checks
            if stop_price is not None or trail_amount is not None \
                    or trail_percent is not None:
                raise checks.error(Code.INVALID_ORDER, f"a {order_type.value} order takes "
                                   "no stop price or trail")
            reserve_price = checks.validate(book, side, quantity, order_type, limit_price,
                                            cid, self._by_client_id)
            checks.check_funds(symbol, side, quantity, reserve_price)
            if time_in_force is _FOK:
                checks.check_fill_or_kill(book, side, quantity, limit_price)
        except VenueKitError as exc:
            self._reject(order_index, cid, symbol, side, quantity, limit_price, exc)
            raise
        out: list[SimEvent] = []
        order = self._new_order(order_index, cid, symbol, side, order_type, time_in_force,
                                quantity, limit_price, reserve_price)
        self._accept(order, out)
        self._enter(order, book, out)
        return out[-1].order, out

    def _enter(self, order: SimOrder, book: Book, out: list[SimEvent]) -> None:
        """Trade a just accepted order once, then expire (IOC, FOK) or rest what is left."""
        self._take(order, book, out)
        if order.state is not _FILLED:
            if order.time_in_force in _IMMEDIATE:
                self._finish(order, OrderState.EXPIRED,
                             f"{order.time_in_force.value}: the unfilled remainder expired",
                             out)
            else:
                self._rest(order)
        if self._released:
            self._work_released(out)

    def _submit_stop(self, order_index: int, cid: str | None, symbol: str, side: Side,
                     quantity: Decimal, order_type: OrderType, limit_price: Decimal | None,
                     time_in_force: TimeInForce, stop_price: Decimal | None,
                     trail_amount: Decimal | None, trail_percent: Decimal | None
                     ) -> tuple[OrderView, list[SimEvent]]:
        """Accept an armed stop order (see the module docstring), or reject it."""
        trailing = order_type is OrderType.TRAILING_STOP
        try:
            book = self.market.books.get(symbol) or self.book(symbol)
            checks = self._checks
            released = _LIMIT if order_type is _STOP_LIMIT else OrderType.MARKET
            reserve_price = checks.validate(book, side, quantity, released, limit_price,
                                            cid, self._by_client_id)
            mark = None
            if trailing:
                if stop_price is not None:
                    raise checks.error(Code.INVALID_ORDER, "a trailing stop takes no stop "
                                       "price: its stop follows the market by the trail")
                checks.check_trail(trail_amount, trail_percent)
                mark = book.ask if side is _BUY else book.bid
                stop_price = trailing_stop(side, mark, trail_amount, trail_percent)
            else:
                if trail_amount is not None or trail_percent is not None:
                    raise checks.error(Code.INVALID_ORDER, f"a {order_type.value} order "
                                       "takes no trail; use a trailing stop")
                checks.check_stop(book, side, stop_price)
                assert stop_price is not None  # check_stop refuses a missing one
            if time_in_force in _IMMEDIATE:
                raise checks.error(Code.UNSUPPORTED_ORDER, f"a {order_type.value} order "
                                   "waits for its trigger: use time in force day or gtc, "
                                   f"not {time_in_force.value}")
            if side is _BUY and limit_price is None:
                # Released as a market buy at about the stop: reserve as for one there.
                reserve_price = max(reserve_price, checks.market_reserve(stop_price))
            checks.check_funds(symbol, side, quantity, reserve_price)
        except VenueKitError as exc:
            self._reject(order_index, cid, symbol, side, quantity, limit_price, exc)
            raise
        out: list[SimEvent] = []
        order = self._new_order(order_index, cid, symbol, side, order_type, time_in_force,
                                quantity, limit_price, reserve_price)
        order.stop_price = stop_price
        order.trail_amount, order.trail_percent, order.mark = \
            trail_amount, trail_percent, mark
        self._accept(order, out)
        self._working[order.venue_order_id] = order
        self._stops[symbol].add(order)
        self._reserve_for(order)
        return out[-1].order, out

    def _fire_stops(self, symbol: str, out: list[SimEvent]) -> None:
        """Release every stop of ``symbol`` the current quote triggers (once each): it
        trades at once as a market or limit order, and what is left rests."""
        stops = self._stops[symbol]
        book = self.market.books[symbol]
        for order in stops.fired(book.bid, book.ask):
            if order.venue_order_id not in self._working:
                continue  # cancelled meanwhile: the other order of its pair traded
            stops.remove(order)
            order.triggered_at = order.updated_at = self._at
            self._resting[symbol].add(order)
            self._take(order, book, out)

    # auction orders -------------------------------------------------------------------
    @standard_context
    def submit_auction(self, symbol: str, side: Side, quantity: Decimal,
                       order_type: OrderType = OrderType.MARKET,
                       limit_price: Decimal | None = None,
                       client_order_id: str | None = None, order_index: int | None = None,
                       *, auction: str) -> tuple[OrderView, list[SimEvent]]:
        """Accept a market or limit order for one ``auction``: ``"open"`` (the next
        opening auction) or ``"close"`` (this session's closing auction), or reject it.

        It waits, working but on no book, until its auction (see :mod:`.auctions`); its
        time in force reads DAY, but its auction, not the session's close, ends it.
        """
        if order_index is None:
            order_index = self.take_index()
        self._at = self.now()
        cid = client_order_id if self._client_ids else None
        try:
            book = self.book(symbol)
            checks = self._checks
            if auction not in AUCTIONS:
                raise checks.error(Code.INVALID_ORDER, f"unknown auction {auction!r} "
                                   f"(known: {', '.join(AUCTIONS)})")
            if order_type not in (OrderType.MARKET, _LIMIT):
                raise checks.error(Code.INVALID_ORDER, "an auction order is a market or "
                                   f"limit order, not {order_type.value}")
            reserve_price = checks.validate(book, side, quantity, order_type, limit_price,
                                            cid, self._by_client_id)
            checks.check_funds(symbol, side, quantity, reserve_price)
        except VenueKitError as exc:
            self._reject(order_index, cid, symbol, side, quantity, limit_price, exc)
            raise
        out: list[SimEvent] = []
        order = self._new_order(order_index, cid, symbol, side, order_type, TimeInForce.DAY,
                                quantity, limit_price, reserve_price)
        order.auction = auction
        self._accept(order, out)
        self._working[order.venue_order_id] = order
        self._auctions.add(order)
        self._reserve_for(order)
        return out[-1].order, out

    def _run_auction(self, auction: str, symbol: str | None, out: list[SimEvent]) -> None:
        """Execute the orders waiting for ``auction`` (of ``symbol``, or of every symbol)
        against the current quote, once each; what is left of each expires."""
        name = _AUCTION_NAMES[auction]
        for order in self._auctions.due(auction, symbol):
            self._take(order, self.market.books[order.symbol], out)
            if order.state is not _FILLED:
                rest = "the rest " if order.filled_quantity else ""
                self._finish(order, OrderState.EXPIRED,
                             f"{rest}not executed in the {name} auction", out)

    def _close_session(self, out: list[SimEvent]) -> None:
        """The session closes: its closing auction, then DAY orders expire; each
        symbol's next quote opens the next session."""
        if self._auctions:
            self._run_auction(CLOSE, None, out)
        self._expire_day_orders(out)
        self._opening = set(self.market.books)

    def _open_session(self, symbol: str | None, out: list[SimEvent]) -> None:
        """The opening auction of ``symbol`` (None: of every symbol) at its first quote
        since the close."""
        if self._auctions:
            self._run_auction(OPEN, symbol, out)
        if symbol is None:
            self._opening.clear()
        else:
            self._opening.discard(symbol)

    # contingent orders ----------------------------------------------------------------
    @standard_context
    def submit_bracket(self, symbol: str, side: Side, quantity: Decimal,
                       order_type: OrderType = OrderType.MARKET,
                       limit_price: Decimal | None = None,
                       time_in_force: TimeInForce = TimeInForce.DAY,
                       client_order_id: str | None = None, order_index: int | None = None,
                       *, take_profit: Decimal | None = None,
                       stop_loss: Decimal | None = None,
                       stop_loss_limit: Decimal | None = None,
                       exit_client_ids: tuple[str | None, str | None] = (None, None)
                       ) -> tuple[OrderView, list[SimEvent]]:
        """An entry with held exits on the other side (one-triggers-other): a take-profit
        limit at ``take_profit`` and/or a stop-loss at ``stop_loss`` (a stop-limit with
        ``stop_loss_limit``). Both exits form a one-cancels-other pair. Returns the entry
        after matching; its view's ``legs`` name the exits (take-profit first)."""
        if order_index is None:
            order_index = self.take_index()
        self._at = self.now()
        cid = client_order_id if self._client_ids else None
        exit_ids = exit_client_ids if self._client_ids else (None, None)
        try:
            book = self.book(symbol)
            checks = self._checks
            if order_type not in (OrderType.MARKET, _LIMIT):
                raise checks.error(Code.INVALID_ORDER, "a bracket's entry is a market or "
                                   "limit order")
            if take_profit is None and stop_loss is None:
                raise checks.error(Code.INVALID_ORDER, "a bracket needs a take-profit or a "
                                   "stop-loss exit")
            if time_in_force in _IMMEDIATE:
                raise checks.error(Code.UNSUPPORTED_ORDER, "a bracket's exits wait for its "
                                   "entry: use time in force day or gtc")
            reserve_price = checks.validate(book, side, quantity, order_type, limit_price,
                                            cid, self._by_client_id)
            base = limit_price if limit_price is not None else book.touch(side)
            checks.check_exits(book, side.opposite, base, take_profit, stop_loss,
                               stop_loss_limit)
            for exit_id in exit_ids:
                if exit_id is not None:
                    checks.check_client_id(exit_id, self._by_client_id)
            checks.check_funds(symbol, side, quantity, reserve_price)
        except VenueKitError as exc:
            self._reject(order_index, cid, symbol, side, quantity, limit_price, exc)
            raise
        out: list[SimEvent] = []
        entry = self._new_order(order_index, cid, symbol, side, order_type, time_in_force,
                                quantity, limit_price, reserve_price)
        self._accept(entry, out)
        legs = self._exits(symbol, side.opposite, quantity, time_in_force, order_index,
                           entry.venue_order_id, take_profit, stop_loss, stop_loss_limit,
                           exit_ids, held=True)
        entry.legs, entry.oto = tuple(leg.venue_order_id for leg in legs), True
        self._enter(entry, book, out)
        return self._orders[entry.venue_order_id].view(), out

    @standard_context
    def submit_oco(self, symbol: str, side: Side, quantity: Decimal, *,
                   take_profit: Decimal, stop_loss: Decimal,
                   stop_loss_limit: Decimal | None = None,
                   time_in_force: TimeInForce = TimeInForce.DAY,
                   client_order_ids: tuple[str | None, str | None] = (None, None),
                   order_index: int | None = None) -> tuple[OrderView, list[SimEvent]]:
        """A take-profit limit and a stop-loss that work at once, one cancelling the other
        (an exit for a position already held). Returns the take-profit; its ``legs`` name
        the stop-loss."""
        if order_index is None:
            order_index = self.take_index()
        self._at = self.now()
        ids = client_order_ids if self._client_ids else (None, None)
        try:
            book = self.book(symbol)
            checks = self._checks
            if time_in_force in _IMMEDIATE:
                raise checks.error(Code.UNSUPPORTED_ORDER, "a one-cancels-other pair "
                                   "waits: use time in force day or gtc")
            reserve_price = checks.validate(book, side, quantity, _LIMIT, take_profit,
                                            ids[0], self._by_client_id)
            checks.check_exits(book, side, book.touch(side), take_profit, stop_loss,
                               stop_loss_limit)
            if ids[1] is not None:
                checks.check_client_id(ids[1], self._by_client_id)
            checks.check_funds(symbol, side, quantity, reserve_price)
        except VenueKitError as exc:
            self._reject(order_index, ids[0], symbol, side, quantity, take_profit, exc)
            raise
        out: list[SimEvent] = []
        profit, loss = self._exits(symbol, side, quantity, time_in_force, order_index, None,
                                   take_profit, stop_loss, stop_loss_limit, ids, held=False)
        loss.parent, profit.legs = profit.venue_order_id, (loss.venue_order_id,)
        for leg in (profit, loss):
            self._accept(leg, out)
            self._place_leg(leg)
        self._released.append(profit)
        self._work_released(out)
        return self._orders[profit.venue_order_id].view(), out

    def _exits(self, symbol: str, side: Side, quantity: Decimal, time_in_force: TimeInForce,
               order_index: int, parent: str | None, take_profit: Decimal | None,
               stop_loss: Decimal | None, stop_loss_limit: Decimal | None,
               client_ids: tuple[str | None, str | None], *, held: bool) -> list[SimOrder]:
        """Exit orders of ``side`` (a take-profit limit, a stop-loss), legs of ``parent``;
        held ones are recorded here, and two of them are linked one-cancels-other."""
        legs: list[SimOrder] = []
        if take_profit is not None:
            legs.append(self._new_order(order_index, client_ids[0], symbol, side, _LIMIT,
                                        time_in_force, quantity, take_profit, take_profit))
        if stop_loss is not None:
            kind = OrderType.STOP if stop_loss_limit is None else _STOP_LIMIT
            reserve = stop_loss_limit if stop_loss_limit is not None else \
                self._checks.market_reserve(stop_loss) if side is _BUY else stop_loss
            leg = self._new_order(order_index, client_ids[1], symbol, side, kind,
                                  time_in_force, quantity, stop_loss_limit, reserve)
            leg.stop_price = stop_loss
            legs.append(leg)
        for leg in legs:
            leg.held, leg.parent = held, parent
            if held:  # recorded now, announced when they start to work
                self._record(leg)
                self._working[leg.venue_order_id] = leg
        if len(legs) == 2:
            legs[0].oco, legs[1].oco = legs[1].venue_order_id, legs[0].venue_order_id
        return legs

    def _place_leg(self, leg: SimOrder) -> None:
        """Put a working exit on its book (a stop armed) and reserve for it."""
        self._working[leg.venue_order_id] = leg
        if leg.armed:
            self._stops[leg.symbol].add(leg)
        else:
            self._resting[leg.symbol].add(leg)
        self._reserve_for(leg)

    def _entry_done(self, entry: SimOrder, out: list[SimEvent]) -> None:
        """The entry filled in full or ended: its held exits work for what it filled, or
        are cancelled when it filled nothing."""
        filled = entry.filled_quantity
        for vid in entry.legs:
            leg = self._orders[vid]
            if not leg.held or not leg.state.is_open:
                continue
            if not filled:
                self._finish(leg, _CANCELLED, f"its entry {entry.venue_order_id} ended "
                             "without a fill", out)
                leg.held = False
                continue
            leg.held = False
            leg.quantity = filled
            leg.updated_at = self._at
            self._working.pop(vid)
            self._place_leg(leg)
            self._emit(leg, None, out)
            self._released.append(leg)

    def _work_released(self, out: list[SimEvent]) -> None:
        """Trade the exits released during this operation against the current quote once:
        a limit takes if marketable, a stop fires if its trigger is crossed."""
        released, self._released = self._released, []
        for leg in released:
            if leg.venue_order_id not in self._working:
                continue
            if leg.armed:
                self._fire_stops(leg.symbol, out)
            else:
                self._take(leg, self.market.books[leg.symbol], out)

    def _cancel_other(self, order: SimOrder, reason: str, out: list[SimEvent]) -> None:
        """Cancel the other order of ``order``'s one-cancels-other pair, if it works."""
        other = self._orders.get(order.oco) if order.oco is not None else None
        if other is not None and other.state.is_open:
            self._finish(other, _CANCELLED, reason, out)
            other.held = False

    @standard_context
    def cancel(self, venue_order_id: str | None = None,
               client_order_id: str | None = None) -> tuple[OrderView, list[SimEvent]]:
        """Cancel a working order. An order already terminal is returned unchanged."""
        order = self._find(venue_order_id, client_order_id)
        out: list[SimEvent] = []
        if order.state.is_open:
            self._at = self.now()
            self._finish(order, OrderState.CANCELLED, "cancelled on request", out)
            answer = out[-1].order
            if order.oco is not None:
                self._cancel_other(order, "the other order of its one-cancels-other pair "
                                   "was cancelled", out)
            if self._released:
                self._work_released(out)
            return answer, out
        return order.view(), out

    @standard_context
    def replace(self, venue_order_id: str | None = None, client_order_id: str | None = None,
                *, quantity: Decimal | None = None, limit_price: Decimal | None = None,
                new_client_order_id: str | None = None) -> tuple[OrderView, list[SimEvent]]:
        """Replace a working limit order by a new one; returns the new order.

        ``quantity`` is the new order's quantity (default: what the old one had left);
        fills of the old order stay with it. The old order ends REPLACED. A refused
        replace leaves the old order as it was.
        """
        old = self._find(venue_order_id, client_order_id)
        self._at = self.now()
        cid = new_client_order_id if self.config.client_order_ids else None
        quantity = old.remaining if quantity is None else quantity
        price = old.limit_price if limit_price is None else limit_price
        book = self.market.books[old.symbol]
        try:
            reserve_price = self._check_replace(old, book, quantity, price, cid)
        except VenueKitError as exc:
            self._reject(old.order_index, cid, old.symbol, old.side, quantity, price, exc)
            raise
        out: list[SimEvent] = []
        new = self._new_order(old.order_index, cid, old.symbol, old.side, OrderType.LIMIT,
                              old.time_in_force, quantity, price, reserve_price)
        new.replaces = old.venue_order_id
        old.replaced_by = new.venue_order_id
        self._relink(old, new)
        self._close(old, OrderState.REPLACED)
        self.ledger.replaces.append(LedgerReplace(old.venue_order_id, new.venue_order_id,
                                                  self._at))
        self._emit(old, None, out)
        self._accept(new, out)
        self._enter(new, book, out)
        return self._orders[new.venue_order_id].view(), out

    def _relink(self, old: SimOrder, new: SimOrder) -> None:
        """A replacement takes its original's place in a contingent group: its legs, its
        parent, its one-cancels-other partner."""
        new.legs, new.oto, new.parent, new.oco = old.legs, old.oto, old.parent, old.oco
        old.legs, old.oto, old.oco = (), False, None
        vid, new_vid = old.venue_order_id, new.venue_order_id
        for leg in new.legs:
            self._orders[leg].parent = new_vid
        if new.parent is not None:
            parent = self._orders[new.parent]
            parent.legs = tuple(new_vid if leg == vid else leg for leg in parent.legs)
        if new.oco is not None:
            self._orders[new.oco].oco = new_vid

    def _check_replace(self, old: SimOrder, book: Book, quantity: Decimal,
                       price: Decimal | None, cid: str | None) -> Decimal:
        checks = self._checks
        if not old.state.is_open:
            raise checks.error(Code.INVALID_ORDER, f"order {old.venue_order_id} is "
                               f"{old.state.value}; only a working order can be replaced")
        if old.held:
            raise checks.error(Code.UNSUPPORTED_ORDER, f"order {old.venue_order_id} is held "
                               "until its entry fills; it can be replaced once it works")
        if old.order_type in _STOP_TYPES:
            raise checks.error(Code.UNSUPPORTED_ORDER, f"a {old.order_type.value} order "
                               "cannot be replaced here; cancel it and place a new one")
        if old.auction is not None:
            raise checks.error(Code.UNSUPPORTED_ORDER, "an auction order cannot be "
                               "replaced here; cancel it and place a new one")
        if old.order_type is not OrderType.LIMIT:
            raise checks.error(Code.INVALID_ORDER, "only limit orders can be replaced")
        reserve_price = checks.validate(book, old.side, quantity, OrderType.LIMIT, price, cid,
                                        self._by_client_id)
        # The old order's reservation is freed by the replace, so it counts as available.
        held = (old.reserved_cash, old.reserved_quantity)
        self._release(old)
        try:
            checks.check_funds(old.symbol, old.side, quantity, reserve_price)
        finally:
            self._reserve(old, *held)
        return reserve_price

    # market --------------------------------------------------------------------------
    @standard_context
    def advance(self, steps: int = 1) -> list[SimEvent]:
        """Move the market ``steps`` steps; resting orders match after each one."""
        if steps < 0:
            raise ValueError("steps must be >= 0")
        out: list[SimEvent] = []
        session = self.config.steps_per_session
        for _ in range(steps):
            self._tick_clock()
            if session and self.step_index % session == 0:
                self._close_session(out)
            self.market.step()
            if self._opening:
                self._open_session(None, out)
            for symbol, resting in self._resting.items():
                if resting:
                    self._match_resting(symbol, out)
            for symbol, stops in self._stops.items():
                if stops:
                    self._fire_stops(symbol, out)
            if self._released:
                self._work_released(out)
        return out

    @standard_context
    def set_quote(self, symbol: str, bid: Decimal, ask: Decimal,
                  bid_size: Decimal | None = None,
                  ask_size: Decimal | None = None) -> list[SimEvent]:
        """Force a quote (until the next step) and match resting orders against it."""
        out: list[SimEvent] = []
        self.book(symbol)
        self._at = self.now()
        self.market.set_quote(symbol, bid, ask, bid_size, ask_size)
        if symbol in self._opening:
            self._open_session(symbol, out)
        self._match_resting(symbol, out)
        if self._stops[symbol]:
            self._fire_stops(symbol, out)
        if self._released:
            self._work_released(out)
        return out

    @standard_context
    def end_session(self) -> list[SimEvent]:
        """Close the session now: the closing auction, then every working DAY order
        expires; each symbol's next quote (a step, or a forced quote) opens the next
        session with its opening auction."""
        out: list[SimEvent] = []
        self._at = self.now()
        self._close_session(out)
        if self._released:
            self._work_released(out)
        return out

    def set_cash(self, amount: Decimal) -> None:
        self.account.cash = amount

    def set_position(self, symbol: str, quantity: Decimal,
                     average_price: Decimal | None = None) -> None:
        book = self.book(symbol)
        price = average_price if average_price is not None else (book.bid + book.ask) / 2
        self.account.set_position(symbol, quantity, price)

    # lifecycle -----------------------------------------------------------------------
    def _reject(self, order_index: int | None, cid: str | None, symbol: str, side: Side,
                quantity: Decimal, limit_price: Decimal | None, exc: VenueKitError) -> None:
        self.ledger.rejects.append(LedgerReject(order_index, cid, symbol, side, quantity,
                                                limit_price, exc.code.name, exc.message,
                                                self._at))

    def _find(self, venue_order_id: str | None, client_order_id: str | None) -> SimOrder:
        order = None
        if venue_order_id is not None:
            order = self._orders.get(venue_order_id)
            if order is not None and client_order_id is not None \
                    and order.client_order_id != client_order_id:
                order = None
        elif client_order_id is not None:
            order = self._by_client_id.get(client_order_id)
        if order is None:
            ref = venue_order_id or client_order_id
            raise self._checks.error(Code.ORDER_NOT_FOUND, f"no order {ref!r}")
        return order

    def _new_order(self, order_index: int, cid: str | None, symbol: str, side: Side,
                   order_type: OrderType, time_in_force: TimeInForce, quantity: Decimal,
                   limit_price: Decimal | None, reserve_price: Decimal) -> SimOrder:
        self._order_seq += 1
        vid = self._order_prefix + str(self._order_seq).zfill(8)
        return SimOrder(vid, cid, order_index, symbol, side, order_type, time_in_force,
                        quantity, limit_price, self._at, self._at, reserve_price,
                        self.account.traded_notional)

    def _accept(self, order: SimOrder, out: list[SimEvent]) -> None:
        """Record a new order and acknowledge it (it rests only if it does not fill)."""
        self._record(order)
        self._event_seq += 1
        out.append(fast_tuple(SimEvent, (self._event_seq, order.view(), None, self._at)))

    def _record(self, order: SimOrder) -> None:
        """Make a new order known: by its ids, and in the ledger."""
        self._orders[order.venue_order_id] = order
        if order.client_order_id is not None:
            self._by_client_id[order.client_order_id] = order
        self.ledger.record_order(order)

    def _rest(self, order: SimOrder) -> None:
        """Put what is left of an order on the book, reserving buying power or shares."""
        self._working[order.venue_order_id] = order
        self._resting[order.symbol].add(order)
        self._reserve_for(order)

    def _reserve_for(self, order: SimOrder) -> None:
        """Reserve buying power (a buy) or shares (a sell) for what is left of ``order``."""
        if order.side is _BUY:
            self._reserve(order, self._checks.buy_reservation(
                order.remaining, order.reserve_price, order.prior_volume), ZERO)
        else:
            sellable = self.account.sellable(order.symbol)
            self._reserve(order, ZERO, min(order.remaining, max(sellable, ZERO)))

    def _reserve(self, order: SimOrder, cash: Decimal, quantity: Decimal) -> None:
        if cash:
            order.reserved_cash += cash
            self.account.reserved_cash += cash
        if quantity:
            order.reserved_quantity += quantity
            self.account.reserve(order.symbol, ZERO, quantity)

    def _release(self, order: SimOrder) -> None:
        self._reserve(order, -order.reserved_cash, -order.reserved_quantity)

    def _close(self, order: SimOrder, state: OrderState) -> None:
        """Take a working order off the book in a terminal state."""
        order.state = state
        order.updated_at = self._at
        if self._working.pop(order.venue_order_id, None) is not None:
            kind = order.order_type
            if order.held:
                pass  # a held exit is on no book and reserves nothing
            elif kind is not _LIMIT and kind is not _MARKET and order.armed:
                self._stops[order.symbol].remove(order)
            elif order.auction is not None:
                self._auctions.discard(order)  # waiting, or executed by its auction
            else:
                self._resting[order.symbol].remove(order)
            if order.reserved_cash or order.reserved_quantity:
                self._release(order)

    def _finish(self, order: SimOrder, state: OrderState, reason: str,
                out: list[SimEvent]) -> None:
        """End a working order with quantity left (cancelled or expired)."""
        order.reason = reason
        self._close(order, state)
        kind = "cancelled" if state is _CANCELLED else "expired"
        self.ledger.cancels.append(LedgerCancel(order.venue_order_id, order.client_order_id,
                                                kind, order.remaining, self._at, reason))
        self._emit(order, None, out)
        if order.oto:
            self._entry_done(order, out)

    def _expire_day_orders(self, out: list[SimEvent]) -> None:
        for order in list(self._working.values()):
            if order.time_in_force is TimeInForce.DAY and order.state.is_open \
                    and order.auction is None:
                self._finish(order, OrderState.EXPIRED,
                             "day order expired at the session close", out)

    def _emit(self, order: SimOrder, fill: SimFill | None, out: list[SimEvent]) -> None:
        self._event_seq += 1
        out.append(fast_tuple(SimEvent, (self._event_seq, order.view(), fill, self._at)))

    # matching ------------------------------------------------------------------------
    def _match_resting(self, symbol: str, out: list[SimEvent]) -> None:
        """Match one symbol's working orders against its quote: market remainders first,
        then limit orders the quote crosses, in price-time priority, at their own price."""
        resting = self._resting[symbol]
        book = self.market.books[symbol]
        if resting.market:
            working = self._working
            for order in list(resting.market.values()):
                if order.venue_order_id in working:
                    self._take(order, book, out)
        best_bid, best_ask = resting.best_bid(), resting.best_ask()
        for side, crossing in ((_BUY, best_bid is not None and best_bid >= book.ask),
                               (_SELL, best_ask is not None and best_ask <= book.bid)):
            if not crossing:
                continue
            for limit, order in resting.crossed(side, book.touch(side)):
                if order.venue_order_id not in self._working:
                    continue  # cancelled meanwhile: the other order of its pair traded
                quantity = self._fillable(order, book)
                if quantity <= 0:
                    break
                book.consume(side, quantity)
                self._fill(order, quantity, limit, "maker", limit, out)

    @staticmethod
    def _fillable(order: SimOrder, book: Book) -> Decimal:
        """How much of ``order`` the displayed size can take now, in whole lots."""
        available = book.available(order.side)
        remaining = order.remaining
        return remaining if remaining <= available else book.spec.floor_quantity(available)

    def _take(self, order: SimOrder, book: Book, out: list[SimEvent]) -> None:
        """Trade ``order`` against the touch, once, as a taker."""
        side = order.side
        buy = side is _BUY
        touch = book.ask if buy else book.bid
        limit = order.limit_price
        if touch <= 0 or (limit is not None and (limit < touch if buy else limit > touch)):
            return
        available = book.ask_left if buy else book.bid_left
        quantity = order.quantity - order.filled_quantity  # order.remaining, without a call
        spec = book.spec
        if quantity > available:
            quantity = spec.floor_quantity(available)
            if quantity <= 0:
                return
        raw = touch if self._slippage.free else \
            self._slippage.fill_price(side, touch, quantity, available)
        if buy:
            price = spec.ceil_price(raw) if raw != touch else touch
            if limit is not None and price > limit:
                price = limit
            book.ask_left = available - quantity
        else:
            price = spec.floor_price(raw) if raw != touch else touch
            if limit is not None and price < limit:
                price = limit
            book.bid_left = available - quantity
        self._fill(order, quantity, price, "taker", touch, out)
        if self._has_impact:
            impact = self._slippage.permanent_impact(side, touch, quantity, available)
            if impact:
                self.market.shift(order.symbol, impact)

    def _fill(self, order: SimOrder, quantity: Decimal, price: Decimal, liquidity: str,
              touch: Decimal, out: list[SimEvent]) -> None:
        self._trade_seq += 1
        filled = order.filled_quantity + quantity
        amount = quantity * price
        notional = order.filled_notional + amount
        commission = self._commission_model
        if commission.free:
            fee = ZERO  # and order.fees stays ZERO
        else:
            fee = commission.order_commission(filled, notional, order.prior_volume) - order.fees
            if fee < 0:
                fee = ZERO
            order.fees += fee
        order.filled_quantity = filled
        order.filled_notional = notional
        order.updated_at = self._at
        side = order.side
        buy = side is _BUY
        done = filled == order.quantity
        self.account.apply_fill(order.symbol, side, quantity, price, amount, fee)
        # A resting order's reservation shrinks with it; closing it releases the rest.
        if done:
            pass
        elif buy:
            if order.reserved_cash:
                left = self._checks.buy_reservation(order.remaining, order.reserve_price,
                                                    order.prior_volume)
                self._reserve(order, left - order.reserved_cash, ZERO)
        elif order.reserved_quantity:
            self._reserve(order, ZERO, -min(order.reserved_quantity, quantity))
        fill = fast_tuple(SimFill, (
            self._trade_prefix + str(self._trade_seq).zfill(8), order.venue_order_id,
            order.client_order_id, order.symbol, side, quantity, price, fee,
            self._currency, self._at, liquidity, touch))
        self.ledger.fills.append(fill)
        if done:
            order.state = _FILLED
            # Most fills complete a taker that never rested: only a working order needs
            # _close (off the book, reservation released).
            if order.venue_order_id in self._working:
                self._close(order, _FILLED)
        else:
            order.state = _PARTIALLY_FILLED
        self._event_seq += 1
        out.append(fast_tuple(SimEvent, (self._event_seq, order.view(), fill, self._at)))
        if order.oco is not None:
            self._cancel_other(order, "the other order of its one-cancels-other pair "
                               "traded", out)
        if done and order.oto:
            self._entry_done(order, out)
