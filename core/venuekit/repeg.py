"""Re-peg policies: at each interval, keep a resting order, reprice it, cancel it or go to market.

A policy only decides. It is handed a :class:`RepegContext` (the order's side, price and
progress, the instrument and a fresh quote) and returns a :class:`RepegDecision`; the
strategy carries it out, waits for the cancel to be confirmed, and sizes any replacement
from confirmed fills.

Prices are compared after quantizing: a policy returns REPRICE only when the new price,
on the instrument's tick grid, differs from the order's current price. Anything else is
KEEP, so rounding can never cause a cancel/replace loop.

:class:`BoundedRepeg` is the base of the built-in policies (and a convenient one for
plugins): it abandons when the spread is too wide, stops after ``max_attempts`` re-pegs,
and does the no-churn comparison; a subclass only says where the price should go.
"""

from __future__ import annotations

import abc
import enum
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from .model import Instrument, Quote, Side
from .pricing import (
    best_passive_price,
    decimal_option,
    int_option,
    less_aggressive,
    shift_ticks,
)
from .quantize import round_price

__all__ = [
    "AdaptiveRepeg",
    "AggressiveRepeg",
    "BoundedRepeg",
    "ConservativeRepeg",
    "DisabledRepeg",
    "RepegAction",
    "RepegContext",
    "RepegDecision",
    "RepegPolicy",
]

log = logging.getLogger("venuekit.repeg")


class RepegAction(enum.StrEnum):
    KEEP = "keep"
    """Leave the order as it is."""
    REPRICE = "reprice"
    """Cancel/replace the order at :attr:`RepegDecision.price`."""
    CANCEL = "cancel"
    """Cancel the order and stop working it."""
    MARKET = "market"
    """Cancel the order and send the confirmed remainder as a market order."""


@dataclass(frozen=True, slots=True)
class RepegDecision:
    """What a policy decided; ``price`` is set exactly when the action is REPRICE."""

    action: RepegAction
    price: Decimal | None
    reason: str

    def __post_init__(self) -> None:
        if self.action is RepegAction.REPRICE and self.price is None:
            raise ValueError("a reprice decision needs a price")
        if self.action is not RepegAction.REPRICE and self.price is not None:
            raise ValueError(f"a {self.action.value} decision takes no price")
        if self.price is not None and not (self.price.is_finite() and self.price > 0):
            raise ValueError(f"a reprice needs a positive price, got {self.price}")

    @classmethod
    def keep(cls, reason: str) -> RepegDecision:
        return cls(RepegAction.KEEP, None, reason)

    @classmethod
    def reprice(cls, price: Decimal, reason: str) -> RepegDecision:
        return cls(RepegAction.REPRICE, price, reason)

    @classmethod
    def cancel(cls, reason: str) -> RepegDecision:
        return cls(RepegAction.CANCEL, None, reason)

    @classmethod
    def market(cls, reason: str) -> RepegDecision:
        return cls(RepegAction.MARKET, None, reason)


@dataclass(frozen=True, slots=True)
class RepegContext:
    """What a policy sees at one re-peg interval.

    ``attempt`` counts the re-pegs already done for this order (0 at the first interval).
    ``elapsed`` and ``remaining`` are seconds of the strategy's time budget; the built-in
    policies leave the budget to the strategy, but a plugin's policy may use them.
    """

    side: Side
    instrument: Instrument
    quote: Quote
    current_price: Decimal
    attempt: int
    elapsed: float
    remaining: float
    filled_quantity: Decimal
    remaining_quantity: Decimal

    def __post_init__(self) -> None:
        for name in ("current_price", "filled_quantity", "remaining_quantity"):
            if not isinstance(getattr(self, name), Decimal):
                raise ValueError(f"RepegContext.{name} must be a Decimal, "
                                 f"got {getattr(self, name)!r}")
        if self.current_price <= 0:
            raise ValueError(f"current_price must be positive, got {self.current_price}")
        if self.attempt < 0:
            raise ValueError(f"attempt counts re-pegs done and cannot be {self.attempt}")

    @property
    def near_touch(self) -> Decimal:
        """The best price on the order's own side (the bid for a buy)."""
        return self.quote.bid if self.side is Side.BUY else self.quote.ask


class RepegPolicy(Protocol):
    """Decides, at each interval, what to do with one resting limit order."""

    def decide(self, ctx: RepegContext) -> RepegDecision: ...


class DisabledRepeg:
    """Never re-pegs: the order rests at its price until the strategy's budget runs out."""

    def decide(self, ctx: RepegContext) -> RepegDecision:
        return RepegDecision.keep("re-pegging is disabled")

    def __repr__(self) -> str:
        return "DisabledRepeg()"


class BoundedRepeg(abc.ABC):
    """A policy with an attempt limit, a spread limit and the no-churn comparison.

    In order, :meth:`decide` returns: KEEP when nothing is left to fill; CANCEL
    ("abandon") when the spread is wider than ``max_spread_bps`` (a one-sided book counts
    as infinitely wide; ``None`` disables the check); ``on_exhausted`` ("market" or
    "cancel") once ``max_attempts`` re-pegs are done; KEEP on a crossed book; otherwise
    REPRICE at :meth:`target` rounded passively onto the tick grid, or KEEP when that
    equals the current price.
    """

    def __init__(self, *, max_attempts: int | str = 5,
                 max_spread_bps: Decimal | int | str | None = 100,
                 on_exhausted: RepegAction | str = RepegAction.MARKET) -> None:
        self.max_attempts = int_option("max_attempts", max_attempts, minimum=1)
        self.max_spread_bps = (None if max_spread_bps is None
                               else decimal_option("max_spread_bps", max_spread_bps))
        if self.max_spread_bps is not None and self.max_spread_bps <= 0:
            raise ValueError(f"max_spread_bps must be positive, got {self.max_spread_bps}")
        exhausted = str(on_exhausted).lower()
        if exhausted not in (RepegAction.MARKET, RepegAction.CANCEL):
            raise ValueError(f"on_exhausted must be 'market' or 'cancel', got {on_exhausted!r}")
        self.on_exhausted = RepegAction(exhausted)

    @abc.abstractmethod
    def target(self, ctx: RepegContext) -> Decimal:
        """Where the order should be now; :meth:`decide` rounds it onto the grid."""

    def decide(self, ctx: RepegContext) -> RepegDecision:
        decision = self._decide(ctx)
        log.debug("re-peg decision", extra={
            "policy": repr(self), "symbol": ctx.quote.symbol, "side": str(ctx.side),
            "attempt": ctx.attempt, "current_price": str(ctx.current_price),
            "action": str(decision.action),
            "price": None if decision.price is None else str(decision.price),
            "reason": decision.reason})
        return decision

    def _decide(self, ctx: RepegContext) -> RepegDecision:
        quote = ctx.quote
        if ctx.remaining_quantity <= 0:
            return RepegDecision.keep("nothing left to fill")
        if self.max_spread_bps is not None:
            if quote.bid <= 0 or quote.ask <= 0:
                return RepegDecision.cancel("abandon: one-sided or empty book")
            if quote.spread_bps > self.max_spread_bps:
                return RepegDecision.cancel(
                    f"abandon: spread {quote.spread_bps:.1f} bps exceeds "
                    f"{self.max_spread_bps} bps")
        if ctx.attempt >= self.max_attempts:
            reason = f"max attempts reached ({self.max_attempts} re-pegs)"
            if self.on_exhausted is RepegAction.MARKET:
                return RepegDecision.market(reason)
            return RepegDecision.cancel(reason)
        if quote.bid <= 0 or quote.ask <= 0 or quote.bid > quote.ask:
            return RepegDecision.keep(
                f"no consistent book to re-peg against (bid {quote.bid}, ask {quote.ask})")
        price = round_price(ctx.instrument, self.target(ctx), ctx.side, passive=True)
        if price == ctx.current_price:
            return RepegDecision.keep("unchanged after rounding")
        return RepegDecision.reprice(price, f"from {ctx.current_price} to {price}")

    def _limits_repr(self) -> str:
        return (f"max_attempts={self.max_attempts}, max_spread_bps={self.max_spread_bps}, "
                f"on_exhausted={self.on_exhausted.value!r}")


class ConservativeRepeg(BoundedRepeg):
    """Improves the near touch by a small amount that grows with each re-peg, up to a cap.

    The improvement is ``min(base_improvement + step * attempt, max_improvement)`` in price
    units (one cent, then two, ... by default), and the price stays passive: at most one
    tick inside the far touch.
    """

    def __init__(self, *, base_improvement: Decimal | int | str = Decimal("0.01"),
                 step: Decimal | int | str = Decimal("0.01"),
                 max_improvement: Decimal | int | str = Decimal("0.05"),
                 max_attempts: int | str = 5,
                 max_spread_bps: Decimal | int | str | None = 100,
                 on_exhausted: RepegAction | str = RepegAction.MARKET) -> None:
        super().__init__(max_attempts=max_attempts, max_spread_bps=max_spread_bps,
                         on_exhausted=on_exhausted)
        self.base_improvement = decimal_option("base_improvement", base_improvement)
        self.step = decimal_option("step", step)
        self.max_improvement = decimal_option("max_improvement", max_improvement)
        if min(self.base_improvement, self.step) < 0:
            raise ValueError("base_improvement and step cannot be negative")
        if self.max_improvement < self.base_improvement:
            raise ValueError(f"max_improvement {self.max_improvement} is below "
                             f"base_improvement {self.base_improvement}")

    def improvement(self, attempt: int) -> Decimal:
        """The amount the near touch is improved by at ``attempt``."""
        return min(self.base_improvement + self.step * attempt, self.max_improvement)

    def target(self, ctx: RepegContext) -> Decimal:
        improved = ctx.near_touch + ctx.side.sign * self.improvement(ctx.attempt)
        return less_aggressive(ctx.side, improved,
                               best_passive_price(ctx.quote, ctx.side, ctx.instrument))

    def __repr__(self) -> str:
        return (f"ConservativeRepeg(base_improvement={self.base_improvement}, "
                f"step={self.step}, max_improvement={self.max_improvement}, "
                f"{self._limits_repr()})")


class AggressiveRepeg(BoundedRepeg):
    """Improves the near touch by ``improvement_ticks`` ticks, up to the far touch.

    Unlike the passive policies it may reach the far touch, which makes the order
    marketable; it never goes beyond it.
    """

    def __init__(self, *, improvement_ticks: int | str = 1, max_attempts: int | str = 5,
                 max_spread_bps: Decimal | int | str | None = 100,
                 on_exhausted: RepegAction | str = RepegAction.MARKET) -> None:
        super().__init__(max_attempts=max_attempts, max_spread_bps=max_spread_bps,
                         on_exhausted=on_exhausted)
        self.improvement_ticks = int_option("improvement_ticks", improvement_ticks, minimum=1)

    def target(self, ctx: RepegContext) -> Decimal:
        side, instrument = ctx.side, ctx.instrument
        near = round_price(instrument, ctx.near_touch, side, passive=True)
        improved = shift_ticks(instrument, near, side.sign * self.improvement_ticks)
        far = round_price(instrument, ctx.quote.touch(side), side, passive=True)
        return less_aggressive(side, improved, far)

    def __repr__(self) -> str:
        return (f"AggressiveRepeg(improvement_ticks={self.improvement_ticks}, "
                f"{self._limits_repr()})")


class AdaptiveRepeg(BoundedRepeg):
    """Improves the near touch by a fraction of the current spread.

    The fraction grows linearly with the attempt, from ``min_fraction`` at the first
    re-peg to ``max_fraction`` at the last one ``max_attempts`` allows. A wide spread
    therefore gets a large step and a tight one a small step. The price stays passive:
    at most one tick inside the far touch.
    """

    def __init__(self, *, min_fraction: Decimal | int | str = Decimal("0.2"),
                 max_fraction: Decimal | int | str = Decimal(1),
                 max_attempts: int | str = 5,
                 max_spread_bps: Decimal | int | str | None = 100,
                 on_exhausted: RepegAction | str = RepegAction.MARKET) -> None:
        super().__init__(max_attempts=max_attempts, max_spread_bps=max_spread_bps,
                         on_exhausted=on_exhausted)
        self.min_fraction = decimal_option("min_fraction", min_fraction)
        self.max_fraction = decimal_option("max_fraction", max_fraction)
        if not 0 <= self.min_fraction <= self.max_fraction <= 1:
            raise ValueError("fractions must satisfy 0 <= min_fraction <= max_fraction <= 1, "
                             f"got {self.min_fraction} and {self.max_fraction}")

    def fraction(self, attempt: int) -> Decimal:
        """The share of the spread the near touch is improved by at ``attempt``."""
        if self.max_attempts == 1:
            return self.max_fraction
        progress = Decimal(min(attempt, self.max_attempts - 1)) / (self.max_attempts - 1)
        return self.min_fraction + (self.max_fraction - self.min_fraction) * progress

    def target(self, ctx: RepegContext) -> Decimal:
        spread = ctx.quote.ask - ctx.quote.bid
        improved = ctx.near_touch + ctx.side.sign * self.fraction(ctx.attempt) * spread
        return less_aggressive(ctx.side, improved,
                               best_passive_price(ctx.quote, ctx.side, ctx.instrument))

    def __repr__(self) -> str:
        return (f"AdaptiveRepeg(min_fraction={self.min_fraction}, "
                f"max_fraction={self.max_fraction}, {self._limits_repr()})")
