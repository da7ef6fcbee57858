"""The whole kit in one class: what a venue plugin's test module subclasses."""

from __future__ import annotations

from .failures import FailureTests
from .orders import OrderTests
from .strategy_runs import StrategyTests

__all__ = ["VenueConformanceTests"]


class VenueConformanceTests(OrderTests, FailureTests, StrategyTests):
    """Every standard test: the order contract, failure handling, and strategy runs.

    Subclass it as ``Test<YourVenue>``, set ``symbol`` and implement
    ``venue_under_test()``; see :mod:`venuekit.testing`.
    """
