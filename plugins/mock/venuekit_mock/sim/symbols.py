"""What the simulator trades: one :class:`SymbolSpec` per symbol, and the default universe.

A spec carries the instrument's rules (tick grid, optionally a KRX-style price-band table,
lot step, minimum quantity and notional) and how its quotes are generated (starting mid,
per-step volatility, spread in ticks, displayed size). Grid helpers round prices band-aware,
the same way :mod:`venuekit.quantize` does, so that what the SDK sends is what the venue
accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "DEFAULT_SYMBOLS",
    "KRX_TICK_TABLE",
    "SymbolSpec",
]

ZERO = Decimal(0)
ONE = Decimal(1)

KRX_TICK_TABLE: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal(0), Decimal(1)),
    (Decimal(2_000), Decimal(5)),
    (Decimal(5_000), Decimal(10)),
    (Decimal(20_000), Decimal(50)),
    (Decimal(50_000), Decimal(100)),
    (Decimal(200_000), Decimal(500)),
    (Decimal(500_000), Decimal(1_000)),
)
"""KRX equity price bands since January 2023: ``(floor, tick)``, floors increasing (KRW)."""


_MAX_STEPS = Decimal(10) ** 20
"""Ticks in a price (lots in a size) at most: beyond, grid arithmetic is not exact."""


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One tradable symbol: its instrument rules and its quote generator's parameters.

    ``price`` is the starting mid. Each step moves the mid by a random relative amount whose
    standard deviation is ``volatility_bps`` basis points; the quote is then ``spread_ticks``
    ticks wide around the mid with ``size`` displayed on each side. ``tick_table`` (pairs of
    ``(floor, tick)``) overrides ``tick_size`` at prices at or above each floor.
    """

    symbol: str
    price: Decimal
    tick_size: Decimal = Decimal("0.01")
    lot_size: Decimal = ONE
    min_quantity: Decimal = ZERO
    min_notional: Decimal = ZERO
    fractional: bool = False
    currency: str = "USD"
    base_currency: str | None = None
    """The asset bought and sold, for a pair (``BTC`` of ``BTC/USDT``); None for a share."""
    tick_table: tuple[tuple[Decimal, Decimal], ...] = ()
    tradable: bool = True
    volatility_bps: Decimal = Decimal(2)
    spread_ticks: int = 1
    size: Decimal = Decimal(500)

    def __post_init__(self) -> None:
        problems = []
        if not self.symbol:
            problems.append("symbol is empty")
        for name in ("price", "tick_size", "lot_size", "size"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                problems.append(f"{name} must be a positive Decimal, got {value!r}")
        for name in ("min_quantity", "min_notional", "volatility_bps"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                problems.append(f"{name} must be a Decimal >= 0, got {value!r}")
        if isinstance(self.volatility_bps, Decimal) and self.volatility_bps > 1000:
            problems.append("volatility_bps above 1000 (10 % per step) is not a market")
        # Grid arithmetic (price // tick) must stay exact within Decimal's 28 digits.
        for amount, step in (("price", "tick_size"), ("size", "lot_size")):
            value, unit = getattr(self, amount), getattr(self, step)
            if (isinstance(value, Decimal) and isinstance(unit, Decimal) and value.is_finite()
                    and unit.is_finite() and unit > 0 and value / unit >= _MAX_STEPS):
                problems.append(f"{amount} {value} is 10^20 or more steps of {step} {unit}: "
                                "not a market")
        if self.spread_ticks < 1:
            problems.append("spread_ticks must be at least 1")
        # Everything an Instrument requires of its tick table: the venue builds instruments
        # from specs without validating them again.
        bands = [(floor, tick) for floor, tick in self.tick_table
                 if isinstance(floor, Decimal) and isinstance(tick, Decimal)
                 and floor.is_finite() and tick.is_finite() and floor >= 0 and tick > 0]
        floors = [floor for floor, _ in bands]
        if len(bands) != len(self.tick_table) or floors != sorted(set(floors)):
            problems.append("tick_table needs strictly increasing floors from 0 up and "
                            "positive ticks (finite Decimals)")
        if problems:
            raise ValueError(f"{self.symbol or '<symbol>'}: " + "; ".join(problems))

    def tick_at(self, price: Decimal) -> Decimal:
        """The tick that applies at ``price``."""
        tick = self.tick_size
        if not self.tick_table:  # the usual flat grid: no band to look for
            return tick
        for floor, band_tick in self.tick_table:
            if price >= floor:
                tick = band_tick
            else:
                break
        return tick

    def on_tick(self, price: Decimal) -> bool:
        # Every limit order is checked: skip the band lookup (a call) on a flat grid.
        return price % (self.tick_at(price) if self.tick_table else self.tick_size) == 0

    def on_lot(self, quantity: Decimal) -> bool:
        return quantity % self.lot_size == 0

    def floor_price(self, price: Decimal) -> Decimal:
        """The highest grid price at or below ``price`` (never below one tick)."""
        tick = self.tick_at(price)
        floored = (price // tick) * tick
        return floored if floored > 0 else self.tick_at(ZERO)

    def ceil_price(self, price: Decimal) -> Decimal:
        """The lowest grid price at or above ``price``.

        Rounding up across a band floor lands on the floor, which is on both grids.
        """
        tick = self.tick_at(price)
        floored = (price // tick) * tick
        return floored if floored == price else floored + tick

    def floor_quantity(self, quantity: Decimal) -> Decimal:
        return (quantity // self.lot_size) * self.lot_size


def _us(symbol: str, price: str, size: str, *, fractional: bool) -> SymbolSpec:
    if fractional:
        return SymbolSpec(symbol, Decimal(price), lot_size=Decimal("0.0001"),
                          min_quantity=Decimal("0.0001"), min_notional=Decimal(1),
                          fractional=True, size=Decimal(size))
    return SymbolSpec(symbol, Decimal(price), size=Decimal(size))


DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = (
    _us("AAPL", "190.00", "300", fractional=True),
    _us("MSFT", "410.00", "200", fractional=True),
    _us("SPY", "510.00", "1000", fractional=True),
    _us("NVDA", "880.00", "100", fractional=False),
    _us("TSLA", "180.00", "400", fractional=False),
    _us("F", "12.00", "5000", fractional=False),
)
"""US-equity-like defaults: tick 0.01; the first three fractional (lot 0.0001, $1 minimum)."""
