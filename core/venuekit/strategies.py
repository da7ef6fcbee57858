"""Execution strategies: market, limit, and aggressive limit with re-pegging.

A strategy turns one :class:`~venuekit.model.OrderRequest` into one or more venue orders
through the engine and reports an :class:`ExecutionResult`. Strategies are venue-agnostic:
they use only :meth:`Engine.submit`, :meth:`Engine.settle`, :meth:`Engine.cancel` and
quotes. Rules they keep:

* a deadline that passes ends the order in TIMEOUT only after the venue confirmed that
  nothing remains working (the cancel is confirmed first);
* a re-peg uses the venue's native replace where it has one (the venue keeps what is still
  open, atomically); elsewhere it waits for the cancel to be confirmed and sizes the
  replacement from confirmed fills, so a fill racing the cancel can never cause an overfill;
* prices are compared after quantizing: a re-peg to the same tick is no re-peg.

Every strategy takes ``arrival``: a quote the caller already holds (a rebalance's snapshot),
used as the arrival price and the first pricing input instead of asking the venue again.

Every strategy also takes ``confirm``. By default an execution returns once its orders are
final and their final states were confirmed over REST. With ``confirm=False`` it returns
as soon as they are final (usually on the stream's word) and lists them in
:attr:`ExecutionResult.unconfirmed`; the caller then runs :meth:`ExecutionResult.confirm`
before trusting the figures. A rebalance uses this to confirm a whole phase's orders at
once, beside its account refresh, instead of one round trip after another. ``on_order``,
when given, is called with every order the execution sends, once it is journaled and
before it goes out, so that a caller can follow the orders before the execution returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .errors import Code, ValidationError, VenueKitError, error
from .model import ZERO, Order, OrderRequest, OrderState, OrderType, Quote, Side, utcnow
from .quantize import round_price, round_quantity
from .repeg import RepegAction, RepegContext

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["STRATEGIES", "ExecutionResult", "run_strategy", "strategy_for"]

log = logging.getLogger("venuekit.strategies")

_BPS = Decimal(10_000)


@dataclass
class ExecutionResult:
    """What one execution did: its orders, what filled, at what price, and how long it took."""

    strategy: str
    request: OrderRequest
    orders: list[Order] = field(default_factory=list)
    arrival: Quote | None = None
    repegs: int = 0
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    reason: str | None = None
    unconfirmed: list[Order] = field(default_factory=list)

    @property
    def order_id(self) -> str:
        """The first order's id (never empty once an order was created)."""
        return self.orders[0].id if self.orders else ""

    @property
    def attempts(self) -> int:
        return len(self.orders)

    # The sums below are plain loops rather than sum() over a generator: they are read
    # several times per execution, usually over a single order.

    @property
    def filled_quantity(self) -> Decimal:
        total = ZERO
        for order in self.orders:
            total += order.filled_quantity
        return total

    @property
    def fees(self) -> Decimal:
        """The fills' fees added up as charged: a sum of one asset where the venue charges
        every fee in the quote currency (equities); see :attr:`fees_by_asset` otherwise."""
        total = ZERO
        for order in self.orders:
            total += order.fees
        return total

    @property
    def fees_by_asset(self) -> dict[str, Decimal]:
        """The fills' fees per asset they were charged in (``{"BTC": ..., "BNB": ...}``)."""
        out: dict[str, Decimal] = {}
        for order in self.orders:
            for fill in order.fills:
                if fill.fee:
                    out[fill.fee_currency] = out.get(fill.fee_currency, ZERO) + fill.fee
        return out

    @property
    def average_price(self) -> Decimal | None:
        filled = self.filled_quantity
        if filled == 0:
            return None
        notional = ZERO
        for order in self.orders:
            notional += order.filled_notional
        return notional / filled

    @property
    def state(self) -> OrderState:
        """FILLED when everything filled, else the last order's final state."""
        target = self.request.quantity
        if target is not None and self.filled_quantity >= target:
            return OrderState.FILLED
        return self.orders[-1].state if self.orders else OrderState.ERROR

    @property
    def seconds(self) -> float:
        end = self.finished_at or utcnow()
        return (end - self.started_at).total_seconds()

    @property
    def slippage_bps(self) -> Decimal | None:
        """Against the arrival mid, positive when worse for us."""
        if self.arrival is None:
            return None
        avg = self.average_price
        mid = self.arrival.mid
        if avg is None or mid <= 0:
            return None
        sign = 1 if self.request.side is Side.BUY else -1
        return (avg - mid) / mid * _BPS * sign

    @property
    def note(self) -> str | None:
        """Why it ended as it did: the strategy's reason, else the last order's."""
        if self.reason:
            return self.reason
        return self.orders[-1].reason if self.orders else None

    async def confirm(self, engine: Engine) -> None:
        """Confirm over REST the final states the strategy left unconfirmed.

        A confirmation may still add a fill (one that raced a cancel, or that the stream
        lost); every figure of the result reflects it once this returns.
        """
        pending, self.unconfirmed = self.unconfirmed, []
        if len(pending) == 1:  # the usual case: no task to run one confirmation
            await engine.confirm(pending[0])
        elif pending:
            await asyncio.gather(*(engine.confirm(order) for order in pending))

    def as_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "strategy": self.strategy,
            "symbol": self.request.symbol,
            "side": self.request.side.value,
            "requested_quantity": self.request.quantity,
            "state": self.state.value,
            "filled_quantity": self.filled_quantity,
            "average_price": self.average_price,
            "fees": self.fees,
            "fees_by_asset": self.fees_by_asset,
            "attempts": self.attempts,
            "repegs": self.repegs,
            "slippage_bps": self.slippage_bps,
            "seconds": round(self.seconds, 6),
            "orders": [{"id": o.id, "state": o.state.value, "type": o.request.order_type.value,
                        "limit_price": o.limit_price, "quantity": o.quantity,
                        "filled_quantity": o.filled_quantity} for o in self.orders],
            "reason": self.note,
        }


def _child(request: OrderRequest, quantity: Decimal, *, price: Decimal | None) -> OrderRequest:
    if price is None:
        if request.order_type is OrderType.MARKET and request.quantity is quantity:
            return request  # the request itself: frozen, nothing to copy
        return request.model_copy(update={"quantity": quantity, "order_type": OrderType.MARKET,
                                          "limit_price": None})
    return request.model_copy(update={"quantity": quantity, "order_type": OrderType.LIMIT,
                                      "limit_price": price})


async def _settle(engine: Engine, result: ExecutionResult, order: Order, *,
                  timeout: float | None, confirm: bool) -> None:
    """Settle ``order``; a final state left unconfirmed is listed for the caller.

    A FILLED order is not listed: it needs no confirmation (it is FILLED only once
    executions itemized by trade id make up its whole quantity; settlement never confirms
    one either).
    """
    await engine.settle(order, timeout=timeout, confirm=confirm)
    state = order.state
    if not confirm and state.is_terminal and state is not OrderState.FILLED:
        result.unconfirmed.append(order)


OrderCallback = Callable[[Order], None]


async def _run_to_deadline(engine: Engine, result: ExecutionResult, request: OrderRequest,
                           timeout: float, confirm: bool, on_order: OrderCallback | None
                           ) -> Order:
    order = await engine.submit(request, on_journaled=on_order)
    result.orders.append(order)
    await _settle(engine, result, order, timeout=timeout, confirm=confirm)
    if not order.state.is_terminal:
        await engine.cancel(order, as_timeout=True)  # the venue's answer is the evidence
    return order


async def market(engine: Engine, request: OrderRequest, *, timeout: float = 30.0,
                 max_slippage_bps: Decimal | str | None = None,
                 arrival: Quote | None = None, confirm: bool = True,
                 on_order: OrderCallback | None = None) -> ExecutionResult:
    """A market order; with ``max_slippage_bps``, a marketable limit when the book is wide.

    The guard compares the touch with the mid: when crossing would cost more than the
    guard, the order is sent as a limit at the mid plus (buy) or minus (sell) the guard,
    rounded so it never exceeds it, and whatever has not filled by ``timeout`` is
    cancelled (TIMEOUT).
    """
    result = ExecutionResult("market", request)
    quote = result.arrival = arrival or await engine.quote(request.symbol)
    price: Decimal | None = None
    if max_slippage_bps is not None or engine.venue.capabilities.market_orders is False:
        guard = Decimal(str(max_slippage_bps or 0))
        mid = quote.mid
        cost_bps = abs(quote.touch(request.side) - mid) / mid * _BPS if mid > 0 else guard
        if cost_bps > guard or engine.venue.capabilities.market_orders is False:
            instrument = await engine.instrument(request.symbol)
            sign = 1 if request.side is Side.BUY else -1
            cap = mid * (1 + sign * guard / _BPS)
            price = round_price(instrument, cap, request.side, passive=True)
            result.reason = f"book wider than the {guard} bps guard: limit at {price}"
    quantity = request.quantity
    if quantity is None:
        raise error(Code.UNSUPPORTED_ORDER, "strategies need a quantity; convert the notional "
                    "with the quote first")
    await _run_to_deadline(engine, result, _child(request, quantity, price=price), timeout,
                           confirm, on_order)
    result.finished_at = utcnow()
    return result


async def limit(engine: Engine, request: OrderRequest, *, timeout: float = 30.0,
                pricer: str = "touch", arrival: Quote | None = None,
                confirm: bool = True, on_order: OrderCallback | None = None,
                **pricer_options: Any) -> ExecutionResult:
    """One limit order (the request's price, else the pricer's), cancelled at ``timeout``."""
    result = ExecutionResult("limit", request)
    quote = result.arrival = arrival or await engine.quote(request.symbol)
    price = request.limit_price
    if price is None:
        instrument = await engine.instrument(request.symbol)
        factory = engine.components.pricers().get(pricer)
        price = factory(**pricer_options).price(quote, request.side, instrument)
    quantity = request.quantity
    if quantity is None:
        raise error(Code.UNSUPPORTED_ORDER, "strategies need a quantity")
    await _run_to_deadline(engine, result, _child(request, quantity, price=price), timeout,
                           confirm, on_order)
    result.finished_at = utcnow()
    return result


async def aggressive_limit(engine: Engine, request: OrderRequest, *, budget: float = 30.0,
                           interval: float = 1.0, pricer: str = "inside",
                           policy: str = "conservative", market_fallback: bool = True,
                           fallback_timeout: float = 30.0,
                           policy_options: dict[str, Any] | None = None,
                           arrival: Quote | None = None, confirm: bool = True,
                           on_order: OrderCallback | None = None) -> ExecutionResult:
    """A limit order re-pegged by ``policy`` every ``interval`` seconds within ``budget``.

    When the budget runs out (or the policy says so) the resting order is cancelled, the
    cancel confirmed, and the unfilled rest is sent as a market order
    (``market_fallback``); without the fallback the execution ends in TIMEOUT.
    """
    result = ExecutionResult("aggressive-limit", request)
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + budget
    target = request.quantity
    if target is None:
        raise error(Code.UNSUPPORTED_ORDER, "strategies need a quantity")
    instrument = await engine.instrument(request.symbol)
    quote = result.arrival = arrival or await engine.quote(request.symbol)
    pricers = engine.components.pricers()
    policies = engine.components.repeg_policies()
    price = request.limit_price or pricers.get(pricer)().price(quote, request.side, instrument)
    repeg = policies.get(policy)(**(policy_options or {}))
    order = await engine.submit(_child(request, target, price=price), on_journaled=on_order)
    result.orders.append(order)
    go_to_market = False
    while True:
        await _settle(engine, result, order, confirm=confirm,
                      timeout=max(0.0, min(interval, deadline - loop.time())))
        if order.state.is_terminal or result.filled_quantity >= target:
            break
        if loop.time() >= deadline:
            go_to_market = market_fallback
            await engine.cancel(order, as_timeout=not market_fallback)
            break
        try:
            quote = await engine.quote(request.symbol)
        except VenueKitError as exc:
            if not exc.retryable:
                raise
            # No fresh quote (its retries ran out): keep the order as it is this interval;
            # the deadline still bounds the execution.
            log.warning("no quote for the re-peg decision; keeping the order",
                        extra={"order_id": order.id, **exc.log_fields()})
            continue
        current = order.limit_price or price
        decision = repeg.decide(RepegContext(
            side=request.side, instrument=instrument, quote=quote, current_price=current,
            attempt=result.repegs, elapsed=loop.time() - started,
            remaining=deadline - loop.time(), filled_quantity=result.filled_quantity,
            remaining_quantity=target - result.filled_quantity))
        if decision.action is RepegAction.KEEP:
            continue
        if decision.action is RepegAction.REPRICE and engine.venue.capabilities.replace is True:
            assert decision.price is not None
            try:
                replacement = await engine.replace(order, limit_price=decision.price,
                                                   on_journaled=on_order)
            except VenueKitError as exc:
                if exc.code is not Code.INTERRUPTED:
                    raise
                await engine.cancel(order)  # the halt cancels it too: wait for the venue
                result.reason = exc.message
                break
            if replacement is not order:
                order = replacement
                result.orders.append(order)
                result.repegs += 1
            continue
        await engine.cancel(order)  # confirmed before anything else is sent
        if decision.action is RepegAction.CANCEL:
            result.reason = decision.reason
            break
        if decision.action is RepegAction.MARKET:
            go_to_market = True
            result.reason = decision.reason
            break
        remaining = target - result.filled_quantity  # from confirmed fills only
        if remaining <= 0:
            break
        assert decision.price is not None
        try:
            quantity = round_quantity(instrument, remaining)
        except ValidationError:  # less than a lot is left: nothing more can be sent
            break
        try:
            order = await engine.submit(_child(request, quantity, price=decision.price),
                                        on_journaled=on_order)
        except VenueKitError as exc:
            if exc.code is not Code.INTERRUPTED:
                raise
            result.reason = exc.message  # the last order is already cancelled
            break
        result.orders.append(order)
        result.repegs += 1
    remaining = target - result.filled_quantity
    if go_to_market and remaining > 0:
        try:
            quantity = round_quantity(instrument, remaining)
        except ValidationError:  # less than a lot is left
            quantity = ZERO
        if quantity > 0:
            try:
                await _run_to_deadline(engine, result, _child(request, quantity, price=None),
                                       fallback_timeout, confirm, on_order)
            except VenueKitError as exc:
                if exc.code is not Code.INTERRUPTED:
                    raise
                result.reason = f"{exc.message} (the market fallback was not sent)"
    result.finished_at = utcnow()
    return result


Strategy = Callable[..., Awaitable[ExecutionResult]]

STRATEGIES: dict[str, Strategy] = {"market": market, "limit": limit,
                                   "aggressive-limit": aggressive_limit}


def strategy_for(request: OrderRequest, strategy: str | None = None) -> str:
    """The strategy that executes ``request``: ``strategy``, checked, or the request's own.

    With no strategy named, a limit request runs the ``limit`` strategy (at its price) and
    a market request the ``market`` strategy. A market request may name any strategy (the
    limit strategies price it themselves); a limit request may name a strategy that works
    with limit orders (``aggressive-limit`` starts at the request's price and re-pegs from
    there). The ``market`` strategy would throw a limit request's price away: it is refused
    with STRATEGY_MISMATCH, naming both.
    """
    if request.order_type.triggered:
        raise error(Code.STRATEGY_MISMATCH,
                    f"a {request.order_type} order waits for its trigger and no strategy "
                    "executes it: submit it as it is (engine.submit, client.place) and it "
                    "works until it fires or is cancelled (see docs/order-types.md)")
    is_limit = request.order_type is OrderType.LIMIT
    if strategy is None:
        return "limit" if is_limit else "market"
    if strategy not in STRATEGIES:
        raise error(Code.UNKNOWN_COMPONENT, f"no strategy named {strategy!r} (known: "
                    f"{', '.join(STRATEGIES)})")
    if is_limit and strategy in _MARKET_ONLY:
        raise error(Code.STRATEGY_MISMATCH,
                    f"the {strategy!r} strategy contradicts a limit request "
                    f"({request.side.value} {request.quantity} {request.symbol} at "
                    f"{request.limit_price}): it executes at market and would ignore the "
                    "limit price; use the 'limit' strategy (the default for a limit "
                    "request), or drop the limit price")
    return strategy


_MARKET_ONLY = frozenset({"market"})


async def _cancel_working(engine: Engine, orders: list[Order]) -> None:
    """Cancel those of ``orders`` still working; a cancel that fails is logged."""
    working = [order for order in orders if not order.state.is_terminal]
    if not working:
        return
    log.warning("execution cancelled; cancelling its working orders",
                extra={"orders": [order.id for order in working]})
    outcomes = await asyncio.gather(*(engine.cancel(order) for order in working),
                                    return_exceptions=True)
    for order, outcome in zip(working, outcomes, strict=True):
        if isinstance(outcome, Exception):
            log.error("could not cancel an order of a cancelled execution",
                      extra={"order_id": order.id, "error": f"{type(outcome).__name__}: "
                                                            f"{outcome}"})
"""Strategies that send market orders only, so cannot honour a limit request's price."""


async def run_strategy(engine: Engine, request: OrderRequest, strategy: str | None = None,
                       **options: Any) -> ExecutionResult:
    """Execute ``request`` on ``engine`` with ``strategy`` (``market``, ``limit``,
    ``aggressive-limit``; by default the one its order type calls for, see
    :func:`strategy_for`) and return what happened.

    ``options`` go to the strategy (``timeout``, ``budget``, ``pricer``, ``arrival``,
    ``confirm``, ``on_order``, ...). A strategy that contradicts a limit request is refused
    with STRATEGY_MISMATCH, nothing sent. Cancelled, it cancels the orders it sent (each
    confirmed by the venue) before the cancellation propagates.
    """
    name = strategy_for(request, strategy)
    sent: list[Order] = []
    heard = options.get("on_order")

    def on_order(order: Order) -> None:
        sent.append(order)
        if heard is not None:
            heard(order)

    options["on_order"] = on_order
    try:
        result: ExecutionResult = await STRATEGIES[name](engine, request, **options)
    except asyncio.CancelledError:
        # Cancelled (Ctrl-C in a script, a task cancelled by its owner): the orders it
        # sent must not keep working unasked. Each cancel is confirmed by the venue.
        await _cancel_working(engine, sent)
        raise
    if log.isEnabledFor(logging.INFO):
        log.info("execution finished",
                 extra={"strategy": name, "order_id": result.order_id,
                        "state": result.state.value, "filled": str(result.filled_quantity),
                        "attempts": result.attempts, "repegs": result.repegs})
    return result
