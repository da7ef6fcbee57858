"""The simulation's configuration: symbols, money, models, clock, ids, venue identity.

A :class:`SimConfig` is frozen: two simulators built from equal configs and driven by equal
calls produce equal results, byte for byte when the stepped clock is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from .market import QuoteReplay
from .models import CommissionModel, NoCommission, NoSlippage, SlippageModel
from .symbols import DEFAULT_SYMBOLS, SymbolSpec

__all__ = ["CLIENT_ID_ALPHABET", "SIM_EPOCH", "SimConfig"]

SIM_EPOCH = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
"""Where the stepped clock starts unless told otherwise (a Tuesday, 09:30 New York)."""

CLIENT_ID_ALPHABET = ("0123456789abcdefghijklmnopqrstuvwxyz"
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.")


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything that shapes a simulation. Two simulators with equal configs and equal
    calls produce equal results.

    ``symbols`` defaults to :data:`DEFAULT_SYMBOLS`, or with a ``replay`` to the replayed
    symbols with a 0.01 tick and a lot of 1. ``market_reserve_bps`` marks up the ask to
    reserve buying power for a market buy. ``start=None`` stamps events with the wall clock.
    ``halted`` names symbols whose trading is halted: their reference data still reads
    tradable (it has not caught up), but every order for them is rejected with
    ``SYMBOL_HALTED``.
    """

    symbols: tuple[SymbolSpec, ...] | None = None
    seed: int = 0
    cash: Decimal = Decimal(100_000)
    currency: str = "USD"
    slippage: SlippageModel = field(default_factory=NoSlippage)
    commission: CommissionModel = field(default_factory=NoCommission)
    client_order_ids: bool = True
    client_order_id_max_length: int = 64
    short_selling: bool = False
    market_reserve_bps: Decimal = Decimal(200)
    steps_per_session: int | None = None
    start: datetime | None = SIM_EPOCH
    step: timedelta = timedelta(seconds=1)
    replay: QuoteReplay | None = None
    halted: frozenset[str] = frozenset()
    venue: str = "mock"
    order_id_prefix: str = "M"
    trade_id_prefix: str = "T"

    def __post_init__(self) -> None:
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError("start must be an aware datetime (UTC)")
        if self.step <= timedelta(0):
            raise ValueError("step must be a positive duration")
        if self.steps_per_session is not None and self.steps_per_session < 1:
            raise ValueError("steps_per_session must be at least 1")
        if self.client_order_id_max_length < 1:
            raise ValueError("client_order_id_max_length must be at least 1")
        if self.market_reserve_bps < 0:
            raise ValueError("market_reserve_bps must be >= 0")
        if self.halted:
            listed = {spec.symbol for spec in self.resolved_symbols()}
            unknown = sorted(set(self.halted) - listed)
            if unknown:
                raise ValueError(f"halted: {', '.join(unknown)} not among the symbols "
                                 f"({', '.join(sorted(listed))})")

    def resolved_symbols(self) -> tuple[SymbolSpec, ...]:
        if self.symbols is not None:
            return self.symbols
        if self.replay is None:
            return DEFAULT_SYMBOLS
        first: dict[str, Decimal] = {}
        for step in self.replay.steps:
            for quote in step:
                first.setdefault(quote.symbol, (quote.bid + quote.ask) / 2)
        return tuple(SymbolSpec(symbol, price) for symbol, price in first.items())
