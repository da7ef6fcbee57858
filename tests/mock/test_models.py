"""Slippage and commission models against the worked examples in docs/venues/mock.md."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from tests.support.helpers import D, flat, simulator
from venuekit.model import OrderType, Side
from venuekit_mock.sim import (
    NoCommission,
    NoSlippage,
    PercentageCommission,
    PercentageSlippage,
    PerShareCommission,
    TieredCommission,
    VolumeImpactSlippage,
    models,
)


def test_module_examples_hold() -> None:
    result = doctest.testmod(models)
    assert result.attempted >= 5 and result.failed == 0


def test_no_slippage_fills_at_the_touch() -> None:
    assert NoSlippage().fill_price(Side.BUY, D("187.50"), D(100), D(300)) == D("187.50")


def test_percentage_slippage_worked_example() -> None:
    # docs: buy 100 at an ask of 187.50 with 10 bps fills at 187.69; a sell at 187.49, 187.30
    sim = simulator(flat("AAPL", "187.495"), slippage=PercentageSlippage(D(10)))
    assert (sim.book("AAPL").bid, sim.book("AAPL").ask) == (D("187.49"), D("187.50"))
    bought, _ = sim.submit("AAPL", Side.BUY, D(100))
    assert bought.filled_notional / bought.filled_quantity == D("187.69")
    sim.set_position("AAPL", D(200), D("180"))
    sold, _ = sim.submit("AAPL", Side.SELL, D(100))
    assert sold.average_price == D("187.30")


def test_slippage_never_passes_the_limit() -> None:
    sim = simulator(flat("AAPL", "187.495"), slippage=PercentageSlippage(D(10)))
    order, _ = sim.submit("AAPL", Side.BUY, D(100), OrderType.LIMIT, D("187.60"))
    assert order.average_price == D("187.60")


def test_volume_impact_worked_example() -> None:
    # docs: buy 250 of 500 displayed at 100.00, temporary 20 bps, permanent 10 bps
    impact = VolumeImpactSlippage(temporary_bps=D(20), permanent_bps=D(10))
    sim = simulator(flat("XYZ", "99.995"), slippage=impact)
    assert (sim.book("XYZ").bid, sim.book("XYZ").ask) == (D("99.99"), D("100.00"))
    order, _ = sim.submit("XYZ", Side.BUY, D(250))
    assert order.average_price == D("100.10")
    # the fair value moved from 99.995 to 100.045 and stays there
    assert (sim.book("XYZ").bid, sim.book("XYZ").ask) == (D("100.04"), D("100.05"))
    sim.advance()
    assert (sim.book("XYZ").bid, sim.book("XYZ").ask) == (D("100.04"), D("100.05"))


def test_volume_impact_participation_is_capped_at_the_displayed_size() -> None:
    impact = VolumeImpactSlippage(temporary_bps=D(20))
    assert impact.fill_price(Side.SELL, D("100.00"), D(900), D(500)) == D("99.80")


def test_percentage_commission_worked_example() -> None:
    # docs: 100 at 187.69 with 10 bps: 18.769, charged 18.77
    assert PercentageCommission(D(10)).order_commission(D(100), D("18769.00"), D(0)) \
        == D("18.77")


def test_tiered_commission_worked_example() -> None:
    tiered = TieredCommission([(D(0), D(10)), (D(1_000_000), D(5)), (D(5_000_000), D(2))])
    assert tiered.order_commission(D(100), D("20000.00"), D(2_500_000)) == D("10.00")
    assert tiered.order_commission(D(100), D("20000.00"), D(0)) == D("20.00")
    assert tiered.order_commission(D(100), D("20000.00"), D(5_000_000)) == D("4.00")


@pytest.mark.parametrize(("quantity", "price", "fee"), [
    ("100", "50.00", "1.00"),     # 0.50, raised to the minimum
    ("1000", "190.00", "5.00"),   # 0.005 per share
    ("10000", "0.40", "40.00"),   # 50.00, capped at 1 % of 4,000.00
])
def test_per_share_commission_worked_examples(quantity: str, price: str, fee: str) -> None:
    model = PerShareCommission(D("0.005"), D("1.00"), D(100))
    notional = D(quantity) * D(price)
    assert model.order_commission(D(quantity), notional, D(0)) == D(fee)


def test_per_share_minimum_is_paid_once_per_order_across_partial_fills() -> None:
    # docs: 100 shares against 60 displayed: the first fill pays the 1.00 minimum, the
    # second nothing more, because the order's total is still 0.50 -> 1.00
    sim = simulator(flat(size="60"), commission=PerShareCommission(D("0.005"), D("1.00")))
    order, events = sim.submit("XYZ", Side.BUY, D(100), OrderType.LIMIT, D("100.01"))
    events += sim.advance()
    fees = [e.fill.fee for e in events if e.fill is not None]
    assert fees == [D("1.00"), D("0.00")]
    assert sim.order(order.venue_order_id).fees == D("1.00")


def test_commission_goes_into_the_fill_fee_and_the_cash() -> None:
    # docs: the full worked example: buy 100 AAPL at 187.50 with 10 bps slippage and a
    # 10 bps commission: fill at 187.69, fee 18.77, cash down 18,787.77
    sim = simulator(flat("AAPL", "187.495"), slippage=PercentageSlippage(D(10)),
                    commission=PercentageCommission(D(10)))
    _, events = sim.submit("AAPL", Side.BUY, D(100))
    fill = events[-1].fill
    assert fill is not None and (fill.price, fill.fee) == (D("187.69"), D("18.77"))
    assert sim.account.cash == D(100_000) - D("18787.77")
    stats = sim.statistics()
    assert stats.commission == D("18.77")
    assert stats.average_slippage_bps == D("10.1333")  # 0.19 on 187.50


def test_no_commission_is_free() -> None:
    assert NoCommission().order_commission(D(5), D(500), D(0)) == 0


@pytest.mark.parametrize("make", [
    lambda: PercentageSlippage(D(-1)),
    lambda: VolumeImpactSlippage(D(10000)),
    lambda: PercentageCommission(D(10000)),
    lambda: TieredCommission([(D(5), D(1))]),
    lambda: PerShareCommission(D("0.005"), maximum_bps=D(0)),
])
def test_models_refuse_nonsense_parameters(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_the_docs_show_these_worked_examples() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "venues" / "mock.md"
    if not page.exists():
        pytest.skip("the docs are not part of this checkout")
    text = page.read_text()
    for figure in ("**187.69**", "**187.30**", "**100.10**", "**100.04 / 100.05**",
                   "**18.77**", "**10.00**", "**1.00**", "**5.00**", "**40.00**",
                   "18,787.77", "**10.1333 bps**", "fee **0.00**"):
        assert figure in text, figure
