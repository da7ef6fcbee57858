"""Execution cost models: where a taker fill prices (slippage) and what it costs (commission).

Both are small classes with one job, so a test or a venue emulator can pass its own.

Slippage models return an unrounded price; the engine rounds it onto the tick grid against
the taker (up for a buy, down for a sell) and never past a limit order's price. Only
taker fills slip: a resting limit order fills at its own price.

Commission models answer one question: the total commission of an order that has executed
``quantity`` for ``notional`` so far. The engine charges each fill the increase, so a
per-order minimum is paid once however many partial fills an order gets, and rounding never
accumulates across fills.

Worked examples (the same numbers appear in ``docs/venues/mock.md`` and in the tests)::

    >>> from decimal import Decimal as D
    >>> from venuekit.model import Side
    >>> PercentageSlippage(D(10)).fill_price(Side.BUY, D("187.50"), D(100), D(300))
    Decimal('187.68750')
    >>> impact = VolumeImpactSlippage(temporary_bps=D(20), permanent_bps=D(10))
    >>> impact.fill_price(Side.BUY, D("100.00"), D(250), D(500))
    Decimal('100.10000')
    >>> impact.permanent_impact(Side.BUY, D("100.00"), D(250), D(500))
    Decimal('0.050')
    >>> PerShareCommission(D("0.005"), D("1.00"), D(100)).order_commission(D(100), D(5000), D(0))
    Decimal('1.00')
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

from venuekit.model import Side

__all__ = [
    "CommissionModel",
    "NoCommission",
    "NoSlippage",
    "PerShareCommission",
    "PercentageCommission",
    "PercentageSlippage",
    "SlippageModel",
    "TieredCommission",
    "VolumeImpactSlippage",
]

ZERO = Decimal(0)
ONE = Decimal(1)
_BPS = Decimal(10_000)
CENT = Decimal("0.01")
# Enum members are slow to look up on Python 3.11 (see engine.py): an alias for hot paths.
_BUY = Side.BUY


class SlippageModel(abc.ABC):
    """Prices a taker fill of ``quantity`` against ``touch`` with ``displayed`` on offer."""

    free: ClassVar[bool] = False
    """True only for a model that never moves the price (the engine then skips it)."""

    @abc.abstractmethod
    def fill_price(self, side: Side, touch: Decimal, quantity: Decimal,
                   displayed: Decimal) -> Decimal:
        """The unrounded execution price (worse than ``touch`` for the taker, or equal)."""

    def permanent_impact(self, side: Side, touch: Decimal, quantity: Decimal,
                         displayed: Decimal) -> Decimal:
        """How far the trade moves the market for good, signed (up for buys). None by default."""
        return ZERO


@dataclass(frozen=True, slots=True)
class NoSlippage(SlippageModel):
    """Every taker fill executes at the touch."""

    free: ClassVar[bool] = True

    def fill_price(self, side: Side, touch: Decimal, quantity: Decimal,
                   displayed: Decimal) -> Decimal:
        return touch


@dataclass(frozen=True, slots=True)
class PercentageSlippage(SlippageModel):
    """A fixed cost of ``bps`` basis points of the touch.

    Buy 100 at an ask of 187.50 with 10 bps: ``187.50 * 1.001 = 187.6875``, rounded up
    to the tick: 187.69. Sell at a bid of 187.49: ``187.49 * 0.999 = 187.30251``, rounded
    down: 187.30.
    """

    bps: Decimal
    _up: Decimal = field(init=False, repr=False, compare=False)
    _down: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not ZERO <= self.bps < _BPS:
            raise ValueError(f"slippage bps must be in [0, 10000), got {self.bps}")
        object.__setattr__(self, "_up", ONE + self.bps / _BPS)
        object.__setattr__(self, "_down", ONE - self.bps / _BPS)

    def fill_price(self, side: Side, touch: Decimal, quantity: Decimal,
                   displayed: Decimal) -> Decimal:
        return touch * (self._up if side is _BUY else self._down)


def _participation(quantity: Decimal, displayed: Decimal) -> Decimal:
    if displayed <= 0 or quantity >= displayed:
        return ONE
    return quantity / displayed


@dataclass(frozen=True, slots=True)
class VolumeImpactSlippage(SlippageModel):
    """Impact proportional to the share of the displayed size the fill takes.

    With participation ``p = quantity / displayed`` (at most 1), the fill prices
    ``temporary_bps * p`` basis points through the touch, and the market's fair value
    moves ``permanent_bps * p`` basis points of the touch in the trade's direction and
    stays there.

    Buy 250 at an ask of 100.00 with 500 displayed, temporary 20 bps, permanent 10 bps:
    ``p = 0.5``; the fill prices at ``100.00 * (1 + 0.0020 * 0.5) = 100.10``; the fair
    value rises by ``100.00 * 0.0010 * 0.5 = 0.05``.
    """

    temporary_bps: Decimal
    permanent_bps: Decimal = ZERO

    def __post_init__(self) -> None:
        if not (ZERO <= self.temporary_bps < _BPS and ZERO <= self.permanent_bps < _BPS):
            raise ValueError("impact bps must be in [0, 10000)")

    def fill_price(self, side: Side, touch: Decimal, quantity: Decimal,
                   displayed: Decimal) -> Decimal:
        cost = self.temporary_bps * _participation(quantity, displayed) / _BPS
        return touch * (ONE + cost if side is _BUY else ONE - cost)

    def permanent_impact(self, side: Side, touch: Decimal, quantity: Decimal,
                         displayed: Decimal) -> Decimal:
        if not self.permanent_bps:
            return ZERO
        return side.sign * touch * self.permanent_bps * _participation(quantity, displayed) / _BPS


class CommissionModel(abc.ABC):
    """The total commission of one order, from what it has executed so far."""

    free: ClassVar[bool] = False
    """True only for a model that never charges (the engine then skips it)."""

    @abc.abstractmethod
    def order_commission(self, quantity: Decimal, notional: Decimal,
                         prior_volume: Decimal) -> Decimal:
        """Commission for an order that executed ``quantity`` for ``notional`` in total.

        ``prior_volume`` is the account's traded notional before the order was accepted
        (volume tiers use it). Must not decrease as ``quantity`` and ``notional`` grow.
        """


def _round(amount: Decimal, precision: Decimal) -> Decimal:
    return amount.quantize(precision, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class NoCommission(CommissionModel):
    """Trading is free."""

    free: ClassVar[bool] = True

    def order_commission(self, quantity: Decimal, notional: Decimal,
                         prior_volume: Decimal) -> Decimal:
        return ZERO


@dataclass(frozen=True, slots=True)
class PercentageCommission(CommissionModel):
    """``bps`` basis points of the order's notional, rounded half up to ``precision``.

    100 shares at 187.69 with 10 bps: ``18,769.00 * 0.001 = 18.769``, charged 18.77.
    """

    bps: Decimal
    precision: Decimal = CENT

    def __post_init__(self) -> None:
        if not ZERO <= self.bps < _BPS:
            raise ValueError(f"commission bps must be in [0, 10000), got {self.bps}")

    def order_commission(self, quantity: Decimal, notional: Decimal,
                         prior_volume: Decimal) -> Decimal:
        return _round(notional * self.bps / _BPS, self.precision)


@dataclass(frozen=True, slots=True)
class TieredCommission(CommissionModel):
    """A rate in basis points that falls as the account's traded volume grows.

    ``tiers`` are ``(volume_floor, bps)`` pairs with increasing floors, the first at 0; an
    order pays the rate of the tier its account was in when the order was accepted. With
    tiers ``(0, 10), (1,000,000, 5), (5,000,000, 2)``, an order for 20,000.00 placed after
    2,500,000.00 of volume pays 5 bps: 10.00.
    """

    tiers: Sequence[tuple[Decimal, Decimal]]
    precision: Decimal = CENT

    def __post_init__(self) -> None:
        floors = [floor for floor, _ in self.tiers]
        if not floors or floors[0] != 0 or floors != sorted(set(floors)):
            raise ValueError("tiers need increasing volume floors starting at 0")
        if any(not ZERO <= bps < _BPS for _, bps in self.tiers):
            raise ValueError("tier rates must be in [0, 10000) bps")
        object.__setattr__(self, "tiers", tuple(self.tiers))

    def rate_bps(self, prior_volume: Decimal) -> Decimal:
        rate = self.tiers[0][1]
        for floor, bps in self.tiers:
            if prior_volume >= floor:
                rate = bps
        return rate

    def order_commission(self, quantity: Decimal, notional: Decimal,
                         prior_volume: Decimal) -> Decimal:
        return _round(notional * self.rate_bps(prior_volume) / _BPS, self.precision)


@dataclass(frozen=True, slots=True)
class PerShareCommission(CommissionModel):
    """``per_share`` per unit, at least ``minimum`` per order, at most ``maximum_bps`` of notional.

    The cap wins over the minimum (as at brokers that charge per share). With 0.005 per
    share, a 1.00 minimum and a 1 % (100 bps) cap:

    * 100 shares at 50.00: 0.50, raised to the minimum: 1.00;
    * 1,000 shares at 190.00: 5.00;
    * 10,000 shares at 0.40: 50.00, capped at 1 % of 4,000.00: 40.00.
    """

    per_share: Decimal
    minimum: Decimal = ZERO
    maximum_bps: Decimal | None = None
    precision: Decimal = CENT
    _cap_rate: Decimal | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.per_share < 0 or self.minimum < 0:
            raise ValueError("per_share and minimum must be >= 0")
        if self.maximum_bps is not None and not ZERO < self.maximum_bps <= _BPS:
            raise ValueError("maximum_bps must be in (0, 10000]")
        cap = None if self.maximum_bps is None else self.maximum_bps / _BPS
        object.__setattr__(self, "_cap_rate", cap)

    def order_commission(self, quantity: Decimal, notional: Decimal,
                         prior_volume: Decimal) -> Decimal:
        if quantity <= 0:
            return ZERO
        fee = quantity * self.per_share
        if fee < self.minimum:
            fee = self.minimum
        if self._cap_rate is not None:
            cap = notional * self._cap_rate
            if cap < fee:
                fee = cap
        return fee.quantize(self.precision, rounding=ROUND_HALF_UP)
