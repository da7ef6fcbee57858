"""Quantization: make a request satisfy an instrument's tick, lot and minimum rules.

Quantities round down to the lot step (never buy more than asked). Prices round to the
tick that applies at that price (price bands included); a passive price rounds away from
the market (a buy down, a sell up) so it never crosses by accident, and an aggressive one
rounds towards it so it stays marketable. An order that rounds to zero, or falls below the
instrument's minimum quantity or notional, is rejected with the reason; never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from .decimals import plain, plain_quantity
from .errors import Code, error
from .model import Instrument, OrderRequest, OrderType, Side

__all__ = ["Rounding", "check_minimums", "floor_to_lot", "quantize_request", "round_price",
           "round_quantity", "roundings"]

_PRICED = (OrderType.LIMIT, OrderType.STOP_LIMIT)


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_FLOOR) * step


def _ceil(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_CEILING) * step


def floor_to_lot(instrument: Instrument, quantity: Decimal) -> Decimal:
    """``quantity`` rounded down to the lot step; 0 (not an error) when less than a lot."""
    return max(_floor(quantity, instrument.lot_size), Decimal(0))


def round_quantity(instrument: Instrument, quantity: Decimal) -> Decimal:
    """``quantity`` rounded down to the lot step; raises ROUNDS_TO_ZERO when nothing is left."""
    rounded = _floor(quantity, instrument.lot_size)
    if rounded <= 0:
        raise error(Code.ROUNDS_TO_ZERO,
                    f"{instrument.symbol}: quantity {quantity} rounds down to 0 with lot size "
                    f"{instrument.lot_size}")
    return rounded


def round_price(instrument: Instrument, price: Decimal, side: Side, *,
                passive: bool = True) -> Decimal:
    """``price`` on the instrument's tick grid, rounded away from (passive) or towards the market.

    With a price-band table the tick is the one that applies at the rounded price; rounding
    up across a band floor lands on the floor, which is on both grids.
    """
    if price <= 0:
        raise error(Code.INVALID_PRICE, f"{instrument.symbol}: price {price} is not positive")
    down = (side is Side.BUY) == passive
    tick = instrument.tick_at(price)
    rounded = _floor(price, tick) if down else _ceil(price, tick)
    if rounded <= 0:
        rounded = tick
    return rounded


def check_minimums(instrument: Instrument, quantity: Decimal, price: Decimal | None) -> None:
    """Raise when ``quantity`` (at ``price``) is below the instrument's minimums."""
    if quantity < instrument.min_quantity:
        raise error(Code.BELOW_MIN_QUANTITY,
                    f"{instrument.symbol}: quantity {quantity} is below the minimum "
                    f"{instrument.min_quantity}")
    if price is not None and instrument.min_notional and quantity * price < instrument.min_notional:
        raise error(Code.BELOW_MIN_NOTIONAL,
                    f"{instrument.symbol}: notional {quantity * price} is below the minimum "
                    f"{instrument.min_notional}")


def quantize_request(instrument: Instrument, request: OrderRequest, *,
                     reference_price: Decimal | None = None,
                     passive: bool = True) -> OrderRequest:
    """A copy of ``request`` that satisfies ``instrument``'s rules, or a validation error.

    ``reference_price`` (the touch, for a market order) is used for the minimum-notional
    check when the request has no limit price. Notional requests keep their notional.
    """
    if request.symbol != instrument.symbol:
        raise error(Code.INVALID_ORDER,
                    f"request for {request.symbol} checked against {instrument.symbol}")
    limit = request.limit_price
    if request.order_type in _PRICED and limit is not None:
        limit = round_price(instrument, limit, request.side, passive=passive)
    stop = request.stop_price
    if stop is not None:
        # Towards the market (down for a buy stop above it, up for a sell stop below it):
        # a stop off the grid never fires later than asked.
        stop = round_price(instrument, stop, request.side, passive=True)
    quantity = request.quantity
    if quantity is not None:
        quantity = round_quantity(instrument, quantity)
        price = limit if limit is not None else stop if stop is not None else reference_price
        check_minimums(instrument, quantity, price)
    if quantity == request.quantity and limit == request.limit_price \
            and stop == request.stop_price:
        return request
    update: dict[str, object] = {"quantity": quantity, "limit_price": limit}
    if request.trigger is not None and stop != request.stop_price:
        update["trigger"] = request.trigger.model_copy(update={"stop_price": stop})
    return request.model_copy(update=update)


_LABELS = {"quantity": "quantity", "limit_price": "limit", "stop_price": "stop"}


@dataclass(frozen=True, slots=True)
class Rounding:
    """One value of a request that quantization changed: ``field`` (``quantity``,
    ``limit_price``, ``stop_price``) went from ``given`` to ``sent`` on a grid of ``step``
    (the lot size for a quantity, the tick at that price for a price)."""

    field: str
    given: Decimal
    sent: Decimal
    step: Decimal

    @property
    def grid(self) -> str:
        return "lot" if self.field == "quantity" else "tick"

    def describe(self) -> str:
        """``limit 190.001 rounded to 190.00 (tick 0.01)``."""
        text = plain_quantity if self.field == "quantity" else plain
        return (f"{_LABELS.get(self.field, self.field)} {text(self.given)} rounded to "
                f"{text(self.sent)} ({self.grid} {plain(self.step)})")

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "given": self.given, "sent": self.sent,
                "step": self.step, "grid": self.grid, "message": self.describe()}


def roundings(instrument: Instrument, given: OrderRequest, sent: OrderRequest
              ) -> list[Rounding]:
    """What :func:`quantize_request` changed from ``given`` to ``sent`` (empty when the
    request was already on the instrument's grids)."""
    found: list[Rounding] = []
    for name in ("quantity", "limit_price", "stop_price"):
        before, after = getattr(given, name), getattr(sent, name)
        if before is None or after is None or before == after:
            continue
        step = instrument.lot_size if name == "quantity" else instrument.tick_at(after)
        found.append(Rounding(name, before, after, step))
    return found
