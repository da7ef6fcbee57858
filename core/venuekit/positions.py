"""Positions and P&L from the journal's fills, and how they compare with the venue's.

For each venue and symbol, the executions the journal holds are replayed in time order by
the **average-cost method**:

* a trade that opens or adds to a position adds its cost (price times quantity, plus its
  fee) to the cost basis; the average cost is the basis over the quantity held (for a short
  position, the proceeds less the fee, over the quantity owed);
* a trade that reduces or closes a position realizes the difference between its price and
  the average cost, times the quantity closed, less its fee; the average cost of what is
  left does not change; a trade larger than the position closes it and opens the other side
  with the rest, its fee shared in proportion.

Fees count where they were charged in the instrument's currency (the quote asset). A fee in
the **base** asset of a crypto pair (``Instrument.base_currency``) changes the quantity held
instead: a buy of 1 BTC with a fee of 0.001 BTC holds 0.999 BTC, at the cost of the whole
buy. A fee in **any other** asset (BNB, say) cannot be valued without a price: it is listed
under ``other_fees`` and left out of the P&L, which says so.

Unrealized P&L marks the quantity held at the quote's mid. Everything is in the
instrument's currency and Decimal. The venue's own positions are compared with these, and a
difference is flagged (holdings from before the journal, or trades made outside venuekit).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .fees import fee_cost
from .model import ZERO, Account, Fill, Instrument, Quote, Side

__all__ = ["PositionLine", "positions_from_fills", "reconcile_positions"]


@dataclass
class PositionLine:
    """One symbol at one venue: what the journal's fills hold and have earned."""

    venue: str
    symbol: str
    currency: str = "USD"
    quantity: Decimal = ZERO
    """Held (positive) or owed (negative)."""
    cost_basis: Decimal = ZERO
    """What the quantity held cost, fees included (for a short position: the proceeds)."""
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    """Fees paid in the instrument's currency (or valued in it: base-asset fees)."""
    other_fees: dict[str, Decimal] = field(default_factory=dict)
    """Fees in other assets, by asset: not in the P&L."""
    bought: Decimal = ZERO
    sold: Decimal = ZERO
    fills: int = 0
    mark: Decimal | None = None
    """The quote's mid the unrealized P&L is marked at (None without a quote)."""
    venue_quantity: Decimal | None = None
    """What the venue reports holding (None until compared)."""

    @property
    def average_cost(self) -> Decimal | None:
        if self.quantity == 0:
            return None
        return abs(self.cost_basis / self.quantity)

    @property
    def unrealized_pnl(self) -> Decimal | None:
        average = self.average_cost
        if self.mark is None or average is None:
            return ZERO if self.quantity == 0 else None
        return (self.mark - average) * self.quantity

    @property
    def market_value(self) -> Decimal | None:
        return None if self.mark is None else self.mark * self.quantity

    @property
    def difference(self) -> Decimal | None:
        """The venue's quantity less the journal's (None until compared)."""
        return None if self.venue_quantity is None else self.venue_quantity - self.quantity

    @property
    def note(self) -> str | None:
        notes = []
        difference = self.difference
        if difference:
            notes.append(f"the venue holds {self.venue_quantity}, {difference:+} against the "
                         "journal's fills (holdings from before the journal, or trades made "
                         "outside venuekit)")
        if self.other_fees:
            listed = ", ".join(f"{amount} {asset}" for asset, amount in self.other_fees.items())
            notes.append(f"fees in other assets ({listed}) are not in the P&L")
        return "; ".join(notes) or None

    def as_dict(self) -> dict[str, Any]:
        return {"venue": self.venue, "symbol": self.symbol, "currency": self.currency,
                "quantity": self.quantity, "average_cost": self.average_cost,
                "cost_basis": self.cost_basis, "realized_pnl": self.realized_pnl,
                "unrealized_pnl": self.unrealized_pnl, "mark": self.mark,
                "market_value": self.market_value, "fees": self.fees,
                "other_fees": dict(self.other_fees), "bought": self.bought, "sold": self.sold,
                "fills": self.fills, "venue_quantity": self.venue_quantity,
                "difference": self.difference, "note": self.note}

    # the average-cost method ---------------------------------------------------------
    def apply(self, fill: Fill, base_currency: str | None = None) -> None:
        """Add one execution (in time order)."""
        self.fills += 1
        quantity, price = fill.quantity, fill.price
        if fill.side is Side.BUY:
            self.bought += quantity
            change = quantity
        else:
            self.sold += quantity
            change = -quantity
        fee = ZERO  # the part of the fee that is a cost in the instrument's currency
        cost = fee_cost(fill, self.currency, base_currency)
        if cost is None:
            self.other_fees[fill.fee_currency] = (
                self.other_fees.get(fill.fee_currency, ZERO) + fill.fee)
        elif fill.fee_currency == self.currency:
            fee = cost
            self.fees += cost
        elif cost:
            change -= fill.fee  # paid in the asset itself: less held, or more given
            self.fees += cost  # its value at the trade, for the record
        if change:  # a base-asset fee spreads the trade's value over fewer units
            self._trade(change, price * quantity, fee)

    def _trade(self, change: Decimal, value: Decimal, fee: Decimal) -> None:
        """Move the position by ``change`` (signed) for ``value`` (what the units cost or
        brought, unsigned), paying ``fee``. Sums stay exact: the basis and the realized
        P&L are built from the trades' values, and a part is only taken of a value when a
        trade closes part of a position or goes through zero."""
        held = self.quantity
        if held == 0 or (held > 0) == (change > 0):
            # Opening or adding: the trade's cost, its fee included, goes into the basis (a
            # short's basis is negative: the proceeds, less the fee).
            self.cost_basis += (value if change > 0 else -value) + fee
            self.quantity = held + change
            return
        closing = min(abs(change), abs(held))
        # The part of the trade that closes (multiplied before dividing: exact whenever
        # the quotient is).
        closed_value = value if closing == abs(change) else value * closing / abs(change)
        closed_fee = fee if closing == abs(change) else fee * closing / abs(change)
        # The part of the basis the closed quantity carried (all of it when it all closes);
        # a long gains what it sells above its cost, a short what it buys back below its
        # proceeds.
        closed_basis = self.cost_basis if closing == abs(held) \
            else self.cost_basis * closing / abs(held)
        direction = 1 if held > 0 else -1
        self.realized_pnl += direction * closed_value - closed_basis - closed_fee
        self.quantity = held - direction * closing
        self.cost_basis = self.cost_basis - closed_basis if self.quantity else ZERO
        rest = abs(change) - closing
        if rest > 0:  # the trade went through zero: the rest opens the other side
            self._trade(rest if change > 0 else -rest, value - closed_value, fee - closed_fee)


def positions_from_fills(venue: str, fills: Iterable[Fill],
                         instruments: Mapping[str, Instrument] | None = None
                         ) -> dict[str, PositionLine]:
    """Each symbol's position at ``venue`` from its executions (any order: replayed by
    time). ``instruments`` give each symbol's currency and base asset (USD and none by
    default)."""
    known = instruments or {}
    lines: dict[str, PositionLine] = {}
    for fill in sorted(fills, key=lambda f: f.at):
        instrument = known.get(fill.symbol)
        line = lines.get(fill.symbol)
        if line is None:
            line = lines[fill.symbol] = PositionLine(
                venue, fill.symbol, instrument.currency if instrument is not None else "USD")
        line.apply(fill, instrument.base_currency if instrument is not None else None)
    return lines


def reconcile_positions(lines: dict[str, PositionLine], venue: str, account: Account,
                        quotes: Mapping[str, Quote] | None = None) -> dict[str, PositionLine]:
    """Mark ``lines`` at ``quotes``' mids and compare them with ``account``'s positions; a
    position the venue holds that no fill explains gets a line of its own. Returns
    ``lines``, completed, by symbol."""
    for position in account.positions:
        if position.symbol not in lines:
            lines[position.symbol] = PositionLine(venue, position.symbol, account.currency)
    reported = {position.symbol: position.quantity for position in account.positions}
    for symbol, line in lines.items():
        line.venue_quantity = reported.get(symbol, ZERO)
        quote = (quotes or {}).get(symbol)
        if quote is not None and quote.mid > 0:
            line.mark = quote.mid
    return lines
