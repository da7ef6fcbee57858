"""The built-in plugin: venuekit's own pricers, re-peg policies and settlement reconcilers.

Registered through the same hooks as any third-party plugin (under the name
``venuekit.builtins``), so the built-ins are listed, selected and overridden the same way.
"""

from __future__ import annotations

from .hookspecs import Register, hookimpl
from .pricing import (
    BreakEvenPricer,
    CrossSpreadPricer,
    InsideSpreadPricer,
    MidPricer,
    TouchPricer,
)
from .repeg import AdaptiveRepeg, AggressiveRepeg, ConservativeRepeg, DisabledRepeg

__all__ = [
    "venuekit_register_pricers",
    "venuekit_register_reconcilers",
    "venuekit_register_repeg_policies",
]


@hookimpl
def venuekit_register_pricers(register: Register) -> None:
    register("mid", MidPricer)
    register("touch", TouchPricer)
    register("inside", InsideSpreadPricer)
    register("cross", CrossSpreadPricer)
    register("break-even", BreakEvenPricer)


@hookimpl
def venuekit_register_repeg_policies(register: Register) -> None:
    register("disabled", DisabledRepeg)
    register("conservative", ConservativeRepeg)
    register("aggressive", AggressiveRepeg)
    register("adaptive", AdaptiveRepeg)


@hookimpl
def venuekit_register_reconcilers(register: Register) -> None:
    from .settlement import PollingReconciler, StreamFirstReconciler

    register("stream-first", StreamFirstReconciler)
    register("polling", PollingReconciler)
