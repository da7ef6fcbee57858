"""The matching engine on its own: matching, partial fills, time in force, replace, the
account, and every rejection with the error code users rely on."""

from __future__ import annotations

import pytest

from tests.support.helpers import D, flat, simulator
from venuekit.errors import Code, OrderNotFound, VenueKitError
from venuekit.model import OrderState, OrderType, Side, TimeInForce
from venuekit_mock.sim import KRX_TICK_TABLE, SymbolSpec

BUY, SELL = Side.BUY, Side.SELL
LIMIT = OrderType.LIMIT


def states(events: list) -> list[str]:  # type: ignore[type-arg]
    return [e.order.state.value for e in events]


# matching --------------------------------------------------------------------------------
def test_market_buy_fills_at_the_ask_with_ack_then_fill() -> None:
    sim = simulator()
    order, events = sim.submit("XYZ", BUY, D(10), client_order_id="a-1")
    assert states(events) == ["acknowledged", "filled"]
    assert events[0].fill is None and events[1].fill is not None
    fill = events[1].fill
    assert (fill.price, fill.quantity, fill.trade_id) == (D("100.01"), D(10), "T00000001")
    assert (order.venue_order_id, order.client_order_id) == ("M00000001", "a-1")
    assert order.state is OrderState.FILLED and order.average_price == D("100.01")


def test_limit_order_rests_until_the_quote_crosses_it_then_fills_at_its_price() -> None:
    sim = simulator()
    _, events = sim.submit("XYZ", BUY, D(10), LIMIT, D("99.95"))
    assert states(events) == ["acknowledged"]
    assert sim.advance(3) == []
    events = sim.set_quote("XYZ", D("99.90"), D("99.93"))
    assert states(events) == ["filled"]
    assert events[0].fill is not None and events[0].fill.price == D("99.95")
    assert events[0].fill.liquidity == "maker"


def test_marketable_limit_takes_at_the_touch_not_its_limit() -> None:
    sim = simulator()
    order, _ = sim.submit("XYZ", BUY, D(10), LIMIT, D("100.50"))
    assert order.average_price == D("100.01")


def test_size_above_the_displayed_size_fills_partially_then_across_steps() -> None:
    sim = simulator(flat(size="300"))
    order, events = sim.submit("XYZ", BUY, D(700))
    assert states(events) == ["acknowledged", "partially_filled"]
    assert order.filled_quantity == D(300)
    events = sim.advance()
    assert states(events) == ["partially_filled"]
    events = sim.advance()
    assert states(events) == ["filled"]
    assert [f.quantity for f in sim.ledger.fills] == [D(300), D(300), D(100)]


def test_displayed_size_is_shared_by_takers_within_a_step() -> None:
    sim = simulator(flat(size="100"))
    first, _ = sim.submit("XYZ", BUY, D(80))
    second, _ = sim.submit("XYZ", BUY, D(80))
    assert (first.filled_quantity, second.filled_quantity) == (D(80), D(20))


def test_resting_orders_fill_in_price_then_time_priority() -> None:
    sim = simulator(flat(size="10"))
    low, _ = sim.submit("XYZ", BUY, D(10), LIMIT, D("99.90"))
    early, _ = sim.submit("XYZ", BUY, D(10), LIMIT, D("99.95"))
    late, _ = sim.submit("XYZ", BUY, D(10), LIMIT, D("99.95"))
    events = sim.set_quote("XYZ", D("99.80"), D("99.85"))
    assert [e.order.venue_order_id for e in events] == [early.venue_order_id]
    events = sim.advance()  # displayed sizes refresh; the quote stays (volatility 0)
    assert [e.order.venue_order_id for e in events] == [late.venue_order_id]
    assert sim.order(low.venue_order_id).state is OrderState.ACKNOWLEDGED


def test_lot_rounding_leaves_no_fractional_fill_on_whole_share_instruments() -> None:
    sim = simulator(flat(size="150.5"))
    order, _ = sim.submit("XYZ", BUY, D(200))
    assert order.filled_quantity == D(150)


def test_random_walk_is_deterministic_per_seed_and_stays_on_the_grid() -> None:
    def path(seed: int) -> list[tuple[D, D]]:
        sim = simulator(SymbolSpec("XYZ", D("50.00"), volatility_bps=D(20)), seed=seed)
        quotes = []
        for _ in range(200):
            sim.advance()
            book = sim.book("XYZ")
            assert book.spec.on_tick(book.bid) and book.ask - book.bid == D("0.01")
            quotes.append((book.bid, book.ask))
        return quotes

    assert path(3) == path(3)
    assert path(3) != path(4)
    assert len(set(path(3))) > 20


def test_krx_price_bands_decide_the_tick() -> None:
    spec = SymbolSpec("005930", D(71_050), tick_table=KRX_TICK_TABLE, currency="KRW",
                      volatility_bps=D(0))
    sim = simulator(spec, cash=D(10_000_000), currency="KRW")
    assert (sim.book("005930").bid, sim.book("005930").ask) == (D(71_000), D(71_100))
    with pytest.raises(VenueKitError) as off_tick:
        sim.submit("005930", BUY, D(1), LIMIT, D(71_050))
    assert off_tick.value.code is Code.INVALID_PRICE
    order, _ = sim.submit("005930", BUY, D(1), LIMIT, D(70_900))
    assert order.state is OrderState.ACKNOWLEDGED
    assert spec.tick_at(D(1_999)) == 1 and spec.tick_at(D(2_000)) == 5
    assert spec.ceil_price(D("1999.5")) == D(2_000)



@pytest.mark.parametrize("table", [
    ((D(-1), D(1)),),  # a floor below 0
    ((D(0), D(1)), (D(0), D(5))),  # floors not strictly increasing
    ((D(0), D(0)),),  # a tick that is not positive
    ((D(0), D("Infinity")),),  # not a finite tick
])
def test_a_tick_table_an_instrument_would_refuse_is_refused_up_front(
        table: tuple[tuple[D, D], ...]) -> None:
    with pytest.raises(ValueError, match="tick_table needs strictly increasing floors"):
        SymbolSpec("005930", D(71_050), tick_table=table)

# time in force ---------------------------------------------------------------------------
def test_ioc_remainder_expires_at_once() -> None:
    sim = simulator(flat(size="30"))
    order, events = sim.submit("XYZ", BUY, D(50), time_in_force=TimeInForce.IOC)
    assert states(events) == ["acknowledged", "partially_filled", "expired"]
    assert order.state is OrderState.EXPIRED and order.filled_quantity == D(30)
    assert sim.ledger.cancels[0].kind == "expired" and sim.ledger.cancels[0].remaining == 20


def test_ioc_limit_that_is_not_marketable_expires_unfilled() -> None:
    sim = simulator()
    order, _ = sim.submit("XYZ", BUY, D(5), LIMIT, D("99.00"), TimeInForce.IOC)
    assert order.state is OrderState.EXPIRED and order.filled_quantity == 0


def test_fok_fills_in_full_or_is_rejected() -> None:
    sim = simulator(flat(size="30"))
    order, _ = sim.submit("XYZ", BUY, D(30), time_in_force=TimeInForce.FOK)
    assert order.state is OrderState.FILLED
    with pytest.raises(VenueKitError) as refused:
        sim.submit("XYZ", BUY, D(31), time_in_force=TimeInForce.FOK)
    assert refused.value.code is Code.FILL_OR_KILL_UNFILLABLE
    assert sim.ledger.rejects[-1].code == "FILL_OR_KILL_UNFILLABLE"
    assert len(sim.ledger.orders) == 1


def test_day_orders_expire_at_the_session_close_and_gtc_orders_do_not() -> None:
    sim = simulator(steps_per_session=3)
    day, _ = sim.submit("XYZ", BUY, D(1), LIMIT, D("99.00"), TimeInForce.DAY)
    gtc, _ = sim.submit("XYZ", BUY, D(1), LIMIT, D("99.00"), TimeInForce.GTC)
    assert sim.advance(2) == []
    events = sim.advance()
    assert [(e.order.venue_order_id, e.order.state.value) for e in events] == [
        (day.venue_order_id, "expired")]
    assert sim.order(gtc.venue_order_id).state is OrderState.ACKNOWLEDGED
    assert [o.venue_order_id for o in sim.open_orders()] == [gtc.venue_order_id]


def test_end_session_expires_day_orders_now() -> None:
    sim = simulator()
    sim.submit("XYZ", BUY, D(1), LIMIT, D("99.00"))
    assert states(sim.end_session()) == ["expired"]


# cancel and replace ----------------------------------------------------------------------
def test_cancel_releases_the_reservation_and_is_idempotent() -> None:
    sim = simulator()
    order, _ = sim.submit("XYZ", BUY, D(100), LIMIT, D("99.00"), client_order_id="c-1")
    assert sim.account.buying_power == D(100_000) - D(9_900)
    view, events = sim.cancel(client_order_id="c-1")
    assert view.state is OrderState.CANCELLED and states(events) == ["cancelled"]
    assert sim.account.buying_power == D(100_000)
    again, events = sim.cancel(order.venue_order_id)
    assert again.state is OrderState.CANCELLED and events == []
    assert len(sim.ledger.cancels) == 1


def test_cancel_of_a_filled_order_returns_it_unchanged() -> None:
    sim = simulator()
    order, _ = sim.submit("XYZ", BUY, D(1))
    view, events = sim.cancel(order.venue_order_id)
    assert view.state is OrderState.FILLED and events == []
    assert sim.ledger.cancels == []


def test_unknown_orders_are_a_definitive_not_found() -> None:
    sim = simulator()
    with pytest.raises(OrderNotFound):
        sim.cancel("M99999999")
    with pytest.raises(OrderNotFound):
        sim.order(client_order_id="nope")
    order, _ = sim.submit("XYZ", BUY, D(1), client_order_id="c-1")
    with pytest.raises(OrderNotFound):  # both ids must agree
        sim.order(order.venue_order_id, "c-2")


def test_replace_moves_the_order_and_keeps_old_fills_with_the_old_order() -> None:
    sim = simulator(flat(size="40"))
    old, _ = sim.submit("XYZ", BUY, D(100), LIMIT, D("99.90"), client_order_id="r-1")
    sim.set_quote("XYZ", D("99.80"), D("99.90"))  # fills 40 at 99.90
    new, events = sim.replace(old.venue_order_id, limit_price=D("99.70"),
                              new_client_order_id="r-2")
    assert states(events) == ["replaced", "acknowledged"]
    assert events[0].order.replaced_by == new.venue_order_id
    assert (new.quantity, new.limit_price, new.replaces) == (D(60), D("99.70"),
                                                              old.venue_order_id)
    assert new.order_index == old.order_index and new.client_order_id == "r-2"
    assert sim.order(old.venue_order_id).filled_quantity == D(40)
    assert sim.ledger.replaces[0].new_venue_order_id == new.venue_order_id
    assert sim.account.buying_power == sim.account.cash - D(60) * D("99.70")


def test_replace_that_becomes_marketable_fills() -> None:
    sim = simulator()
    old, _ = sim.submit("XYZ", BUY, D(10), LIMIT, D("99.00"))
    new, events = sim.replace(old.venue_order_id, limit_price=D("100.01"))
    assert states(events) == ["replaced", "acknowledged", "filled"]
    assert new.state is OrderState.FILLED


@pytest.mark.parametrize(("setup", "code"), [
    ("filled", Code.INVALID_ORDER),
    ("market", Code.INVALID_ORDER),
    ("off_tick", Code.INVALID_PRICE),
    ("funds", Code.INSUFFICIENT_FUNDS),
])
def test_refused_replace_leaves_the_old_order_working(setup: str, code: object) -> None:
    sim = simulator(flat(size="1"), cash=D(20_000))
    if setup == "filled":
        old, _ = sim.submit("XYZ", BUY, D(1))
    elif setup == "market":
        old, _ = sim.submit("XYZ", BUY, D(5))
    else:
        old, _ = sim.submit("XYZ", BUY, D(100), LIMIT, D("99.00"))
    before = sim.order(old.venue_order_id)
    price = {"off_tick": D("99.005"), "funds": D("99.00")}.get(setup, D("99.50"))
    quantity = D(1000) if setup == "funds" else None
    with pytest.raises(VenueKitError) as refused:
        sim.replace(old.venue_order_id, limit_price=price, quantity=quantity)
    assert refused.value.code is code
    assert sim.order(old.venue_order_id) == before
    assert sim.account.reserved_cash == (D(9_900) if setup in ("off_tick", "funds") else
                                         sim.account.reserved_cash)


# the account -----------------------------------------------------------------------------
def test_buying_power_counts_working_orders() -> None:
    sim = simulator(cash=D(10_000))
    sim.submit("XYZ", BUY, D(60), LIMIT, D("99.00"))
    assert sim.account.buying_power == D(10_000) - D(5_940)
    with pytest.raises(VenueKitError) as refused:
        sim.submit("XYZ", BUY, D(50), LIMIT, D("99.00"))
    assert refused.value.code is Code.INSUFFICIENT_FUNDS


def test_market_buys_reserve_a_markup_over_the_ask() -> None:
    sim = simulator(cash=D(10_000))
    with pytest.raises(VenueKitError) as refused:  # 99 * 100.01 * 1.02 > 10,000
        sim.submit("XYZ", BUY, D(99))
    assert refused.value.code is Code.INSUFFICIENT_FUNDS
    order, _ = sim.submit("XYZ", BUY, D(98))
    assert order.state is OrderState.FILLED


def test_positions_and_cash_follow_fills() -> None:
    sim = simulator()
    sim.submit("XYZ", BUY, D(10))
    sim.set_quote("XYZ", D("101.00"), D("101.01"))
    sim.submit("XYZ", BUY, D(10))
    holding = sim.account.positions["XYZ"]
    assert holding.quantity == D(20) and holding.average_price == D("100.51")
    sim.submit("XYZ", SELL, D(5))
    assert holding.quantity == D(15) and holding.average_price == D("100.51")
    assert sim.account.cash == D(100_000) - D("1000.10") - D("1010.10") + D("505.00")


def test_sells_cannot_exceed_the_position_without_short_selling() -> None:
    sim = simulator()
    sim.set_position("XYZ", D(10), D(90))
    sim.submit("XYZ", SELL, D(6), LIMIT, D("101.00"))
    with pytest.raises(VenueKitError) as refused:  # 6 of the 10 are reserved
        sim.submit("XYZ", SELL, D(5))
    assert refused.value.code is Code.INSUFFICIENT_POSITION
    order, _ = sim.submit("XYZ", SELL, D(4))
    assert order.state is OrderState.FILLED


def test_short_selling_when_enabled_flips_the_position() -> None:
    sim = simulator(short_selling=True)
    sim.set_position("XYZ", D(5), D(90))
    sim.submit("XYZ", SELL, D(8))
    holding = sim.account.positions["XYZ"]
    assert holding.quantity == D(-3) and holding.average_price == D("100.00")


# rejections ------------------------------------------------------------------------------
def fractional() -> SymbolSpec:
    return SymbolSpec("FRC", D("20.005"), lot_size=D("0.01"), min_quantity=D("0.05"),
                      min_notional=D(5), fractional=True, volatility_bps=D(0))


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"symbol": "NOPE"}, Code.UNKNOWN_SYMBOL),
    ({"limit_price": D("20.001")}, Code.INVALID_PRICE),
    ({"limit_price": D(0)}, Code.INVALID_PRICE),
    ({"quantity": D("1.005")}, Code.INVALID_QUANTITY),
    ({"quantity": D(0)}, Code.INVALID_QUANTITY),
    ({"quantity": D("0.04")}, Code.BELOW_MIN_QUANTITY),
    ({"quantity": D("0.2")}, Code.BELOW_MIN_NOTIONAL),
    ({"quantity": D(10_000)}, Code.INSUFFICIENT_FUNDS),
    ({"side": SELL}, Code.INSUFFICIENT_POSITION),
    ({"client_order_id": "x" * 65}, Code.INVALID_ORDER),
    ({"client_order_id": "no spaces"}, Code.INVALID_ORDER),
    ({"order_type": OrderType.MARKET}, Code.INVALID_ORDER),  # with a limit price
])
def test_each_rule_rejects_with_its_code(kwargs: dict[str, object], code: object) -> None:
    sim = simulator(fractional())
    request: dict[str, object] = {"symbol": "FRC", "side": BUY, "quantity": D(1),
                                  "order_type": LIMIT, "limit_price": D("20.00")}
    request.update(kwargs)
    with pytest.raises(VenueKitError) as refused:
        sim.submit(**request)  # type: ignore[arg-type]
    assert refused.value.code is code
    assert refused.value.venue == "mock"
    reject = sim.ledger.rejects[-1]
    assert reject.code == code.name and reject.order_index == 1
    assert sim.ledger.orders == [] and sim.open_orders() == []


def test_duplicate_client_order_ids_are_refused_even_after_the_first_is_done() -> None:
    sim = simulator()
    sim.submit("XYZ", BUY, D(1), client_order_id="dup")
    for _ in range(2):
        with pytest.raises(VenueKitError) as refused:
            sim.submit("XYZ", BUY, D(1), LIMIT, D("99.00"), client_order_id="dup")
        assert refused.value.code is Code.DUPLICATE_CLIENT_ORDER_ID
    assert len(sim.ledger.orders_with_client_id("dup")) == 1
    assert sim.ledger.duplicate_client_ids() == {}
    assert len(sim.ledger.rejects_with("DUPLICATE_CLIENT_ORDER_ID")) == 2


def test_a_venue_without_client_ids_ignores_them() -> None:
    sim = simulator(client_order_ids=False)
    first, _ = sim.submit("XYZ", BUY, D(1), client_order_id="same")
    second, _ = sim.submit("XYZ", BUY, D(1), client_order_id="same")
    assert first.client_order_id is None and second.client_order_id is None
    assert sim.ledger.fills[0].client_order_id is None
    fingerprint = ("XYZ", BUY, D(1), None)
    assert sim.ledger.duplicate_fingerprints() == {
        fingerprint: [first.venue_order_id, second.venue_order_id]}


def test_halted_symbols_refuse_orders() -> None:
    sim = simulator(flat(tradable=False))
    with pytest.raises(VenueKitError) as refused:
        sim.submit("XYZ", BUY, D(1))
    assert refused.value.code is Code.SYMBOL_HALTED


# statistics and the ledger ---------------------------------------------------------------
def test_statistics_are_computed_from_the_ledger() -> None:
    sim = simulator(flat(size="5"))
    sim.submit("XYZ", BUY, D(3))
    sim.submit("XYZ", BUY, D(4), time_in_force=TimeInForce.IOC)
    order, _ = sim.submit("XYZ", BUY, D(1), LIMIT, D("99.00"))
    sim.cancel(order.venue_order_id)
    with pytest.raises(VenueKitError):
        sim.submit("XYZ", SELL, D(100))
    stats = sim.statistics()
    assert (stats.orders_accepted, stats.orders_rejected, stats.orders_cancelled,
            stats.orders_expired, stats.fills) == (3, 1, 1, 1, 2)
    assert stats.volume == D(5) and stats.notional == D("500.05")
    assert stats.average_slippage_bps == 0


def test_ledger_fills_for_finds_an_order_by_either_id() -> None:
    sim = simulator(flat(size="4"))
    order, _ = sim.submit("XYZ", BUY, D(6), client_order_id="f-1")
    sim.advance()
    by_client = sim.ledger.fills_for("f-1")
    assert [f.quantity for f in by_client] == [D(4), D(2)]
    assert by_client == sim.ledger.fills_for(venue_order_id=order.venue_order_id)
    assert sim.ledger.filled_quantity(order.venue_order_id) == D(6)
    with pytest.raises(ValueError):
        sim.ledger.fills_for()


def test_results_do_not_depend_on_the_callers_decimal_context() -> None:
    import decimal

    def trade() -> list[object]:
        sim = simulator(SymbolSpec("XYZ", D("33.33"), volatility_bps=D(7)), seed=5)
        sim.submit("XYZ", BUY, D(3), LIMIT, D("33.30"))
        sim.advance(50)
        return [(f.price, f.quantity) for f in sim.ledger.fills] + \
            [sim.book("XYZ").bid, sim.account.cash]

    expected = trade()
    with decimal.localcontext(decimal.Context(prec=6, rounding=decimal.ROUND_DOWN)):
        assert trade() == expected
