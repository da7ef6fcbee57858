"""The conformance kit against the Binance emulator, with the real ccxt and ccxt.pro clients.

REST (ccxt's async client) and the user-data stream (ccxt.pro, on the websocket API) talk
to an emulator on 127.0.0.1 in the test's own event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from venuekit.testing import VenueConformanceTests, VenueUnderTest
from venuekit_ccxt.emulator import BinanceEmulator
from venuekit_ccxt.testing import BinanceMarketControl
from venuekit_ccxt.venue import BinanceVenue


class TestBinanceVenue(VenueConformanceTests):
    symbol = "BTC/USDT"

    @asynccontextmanager
    async def venue_under_test(self) -> AsyncIterator[VenueUnderTest]:
        # Binance's minute of request weight and 10 s of orders, shortened alike on both
        # sides (the kit's burst test waits a whole window, then sends more than a pool
        # holds). The daily order pool never binds here; its window is shortened so that
        # the kit does not wait a day for it.
        async with BinanceEmulator(seed=3, weight_limit=200, weight_window=3.0,
                                   orders_per_10s=50) as emulator:
            venue = BinanceVenue(base_url=emulator.base_url, api_key=emulator.api_key,
                                 secret=emulator.secret_key, timeout=5, stream_timeout=5,
                                 request_weight="200/3", orders="50/0.5",
                                 orders_daily="200000/3")
            async with venue:
                yield VenueUnderTest(venue, BinanceMarketControl(emulator))
