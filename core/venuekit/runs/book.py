"""Starting a run, or resuming the unfinished run of the same plan, and what it has left.

:class:`RunBook` is what a job of several orders (the rebalancer, ``venuekit order``) asks
before it trades:

* the plan's content hash (:func:`plan_hash`) names the plan: the same items (symbols,
  actions, amounts) and correlation id give the same hash, whatever the file looks like;
* the latest run of that plan on that venue decides: none, a new run; unfinished
  (running when its process died, interrupted, failed), that run is **resumed**; finished,
  the plan is refused with RUN_FINISHED unless asked to trade it ``again`` (a single
  ``venuekit order`` is not a plan: once finished, the same order again is a new run);
* a resumed run's working orders are cancelled first, each cancel confirmed by the venue
  (:meth:`RunBook.cancel_working`), so that what is left is sized from what really
  filled: :meth:`RunBook.progress` gives each item's confirmed fills, and counts an order
  whose outcome is still unknown as if it had filled in full, so a resume never trades
  more than the plan.

A run is *live* while the process that runs it is alive; the journal knows its owner
(:data:`~venuekit.journal.runs.OWNER`, :attr:`~venuekit.journal.runs.Run.live`). Recovery
names the working orders of runs that are not live as orphans.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from ..errors import Code, VenueKitError, error
from ..fees import Fees, fees_of
from ..journal.runs import OWNER, Run, RunItem, RunKind, RunState
from ..model import ZERO, Instrument, Order

if TYPE_CHECKING:
    from ..engine import Engine
    from ..journal.base import Journal

__all__ = ["ItemProgress", "PlanRuns", "RunBook", "RunStart", "plan_hash"]

log = logging.getLogger("venuekit.runs")

def plan_hash(kind: RunKind, items: Sequence[RunItem], correlation_id: str | None) -> str:
    """The content hash of a plan: its kind, correlation id and items' intent.

    Amounts compare as numbers (``"10"`` and ``"10.0"`` hash alike) and the order of the
    items does not matter (symbols are unique within a plan).
    """
    def number(value: Decimal | None) -> str | None:
        return None if value is None else format(value.normalize(), "f")

    content = {
        "kind": kind.value,
        "correlation_id": correlation_id,
        "items": sorted([item.symbol, item.action, number(item.quantity),
                         number(item.notional), number(item.limit_price)] for item in items),
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class ItemProgress:
    """What one run item traded so far, from the journal's confirmed orders."""

    item: RunItem
    orders: list[Order] = field(default_factory=list)

    @property
    def filled(self) -> Decimal:
        """Quantity the venue confirmed filled over the item's orders."""
        return sum((order.filled_quantity for order in self.orders), ZERO)

    @property
    def filled_notional(self) -> Decimal:
        return sum((order.filled_notional for order in self.orders), ZERO)

    def fees(self, instrument: Instrument) -> Fees:
        """The orders' fees: in the instrument's currency, and apart in other assets."""
        return fees_of((fill for order in self.orders for fill in order.fills), instrument)

    @property
    def fees_by_asset(self) -> dict[str, Decimal]:
        """The orders' fees in the assets they were charged in."""
        out: dict[str, Decimal] = {}
        for fill in (fill for order in self.orders for fill in order.fills):
            if fill.fee:
                out[fill.fee_currency] = out.get(fill.fee_currency, ZERO) + fill.fee
        return out

    @property
    def unsettled(self) -> Decimal:
        """Quantity of orders not final yet (their outcome unknown, or a cancel that did not
        go through), beyond what they filled: counted as if it filled."""
        return sum((max(order.remaining_quantity or ZERO, ZERO) for order in self.orders
                    if not order.state.is_terminal), ZERO)

    def left(self, target: Decimal) -> Decimal:
        """What is left of ``target`` once what filled, and what may still fill, are
        counted (never below zero)."""
        return max(target - self.filled - self.unsettled, ZERO)


@dataclass
class RunStart:
    """The run a job works for: new, or resumed with what each item traded before."""

    run: Run | None
    """The run; None until a new run is journaled with its first targets
    (:meth:`RunBook.record_targets`), and for a dry run with no run to resume."""
    resumed: bool = False
    progress: dict[int, ItemProgress] = field(default_factory=dict)
    new: _NewRun | None = None
    """What a new run will be journaled as, until it is."""

    def earlier(self, index: int) -> ItemProgress | None:
        """What item ``index`` traded in earlier sessions, when resumed and it traded."""
        found = self.progress.get(index)
        return found if found is not None and found.orders else None


class PlanRuns(NamedTuple):
    """A plan's hash and its latest run on a venue (:meth:`RunBook.find`)."""

    plan_hash: str
    latest: Run | None


@dataclass(frozen=True)
class _NewRun:
    kind: RunKind
    plan_hash: str
    items: Sequence[RunItem]
    strategy: str
    correlation_id: str | None


class RunBook:
    """The runs of one venue in one journal (see the module docstring)."""

    def __init__(self, journal: Journal, venue: str) -> None:
        self.journal = journal
        self.venue = venue

    def find(self, kind: RunKind, items: Sequence[RunItem],
             correlation_id: str | None = None) -> PlanRuns:
        """The plan's hash and its latest run on this venue: what :meth:`start` decides
        from (a read; a job may look it up while its first venue reads are on their way)."""
        digest = plan_hash(kind, items, correlation_id)
        return PlanRuns(digest, self._latest(kind, digest))

    def start(self, kind: RunKind, items: Sequence[RunItem], *, strategy: str,
              correlation_id: str | None = None, again: bool = False,
              dry_run: bool = False, found: PlanRuns | None = None) -> RunStart:
        """The run to work for: the unfinished run of the same plan, resumed; else a new
        one. Raises RUN_FINISHED for a plan whose last run finished, unless ``again``.

        A new run is journaled with its first targets (:meth:`record_targets`), in one
        commit, before any of its orders. A dry run journals nothing and refuses nothing:
        it returns the run it would resume (with its progress), or none (the whole plan is
        priced). ``found`` is what :meth:`find` returned, when the caller looked it up
        already.
        """
        if found is None:
            found = self.find(kind, items, correlation_id)
        digest, latest = found
        if latest is not None and not again:
            if latest.state.resumable:
                if latest.live:
                    raise error(Code.INVALID_CONFIG, f"run {latest.id} of this plan is "
                                "running in this process already",
                                action="Wait for that run to end, or pass again=True to "
                                       "trade the plan as a run of its own.")
                if dry_run:
                    return RunStart(latest, resumed=True, progress=self.progress(latest))
                return self._resume(latest)
            if kind is RunKind.REBALANCE and not dry_run:
                raise self.finished_error(latest)
        if dry_run:
            return RunStart(None)
        return RunStart(None, new=_NewRun(kind, digest, items, strategy, correlation_id))

    def latest(self, kind: RunKind, items: Sequence[RunItem],
               correlation_id: str | None = None) -> Run | None:
        """The latest run of the plan of ``items`` on this venue, or None."""
        return self._latest(kind, plan_hash(kind, items, correlation_id))

    def _latest(self, kind: RunKind, digest: str) -> Run | None:
        return next(iter(self.journal.runs(venue=self.venue, plan_hash=digest, kind=kind,
                                           limit=1)), None)

    def _resume(self, run: Run) -> RunStart:
        previous = run.state
        self.journal.update_run(run.id, resumed_by=OWNER)
        resumed = self.journal.get_run(run.id)
        assert resumed is not None
        run = resumed
        log.info("run resumed", extra={"run_id": run.id, "venue": self.venue,
                                       "was": previous.value, "session": run.sessions})
        return RunStart(run, resumed=True, progress=self.progress(run))

    def finished_error(self, run: Run) -> VenueKitError:
        """RUN_FINISHED for a plan whose last run, ``run``, ran to its end."""
        done = sum(1 for item in run.items if item.status in ("completed", "held"))
        when = (run.finished_at or run.updated_at).isoformat(timespec="seconds")
        return error(Code.RUN_FINISHED,
                     f"this plan already ran to its end as run {run.id} on {run.venue} "
                     f"(finished {when}, {done} of {len(run.items)} items completed); "
                     f"nothing was sent. `venuekit runs show {run.id}` says what it did; "
                     "pass --again to trade the plan again",
                     venue=run.venue, details={"run_id": run.id})

    def progress(self, run: Run) -> dict[int, ItemProgress]:
        """Each item's orders and what they filled, as the journal holds them now."""
        progress = {item.index: ItemProgress(item) for item in run.items}
        for order in self.journal.orders(run_id=run.id):
            if order.run_item is not None and order.run_item in progress:
                progress[order.run_item].orders.append(order)
        return progress

    async def cancel_working(self, engine: Engine, run: Run) -> list[Order]:
        """Cancel ``run``'s orders still working at the venue, each cancel confirmed.

        Called on resume, after recovery: what the dead session left working is cancelled
        rather than adopted, so that the rest is sized from confirmed fills. Returns the
        orders it cancelled (an order that could not be cancelled stays open: its whole
        quantity then counts as filled in :meth:`ItemProgress.left`).
        """
        working = [order for order in engine.tracker.open_orders() if order.run_id == run.id]
        if not working:
            return []
        log.info("cancelling the working orders of the resumed run",
                 extra={"run_id": run.id, "orders": len(working)})
        outcomes = await asyncio.gather(*(engine.cancel(order) for order in working),
                                        return_exceptions=True)
        for order, outcome in zip(working, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, VenueKitError):
                    raise outcome
                log.warning("could not cancel an order of the resumed run",
                            extra={"run_id": run.id, "order_id": order.id,
                                   "code": outcome.code.name})
        engine.tracker.flush()
        return [order for order in working if order.state.is_terminal]

    def record_targets(self, start: RunStart, targets: Mapping[int, Decimal]) -> Run:
        """Journal the quantity each item trades, before its first order is sent (a new
        run is journaled now, with them); the run gets them too. A target already recorded
        is kept. Returns the run."""
        new, run = start.new, start.run
        if new is not None:
            start.new = None
            items = [item.with_target(targets[item.index]) if item.index in targets else item
                     for item in new.items]
            run = start.run = self.journal.create_run(
                kind=new.kind, venue=self.venue, plan_hash=new.plan_hash,
                strategy=new.strategy, items=items, correlation_id=new.correlation_id,
                owner=OWNER)
            log.info("run started", extra={"run_id": run.id, "kind": new.kind.value,
                                           "venue": self.venue, "items": len(items)})
            return run
        assert run is not None, "a dry run records nothing"
        recorded = {item.index: item.target for item in run.items}
        fixed = {index: target for index, target in targets.items()
                 if recorded[index] is None}
        if not fixed:
            return run
        items = [item.with_target(fixed[item.index]) if item.index in fixed else item
                 for item in run.items]
        self.journal.update_run(run.id, items=[item for item in items if item.index in fixed])
        run.items = items
        return run

    def end(self, run: Run, state: RunState, *, note: str | None = None,
            statuses: Iterable[tuple[int, str, str | None]] = ()) -> Run:
        """Record how ``run`` ended and each item's status (``(index, status, note)``)."""
        by_index = {item.index: item for item in run.items}
        for index, status, item_note in statuses:
            if index in by_index:
                by_index[index] = by_index[index].ended(status, item_note)
        changed = [by_index[index] for index, _, _ in statuses if index in by_index]
        self.journal.update_run(run.id, state=state, note=note, items=changed)
        run.items = list(by_index.values())
        run.state = state
        run.note = note
        log.info("run ended", extra={"run_id": run.id, "state": state.value, "note": note})
        return run
