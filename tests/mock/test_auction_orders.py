"""Auction orders on the simulator and the mock venue: market and limit orders that trade
only at a session's closing quote or at the next session's opening quote.

The symbol never moves by itself (100.00 / 100.01, 500 on each side), so each test names
the quote its auction meets.
"""

from __future__ import annotations

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit.model import OrderRequest, OrderState, OrderType, Side
from venuekit_mock import MockVenue

from .helpers import D, flat, run, simulator

ACK, FILLED, EXPIRED = OrderState.ACKNOWLEDGED, OrderState.FILLED, OrderState.EXPIRED


def test_an_opening_order_waits_through_the_session_and_fills_at_the_next_first_quote(
        ) -> None:
    sim = simulator()
    order, events = sim.submit_auction("XYZ", Side.BUY, D(5), auction="open")
    assert (order.state, order.auction, len(events)) == (ACK, "open", 1)
    assert sim.account.reserved_cash > 0
    assert sim.set_quote("XYZ", D("99.00"), D("99.01")) == []  # crossing, but no auction
    sim.advance(2)
    assert sim.end_session() == []  # the close is not its auction
    events = sim.set_quote("XYZ", D("101.00"), D("101.02"))  # the opening quote
    assert [(e.order.state, e.fill.price if e.fill else None) for e in events] == \
        [(FILLED, D("101.02"))]
    assert sim.account.reserved_cash == 0
    assert sim.open_orders() == []


def test_a_session_boundary_closes_then_opens_at_the_next_step() -> None:
    sim = simulator(steps_per_session=3)
    opening, _ = sim.submit_auction("XYZ", Side.BUY, D(2), auction="open")
    closing, _ = sim.submit_auction("XYZ", Side.BUY, D(3), auction="close")
    day, _ = sim.submit("XYZ", Side.BUY, D(1), OrderType.LIMIT, D("90"))
    assert sim.advance(2) == []
    done = [(e.order.venue_order_id, e.order.state) for e in sim.advance(1)]
    assert done == [(closing.venue_order_id, FILLED), (day.venue_order_id, EXPIRED),
                    (opening.venue_order_id, FILLED)]


def test_a_limit_the_auction_quote_does_not_reach_expires_and_frees_its_reservation(
        ) -> None:
    sim = simulator()
    sim.submit_auction("XYZ", Side.BUY, D(4), OrderType.LIMIT, D("99.50"),
                       auction="close")
    events = sim.end_session()
    assert [(e.order.state, e.order.reason) for e in events] == \
        [(EXPIRED, "not executed in the closing auction")]
    assert sim.account.reserved_cash == 0


def test_the_displayed_size_bounds_an_auction_fill_and_the_rest_expires() -> None:
    sim = simulator(flat(size="3"))
    sim.submit_auction("XYZ", Side.BUY, D(5), auction="close")
    events = sim.end_session()
    assert [(e.order.state, e.order.filled_quantity) for e in events] == \
        [(OrderState.PARTIALLY_FILLED, D(3)), (EXPIRED, D(3))]
    assert events[-1].order.reason == "the rest not executed in the closing auction"


def test_a_waiting_auction_order_cancels_and_does_not_replace() -> None:
    sim = simulator()
    order, _ = sim.submit_auction("XYZ", Side.BUY, D(2), OrderType.LIMIT, D("100"),
                                  auction="open")
    with pytest.raises(VenueKitError) as refused:
        sim.replace(order.venue_order_id, limit_price=D("100.01"))
    assert refused.value.code is Code.UNSUPPORTED_ORDER
    cancelled, _ = sim.cancel(order.venue_order_id)
    assert cancelled.state is OrderState.CANCELLED
    sim.end_session()
    assert sim.set_quote("XYZ", D("99.00"), D("99.01")) == []
    assert sim.account.reserved_cash == 0


def test_an_auction_order_is_a_market_or_limit_order() -> None:
    sim = simulator()
    with pytest.raises(VenueKitError) as refused:
        sim.submit_auction("XYZ", Side.SELL, D(1), OrderType.STOP, auction="open")
    assert refused.value.code is Code.INVALID_ORDER
    assert sim.ledger.rejects[-1].code == "INVALID_ORDER"


def test_the_mock_venue_places_an_auction_order_through_its_pipeline() -> None:
    async def main() -> None:
        venue = MockVenue(symbols=[flat()])
        async with venue:
            snapshot = await venue.submit_auction(
                OrderRequest(symbol="XYZ", side="buy", quantity=D(1)), "cid-1",
                auction="close")
            assert snapshot.state is ACK
            venue.control.end_session()
            assert (await venue.open_orders()) == []
            assert venue.simulator.order(snapshot.venue_order_id).state is FILLED

    run(main())
