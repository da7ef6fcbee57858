"""What an order would be sent as, worked out before anything is journaled or sent.

:func:`preview` rounds a request to its instrument's grids, as the engine does before it
journals an order, says what the rounding changed (:class:`~venuekit.quantize.Rounding`:
"limit 190.001 rounded to 190.00 (tick 0.01)"), and runs the engine's pre-trade checks
without committing anything: a refused order raises the error the engine would raise,
listing every violation. ``venuekit order`` and ``venuekit place`` call it first, so a
refusal leaves no trace in the journal and a rounding is reported to the user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import OrderRequest
from .quantize import Rounding, roundings
from .validation import PreTradeValidator, ValidationResult

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["Preview", "preview"]

log = logging.getLogger("venuekit.preview")


@dataclass(frozen=True, slots=True)
class Preview:
    """A request as given, as it would be sent, and the pre-trade checks' verdict."""

    request: OrderRequest
    prepared: OrderRequest
    rounded: tuple[Rounding, ...] = ()
    validation: ValidationResult | None = None
    """None when the engine has no pre-trade checks (or checks it cannot preview)."""


async def preview(engine: Engine, request: OrderRequest) -> Preview:
    """``request`` rounded and checked on ``engine``, nothing journaled or sent.

    Raises what :meth:`Engine.submit <venuekit.engine.Engine.submit>` raises before it
    journals: a validation error when the request cannot meet the instrument's rules, the
    error of the first violation (listing them all) when the checks refuse it. The
    engine's :class:`~venuekit.validation.PreTradeValidator` keeps the verdict, so the
    submit that follows does not read the venue again.
    """
    prepared = await engine.prepare(request)
    rounded: tuple[Rounding, ...] = ()
    if prepared is not request:
        rounded = tuple(roundings(await engine.instrument(request.symbol), request, prepared))
        if rounded:
            log.info("order rounded to the instrument's grids",
                     extra={"venue": engine.venue.name, "symbol": request.symbol,
                            "rounded": [r.describe() for r in rounded]})
    result: ValidationResult | None = None
    validator = engine.validator
    if isinstance(validator, PreTradeValidator):
        result = validator.evaluate(prepared, await validator.context(prepared, engine.venue))
        if not result.ok:
            log.info("order refused before sending",
                        extra={"venue": engine.venue.name, "symbol": request.symbol,
                               "side": request.side.value,
                               "violations": [v.code.name for v in result.violations]})
            raise result.to_error()
    return Preview(request, prepared, rounded, result)
