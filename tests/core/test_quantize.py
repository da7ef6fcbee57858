"""Quantization: lots round down, prices round side-aware on the tick grid, zero is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from venuekit.errors import ValidationError
from venuekit.model import Instrument, OrderRequest, Side, TickBand
from venuekit.quantize import quantize_request, round_price, round_quantity

D = Decimal
US = Instrument(symbol="AAPL", tick_size="0.01", lot_size="1", min_notional="1")
FRACTIONAL = Instrument(symbol="AAPL", tick_size="0.01", lot_size="0.0001", fractional=True)
KRX = Instrument(symbol="005930", tick_size="1", lot_size="1", currency="KRW", tick_table=(
    TickBand(floor="0", tick="1"), TickBand(floor="2000", tick="5"),
    TickBand(floor="5000", tick="10"), TickBand(floor="20000", tick="50"),
    TickBand(floor="50000", tick="100"), TickBand(floor="200000", tick="500"),
    TickBand(floor="500000", tick="1000")))


@pytest.mark.parametrize(("instrument", "quantity", "expected"), [
    (US, "10.9", "10"), (US, "1", "1"), (FRACTIONAL, "0.123456", "0.1234"),
])
def test_quantities_round_down_to_the_lot(instrument: Instrument, quantity: str,
                                          expected: str) -> None:
    assert round_quantity(instrument, D(quantity)) == D(expected)


def test_a_quantity_that_rounds_to_zero_is_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError) as info:
        round_quantity(US, D("0.7"))
    assert info.value.code.name == "ROUNDS_TO_ZERO"
    assert "0.7" in info.value.message and "lot size 1" in info.value.message


@pytest.mark.parametrize(("price", "side", "passive", "expected"), [
    ("100.005", Side.BUY, True, "100.00"),    # a passive buy never pays more
    ("100.005", Side.SELL, True, "100.01"),   # a passive sell never asks less
    ("100.005", Side.BUY, False, "100.01"),   # an aggressive buy stays marketable
    ("100.005", Side.SELL, False, "100.00"),
    ("100.01", Side.BUY, True, "100.01"),     # on the grid: unchanged
])
def test_prices_round_side_aware(price: str, side: Side, passive: bool, expected: str) -> None:
    assert round_price(US, D(price), side, passive=passive) == D(expected)


@pytest.mark.parametrize(("price", "side", "expected"), [
    ("1999", Side.BUY, "1999"), ("2003", Side.BUY, "2000"), ("2003", Side.SELL, "2005"),
    ("49990", Side.SELL, "50000"), ("51234", Side.BUY, "51200"),
    ("512345", Side.SELL, "513000"),
])
def test_krx_price_bands(price: str, side: Side, expected: str) -> None:
    assert round_price(KRX, D(price), side) == D(expected)


def test_quantize_request_rounds_and_checks_minimums() -> None:
    request = OrderRequest(symbol="AAPL", side="buy", quantity="10.7", order_type="limit",
                           limit_price="189.999")
    quantized = quantize_request(US, request)
    assert quantized.quantity == D(10) and quantized.limit_price == D("189.99")
    assert request.quantity == D("10.7"), "the caller's request is left alone"
    tiny = OrderRequest(symbol="AAPL", side="buy", quantity="1", order_type="limit",
                        limit_price="0.5")
    with pytest.raises(ValidationError, match="BELOW_MIN_NOTIONAL"):
        quantize_request(US, tiny)
    market = OrderRequest(symbol="AAPL", side="buy", quantity="1")
    with pytest.raises(ValidationError, match="BELOW_MIN_NOTIONAL"):
        quantize_request(US, market, reference_price=D("0.5"))
    assert quantize_request(US, market, reference_price=D("190")) is market


def test_quantize_request_refuses_another_symbols_rules() -> None:
    with pytest.raises(ValidationError, match="INVALID_ORDER"):
        quantize_request(KRX, OrderRequest(symbol="AAPL", side="buy", quantity="1"))
