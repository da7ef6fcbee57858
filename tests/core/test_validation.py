"""Pre-trade validation: every rule, all violations at once, approved quantity, risk score."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import pytest

from venuekit.errors import Code, RiskError
from venuekit.model import Account, Instrument, OrderRequest, Position, Quote
from venuekit.validation import (
    Finding,
    PreTradeValidator,
    Rule,
    ValidationContext,
    ValidationRules,
    validate,
)

D = Decimal
XYZ = Instrument(symbol="XYZ", tick_size=D("0.01"), lot_size=D(1))


def context(cash: str = "100000", *, quote: tuple[str, str] = ("99.99", "100.01"),
            positions: tuple[Position, ...] = (), rules: ValidationRules | None = None,
            instrument: Instrument = XYZ, committed: str = "0") -> ValidationContext:
    return ValidationContext(
        account=Account(cash=cash, buying_power=cash, positions=positions),
        instrument=instrument, quote=Quote(symbol="XYZ", bid=quote[0], ask=quote[1]),
        rules=rules or ValidationRules(), committed=D(committed))


def buy(quantity: str) -> OrderRequest:
    return OrderRequest(symbol="XYZ", side="buy", quantity=quantity)


def codes(findings: Iterable[Finding]) -> set[str]:
    return {f.code.name for f in findings}


def test_an_order_inside_every_limit_passes_with_a_low_risk_score() -> None:
    result = validate(buy("10"), context())
    assert result.ok and not result.warnings
    assert result.approved_quantity == D(10)
    assert D(0) < result.risk_score < D("0.1")


def test_every_violation_is_reported_at_once() -> None:
    wide = context("50000", quote=("98.00", "102.00"))
    result = validate(buy("600"), wide)
    assert codes(result.violations) == {"INSUFFICIENT_FUNDS", "CONCENTRATION_LIMIT",
                                        "SPREAD_TOO_WIDE"}
    assert result.risk_score == 1
    # 5 % reserve: 47,500 / 102 = 465.6; 25 % of 50,000 / 102 = 122.5 -> 122 approved.
    assert result.approved_quantity == D(122)


def test_buying_power_keeps_the_reserve_and_counts_pending_orders() -> None:
    loose = context(rules=ValidationRules(max_concentration=None))
    assert validate(buy("949"), loose).ok  # 94,909.49 fits in 95 % of 100,000
    over = validate(buy("950"), loose)  # 95,009.50 does not
    assert codes(over.violations) == {"INSUFFICIENT_FUNDS"}
    refused = validate(buy("900"), context(committed="10000",
                                           rules=ValidationRules(max_concentration=None)))
    assert codes(refused.violations) == {"INSUFFICIENT_FUNDS"}
    assert refused.approved_quantity == D(849)  # (95,000 - 10,000) / 100.01


def test_notional_limit_and_its_default() -> None:
    rules = ValidationRules(max_concentration=None)
    result = validate(buy("1001"), context("1000000", rules=rules))
    assert codes(result.violations) == {"NOTIONAL_LIMIT"}
    assert result.approved_quantity == D(999)


def test_sells_may_not_exceed_the_position() -> None:
    held = (Position(symbol="XYZ", quantity="5"),)
    sell = OrderRequest(symbol="XYZ", side="sell", quantity="8")
    result = validate(sell, context(positions=held))
    assert codes(result.violations) == {"INSUFFICIENT_POSITION"}
    assert result.approved_quantity == D(5)
    assert validate(sell, context(positions=held, rules=ValidationRules(allow_short=True))).ok


def test_instrument_rules() -> None:
    halted = XYZ.model_copy(update={"tradable": False, "min_notional": D(500)})
    result = validate(buy("2.5"), context(instrument=halted))
    assert codes(result.violations) == {"SYMBOL_HALTED", "BELOW_MIN_NOTIONAL"}
    assert codes(result.warnings) == {"INVALID_QUANTITY"}  # rounded down to the lot
    assert result.approved_quantity == 0


def test_warnings_near_a_limit_do_not_refuse() -> None:
    result = validate(buy("230"), context())  # 23 % of equity: 92 % of the 25 % limit
    assert result.ok and codes(result.warnings) == {"CONCENTRATION_LIMIT"}
    assert result.risk_score > D("0.9")


def test_rules_are_pluggable_and_configurable_per_environment() -> None:
    class NoXyzOnFridays:
        name = "no-xyz"

        def check(self, request: OrderRequest, ctx: ValidationContext) -> list[Finding]:
            return [Finding(self.name, Code.MARKET_CLOSED, "not today")]

    assert isinstance(NoXyzOnFridays(), Rule)
    rules = ValidationRules(extra=(NoXyzOnFridays(),))
    assert codes(validate(buy("1"), context(rules=rules)).violations) == {"MARKET_CLOSED"}
    config = {"max_spread_bps": 50, "live": {"max_order_notional": "5000",
                                             "max_concentration": "none"}}
    live = ValidationRules.from_config(config, "live")
    assert live.max_spread_bps == 50 and live.max_order_notional == 5000
    assert live.max_concentration is None
    with pytest.raises(Exception, match="float"):
        ValidationRules.from_config({"buying_power_reserve": 0.1})
    with pytest.raises(Exception, match="unknown setting"):
        ValidationRules.from_config({"reserve": "0.1"})


def test_the_validator_commits_approved_buys_so_they_cannot_share_buying_power() -> None:
    import asyncio

    from venuekit.venue import Venue

    validator = PreTradeValidator(ValidationRules(max_concentration=None))

    async def main() -> None:
        asyncio.get_running_loop()
        validator.use_account(Account(cash="10000", buying_power="10000"))
        validator.use_instruments([XYZ])
        validator.use_quotes([Quote(symbol="XYZ", bid="99.99", ask="100.01")])
        venue: Venue = None  # type: ignore[assignment]  # everything is cached: no call
        await validator.check(buy("60"), venue)
        with pytest.raises(RiskError) as refused:
            await validator.check(buy("60"), venue)
        assert refused.value.code is Code.INSUFFICIENT_FUNDS
        assert refused.value.details["violations"][0]["rule"] == "buying-power"
        validator.use_account(Account(cash="10000", buying_power="10000"))
        await validator.check(buy("60"), venue)  # a fresh account starts over

    asyncio.run(main())


def test_an_order_evaluated_then_checked_is_judged_once_while_nothing_changed() -> None:
    import asyncio

    from venuekit.venue import Venue

    validator = PreTradeValidator(ValidationRules(max_concentration=None))
    venue: Venue = None  # type: ignore[assignment]  # everything is cached: no call

    async def main() -> None:
        validator.use_account(Account(cash="10000", buying_power="10000"))
        validator.use_instruments([XYZ])
        validator.use_quotes([Quote(symbol="XYZ", bid="99.99", ask="100.01")])
        first = validator.evaluate(buy("60"), await validator.context(buy("60"), venue))
        assert await validator.check(buy("60"), venue) is first  # the engine's second look
        # The check committed 6,000: the same order is now judged afresh, and refused.
        after = validator.evaluate(buy("60"), await validator.context(buy("60"), venue))
        assert after is not first and not after.ok
        small = validator.evaluate(buy("1"), await validator.context(buy("1"), venue))
        assert small.ok and small.request == buy("1")
        validator.use_quotes([Quote(symbol="XYZ", bid="90.00", ask="110.00")])
        wide = validator.evaluate(buy("1"), await validator.context(buy("1"), venue))
        assert codes(wide.violations) == {"SPREAD_TOO_WIDE"}  # new quotes, new judgement

    asyncio.run(main())
