"""One symbol's working orders, kept in price-time priority for matching.

Limit orders sit on price levels (a FIFO per price, the prices in a sorted list), so a new
quote finds the orders it crosses without looking at the others: matching costs what it
fills, not what rests. Market orders whose remainder is still working wait in their own
FIFO and match first.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from decimal import Decimal

from venuekit.model import Side

from .records import SimOrder

__all__ = ["RestingOrders"]

# Enum members are slow to look up on Python 3.11 (see engine.py): an alias for hot paths.
_BUY = Side.BUY


class RestingOrders:
    """Working orders of one symbol: market remainders, bids and asks by price level."""

    def __init__(self) -> None:
        self.market: dict[str, SimOrder] = {}
        # Per side: price -> orders at that price in arrival order, and the sorted prices.
        # (Two attributes per side rather than dicts keyed by Side: an enum hash is a
        # Python call, and this is the hot path.)
        self._bid_levels: dict[Decimal, dict[str, SimOrder]] = {}
        self._ask_levels: dict[Decimal, dict[str, SimOrder]] = {}
        self._bid_prices: list[Decimal] = []
        self._ask_prices: list[Decimal] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, order: SimOrder) -> None:
        self._count += 1
        price = order.limit_price
        if price is None:
            self.market[order.venue_order_id] = order
            return
        if order.side is _BUY:
            levels, prices = self._bid_levels, self._bid_prices
        else:
            levels, prices = self._ask_levels, self._ask_prices
        level = levels.get(price)
        if level is None:
            level = levels[price] = {}
            insort(prices, price)
        level[order.venue_order_id] = order

    def remove(self, order: SimOrder) -> None:
        self._count -= 1
        price = order.limit_price
        if price is None:
            del self.market[order.venue_order_id]
            return
        if order.side is _BUY:
            levels, prices = self._bid_levels, self._bid_prices
        else:
            levels, prices = self._ask_levels, self._ask_prices
        level = levels[price]
        del level[order.venue_order_id]
        if not level:
            del levels[price]
            del prices[bisect_left(prices, price)]

    def best_bid(self) -> Decimal | None:
        return self._bid_prices[-1] if self._bid_prices else None

    def best_ask(self) -> Decimal | None:
        return self._ask_prices[0] if self._ask_prices else None

    def crossed(self, side: Side, touch: Decimal) -> Iterator[tuple[Decimal, SimOrder]]:
        """Limit orders of ``side`` that ``touch`` crosses, with their price, best price
        first and FIFO within a price.

        The caller may fill (and so remove) orders while iterating: each level is copied
        before it is walked.
        """
        if side is _BUY:
            levels, prices = self._bid_levels, self._bid_prices
            walk = prices[bisect_left(prices, touch):][::-1]
        else:
            levels, prices = self._ask_levels, self._ask_prices
            walk = prices[:bisect_right(prices, touch)]
        for price in walk:
            level = levels.get(price)
            if level:
                for order in list(level.values()):
                    yield price, order
