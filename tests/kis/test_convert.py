"""KIS's answers read into venuekit's model: states, ids, rules, Decimal end to end."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit.model import OrderState, OrderType, Side
from venuekit_kis import convert
from venuekit_kis.krx import KRX_TICKS, band_tick


def row(**fields: Any) -> dict[str, Any]:
    base = {"ord_dt": "20261207", "ord_gno_brno": "00950", "odno": "0000000012",
            "orgn_odno": "", "sll_buy_dvsn_cd": "02", "ord_dvsn_cd": "00", "pdno": "005930",
            "ord_qty": "10", "ord_unpr": "71000", "ord_tmd": "093015", "tot_ccld_qty": "0",
            "avg_prvs": "0", "rmn_qty": "10", "rjct_qty": "0", "cncl_yn": "N"}
    return base | fields


@pytest.mark.parametrize(("fields", "state"), [
    ({}, OrderState.ACKNOWLEDGED),
    ({"tot_ccld_qty": "4", "rmn_qty": "6", "avg_prvs": "71000"}, OrderState.PARTIALLY_FILLED),
    ({"tot_ccld_qty": "10", "rmn_qty": "0", "avg_prvs": "71050.5"}, OrderState.FILLED),
    ({"tot_ccld_qty": "4", "rmn_qty": "0", "avg_prvs": "71000"}, OrderState.CANCELLED),
    ({"rmn_qty": "0"}, OrderState.CANCELLED),
    ({"rmn_qty": "0", "rjct_qty": "10"}, OrderState.REJECTED),
])
def test_an_order_row_reads_as_its_state(fields: dict[str, Any], state: OrderState) -> None:
    snap = convert.snapshot(row(**fields), "kis")
    assert snap.state is state
    assert snap.venue_order_id == "20261207-00950-0000000012"
    assert (snap.symbol, snap.side, snap.order_type) == ("005930", Side.BUY, OrderType.LIMIT)
    assert snap.quantity == Decimal(10) and snap.limit_price == Decimal(71000)
    assert snap.created_at == datetime(2026, 12, 7, 0, 30, 15, tzinfo=UTC)  # 09:30:15 KST


def test_an_average_price_keeps_its_exact_digits() -> None:
    snap = convert.snapshot(row(tot_ccld_qty="3", rmn_qty="7", avg_prvs="71033.3333"), "kis")
    assert snap.average_price == Decimal("71033.3333")
    assert isinstance(snap.filled_quantity, Decimal) and snap.filled_quantity == 3


def test_a_market_order_has_no_limit_price() -> None:
    snap = convert.snapshot(row(ord_dvsn_cd="01", ord_unpr="0", sll_buy_dvsn_cd="01"), "kis")
    assert snap.order_type is OrderType.MARKET and snap.limit_price is None
    assert snap.side is Side.SELL


def test_cancel_rows_are_not_orders() -> None:
    assert convert.is_order_row(row())
    assert not convert.is_order_row(row(odno="0000000013", orgn_odno="0000000012",
                                        cncl_yn="Y"))


@pytest.mark.parametrize("bad", [{"tot_ccld_qty": "4x"}, {"sll_buy_dvsn_cd": "03"},
                                 {"ord_qty": "NaN"}])
def test_a_malformed_row_is_a_typed_error(bad: dict[str, Any]) -> None:
    with pytest.raises(VenueKitError) as info:
        convert.snapshot(row(**bad), "kis")
    assert info.value.code is Code.VENUE_ERROR


@pytest.mark.parametrize("value", ["2026120-00950-1", "20261207-00950", "a-b-c", ""])
def test_an_order_id_that_is_not_kis_is_refused(value: str) -> None:
    with pytest.raises(VenueKitError) as info:
        convert.parse_order_id(value, "kis")
    assert info.value.code is Code.UNKNOWN_ORDER


@pytest.mark.parametrize(("price", "tick"), [
    (1_999, 1), (2_000, 5), (4_995, 5), (5_000, 10), (19_990, 10), (20_000, 50),
    (49_950, 50), (50_000, 100), (199_900, 100), (200_000, 500), (499_500, 500),
    (500_000, 1_000), (1_250_000, 1_000)])
def test_the_krx_band_ticks(price: int, tick: int) -> None:
    assert band_tick(Decimal(price)) == Decimal(tick)


def test_a_stock_follows_the_bands_and_an_etf_its_flat_tick() -> None:
    stock = convert.instrument("005930", {"stck_prpr": "71000", "aspr_unit": "100",
                                          "hts_deal_qty_unit_val": "1"}, "kis")
    assert stock.tick_table == KRX_TICKS and stock.currency == "KRW" and not stock.fractional
    assert stock.tick_at(Decimal(19_990)) == 10 and stock.tick_at(Decimal(210_000)) == 500
    etf = convert.instrument("069500", {"stck_prpr": "35000", "aspr_unit": "5"}, "kis")
    assert etf.tick_table == () and etf.tick_at(Decimal(35_000)) == 5
    halted = convert.instrument("005930", {"stck_prpr": "71000", "aspr_unit": "100",
                                           "temp_stop_yn": "Y"}, "kis")
    assert not halted.tradable


def test_the_account_reads_cash_and_positions() -> None:
    holdings = [{"pdno": "005930", "hldg_qty": "12", "pchs_avg_pric": "70250.5000",
                 "evlu_amt": "852000"}, {"pdno": "000660", "hldg_qty": "0"}]
    totals = {"dnca_tot_amt": "9000000", "prvs_rcdl_excc_amt": "8157000"}
    account = convert.account(holdings, totals, "kis")
    assert account.currency == "KRW" and account.cash == Decimal(8_157_000)
    [position] = account.positions
    assert (position.symbol, position.quantity) == ("005930", Decimal(12))
    assert position.average_price == Decimal("70250.5")


def test_an_order_answer_reads_as_a_valid_snapshot() -> None:
    """The order number, branch and time from KIS's answer; the rest from the request."""
    from venuekit.model import OrderRequest, OrderSnapshot

    request = OrderRequest(symbol="005930", side="buy", quantity="3", order_type="limit",
                           limit_price="71000")
    snap = convert.from_order_answer({"KRX_FWDG_ORD_ORGNO": "00950", "ODNO": "0000000012",
                                      "ORD_TMD": "093015"}, request, "20261207", "kis")
    assert snap == OrderSnapshot.model_validate(snap.model_dump())
    assert snap.venue_order_id == "20261207-00950-0000000012"
    assert snap.created_at == datetime(2026, 12, 7, 0, 30, 15, tzinfo=UTC)
    with pytest.raises(VenueKitError) as info:
        convert.from_order_answer({"ODNO": "", "KRX_FWDG_ORD_ORGNO": "00950"}, request,
                                  "20261207", "kis")
    assert info.value.code is Code.VENUE_ERROR
