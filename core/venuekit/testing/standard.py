"""The whole kit in one class: what a venue plugin's test module subclasses."""

from __future__ import annotations

from .failures import FailureTests
from .orders import OrderTests
from .strategy_runs import StrategyTests
from .trigger_orders import TriggerTests

__all__ = ["VenueConformanceTests"]


class VenueConformanceTests(OrderTests, FailureTests, StrategyTests, TriggerTests):
    """Every standard test: the order contract, failure handling, strategy runs, and
    stops and brackets where the venue offers them.

    Subclass it as ``Test<YourVenue>``, set ``symbol`` and implement
    ``venue_under_test()``; see :mod:`venuekit.testing`.
    """
