"""The boundary between the simulator's records and venuekit's models.

The engine keeps slotted records and named tuples; what the venue returns to the SDK is
venuekit's pydantic models. Every conversion lives here, one function per type.

Every model is built from values the simulator made itself (Decimals, venuekit's enums,
aware datetimes) after checking every request, so it is built without validating them
again (:func:`_built`); validation would cost more than the rest of the conversion.
Instruments come from symbol specs, which refuse at construction whatever an
``Instrument`` would refuse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from venuekit.model import (
    Account,
    Fill,
    Instrument,
    OrderSnapshot,
    OrderUpdate,
    Position,
    Quote,
    TickBand,
)

from .sim import Book, OrderView, SimEvent, SimFill, Simulator, SymbolSpec

__all__ = ["account", "fill", "instrument", "quote", "snapshot", "update"]

_M = TypeVar("_M", bound=BaseModel)
_set = object.__setattr__
# Pydantic models have no __new__ of their own: object's, called directly, saves the lookup.
_new = object.__new__


# Each model built here is given every field, so its set of fields set is all of them: a
# copy of the class's (copying a set costs a quarter of building one from the dict's keys).
_ALL_FIELDS: dict[type[BaseModel], set[str]] = {
    cls: set(cls.model_fields)
    for cls in (Account, Fill, Instrument, OrderSnapshot, OrderUpdate, Position, Quote,
                TickBand)}


def _built(cls: type[_M], values: dict[str, Any]) -> _M:
    """A ``cls`` holding ``values`` (every field, already of its type), not validated.

    What ``cls.model_construct(**values)`` makes, at a third of the cost.
    """
    model = _new(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", _ALL_FIELDS[cls].copy())
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def instrument(spec: SymbolSpec) -> Instrument:
    return _built(Instrument, {
        "symbol": spec.symbol, "tick_size": spec.tick_size, "lot_size": spec.lot_size,
        "min_quantity": spec.min_quantity, "min_notional": spec.min_notional,
        "fractional": spec.fractional, "currency": spec.currency,
        "tick_table": tuple(_built(TickBand, {"floor": floor, "tick": tick})
                            for floor, tick in spec.tick_table),
        "tradable": spec.tradable, "base_currency": spec.base_currency})


def quote(book: Book, at: datetime) -> Quote:
    return _built(Quote, {"symbol": book.spec.symbol, "bid": book.bid, "ask": book.ask,
                          "bid_size": book.bid_left, "ask_size": book.ask_left, "at": at})


def snapshot(view: OrderView) -> OrderSnapshot:
    return _built(OrderSnapshot, {
        "venue_order_id": view.venue_order_id, "client_order_id": view.client_order_id,
        "symbol": view.symbol, "side": view.side, "order_type": view.order_type,
        "state": view.state, "quantity": view.quantity, "notional": None,
        "limit_price": view.limit_price, "filled_quantity": view.filled_quantity,
        "average_price": view.average_price, "stop_price": view.stop_price,
        "created_at": view.created_at, "updated_at": view.updated_at, "reason": view.reason,
        "replaces": view.replaces})


def fill(record: SimFill) -> Fill:
    return _built(Fill, {
        "trade_id": record.trade_id, "symbol": record.symbol, "side": record.side,
        "quantity": record.quantity, "price": record.price, "fee": record.fee,
        "fee_currency": record.currency, "at": record.at,
        "venue_order_id": record.venue_order_id, "client_order_id": record.client_order_id,
        "inferred": False})


def update(event: SimEvent, order: OrderSnapshot | None = None) -> OrderUpdate:
    """The stream message for ``event``; ``order`` is ``event.order`` converted, if the
    caller already has it (models are frozen, so the message and an answer can share it)."""
    record = event.fill
    return _built(OrderUpdate, {"order": snapshot(event.order) if order is None else order,
                                "fill": None if record is None else fill(record),
                                "at": event.at})


def account(sim: Simulator) -> Account:
    books = sim.market.books
    positions = []
    for symbol, holding in sim.account.positions.items():
        if not holding.quantity:
            continue
        book = books[symbol]
        mid = (book.bid + book.ask) / 2
        positions.append(_built(Position, {
            "symbol": symbol, "quantity": holding.quantity,
            "average_price": holding.average_price, "market_value": holding.quantity * mid}))
    return _built(Account, {"currency": sim.account.currency, "cash": sim.account.cash,
                            "buying_power": sim.account.buying_power,
                            "positions": tuple(positions)})
