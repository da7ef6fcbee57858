"""Re-peg policies: escalation over attempts, caps, no churn, abandon, attempt limits."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.core.test_pricing import KRX, XYZ, on_grid, quote
from venuekit.model import Instrument, Side
from venuekit.pricing import shift_ticks
from venuekit.quantize import round_price
from venuekit.repeg import (
    AdaptiveRepeg,
    AggressiveRepeg,
    BoundedRepeg,
    ConservativeRepeg,
    DisabledRepeg,
    RepegAction,
    RepegContext,
    RepegDecision,
    RepegPolicy,
)

KEEP, REPRICE, CANCEL, MARKET = (RepegAction.KEEP, RepegAction.REPRICE, RepegAction.CANCEL,
                                 RepegAction.MARKET)


def context(side: Side = Side.BUY, bid: str = "100.00", ask: str = "100.10",
            current: str = "100.00", attempt: int = 0, instrument: Instrument = XYZ,
            remaining_quantity: str = "100") -> RepegContext:
    return RepegContext(side=side, instrument=instrument, quote=quote(instrument, bid, ask),
                        current_price=Decimal(current), attempt=attempt, elapsed=1.5,
                        remaining=28.5, filled_quantity=Decimal(0),
                        remaining_quantity=Decimal(remaining_quantity))


def sequence(policy: RepegPolicy, ctx: RepegContext, attempts: int = 6) -> list[str]:
    """What the policy does at attempts 0.. with the quote held still: prices or actions."""
    out = []
    for attempt in range(attempts):
        decision = policy.decide(replace(ctx, attempt=attempt))
        out.append(str(decision.price) if decision.price is not None else decision.action.value)
    return out


# escalation ---------------------------------------------------------------------------


def test_conservative_escalates_by_a_cent_to_its_maximum_then_goes_to_market() -> None:
    assert sequence(ConservativeRepeg(), context()) == [
        "100.01", "100.02", "100.03", "100.04", "100.05", "market"]
    assert sequence(ConservativeRepeg(), context(Side.SELL, current="100.10")) == [
        "100.09", "100.08", "100.07", "100.06", "100.05", "market"]


def test_conservative_holds_at_max_improvement() -> None:
    policy = ConservativeRepeg(base_improvement="0.02", step="0.03", max_improvement="0.06",
                               max_attempts=6)
    assert [policy.improvement(n) for n in range(5)] == [
        Decimal("0.02"), Decimal("0.05"), Decimal("0.06"), Decimal("0.06"), Decimal("0.06")]
    assert sequence(policy, context(), attempts=7) == [
        "100.02", "100.05", "100.06", "100.06", "100.06", "100.06", "market"]


def test_conservative_never_crosses_the_far_touch() -> None:
    ctx = context(ask="100.03", current="100.02")
    assert sequence(ConservativeRepeg(), ctx) == [
        "100.01", "keep", "keep", "keep", "keep", "market"]
    sell = context(Side.SELL, ask="100.03", current="100.01")
    assert sequence(ConservativeRepeg(), sell) == [
        "100.02", "keep", "keep", "keep", "keep", "market"]


def test_adaptive_improves_by_a_growing_fraction_of_the_spread() -> None:
    policy = AdaptiveRepeg()
    assert [policy.fraction(n) for n in range(5)] == [
        Decimal("0.2"), Decimal("0.4"), Decimal("0.6"), Decimal("0.8"), Decimal(1)]
    assert sequence(policy, context()) == [
        "100.02", "100.04", "100.06", "100.08", "100.09", "market"]
    assert sequence(policy, context(Side.SELL, current="100.10")) == [
        "100.08", "100.06", "100.04", "100.02", "100.01", "market"]


def test_adaptive_scales_with_the_spread() -> None:
    policy = AdaptiveRepeg(min_fraction="0.5", max_fraction="0.5")
    assert policy.decide(context(ask="100.10")).price == Decimal("100.05")
    assert policy.decide(context(ask="100.40")).price == Decimal("100.20")
    assert sequence(policy, context(ask="100.03"))[:5] == ["100.01"] * 5  # 0.015 rounds down


def test_adaptive_with_a_single_attempt_uses_the_max_fraction() -> None:
    policy = AdaptiveRepeg(min_fraction="0.1", max_fraction="0.5", max_attempts=1)
    assert sequence(policy, context(), attempts=2) == ["100.05", "market"]


def test_aggressive_climbs_a_tick_per_repeg_as_the_bid_follows_it_then_stops_at_the_ask(
        ) -> None:
    policy = AggressiveRepeg()
    price, seen = Decimal("100.00"), []
    for attempt in range(4):
        # The order it placed is now the best bid.
        decision = policy.decide(context(bid=str(price), ask="100.03", current=str(price),
                                         attempt=attempt))
        if decision.action is KEEP:
            seen.append("keep")
            continue
        assert decision.price is not None
        price = decision.price
        seen.append(str(price))
    assert seen == ["100.01", "100.02", "100.03", "keep"]


@pytest.mark.parametrize(("side", "ticks", "expected"), [
    (Side.BUY, 2, "100.02"), (Side.BUY, 50, "100.10"),
    (Side.SELL, 2, "100.08"), (Side.SELL, 50, "100.00"),
])
def test_aggressive_may_reach_the_far_touch_but_never_beyond(side: Side, ticks: int,
                                                             expected: str) -> None:
    current = "100.00" if side is Side.BUY else "100.10"
    decision = AggressiveRepeg(improvement_ticks=ticks).decide(context(side, current=current))
    assert decision == RepegDecision(REPRICE, Decimal(expected),
                                     f"from {current} to {expected}")


def test_aggressive_on_krx_steps_across_the_band_floor() -> None:
    decision = AggressiveRepeg(improvement_ticks=3).decide(
        context(bid="1998", ask="2015", current="1998", instrument=KRX))
    assert decision.price == Decimal("2005")  # 1999, 2000, then a 5-won tick
    sell = AggressiveRepeg().decide(
        context(Side.SELL, bid="1990", ask="2000", current="2000", instrument=KRX))
    assert sell.price == Decimal("1999")


def test_policies_follow_the_market_away_too() -> None:
    # The bid fell from 100.00 to 99.50; a buy resting at 100.01 is re-pegged down.
    decision = ConservativeRepeg().decide(context(bid="99.50", ask="99.60", current="100.01"))
    assert decision.price == Decimal("99.51")


def test_disabled_always_keeps() -> None:
    policy = DisabledRepeg()
    for ctx in (context(), context(attempt=99), context(ask="150"), context(bid="0")):
        assert policy.decide(ctx) == RepegDecision.keep("re-pegging is disabled")


# no churn -----------------------------------------------------------------------------


def test_an_improvement_that_rounds_away_keeps_the_order() -> None:
    ctx = context(bid="50000", ask="50300", current="50000", instrument=KRX)
    assert ConservativeRepeg().decide(ctx) == RepegDecision.keep("unchanged after rounding")
    # With a 10-bps spread the first fifth of a 0.03 spread rounds back to the bid too.
    assert AdaptiveRepeg().decide(context(ask="100.03")).reason == "unchanged after rounding"


def test_an_off_grid_target_is_rounded_before_it_is_compared() -> None:
    # 100.00 + 0.005 is not a price; rounded passively it is 100.00, where the order rests.
    policy = ConservativeRepeg(base_improvement="0.005")
    assert policy.decide(context()).action is KEEP
    # A price written with another exponent is still the same price.
    assert policy.decide(context(current="100.0")).action is KEEP


# Without the spread limit, so that wide KRX books are re-pegged rather than abandoned.
POLICIES = [ConservativeRepeg(max_spread_bps=None), AggressiveRepeg(max_spread_bps=None),
            AdaptiveRepeg(max_spread_bps=None),
            AggressiveRepeg(improvement_ticks=7, max_spread_bps=None),
            ConservativeRepeg(base_improvement="0.3", max_improvement="9", max_spread_bps=None)]


@pytest.mark.parametrize("policy", POLICIES, ids=repr)
@given(bid=st.integers(min_value=1, max_value=600_000), width=st.integers(1, 40),
       attempt=st.integers(0, 4), side=st.sampled_from(list(Side)))
def test_a_reprice_is_on_the_grid_and_asking_again_keeps_it(
        policy: BoundedRepeg, bid: int, width: int, attempt: int, side: Side) -> None:
    bid_price = round_price(KRX, Decimal(bid), Side.BUY)
    ask_price = shift_ticks(KRX, bid_price, width)
    near = bid_price if side is Side.BUY else ask_price
    ctx = context(side, bid=str(bid_price), ask=str(ask_price), current=str(near),
                  attempt=attempt, instrument=KRX)
    decision = policy.decide(ctx)
    if decision.action is KEEP:
        return
    assert decision.action is REPRICE and decision.price is not None
    price = decision.price
    assert on_grid(KRX, price) and price != ctx.current_price
    assert bid_price <= price <= ask_price
    if isinstance(policy, AggressiveRepeg):
        assert price == min(shift_ticks(KRX, bid_price, policy.improvement_ticks), ask_price) \
            if side is Side.BUY else \
            price == max(shift_ticks(KRX, ask_price, -policy.improvement_ticks), bid_price)
    else:  # passive: strictly inside the spread
        assert bid_price < price < ask_price
    again = policy.decide(replace(ctx, current_price=price))
    assert again == RepegDecision.keep("unchanged after rounding")


# abandon and limits -------------------------------------------------------------------


@pytest.mark.parametrize("policy", [ConservativeRepeg(), AggressiveRepeg(), AdaptiveRepeg()],
                         ids=repr)
def test_a_wide_spread_abandons(policy: RepegPolicy) -> None:
    decision = policy.decide(context(ask="102.00"))
    assert decision == RepegDecision.cancel("abandon: spread 198.0 bps exceeds 100 bps")


@pytest.mark.parametrize(("bid", "ask"), [("0", "100.10"), ("100.00", "0"), ("0", "0")])
def test_a_one_sided_book_abandons(bid: str, ask: str) -> None:
    decision = ConservativeRepeg().decide(context(bid=bid, ask=ask))
    assert decision == RepegDecision.cancel("abandon: one-sided or empty book")


def test_a_spread_exactly_at_the_limit_is_not_abandoned() -> None:
    # 2.00 wide around a 200.00 mid is exactly 100 bps.
    ctx = context(bid="199.00", ask="201.00", current="199.00")
    assert ctx.quote.spread_bps == 100
    assert ConservativeRepeg().decide(ctx).action is REPRICE
    assert ConservativeRepeg(max_spread_bps="99.9").decide(ctx).action is CANCEL


def test_the_spread_limit_can_be_raised_or_turned_off() -> None:
    wide = context(ask="102.00")
    assert ConservativeRepeg(max_spread_bps=250).decide(wide).price == Decimal("100.01")
    assert ConservativeRepeg(max_spread_bps=None).decide(wide).price == Decimal("100.01")
    one_sided = context(ask="0")
    assert ConservativeRepeg(max_spread_bps=None).decide(one_sided).action is KEEP


def test_abandon_wins_over_exhausted_attempts() -> None:
    decision = ConservativeRepeg().decide(context(ask="102.00", attempt=5))
    assert decision.action is CANCEL and decision.reason.startswith("abandon")


@pytest.mark.parametrize(("on_exhausted", "action"), [
    ("market", MARKET), ("cancel", CANCEL), (RepegAction.CANCEL, CANCEL), ("MARKET", MARKET)])
def test_max_attempts_then_market_or_cancel(on_exhausted: Any, action: RepegAction) -> None:
    policy = AggressiveRepeg(max_attempts=3, on_exhausted=on_exhausted)
    assert policy.decide(context(attempt=2)).action is REPRICE
    for attempt in (3, 4, 10):
        decision = policy.decide(context(attempt=attempt))
        assert decision == RepegDecision(action, None, "max attempts reached (3 re-pegs)")


def test_a_crossed_book_keeps_the_order() -> None:
    decision = AdaptiveRepeg().decide(context(bid="100.10", ask="100.05"))
    assert decision.action is KEEP and "no consistent book" in decision.reason


def test_nothing_left_to_fill_keeps() -> None:
    decision = ConservativeRepeg().decide(context(remaining_quantity="0", ask="500"))
    assert decision == RepegDecision.keep("nothing left to fill")


def test_decisions_are_logged_with_structured_fields(caplog: pytest.LogCaptureFixture
                                                     ) -> None:
    with caplog.at_level(logging.DEBUG, logger="venuekit.repeg"):
        ConservativeRepeg().decide(context(attempt=1))
    record = next(r for r in caplog.records if r.getMessage() == "re-peg decision")
    fields = record.__dict__
    assert (fields["action"], fields["price"], fields["attempt"]) == ("reprice", "100.02", 1)
    assert fields["symbol"] == "XYZ" and fields["current_price"] == "100.00"


# shapes and options -------------------------------------------------------------------


def test_decision_price_is_given_exactly_for_a_reprice() -> None:
    with pytest.raises(ValueError, match="needs a price"):
        RepegDecision(REPRICE, None, "x")
    with pytest.raises(ValueError, match="keep decision takes no price"):
        RepegDecision(KEEP, Decimal(1), "x")
    with pytest.raises(ValueError, match="positive"):
        RepegDecision.reprice(Decimal(0), "x")


def test_context_refuses_floats_and_negative_attempts() -> None:
    with pytest.raises(ValueError, match="current_price must be a Decimal"):
        replace(context(), current_price=100.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="attempt"):
        replace(context(), attempt=-1)


@pytest.mark.parametrize(("factory", "options", "message"), [
    (ConservativeRepeg, {"base_improvement": 0.01}, "pass a string such as '0.01'"),
    (ConservativeRepeg, {"max_improvement": "0.005"}, "below base_improvement"),
    (ConservativeRepeg, {"step": "-0.01"}, "cannot be negative"),
    (AdaptiveRepeg, {"max_fraction": "1.5"}, "max_fraction <= 1"),
    (AdaptiveRepeg, {"min_fraction": "0.8", "max_fraction": "0.5"}, "min_fraction <="),
    (AggressiveRepeg, {"improvement_ticks": 0}, "at least 1"),
    (AggressiveRepeg, {"max_attempts": 0}, "max_attempts must be at least 1"),
    (AggressiveRepeg, {"max_spread_bps": 50.0}, "max_spread_bps"),
    (AggressiveRepeg, {"max_spread_bps": "0"}, "positive"),
    (AggressiveRepeg, {"on_exhausted": "keep"}, "'market' or 'cancel'"),
])
def test_bad_options_are_refused_with_a_clear_message(factory: Any, options: dict[str, Any],
                                                      message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        factory(**options)


def test_disabled_takes_no_options() -> None:
    with pytest.raises(TypeError):
        DisabledRepeg(max_attempts=3)  # type: ignore[call-arg]


def test_options_from_strings_and_repr() -> None:
    policy = ConservativeRepeg(base_improvement="0.02", max_attempts="3",
                               max_spread_bps="50", on_exhausted="cancel")
    assert repr(policy) == (
        "ConservativeRepeg(base_improvement=0.02, step=0.01, max_improvement=0.05, "
        "max_attempts=3, max_spread_bps=50, on_exhausted='cancel')")
