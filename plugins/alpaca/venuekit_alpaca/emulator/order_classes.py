"""Order classes: ``bracket``, ``oco`` and ``oto`` orders and their ``take_profit`` /
``stop_loss`` legs, as Alpaca takes and shows them.

* ``bracket``: a market or limit entry with both exits; ``oto``: an entry with one of them;
  the exits are held until the entry fills and then work for what it filled.
  ``oco``: a limit take-profit (``take_profit.limit_price``) and a stop-loss that work at
  once, for a position already held. In every class the first fill of one exit, even a
  partial one, cancels the other, and cancelling one cancels the other.
* A bracket's exits must lie a tick beyond the base price (the entry's limit, or for a
  market entry the ask for a buy and the bid for a sell): Alpaca's 422 ``42210000``
  ``take_profit.limit_price must be >= base_price + 0.01`` and its siblings.
* An order shows its class; its ``legs`` are the child orders (a bracket's take-profit
  then stop-loss, an oco's stop-loss) in the create answer and with ``nested=true``.
  A leg is ``held`` until it works; a stop-loss leg stays ``held`` until its trigger fires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from venuekit.model import OrderType, Side, TimeInForce
from venuekit_mock.sim import Book, OrderView

from . import errors
from .jsonio import body_decimal

__all__ = ["ClassTerms", "check_base_price", "order_class", "parse_terms"]

CLASSES = ("simple", "bracket", "oco", "oto")
_ENTRY_TIFS = (TimeInForce.DAY, TimeInForce.GTC)


@dataclass(frozen=True, slots=True)
class ClassTerms:
    """What a create body asks beyond a simple order."""

    order_class: str
    take_profit: Decimal | None
    stop_loss: Decimal | None
    stop_loss_limit: Decimal | None


def _leg_price(body: Mapping[str, Any], leg: str, key: str) -> Decimal | None:
    terms = body.get(leg)
    if terms is None:
        return None
    if not isinstance(terms, Mapping):
        raise errors.invalid(f"{leg} must be an object")
    number = body_decimal(terms, key, label=f"{leg}.{key}")
    if number is not None and number <= 0:
        raise errors.invalid(f"invalid {leg}.{key} {terms.get(key)!r}")
    return number


def parse_terms(body: Mapping[str, Any], order_type: OrderType, tif: TimeInForce,
                fractional: bool) -> ClassTerms | None:
    """The class terms of a create body, None for a simple order, or Alpaca's 422."""
    order_class = str(body.get("order_class") or "simple").lower()
    if order_class not in CLASSES:
        raise errors.invalid(f"invalid order_class {body.get('order_class')!r}")
    if order_class == "simple":
        for leg in ("take_profit", "stop_loss"):
            if body.get(leg) is not None:
                raise errors.invalid(f"{leg} is only allowed for bracket, oco or oto orders")
        return None
    if fractional:
        raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                    "fractional orders must be simple orders")
    if tif not in _ENTRY_TIFS:
        raise errors.invalid(f"{order_class} orders must be day or gtc orders")
    take_profit = _leg_price(body, "take_profit", "limit_price")
    stop_loss = _leg_price(body, "stop_loss", "stop_price")
    stop_loss_limit = _leg_price(body, "stop_loss", "limit_price")
    if body.get("stop_loss") is not None and stop_loss is None:
        raise errors.invalid("stop_loss.stop_price is required")
    if body.get("take_profit") is not None and take_profit is None:
        raise errors.invalid("take_profit.limit_price is required")
    if order_class == "oco":
        if order_type is not OrderType.LIMIT:
            raise errors.invalid("oco orders must be limit orders")
        if take_profit is None or stop_loss is None:
            raise errors.invalid("oco orders require take_profit and stop_loss")
    else:
        if order_type not in (OrderType.MARKET, OrderType.LIMIT):
            raise errors.invalid(f"{order_class} orders must be market or limit orders")
        if order_class == "bracket" and (take_profit is None or stop_loss is None):
            raise errors.invalid("bracket orders require take_profit and stop_loss")
        if order_class == "oto" and (take_profit is None) == (stop_loss is None):
            raise errors.invalid("oto orders require exactly one of take_profit or "
                                 "stop_loss")
    return ClassTerms(order_class, take_profit, stop_loss, stop_loss_limit)


def check_base_price(book: Book, side: Side, limit_price: Decimal | None,
                     terms: ClassTerms) -> None:
    """An entry's exits must lie a tick beyond its base price, on their own side."""
    if terms.order_class == "oco":
        return
    base = limit_price if limit_price is not None else book.touch(side)
    tick = book.spec.tick_at(base)
    buy = side is Side.BUY
    tp, sl = terms.take_profit, terms.stop_loss
    if tp is not None and (tp < base + tick if buy else tp > base - tick):
        bound = f">= base_price + {tick}" if buy else f"<= base_price - {tick}"
        raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                    f"take_profit.limit_price must be {bound}")
    if sl is not None and (sl > base - tick if buy else sl < base + tick):
        bound = f"<= base_price - {tick}" if buy else f">= base_price + {tick}"
        raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                    f"stop_loss.stop_price must be {bound}")


def order_class(view: OrderView, root: OrderView) -> str:
    """The class of ``view``, whose root order (itself, or its parent) is ``root``."""
    if not root.legs:
        return "simple"
    if root.oco is not None:
        return "oco"
    return "bracket" if len(root.legs) == 2 else "oto"
