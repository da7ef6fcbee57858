"""The day's price rules: base price, daily limits, the tick grid, and the current price.

* ``stck_sdpr``, the day's **base price** of each product, is its listing's price when the
  emulator starts. ``control.set_quote`` moves it only when asked to (``base_price``) or
  when the forced quote falls outside the current limits: the base then becomes the new
  current price (the emulator's choice: a test that moves a quote far away keeps a market
  it can trade in).
* The **daily limits** are ±30 % of the base price, on the tick grid and inward:
  ``stck_mxpr`` is the highest grid price at or below ``base * 1.3``, ``stck_llam`` the
  lowest grid price at or above ``base * 0.7``. Orders priced outside them are refused.
* The **tick** that applies to a price is the band's (KRX table) or the ETF's flat 5 won; an
  order price off that grid is refused with KIS's tick-error message.
* The **current price** (``stck_prpr``) is the simulated quote's mid put on the tick grid,
  half up (the emulator's choice: the simulated market has no trades but the account's own,
  so the last trade would stand still while the quote moves).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from venuekit_mock.sim import Book, SymbolSpec

from . import errors

__all__ = ["DailyPrices", "check_price", "current_price", "next_above", "next_below"]

_UPPER = Decimal("1.3")
_LOWER = Decimal("0.7")
_ONE = Decimal(1)


def current_price(book: Book) -> Decimal:
    """The quote's mid on the tick grid, half up."""
    spec = book.spec
    mid = (book.bid + book.ask) / 2
    tick = spec.tick_at(mid)
    price = (mid / tick).quantize(_ONE, ROUND_HALF_UP) * tick
    return price if spec.on_tick(price) else spec.ceil_price(price)


def next_above(spec: SymbolSpec, price: Decimal) -> Decimal:
    """The next grid price above ``price`` (prices are whole won)."""
    return spec.ceil_price(price + _ONE)


def next_below(spec: SymbolSpec, price: Decimal) -> Decimal:
    """The next grid price below ``price`` (0 below the lowest)."""
    if price <= _ONE:
        return Decimal(0)
    return spec.floor_price(price - _ONE)


class DailyPrices:
    """Each product's base price and daily limits."""

    def __init__(self, specs: Iterable[SymbolSpec]) -> None:
        self._specs = {spec.symbol: spec for spec in specs}
        self._base = {symbol: spec.price for symbol, spec in self._specs.items()}

    def base(self, symbol: str) -> Decimal:
        return self._base[symbol]

    def set_base(self, symbol: str, price: Decimal) -> None:
        spec = self._specs[symbol]
        if price <= 0 or price != price.to_integral_value() or not spec.on_tick(price):
            raise ValueError(f"{symbol}: base price {price} is not a price on the tick grid")
        self._base[symbol] = price

    def limits(self, symbol: str) -> tuple[Decimal, Decimal]:
        """``(lower, upper)``: ``stck_llam`` and ``stck_mxpr``."""
        spec = self._specs[symbol]
        base = self._base[symbol]
        return spec.ceil_price(base * _LOWER), spec.floor_price(base * _UPPER)

    def within(self, symbol: str, price: Decimal) -> bool:
        lower, upper = self.limits(symbol)
        return lower <= price <= upper


def check_price(spec: SymbolSpec, prices: DailyPrices, price: Decimal) -> None:
    """Refuse a limit price off the grid or outside the daily limits."""
    if price <= 0 or price != price.to_integral_value():
        raise errors.refusal(errors.PRICE, f"{price}")
    if not spec.on_tick(price):
        raise errors.refusal(errors.TICK)
    lower, upper = prices.limits(spec.symbol)
    if price > upper:
        raise errors.refusal(errors.ABOVE_UPPER_LIMIT, f"상한가 {upper}")
    if price < lower:
        raise errors.refusal(errors.BELOW_LOWER_LIMIT, f"하한가 {lower}")
