"""The conformance kit's market-control handle for the Alpaca emulator.

:class:`AlpacaMarketControl` implements :class:`venuekit.testing.MarketControl` over an
:class:`~venuekit_alpaca.emulator.AlpacaEmulator`'s ``control``: quotes, steps and cash go
to the emulator's simulator, faults are scripted on the next create the emulator receives,
and the ledger of truth is read with Alpaca's ids, with each execution named as
:class:`~venuekit_alpaca.venue.AlpacaVenue` names it (order id and cumulative quantity).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from venuekit.model import OrderType, Side
from venuekit.testing.control import FaultKind, LedgerFill, LedgerOrder

from .convert import trade_id

__all__ = ["AlpacaMarketControl"]


class AlpacaMarketControl:
    """The kit's handle on one running Alpaca emulator."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.control = emulator.control

    async def set_quote(self, symbol: str, bid: Decimal, ask: Decimal,
                        bid_size: Decimal, ask_size: Decimal) -> None:
        self.control.set_quote(symbol, bid, ask, bid_size, ask_size)

    async def advance(self, steps: int = 1) -> None:
        self.control.advance(steps)

    async def set_cash(self, amount: Decimal) -> None:
        self.control.set_cash(amount)

    async def inject(self, fault: FaultKind) -> None:
        # Scripted faults strike the create with this index (stream faults: that order's
        # first eligible event), so arming the next index strikes exactly once.
        self.control.script_fault(fault.value, self.emulator.venue.simulator.next_order_index)

    async def fail_authentication(self, enabled: bool = True) -> None:
        self.control.fail_authentication(enabled)

    async def disconnect_stream(self) -> None:
        self.control.disconnect_stream()

    async def clear_faults(self) -> None:
        self.control.clear_faults()

    async def orders(self) -> Sequence[LedgerOrder]:
        return [LedgerOrder(venue_order_id=o["id"], client_order_id=o["client_order_id"],
                            symbol=o["symbol"], side=Side(o["side"]),
                            order_type=OrderType(o["type"]), quantity=Decimal(o["qty"]),
                            limit_price=_amount(o["limit_price"]), replaces=o["replaces"])
                for o in self.control.orders()]

    async def fills(self) -> Sequence[LedgerFill]:
        filled: dict[str, Decimal] = {}
        out = []
        for f in self.control.fills():
            quantity = Decimal(f["qty"])
            cumulative = filled[f["order_id"]] = filled.get(f["order_id"], Decimal(0)) + quantity
            out.append(LedgerFill(trade_id=trade_id(f["order_id"], cumulative),
                                  venue_order_id=f["order_id"], symbol=f["symbol"],
                                  side=Side(f["side"]), quantity=quantity,
                                  price=Decimal(f["price"])))
        return out


def _amount(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
