"""docs/order-types.md says what the venue declares, stop types and brackets included."""

from __future__ import annotations

from tests.support.order_types import declared, documented
from venuekit_mock import MockVenue


def test_the_order_types_page_matches_the_declared_capabilities() -> None:
    assert documented("mock") == declared(MockVenue().capabilities)
