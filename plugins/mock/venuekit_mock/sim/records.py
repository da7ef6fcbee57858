"""The simulator's records: orders as it tracks them, fills, events, statistics.

:class:`SimOrder` is the engine's mutable working record. What leaves the engine is
immutable: an :class:`OrderView` (the order at one moment), a :class:`SimFill`, a
:class:`SimEvent` (one message of the order stream). Those three are built several times
per order on the hot path, so they are named tuples (a frozen dataclass costs four times as
much to build); the venue converts them to venuekit's pydantic models at its boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from venuekit.model import OrderState, OrderType, Side, TimeInForce

__all__ = ["OrderView", "SimEvent", "SimFill", "SimOrder", "Statistics", "fast_tuple"]

ZERO = Decimal(0)

_TRIGGERED = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})

# Builds a named tuple without its Python-level __new__: the engine makes several per order.
fast_tuple = tuple.__new__


class OrderView(NamedTuple):
    """What the venue says about one order at one moment.

    ``order_index`` is the ordinal of the create request that made the order (a
    replacement keeps its original's): the key that scripted faults use.

    A stop order's ``stop_price`` is its trigger; a trailing stop's is its current stop,
    which follows ``mark`` (the highest bid since acceptance for a sell, the lowest ask
    for a buy) by ``trail_amount`` or ``trail_percent``. ``triggered_at`` is when the
    trigger fired (None while the stop waits, and for other orders).

    Contingent orders: ``legs`` are the orders this one carries (a bracket's or an OTO's
    exits, the stop of a one-cancels-other pair), ``parent`` the order a leg belongs to,
    ``oco`` the other order of a one-cancels-other pair. A ``held`` leg waits for its
    parent to fill before it works.

    An auction order (:mod:`.auctions`) names its ``auction``: ``"open"`` (it trades only
    at the next session's opening quote) or ``"close"`` (only at this session's closing
    quote); None for every other order.
    """

    venue_order_id: str
    client_order_id: str | None
    order_index: int
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    state: OrderState
    quantity: Decimal
    limit_price: Decimal | None
    filled_quantity: Decimal
    filled_notional: Decimal
    fees: Decimal
    created_at: datetime
    updated_at: datetime
    reason: str | None = None
    replaces: str | None = None
    replaced_by: str | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    mark: Decimal | None = None
    triggered_at: datetime | None = None
    held: bool = False
    parent: str | None = None
    legs: tuple[str, ...] = ()
    oco: str | None = None
    auction: str | None = None

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity

    @property
    def average_price(self) -> Decimal | None:
        if not self.filled_quantity:
            return None
        return self.filled_notional / self.filled_quantity


class SimFill(NamedTuple):
    """One execution.

    ``liquidity`` is ``"taker"`` or ``"maker"``; ``touch`` is the price the taker met
    before slippage (a maker fill's own limit price).
    """

    trade_id: str
    venue_order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    currency: str
    at: datetime
    liquidity: str
    touch: Decimal

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.price


class SimEvent(NamedTuple):
    """One order-stream message: the order after the change, and the fill that caused it."""

    seq: int
    order: OrderView
    fill: SimFill | None
    at: datetime


@dataclass(slots=True, eq=False)
class SimOrder:
    """The engine's working record of one order (mutated only by the engine)."""

    venue_order_id: str
    client_order_id: str | None
    order_index: int
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    limit_price: Decimal | None
    created_at: datetime
    updated_at: datetime
    # Price per unit used to reserve buying power for the unfilled part.
    reserve_price: Decimal
    # Account volume when accepted: commission tiers use it.
    prior_volume: Decimal
    state: OrderState = OrderState.ACKNOWLEDGED
    filled_quantity: Decimal = ZERO
    filled_notional: Decimal = ZERO
    fees: Decimal = ZERO
    reserved_cash: Decimal = ZERO
    reserved_quantity: Decimal = ZERO
    reason: str | None = None
    replaces: str | None = None
    replaced_by: str | None = None
    # Stop orders: the trigger, a trailing stop's trail and mark, and when it fired.
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    mark: Decimal | None = None
    triggered_at: datetime | None = None
    # Contingent orders: legs held until this order fills (``oto``), a leg's parent, and
    # the other order of a one-cancels-other pair.
    held: bool = False
    parent: str | None = None
    legs: tuple[str, ...] = ()
    oto: bool = False
    oco: str | None = None
    # Auction orders: the auction ("open" or "close") that alone may execute them.
    auction: str | None = None

    @property
    def armed(self) -> bool:
        """True for a stop order waiting for its trigger."""
        return self.order_type in _TRIGGERED and self.triggered_at is None

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_quantity

    def accepted_view(self) -> OrderView:
        """The order as the venue accepted it (acknowledged, nothing filled yet)."""
        return fast_tuple(OrderView, (
            self.venue_order_id, self.client_order_id, self.order_index, self.symbol,
            self.side, self.order_type, self.time_in_force, OrderState.ACKNOWLEDGED,
            self.quantity, self.limit_price, ZERO, ZERO, ZERO, self.created_at,
            self.created_at, None, self.replaces, None, self.stop_price, self.trail_amount,
            self.trail_percent, self.mark, None, self.held, self.parent, self.legs,
            self.oco, self.auction))

    def view(self) -> OrderView:
        return fast_tuple(OrderView, (
            self.venue_order_id, self.client_order_id, self.order_index, self.symbol,
            self.side, self.order_type, self.time_in_force, self.state, self.quantity,
            self.limit_price, self.filled_quantity, self.filled_notional, self.fees,
            self.created_at, self.updated_at, self.reason, self.replaces, self.replaced_by,
            self.stop_price, self.trail_amount, self.trail_percent, self.mark,
            self.triggered_at, self.held, self.parent, self.legs, self.oco, self.auction))


@dataclass(frozen=True, slots=True)
class Statistics:
    """What the simulator did, in aggregate (``Simulator.statistics()``).

    ``average_slippage_bps`` is what taker fills paid beyond the touch they met, over
    their notional at the touch, in basis points (notional-weighted; positive is worse
    for the taker). ``commission`` is the total charged.
    """

    orders_accepted: int
    orders_rejected: int
    orders_cancelled: int
    orders_expired: int
    orders_replaced: int
    fills: int
    volume: Decimal
    notional: Decimal
    commission: Decimal
    average_slippage_bps: Decimal
