"""Native stop, stop-limit and trailing-stop orders on the simulator and the mock venue.

The market is driven by forced quotes on a symbol that never moves by itself (100.00 /
100.01), so each test names the exact quote at which a trigger must, or must not, fire.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit.model import OrderRequest, OrderState, OrderType, Side, TimeInForce
from venuekit.venue import OrderRef
from venuekit_mock import MockVenue
from venuekit_mock.sim import Simulator, SymbolSpec

from .helpers import D, flat, run, simulator

ACK, FILLED = OrderState.ACKNOWLEDGED, OrderState.FILLED


def holding(quantity: str = "10") -> Simulator:
    sim = simulator()
    sim.set_position("XYZ", D(quantity), D(100))
    return sim


def fills(sim: Simulator, venue_order_id: str) -> list[tuple[D, D]]:
    return [(f.quantity, f.price) for f in sim.ledger.fills_for(venue_order_id=venue_order_id)]


def test_a_sell_stop_fires_when_the_bid_falls_to_it_not_before() -> None:
    sim = holding()
    order, _ = sim.submit("XYZ", Side.SELL, D(4), OrderType.STOP, stop_price=D("99.50"))
    assert (order.state, order.stop_price) == (ACK, D("99.50"))
    assert [o.venue_order_id for o in sim.open_orders()] == [order.venue_order_id]
    assert sim.set_quote("XYZ", D("99.51"), D("99.52")) == []  # one tick above: waits
    sim.advance(3)  # the quote returns to 100.00 / 100.01
    assert sim.order(order.venue_order_id).state is ACK
    events = sim.set_quote("XYZ", D("99.50"), D("99.51"))
    assert [e.order.state for e in events] == [FILLED]
    assert fills(sim, order.venue_order_id) == [(D(4), D("99.50"))]  # at the bid, as a market
    assert sim.order(order.venue_order_id).triggered_at is not None


def test_a_buy_stop_fires_when_the_ask_reaches_it() -> None:
    sim = simulator()
    order, _ = sim.submit("XYZ", Side.BUY, D(3), OrderType.STOP, stop_price=D("100.50"))
    assert sim.set_quote("XYZ", D("100.48"), D("100.49")) == []
    events = sim.set_quote("XYZ", D("100.55"), D("100.56"))  # gaps through: market at the ask
    assert [e.order.state for e in events] == [FILLED]
    assert fills(sim, order.venue_order_id) == [(D(3), D("100.56"))]


def test_a_stop_fires_once_and_its_remainder_trades_on_as_a_market_order() -> None:
    sim = holding("200")
    order, _ = sim.submit("XYZ", Side.SELL, D(150), OrderType.STOP, stop_price=D("99.00"))
    sim.set_quote("XYZ", D("98.90"), D("98.91"), bid_size=D(100))
    assert fills(sim, order.venue_order_id) == [(D(100), D("98.90"))]
    assert sim.order(order.venue_order_id).state is OrderState.PARTIALLY_FILLED
    first = sim.order(order.venue_order_id).triggered_at
    sim.set_quote("XYZ", D("99.50"), D("99.51"))  # back above the stop: the rest still sells
    assert fills(sim, order.venue_order_id)[1:] == [(D(50), D("99.50"))]
    assert sim.order(order.venue_order_id).triggered_at == first
    sim.set_quote("XYZ", D("98.00"), D("98.01"))
    assert len(sim.ledger.fills_for(venue_order_id=order.venue_order_id)) == 2  # never again
    assert sim.account.position("XYZ") == D(50)


def test_a_stop_limit_releases_a_limit_order_that_may_rest() -> None:
    sim = holding()
    order, _ = sim.submit("XYZ", Side.SELL, D(5), OrderType.STOP_LIMIT, D("99.40"),
                          stop_price=D("99.50"))
    assert sim.set_quote("XYZ", D("99.30"), D("99.31")) == []  # fired; 99.30 < its limit
    view = sim.order(order.venue_order_id)
    assert view.triggered_at is not None and view.state is ACK and not fills(sim, view[0])
    sim.set_quote("XYZ", D("99.45"), D("99.46"))  # the resting limit fills at its own price
    assert fills(sim, order.venue_order_id) == [(D(5), D("99.40"))]


def test_a_sell_trailing_stop_follows_the_highest_bid_and_fires_at_its_stop() -> None:
    sim = holding()
    order, _ = sim.submit("XYZ", Side.SELL, D(2), OrderType.TRAILING_STOP,
                          trail_amount=D("0.50"))
    assert (order.mark, order.stop_price) == (D("100.00"), D("99.50"))
    sim.set_quote("XYZ", D("101.20"), D("101.21"))
    sim.set_quote("XYZ", D("100.90"), D("100.91"))  # a dip does not lower the mark
    view = sim.order(order.venue_order_id)
    assert (view.mark, view.stop_price, view.state) == (D("101.20"), D("100.70"), ACK)
    assert sim.set_quote("XYZ", D("100.71"), D("100.72")) == []
    sim.set_quote("XYZ", D("100.70"), D("100.71"))
    assert fills(sim, order.venue_order_id) == [(D(2), D("100.70"))]


def test_a_buy_trailing_stop_by_percent_follows_the_lowest_ask() -> None:
    sim = simulator()
    order, _ = sim.submit("XYZ", Side.BUY, D(1), OrderType.TRAILING_STOP,
                          trail_percent=D(1))
    assert order.stop_price == D("101.0101")  # 100.01 x 1.01, exact
    sim.set_quote("XYZ", D("89.99"), D("90.00"))
    view = sim.order(order.venue_order_id)
    assert (view.mark, view.stop_price) == (D("90.00"), D("90.90"))
    assert sim.set_quote("XYZ", D("90.88"), D("90.89")) == []
    sim.set_quote("XYZ", D("90.89"), D("90.90"))
    assert fills(sim, order.venue_order_id) == [(D(1), D("90.90"))]


def test_an_armed_stop_can_be_cancelled_and_never_fires() -> None:
    sim = holding()
    order, _ = sim.submit("XYZ", Side.SELL, D(10), OrderType.STOP, stop_price=D("99.00"))
    assert sim.account.sellable("XYZ") == D(0)  # the stop holds the shares it may sell
    cancelled, _ = sim.cancel(order.venue_order_id)
    assert cancelled.state is OrderState.CANCELLED and sim.open_orders() == []
    assert sim.account.sellable("XYZ") == D(10)
    assert sim.set_quote("XYZ", D("98.00"), D("98.01")) == []
    assert fills(sim, order.venue_order_id) == []


@pytest.mark.parametrize(("side", "stop", "words"), [
    (Side.BUY, "100.01", "already crossed by the ask 100.01"),
    (Side.BUY, "99.00", "a buy stop must lie above the ask"),
    (Side.SELL, "100.00", "already crossed by the bid 100.00"),
])
def test_a_stop_already_crossed_on_arrival_is_rejected(side: Side, stop: str,
                                                       words: str) -> None:
    sim = holding()
    with pytest.raises(VenueKitError) as info:
        sim.submit("XYZ", side, D(1), OrderType.STOP, stop_price=D(stop))
    assert info.value.code is Code.STOP_CROSSED and words in info.value.message
    assert sim.ledger.rejects[-1].code == "STOP_CROSSED" and sim.open_orders() == []


def test_malformed_stops_are_refused_with_what_to_fix() -> None:
    sim = holding()
    cases = [
        (dict(order_type=OrderType.STOP), Code.INVALID_PRICE, "needs a positive stop price"),
        (dict(order_type=OrderType.STOP, stop_price=D("99.005")), Code.INVALID_PRICE, "tick"),
        (dict(order_type=OrderType.TRAILING_STOP), Code.INVALID_ORDER, "exactly one"),
        (dict(order_type=OrderType.STOP, stop_price=D(99), time_in_force=TimeInForce.IOC),
         Code.UNSUPPORTED_ORDER, "day or gtc"),
        (dict(order_type=OrderType.MARKET, stop_price=D(99)), Code.INVALID_ORDER, "no stop"),
    ]
    for options, code, words in cases:
        with pytest.raises(VenueKitError) as info:
            sim.submit("XYZ", Side.SELL, D(1), **options)  # type: ignore[arg-type]
        assert info.value.code is code and words in info.value.message, options


def test_a_day_stop_expires_at_the_session_close_and_a_stop_is_not_replaced() -> None:
    sim = holding()
    day, _ = sim.submit("XYZ", Side.SELL, D(1), OrderType.STOP, stop_price=D(99))
    gtc, _ = sim.submit("XYZ", Side.SELL, D(1), OrderType.STOP, stop_price=D(99),
                        time_in_force=TimeInForce.GTC)
    with pytest.raises(VenueKitError) as info:
        sim.replace(gtc.venue_order_id, limit_price=D(98))
    assert info.value.code is Code.UNSUPPORTED_ORDER
    sim.end_session()
    assert sim.order(day.venue_order_id).state is OrderState.EXPIRED
    assert sim.order(gtc.venue_order_id).state is ACK
    sim.set_quote("XYZ", D("98.99"), D("99.00"))
    assert fills(sim, gtc.venue_order_id) == [(D(1), D("98.99"))]
    assert fills(sim, day.venue_order_id) == []


def test_stops_fire_at_the_first_market_step_whose_quote_crosses_them() -> None:
    sim = simulator(SymbolSpec("XYZ", D("100.005"), volatility_bps=D(20), size=D(500)),
                    seed=3)
    sim.set_position("XYZ", D(1), D(100))
    stop = sim.book("XYZ").bid - D("0.10")
    order, _ = sim.submit("XYZ", Side.SELL, D(1), OrderType.STOP, stop_price=stop)
    for _ in range(500):
        sim.advance(1)
        bid = sim.book("XYZ").bid
        state = sim.order(order.venue_order_id).state
        if bid > stop:
            assert state is ACK  # not before
            continue
        assert state is FILLED  # not after: at the first quote that crosses it
        assert fills(sim, order.venue_order_id) == [(D(1), bid)]
        break
    else:
        pytest.fail("the walk never reached the stop")


def venue_request(**fields: object) -> OrderRequest:
    return OrderRequest(symbol="XYZ", side="sell", quantity="2", **fields)  # type: ignore[arg-type]


def test_the_mock_venue_serves_stops_natively_and_snapshots_carry_the_stop_price() -> None:
    async def main() -> None:
        async with MockVenue(symbols=[flat()]) as venue:
            caps = venue.capabilities
            assert (caps.stop_orders, caps.stop_limit_orders, caps.trailing_stops,
                    caps.brackets) == (True, True, True, "emulated")
            venue.control.set_position("XYZ", "5", "100")
            placed = await venue.submit(venue_request(order_type="stop_limit",
                                                      stop_price="99.50",
                                                      limit_price="99.40"), "stop-1")
            assert (placed.order_type, placed.stop_price, placed.state) == \
                (OrderType.STOP_LIMIT, D("99.50"), ACK)
            venue.control.set_quote("XYZ", "99.45", "99.46")
            done = await venue.fetch_order(OrderRef(client_order_id="stop-1"))
            assert (done.state, done.average_price) == (FILLED, D("99.45"))
            trailing = await venue.submit(venue_request(order_type="trailing_stop",
                                                        trail_percent="2"), "trail-1")
            assert trailing.stop_price == D("99.45") * D("0.98")
    run(main())


@pytest.mark.parametrize(("mode", "support"), [("emulated", "emulated"), ("none", False)])
def test_without_native_stops_the_venue_refuses_them(mode: str, support: object) -> None:
    async def main() -> None:
        venue = MockVenue.from_config({"symbols": {"XYZ": {"price": "100.005",
                                                           "volatility_bps": "0"}},
                                       "stops": mode, "state_path": "none",
                                       "tick_interval": "none"})
        async with venue:
            caps = venue.capabilities
            assert caps.order_type(OrderType.STOP) == support
            assert caps.trailing_stops == support
            assert caps.brackets == ("emulated" if support else False)
            with pytest.raises(VenueKitError) as info:
                await venue.submit(venue_request(order_type="stop", stop_price="99"), "s-1")
            assert info.value.code is Code.UNSUPPORTED_ORDER
            assert f"stops={mode}" in info.value.message
            assert venue.control.ledger.order_count == 0
    run(main())


def test_an_unknown_stops_mode_is_a_configuration_error() -> None:
    with pytest.raises(VenueKitError) as info:
        MockVenue.from_config({"stops": "sometimes"})
    assert info.value.code is Code.INVALID_CONFIG and "stops" in info.value.message


def test_an_armed_stop_survives_a_restart_of_the_venue(tmp_path: Path) -> None:
    state = tmp_path / "venue.state"

    async def first_life() -> str:
        async with MockVenue(symbols=[flat()], state_path=state) as venue:
            venue.control.set_position("XYZ", "5", "100")
            await venue.submit(venue_request(order_type="trailing_stop",
                                             trail_amount="0.50"), "trail-1")
            placed = await venue.submit(venue_request(order_type="stop",
                                                      stop_price="98.00"), "stop-1")
            venue.control.set_quote("XYZ", "101.00", "101.01")  # the mark moves to 101.00
            return placed.venue_order_id

    async def second_life(stop_id: str) -> None:
        async with MockVenue(symbols=[flat()], state_path=state) as venue:
            sim = venue.simulator
            trail = sim.order(client_order_id="trail-1")
            assert (trail.mark, trail.stop_price, trail.state) == (D("101.00"), D("100.50"),
                                                                    ACK)
            assert sim.order(stop_id).stop_price == D("98.00")
            venue.control.set_quote("XYZ", "100.50", "100.51")
            assert sim.order(client_order_id="trail-1").state is FILLED
            assert sim.order(stop_id).state is ACK
            venue.control.set_quote("XYZ", "97.99", "98.00")
            assert sim.order(stop_id).state is FILLED

    run(second_life(run(first_life())))
