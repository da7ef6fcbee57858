"""Triggers: when a stop, a stop-limit or a trailing stop fires.

One set of rules for every venue whose stops the engine emulates (:mod:`venuekit.held`);
the mock's native stops follow the same rules, so a strategy sees the same behaviour on
both:

* a **buy stop** fires when the ask reaches its stop price (``ask >= stop``), a **sell
  stop** when the bid falls to it (``bid <= stop``): the touch the released order will
  trade against is compared, since a quote is what every venue gives;
* a **trailing stop** keeps a *mark*: for a sell, the highest bid seen since it was armed;
  for a buy, the lowest ask. Its stop lies ``trail_amount`` below the mark (above, for a
  buy), or ``trail_percent`` percent of the mark; it fires like a stop at that price;
* a side of the quote that is empty (a price of 0) fires nothing and moves no mark;
* a stop whose trigger is already crossed when it is submitted (a buy stop at or below
  the ask, a sell stop at or above the bid) is **refused** with STOP_CROSSED, with
  nothing journaled or sent: it would fire at once, which is a market or limit order,
  and a stop placed on the wrong side of the market is more often a typo than an intent.
"""

from __future__ import annotations

from decimal import Decimal

from .errors import Code, error
from .lifecycle import EventKind
from .model import Order, OrderRequest, OrderType, Quote, Side

__all__ = ["advance_mark", "fires", "recorded_mark", "refuse_crossed", "stop_level"]

_HUNDRED = Decimal(100)
_MARK = EventKind.MARK.value


def stop_level(request: OrderRequest, mark: Decimal | None) -> Decimal | None:
    """The price at which ``request`` fires: its stop price, or for a trailing stop the
    mark moved by the trail (None until a mark is known)."""
    if request.order_type is not OrderType.TRAILING_STOP:
        return request.stop_price
    if mark is None:
        return None
    if request.trail_amount is not None:
        trail = request.trail_amount
    else:
        assert request.trail_percent is not None
        trail = mark * request.trail_percent / _HUNDRED
    return mark - trail if request.side is Side.SELL else mark + trail


def fires(side: Side, stop: Decimal, quote: Quote) -> bool:
    """True when ``quote`` reaches a ``side`` stop at ``stop``."""
    if side is Side.BUY:
        return quote.ask > 0 and quote.ask >= stop
    return quote.bid > 0 and quote.bid <= stop


def advance_mark(side: Side, mark: Decimal | None, quote: Quote) -> Decimal | None:
    """The trailing stop's new mark if ``quote`` improves on ``mark``, else None."""
    if side is Side.SELL:
        price = quote.bid
        better = price > 0 and (mark is None or price > mark)
    else:
        price = quote.ask
        better = price > 0 and (mark is None or price < mark)
    return price if better else None


def refuse_crossed(request: OrderRequest, quote: Quote) -> None:
    """Raise STOP_CROSSED when ``request``'s stop would fire on ``quote`` at once."""
    stop = request.stop_price
    if stop is None or request.order_type is OrderType.TRAILING_STOP:
        return
    if not fires(request.side, stop, quote):
        return
    if request.side is Side.BUY:
        where = f"at or below the ask {quote.ask}"
        fix = "place it above the ask"
    else:
        where = f"at or above the bid {quote.bid}"
        fix = "place it below the bid"
    raise error(Code.STOP_CROSSED,
                f"{request.symbol}: a {request.side} stop at {stop} is {where} and would fire "
                f"at once; {fix}, or send a market or limit order to trade now")


def recorded_mark(order: Order) -> Decimal | None:
    """The last mark a held trailing stop recorded in its history (None before the first)."""
    for event in reversed(order.history):
        if event.kind == _MARK and event.data and "mark" in event.data:
            return Decimal(event.data["mark"])
    return None
