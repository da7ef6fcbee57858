"""The conformance kit: standard tests every venue plugin runs against its mock or emulator.

A plugin's test module subclasses :class:`VenueConformanceTests` (or any of
:class:`OrderTests`, :class:`FailureTests`, :class:`StrategyTests`, :class:`TriggerTests`),
sets ``symbol`` and
implements ``venue_under_test()``, which yields a :class:`VenueUnderTest`: the connected
venue and a :class:`MarketControl` handle on its simulated market::

    from contextlib import asynccontextmanager
    from venuekit.testing import VenueConformanceTests, VenueUnderTest

    class TestMyVenue(VenueConformanceTests):
        symbol = "AAPL"

        @asynccontextmanager
        async def venue_under_test(self):
            async with MyEmulator() as emulator, MyVenue(url=emulator.url) as venue:
                yield VenueUnderTest(venue, MyMarketControl(emulator))

Standard tests are gated only by the venue's declared capabilities (a test that does not
apply skips, naming the capability). The kit's pytest plugin (entry point ``pytest11``)
fails collection when a subclass deletes a standard test or overrides one without
``@pytest.mark.xfail(reason=...)``.

Importing this package does not import pytest: :mod:`venuekit.testing.control` (the
handle's protocol and ledger records) is usable by emulators; the test classes load on
first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY: dict[str, str] = {
    "FaultKind": "control", "LedgerFill": "control", "LedgerOrder": "control",
    "MarketControl": "control",
    "VenueUnderTest": "base", "KitSession": "base", "Gate": "base",
    "VenueTestBase": "base", "OrderTests": "orders", "FailureTests": "failures",
    "StrategyTests": "strategy_runs", "TriggerTests": "trigger_orders",
    "VenueConformanceTests": "standard",
}

__all__ = [
    "FailureTests",
    "FaultKind",
    "Gate",
    "KitSession",
    "LedgerFill",
    "LedgerOrder",
    "MarketControl",
    "OrderTests",
    "StrategyTests",
    "TriggerTests",
    "VenueConformanceTests",
    "VenueTestBase",
    "VenueUnderTest",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'venuekit.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"venuekit.testing.{module}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .base import Gate, KitSession, VenueTestBase, VenueUnderTest
    from .control import FaultKind, LedgerFill, LedgerOrder, MarketControl
    from .failures import FailureTests
    from .orders import OrderTests
    from .standard import VenueConformanceTests
    from .strategy_runs import StrategyTests
    from .trigger_orders import TriggerTests
