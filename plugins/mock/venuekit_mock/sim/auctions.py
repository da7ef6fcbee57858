"""Auction orders waiting for their auction: the session's opening or closing quote.

An auction order is a market or limit order that may trade only in one auction, at one
quote, and not on the book before it. The simulated market has no auction phase, so its
sessions supply the two moments:

* the **closing auction** is the session's close (every ``steps_per_session`` steps, or
  :meth:`~.engine.Simulator.end_session`), at the quote standing then, the session's last;
* the **opening auction** of the next session is each symbol's first quote after that
  close: the next market step, or a quote forced for that symbol before it.

At its auction an order trades once against that quote, as a taker (a buy at the ask, a
sell at the bid, for at most the displayed size, a limit order only if the quote reaches
its limit); whatever is left then expires. Until then it is working (it can be cancelled
and it reserves buying power or shares) but it is on no book, so no quote fills it.
"""

from __future__ import annotations

from .records import SimOrder

__all__ = ["AUCTIONS", "CLOSE", "OPEN", "WaitingAuctions"]

OPEN = "open"
CLOSE = "close"
AUCTIONS = (OPEN, CLOSE)


class WaitingAuctions:
    """The auction orders not yet executed, per auction, in acceptance order."""

    def __init__(self) -> None:
        self._waiting: dict[str, dict[str, SimOrder]] = {OPEN: {}, CLOSE: {}}

    def __len__(self) -> int:
        return sum(len(orders) for orders in self._waiting.values())

    def __bool__(self) -> bool:
        return any(self._waiting.values())

    def add(self, order: SimOrder) -> None:
        assert order.auction is not None  # only auction orders wait here
        self._waiting[order.auction][order.venue_order_id] = order

    def discard(self, order: SimOrder) -> None:
        if order.auction is not None:
            self._waiting[order.auction].pop(order.venue_order_id, None)

    def due(self, auction: str, symbol: str | None = None) -> list[SimOrder]:
        """The orders of ``auction`` (for ``symbol``, or for every symbol), oldest first.
        They stay here until the engine ends them."""
        return [order for order in self._waiting[auction].values()
                if symbol is None or order.symbol == symbol]
