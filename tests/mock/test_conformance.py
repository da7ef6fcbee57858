"""The conformance kit's self-test: the mock venue, the reference integration, passes it.

Three configurations cover both sides of every capability gate: the default mock (client
order ids, an order stream, native replace, native stops), an id-less, stream-less venue
without replace that declares a rate-limit pool (as KIS paper trading does), and one whose
stops the engine emulates. The default mock runs the whole kit once more with its engines
journaling to PostgreSQL (``journal = "postgres"``: a fresh database per engine on the
session's throw-away server).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from venuekit.testing import TriggerTests, VenueConformanceTests, VenueUnderTest
from venuekit.venue import RateLimitPool
from venuekit_mock import FaultPlan, MockVenue
from venuekit_mock.testing import MockMarketControl


class TestMockVenue(VenueConformanceTests):
    symbol = "AAPL"
    options: ClassVar[dict[str, Any]] = {}

    @asynccontextmanager
    async def venue_under_test(self) -> AsyncIterator[VenueUnderTest]:
        # A short retry_after keeps the engine's reactive backoff after an injected 429 brief.
        async with MockVenue(seed=3, faults=FaultPlan(retry_after=0.05),
                             **self.options) as venue:
            yield VenueUnderTest(venue, MockMarketControl(venue))


class TestMockVenueOnPostgres(TestMockVenue):
    """The default mock, its engines journaling to a PostgreSQL book."""

    journal = "postgres"


class TestMockVenueWithoutIdsStreamOrReplace(TestMockVenue):
    symbol = "NVDA"
    options: ClassVar[dict[str, Any]] = {
        "client_order_ids": False, "order_stream": False, "replace": False,
        "rate_limits": [RateLimitPool("orders", 20, 0.5)],
    }


class TestMockVenueWithEmulatedStops(TriggerTests):
    """The engine holds stops and brackets itself (``stops=emulated``): the trigger tests
    end as they do against the simulator's native stops (the rest of the kit does not
    depend on the option)."""

    symbol = "MSFT"

    @asynccontextmanager
    async def venue_under_test(self) -> AsyncIterator[VenueUnderTest]:
        async with MockVenue(seed=3, stops="emulated") as venue:
            yield VenueUnderTest(venue, MockMarketControl(venue))
