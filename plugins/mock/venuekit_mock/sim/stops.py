"""One symbol's armed stop orders: stops and stop-limits by trigger price, trailing stops.

A buy stop fires when the ask reaches its stop price (ask >= stop), a sell stop when the bid
falls to it (bid <= stop). Fixed triggers sit on price levels per side (the prices in a
sorted list), so a new quote finds the stops it fires without looking at the others, as
:mod:`.resting` does for limit orders. A trailing stop's trigger moves with the market, so
trailing stops are kept apart and each one's mark is brought up to date on every quote:
a sell's mark is the highest bid since it was accepted, a buy's the lowest ask; its stop
is the mark less the trail for a sell (plus for a buy), the trail being an amount or a
percentage of the mark.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from decimal import Decimal

from venuekit.model import Side

from .records import SimOrder

__all__ = ["ArmedStops", "trailing_stop"]

_BUY = Side.BUY
_HUNDRED = Decimal(100)


def trailing_stop(side: Side, mark: Decimal, amount: Decimal | None,
                  percent: Decimal | None) -> Decimal:
    """The stop price of a trailing stop at ``mark``: ``mark - trail`` for a sell, ``mark +
    trail`` for a buy, the trail being ``amount`` or ``percent`` of the mark (exact)."""
    trail = amount if amount is not None else mark * (percent or Decimal(0)) / _HUNDRED
    return mark + trail if side is _BUY else mark - trail


class ArmedStops:
    """Stop orders of one symbol waiting for their trigger."""

    def __init__(self) -> None:
        self._buy_levels: dict[Decimal, dict[str, SimOrder]] = {}
        self._sell_levels: dict[Decimal, dict[str, SimOrder]] = {}
        self._buy_prices: list[Decimal] = []
        self._sell_prices: list[Decimal] = []
        self.trailing: dict[str, SimOrder] = {}

    def __len__(self) -> int:
        return (sum(len(level) for level in self._buy_levels.values())
                + sum(len(level) for level in self._sell_levels.values())
                + len(self.trailing))

    def __bool__(self) -> bool:
        return bool(self._buy_prices or self._sell_prices or self.trailing)

    def _side(self, side: Side) -> tuple[dict[Decimal, dict[str, SimOrder]], list[Decimal]]:
        if side is _BUY:
            return self._buy_levels, self._buy_prices
        return self._sell_levels, self._sell_prices

    def add(self, order: SimOrder) -> None:
        if order.mark is not None:
            self.trailing[order.venue_order_id] = order
            return
        price = order.stop_price
        assert price is not None  # a fixed stop always has its price
        levels, prices = self._side(order.side)
        level = levels.get(price)
        if level is None:
            level = levels[price] = {}
            insort(prices, price)
        level[order.venue_order_id] = order

    def remove(self, order: SimOrder) -> None:
        if order.mark is not None:
            del self.trailing[order.venue_order_id]
            return
        price = order.stop_price
        assert price is not None
        levels, prices = self._side(order.side)
        level = levels[price]
        del level[order.venue_order_id]
        if not level:
            del levels[price]
            del prices[bisect_left(prices, price)]

    def fired(self, bid: Decimal, ask: Decimal) -> list[SimOrder]:
        """Every stop this quote fires, in acceptance order, after moving trailing marks.

        The orders stay armed here: the engine removes each as it releases it.
        """
        out: list[SimOrder] = []
        prices = self._buy_prices
        for price in prices[:bisect_right(prices, ask)]:
            out.extend(self._buy_levels[price].values())
        prices = self._sell_prices
        for price in prices[bisect_left(prices, bid):]:
            out.extend(self._sell_levels[price].values())
        for order in self.trailing.values():
            mark = order.mark
            assert mark is not None
            if order.side is _BUY:
                if ask < mark:
                    order.mark = mark = ask
                stop = trailing_stop(_BUY, mark, order.trail_amount, order.trail_percent)
                order.stop_price = stop
                if ask >= stop:
                    out.append(order)
            else:
                if bid > mark:
                    order.mark = mark = bid
                stop = trailing_stop(order.side, mark, order.trail_amount,
                                     order.trail_percent)
                order.stop_price = stop
                if bid <= stop:
                    out.append(order)
        if len(out) > 1:
            out.sort(key=lambda o: o.venue_order_id)
        return out
