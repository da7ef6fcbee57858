"""Standard tests of stops, stop-limits, trailing stops and brackets, through the engine.

Each applies where the venue offers the type, natively or emulated (the engine then holds
the order and releases it on its trigger); either way the order must fire at the same
quote, once, and end the same. The rules are :mod:`venuekit.triggers`': a buy stop fires
when the ask reaches its stop, a sell stop when the bid falls to it, a trailing stop at its
trail from the best price seen.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from ..engine import Bracket, Engine
from ..errors import Code, VenueKitError
from ..held import exit_quantity
from ..model import BracketRequest, Order, OrderRequest, OrderState, OrderType, Side
from .base import OFFERED, Gate, KitSession, VenueTestBase
from .control import LedgerFill

__all__ = ["TriggerTests"]

_TRIGGER_INTERVAL = 0.05
"""How often the kit's engine reads quotes for the orders it holds (emulated stops)."""


def _stop(kit: KitSession, side: Side, stop: Decimal, units: int = 1, *,
          limit: Decimal | None = None) -> OrderRequest:
    kind = OrderType.STOP if limit is None else OrderType.STOP_LIMIT
    return OrderRequest(symbol=kit.symbol, side=side, quantity=kit.unit * units,
                        order_type=kind, stop_price=stop, limit_price=limit)


async def _settled(engine: Engine, order: Order, what: str, timeout: float = 5.0) -> Order:
    done = await engine.settle(order, timeout=timeout)
    assert done.state.is_terminal, f"{what}: the order is still {done.state} after {timeout} s"
    return done


async def _untouched(kit: KitSession, order: Order, seconds: float = 0.3) -> None:
    """The order has not traded after ``seconds`` (its trigger has not been reached)."""
    await asyncio.sleep(seconds)
    assert order.filled_quantity == 0 and not order.state.is_terminal, (
        f"the stop traded before its trigger was reached: {order!r}")
    assert await kit.ledger_fills() == [], "the venue executed the stop before its trigger"


class TriggerTests(VenueTestBase):
    """Stops, stop-limits, trailing stops and brackets end as they do on the mock."""

    def test_stop_fires_when_the_ask_reaches_it(self) -> None:
        """A buy stop two ticks over the ask waits while the ask is a tick short, fires
        when the ask reaches it, and fills once at the stop.

        If this fails on a native venue: the venue's trigger rule differs from the kit's
        (see :mod:`venuekit.triggers`); map the type as ``"emulated"`` instead.
        """
        async def body(kit: KitSession) -> None:
            stop = kit.ask + 2 * kit.tick
            async with kit.engine(trigger_interval=_TRIGGER_INTERVAL) as engine:
                order = await engine.submit(_stop(kit, Side.BUY, stop))
                await kit.show(bid=stop - 2 * kit.tick, ask=stop - kit.tick,
                               bid_size=kit.depth, ask_size=kit.depth)
                await _untouched(kit, order)
                await kit.show(bid=stop - kit.tick, ask=stop, bid_size=kit.depth,
                               ask_size=kit.depth)
                done = await _settled(engine, order, "a stop whose trigger was reached")
            assert done.state is OrderState.FILLED, (done.state, done.reason)
            assert done.average_price == stop
            fills = await kit.ledger_fills()
            assert sum(f.quantity for f in fills) == kit.unit, "the stop traded more than once"
        self.run(body, Gate("stop_orders", OFFERED))

    def test_stop_limit_releases_a_limit_at_its_price(self) -> None:
        """A buy stop-limit fires at its stop and trades as a limit order, never above its
        limit.

        If this fails: the venue must send a fired stop-limit as a limit order at its
        ``limit_price`` (native), or the released order was refused (emulated: check that
        ``submit`` takes a limit order whose price is above the ask).
        """
        async def body(kit: KitSession) -> None:
            stop = kit.ask + 2 * kit.tick
            limit = stop + kit.tick
            async with kit.engine(trigger_interval=_TRIGGER_INTERVAL) as engine:
                order = await engine.submit(_stop(kit, Side.BUY, stop, 2, limit=limit))
                await _untouched(kit, order)
                await kit.show(bid=stop - kit.tick, ask=stop, bid_size=kit.depth,
                               ask_size=kit.depth)
                done = await _settled(engine, order, "a stop-limit whose trigger was reached")
            assert done.state is OrderState.FILLED, (done.state, done.reason)
            assert done.average_price is not None and done.average_price <= limit
        self.run(body, Gate("stop_limit_orders", OFFERED))

    def test_trailing_stop_follows_the_market_and_fires_at_its_trail(self) -> None:
        """A buy trailing stop with a trail of two ticks follows the ask down and fires
        when the ask rises two ticks off its low.

        If this fails on a native venue: its mark must follow the best ask (for a buy) and
        its stop sit ``trail_amount`` from it; otherwise declare ``trailing_stops``
        ``"emulated"``.
        """
        async def body(kit: KitSession) -> None:
            trail = 2 * kit.tick
            request = OrderRequest(symbol=kit.symbol, side=Side.BUY, quantity=kit.unit,
                                   order_type=OrderType.TRAILING_STOP, trail_amount=trail)
            async with kit.engine(trigger_interval=_TRIGGER_INTERVAL) as engine:
                order = await engine.submit(request)
                await asyncio.sleep(0.2)
                low = kit.ask - 3 * kit.tick
                await kit.show(bid=low - kit.tick, ask=low, bid_size=kit.depth,
                               ask_size=kit.depth)
                await asyncio.sleep(0.2)
                await kit.show(bid=low, ask=low + kit.tick, bid_size=kit.depth,
                               ask_size=kit.depth)
                await _untouched(kit, order)
                await kit.show(bid=low + kit.tick, ask=low + trail, bid_size=kit.depth,
                               ask_size=kit.depth)
                done = await _settled(engine, order, "a trailing stop off its low by its trail")
            assert done.state is OrderState.FILLED, (done.state, done.reason)
            assert done.average_price == low + trail
        self.run(body, Gate("trailing_stops", OFFERED))

    def test_stop_cancelled_before_its_trigger_never_trades(self) -> None:
        """A stop cancelled before its trigger ends CANCELLED and never trades after.

        If this fails: a native venue's ``cancel`` must cancel a stop that has not fired
        and ``fetch_order`` then read CANCELLED.
        """
        async def body(kit: KitSession) -> None:
            stop = kit.ask + 2 * kit.tick
            async with kit.engine(trigger_interval=_TRIGGER_INTERVAL) as engine:
                order = await engine.submit(_stop(kit, Side.BUY, stop))
                done = await engine.cancel(order)
                assert done.state is OrderState.CANCELLED, (done.state, done.reason)
                await kit.show(bid=stop, ask=stop + kit.tick, bid_size=kit.depth,
                               ask_size=kit.depth)
                await asyncio.sleep(0.3)
            assert await kit.ledger_fills() == []
        self.run(body, Gate("stop_orders", OFFERED))

    def test_stop_already_crossed_is_refused_before_sending(self) -> None:
        """A buy stop at the ask would fire at once: the engine refuses it (STOP_CROSSED)
        and nothing reaches the venue.

        If this fails: ``quote`` must report the ask the kit set; the engine compares the
        stop with it before sending.
        """
        async def body(kit: KitSession) -> None:
            async with kit.engine() as engine:
                try:
                    await engine.submit(_stop(kit, Side.BUY, kit.ask))
                except VenueKitError as exc:
                    assert exc.code is Code.STOP_CROSSED, exc
                else:
                    raise AssertionError("a stop at the ask must be refused")
            assert list(await kit.ledger_orders()) == []
        self.run(body, Gate("stop_orders", OFFERED))

    def test_bracket_take_profit_cancels_the_stop_loss(self) -> None:
        """A bracket's entry fills; its take-profit fills when the bid reaches it; the
        stop-loss ends without trading; what was sold equals what was bought.

        If this fails: a resting sell limit must fill when the bid reaches its price, and
        the fill reach the engine (stream or ``fills_since``); a fee charged in the asset
        bought must be reported with its currency (``Fill.fee_currency``).
        """
        async def body(kit: KitSession) -> None:
            async with kit.engine(trigger_interval=_TRIGGER_INTERVAL) as engine:
                placed, bracket = await _entered_bracket(kit, engine)
                target = bracket.take_profit
                await kit.show(bid=target, ask=target + kit.tick, bid_size=kit.depth,
                               ask_size=kit.depth)
                take_profit = await _settled(engine, placed.take_profit, "the take-profit")
                stop_loss = await _settled(engine, placed.stop_loss, "the stop-loss")
            assert take_profit.state is OrderState.FILLED, (take_profit.state, take_profit.reason)
            assert stop_loss.state is OrderState.CANCELLED and stop_loss.filled_quantity == 0
            _sold_what_was_bought(kit, placed.entry, await kit.ledger_fills())
        self.run(body, Gate("brackets", OFFERED))

    def test_bracket_stop_loss_sells_what_the_take_profit_left(self) -> None:
        """The take-profit fills one unit of two; then the stop-loss's trigger is reached.
        The exits never sell more than the entry bought. Where the engine runs the exits,
        the take-profit is cancelled first and the stop-loss sells the unit left; where the
        venue does, its own rule decides (Alpaca cancels the stop-loss at the take-profit's
        first fill, and the take-profit works on for the rest).

        If this fails: the venue must fill a resting limit only up to the displayed size,
        and its cancel of a partly filled order must be confirmed with the filled quantity;
        a native bracket must never let both exits trade more than the entry filled.
        """
        async def body(kit: KitSession) -> None:
            async with kit.engine(trigger_interval=_TRIGGER_INTERVAL) as engine:
                placed, bracket = await _entered_bracket(kit, engine)
                target = bracket.take_profit
                await kit.show(bid=target, ask=target + kit.tick, bid_size=kit.unit,
                               ask_size=kit.depth)
                await kit.eventually(lambda: _filled(placed.take_profit),
                                     lambda filled: filled > 0, what="a partial take-profit")
                low = bracket.stop_loss
                await kit.show(bid=low, ask=low + kit.tick, bid_size=kit.depth,
                               ask_size=kit.depth)
                stop_loss = await _settled(engine, placed.stop_loss, "the stop-loss")
                take_profit = placed.take_profit
                if not take_profit.state.is_terminal:  # the venue's rule left it working
                    take_profit = await engine.cancel(take_profit)
            held = exit_quantity(placed.entry, kit.instrument)
            assert take_profit.filled_quantity == kit.unit
            if kit.capabilities.brackets == "emulated" or stop_loss.state is OrderState.FILLED:
                assert stop_loss.state is OrderState.FILLED, (stop_loss.state, stop_loss.reason)
                assert stop_loss.filled_quantity == held - kit.unit
                _sold_what_was_bought(kit, placed.entry, await kit.ledger_fills())
            else:
                assert stop_loss.filled_quantity == 0
                _sold_what_was_bought(kit, placed.entry, await kit.ledger_fills(),
                                      at_most=True)
        self.run(body, Gate("brackets", OFFERED))


async def _entered_bracket(kit: KitSession, engine: Engine) -> tuple[Bracket, BracketRequest]:
    """A bracket buying two units at market, its take-profit three ticks over the ask and
    its stop-loss three under the bid, once its entry is final and its exits are placed."""
    bracket = BracketRequest(entry=kit.market(Side.BUY, 2), take_profit=kit.ask + 3 * kit.tick,
                             stop_loss=kit.bid - 3 * kit.tick)
    placed = await engine.submit_bracket(bracket)
    await _settled(engine, placed.entry, "the bracket's entry")
    await asyncio.sleep(0.3)  # the exits are placed once the entry is final
    return placed, bracket


async def _filled(order: Order) -> Decimal:
    return order.filled_quantity


def _sold_what_was_bought(kit: KitSession, entry: Order, fills: list[LedgerFill], *,
                          at_most: bool = False) -> None:
    """The exits sold exactly (``at_most``: no more than) what the entry left in the
    account: its fills less a fee taken in the asset bought, rounded down to the lot (see
    ``exit_quantity``)."""
    buys = sum((f.quantity for f in fills if f.side is Side.BUY), Decimal(0))
    sells = sum((f.quantity for f in fills if f.side is Side.SELL), Decimal(0))
    assert buys == entry.quantity == entry.filled_quantity, (
        f"the entry bought {buys} at the venue and {entry.filled_quantity} in the journal, "
        f"of {entry.quantity}")
    held = exit_quantity(entry, kit.instrument)
    if at_most:
        assert sells <= held, f"the exits sold {sells}; the entry left only {held} to sell"
    else:
        assert sells == held, f"the exits sold {sells}; the entry left {held} to sell"
