"""The conformance kit's market-control handle for the Binance emulator.

:class:`BinanceMarketControl` implements :class:`venuekit.testing.MarketControl` over a
:class:`~venuekit_ccxt.emulator.BinanceEmulator`'s ``control``: quotes, steps and cash go
to the emulator's simulator (symbols by Binance's id, ``BTCUSDT`` for ``BTC/USDT``), faults
are scripted on the next create the emulator receives, and the ledger of truth is read with
the ids :class:`~venuekit_ccxt.venue.BinanceVenue` gives orders (``BTCUSDT:28``) and trades
(Binance's trade id).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from venuekit.model import OrderType, Side
from venuekit.testing.control import FaultKind, LedgerFill, LedgerOrder

from .convert import order_id

__all__ = ["BinanceMarketControl", "binance_symbol"]


def binance_symbol(symbol: str) -> str:
    """Binance's id of a unified symbol: ``BTCUSDT`` for ``BTC/USDT``."""
    return symbol.replace("/", "")


class BinanceMarketControl:
    """The kit's handle on one running Binance emulator."""

    def __init__(self, emulator: Any, symbols: Sequence[str] = ("BTC/USDT",)) -> None:
        self.emulator = emulator
        self.control = emulator.control
        self._unified = {binance_symbol(s): s for s in symbols}

    def _symbol(self, market_id: str) -> str:
        return self._unified.get(market_id, market_id)

    async def set_quote(self, symbol: str, bid: Decimal, ask: Decimal,
                        bid_size: Decimal, ask_size: Decimal) -> None:
        self.control.set_quote(binance_symbol(symbol), bid, ask, bid_size, ask_size)

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
        out = []
        for o in self.control.orders():
            market = str(o["symbol"])
            replaces = o.get("replaces")
            out.append(LedgerOrder(
                venue_order_id=order_id(market, o["orderId"]),
                client_order_id=o.get("clientOrderId"), symbol=self._symbol(market),
                side=Side(str(o["side"]).lower()),
                order_type=OrderType.MARKET if o["type"] == "MARKET" else OrderType.LIMIT,
                quantity=Decimal(o["origQty"]) if o.get("origQty") else Decimal(0),
                limit_price=_amount(o.get("price")),
                replaces=order_id(market, replaces) if replaces is not None else None))
        return out

    async def fills(self) -> Sequence[LedgerFill]:
        return [LedgerFill(trade_id=str(f["tradeId"]),
                           venue_order_id=order_id(str(f["symbol"]), f["orderId"]),
                           symbol=self._symbol(str(f["symbol"])),
                           side=Side(str(f["side"]).lower()), quantity=Decimal(f["qty"]),
                           price=Decimal(f["price"]))
                for f in self.control.fills()]


def _amount(text: Any) -> Decimal | None:
    if text is None or text == "":
        return None
    value = Decimal(str(text))
    return value if value else None
