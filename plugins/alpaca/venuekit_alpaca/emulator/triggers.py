"""The trigger fields of a create body: ``stop_price``, ``trail_price``, ``trail_percent``.

Alpaca takes a ``stop_price`` on stop and stop-limit orders, and exactly one of
``trail_price`` (an amount) and ``trail_percent`` on trailing stops; any of them on another
type, or a missing one, is refused with 422 ``40010001`` and a message naming the field, as
Alpaca answers. The simulator then decides whether the trigger is acceptable (on the tick
grid, not already crossed).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from venuekit.model import OrderType

from . import errors
from .jsonio import body_decimal

__all__ = ["Trigger", "trigger_fields"]


class Trigger(NamedTuple):
    """The venuekit request fields of a create body's trigger (all None for plain orders)."""

    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None

_STOPS = (OrderType.STOP, OrderType.STOP_LIMIT)


def _price(body: Mapping[str, Any], key: str) -> Decimal | None:
    number = body_decimal(body, key)
    if number is None:
        return None
    if number <= 0:
        raise errors.invalid(f"{key} must be > 0")
    return number


def trigger_fields(body: Mapping[str, Any], order_type: OrderType) -> Trigger:
    """The trigger of a create body of type ``order_type``, or the 422 Alpaca answers."""
    stop = _price(body, "stop_price")
    trail_price = _price(body, "trail_price")
    trail_percent = _price(body, "trail_percent")
    kind = order_type.value
    if order_type in _STOPS:
        if stop is None:
            raise errors.invalid(f"stop_price is required for {kind} orders")
        if trail_price is not None or trail_percent is not None:
            raise errors.invalid(f"{kind} orders must not have trail_price or trail_percent")
        return Trigger(stop_price=stop)
    if order_type is OrderType.TRAILING_STOP:
        if stop is not None:
            raise errors.invalid("trailing_stop orders must not have stop_price")
        if (trail_price is None) == (trail_percent is None):
            raise errors.invalid("exactly one of trail_price or trail_percent is required "
                                 "for trailing_stop orders")
        if trail_percent is not None and trail_percent >= 100:
            raise errors.invalid("trail_percent must be < 100")
        return Trigger(trail_amount=trail_price, trail_percent=trail_percent)
    for key, value in (("stop_price", stop), ("trail_price", trail_price),
                       ("trail_percent", trail_percent)):
        if value is not None:
            raise errors.invalid(f"{kind} orders must not have {key}")
    return Trigger()
