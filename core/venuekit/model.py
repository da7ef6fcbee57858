"""The domain model: instruments, quotes, order requests, orders, fills, accounts.

Every price, quantity and amount is a :class:`~decimal.Decimal`. Values that cross a
boundary (user input, venue payloads) are pydantic v2 models that accept ``Decimal``,
``int`` and decimal strings such as ``"101.25"`` and refuse ``float`` with an error that
says what to pass instead: a float like ``0.1`` is already wrong before it reaches us.

:class:`Order` is different: it is the SDK's own tracked record, mutated only by
:mod:`venuekit.lifecycle`, so it is a slotted dataclass rather than a validated model.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = [
    "ZERO",
    "Account",
    "BracketRequest",
    "Fill",
    "Instrument",
    "Money",
    "Order",
    "OrderEvent",
    "OrderRequest",
    "OrderSnapshot",
    "OrderState",
    "OrderType",
    "OrderUpdate",
    "Position",
    "Quote",
    "Side",
    "StopTrigger",
    "TickBand",
    "TimeInForce",
    "utcnow",
]

ZERO = Decimal(0)
_BPS = Decimal(10_000)
_INFINITY = Decimal("Infinity")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the only clock the model uses)."""
    return datetime.now(UTC)


def _to_decimal(value: Any) -> Any:
    """Coerce exact inputs to Decimal and refuse floats with an actionable message."""
    if type(value) is Decimal:  # the usual input: no other check applies to it
        if not value.is_finite():
            raise ValueError(f"expected a finite decimal number, got {value}")
        return value
    if isinstance(value, bool):
        raise ValueError("expected a decimal number, got a boolean")
    if isinstance(value, float):
        # Only a finite float has a string worth suggesting: 'nan' would be refused next.
        example = f" such as '{value!r}'" if math.isfinite(value) else ""
        raise ValueError(
            f"floats are not accepted for prices or quantities (got {value!r}); "
            f"pass a string{example} or a decimal.Decimal"
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = Decimal(text)
        except ArithmeticError:
            raise ValueError(f"{value!r} is not a decimal number") from None
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"expected a finite decimal number, got {value}")
    return value


Money = Annotated[Decimal, BeforeValidator(_to_decimal)]
"""A Decimal field that accepts ``Decimal``, ``int`` or a decimal string, never a float."""

_FROZEN = ConfigDict(frozen=True, extra="forbid", strict=False)


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(enum.StrEnum):
    """How an order prices itself. The three stop types wait for a trigger: a stop releases
    a market order, a stop-limit a limit order, a trailing stop a market order when the
    market turns by its trail from the best price seen (see :mod:`venuekit.triggers`)."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"

    @property
    def triggered(self) -> bool:
        """True for the types that wait for a trigger before they trade."""
        return self in _TRIGGERED


_TRIGGERED = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})


class TimeInForce(enum.StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderState(enum.StrEnum):
    """The fourteen states of an order; see :mod:`venuekit.lifecycle` for the transitions."""

    NEW = "new"
    HELD = "held"
    """Journaled and held by the engine until its trigger fires (an emulated stop, an
    emulated bracket's exit): nothing has been sent to the venue."""
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    REPLACED = "replaced"
    ERROR = "error"
    TIMEOUT = "timeout"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """True while the order may still be working at the venue (or be about to)."""
        return self not in _TERMINAL


_TERMINAL = frozenset(
    {
        OrderState.FILLED,
        OrderState.CANCELLED,
        OrderState.REJECTED,
        OrderState.EXPIRED,
        OrderState.REPLACED,
        OrderState.ERROR,
        OrderState.TIMEOUT,
    }
)


class TickBand(BaseModel):
    """One band of a price-dependent tick table: prices at or above ``floor`` use ``tick``."""

    model_config = _FROZEN
    floor: Money = Field(ge=0)
    tick: Money = Field(gt=0)


class Instrument(BaseModel):
    """What can be traded and the rules an order must satisfy to be accepted.

    ``tick_table`` (for example KRX's price bands) overrides ``tick_size`` when given.
    """

    model_config = _FROZEN
    symbol: str = Field(min_length=1)
    tick_size: Money = Field(gt=0)
    lot_size: Money = Field(gt=0)
    min_quantity: Money = Field(default=ZERO, ge=0)
    min_notional: Money = Field(default=ZERO, ge=0)
    fractional: bool = False
    currency: str = "USD"
    """The currency prices are quoted in (the quote asset of a crypto pair)."""
    tick_table: tuple[TickBand, ...] = ()
    tradable: bool = True
    base_currency: str | None = None
    """The asset bought and sold where a venue trades assets for assets (``BTC`` of
    ``BTC/USDT``); None for a security. A fee charged in it changes the quantity held."""

    @model_validator(mode="after")
    def _check_table(self) -> Instrument:
        floors = [band.floor for band in self.tick_table]
        if floors != sorted(floors) or len(set(floors)) != len(floors):
            raise ValueError("tick_table bands must have strictly increasing floors")
        return self

    def tick_at(self, price: Decimal) -> Decimal:
        """The tick that applies at ``price`` (the band containing it, else ``tick_size``)."""
        tick = self.tick_size
        for band in self.tick_table:
            if price >= band.floor:
                tick = band.tick
            else:
                break
        return tick


class Quote(BaseModel):
    """Top of book for one symbol."""

    model_config = _FROZEN
    symbol: str = Field(min_length=1)
    bid: Money = Field(ge=0)
    ask: Money = Field(ge=0)
    bid_size: Money = Field(default=ZERO, ge=0)
    ask_size: Money = Field(default=ZERO, ge=0)
    at: datetime = Field(default_factory=utcnow)

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread(self) -> Decimal:
        return self.ask - self.bid

    @property
    def spread_bps(self) -> Decimal:
        """The spread in basis points of the mid; a one-sided or empty book counts as infinite."""
        mid = self.mid
        if self.bid <= 0 or self.ask <= 0 or mid <= 0:
            return _INFINITY
        return self.spread / mid * _BPS

    def touch(self, side: Side) -> Decimal:
        """The price a marketable order of ``side`` trades against (ask for a buy)."""
        return self.ask if side is Side.BUY else self.bid


class StopTrigger(BaseModel):
    """What a stop, stop-limit or trailing-stop request waits for (``OrderRequest.trigger``).

    Give its fields to :class:`OrderRequest` directly (``stop_price=``, ``trail_amount=``,
    ``trail_percent=``) and read them there: the request keeps them together so that a
    plain order carries one empty field, not three.
    """

    model_config = _FROZEN
    stop_price: Money | None = Field(default=None, gt=0)
    trail_amount: Money | None = Field(default=None, gt=0)
    trail_percent: Money | None = Field(default=None, gt=0, lt=100)


_TRIGGER_FIELDS = ("stop_price", "trail_amount", "trail_percent")


class OrderRequest(BaseModel):
    """What the user wants done: one order, by quantity or (for buys on some venues) notional.

    A stop takes ``stop_price`` (a buy fires when the ask reaches it, a sell when the bid
    falls to it); a trailing stop ``trail_amount`` (price units) or ``trail_percent``
    (percent of the best price seen). See docs/order-types.md.
    """

    model_config = _FROZEN
    symbol: str = Field(min_length=1)
    side: Side
    quantity: Money | None = Field(default=None, gt=0)
    notional: Money | None = Field(default=None, gt=0)
    order_type: OrderType = OrderType.MARKET
    limit_price: Money | None = Field(default=None, gt=0)
    time_in_force: TimeInForce = TimeInForce.DAY
    correlation_id: str | None = None
    trigger: StopTrigger | None = None
    """The stop price or trail of a stop, stop-limit or trailing stop; None otherwise."""

    if TYPE_CHECKING:  # the trigger's fields are taken flat too (see _gather_trigger)
        def __init__(self, *, symbol: str, side: Side, quantity: Decimal | None = None,
                     notional: Decimal | None = None,
                     order_type: OrderType = OrderType.MARKET,
                     limit_price: Decimal | None = None,
                     time_in_force: TimeInForce = TimeInForce.DAY,
                     correlation_id: str | None = None, trigger: StopTrigger | None = None,
                     stop_price: Decimal | None = None, trail_amount: Decimal | None = None,
                     trail_percent: Decimal | None = None) -> None: ...

    @model_validator(mode="before")
    @classmethod
    def _gather_trigger(cls, data: Any) -> Any:
        """Take ``stop_price``, ``trail_amount`` and ``trail_percent`` given flat."""
        if type(data) is not dict or ("stop_price" not in data and "trail_amount" not in data
                                      and "trail_percent" not in data):
            return data  # (no generator: this runs for every request built)
        data = dict(data)
        given = {name: data.pop(name) for name in _TRIGGER_FIELDS if name in data}
        if any(value is not None for value in given.values()):
            if data.get("trigger") is not None:
                raise ValueError("give stop_price, trail_amount and trail_percent, or "
                                 "trigger, not both")
            data["trigger"] = given
        return data

    @property
    def stop_price(self) -> Decimal | None:
        """The trigger of a stop or stop-limit order."""
        trigger = self.trigger
        return None if trigger is None else trigger.stop_price

    @property
    def trail_amount(self) -> Decimal | None:
        """A trailing stop's distance from the best price seen, in price units."""
        trigger = self.trigger
        return None if trigger is None else trigger.trail_amount

    @property
    def trail_percent(self) -> Decimal | None:
        """A trailing stop's distance from the best price seen, in percent of that price."""
        trigger = self.trigger
        return None if trigger is None else trigger.trail_percent

    @model_validator(mode="after")
    def _check_shape(self) -> OrderRequest:
        if (self.quantity is None) == (self.notional is None):
            raise ValueError("give exactly one of quantity or notional")
        kind = self.order_type
        if kind is OrderType.MARKET or kind is OrderType.LIMIT:
            if self.trigger is not None:
                raise ValueError(f"a {kind} order takes no stop_price, trail_amount or "
                                 "trail_percent; use order_type='stop', 'stop_limit' or "
                                 "'trailing_stop'")
            if kind is OrderType.LIMIT and self.limit_price is None:
                raise ValueError("a limit order needs limit_price")
            if kind is OrderType.MARKET and self.limit_price is not None:
                raise ValueError("a market order takes no limit_price; use order_type='limit'")
            return self
        if self.notional is not None:
            raise ValueError(f"a {kind} order takes a quantity, not a notional")
        if kind is OrderType.TRAILING_STOP:
            if (self.trail_amount is None) == (self.trail_percent is None):
                raise ValueError("a trailing stop needs exactly one of trail_amount or "
                                 "trail_percent")
            if self.stop_price is not None or self.limit_price is not None:
                raise ValueError("a trailing stop takes no stop_price or limit_price: its "
                                 "stop follows the market by the trail")
            return self
        if self.stop_price is None:
            raise ValueError(f"a {kind} order needs stop_price")
        if self.trail_amount is not None or self.trail_percent is not None:
            raise ValueError(f"a {kind} order takes no trail; use order_type='trailing_stop'")
        if kind is OrderType.STOP_LIMIT and self.limit_price is None:
            raise ValueError("a stop-limit order needs limit_price (the price of the limit "
                             "order it releases)")
        if kind is OrderType.STOP and self.limit_price is not None:
            raise ValueError("a stop order takes no limit_price; use order_type='stop_limit'")
        return self

    def released(self) -> OrderRequest:
        """The order a triggered request becomes once its trigger fires: a market order
        for a stop or trailing stop, a limit order for a stop-limit. Other requests are
        returned as they are."""
        kind = self.order_type
        if not kind.triggered:
            return self
        released = OrderType.LIMIT if kind is OrderType.STOP_LIMIT else OrderType.MARKET
        return self.model_copy(update={"order_type": released, "trigger": None})


class BracketRequest(BaseModel):
    """An entry order with two exits, one cancelling the other: a take-profit limit order
    and a stop-loss (a stop, or a stop-limit with ``stop_loss_limit``), each for what the
    entry filled, on the opposite side.

    For a buy entry the stop-loss lies below the take-profit (and a limit entry's price
    between them); a sell entry mirrors it.
    """

    model_config = _FROZEN
    entry: OrderRequest
    take_profit: Money = Field(gt=0)
    """The exit's limit price on the profitable side."""
    stop_loss: Money = Field(gt=0)
    """The stop price of the protective exit."""
    stop_loss_limit: Money | None = Field(default=None, gt=0)
    """Makes the stop-loss a stop-limit with this limit price (a stop by default)."""

    @model_validator(mode="after")
    def _check_prices(self) -> BracketRequest:
        entry = self.entry
        if entry.order_type not in (OrderType.MARKET, OrderType.LIMIT):
            raise ValueError("a bracket's entry is a market or limit order")
        if entry.quantity is None:
            raise ValueError("a bracket's entry takes a quantity, not a notional")
        low, high = ((self.stop_loss, self.take_profit) if entry.side is Side.BUY
                     else (self.take_profit, self.stop_loss))
        if low >= high:
            which = "below" if entry.side is Side.BUY else "above"
            raise ValueError(f"a {entry.side} bracket's stop_loss ({self.stop_loss}) must lie "
                             f"{which} its take_profit ({self.take_profit})")
        limit = entry.limit_price
        if limit is not None and not low < limit < high:
            raise ValueError(f"the entry's limit price {limit} must lie between the stop_loss "
                             f"({self.stop_loss}) and the take_profit ({self.take_profit})")
        return self

    def take_profit_request(self, quantity: Decimal) -> OrderRequest:
        """The take-profit exit for ``quantity`` (what the entry filled)."""
        entry = self.entry
        return OrderRequest(symbol=entry.symbol, side=entry.side.opposite, quantity=quantity,
                            order_type=OrderType.LIMIT, limit_price=self.take_profit,
                            time_in_force=TimeInForce.GTC,
                            correlation_id=entry.correlation_id)

    def stop_loss_request(self, quantity: Decimal) -> OrderRequest:
        """The stop-loss exit for ``quantity`` (what the entry filled)."""
        entry = self.entry
        limit = self.stop_loss_limit
        return OrderRequest(symbol=entry.symbol, side=entry.side.opposite, quantity=quantity,
                            order_type=OrderType.STOP if limit is None else OrderType.STOP_LIMIT,
                            stop_price=self.stop_loss, limit_price=limit,
                            time_in_force=TimeInForce.GTC,
                            correlation_id=entry.correlation_id)


class Fill(BaseModel):
    """One execution. ``trade_id`` is unique per venue, symbol and side (venues number trades
    per symbol, and a self-trade reports one id on both sides); inferred fills carry derived ids.
    """

    model_config = _FROZEN
    trade_id: str = Field(min_length=1)
    symbol: str = Field(min_length=1)
    side: Side
    quantity: Money = Field(gt=0)
    price: Money = Field(gt=0)
    fee: Money = ZERO
    fee_currency: str = "USD"
    at: datetime = Field(default_factory=utcnow)
    venue_order_id: str | None = None
    client_order_id: str | None = None
    inferred: bool = False

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.price


class OrderSnapshot(BaseModel):
    """What a venue says about one of its orders at one moment.

    ``replaces`` is the venue order id of the order this one replaced, where the venue
    reports that link (None otherwise, and for an order that replaced nothing).
    """

    model_config = _FROZEN
    venue_order_id: str = Field(min_length=1)
    client_order_id: str | None = None
    symbol: str = Field(min_length=1)
    side: Side
    order_type: OrderType
    state: OrderState
    quantity: Money | None = Field(default=None, ge=0)
    notional: Money | None = Field(default=None, ge=0)
    limit_price: Money | None = None
    filled_quantity: Money = Field(default=ZERO, ge=0)
    average_price: Money | None = None
    stop_price: Money | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    reason: str | None = None
    replaces: str | None = None


class OrderUpdate(BaseModel):
    """One message of a venue's order stream: a snapshot, and the fill that caused it if any."""

    model_config = _FROZEN
    order: OrderSnapshot
    fill: Fill | None = None
    at: datetime = Field(default_factory=utcnow)


class Position(BaseModel):
    model_config = _FROZEN
    symbol: str = Field(min_length=1)
    quantity: Money
    average_price: Money = ZERO
    market_value: Money | None = None


class Account(BaseModel):
    """Cash, buying power and positions, as the venue reports them."""

    model_config = _FROZEN
    currency: str = "USD"
    cash: Money
    buying_power: Money
    positions: tuple[Position, ...] = ()

    def position(self, symbol: str) -> Position | None:
        for position in self.positions:
            if position.symbol == symbol:
                return position
        return None


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One lifecycle event in an order's history.

    ``kind`` is a :class:`venuekit.lifecycle.EventKind` value; ``state`` is the state the
    order was in after the event was applied; ``seq`` orders the history.
    """

    seq: int
    kind: str
    state: OrderState
    at: datetime
    fill: Fill | None = None
    reason: str | None = None
    data: dict[str, str] | None = None


def _check_amount(name: str, value: Decimal | None) -> None:
    if value is not None and not (
            isinstance(value, Decimal) and value.is_finite() and value > 0):
        raise ValueError(f"Order.{name} must be a positive Decimal or None, got {value!r}")


@dataclass(slots=True, eq=False, weakref_slot=True)
class Order:
    """The SDK's tracked order. Mutated only by :func:`venuekit.lifecycle.apply`.

    ``id`` is the client order id the journal assigned before the order was sent: it is
    never empty, even when the venue has no client ids or never answered.
    """

    id: str
    venue: str
    request: OrderRequest
    # None for a notional order until the venue reports the quantity it bought.
    quantity: Decimal | None
    state: OrderState = OrderState.NEW
    venue_order_id: str | None = None
    limit_price: Decimal | None = None
    filled_quantity: Decimal = ZERO
    filled_notional: Decimal = ZERO
    fees: Decimal = ZERO
    fills: list[Fill] = field(default_factory=list)
    history: list[OrderEvent] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    replaced_by: str | None = None
    replaces: str | None = None
    reason: str | None = None
    # State to return to when a cancel or replace request fails; set by the lifecycle.
    resume_state: OrderState | None = None
    # The run and the run item the order serves (see venuekit.runs), None outside a run.
    run_id: str | None = None
    run_item: int | None = None
    # A bracket's entry carries its exits; each exit names the entry (``parent``) and
    # which leg it is ("take_profit" or "stop_loss"). None outside a bracket.
    bracket: BracketRequest | None = None
    parent: str | None = None
    leg: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ValueError(f"an order id must be a non-empty string, got {self.id!r}")
        _check_amount("quantity", self.quantity)
        if self.limit_price is None:
            self.limit_price = self.request.limit_price
        else:
            _check_amount("limit_price", self.limit_price)

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def side(self) -> Side:
        return self.request.side

    @property
    def remaining_quantity(self) -> Decimal | None:
        if self.quantity is None:
            return None
        return self.quantity - self.filled_quantity

    @property
    def average_price(self) -> Decimal | None:
        if self.filled_quantity == 0:
            return None
        return self.filled_notional / self.filled_quantity

    @property
    def trade_ids(self) -> Sequence[str]:
        return [fill.trade_id for fill in self.fills]

    def __repr__(self) -> str:
        size = (f"{self.quantity}" if self.quantity is not None
                else f"notional {self.request.notional}")
        return (
            f"Order(id={self.id!r}, venue={self.venue!r}, {self.side} {size} "
            f"{self.symbol}, state={self.state}, filled={self.filled_quantity})"
        )
