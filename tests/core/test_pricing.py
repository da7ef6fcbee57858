"""Pricers: worked examples (the docs' numbers), tick bands, books, options, registration."""

from __future__ import annotations

import doctest
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from venuekit import hookimpl
from venuekit.errors import Code, LiquidityError, ValidationError
from venuekit.model import Instrument, Quote, Side, TickBand
from venuekit.plugins import PluginHost
from venuekit.pricing import (
    BreakEvenPricer,
    CrossSpreadPricer,
    InsideSpreadPricer,
    MidPricer,
    Pricer,
    TouchPricer,
    best_passive_price,
    shift_ticks,
)
from venuekit.quantize import round_price
from venuekit.repeg import RepegContext, RepegDecision

DOCS = Path(__file__).resolve().parents[2] / "docs" / "pricing.md"

# KRX tick size by price band, the same for KOSPI, KOSDAQ and KONEX since 2023-01-25.
KRX_BANDS = [("2000", "5"), ("5000", "10"), ("20000", "50"), ("50000", "100"),
             ("200000", "500"), ("500000", "1000")]

XYZ = Instrument(symbol="XYZ", tick_size="0.01", lot_size="1")
KRX = Instrument(symbol="005930", tick_size="1", lot_size="1", currency="KRW",
                 tick_table=tuple(TickBand(floor=f, tick=t) for f, t in KRX_BANDS))
INSTRUMENTS = {"XYZ": XYZ, "KRX": KRX}


def quote(instrument: Instrument, bid: str, ask: str) -> Quote:
    return Quote(symbol=instrument.symbol, bid=bid, ask=ask)


def on_grid(instrument: Instrument, price: Decimal) -> bool:
    return round_price(instrument, price, Side.BUY, passive=True) == price


# The worked examples of docs/pricing.md, written out again so a wrong pricer and a wrong
# table cannot agree by accident.
EXAMPLES = [
    (MidPricer(), XYZ, "100.00", "100.05", "100.02", "100.03"),
    (TouchPricer(), XYZ, "100.00", "100.05", "100.00", "100.05"),
    (InsideSpreadPricer(), XYZ, "100.00", "100.05", "100.01", "100.04"),
    (InsideSpreadPricer(ticks=3), XYZ, "100.00", "100.05", "100.03", "100.02"),
    (InsideSpreadPricer(), XYZ, "100.00", "100.01", "100.00", "100.01"),
    (CrossSpreadPricer(), XYZ, "100.00", "100.05", "100.05", "100.00"),
    (CrossSpreadPricer(ticks=2), XYZ, "100.00", "100.05", "100.07", "99.98"),
    (BreakEvenPricer(trigger_price="100.00", fee_rate="0.001"), XYZ, "100.00", "100.05",
     "99.80", "100.21"),
    (MidPricer(), KRX, "1998", "2010", "2000", "2005"),
    (TouchPricer(), KRX, "1998", "2010", "1998", "2010"),
    (InsideSpreadPricer(), KRX, "1998", "2010", "1999", "2005"),
    (InsideSpreadPricer(ticks=3), KRX, "1998", "2010", "2005", "1999"),
    (CrossSpreadPricer(ticks=2), KRX, "1998", "2010", "2020", "1996"),
    (CrossSpreadPricer(ticks=1), KRX, "2000", "2015", "2020", "1999"),
    (BreakEvenPricer(trigger_price="1999", fee_rate="0.0015"), KRX, "1998", "2010",
     "1993", "2010"),
]


@pytest.mark.parametrize(("pricer", "instrument", "bid", "ask", "buy", "sell"), EXAMPLES,
                         ids=[f"{p!r}-{i.symbol}-{b}-{a}" for p, i, b, a, _, _ in EXAMPLES])
def test_worked_examples(pricer: Pricer, instrument: Instrument, bid: str, ask: str,
                         buy: str, sell: str) -> None:
    book = quote(instrument, bid, ask)
    assert pricer.price(book, Side.BUY, instrument) == Decimal(buy)
    assert pricer.price(book, Side.SELL, instrument) == Decimal(sell)


def _doc_table_rows() -> list[dict[str, str]]:
    lines = DOCS.read_text().splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith("| pricer | options | instrument |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (c.strip().strip("`") for c in line.strip("|").split("|")),
                             strict=True)))
    return rows


def test_docs_worked_example_table_matches_the_code() -> None:
    host = PluginHost(load_entry_points=False)
    rows = _doc_table_rows()
    assert len(rows) == len(EXAMPLES)
    for row in rows:
        options = dict(part.split("=") for part in re.split(r",\s*", row["options"]) if part)
        pricer = host.pricers().get(row["pricer"])(**options)
        instrument = INSTRUMENTS[row["instrument"]]
        book = quote(instrument, row["bid"], row["ask"])
        assert pricer.price(book, Side.BUY, instrument) == Decimal(row["buy"]), row
        assert pricer.price(book, Side.SELL, instrument) == Decimal(row["sell"]), row


def test_docs_code_examples_run() -> None:
    result = doctest.testfile(str(DOCS), module_relative=False, report=True,
                              optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 20
    assert result.failed == 0, "an example in docs/pricing.md no longer matches the code"


# tick bands ---------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "ticks", "end"), [
    ("1998", 2, "2000"), ("1999", 2, "2005"), ("2000", -1, "1999"), ("2005", -2, "1999"),
    ("4995", 1, "5000"), ("5000", -1, "4995"), ("49950", 1, "50000"), ("50000", -1, "49950"),
    ("500000", -1, "499500"), ("499500", 1, "500000"), ("3", -5, "1"), ("7", 0, "7"),
])
def test_shift_ticks_uses_the_band_it_moves_within(start: str, ticks: int, end: str) -> None:
    assert shift_ticks(KRX, Decimal(start), ticks) == Decimal(end)


@pytest.mark.parametrize(("bid", "ask", "buy", "sell"), [
    ("100.00", "100.05", "100.04", "100.01"),
    ("100.00", "100.01", "100.00", "100.01"),  # one tick: no room inside
    ("100.00", "100.00", "100.00", "100.00"),  # locked: join, never behind the touch
    ("100.001", "100.049", "100.04", "100.01"),  # off-grid quotes
])
def test_best_passive_price(bid: str, ask: str, buy: str, sell: str) -> None:
    book = quote(XYZ, bid, ask)
    assert best_passive_price(book, Side.BUY, XYZ) == Decimal(buy)
    assert best_passive_price(book, Side.SELL, XYZ) == Decimal(sell)


def test_cross_spread_from_an_off_grid_ask_stays_marketable() -> None:
    book = quote(XYZ, "100.001", "100.004")
    assert CrossSpreadPricer().price(book, Side.BUY, XYZ) == Decimal("100.01")
    assert CrossSpreadPricer().price(book, Side.SELL, XYZ) == Decimal("100.00")


def test_cross_spread_sell_never_goes_below_the_lowest_tick() -> None:
    book = quote(KRX, "2", "3")
    assert CrossSpreadPricer(ticks=5).price(book, Side.SELL, KRX) == Decimal(1)


ticks_ = st.integers(min_value=1, max_value=600_000)


@given(bid=ticks_, width=st.integers(min_value=1, max_value=400), n=st.integers(1, 50))
def test_inside_spread_rests_between_the_touches_on_krx(bid: int, width: int, n: int) -> None:
    bid_price = round_price(KRX, Decimal(bid), Side.BUY)
    ask_price = shift_ticks(KRX, bid_price, width)
    book = quote(KRX, str(bid_price), str(ask_price))
    buy = InsideSpreadPricer(ticks=n).price(book, Side.BUY, KRX)
    sell = InsideSpreadPricer(ticks=n).price(book, Side.SELL, KRX)
    for price in (buy, sell):
        assert on_grid(KRX, price)
        assert bid_price <= price <= ask_price
    if width > 1:  # room inside: never at the far touch
        assert buy < ask_price and sell > bid_price
        assert buy == min(shift_ticks(KRX, bid_price, n), shift_ticks(KRX, ask_price, -1))
    else:
        assert (buy, sell) == (bid_price, ask_price)


@given(bid=ticks_, width=st.integers(min_value=0, max_value=400))
def test_passive_pricers_never_cross_and_cross_always_does(bid: int, width: int) -> None:
    bid_price = round_price(KRX, Decimal(bid), Side.BUY)
    ask_price = shift_ticks(KRX, bid_price, width)
    book = quote(KRX, str(bid_price), str(ask_price))
    for pricer in (MidPricer(), TouchPricer()):
        assert pricer.price(book, Side.BUY, KRX) <= ask_price
        assert pricer.price(book, Side.SELL, KRX) >= bid_price
    assert CrossSpreadPricer().price(book, Side.BUY, KRX) == ask_price
    assert CrossSpreadPricer().price(book, Side.SELL, KRX) == bid_price


# books --------------------------------------------------------------------------------


@pytest.mark.parametrize("pricer", [MidPricer(), TouchPricer(), InsideSpreadPricer(),
                                    CrossSpreadPricer()], ids=repr)
@pytest.mark.parametrize(("bid", "ask"), [("0", "100.05"), ("100.00", "0"), ("0", "0"),
                                          ("100.06", "100.05")],
                         ids=["no-bid", "no-ask", "empty", "crossed"])
@pytest.mark.parametrize("side", list(Side))
def test_book_pricers_refuse_a_book_they_cannot_price_from(pricer: Pricer, bid: str,
                                                           ask: str, side: Side) -> None:
    with pytest.raises(LiquidityError) as info:
        pricer.price(quote(XYZ, bid, ask), side, XYZ)
    assert info.value.code is Code.NO_LIQUIDITY
    assert info.value.details["symbol"] == "XYZ"


def test_break_even_does_not_need_a_book() -> None:
    pricer = BreakEvenPricer(trigger_price=Decimal("100"), fee_rate=Decimal("0.001"))
    assert pricer.price(quote(XYZ, "0", "0"), Side.SELL, XYZ) == Decimal("100.21")


def test_break_even_without_fees_is_the_trigger_price_on_the_grid() -> None:
    pricer = BreakEvenPricer(trigger_price="2003")
    book = quote(KRX, "2000", "2005")
    assert pricer.price(book, Side.SELL, KRX) == Decimal(2005)
    assert pricer.price(book, Side.BUY, KRX) == Decimal(2000)


@given(trigger=st.decimals(min_value="0.01", max_value="100000", places=2),
       fee=st.decimals(min_value="0", max_value="0.01", places=5))
def test_break_even_round_trip_never_loses(trigger: Decimal, fee: Decimal) -> None:
    pricer = BreakEvenPricer(trigger_price=trigger, fee_rate=fee)
    book = quote(XYZ, "1", "2")
    sell = pricer.price(book, Side.SELL, XYZ)
    assert sell * (1 - fee) >= trigger * (1 + fee)  # long: bought at trigger, sold at sell
    assert on_grid(XYZ, sell)
    try:
        buy = pricer.price(book, Side.BUY, XYZ)
    except ValidationError as exc:  # no positive grid price breaks even
        assert exc.code is Code.INVALID_PRICE
        assert trigger * (1 - fee) < XYZ.tick_size * (1 + fee)
    else:
        assert buy * (1 + fee) <= trigger * (1 - fee)  # short: sold at trigger, bought back
        assert on_grid(XYZ, buy)


def test_break_even_buy_refuses_to_round_up_to_one_tick() -> None:
    pricer = BreakEvenPricer(trigger_price="0.01", fee_rate="0.001")
    with pytest.raises(ValidationError, match="breaks even"):
        pricer.price(quote(XYZ, "0.01", "0.02"), Side.BUY, XYZ)


# options ------------------------------------------------------------------------------


@pytest.mark.parametrize(("factory", "options", "message"), [
    (BreakEvenPricer, {"trigger_price": 100.5}, "pass a string such as '100.5'"),
    (BreakEvenPricer, {"trigger_price": "100", "fee_rate": 0.001}, "fee_rate"),
    (BreakEvenPricer, {"trigger_price": "abc"}, "not a decimal number"),
    (BreakEvenPricer, {"trigger_price": "NaN"}, "finite"),
    (BreakEvenPricer, {"trigger_price": "0"}, "positive"),
    (BreakEvenPricer, {"trigger_price": "100", "fee_rate": "1"}, "below 1"),
    (BreakEvenPricer, {"trigger_price": True}, "got bool"),
    (InsideSpreadPricer, {"ticks": 0}, "at least 1"),
    (InsideSpreadPricer, {"ticks": 1.0}, "integer"),
    (CrossSpreadPricer, {"ticks": -1}, "at least 0"),
    (CrossSpreadPricer, {"ticks": "two"}, "integer"),
])
def test_bad_options_are_refused_with_a_clear_message(factory: Any, options: dict[str, Any],
                                                      message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        factory(**options)


def test_string_options_are_accepted() -> None:
    assert InsideSpreadPricer(ticks="2").ticks == 2
    pricer = BreakEvenPricer(trigger_price=" 100.00 ", fee_rate="0.001")
    assert (pricer.trigger_price, pricer.fee_rate) == (Decimal("100.00"), Decimal("0.001"))
    assert repr(pricer) == "BreakEvenPricer(trigger_price=100.00, fee_rate=0.001)"


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        InsideSpreadPricer(2)  # type: ignore[call-arg]


# registration -------------------------------------------------------------------------


def test_builtins_are_a_listed_plugin_registering_every_name() -> None:
    host = PluginHost(load_entry_points=False)
    info = {p.name: p for p in host.plugins()}["venuekit.builtins"]
    assert info.builtin and info.distribution == "venuekit"
    assert info.hooks == ("venuekit_register_pricers", "venuekit_register_reconcilers",
                          "venuekit_register_repeg_policies")
    assert host.reconcilers().names() == ["polling", "stream-first"]
    assert host.pricers().names() == ["break-even", "cross", "inside", "mid", "touch"]
    assert host.repeg_policies().names() == ["adaptive", "aggressive", "conservative",
                                             "disabled"]
    assert host.pricers().owner("mid") == "venuekit.builtins"
    assert host.pricers().get("inside") is InsideSpreadPricer


def test_builtins_load_with_any_plugin_subset_unless_disabled() -> None:
    only_mock = PluginHost(load_entry_points=False, environ={"VENUEKIT_LOAD_PLUGINS": "mock"})
    assert "venuekit.builtins" in {p.name for p in only_mock.plugins()}
    assert "mid" in only_mock.pricers()
    disabled = PluginHost(load_entry_points=False,
                          environ={"VENUEKIT_DISABLE_PLUGINS": "venuekit.builtins"})
    assert "conservative" not in disabled.repeg_policies()
    assert len(disabled.pricers()) == 0


class HalfSpreadPricer:
    """Half-way between the touch and the mid: a throw-away plugin's pricer."""

    def price(self, quote: Quote, side: Side, instrument: Instrument) -> Decimal:
        near = quote.bid if side is Side.BUY else quote.ask
        return round_price(instrument, (near + quote.mid) / 2, side)


class AlwaysCancelRepeg:
    """A throw-away plugin's policy."""

    def __init__(self, *, reason: str = "plugin says stop") -> None:
        self.reason = reason

    def decide(self, ctx: RepegContext) -> RepegDecision:
        return RepegDecision.cancel(self.reason)


class ThrowAwayPricingPlugin:
    @hookimpl
    def venuekit_register_pricers(self, register: Any) -> None:
        register("half-spread", HalfSpreadPricer)

    @hookimpl
    def venuekit_register_repeg_policies(self, register: Any) -> None:
        register("always-cancel", AlwaysCancelRepeg)


def test_a_plugin_registers_its_own_pricer_and_policy_next_to_the_builtins() -> None:
    host = PluginHost(load_entry_points=False)
    plugin = ThrowAwayPricingPlugin()
    host.register(plugin, name="pricing-throwaway")
    try:
        pricers, policies = host.pricers(), host.repeg_policies()
        assert "mid" in pricers and "conservative" in policies
        assert pricers.owner("half-spread") == "pricing-throwaway"
        pricer: Pricer = pricers.get("half-spread")()
        book = quote(XYZ, "100.00", "100.08")
        assert pricer.price(book, Side.BUY, XYZ) == Decimal("100.02")
        assert pricer.price(book, Side.SELL, XYZ) == Decimal("100.06")
        policy = policies.get("always-cancel")(reason="enough")
        ctx = RepegContext(side=Side.BUY, instrument=XYZ, quote=book,
                           current_price=Decimal("100.02"), attempt=0, elapsed=1.0,
                           remaining=9.0, filled_quantity=Decimal(0),
                           remaining_quantity=Decimal(5))
        decision = policy.decide(ctx)
        assert (decision.action, decision.reason) == ("cancel", "enough")
    finally:
        host.unregister(plugin)
    assert "half-spread" not in host.pricers()
    assert "always-cancel" not in host.repeg_policies()
    assert "mid" in host.pricers()
