"""The conformance kit's market-control handle for the mock venue.

:class:`MockMarketControl` implements :class:`venuekit.testing.MarketControl` over a
:class:`~venuekit_mock.venue.MockVenue`'s control surface (``venue.control``): quotes and
steps go to the simulator, faults are scripted on the next create's order index, and the
ledger of truth is read in the kit's normalized form. Emulators of real venues that serve
the same simulator can follow this file line by line.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from venuekit.testing.control import FaultKind, LedgerFill, LedgerOrder

from .sim import Fault
from .venue import MockVenue

__all__ = ["MockMarketControl"]


class MockMarketControl:
    """The kit's handle on one :class:`MockVenue`."""

    def __init__(self, venue: MockVenue) -> None:
        self.venue = venue

    async def set_quote(self, symbol: str, bid: Decimal, ask: Decimal,
                        bid_size: Decimal, ask_size: Decimal) -> None:
        self.venue.control.set_quote(symbol, bid, ask, bid_size, ask_size)

    async def advance(self, steps: int = 1) -> None:
        self.venue.control.advance(steps)

    async def set_cash(self, amount: Decimal) -> None:
        self.venue.control.set_cash(amount)

    async def inject(self, fault: FaultKind) -> None:
        # Scripted faults strike the create with this index (stream faults: that order's
        # first eligible event), so arming the next index strikes exactly once.
        self.venue.control.script_fault(Fault(fault.value),
                                        self.venue.simulator.next_order_index)

    async def fail_authentication(self, enabled: bool = True) -> None:
        self.venue.control.fail_authentication(enabled)

    async def disconnect_stream(self) -> None:
        self.venue.control.disconnect_stream()

    async def clear_faults(self) -> None:
        self.venue.control.clear_faults()

    async def orders(self) -> Sequence[LedgerOrder]:
        return [LedgerOrder(venue_order_id=o.venue_order_id, client_order_id=o.client_order_id,
                            symbol=o.symbol, side=o.side, order_type=o.order_type,
                            quantity=o.quantity, limit_price=o.limit_price,
                            replaces=o.replaces)
                for o in self.venue.control.ledger.orders]

    async def fills(self) -> Sequence[LedgerFill]:
        return [LedgerFill(trade_id=f.trade_id, venue_order_id=f.venue_order_id,
                           symbol=f.symbol, side=f.side, quantity=f.quantity, price=f.price)
                for f in self.venue.control.ledger.fills]
