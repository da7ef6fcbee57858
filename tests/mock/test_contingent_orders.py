"""Brackets, one-triggers-other and one-cancels-other orders on the simulator: exits wait
for their entry, work for what it filled, and one exit trading cancels the other."""

from __future__ import annotations

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit.model import OrderState, OrderType, Side
from venuekit_mock.sim import Simulator

from .helpers import D, simulator

ACK, FILLED, CANCELLED = OrderState.ACKNOWLEDGED, OrderState.FILLED, OrderState.CANCELLED


def bracket(sim: Simulator, quantity: str = "10", **options: object) -> tuple[str, str, str]:
    entry, _ = sim.submit_bracket("XYZ", Side.BUY, D(quantity), OrderType.LIMIT, D("99.00"),
                                  take_profit=D("101.00"), stop_loss=D("98.00"),
                                  **options)  # type: ignore[arg-type]
    take_profit, stop_loss = entry.legs
    return entry.venue_order_id, take_profit, stop_loss


def test_exits_are_held_until_the_entry_fills_then_work_for_its_quantity() -> None:
    sim = simulator()
    entry, take_profit, stop_loss = bracket(sim)
    assert all(sim.order(leg).held for leg in (take_profit, stop_loss))
    assert sim.order(stop_loss).stop_price == D("98.00")
    assert sim.order(stop_loss).order_type is OrderType.STOP
    assert sim.set_quote("XYZ", D("97.90"), D("97.95"), ask_size=D(500)) != []
    # The entry filled at its limit; the stop-loss fired at once (the bid is below it).
    assert sim.order(entry).state is FILLED
    assert sim.order(stop_loss).state is FILLED and sim.order(take_profit).state is CANCELLED
    assert sim.account.position("XYZ") == D(0)


def test_a_partial_fill_of_one_exit_cancels_the_other_and_never_oversells() -> None:
    sim = simulator()
    entry, take_profit, stop_loss = bracket(sim)
    sim.set_quote("XYZ", D("98.95"), D("99.00"))
    assert sim.order(entry).state is FILLED
    assert not sim.order(take_profit).held and sim.order(take_profit).state is ACK
    sim.set_quote("XYZ", D("101.00"), D("101.01"), bid_size=D(4))
    assert sim.order(take_profit).filled_quantity == D(4)
    assert sim.order(stop_loss).state is CANCELLED
    sim.set_quote("XYZ", D("97.00"), D("97.01"))  # below the cancelled stop-loss: nothing
    assert sim.order(stop_loss).filled_quantity == 0
    sim.set_quote("XYZ", D("101.00"), D("101.01"))
    assert sim.order(take_profit).state is FILLED and sim.account.position("XYZ") == 0
    sold = sum(f.quantity for f in sim.ledger.fills if f.side is Side.SELL)
    assert sold == D(10)


def test_an_entry_that_ends_part_filled_releases_exits_for_what_it_filled() -> None:
    sim = simulator()
    entry, take_profit, stop_loss = bracket(sim)
    sim.set_quote("XYZ", D("98.95"), D("99.00"), ask_size=D(6))
    assert sim.order(entry).filled_quantity == D(6) and sim.order(take_profit).held
    sim.cancel(entry)
    for leg in (take_profit, stop_loss):
        view = sim.order(leg)
        assert (view.held, view.quantity, view.state) == (False, D(6), ACK)
    sim.set_quote("XYZ", D("97.99"), D("98.00"))
    assert sim.order(stop_loss).filled_quantity == D(6)
    assert sim.account.position("XYZ") == 0


def test_an_entry_cancelled_unfilled_cancels_its_held_exits() -> None:
    sim = simulator()
    entry, take_profit, stop_loss = bracket(sim)
    sim.cancel(entry)
    assert [sim.order(v).state for v in (entry, take_profit, stop_loss)] == [CANCELLED] * 3
    assert sim.open_orders() == []


def test_an_oto_has_one_exit_and_a_stop_limit_stop_loss() -> None:
    sim = simulator()
    entry, _ = sim.submit_bracket("XYZ", Side.BUY, D(2), stop_loss=D("99.50"),
                                  stop_loss_limit=D("99.40"))
    (stop_loss,) = entry.legs
    assert entry.state is FILLED  # a market entry fills at once; the exit now works
    view = sim.order(stop_loss)
    assert (view.order_type, view.held, view.quantity) == (OrderType.STOP_LIMIT, False, D(2))
    sim.set_quote("XYZ", D("99.45"), D("99.46"))
    assert sim.order(stop_loss).state is FILLED


def test_an_oco_pair_works_at_once_and_the_first_fill_cancels_the_other() -> None:
    sim = simulator()
    sim.set_position("XYZ", D(5), D(100))
    profit, _ = sim.submit_oco("XYZ", Side.SELL, D(5), take_profit=D("100.50"),
                               stop_loss=D("99.50"))
    (loss,) = profit.legs
    assert sim.order(loss).parent == profit.venue_order_id
    sim.set_quote("XYZ", D("100.50"), D("100.51"))
    assert sim.order(profit.venue_order_id).state is FILLED
    assert sim.order(loss).state is CANCELLED
    assert sim.account.position("XYZ") == 0


def test_cancelling_one_of_a_pair_cancels_the_other() -> None:
    sim = simulator()
    sim.set_position("XYZ", D(5), D(100))
    profit, _ = sim.submit_oco("XYZ", Side.SELL, D(5), take_profit=D("100.50"),
                               stop_loss=D("99.50"))
    sim.cancel(profit.legs[0])
    assert sim.order(profit.venue_order_id).state is CANCELLED and sim.open_orders() == []


@pytest.mark.parametrize(("options", "words"), [
    ({"take_profit": D("99.00"), "stop_loss": D("98.00")}, "the take-profit 99.00 must be"),
    ({"take_profit": D("101.00"), "stop_loss": D("99.00")}, "the stop-loss 99.00 must be"),
    ({"take_profit": D("101.005")}, "tick"),
])
def test_exits_on_the_wrong_side_of_the_entry_are_refused(options: dict[str, D],
                                                          words: str) -> None:
    sim = simulator()
    with pytest.raises(VenueKitError) as info:
        sim.submit_bracket("XYZ", Side.BUY, D(1), OrderType.LIMIT, D("99.00"), **options)
    assert info.value.code is Code.INVALID_PRICE and words in info.value.message
    assert sim.open_orders() == [] and sim.ledger.order_count == 0


def test_a_replaced_take_profit_stays_paired_with_its_stop_loss() -> None:
    sim = simulator()
    entry, take_profit, stop_loss = bracket(sim)
    with pytest.raises(VenueKitError) as info:
        sim.replace(take_profit, limit_price=D("102.00"))
    assert info.value.code is Code.UNSUPPORTED_ORDER and "held" in info.value.message
    sim.set_quote("XYZ", D("98.95"), D("99.00"))
    moved, _ = sim.replace(take_profit, limit_price=D("102.00"))
    assert sim.order(entry).legs == (moved.venue_order_id, stop_loss)
    assert sim.order(stop_loss).oco == moved.venue_order_id
    sim.set_quote("XYZ", D("102.00"), D("102.01"), bid_size=D(3))
    assert sim.order(stop_loss).state is CANCELLED
    sim.set_quote("XYZ", D("97.00"), D("97.01"))
    assert sum(f.quantity for f in sim.ledger.fills if f.side is Side.SELL) == D(3)
