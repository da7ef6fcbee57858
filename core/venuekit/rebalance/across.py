"""A plan across venues: each venue's part runs as a plan of its own, all concurrently.

Cash never moves between venues, so each venue's part is a whole rebalance there: its
sells settle, then its buys are sized to that venue's own buying power. Before any venue
trades, the whole plan is checked:

* every symbol must be listed on the venue its item names (every problem is reported at
  once, located in the whole plan: ``items[4].symbol``), or nothing is sent anywhere;
* each part is a journaled run of its own. Running the plan again resumes each part whose
  run is unfinished (a crash, an interrupt), starts each part that never ran, and does
  not trade again a part whose run finished (the report names it); when every part
  finished, the plan is refused with RUN_FINISHED. ``again`` trades every part anew.

If one venue's part fails with an error (not an order's outcome, which its report holds),
the others are stopped as an interrupt stops them: nothing more is sent, their working
orders are cancelled (each cancel confirmed) and their runs stay resumable; the error is
then raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..errors import VenueKitError
from ..journal.runs import Run, RunKind
from ..runs.book import RunBook
from .executor import Rebalancer, run_items
from .plan import Plan, PlanError, PlanProblem
from .report import PlanReport, RebalanceReport

if TYPE_CHECKING:
    from ..engine import Engine

__all__ = ["rebalance_across"]

log = logging.getLogger("venuekit.rebalance")


async def rebalance_across(engines: Mapping[str, Engine], plan: Plan, *,
                           default: str | None, rebalancer: Callable[[Engine], Rebalancer],
                           dry_run: bool = False, again: bool = False) -> PlanReport:
    """Run ``plan`` on the venues of ``engines`` (each started, keyed by venue name), items
    naming no venue on ``default``; ``rebalancer`` makes each venue's executor."""
    parts = {name: plan.on(name, default) for name in plan.venues(default)}
    await _check_symbols(engines, plan, default)
    report = PlanReport()
    if not dry_run and not again:
        report.finished = _finished_parts(engines, parts)
    todo = {name: part for name, part in parts.items() if name not in report.finished}

    async def one(name: str) -> RebalanceReport:
        return await rebalancer(engines[name]).run(todo[name], dry_run=dry_run, again=again)

    tasks = {name: asyncio.ensure_future(one(name)) for name in todo}
    try:
        await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_EXCEPTION)
    finally:
        failed = [task for task in tasks.values() if task.done() and not task.cancelled()
                  and task.exception() is not None]
        for task in tasks.values():  # one failed, or the caller was cancelled: stop all
            if failed or not task.done():
                task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
    if failed:
        first = failed[0].exception()
        assert first is not None
        log.error("a venue's part of the plan failed; the others were stopped",
                  extra={"venues": list(todo), "error": type(first).__name__})
        raise first
    report.reports = {name: task.result() for name, task in tasks.items()}
    return report


async def _check_symbols(engines: Mapping[str, Engine], plan: Plan,
                         default: str | None) -> None:
    """Every item's symbol listed on its venue, or PlanError with every problem."""
    names = list(engines)
    listed = await asyncio.gather(*(engines[name].instruments(
        sorted({item.symbol for item in plan.on(name, default).items})) for name in names))
    known = dict(zip(names, listed, strict=True))
    problems = [PlanProblem(f"items[{i}].symbol", f"unknown symbol {item.symbol!r}"
                            + (f" on {item.venue or default}" if len(names) > 1 else ""))
                for i, item in enumerate(plan.items)
                if item.symbol not in known[item.venue or default or ""]]
    if problems:
        raise PlanError(problems, f"the plan (symbols on {', '.join(names)})")


def _finished_parts(engines: Mapping[str, Engine], parts: Mapping[str, Plan]) -> dict[str, Run]:
    """The parts whose run finished (not traded again); RUN_FINISHED when that is every
    part (the plan ran already)."""
    latest = {name: RunBook(engines[name].journal, name).latest(
        RunKind.REBALANCE, run_items(part), part.correlation_id)
        for name, part in parts.items()}
    finished = {name: run for name, run in latest.items()
                if run is not None and not run.state.resumable}
    if len(finished) == len(parts):
        name, run = next(iter(finished.items()))
        error: VenueKitError = RunBook(engines[name].journal, name).finished_error(run)
        raise error
    return finished
