"""Pre-trade validation: the risk rules an order must pass before it may be sent.

A :class:`Rule` looks at one order request in a :class:`ValidationContext` (the account,
the instrument, the quote, what this process has already committed since the account was
read) and reports :class:`Finding` objects: violations that refuse the order, warnings that
do not, and optionally the largest quantity it would approve. :func:`validate` runs every
rule and returns all findings at once in a :class:`ValidationResult`, with an approved
quantity (the smallest cap, rounded down to the lot) and a risk score between 0 and 1.

The built-in rules, configured by :class:`ValidationRules` (defaults in brackets):

* ``buying-power``: a buy must fit in the buying power net of pending orders, keeping a
  reserve [5 %]; a sell must not exceed the position when the venue refuses short sales;
* ``concentration``: a buy must not take one symbol above a share of equity [25 %];
* ``notional``: one order must not exceed a notional [100,000];
* ``spread``: the book must not be wider than a limit [100 bps];
* ``instrument``: the symbol must be tradable and the quantity must satisfy the lot and
  minimum rules.

Rules are pluggable: pass ``ValidationRules(extra=(MyRule(),))`` or build a
:class:`PreTradeValidator` with any list of objects that satisfy :class:`Rule`.
:class:`PreTradeValidator` is what :class:`venuekit.engine.Engine` calls before an order is
journaled: a refused order raises a :class:`~venuekit.errors.RiskError` (or the error class
of its first violation) listing every violation, and nothing is journaled or sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .decimals import plain_quantity
from .errors import Code, ErrorCode, VenueKitError, error
from .model import ZERO, Account, Instrument, OrderRequest, Position, Quote, Side
from .options import FALSE, TRUE
from .venue import Venue

__all__ = [
    "BuyingPowerRule",
    "ConcentrationRule",
    "Finding",
    "InstrumentRule",
    "NotionalRule",
    "OrderValidator",
    "PreTradeValidator",
    "Rule",
    "SpreadRule",
    "ValidationContext",
    "ValidationResult",
    "ValidationRules",
    "default_rules",
    "validate",
]

log = logging.getLogger("venuekit.validation")

_BPS = Decimal(10_000)
ONE = Decimal(1)
_SCORE = Decimal("0.0001")  # risk scores are given to four places


class ValidationRules(BaseModel):
    """The limits the built-in rules enforce; load one per environment with :meth:`from_config`.

    Fractions are decimals (``"0.05"`` is 5 %); a limit of ``None`` turns its rule off.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    buying_power_reserve: Decimal = Field(default=Decimal("0.05"), ge=0, lt=1)
    max_concentration: Decimal | None = Field(default=Decimal("0.25"), gt=0, le=1)
    max_order_notional: Decimal | None = Field(default=Decimal(100_000), gt=0)
    max_spread_bps: Decimal | None = Field(default=Decimal(100), gt=0)
    allow_short: bool = False
    warn_at: Decimal = Field(default=Decimal("0.8"), gt=0, le=1)
    """A warning is raised when an order uses more than this share of a limit."""
    extra: tuple[Any, ...] = ()
    """Rules of your own (objects satisfying :class:`Rule`), run after the built-ins."""

    def describe(self) -> list[str]:
        """What these rules check, one phrase per rule, as a person reads it."""
        def pct(share: Decimal) -> str:
            return f"{plain_quantity(share * 100)} %"

        checks = [f"buying power ({pct(self.buying_power_reserve)} kept in reserve"
                  + (", short sales allowed)" if self.allow_short else ", no short sales)")]
        if self.max_concentration is not None:
            checks.append(f"at most {pct(self.max_concentration)} of equity in one symbol")
        if self.max_order_notional is not None:
            checks.append(f"at most {plain_quantity(self.max_order_notional)} per order")
        if self.max_spread_bps is not None:
            checks.append(f"a spread of at most {plain_quantity(self.max_spread_bps)} bps")
        checks.append("the instrument's lot, minimums and trading status")
        checks.extend(getattr(rule, "name", type(rule).__name__) for rule in self.extra)
        return checks

    @classmethod
    def from_config(cls, config: Mapping[str, Any], environment: str | None = None
                    ) -> ValidationRules:
        """Rules from a ``[validation]`` table; ``[validation.<environment>]`` overrides it.

        Numbers are read from strings or integers (``max_spread_bps = 50``,
        ``buying_power_reserve = "0.10"``); ``"none"`` turns a limit off; ``allow_short`` is
        true or false. An unknown key, a bad value or an unknown environment raises
        ``INVALID_CONFIG`` naming the table and the key, with the closest known name.
        """
        base = {k: v for k, v in config.items() if not isinstance(v, Mapping)}
        values = _parse_rules(base, "[validation]")
        if environment is not None:
            override = config.get(environment)
            if not isinstance(override, Mapping):
                tables = sorted(k for k, v in config.items() if isinstance(v, Mapping))
                raise error(Code.INVALID_CONFIG, f"no [validation.{environment}] table in the "
                            f"config{_did_you_mean(environment, tables, '[validation.{}]')} "
                            f"(environments: {', '.join(tables) or 'none'})")
            values.update(_parse_rules(override, f"[validation.{environment}]"))
        try:
            return cls(**values)
        except ValueError as exc:
            where = f"[validation.{environment}]" if environment else "[validation]"
            raise error(Code.INVALID_CONFIG, f"{where}: {_pydantic_message(exc)}") from None

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        """Check a whole ``[validation]`` table: the base and every environment's table."""
        cls.from_config(config)
        for name, value in config.items():
            if isinstance(value, Mapping):
                cls.from_config(config, name)


_QUOTED = "'{}'"
_SETTINGS = tuple(k for k in ValidationRules.model_fields if k != "extra")


def _did_you_mean(name: str, known: Sequence[str], form: str = "{}") -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {form.format(close[0])}?" if close else ""


def _parse_rules(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The values of one validation table, each checked and converted."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            raise error(Code.INVALID_CONFIG, f"[{where[1:-1]}.{key}] is not allowed: an "
                        "environment's table holds only settings, not tables")
        if key not in _SETTINGS:
            raise error(Code.INVALID_CONFIG, f"{where}: unknown setting {key!r}"
                        f"{_did_you_mean(key, _SETTINGS, _QUOTED)} (known: {', '.join(_SETTINGS)})")
        if key == "allow_short":
            text = str(value).strip().lower()
            if not isinstance(value, bool | str) or text not in TRUE | FALSE - {""}:
                raise error(Code.INVALID_CONFIG, f"{where}: allow_short must be true or false, "
                            f"got {value!r}")
            values[key] = value if isinstance(value, bool) else text in TRUE
        elif value is None or (isinstance(value, str) and value.strip().lower() == "none"):
            values[key] = None
        elif isinstance(value, float):
            raise error(Code.INVALID_CONFIG, f"{where}: {key} must be a string or an "
                        f"integer, got the float {value!r}; write it as \"{value!r}\"")
        elif isinstance(value, bool) or not isinstance(value, str | int):
            raise error(Code.INVALID_CONFIG, f"{where}: {key} must be a number written as a "
                        f"string or an integer (e.g. \"0.25\"), or \"none\"; got {value!r}")
        else:
            try:
                values[key] = Decimal(str(value).strip())
            except ArithmeticError:
                raise error(Code.INVALID_CONFIG, f"{where}: {key} must be a number (e.g. "
                            f"\"0.25\") or \"none\", got {value!r}") from None
    return values


def _pydantic_message(exc: ValueError) -> str:
    """A pydantic error as ``key: what is wrong`` (one line per error)."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].lower()}, got "
                         f"{e['input']!r}" for e in exc.errors())
    return str(exc)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a rule found: a violation (refuses the order) or a warning (does not)."""

    rule: str
    code: ErrorCode
    message: str
    violation: bool = True
    cap: Decimal | None = None
    """The largest quantity this rule would approve, when it can tell."""
    usage: Decimal | None = None
    """How much of the rule's limit the order uses (1 is the limit)."""

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "code": self.code.name, "message": self.message}


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What an order is checked against.

    ``committed`` is the buy notional this process committed since ``account`` was read
    (the account does not show it yet); ``prices`` values the positions for equity.
    ``holdings`` (the account's positions by symbol) and ``known_equity`` are what
    :class:`PreTradeValidator` works out once per account and prices instead of once per
    order; without them they are derived from ``account`` and ``prices``.
    """

    account: Account
    instrument: Instrument
    quote: Quote
    rules: ValidationRules = field(default_factory=ValidationRules)
    committed: Decimal = ZERO
    committed_by_symbol: Mapping[str, Decimal] = field(default_factory=dict)
    sold_by_symbol: Mapping[str, Decimal] = field(default_factory=dict)
    prices: Mapping[str, Decimal] = field(default_factory=dict)
    holdings: Mapping[str, Position] | None = None
    known_equity: Decimal | None = None

    def reference_price(self, request: OrderRequest) -> Decimal:
        """The limit price, else the touch the order would trade against."""
        return request.limit_price or self.quote.touch(request.side)

    def position(self, symbol: str) -> Position | None:
        holdings = self.holdings
        return holdings.get(symbol) if holdings is not None else self.account.position(symbol)

    def position_quantity(self, symbol: str) -> Decimal:
        position = self.position(symbol)
        return position.quantity if position is not None else ZERO

    def position_value(self, symbol: str) -> Decimal:
        position = self.position(symbol)
        if position is None:
            return ZERO
        price = self.prices.get(symbol)
        if price is None and symbol == self.quote.symbol:
            price = self.quote.mid
        if price is not None:
            return position.quantity * price
        if position.market_value is not None:
            return position.market_value
        return position.quantity * position.average_price

    @property
    def equity(self) -> Decimal:
        """Cash plus the value of every position."""
        if self.known_equity is not None:
            return self.known_equity
        return self.account.cash + sum(
            (self.position_value(p.symbol) for p in self.account.positions), ZERO)


@runtime_checkable
class Rule(Protocol):
    """A pre-trade rule: every finding about ``request`` in ``context``."""

    name: str

    def check(self, request: OrderRequest, context: ValidationContext) -> Iterable[Finding]:
        ...


def _quantity(request: OrderRequest, price: Decimal) -> Decimal:
    if request.quantity is not None:
        return request.quantity
    assert request.notional is not None
    return request.notional / price if price > 0 else ZERO


def _usage_warning(rule: str, code: ErrorCode, usage: Decimal, what: str) -> Finding:
    """The warning for an order that uses more of a limit than ``warn_at``."""
    return Finding(rule, code, f"{what} uses {usage * 100:.1f} % of its limit",
                   violation=False, usage=usage)


class BuyingPowerRule:
    """Buys fit in the buying power net of pending orders and the reserve; sells in the position."""

    name = "buying-power"

    def check(self, request: OrderRequest, context: ValidationContext) -> Iterable[Finding]:
        rules = context.rules
        price = context.reference_price(request)
        quantity = _quantity(request, price)
        if request.side is Side.SELL:
            held = context.position_quantity(request.symbol) \
                - context.sold_by_symbol.get(request.symbol, ZERO)
            if rules.allow_short or quantity <= held:
                return []
            return [Finding(self.name, Code.INSUFFICIENT_POSITION,
                            f"selling {quantity} {request.symbol} but only {max(held, ZERO)} "
                            "is held (net of pending sells)", cap=max(held, ZERO))]
        available = context.account.buying_power * (ONE - rules.buying_power_reserve) \
            - context.committed
        cost = quantity * price
        cap = max(available, ZERO) / price if price > 0 else ZERO
        if cost > available:
            return [Finding(self.name, Code.INSUFFICIENT_FUNDS,
                            f"buying {request.symbol} for {cost:.2f} needs more than the "
                            f"{max(available, ZERO):.2f} available (buying power "
                            f"{context.account.buying_power:.2f} less pending orders "
                            f"{context.committed:.2f} and the "
                            f"{rules.buying_power_reserve * 100:.1f} % reserve)", cap=cap,
                            usage=ONE)]
        usage = cost / available if available > 0 else ONE
        findings = [Finding(self.name, Code.INSUFFICIENT_FUNDS, "", violation=False, cap=cap,
                            usage=usage)]
        if usage > rules.warn_at:
            findings.append(_usage_warning(self.name, Code.INSUFFICIENT_FUNDS, usage,
                                           "the order's cost"))
        return findings


class ConcentrationRule:
    """A buy must not take its symbol above ``max_concentration`` of equity."""

    name = "concentration"

    def check(self, request: OrderRequest, context: ValidationContext) -> Iterable[Finding]:
        limit = context.rules.max_concentration
        if limit is None or request.side is Side.SELL:
            return []
        equity = context.equity
        price = context.reference_price(request)
        if equity <= 0 or price <= 0:
            return []
        current = context.position_value(request.symbol) \
            + context.committed_by_symbol.get(request.symbol, ZERO)
        after = current + _quantity(request, price) * price
        share = after / equity
        cap = max(limit * equity - current, ZERO) / price
        usage = share / limit
        if share > limit:
            return [Finding(self.name, Code.CONCENTRATION_LIMIT,
                            f"{request.symbol} would be {share * 100:.1f} % of equity "
                            f"{equity:.2f}, above the {limit * 100:.1f} % limit", cap=cap,
                            usage=usage)]
        findings = [Finding(self.name, Code.CONCENTRATION_LIMIT, "", violation=False, cap=cap,
                            usage=usage)]
        if usage > context.rules.warn_at:
            findings.append(_usage_warning(self.name, Code.CONCENTRATION_LIMIT, usage,
                                           f"{request.symbol}'s concentration"))
        return findings


class NotionalRule:
    """One order must not exceed ``max_order_notional``."""

    name = "notional"

    def check(self, request: OrderRequest, context: ValidationContext) -> Iterable[Finding]:
        limit = context.rules.max_order_notional
        if limit is None:
            return []
        price = context.reference_price(request)
        notional = _quantity(request, price) * price
        usage = notional / limit
        cap = limit / price if price > 0 else None
        if notional > limit:
            return [Finding(self.name, Code.NOTIONAL_LIMIT,
                            f"the order's notional {notional:.2f} exceeds the per-order limit "
                            f"{limit}", cap=cap, usage=usage)]
        return [Finding(self.name, Code.NOTIONAL_LIMIT, "", violation=False, cap=cap,
                        usage=usage)]


class SpreadRule:
    """The book must not be wider than ``max_spread_bps``."""

    name = "spread"

    def check(self, request: OrderRequest, context: ValidationContext) -> Iterable[Finding]:
        limit = context.rules.max_spread_bps
        if limit is None:
            return []
        spread = context.quote.spread_bps
        if not spread.is_finite():
            return [Finding(self.name, Code.SPREAD_TOO_WIDE,
                            f"{request.symbol} has a one-sided or empty book", usage=ONE)]
        usage = spread / limit
        if spread > limit:
            return [Finding(self.name, Code.SPREAD_TOO_WIDE,
                            f"{request.symbol}'s spread is {spread:.1f} bps, above the "
                            f"{limit} bps limit", usage=usage)]
        findings = [Finding(self.name, Code.SPREAD_TOO_WIDE, "", violation=False, usage=usage)]
        if usage > context.rules.warn_at:
            findings.append(_usage_warning(self.name, Code.SPREAD_TOO_WIDE, usage,
                                           f"{request.symbol}'s spread"))
        return findings


class InstrumentRule:
    """The symbol is tradable and the quantity meets the lot, minimum quantity and notional."""

    name = "instrument"

    def check(self, request: OrderRequest, context: ValidationContext) -> Iterable[Finding]:
        instrument = context.instrument
        findings: list[Finding] = []
        if not instrument.tradable:
            findings.append(Finding(self.name, Code.SYMBOL_HALTED,
                                    f"{instrument.symbol} is not tradable", cap=ZERO))
        price = context.reference_price(request)
        quantity = _quantity(request, price)
        rounded = _floor(quantity, instrument.lot_size)
        if rounded <= 0:
            findings.append(Finding(self.name, Code.ROUNDS_TO_ZERO,
                                    f"{instrument.symbol}: quantity {quantity} rounds down to 0 "
                                    f"with lot size {instrument.lot_size}", cap=ZERO))
            return findings
        if rounded != quantity:
            findings.append(Finding(self.name, Code.INVALID_QUANTITY,
                                    f"{instrument.symbol}: quantity {quantity} is rounded down "
                                    f"to the lot size: {rounded}", violation=False,
                                    cap=rounded))
        if rounded < instrument.min_quantity:
            findings.append(Finding(self.name, Code.BELOW_MIN_QUANTITY,
                                    f"{instrument.symbol}: quantity {rounded} is below the "
                                    f"minimum {instrument.min_quantity}"))
        if instrument.min_notional and rounded * price < instrument.min_notional:
            findings.append(Finding(self.name, Code.BELOW_MIN_NOTIONAL,
                                    f"{instrument.symbol}: notional {rounded * price:.2f} is "
                                    f"below the minimum {instrument.min_notional}"))
        return findings


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_FLOOR) * step


def default_rules() -> list[Rule]:
    """The built-in rules, in the order they run."""
    return [InstrumentRule(), BuyingPowerRule(), ConcentrationRule(), NotionalRule(),
            SpreadRule()]


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Every violation and warning about one order, what could be approved, and a risk score.

    ``approved_quantity`` is the largest quantity every rule accepts, on the lot grid (0 when
    nothing can be approved); ``risk_score`` is 0 for an order far inside every limit and 1
    for one at or beyond a limit.
    """

    request: OrderRequest
    violations: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    approved_quantity: Decimal
    risk_score: Decimal

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_error(self) -> VenueKitError:
        """The error a refused order raises: the first violation's class, every message."""
        first = self.violations[0]
        listed = "; ".join(f"{v.code.name}: {v.message}" for v in self.violations)
        return error(first.code, f"{self.request.side.value} {self.request.symbol} refused "
                     f"before sending ({len(self.violations)} violation(s)): {listed}",
                     details={"violations": [v.as_dict() for v in self.violations]})

    def as_dict(self) -> dict[str, Any]:
        return {"violations": [v.as_dict() for v in self.violations],
                "warnings": [w.as_dict() for w in self.warnings],
                "approved_quantity": self.approved_quantity, "risk_score": self.risk_score}


def validate(request: OrderRequest, context: ValidationContext,
             rules: Sequence[Rule] | None = None) -> ValidationResult:
    """Run every rule (the built-ins plus ``context.rules.extra`` by default) on ``request``."""
    active: list[Rule] = list(rules) if rules is not None else \
        [*default_rules(), *context.rules.extra]
    price = context.reference_price(request)
    approved = _quantity(request, price)
    violations: list[Finding] = []
    warnings: list[Finding] = []
    highest: Decimal | None = None  # usage
    for rule in active:  # one pass: what refuses, what warns, the smallest cap, the usage
        for finding in rule.check(request, context):
            if finding.violation:
                violations.append(finding)
            elif finding.message:
                warnings.append(finding)
            cap = finding.cap
            if cap is not None and cap < approved:
                approved = cap
            usage = finding.usage
            if usage is not None and (highest is None or usage > highest):
                highest = usage
    approved = max(_floor(max(approved, ZERO), context.instrument.lot_size), ZERO)
    score = ONE if violations else min(ZERO if highest is None else highest, ONE)
    return ValidationResult(request, tuple(violations), tuple(warnings), approved,
                            score.quantize(_SCORE))


class OrderValidator(Protocol):
    """What :class:`venuekit.engine.Engine` calls before journaling an order.

    ``check`` raises (nothing is journaled or sent) when the order must be refused.
    """

    async def check(self, request: OrderRequest, venue: Venue) -> ValidationResult:
        ...


class PreTradeValidator:
    """Validates orders against an account snapshot and what was committed since.

    :meth:`refresh` reads the account (the executor does it before each phase); every
    approved buy is then counted as committed until the next refresh, so orders sent
    concurrently can never promise the same buying power twice. Quotes primed with
    :meth:`use_quotes` are reused for ``quote_max_age`` seconds, so validation adds no venue
    call to an order's path. A re-peg is counted again (the conservative side).

    With ``account_max_age`` (seconds), an account older than that is read again before
    the next check (what filled or was released since shows; what was committed is then
    the venue's to count, as venues hold buying power for open orders). Without it, the
    account is read once and renewed only by :meth:`refresh` or :meth:`use_account`: the
    executor does so before each phase.
    """

    def __init__(self, rules: ValidationRules | None = None, *,
                 extra_rules: Sequence[Rule] = (), quote_max_age: float = 2.0,
                 account_max_age: float | None = None) -> None:
        self.rules = rules or ValidationRules()
        self._rules: list[Rule] = [*default_rules(), *self.rules.extra, *extra_rules]
        self.quote_max_age = quote_max_age
        self.account_max_age = account_max_age
        self.account: Account | None = None
        self._account_at = 0.0
        self._quotes: dict[str, tuple[Quote, float]] = {}
        # The mids that value positions, rebuilt (not mutated) when quotes arrive: every
        # context shares the current mapping instead of recomputing one per order.
        self._prices: Mapping[str, Decimal] = MappingProxyType({})
        self._instruments: dict[str, Instrument] = {}
        self._holdings: Mapping[str, Position] = MappingProxyType({})
        self._equity: Decimal | None = None  # for the account and prices in use
        self._committed = ZERO
        self._by_symbol: dict[str, Decimal] = {}
        self._sold: dict[str, Decimal] = {}
        # A caller that evaluates an order and then sends it through an engine with this
        # validator has it checked twice in a row; while nothing changed in between, the
        # second check reuses the first's context and result. Every change bumps _version.
        self._version = 0
        self._context: tuple[int, str, ValidationContext] | None = None
        self._verdict: tuple[ValidationContext, OrderRequest, ValidationResult] | None = None

    def use_account(self, account: Account) -> None:
        """Start from ``account``; nothing is committed since."""
        self._version += 1
        self.account = account
        with contextlib.suppress(RuntimeError):  # no loop: an age that never expires first
            self._account_at = asyncio.get_running_loop().time()
        self._holdings = MappingProxyType({p.symbol: p for p in account.positions})
        self._equity = None
        self._committed = ZERO
        self._by_symbol.clear()
        self._sold.clear()

    async def refresh(self, venue: Venue) -> Account:
        account = await venue.account()
        self.use_account(account)
        return account

    def use_quotes(self, quotes: Iterable[Quote]) -> None:
        self._version += 1
        now = asyncio.get_running_loop().time()
        prices = dict(self._prices)
        for quote in quotes:
            self._quotes[quote.symbol] = (quote, now)
            prices[quote.symbol] = quote.mid
        self._prices = MappingProxyType(prices)
        self._equity = None

    def use_instruments(self, instruments: Iterable[Instrument]) -> None:
        self._version += 1
        self._instruments.update((i.symbol, i) for i in instruments)

    async def context(self, request: OrderRequest, venue: Venue) -> ValidationContext:
        """The context ``request`` is checked in (fetching only what is missing or stale)."""
        loop = asyncio.get_running_loop()
        max_age = self.account_max_age
        if self.account is None or (max_age is not None
                                    and loop.time() - self._account_at > max_age):
            await self.refresh(venue)
        assert self.account is not None
        instrument = self._instruments.get(request.symbol)
        if instrument is None:
            self.use_instruments([await venue.instrument(request.symbol)])
            instrument = self._instruments[request.symbol]
        now = loop.time()
        cached = self._quotes.get(request.symbol)
        if cached is None or now - cached[1] > self.quote_max_age:
            self.use_quotes([await venue.quote(request.symbol)])
        last = self._context
        if last is not None and last[0] == self._version and last[1] == request.symbol:
            return last[2]
        quote = self._quotes[request.symbol][0]
        context = ValidationContext(account=self.account, instrument=instrument, quote=quote,
                                    rules=self.rules, committed=self._committed,
                                    committed_by_symbol=dict(self._by_symbol),
                                    sold_by_symbol=dict(self._sold), prices=self._prices,
                                    holdings=self._holdings, known_equity=self._equity)
        if self._equity is None and self.rules.max_concentration is not None:
            # Worked out once for this account and these prices, not for every order.
            self._equity = context.equity
            context = replace(context, known_equity=self._equity)
        self._context = (self._version, request.symbol, context)
        return context

    def evaluate(self, request: OrderRequest, context: ValidationContext) -> ValidationResult:
        """Validate without committing anything (a dry run, or sizing)."""
        last = self._verdict
        # The engine usually checks the very request evaluated before: identity first, as
        # comparing two models field by field costs more.
        if last is not None and last[0] is context and (last[1] is request
                                                        or last[1] == request):
            return last[2]
        result = validate(request, context, self._rules)
        self._verdict = (context, request, result)
        return result

    async def check(self, request: OrderRequest, venue: Venue) -> ValidationResult:
        """Validate ``request`` and commit it; raise listing every violation when refused."""
        context = await self.context(request, venue)
        # No await from here on: the context's committed amounts and the commit below
        # happen in one step, so concurrent checks never approve the same buying power.
        result = self.evaluate(request, context)
        if not result.ok:
            log.warning("order refused before sending",
                        extra={"symbol": request.symbol, "side": request.side.value,
                               "violations": [v.code.name for v in result.violations]})
            raise result.to_error()
        price = context.reference_price(request)
        quantity = _quantity(request, price)
        self._version += 1
        if request.side is Side.BUY:
            self._committed += quantity * price
            self._by_symbol[request.symbol] = \
                self._by_symbol.get(request.symbol, ZERO) + quantity * price
        else:
            self._sold[request.symbol] = self._sold.get(request.symbol, ZERO) + quantity
        return result
