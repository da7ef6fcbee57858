"""The rebalance report: what happened to every plan item, per phase, and overall.

Each :class:`ItemReport` says what the plan asked, what was sent (after sizing), what the
venue did (order id, final state, fills, average price, fees, attempts, re-pegs, timings),
the slippage against the arrival mid in basis points, and the drift against the plan in
the plan's own unit (notional for a notional item, quantity for a quantity item).
:class:`RebalanceReport` adds the account before and after, the buy scaling, success rates
overall and by phase, and the exit code the CLI uses.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..decimals import plain, plain_quantity
from ..journal.runs import Run
from ..model import ZERO, Account, utcnow
from ..positions import PositionLine
from .plan import Action

__all__ = ["ItemReport", "ItemStatus", "PhaseSummary", "PlanReport", "RebalanceReport"]

_HUNDRED = Decimal(100)


class ItemStatus(enum.StrEnum):
    """What became of one plan item."""

    COMPLETED = "completed"
    """Sent and filled in full."""
    INCOMPLETE = "incomplete"
    """Sent; partly filled or not filled by the deadline (cancelled, expired, timed out)."""
    REJECTED = "rejected"
    """The venue refused the order."""
    REFUSED = "refused"
    """Refused before sending (pre-trade validation or instrument rules): nothing was sent."""
    FAILED = "failed"
    """An error stopped the order; its outcome may be unknown (see the journal)."""
    INTERRUPTED = "interrupted"
    """Not sent, or stopped and its order cancelled, because the work was interrupted
    (SIGINT, SIGTERM, cancellation). Running the plan again resumes it."""
    SKIPPED = "skipped"
    """Sized to nothing (the buying power or the lot size left no quantity to send)."""
    PRICED = "priced"
    """A dry run: validated and priced, not sent."""
    HELD = "held"
    """A HOLD item: nothing to do."""

    @property
    def done(self) -> bool:
        return self in _DONE


_DONE = frozenset({ItemStatus.COMPLETED, ItemStatus.PRICED, ItemStatus.HELD})


@dataclass
class ItemReport:
    """One plan item: the plan, the sizing, and the outcome."""

    index: int
    symbol: str
    action: Action
    planned_notional: Decimal | None = None
    planned_quantity: Decimal | None = None
    requested_quantity: Decimal | None = None
    arrival_price: Decimal | None = None
    status: ItemStatus = ItemStatus.HELD
    order_id: str | None = None
    state: str | None = None
    filled_quantity: Decimal = ZERO
    average_price: Decimal | None = None
    fees: Decimal = ZERO
    """Fees in the instrument's currency (a fee in the asset bought or sold is valued at
    its trade's price)."""
    other_fees: dict[str, Decimal] = field(default_factory=dict)
    """Fees charged in other assets (BNB), by asset: not in ``fees``."""
    attempts: int = 0
    repegs: int = 0
    slippage_bps: Decimal | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    risk_score: Decimal | None = None
    warnings: list[str] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None
    earlier_quantity: Decimal = ZERO
    """What earlier sessions of a resumed run filled for this item (not in
    ``filled_quantity``, which is this session's)."""
    earlier_notional: Decimal = ZERO
    earlier_fees: Decimal = ZERO
    earlier_other_fees: dict[str, Decimal] = field(default_factory=dict)
    sized_quantity: Decimal | None = None
    """The quantity the plan asked for, before rounding down to ``lot_size``."""
    lot_size: Decimal | None = None
    scale: Decimal = Decimal(1)
    """The share of the plan a buy was scaled to, to fit the buying power."""

    @property
    def phase(self) -> str:
        return self.action.value.lower()

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def executed_notional(self) -> Decimal:
        """What this item traded, this session and earlier ones of a resumed run."""
        now = self.filled_quantity * self.average_price if self.average_price else ZERO
        return now + self.earlier_notional

    @property
    def total_quantity(self) -> Decimal:
        """Quantity filled this session and in earlier sessions of a resumed run."""
        return self.filled_quantity + self.earlier_quantity

    @property
    def drift(self) -> Decimal | None:
        """Executed minus planned, in the plan's unit (negative: less than planned).

        None for a HOLD and for a dry run (nothing was meant to execute)."""
        if self.status in (ItemStatus.HELD, ItemStatus.PRICED):
            return None
        if self.planned_notional is not None:
            return self.executed_notional - self.planned_notional
        if self.planned_quantity is not None:
            return self.total_quantity - self.planned_quantity
        return None

    @property
    def drift_pct(self) -> Decimal | None:
        planned = self.planned_notional or self.planned_quantity
        drift = self.drift
        if drift is None or not planned:
            return None
        return (drift / planned * _HUNDRED).quantize(Decimal("0.01"))

    @property
    def drift_reason(self) -> str | None:
        """Why the item drifted from the plan (None when it did not, to 0.01 %)."""
        pct = self.drift_pct
        if not pct:
            return None
        requested, sized = self.requested_quantity, self.sized_quantity
        if self.status is not ItemStatus.COMPLETED:
            return f"{self.status.value}: {self.note}" if self.note else self.status.value
        if self.scale < 1:
            return (f"buys were scaled to {plain(self.scale)} of the plan to fit the buying "
                    "power")
        if requested is not None and sized is not None and requested < sized \
                and self.lot_size is not None:
            lot = ("whole units only: not fractional" if self.lot_size == 1
                   else f"lot {plain_quantity(self.lot_size)}")
            return (f"{plain_quantity(round(sized, 4))} rounded down to "
                    f"{plain_quantity(requested)} ({lot})")
        if self.planned_notional is not None:
            return "the fill price differed from the quote the order was sized at"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "symbol": self.symbol, "action": self.action.value,
            "status": self.status.value, "order_id": self.order_id, "state": self.state,
            "planned_notional": self.planned_notional,
            "planned_quantity": self.planned_quantity,
            "requested_quantity": self.requested_quantity,
            "filled_quantity": self.filled_quantity, "average_price": self.average_price,
            "executed_notional": self.executed_notional, "fees": self.fees,
            "other_fees": dict(self.other_fees), "attempts": self.attempts,
            "repegs": self.repegs,
            "arrival_price": self.arrival_price, "slippage_bps": self.slippage_bps,
            "drift": self.drift, "drift_pct": self.drift_pct,
            "drift_reason": self.drift_reason, "sized_quantity": self.sized_quantity,
            "lot_size": self.lot_size,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "seconds": None if self.seconds is None else round(self.seconds, 6),
            "risk_score": self.risk_score, "warnings": self.warnings,
            "orders": self.orders, "note": self.note,
            "earlier_quantity": self.earlier_quantity,
            "earlier_notional": self.earlier_notional, "earlier_fees": self.earlier_fees,
            "earlier_other_fees": dict(self.earlier_other_fees),
        }


def _rate(done: int, total: int) -> Decimal:
    ratio = Decimal(done) / Decimal(total) if total else Decimal(1)
    return ratio.quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class PhaseSummary:
    """One phase (sell or buy): how many orders, how many completed, what was traded."""

    name: str
    items: int
    completed: int
    planned_notional: Decimal
    executed_notional: Decimal
    fees: Decimal
    seconds: float
    other_fees: dict[str, Decimal] = field(default_factory=dict)
    """Fees in other assets than the account's currency (BNB), by asset."""

    @property
    def success_rate(self) -> Decimal:
        return _rate(self.completed, self.items)

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "completed": self.completed,
                "success_rate": self.success_rate, "planned_notional": self.planned_notional,
                "executed_notional": self.executed_notional, "fees": self.fees,
                "other_fees": dict(self.other_fees), "seconds": round(self.seconds, 6)}


def _by_asset(parts: Iterable[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for part in parts:
        for asset, amount in part.items():
            total[asset] = total.get(asset, ZERO) + amount
    return total


def _money(account: Account | None) -> dict[str, Any] | None:
    if account is None:
        return None
    return {"cash": account.cash, "buying_power": account.buying_power,
            "positions": {p.symbol: p.quantity for p in account.positions}}


@dataclass
class RebalanceReport:
    """The whole run: every item, each phase, the account before and after."""

    venue: str
    strategy: str
    dry_run: bool
    correlation_id: str | None
    items: list[ItemReport] = field(default_factory=list)
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    account_before: Account | None = None
    account_between: Account | None = None
    account_after: Account | None = None
    buy_scale: Decimal = Decimal(1)
    buy_budget: Decimal | None = None
    phase_seconds: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None
    """The journaled run (None for a dry run with nothing to resume)."""
    resumed: bool = False
    """True when this report is a later session of an unfinished run."""
    interrupted: str | None = None
    """Why the work stopped early (an interrupt), or None."""

    @property
    def trades(self) -> list[ItemReport]:
        return [item for item in self.items if item.action is not Action.HOLD]

    def phase(self, action: Action) -> PhaseSummary:
        items = [item for item in self.items if item.action is action]
        planned = sum((item.planned_notional or (item.planned_quantity or ZERO)
                       * (item.arrival_price or ZERO) for item in items), ZERO)
        return PhaseSummary(
            name=action.value.lower(), items=len(items),
            completed=sum(1 for item in items if item.status.done),
            planned_notional=planned.quantize(Decimal("0.01")),
            executed_notional=sum((item.executed_notional for item in items), ZERO),
            fees=sum((item.fees + item.earlier_fees for item in items), ZERO),
            other_fees=_by_asset(fees for item in items
                                 for fees in (item.other_fees, item.earlier_other_fees)),
            seconds=self.phase_seconds.get(action.value.lower(), 0.0))

    @property
    def success_rate(self) -> Decimal:
        trades = self.trades
        return _rate(sum(1 for item in trades if item.status.done), len(trades))

    @property
    def complete(self) -> bool:
        """True when every item is done (filled, held, or priced in a dry run)."""
        return all(item.status.done for item in self.items)

    @property
    def seconds(self) -> float:
        return ((self.finished_at or utcnow()) - self.started_at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        return {
            "venue": self.venue, "strategy": self.strategy, "dry_run": self.dry_run,
            "run_id": self.run_id, "resumed": self.resumed, "interrupted": self.interrupted,
            "correlation_id": self.correlation_id, "complete": self.complete,
            "success_rate": self.success_rate,
            "phases": {p.name: p.as_dict() for p in (self.phase(Action.SELL),
                                                     self.phase(Action.BUY))},
            "buy_scale": self.buy_scale, "buy_budget": self.buy_budget,
            "account_before": _money(self.account_before),
            "account_between": _money(self.account_between),
            "account_after": _money(self.account_after),
            "started_at": self.started_at, "finished_at": self.finished_at,
            "seconds": round(self.seconds, 6),
            "items": [item.as_dict() for item in self.items],
        }


@dataclass
class PlanReport:
    """A plan's run on each venue it names: one :class:`RebalanceReport` per venue, the
    positions of the symbols it traded, and totals per currency (cash never moves between
    venues, so each venue's buys were sized to its own buying power)."""

    reports: dict[str, RebalanceReport] = field(default_factory=dict)
    positions: dict[str, list[PositionLine]] = field(default_factory=dict)
    """Per venue, the journal's positions in the symbols the plan traded, marked and
    compared with the venue's (empty for a dry run)."""
    finished: dict[str, Run] = field(default_factory=dict)
    """Venues whose part of the plan had run to its end before: not traded again while
    the parts that were unfinished resumed."""

    @property
    def complete(self) -> bool:
        return all(report.complete for report in self.reports.values())

    @property
    def venues(self) -> list[str]:
        return list(self.reports) + [name for name in self.finished if name not in self.reports]

    @property
    def dry_run(self) -> bool:
        return any(report.dry_run for report in self.reports.values())

    @property
    def interrupted(self) -> str | None:
        return next((r.interrupted for r in self.reports.values() if r.interrupted), None)

    def totals(self) -> dict[str, dict[str, Decimal]]:
        """Per currency (each venue's account currency): notional bought and sold, fees."""
        totals: dict[str, dict[str, Decimal]] = {}
        for report in self.reports.values():
            currency = report.account_before.currency if report.account_before else "USD"
            entry = totals.setdefault(currency, {"bought": ZERO, "sold": ZERO, "fees": ZERO})
            for item in report.trades:
                side = "bought" if item.action is Action.BUY else "sold"
                entry[side] += item.executed_notional
                entry["fees"] += item.fees + item.earlier_fees
        return totals

    def as_dict(self) -> dict[str, Any]:
        """A plan on one venue reports as that venue's report (with its positions); a plan
        across venues as ``venues``, ``totals``, ``complete`` and ``positions``."""
        positions = {venue: [line.as_dict() for line in lines]
                     for venue, lines in self.positions.items()}
        if len(self.reports) == 1 and not self.finished:
            [(venue, report)] = self.reports.items()
            return report.as_dict() | {"positions": positions.get(venue, [])}
        return {"venues": {venue: report.as_dict() for venue, report in self.reports.items()},
                "finished_before": {venue: run.id for venue, run in self.finished.items()},
                "totals": self.totals(), "complete": self.complete,
                "interrupted": self.interrupted, "positions": positions}
