"""The boundary between alpaca-py's objects and venuekit's models, one function per type.

Numbers arrive as strings (real Alpaca) or JSON numbers (alpaca-py turns some fields into
floats); both become :class:`~decimal.Decimal` through their shortest text form, which is
the text that was on the wire. Numbers leave as floats because alpaca-py's request models
declare them so; a Decimal whose float does not print back as the same number is refused
before anything is sent.

The create path is the one the user waits for, so it skips alpaca-py's typed models:
:func:`order_fields` is already the JSON body alpaca-py's ``MarketOrderRequest``,
``LimitOrderRequest``, ``StopOrderRequest``, ``StopLimitOrderRequest`` or
``TrailingStopOrderRequest`` would send (a trailing stop's trail amount is Alpaca's
``trail_price``) (the tests hold the two equal), and :func:`snapshot`
reads the order JSON of the answer as well as alpaca-py's ``Order`` model, so the answer
is read once instead of twice.

Trade ids: Alpaca identifies an execution by the order and the order's cumulative filled
quantity after it (``{order id}:{cumulative qty}``). The stream's events and REST
reconstruction see the same pair, so both name one execution alike and the journal
counts it once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter

from venuekit.errors import Code, ErrorCode, error
from venuekit.model import (
    ZERO,
    Account,
    BracketRequest,
    Fill,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    OrderState,
    OrderType,
    OrderUpdate,
    Position,
    Quote,
    Side,
    TickBand,
    TimeInForce,
    utcnow,
)
from venuekit.venue import BracketSnapshot

__all__ = [
    "FRACTIONAL_STEP",
    "account",
    "decimal",
    "fill_from_activity",
    "fill_from_update",
    "fills_from_orders",
    "instrument",
    "order_fields",
    "quote",
    "snapshot",
    "trade_id",
    "update",
    "wire_number",
]

VENUE = "alpaca"

FRACTIONAL_STEP = Decimal("0.000000001")
"""Alpaca takes fractional share quantities to nine decimal places."""

# US equities (Reg NMS rule 612): prices under one dollar trade in 0.0001, others in 0.01.
_EQUITY_TICKS = (TickBand(floor=Decimal(0), tick=Decimal("0.0001")),
                 TickBand(floor=Decimal(1), tick=Decimal("0.01")))

_STATE = {
    "new": OrderState.ACKNOWLEDGED,
    "accepted": OrderState.ACKNOWLEDGED,
    "pending_new": OrderState.ACKNOWLEDGED,
    "accepted_for_bidding": OrderState.ACKNOWLEDGED,
    "held": OrderState.ACKNOWLEDGED,
    "pending_review": OrderState.ACKNOWLEDGED,
    "calculated": OrderState.ACKNOWLEDGED,
    "stopped": OrderState.ACKNOWLEDGED,
    "suspended": OrderState.ACKNOWLEDGED,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "done_for_day": OrderState.EXPIRED,
    "canceled": OrderState.CANCELLED,
    "expired": OrderState.EXPIRED,
    "replaced": OrderState.REPLACED,
    "pending_cancel": OrderState.PENDING_CANCEL,
    "pending_replace": OrderState.PENDING_REPLACE,
    "rejected": OrderState.REJECTED,
}
_FILL_EVENTS = frozenset({"fill", "partial_fill"})
_ORDER_TYPES = {kind.value: kind for kind in OrderType}
"""Alpaca's order types are venuekit's, by the same names."""


def _text(value: Any) -> str:
    """The wire text of an enum member or a plain value (``OrderStatus.NEW`` -> ``new``)."""
    inner = getattr(value, "value", value)
    return str(inner)


def decimal(value: Any, field: str = "number") -> Decimal | None:
    """A wire number as a Decimal (None stays None); floats through their shortest repr."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except ArithmeticError:
        raise error(Code.VENUE_ERROR, f"Alpaca sent {field}={value!r}, which is not a number",
                    venue=VENUE) from None
    if not result.is_finite():
        raise error(Code.VENUE_ERROR, f"Alpaca sent {field}={value!r}, which is not finite",
                    venue=VENUE)
    return result


def wire_number(value: Decimal, field: str, code: ErrorCode) -> float:
    """``value`` as the float alpaca-py sends, or ``code`` when the float would change it."""
    number = float(value)
    if Decimal(repr(number)) != value:
        raise error(code, f"{field} {value} cannot be sent to Alpaca exactly (alpaca-py sends "
                    "numbers as floats); use fewer significant digits", venue=VENUE)
    return number


def order_fields(request: OrderRequest, client_order_id: str,
                 instrument: Instrument | None = None) -> dict[str, Any]:
    """The JSON body of ``POST /v2/orders`` for ``request`` (checked before sending).

    It is what alpaca-py's request model built from these fields would send (its
    ``to_request_fields()``), so it can be posted through the client as it is.

    Alpaca takes fractional quantities and notional amounts only for DAY orders, and
    notional amounts only for market orders; anything else is refused here, with the reason,
    rather than sent to be refused.
    """
    fields: dict[str, Any] = {
        "symbol": request.symbol, "side": request.side.value,
        "type": request.order_type.value, "time_in_force": request.time_in_force.value,
        "client_order_id": client_order_id,
    }
    if request.notional is not None:
        if request.order_type is not OrderType.MARKET or \
                request.time_in_force is not TimeInForce.DAY:
            raise error(Code.UNSUPPORTED_ORDER, "Alpaca takes notional amounts only for "
                        "market orders with time in force DAY", venue=VENUE)
        fields["notional"] = wire_number(request.notional, "notional", Code.INVALID_ORDER)
    else:
        assert request.quantity is not None  # OrderRequest guarantees one of the two
        if request.quantity != request.quantity.to_integral_value():
            if instrument is not None and not instrument.fractional:
                raise error(Code.INVALID_QUANTITY, f"{request.symbol} is not fractionable at "
                            f"Alpaca; quantity {request.quantity} must be whole",
                            venue=VENUE)
            if request.time_in_force is not TimeInForce.DAY:
                raise error(Code.UNSUPPORTED_ORDER, "Alpaca takes fractional quantities only "
                            "with time in force DAY", venue=VENUE)
        fields["qty"] = wire_number(request.quantity, "quantity", Code.INVALID_QUANTITY)
    if request.limit_price is not None:
        fields["limit_price"] = wire_number(request.limit_price, "limit price",
                                            Code.INVALID_PRICE)
    for name, wire, label in _TRIGGER_FIELDS:
        value = getattr(request, name)
        if value is not None:
            fields[wire] = wire_number(value, label, Code.INVALID_PRICE)
    return fields


def bracket_fields(bracket: BracketRequest, client_order_id: str,
                   instrument: Instrument | None = None) -> dict[str, Any]:
    """The JSON body of ``POST /v2/orders`` for a bracket: the entry's fields with
    ``order_class`` bracket and its ``take_profit`` and ``stop_loss`` (alpaca-py's
    ``TakeProfitRequest`` and ``StopLossRequest``)."""
    fields = order_fields(bracket.entry, client_order_id, instrument)
    fields["order_class"] = "bracket"
    fields["take_profit"] = {"limit_price": wire_number(bracket.take_profit, "take profit",
                                                        Code.INVALID_PRICE)}
    stop_loss = {"stop_price": wire_number(bracket.stop_loss, "stop loss",
                                           Code.INVALID_PRICE)}
    if bracket.stop_loss_limit is not None:
        stop_loss["limit_price"] = wire_number(bracket.stop_loss_limit, "stop loss limit",
                                               Code.INVALID_PRICE)
    fields["stop_loss"] = stop_loss
    return fields


def bracket(order: Mapping[str, Any]) -> BracketSnapshot:
    """A bracket's JSON as Alpaca sends it (the entry with its ``legs``) as a
    BracketSnapshot: the limit leg is the take-profit, the stop or stop-limit leg the
    stop-loss."""
    take_profit = stop_loss = None
    for leg in order.get("legs") or ():
        snap = snapshot(leg)
        if snap.order_type is OrderType.LIMIT:
            take_profit = snap
        elif snap.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            stop_loss = snap
    return BracketSnapshot(entry=snapshot(order), take_profit=take_profit,
                           stop_loss=stop_loss)


_TRIGGER_FIELDS = (("stop_price", "stop_price", "stop price"),
                   ("trail_amount", "trail_price", "trail amount"),
                   ("trail_percent", "trail_percent", "trail percent"))
"""A request's trigger fields, the body's name for each, and the name an error uses."""


def instrument(asset: Any) -> Instrument:
    """An alpaca-py ``Asset`` as an Instrument: ticks by US equity rules, lots by fractionable."""
    fractional = bool(asset.fractionable)
    step = decimal(getattr(asset, "min_trade_increment", None), "min_trade_increment")
    lot = step if step and step > 0 else (FRACTIONAL_STEP if fractional else Decimal(1))
    minimum = decimal(getattr(asset, "min_order_size", None), "min_order_size") or ZERO
    price_step = decimal(getattr(asset, "price_increment", None), "price_increment")
    table = () if price_step and price_step > 0 else _EQUITY_TICKS
    tradable = bool(asset.tradable) and _text(asset.status) == "active"
    return Instrument(symbol=asset.symbol, tick_size=price_step or Decimal("0.01"),
                      lot_size=lot, min_quantity=minimum, fractional=fractional,
                      currency="USD", tick_table=table, tradable=tradable)


def quote(symbol: str, raw: Any) -> Quote:
    """An alpaca-py market-data ``Quote`` as venuekit's Quote."""
    return Quote(symbol=symbol, bid=decimal(raw.bid_price, "bid_price") or ZERO,
                 ask=decimal(raw.ask_price, "ask_price") or ZERO,
                 bid_size=decimal(raw.bid_size, "bid_size") or ZERO,
                 ask_size=decimal(raw.ask_size, "ask_size") or ZERO, at=raw.timestamp)


def snapshot(order: Any) -> OrderSnapshot:
    """An alpaca-py ``Order``, or an order's JSON object as Alpaca sends it, as an
    OrderSnapshot (VENUE_ERROR when it cannot be read)."""
    read: Callable[[str], Any] = order.get if isinstance(order, Mapping) \
        else functools.partial(getattr, order)
    try:
        return _snapshot(read)
    except (ValueError, TypeError, ArithmeticError) as exc:  # pydantic's errors included
        raise _unreadable("an order", exc) from None


def _unreadable(what: str, exc: Exception) -> Exception:
    first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    return error(Code.VENUE_ERROR, f"Alpaca sent {what} venuekit cannot read "
                 f"({type(exc).__name__}: {first})", venue=VENUE)


def _snapshot(read: Callable[[str], Any]) -> OrderSnapshot:
    status = _text(read("status"))
    state = _STATE.get(status)
    if state is None:
        raise error(Code.VENUE_ERROR, f"Alpaca reported an order status {status!r} venuekit "
                    "does not know", venue=VENUE)
    order_id = read("id")  # a UUID in alpaca-py's model, a string in JSON
    if not isinstance(order_id, str | UUID) or not order_id:
        raise ValueError(f"order id {order_id!r} is not a string")
    kind = _text(read("order_type") or read("type") or "market")
    order_type = _ORDER_TYPES.get(kind, OrderType.MARKET)
    quantity = decimal(read("qty"), "qty")
    filled = decimal(read("filled_qty"), "filled_qty") or ZERO
    if state is OrderState.FILLED and quantity is None:
        quantity = filled  # a filled notional order: what it bought is its quantity
    reason = None
    if state is OrderState.REJECTED:
        reason = "rejected by Alpaca"
    return OrderSnapshot(
        venue_order_id=str(order_id), client_order_id=read("client_order_id") or None,
        symbol=read("symbol") or "", side=Side(_text(read("side"))), order_type=order_type,
        state=state, quantity=quantity, notional=decimal(read("notional"), "notional"),
        limit_price=decimal(read("limit_price"), "limit_price"), filled_quantity=filled,
        stop_price=decimal(read("stop_price"), "stop_price"),
        average_price=decimal(read("filled_avg_price"), "filled_avg_price"),
        created_at=read("created_at"), updated_at=read("updated_at"), reason=reason)


def trade_id(venue_order_id: str, cumulative: Decimal) -> str:
    """The id of the execution that took ``venue_order_id``'s filled quantity to ``cumulative``."""
    return f"{venue_order_id}:{cumulative.normalize():f}"


def fill_from_update(event: Any, snap: OrderSnapshot) -> Fill | None:
    """The execution a ``fill`` / ``partial_fill`` trade update reports (None otherwise)."""
    if _text(event.event) not in _FILL_EVENTS:
        return None
    quantity = decimal(event.qty, "qty")
    price = decimal(event.price, "price")
    if not quantity or not price:
        return None
    return Fill(trade_id=trade_id(snap.venue_order_id, snap.filled_quantity),
                symbol=snap.symbol, side=snap.side, quantity=quantity, price=price,
                at=event.timestamp, venue_order_id=snap.venue_order_id,
                client_order_id=snap.client_order_id)


def update(event: Any) -> OrderUpdate:
    """An alpaca-py ``TradeUpdate`` as an OrderUpdate (VENUE_ERROR when it cannot be read)."""
    snap = snapshot(event.order)
    try:
        return OrderUpdate(order=snap, fill=fill_from_update(event, snap), at=event.timestamp)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise _unreadable("a trade update", exc) from None


_WHEN: TypeAdapter[datetime] = TypeAdapter(datetime)


def fill_from_activity(raw: Mapping[str, Any]) -> Fill:
    """One ``FILL`` account activity (``GET /v2/account/activities/FILL``) as a Fill."""
    order_id = str(raw["order_id"])
    cumulative = decimal(raw.get("cum_qty"), "cum_qty")
    quantity = decimal(raw.get("qty"), "qty")
    price = decimal(raw.get("price"), "price")
    if cumulative is None or quantity is None or price is None:
        raise error(Code.VENUE_ERROR, "Alpaca sent a FILL activity without cum_qty, qty or "
                    "price", venue=VENUE)
    return Fill(trade_id=trade_id(order_id, cumulative), symbol=str(raw["symbol"]),
                side=Side(str(raw["side"]).lower()), quantity=quantity, price=price,
                at=_WHEN.validate_python(raw["transaction_time"]), venue_order_id=order_id)


def fills_from_orders(orders: Sequence[Any], since: datetime,
                      seen: Mapping[str, Sequence[Fill]]) -> list[Fill]:
    """Executions reconstructed from orders' filled quantities, oldest first.

    Alpaca's order objects carry only the cumulative filled quantity and its average price.
    Executions this venue object already saw on the stream (``seen``, by venue order id)
    are returned as they were; what the order shows beyond them is one execution, priced so
    that the order's average comes out right, with the same id the stream would give it.
    """
    out: list[Fill] = []
    for order in orders:
        snap = snapshot(order)
        if snap.filled_quantity <= 0:
            continue
        known = [f for f in seen.get(snap.venue_order_id, ()) if f.quantity > 0]
        out.extend(f for f in known if f.at >= since)
        known_qty = sum((f.quantity for f in known), ZERO)
        rest = snap.filled_quantity - known_qty
        if rest <= 0 or snap.average_price is None:
            continue
        known_value = sum((f.quantity * f.price for f in known), ZERO)
        price = (snap.average_price * snap.filled_quantity - known_value) / rest
        if price <= 0:
            price = snap.average_price
        at = getattr(order, "filled_at", None) or snap.updated_at or utcnow()
        if at < since:
            continue
        out.append(Fill(trade_id=trade_id(snap.venue_order_id, snap.filled_quantity),
                        symbol=snap.symbol, side=snap.side, quantity=rest, price=price,
                        at=at, venue_order_id=snap.venue_order_id,
                        client_order_id=snap.client_order_id))
    out.sort(key=lambda f: f.at)
    return out


def account(trade_account: Any, positions: Sequence[Any]) -> Account:
    """An alpaca-py ``TradeAccount`` and its ``Position`` list as an Account."""
    held = []
    for item in positions:
        quantity = decimal(item.qty, "qty") or ZERO
        if _text(item.side) == "short" and quantity > 0:
            quantity = -quantity
        held.append(Position(symbol=item.symbol, quantity=quantity,
                             average_price=decimal(item.avg_entry_price,
                                                   "avg_entry_price") or ZERO,
                             market_value=decimal(item.market_value, "market_value")))
    return Account(currency=trade_account.currency or "USD",
                   cash=decimal(trade_account.cash, "cash") or ZERO,
                   buying_power=decimal(trade_account.buying_power, "buying_power") or ZERO,
                   positions=tuple(held))
