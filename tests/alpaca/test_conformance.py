"""The conformance kit against the Alpaca emulator, with the real alpaca-py clients.

REST (TradingClient, StockHistoricalDataClient) and the trade_updates websocket
(TradingStream) talk to an emulator on 127.0.0.1 in the test's own event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from venuekit.testing import VenueConformanceTests, VenueUnderTest
from venuekit_alpaca.emulator import AlpacaEmulator
from venuekit_alpaca.testing import AlpacaMarketControl
from venuekit_alpaca.venue import AlpacaVenue


class TestAlpacaVenue(VenueConformanceTests):
    symbol = "AAPL"

    @asynccontextmanager
    async def venue_under_test(self) -> AsyncIterator[VenueUnderTest]:
        async with AlpacaEmulator(seed=3, rate_limit=40) as emulator:
            # Alpaca's budget is 200 requests a minute; the kit's burst test waits a whole
            # period and then sends more than the pool holds, so both sides use a short
            # window with the same shape (a sliding window of so many requests).
            emulator.budget.period = 2.0
            venue = AlpacaVenue(api_key=emulator.api_key, secret_key=emulator.secret_key,
                                base_url=emulator.base_url, stream_url=emulator.stream_url,
                                data_url=emulator.data_url, timeout=5, stream_timeout=5,
                                rate_limit="40/2")
            async with venue:
                yield VenueUnderTest(venue, AlpacaMarketControl(emulator))
