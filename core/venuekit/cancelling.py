"""Cancelling orders the journal holds: choosing them, cancelling each, and the report.

``venuekit cancel``, ``venuekit recover --cancel-working``, the client's cancels and
:func:`venuekit.cancel` go through here. Orders are chosen from the journal's open orders
(by id, by run, or all, narrowed by symbol and venue); the client connects and recovers
each venue involved (so that the journal agrees with the venue first), and each chosen
order still working is cancelled with :meth:`Engine.cancel`: the cancel counts only once
the venue confirms that nothing remains working, and a fill that races it is recorded.
The report says, order by order, what it was, what it is now, and what went wrong.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .engine import Engine
from .errors import Code, VenueKitError, error
from .journal.target import open_journal
from .model import Order, OrderState
from .settings import Settings

if TYPE_CHECKING:
    from .journal.base import Journal

__all__ = ["CancelOutcome", "CancelReport", "as_found", "cancel_orders", "choose", "choose_in",
           "working_venues"]

log = logging.getLogger("venuekit.cancel")

_SAY_WHICH = "say which orders to cancel: order ids, a run, or all (narrowed by symbol or venue)"
_NAME_THEM = ("Name them: `venuekit cancel ID...`, `--run RUN` or `--all` (with `--symbol`, "
              "`--venue`); `venuekit orders --open` lists what is working.")


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """One chosen order: its state before and after, what filled, and any error."""

    order_id: str
    venue: str
    symbol: str
    side: str
    before: OrderState
    after: OrderState
    filled_quantity: Decimal
    quantity: Decimal | None
    run_id: str | None = None
    error: str | None = None

    @property
    def final(self) -> bool:
        """True when nothing of the order works at the venue any more."""
        return self.after.is_terminal

    @property
    def result(self) -> str:
        """``cancelled``, ``already <state>`` (final before the cancel could act: a fill
        won the race), ``<state>`` for any other end, or ``still working``."""
        if not self.final:
            return "still working"
        if self.after in (OrderState.CANCELLED, OrderState.TIMEOUT):
            return "cancelled"
        return f"already {self.after.value}"

    def as_dict(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "venue": self.venue, "symbol": self.symbol,
                "side": self.side, "run_id": self.run_id, "before": self.before.value,
                "after": self.after.value, "result": self.result, "final": self.final,
                "filled_quantity": self.filled_quantity, "quantity": self.quantity,
                "error": self.error}


@dataclass
class CancelReport:
    """What a cancel did; ``ok`` when every chosen order is final."""

    outcomes: list[CancelOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(outcome.final for outcome in self.outcomes)

    @property
    def cancelled(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == "cancelled")

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "chosen": len(self.outcomes), "cancelled": self.cancelled,
                "still_working": sum(1 for o in self.outcomes if not o.final),
                "orders": [outcome.as_dict() for outcome in self.outcomes]}


def choose(journal: Journal, *, order_ids: Sequence[str] = (), run_id: str | None = None,
           every: bool = False, symbol: str | None = None,
           venue: str | None = None) -> list[Order]:
    """The open orders chosen: ``order_ids``, or those of ``run_id``, or ``every`` one;
    narrowed by ``symbol`` and ``venue``. Oldest first.

    Raises UNKNOWN_ORDER for an id the journal does not hold, UNKNOWN_RUN for an
    unknown run, and INVALID_CONFIG when nothing says which orders to choose. An id of an
    order that is already final is chosen as it is (its outcome says so).
    """
    if not order_ids and run_id is None and not every:
        raise error(Code.INVALID_CONFIG, _SAY_WHICH, action=_NAME_THEM)
    if run_id is not None and journal.get_run(run_id) is None:
        raise error(Code.UNKNOWN_RUN, f"the journal has no run {run_id!r}",
                    details={"run_id": run_id})
    chosen: list[Order] = []
    if order_ids:
        for order_id in dict.fromkeys(order_ids):
            order = journal.get(order_id)
            if order is None:
                raise error(Code.UNKNOWN_ORDER, f"the journal has no order {order_id!r}",
                            details={"order_id": order_id})
            chosen.append(order)
    else:
        chosen = journal.open_orders(venue)
    return [order for order in chosen
            if (run_id is None or order.run_id == run_id)
            and (symbol is None or order.symbol == symbol)
            and (venue is None or order.venue == venue)]


async def cancel_orders(engine: Engine, orders: Iterable[Order]) -> list[CancelOutcome]:
    """Cancel each of ``orders`` (of ``engine``'s venue) that is still working.

    ``engine`` must be started: recovery has reconciled the journal's open orders, whose
    live objects the engine's tracker holds. An order that recovery found final is
    reported as it ended; a cancel that fails leaves the order as it is, with the error.
    """
    chosen = list(orders)
    before = {order.id: order.state for order in chosen}
    # Each order as the engine's recovery left it: its live object (tracked while still
    # open), else read again (it ended at the venue meanwhile). The copy chosen before
    # recovery lacks recovery's events: a cancel applied to it would number its events from
    # that stale history, numbers the journal holds already (it refuses them).
    live = [engine.tracker.live(order.id) or engine.journal.get(order.id) or order
            for order in chosen]
    working = [order for order in live if not order.state.is_terminal]
    outcomes = await asyncio.gather(*(engine.cancel(order) for order in working),
                                    return_exceptions=True)
    errors: dict[str, str] = {}
    for order, outcome in zip(working, outcomes, strict=True):
        if isinstance(outcome, VenueKitError):
            errors[order.id] = f"{outcome.code.name}: {outcome.message}"
            log.error("could not cancel the order",
                      extra={"order_id": order.id, "venue": order.venue,
                             "code": outcome.code.name})
        elif isinstance(outcome, BaseException):
            raise outcome
    engine.tracker.flush()
    return [_outcome(order, before[order.id], errors.get(order.id)) for order in live]


def choose_in(settings: Settings, *, order_ids: Sequence[str] = (), run_id: str | None = None,
              every: bool = False, symbol: str | None = None,
              venue: str | None = None) -> list[Order]:
    """:func:`choose` on the journal of ``settings``, read-only: what a caller reads to
    know which venues to connect before it cancels. Raises as :func:`choose` does; with no
    journal yet, nothing is working."""
    if not settings.journal.exists():
        if not order_ids and run_id is None and not every:
            raise error(Code.INVALID_CONFIG, _SAY_WHICH, action=_NAME_THEM)
        if order_ids:
            raise error(Code.UNKNOWN_ORDER, f"the journal has no order {order_ids[0]!r} (there "
                        f"is no journal at {settings.journal} yet)")
        if run_id is not None:
            raise error(Code.UNKNOWN_RUN, f"the journal has no run {run_id!r} (there is no "
                        f"journal at {settings.journal} yet)")
        return []
    with open_journal(settings.journal, readonly=True) as book:
        return choose(book, order_ids=order_ids, run_id=run_id, every=every, symbol=symbol,
                      venue=venue)


def working_venues(orders: Iterable[Order]) -> list[str]:
    """The venues of those of ``orders`` still working: the ones a cancel must connect."""
    return list(dict.fromkeys(o.venue for o in orders if not o.state.is_terminal))


def as_found(orders: Iterable[Order], failure: str | None = None) -> list[CancelOutcome]:
    """Outcomes of orders left as they are: final ones as they ended, and working ones
    with ``failure`` (why they could not be cancelled)."""
    return [_outcome(o, o.state, None if o.state.is_terminal else failure) for o in orders]


def _outcome(order: Order, before: OrderState, failure: str | None = None) -> CancelOutcome:
    return CancelOutcome(order_id=order.id, venue=order.venue, symbol=order.symbol,
                         side=order.side.value, before=before, after=order.state,
                         filled_quantity=order.filled_quantity, quantity=order.quantity,
                         run_id=order.run_id, error=failure)
