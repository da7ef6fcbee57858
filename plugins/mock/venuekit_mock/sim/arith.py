"""Decimal arithmetic the simulator can rely on, whatever the caller's decimal context.

Every public method of the engine runs under :func:`standard_context`: in the caller's
context when its precision and rounding are the standard ones (28 digits, half-even), which
is the usual case and costs next to nothing, or else in a private copy of the standard
context. So a process that lowered its precision, or changed its rounding,
gets the same prices and fees as every other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    getcontext,
    localcontext,
)
from typing import ParamSpec, TypeVar

__all__ = ["STANDARD", "standard_context"]

STANDARD = Context(prec=28, rounding=ROUND_HALF_EVEN, Emin=-999_999, Emax=999_999,
                   capitals=1, clamp=0, flags=[],
                   traps=[InvalidOperation, DivisionByZero, Overflow])
"""The context the simulator computes in (equal to :data:`decimal.DefaultContext`)."""

P = ParamSpec("P")
R = TypeVar("R")


def standard_context(method: Callable[P, R]) -> Callable[P, R]:
    """Run ``method`` in the standard decimal context (see the module docstring)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        # Precision and rounding decide every result the engine computes; its magnitudes
        # are far from the exponent limits, and it performs no operation a trap would
        # catch. (Checked inline: this runs on every call into the engine.)
        ctx = getcontext()
        if ctx.prec == 28 and ctx.rounding == ROUND_HALF_EVEN:
            return method(*args, **kwargs)
        with localcontext(STANDARD):
            return method(*args, **kwargs)

    return wrapper
