"""The conformance kit's market-control handle for the KIS emulator.

:class:`KisMarketControl` implements :class:`venuekit.testing.MarketControl` over a
:class:`~venuekit_kis.emulator.KisEmulator`'s ``control``: quotes, steps and cash go to the
emulator's simulator, faults are scripted on the next order the emulator receives, and the
ledger of truth is read with the ids :class:`~venuekit_kis.venue.KisVenue` gives orders
(``<date>-<branch>-<number>``) and executions (see :func:`venuekit_kis.stream.trade_id`).
Cancels are orders of their own at KIS; the ledger lists only the orders they cancel.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from venuekit.model import OrderType, Side
from venuekit.testing.control import FaultKind, LedgerFill, LedgerOrder

from .convert import order_id
from .stream import trade_id

__all__ = ["KisMarketControl", "ledger_fills", "ledger_orders"]


class KisMarketControl:
    """The kit's handle on one running KIS emulator."""

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
        # Scripted faults strike the order with this index (stream faults: that order's
        # first eligible event), so arming the next index strikes exactly once.
        self.control.script_fault(fault.value, self.emulator.venue.simulator.next_order_index)

    async def fail_authentication(self, enabled: bool = True) -> None:
        self.control.fail_authentication(enabled)

    async def disconnect_stream(self) -> None:
        self.control.disconnect_stream()

    async def clear_faults(self) -> None:
        self.control.clear_faults()

    async def orders(self) -> Sequence[LedgerOrder]:
        return ledger_orders(self.control.orders())

    async def fills(self) -> Sequence[LedgerFill]:
        return ledger_fills(self.control.fills())


def ledger_orders(rows: Iterable[Mapping[str, Any]]) -> list[LedgerOrder]:
    """The emulator's order rows (``control.orders()``) as the kit's ledger, cancels left
    out."""
    return [LedgerOrder(
        venue_order_id=order_id(str(o["ord_dt"]), str(o["branch"]), str(o["odno"])),
        client_order_id=None, symbol=str(o["symbol"]), side=Side(str(o["side"])),
        order_type=OrderType.MARKET if o["ord_dvsn"] == "01" else OrderType.LIMIT,
        quantity=Decimal(str(o["quantity"])),
        limit_price=None if o["ord_dvsn"] == "01" else Decimal(str(o["price"])))
        for o in rows if o["kind"] == "new"]


def ledger_fills(rows: Iterable[Mapping[str, Any]]) -> list[LedgerFill]:
    """The emulator's executions (``control.fills()``) with the trade ids the notice
    stream gives them. A second execution identical to an earlier one (order, second,
    quantity, price), which the stream takes for a repeated notice, gets ``-2`` (``-3``,
    ...) after its id: one the journal never holds, whose quantity stands as inferred."""
    seen: Counter[str] = Counter()
    found = []
    for f in rows:
        vid = order_id(str(f["ord_dt"]), str(f["branch"]), str(f["odno"]))
        quantity, price = Decimal(str(f["quantity"])), Decimal(str(f["price"]))
        base = trade_id(vid, str(f["time"]), quantity, price)
        seen[base] += 1
        found.append(LedgerFill(
            trade_id=base if seen[base] == 1 else f"{base}-{seen[base]}",
            venue_order_id=vid, symbol=str(f["symbol"]), side=Side(str(f["side"])),
            quantity=quantity, price=price))
    return found
