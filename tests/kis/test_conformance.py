"""The conformance kit against the KIS emulator: the plugin's httpx client and its
websocket notice stream talk to an emulator on 127.0.0.1 in the test's own event loop.

KIS has no client order ids, so the kit's fingerprint tests run (and the client-id ones
skip, naming the capability); it itemizes executions only on its stream
(``itemized_fills = False``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from venuekit.testing import VenueConformanceTests, VenueUnderTest
from venuekit_kis.emulator import KisEmulator
from venuekit_kis.testing import KisMarketControl
from venuekit_kis.venue import KisVenue


class TestKisVenue(VenueConformanceTests):
    symbol = "005930"

    @asynccontextmanager
    async def venue_under_test(self) -> AsyncIterator[VenueUnderTest]:
        # KIS paper's 2 requests a second would make the kit slow: both sides allow 50.
        async with KisEmulator(seed=3, rate_limit=50.0, token_interval=0.0,
                               heartbeat=1.0) as emulator:
            venue = KisVenue(app_key=emulator.app_key, app_secret=emulator.app_secret,
                             account=emulator.account, hts_id=emulator.hts_id,
                             base_url=emulator.base_url, ws_url=emulator.ws_url,
                             timeout=5, stream_timeout=5, requests="50/1",
                             token_cache="off")
            async with venue:
                yield VenueUnderTest(venue, KisMarketControl(emulator))


