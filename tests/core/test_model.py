"""The domain model: Decimal-only values, request shapes, tick tables, quotes and orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pydantic
import pytest

from venuekit import lifecycle
from venuekit.lifecycle import EventKind
from venuekit.model import (
    Account,
    Fill,
    Instrument,
    Order,
    OrderRequest,
    OrderState,
    OrderType,
    Position,
    Quote,
    Side,
    TickBand,
)

# KRX tick size by price band (KOSPI, KOSDAQ and KONEX alike since 2023-01-25).
KRX_BANDS = [
    ("0", "1"),
    ("2000", "5"),
    ("5000", "10"),
    ("20000", "50"),
    ("50000", "100"),
    ("200000", "500"),
    ("500000", "1000"),
]


def krx_stock(symbol: str = "005930") -> Instrument:
    return Instrument(
        symbol=symbol, tick_size="1", lot_size="1", currency="KRW",
        tick_table=tuple(TickBand(floor=floor, tick=tick) for floor, tick in KRX_BANDS),
    )


def buy(**fields: Any) -> OrderRequest:
    return OrderRequest(symbol="AAPL", side=Side.BUY, **fields)


def only_error(exc: pydantic.ValidationError) -> tuple[str, str]:
    """The location (field name) and message of the single error in ``exc``."""
    errors = exc.errors()
    assert len(errors) == 1, errors
    loc = ".".join(str(part) for part in errors[0]["loc"])
    return loc, errors[0]["msg"]


# --- Decimal only -----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["quantity", "limit_price"])
def test_a_float_is_refused_naming_the_field_and_what_to_pass(field: str) -> None:
    fields: dict[str, Any] = {"quantity": "3", "order_type": "limit", "limit_price": "101.25"}
    fields[field] = 0.1
    with pytest.raises(pydantic.ValidationError) as caught:
        buy(**fields)
    loc, msg = only_error(caught.value)
    assert loc == field
    assert "float" in msg
    assert "string" in msg
    assert "Decimal" in msg
    # The suggestion is the exact text to pass instead, and it would be accepted.
    assert "'0.1'" in msg
    assert field in str(caught.value)


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        (Instrument, {"symbol": "X", "tick_size": 0.01, "lot_size": "1"}, "tick_size"),
        (Quote, {"symbol": "X", "bid": 99.5, "ask": "100"}, "bid"),
        (Fill, {"trade_id": "t", "symbol": "X", "side": "buy", "quantity": "1",
                "price": 10.0}, "price"),
        (Account, {"cash": 1000.0, "buying_power": "1000"}, "cash"),
        (Position, {"symbol": "X", "quantity": 2.5}, "quantity"),
    ],
)
def test_every_model_refuses_floats(model: type[pydantic.BaseModel], fields: dict[str, Any],
                                    field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        model(**fields)
    loc, msg = only_error(caught.value)
    assert loc == field
    assert "floats are not accepted" in msg


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("101.25", Decimal("101.25")),
        (" 7 ", Decimal("7")),
        ("1e2", Decimal("100")),
        (3, Decimal("3")),
        (Decimal("0.00000001"), Decimal("0.00000001")),
    ],
)
def test_strings_ints_and_decimals_become_exact_decimals(given: Any, expected: Decimal) -> None:
    request = buy(quantity=given)
    assert isinstance(request.quantity, Decimal)
    assert request.quantity == expected


def test_decimal_strings_keep_their_exact_value() -> None:
    # The classic float trap: 0.1 + 0.2 != 0.3. With strings it is exact.
    fill_a = Fill(trade_id="a", symbol="X", side="buy", quantity="0.1", price="1")
    fill_b = Fill(trade_id="b", symbol="X", side="buy", quantity="0.2", price="1")
    assert fill_a.quantity + fill_b.quantity == Decimal("0.3")


@pytest.mark.parametrize(
    "given", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf",
              Decimal("NaN"), Decimal("Infinity")],
)
def test_non_finite_numbers_are_refused(given: Any) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        buy(quantity=given)
    loc, msg = only_error(caught.value)
    assert loc == "quantity"
    assert "finite" in msg


def test_a_non_finite_float_is_not_told_to_pass_its_own_text() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        buy(quantity=float("nan"))
    _, msg = only_error(caught.value)
    assert "floats are not accepted" in msg
    assert "'nan'" not in msg


@pytest.mark.parametrize("given", ["", "abc", "1,000", True, False])
def test_garbage_and_booleans_are_refused(given: Any) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        buy(quantity=given)
    loc, _ = only_error(caught.value)
    assert loc == "quantity"


def test_models_are_frozen_and_refuse_unknown_fields() -> None:
    request = buy(quantity="1")
    with pytest.raises(pydantic.ValidationError):
        request.quantity = Decimal(2)  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError) as caught:
        OrderRequest(symbol="AAPL", side="buy", quantity="1", qty="2")  # type: ignore[call-arg]
    assert only_error(caught.value)[0] == "qty"


# --- OrderRequest shape -----------------------------------------------------------------


def test_a_market_order_by_quantity() -> None:
    request = buy(quantity="10")
    assert request.order_type is OrderType.MARKET
    assert request.notional is None
    assert request.limit_price is None


def test_a_market_order_by_notional() -> None:
    request = buy(notional="250.50")
    assert request.quantity is None
    assert request.notional == Decimal("250.50")


def test_a_limit_order() -> None:
    request = buy(quantity="10", order_type="limit", limit_price="101.25")
    assert request.order_type is OrderType.LIMIT
    assert request.limit_price == Decimal("101.25")


@pytest.mark.parametrize("fields", [{}, {"quantity": "1", "notional": "100"}])
def test_exactly_one_of_quantity_and_notional(fields: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError, match="exactly one of quantity or notional"):
        buy(**fields)


def test_a_limit_order_needs_a_limit_price() -> None:
    with pytest.raises(pydantic.ValidationError, match="limit order needs limit_price"):
        buy(quantity="1", order_type="limit")


def test_a_market_order_refuses_a_limit_price() -> None:
    with pytest.raises(pydantic.ValidationError, match="market order takes no limit_price"):
        buy(quantity="1", limit_price="100")


@pytest.mark.parametrize(
    ("field", "others"),
    [
        ("quantity", {}),
        ("notional", {}),
        ("limit_price", {"quantity": "1", "order_type": "limit"}),
    ],
)
@pytest.mark.parametrize("value", ["0", "-1", -5, "-0.0001"])
def test_non_positive_amounts_are_refused(field: str, others: dict[str, Any], value: Any) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        buy(**others, **{field: value})
    loc, msg = only_error(caught.value)
    assert loc == field
    assert "greater than 0" in msg


def test_an_empty_symbol_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        OrderRequest(symbol="", side="buy", quantity="1")


def test_side_helpers() -> None:
    assert Side.BUY.sign == 1
    assert Side.SELL.sign == -1
    assert Side.BUY.opposite is Side.SELL
    assert Side.SELL.opposite is Side.BUY


# --- Instrument and tick tables ---------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        ("1", "1"),
        ("1999", "1"),
        ("1999.5", "1"),
        ("2000", "5"),
        ("4995", "5"),
        ("5000", "10"),
        ("19990", "10"),
        ("20000", "50"),
        ("49950", "50"),
        ("50000", "100"),
        ("199900", "100"),
        ("200000", "500"),
        ("499500", "500"),
        ("500000", "1000"),
        ("2500000", "1000"),
    ],
)
def test_krx_tick_at_each_band_and_boundary(price: str, tick: str) -> None:
    assert krx_stock().tick_at(Decimal(price)) == Decimal(tick)


def test_tick_at_without_a_table_is_the_flat_tick() -> None:
    etf = Instrument(symbol="069500", tick_size="5", lot_size="1", currency="KRW")
    assert etf.tick_at(Decimal("100")) == Decimal(5)
    assert etf.tick_at(Decimal("900000")) == Decimal(5)


def test_tick_at_below_the_first_band_falls_back_to_tick_size() -> None:
    instrument = Instrument(symbol="X", tick_size="0.0001", lot_size="1",
                            tick_table=(TickBand(floor="1", tick="0.01"),))
    assert instrument.tick_at(Decimal("0.5")) == Decimal("0.0001")
    assert instrument.tick_at(Decimal("1")) == Decimal("0.01")


@pytest.mark.parametrize(
    "floors", [["0", "5000", "2000"], ["0", "2000", "2000"]],
    ids=["unsorted", "repeated"],
)
def test_tick_table_floors_must_strictly_increase(floors: list[str]) -> None:
    with pytest.raises(pydantic.ValidationError, match="strictly increasing"):
        Instrument(symbol="X", tick_size="1", lot_size="1",
                   tick_table=tuple(TickBand(floor=f, tick="1") for f in floors))


def test_tick_band_refuses_a_zero_tick() -> None:
    with pytest.raises(pydantic.ValidationError):
        TickBand(floor="0", tick="0")


def test_instrument_defaults() -> None:
    instrument = Instrument(symbol="AAPL", tick_size="0.01", lot_size="1")
    assert instrument.min_quantity == 0
    assert instrument.min_notional == 0
    assert instrument.fractional is False
    assert instrument.tradable is True
    assert instrument.tick_table == ()


# --- Quote ------------------------------------------------------------------------------


def test_quote_mid_spread_and_spread_bps() -> None:
    quote = Quote(symbol="AAPL", bid="99.95", ask="100.05")
    assert quote.mid == Decimal("100")
    assert quote.spread == Decimal("0.10")
    assert quote.spread_bps == Decimal("10")


def test_quote_values_stay_decimal() -> None:
    quote = Quote(symbol="X", bid="1", ask="2")
    assert quote.mid == Decimal("1.5")
    assert isinstance(quote.spread_bps, Decimal)
    assert quote.spread_bps == Decimal(1) / Decimal("1.5") * 10_000


@pytest.mark.parametrize(("bid", "ask"), [("0", "100"), ("100", "0"), ("0", "0")])
def test_a_one_sided_or_empty_book_has_an_infinite_spread(bid: str, ask: str) -> None:
    spread_bps = Quote(symbol="X", bid=bid, ask=ask).spread_bps
    assert spread_bps.is_infinite()
    assert spread_bps > 0
    # Any "spread too wide" limit therefore refuses to trade against it.
    assert spread_bps > Decimal(100)


def test_touch_is_the_price_a_marketable_order_trades_against() -> None:
    quote = Quote(symbol="X", bid="10", ask="11")
    assert quote.touch(Side.BUY) == Decimal(11)
    assert quote.touch(Side.SELL) == Decimal(10)


def test_quote_time_is_aware_utc() -> None:
    at = Quote(symbol="X", bid="1", ask="2").at
    assert at.utcoffset() == timedelta(0)


def test_negative_quote_prices_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        Quote(symbol="X", bid="-1", ask="1")


# --- Fill, Account ----------------------------------------------------------------------


def test_fill_notional_and_refusals() -> None:
    fill = Fill(trade_id="t1", symbol="X", side="sell", quantity="3", price="2.5", fee="0.01")
    assert fill.notional == Decimal("7.5")
    with pytest.raises(pydantic.ValidationError):
        Fill(trade_id="", symbol="X", side="sell", quantity="3", price="2.5")
    with pytest.raises(pydantic.ValidationError):
        Fill(trade_id="t", symbol="X", side="sell", quantity="0", price="2.5")


def test_account_finds_a_position_by_symbol() -> None:
    account = Account(cash="100", buying_power="200",
                      positions=(Position(symbol="AAPL", quantity="3"),))
    position = account.position("AAPL")
    assert position is not None
    assert position.quantity == Decimal(3)
    assert account.position("MSFT") is None


# --- Order ------------------------------------------------------------------------------


def make_order(**overrides: Any) -> Order:
    fields: dict[str, Any] = {
        "id": "vk-1",
        "venue": "mock",
        "request": buy(quantity="10", order_type="limit", limit_price="101.25"),
        "quantity": Decimal(10),
    }
    fields.update(overrides)
    return Order(**fields)


@pytest.mark.parametrize("bad_id", ["", "   ", None])
def test_an_order_id_is_never_empty(bad_id: Any) -> None:
    with pytest.raises(ValueError, match="order id"):
        make_order(id=bad_id)


@pytest.mark.parametrize("field", ["quantity", "limit_price"])
@pytest.mark.parametrize("value", [10.0, 10, "10", Decimal(0), Decimal(-1), Decimal("NaN")])
def test_order_amounts_are_positive_decimals(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"Order.{field}"):
        make_order(**{field: value})


def test_a_new_order_starts_empty_and_takes_the_requested_limit_price() -> None:
    order = make_order()
    assert order.state is OrderState.NEW
    assert order.limit_price == Decimal("101.25")
    assert order.filled_quantity == 0
    assert order.remaining_quantity == Decimal(10)
    assert order.average_price is None
    assert order.fills == []
    assert order.history == []
    assert order.symbol == "AAPL"
    assert order.side is Side.BUY


def test_a_notional_order_has_no_quantity_yet() -> None:
    order = make_order(request=buy(notional="500"), quantity=None)
    assert order.quantity is None
    assert order.remaining_quantity is None
    assert order.limit_price is None


def test_order_repr_is_short_and_plain() -> None:
    order = make_order(request=buy(quantity="10", correlation_id="strategy-secret-tag"))
    assert repr(order) == "Order(id='vk-1', venue='mock', buy 10 AAPL, state=new, filled=0)"


def test_notional_order_repr_shows_the_notional() -> None:
    order = make_order(request=buy(notional="500"), quantity=None)
    assert repr(order) == (
        "Order(id='vk-1', venue='mock', buy notional 500 AAPL, state=new, filled=0)"
    )


def test_order_repr_does_not_grow_with_fills() -> None:
    order = make_order()
    lifecycle.apply(order, EventKind.SUBMIT)
    for n in range(5):
        lifecycle.apply_fill(order, Fill(trade_id=f"t{n}", symbol="AAPL", side="buy",
                                         quantity="1", price="101"))
    text = repr(order)
    assert text == (
        "Order(id='vk-1', venue='mock', buy 10 AAPL, state=partially_filled, filled=5)"
    )
    assert "t0" not in text
    assert "Decimal(" not in text
    assert "OrderState" not in text


def test_orders_compare_by_identity() -> None:
    # Two records with the same fields are still two orders; the tracker keys by object.
    assert make_order() != make_order()
    order = make_order()
    assert order == order
