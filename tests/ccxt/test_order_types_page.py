"""docs/order-types.md says what the venues declare, stop types and brackets included."""

from __future__ import annotations

from tests.support.order_types import declared, documented
from venuekit_ccxt.venue import BinanceVenue, CcxtVenue


def test_the_order_types_page_matches_the_declared_capabilities() -> None:
    assert documented("binance") == declared(BinanceVenue.capabilities)
    assert documented("ccxt") == declared(CcxtVenue.capabilities)
