"""Crash recovery: reconcile every open order in the journal with the venue before trading.

Run at engine start-up and by ``venuekit recover``. For each order the journal holds as
not terminal:

* NEW: the SUBMIT event is committed before any byte goes to the venue, so a NEW order was
  never sent; it ends in ERROR with that reason (it is not re-sent: the intent is stale);
* HELD: held by the engine until its trigger fires, never sent; it is left as it is (the
  venue knows nothing of it) and listed in ``held``: the engine re-arms it after recovery
  (see :mod:`venuekit.triggers`);
* SUBMITTED: looked up (client order id or fingerprint) after the venue's grace window;
  found, it is reconciled; proven absent, it ends in ERROR ("never reached the venue"); an
  order whose cancel was requested before any acknowledgement is treated the same way;
* acknowledged, partially filled or pending: its snapshot and the venue's executions are
  applied (read once for every order, and again for an order whose snapshot shows fills
  that first read missed); fills the venue cannot itemize are inferred with deterministic
  ids.

If any order cannot be reconciled (the venue is unreachable, an acknowledged order is
missing) the report says which and why, and the engine refuses to trade.

Orders still working afterwards are named by whom they serve: a run this process is
running (*live*), a run whose process is gone or that ended (*orphaned*: nobody will
settle them; ``venuekit recover --cancel-working`` cancels them, re-running the plan
resumes their run), or no run at all (*standalone*: placed through the engine directly,
kept working on purpose). Recovery itself never cancels anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from . import exits
from .errors import Code, OrderNotFound, VenueKitError, error
from .journal.runs import Run
from .lifecycle import EventKind
from .model import Fill, Order, OrderState
from .outcome import OutcomePolicy, submit_age
from .reconcile import CLOCK_SLACK, fetch_fills, lookup, reconcile_order
from .tracking import OrderTracker
from .venue import Venue

__all__ = ["RecoveryReport", "recover"]

log = logging.getLogger("venuekit.recovery")


@dataclass
class RecoveryReport:
    """What recovery found and did, order by order."""

    venue: str
    checked: int = 0
    changes: list[tuple[str, OrderState, OrderState]] = field(default_factory=list)
    working: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    inferred_fills: int = 0
    live: list[str] = field(default_factory=list)
    """Working orders of runs this process is running."""
    orphaned: list[tuple[str, str]] = field(default_factory=list)
    """Working orders (order id, run id) of runs whose process is gone or that ended."""
    standalone: list[str] = field(default_factory=list)
    """Working orders that belong to no run."""
    held: list[str] = field(default_factory=list)
    """Orders held by the engine until their trigger fires (never sent): re-armed."""

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, object]:
        return {
            "venue": self.venue,
            "ok": self.ok,
            "checked": self.checked,
            "changes": [{"order_id": i, "from": a.value, "to": b.value}
                        for i, a, b in self.changes],
            "working": list(self.working),
            "failed": [{"order_id": i, "error": e} for i, e in self.failed],
            "inferred_fills": self.inferred_fills,
            "live": list(self.live),
            "orphaned": [{"order_id": i, "run_id": r} for i, r in self.orphaned],
            "standalone": list(self.standalone),
            "held": list(self.held),
        }


async def _confirm_absent(venue: Venue, tracker: OrderTracker, order: Order,
                          policy: OutcomePolicy) -> bool:
    """True when ``confirmations`` not-found answers, after the grace window, prove absence."""
    grace = policy.grace if policy.grace is not None else venue.capabilities.not_found_grace
    wait = grace - submit_age(order)
    if wait > 0:
        await asyncio.sleep(wait)
    for attempt in range(policy.confirmations):
        if attempt:
            await asyncio.sleep(grace)
        try:
            snapshot = await lookup(venue, tracker, order, policy.lookup_backoff)
        except OrderNotFound:
            continue
        await reconcile_order(venue, tracker, order, snapshot, backoff=policy.lookup_backoff)
        return False
    return True


async def _find_exit(venue: Venue, tracker: OrderTracker, order: Order,
                     policy: OutcomePolicy) -> bool:
    """Find a native bracket's exit through its entry; False when it ended with its entry
    (see venuekit.exits)."""
    assert order.parent is not None
    entry = tracker.live(order.parent) or tracker.journal.get(order.parent)
    if entry is None:
        tracker.apply(order, EventKind.ERROR,
                      reason=f"its bracket's entry {order.parent} is not in the journal")
        return False
    family = {o.leg: tracker.live(o.id) or o for o in tracker.journal.children(entry)
              if o.leg is not None}
    family[order.leg or ""] = order
    if exits.end_with_entry(tracker, entry, family):
        return False
    if not entry.venue_order_id and venue.capabilities.client_order_ids is not True:
        raise error(Code.RECONCILIATION_FAILED,
                    f"the exit {order.id} is found through its entry {entry.id}, which is "
                    "not found yet", venue=venue.name)
    await exits.find(venue, tracker, entry, family, policy.lookup_backoff)
    if order.venue_order_id is None:
        raise error(Code.RECONCILIATION_FAILED,
                    f"{venue.name} lists no {order.leg} for the bracket of {entry.id}",
                    venue=venue.name)
    return True


async def _recover_one(venue: Venue, tracker: OrderTracker, order: Order, fills: Sequence[Fill],
                       policy: OutcomePolicy) -> None:
    if order.state is OrderState.HELD:
        return  # never sent: the engine re-arms its trigger
    # A native bracket's exit whose venue id the crash lost: the venue made it and never
    # saw its client order id, so it is found through its entry.
    if exits.is_native_exit(order) and not order.venue_order_id \
            and (not await _find_exit(venue, tracker, order, policy)
                 or order.state.is_terminal):
        return
    if order.state is OrderState.NEW:
        tracker.apply(order, EventKind.ERROR,
                      reason="never sent: the process stopped before submitting it")
        return
    try:
        snapshot = await lookup(venue, tracker, order, policy.lookup_backoff)
    except OrderNotFound:
        if order.state is OrderState.PENDING_CANCEL and \
                order.resume_state is OrderState.SUBMITTED and order.filled_quantity == 0:
            # Cancelled before the venue ever acknowledged it: whether the venue has it is
            # the create's question, answered as for a SUBMITTED order.
            tracker.apply(order, EventKind.CANCEL_REJECTED,
                          reason="the venue does not know the order (yet)")
        if order.state is not OrderState.SUBMITTED:
            raise
        if await _confirm_absent(venue, tracker, order, policy):
            tracker.apply(order, EventKind.ERROR,
                          reason="never reached the venue (lookups after the grace window "
                                 "found nothing)")
        return
    await reconcile_order(venue, tracker, order, snapshot, fills=fills,
                          backoff=policy.lookup_backoff)


async def recover(venue: Venue, tracker: OrderTracker,
                  policy: OutcomePolicy | None = None, *,
                  only: Collection[str] | None = None) -> RecoveryReport:
    """Reconcile every open journaled order of ``venue`` (or those of them named in
    ``only``: the orders just adopted from a writer that is gone); never raises for one
    order."""
    policy = policy or OutcomePolicy()
    report = RecoveryReport(venue=venue.name)
    # Orders of which this process holds a live object keep it (two objects of one order
    # would number their events alike); the rest are rebuilt from the journal.
    orders = [tracker.live(o.id) or o for o in tracker.journal.open_orders(venue.name)
              if only is None or o.id in only]
    for order in orders:
        if tracker.get(order.id) is None:
            tracker.track(order)
    report.checked = len(orders)
    if not orders:
        return report
    fills: Sequence[Fill] = ()
    if any(o.state is not OrderState.NEW and o.state is not OrderState.HELD for o in orders):
        since = min(o.created_at for o in orders) - CLOCK_SLACK
        try:
            fills = await fetch_fills(venue, since, backoff=policy.lookup_backoff)
        except VenueKitError as exc:
            for order in orders:
                report.failed.append((order.id, f"{exc.code.name}: {exc.message}"))
            log.error("recovery could not read executions",
                      extra={"venue": venue.name, **exc.log_fields()})
            return report
    for order in orders:
        before = order.state
        seen = len(order.history)
        try:
            await _recover_one(venue, tracker, order, fills, policy)
        except VenueKitError as exc:
            report.failed.append((order.id, f"{exc.code.name}: {exc.message}"))
            log.error("could not reconcile order",
                      extra={"order_id": order.id, "venue": venue.name, **exc.log_fields()})
            continue
        report.inferred_fills += sum(1 for e in order.history[seen:]
                                     if e.fill is not None and e.fill.inferred)
        if order.state is not before:
            report.changes.append((order.id, before, order.state))
        if order.state is OrderState.HELD:
            report.held.append(order.id)
        elif not order.state.is_terminal:
            report.working.append(order.id)
    _name_working(tracker, report, orders)
    log.info("recovery finished",
             extra={"venue": venue.name, "checked": report.checked,
                    "changed": len(report.changes), "failed": len(report.failed),
                    "orphaned": len(report.orphaned)})
    return report


def _name_working(tracker: OrderTracker, report: RecoveryReport,
                  orders: Sequence[Order]) -> None:
    """Tell the working orders of live runs from orphans and standalone orders."""
    runs: dict[str, Run | None] = {}
    for order in orders:
        if order.state.is_terminal or order.state is OrderState.HELD:
            continue
        run_id = order.run_id
        if run_id is None:
            report.standalone.append(order.id)
            continue
        if run_id not in runs:
            runs[run_id] = tracker.journal.get_run(run_id)
        run = runs[run_id]
        if run is not None and run.live:
            report.live.append(order.id)
        else:
            report.orphaned.append((order.id, run_id))
