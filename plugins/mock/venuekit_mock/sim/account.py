"""The simulated account: cash, reservations for working orders, positions.

Buying power is cash minus what working buy orders reserve. A sell order reserves the
quantity it may sell, so two working sells cannot sell the same shares twice. Fills move
cash by the notional and the fee; a position's average price follows the usual rule (it
changes when the position grows, stays when it shrinks, restarts when it flips sides).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from venuekit.model import Side

__all__ = ["Holding", "SimAccount"]

ZERO = Decimal(0)
# Enum members are slow to look up on Python 3.11 (see engine.py): an alias for hot paths.
_BUY = Side.BUY


@dataclass(slots=True)
class Holding:
    quantity: Decimal = ZERO
    average_price: Decimal = ZERO


class SimAccount:
    """Cash, reservations and positions in one currency."""

    def __init__(self, cash: Decimal, currency: str) -> None:
        self.cash = cash
        self.currency = currency
        self.reserved_cash = ZERO
        self.reserved_quantity: dict[str, Decimal] = {}
        self.positions: dict[str, Holding] = {}
        self.traded_notional = ZERO

    @property
    def buying_power(self) -> Decimal:
        return self.cash - self.reserved_cash

    def position(self, symbol: str) -> Decimal:
        holding = self.positions.get(symbol)
        return holding.quantity if holding is not None else ZERO

    def sellable(self, symbol: str) -> Decimal:
        """What a new sell may take without going short."""
        holding = self.positions.get(symbol)  # position(), inlined: one call per sell order
        held = holding.quantity if holding is not None else ZERO
        return held - self.reserved_quantity.get(symbol, ZERO)

    def reserve(self, symbol: str, cash: Decimal, quantity: Decimal) -> None:
        """Add (or, with negative amounts, release) reservations."""
        if cash:
            self.reserved_cash += cash
        if quantity:
            self.reserved_quantity[symbol] = self.reserved_quantity.get(symbol, ZERO) + quantity

    def apply_fill(self, symbol: str, side: Side, quantity: Decimal, price: Decimal,
                   notional: Decimal, fee: Decimal) -> None:
        """Book one execution of ``quantity`` at ``price`` (``notional`` is their product)."""
        self.traded_notional += notional
        holding = self.positions.get(symbol)
        if holding is None:
            holding = self.positions[symbol] = Holding()
        before = holding.quantity
        if side is _BUY:
            self.cash -= notional + fee
            after = before + quantity
            if before >= 0:  # opening or adding to a long
                holding.average_price = (price if not before else
                                         (before * holding.average_price + notional) / after)
            elif after > 0:  # flipped from short to long
                holding.average_price = price
        else:
            self.cash += notional - fee
            after = before - quantity
            if before <= 0:  # opening or adding to a short
                holding.average_price = (price if not before else
                                         (before * holding.average_price - notional) / after)
            elif after < 0:  # flipped from long to short
                holding.average_price = price
        holding.quantity = after
        if not after:
            holding.average_price = ZERO

    def set_position(self, symbol: str, quantity: Decimal, average_price: Decimal) -> None:
        self.positions[symbol] = Holding(quantity, average_price if quantity else ZERO)
