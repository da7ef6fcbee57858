"""Pricers: where to put a limit order, given the top of book.

A pricer turns a :class:`~venuekit.model.Quote`, the order's :class:`~venuekit.model.Side`
and its :class:`~venuekit.model.Instrument` into a price that is already on the
instrument's tick grid (price bands included). Passive pricers round away from the
market (a buy down, a sell up) so rounding never makes them cross; the aggressive one
rounds towards it so it stays marketable.

Words used throughout: the *near touch* is the best price on the order's own side (the
bid for a buy), the *far touch* the best price it would trade against (the ask for a buy);
*improving* a price moves it towards the far touch.

The small grid helpers at the bottom of this module (:func:`shift_ticks`,
:func:`best_passive_price`, ...) are shared with :mod:`venuekit.repeg`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from .errors import Code, error
from .model import Instrument, Quote, Side
from .quantize import round_price

__all__ = [
    "BreakEvenPricer",
    "CrossSpreadPricer",
    "InsideSpreadPricer",
    "MidPricer",
    "Pricer",
    "TouchPricer",
    "best_passive_price",
    "checked_book",
    "decimal_option",
    "int_option",
    "less_aggressive",
    "shift_ticks",
]


class Pricer(Protocol):
    """Turns a quote into a limit price on the instrument's tick grid."""

    def price(self, quote: Quote, side: Side, instrument: Instrument) -> Decimal:
        """The limit price for an order of ``side``; raises NO_LIQUIDITY on a one-sided book."""
        ...


class MidPricer:
    """The mid of bid and ask, rounded passively (a buy down, a sell up)."""

    def price(self, quote: Quote, side: Side, instrument: Instrument) -> Decimal:
        bid, ask = checked_book(quote)
        return round_price(instrument, (bid + ask) / 2, side, passive=True)

    def __repr__(self) -> str:
        return "MidPricer()"


class TouchPricer:
    """Joins the near touch: the bid for a buy, the ask for a sell."""

    def price(self, quote: Quote, side: Side, instrument: Instrument) -> Decimal:
        checked_book(quote)
        return round_price(instrument, _near(quote, side), side, passive=True)

    def __repr__(self) -> str:
        return "TouchPricer()"


class InsideSpreadPricer:
    """Improves the near touch by ``ticks`` ticks without crossing.

    The price is capped one tick inside the far touch, so it rests on the book; when the
    spread is a single tick (or the book is locked) there is no room inside and the price
    joins the near touch.
    """

    def __init__(self, *, ticks: int | str = 1) -> None:
        self.ticks = int_option("ticks", ticks, minimum=1)

    def price(self, quote: Quote, side: Side, instrument: Instrument) -> Decimal:
        checked_book(quote)
        near = round_price(instrument, _near(quote, side), side, passive=True)
        improved = shift_ticks(instrument, near, side.sign * self.ticks)
        return less_aggressive(side, improved, best_passive_price(quote, side, instrument))

    def __repr__(self) -> str:
        return f"InsideSpreadPricer(ticks={self.ticks})"


class CrossSpreadPricer:
    """Takes liquidity: the far touch plus ``ticks`` ticks of slippage allowance.

    The far touch is rounded towards the market (a buy up) so the order stays marketable
    even when the quote is off the grid; the allowance then moves it further.
    """

    def __init__(self, *, ticks: int | str = 0) -> None:
        self.ticks = int_option("ticks", ticks, minimum=0)

    def price(self, quote: Quote, side: Side, instrument: Instrument) -> Decimal:
        checked_book(quote)
        far = round_price(instrument, quote.touch(side), side, passive=False)
        return shift_ticks(instrument, far, side.sign * self.ticks)

    def __repr__(self) -> str:
        return f"CrossSpreadPricer(ticks={self.ticks})"


class BreakEvenPricer:
    """The price at which closing a position opened at ``trigger_price`` loses nothing.

    ``side`` is the side of the closing order and ``fee_rate`` the fee charged on the
    notional of each of the two trades. Closing a long (a sell) needs
    ``trigger * (1 + fee) / (1 - fee)``; closing a short (a buy) needs
    ``trigger * (1 - fee) / (1 + fee)``. The result is rounded so it never loses: a sell
    rounds up, a buy rounds down. The quote is not used, so a one-sided book is no error;
    a buy whose break-even rounds down to zero raises INVALID_PRICE.
    """

    def __init__(self, *, trigger_price: Decimal | int | str,
                 fee_rate: Decimal | int | str = 0) -> None:
        self.trigger_price = decimal_option("trigger_price", trigger_price)
        self.fee_rate = decimal_option("fee_rate", fee_rate)
        if self.trigger_price <= 0:
            raise ValueError(f"trigger_price must be positive, got {self.trigger_price}")
        if not 0 <= self.fee_rate < 1:
            raise ValueError(f"fee_rate must be at least 0 and below 1, got {self.fee_rate}")

    def price(self, quote: Quote, side: Side, instrument: Instrument) -> Decimal:
        one = Decimal(1)
        if side is Side.SELL:
            target = self.trigger_price * (one + self.fee_rate) / (one - self.fee_rate)
        else:
            target = self.trigger_price * (one - self.fee_rate) / (one + self.fee_rate)
        price = round_price(instrument, target, side, passive=True)
        if side is Side.BUY and price > target:
            # round_price lifts a price that rounds to zero to one tick: that would lose.
            raise error(Code.INVALID_PRICE,
                        f"{instrument.symbol}: no positive price on the grid breaks even "
                        f"(break-even {target}, tick {price})",
                        details={"symbol": instrument.symbol, "target": str(target)})
        return price

    def __repr__(self) -> str:
        return f"BreakEvenPricer(trigger_price={self.trigger_price}, fee_rate={self.fee_rate})"


# shared helpers ---------------------------------------------------------------------


def checked_book(quote: Quote) -> tuple[Decimal, Decimal]:
    """``(bid, ask)``, or NO_LIQUIDITY when a side is empty or the book is crossed.

    A locked book (bid equal to ask) is accepted; a crossed one (bid above ask) has no
    consistent touch to price from, so it is refused rather than guessed at.
    """
    bid, ask = quote.bid, quote.ask
    details = {"symbol": quote.symbol, "bid": str(bid), "ask": str(ask)}
    if bid <= 0 or ask <= 0:
        raise error(Code.NO_LIQUIDITY,
                    f"{quote.symbol}: one-sided or empty book (bid {bid}, ask {ask})",
                    details=details)
    if bid > ask:
        raise error(Code.NO_LIQUIDITY,
                    f"{quote.symbol}: crossed book (bid {bid} above ask {ask})",
                    details=details)
    return bid, ask


def _near(quote: Quote, side: Side) -> Decimal:
    return quote.bid if side is Side.BUY else quote.ask


def shift_ticks(instrument: Instrument, price: Decimal, ticks: int) -> Decimal:
    """``price`` (on the grid) moved ``ticks`` grid steps: up when positive, down when negative.

    Each step uses the tick of the band it moves within, so a step down from a band floor
    (KRX 2,000 won) uses the lower band's tick (to 1,999, not 1,995). Moving down stops at
    the lowest positive price on the grid.
    """
    for _ in range(abs(ticks)):
        if ticks > 0:
            price += instrument.tick_at(price)
        else:
            # Just below a band floor the lower band's (smaller) tick applies.
            lower = price - instrument.tick_at(price - instrument.tick_at(price))
            if lower <= 0:
                break
            price = lower
    return price


def less_aggressive(side: Side, first: Decimal, second: Decimal) -> Decimal:
    """The price further from the market for ``side``: the lower for a buy."""
    return min(first, second) if side is Side.BUY else max(first, second)


def best_passive_price(quote: Quote, side: Side, instrument: Instrument) -> Decimal:
    """The most aggressive grid price that still rests: one tick inside the far touch.

    When the spread leaves no grid price strictly between the touches, this is the near
    touch (rounded passively).
    """
    checked_book(quote)
    far = round_price(instrument, quote.touch(side), side, passive=False)
    inside = shift_ticks(instrument, far, -side.sign)
    near = round_price(instrument, _near(quote, side), side, passive=True)
    # Never behind the near touch: in a locked book "one tick inside" would be.
    return max(inside, near) if side is Side.BUY else min(inside, near)


def decimal_option(name: str, value: object) -> Decimal:
    """A Decimal option from a ``Decimal``, an ``int`` or a decimal string; never a float."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        hint = f"; pass a string such as '{value!r}'" if isinstance(value, float) else ""
        raise ValueError(f"{name} must be a Decimal, an int or a decimal string, "
                         f"got {type(value).__name__} {value!r}{hint}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except ArithmeticError:
        raise ValueError(f"{name}: {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"{name} must be finite, got {number}")
    return number


def int_option(name: str, value: object, *, minimum: int) -> int:
    """An integer option from an ``int`` or an integer string, at least ``minimum``."""
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value
