"""Positions and P&L by the average-cost method: the worked examples of docs/positions.md,
figure for figure, and how the journal's positions compare with the venue's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from venuekit.fees import Fees, fees_of
from venuekit.model import Account, Fill, Instrument, Position, Quote, Side
from venuekit.positions import PositionLine, positions_from_fills, reconcile_positions

D = Decimal
T0 = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
BUY, SELL = Side.BUY, Side.SELL


def fill(n: int, side: Side, quantity: str, price: str, fee: str = "0", currency: str = "USD",
         symbol: str = "ACME") -> Fill:
    return Fill(trade_id=f"T{n}", symbol=symbol, side=side, quantity=D(quantity),
                price=D(price), fee=D(fee), fee_currency=currency,
                at=T0 + timedelta(seconds=n))


def pair(symbol: str) -> Instrument:
    base, quote = symbol.split("/")
    return Instrument(symbol=symbol, currency=quote, base_currency=base, tick_size=D("0.01"),
                      lot_size=D("0.0001"))


def one(fills: list[Fill], instrument: Instrument | None = None) -> PositionLine:
    [line] = positions_from_fills(
        "v", fills, {instrument.symbol: instrument} if instrument else None).values()
    return line


def test_example_1_buys_at_two_prices_a_partial_sell_and_fees_in_the_quote_currency() -> None:
    line = one([fill(1, BUY, "10", "100", "1")])
    assert (line.quantity, line.cost_basis, line.average_cost) == (10, D("1001"), D("100.1"))

    line.apply(fill(2, BUY, "10", "110", "1"))
    assert (line.quantity, line.cost_basis, line.average_cost) == (20, D("2102"), D("105.1"))

    line.apply(fill(3, SELL, "5", "120", "0.50"))  # (120 - 105.10) x 5 - 0.50
    assert line.realized_pnl == D("74.00")
    assert (line.quantity, line.cost_basis, line.average_cost) == (15, D("1576.5"),
                                                                     D("105.1"))
    line.mark = D(115)  # (115 - 105.10) x 15
    assert line.unrealized_pnl == D("148.50")
    assert line.market_value == D(1725)

    line.apply(fill(4, SELL, "15", "100", "1.50"))  # (100 - 105.10) x 15 - 1.50 = -78.00
    assert line.realized_pnl == D("-4.00")  # paid 2102, received 2098
    assert (line.quantity, line.cost_basis, line.average_cost) == (0, 0, None)
    assert line.unrealized_pnl == 0
    assert (line.bought, line.sold, line.fees, line.fills) == (20, 20, D("4.00"), 4)


def test_example_2_a_fee_in_the_base_asset_changes_the_quantity_held() -> None:
    btc = pair("BTC/USDT")
    line = one([fill(1, BUY, "1", "30000", "0.001", "BTC", "BTC/USDT")], btc)
    assert line.currency == "USDT"
    assert (line.quantity, line.cost_basis) == (D("0.999"), D(30000))
    assert line.average_cost is not None and round(line.average_cost, 2) == D("30030.03")
    assert line.fees == D("30.000")  # 0.001 BTC valued at the trade, for the record

    line.apply(fill(2, SELL, "0.999", "31000", "30.969", "USDT", "BTC/USDT"))
    assert line.realized_pnl == D("938.031")  # 30969 - 30000 - 30.969
    assert (line.quantity, line.cost_basis) == (0, 0)
    assert line.other_fees == {} and line.note is None


def test_example_3_a_fee_in_another_asset_is_listed_and_left_out_of_the_pnl() -> None:
    eth = pair("ETH/USDT")
    line = one([fill(1, BUY, "2", "2000", "0.003", "BNB", "ETH/USDT"),
                fill(2, SELL, "1", "2100", "0.0015", "BNB", "ETH/USDT")], eth)
    assert line.realized_pnl == D(100)
    assert (line.quantity, line.average_cost) == (1, D(2000))
    assert line.other_fees == {"BNB": D("0.0045")} and line.fees == 0
    assert line.note == "fees in other assets (0.0045 BNB) are not in the P&L"


def test_example_4_a_trade_through_zero_closes_the_long_and_opens_a_short() -> None:
    line = one([fill(1, BUY, "10", "100", "1"), fill(2, SELL, "15", "110", "1.50")])
    assert line.realized_pnl == D(98)  # 1100 - 1001 - 1 on the 10 closed
    assert (line.quantity, line.cost_basis, line.average_cost) == (-5, D("-549.5"),
                                                                     D("109.9"))
    line.mark = D(100)
    assert line.unrealized_pnl == D("49.5")  # a short gains as the price falls

    line.apply(fill(3, BUY, "5", "90", "0.50"))
    assert line.realized_pnl == D(197)  # paid 1001 + 450.50, received 1648.50
    assert (line.quantity, line.cost_basis) == (0, 0)


def test_fills_replay_in_time_order_whatever_order_they_come_in() -> None:
    fills = [fill(1, BUY, "10", "100", "1"), fill(2, BUY, "10", "110", "1"),
             fill(3, SELL, "5", "120", "0.50")]
    assert one(list(reversed(fills))).realized_pnl == one(fills).realized_pnl == D("74.00")


def test_every_figure_stays_decimal() -> None:
    line = one([fill(1, BUY, "3", "33.33", "0.01"), fill(2, SELL, "1", "40", "0.01")])
    line.mark = D("35.005")
    for name, value in line.as_dict().items():
        assert not isinstance(value, float), name


def test_the_venues_positions_are_compared_and_a_difference_is_flagged() -> None:
    lines = positions_from_fills("v", [fill(1, BUY, "10", "100"),
                                       fill(2, BUY, "4", "50", symbol="OTHER")])
    account = Account(cash=D(0), buying_power=D(0), positions=(
        Position(symbol="ACME", quantity=D(10)), Position(symbol="OTHER", quantity=D(6)),
        Position(symbol="GIFT", quantity=D(2))))
    quotes = {"ACME": Quote(symbol="ACME", bid=D("101"), ask=D("103"), at=T0)}
    reconcile_positions(lines, "v", account, quotes)
    assert lines["ACME"].difference == 0 and lines["ACME"].note is None
    assert lines["ACME"].mark == D(102) and lines["ACME"].unrealized_pnl == D(20)
    assert lines["OTHER"].difference == 2
    assert lines["OTHER"].note is not None and "the venue holds 6, +2" in lines["OTHER"].note
    assert lines["OTHER"].unrealized_pnl is None  # no quote to mark it at
    gift = lines["GIFT"]  # held at the venue, never traded through the journal
    assert (gift.quantity, gift.venue_quantity, gift.difference) == (0, 2, 2)


@pytest.mark.parametrize("fills", [
    [fill(1, SELL, "5", "100", "1")],
    [fill(1, SELL, "5", "100", "1"), fill(2, SELL, "5", "90", "1")],
])
def test_a_short_position_holds_its_proceeds_as_a_negative_basis(fills: list[Fill]) -> None:
    line = one(fills)
    assert line.quantity < 0 and line.cost_basis < 0
    proceeds = sum((f.price * f.quantity - f.fee for f in fills), D(0))
    assert -line.cost_basis == proceeds


def test_fees_in_the_quote_count_as_they_are_in_the_base_at_their_price_others_apart() -> None:
    """What a rebalance report's ``fees`` of a pair mean: never a sum across assets."""
    btc = pair("BTC/USDT")
    fees = fees_of([fill(1, BUY, "0.5", "60000", "0.0005", "BTC", "BTC/USDT"),
                    fill(2, BUY, "0.5", "61000", "30.5", "USDT", "BTC/USDT"),
                    fill(3, SELL, "0.2", "62000", "0.01", "BNB", "BTC/USDT"),
                    fill(4, SELL, "0.1", "62000", "0", "ETH", "BTC/USDT")], btc)
    assert fees.value == D("30") + D("30.5") and fees.other == {"BNB": D("0.01")}
    assert (fees + Fees(D(1), {"BNB": D("0.02"), "ETH": D(3)})) == Fees(
        D("61.5"), {"BNB": D("0.03"), "ETH": D(3)})
    shares = Instrument(symbol="ACME", tick_size=D("0.01"), lot_size=D(1))
    assert fees_of([fill(5, BUY, "10", "20", "0.35")], shares) == Fees(D("0.35"), {})
