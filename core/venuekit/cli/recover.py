"""``venuekit recover``: reconcile the journal's open orders with the venue."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..cancelling import CancelOutcome
from ..errors import VenueKitError
from ..journal.target import JournalTarget
from ..recovery import RecoveryReport
from .config import resolve, venue_options
from .output import console, emit_json
from .session import EXIT_INCOMPLETE, Interrupts, fail, run


@dataclass
class _Recovered:
    report: RecoveryReport
    cancelled: list[CancelOutcome] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)  # from writers that are gone

    @property
    def ok(self) -> bool:
        return self.report.ok and all(outcome.final for outcome in self.cancelled)

    def as_dict(self) -> dict[str, Any]:
        data = self.report.as_dict()
        data["ok"] = self.ok
        data["cancelled"] = [outcome.as_dict() for outcome in self.cancelled]
        data["adopted"] = list(self.adopted)
        return data


@click.command("recover")
@click.option("--cancel-working", is_flag=True,
              help="Also cancel the orphans: orders still working whose run is gone (its "
                   "process died, or it ended). Each cancel is confirmed by the venue.")
@venue_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def recover_command(cancel_working: bool, venue: str, options: tuple[str, ...],
                    config_path: Path | None, journal: JournalTarget | None, as_json: bool) -> None:
    """Reconcile every open order in the journal with the venue.

    Orders the journal holds as not final are looked up at the venue; their fills and
    final states are recorded. An order that was never sent, or that the venue proves it
    never received, ends in `error` with the reason.

    Orders still working afterwards are named: orphans belong to a run whose process is
    gone (re-running the plan resumes that run; --cancel-working cancels them), standalone
    orders belong to no run. Nothing is cancelled unless --cancel-working is given.

    Exits 1 if any order could not be reconciled (trading stays refused until this
    succeeds) or an orphan could not be cancelled.

    \b
    Examples:
      venuekit recover
      venuekit recover --cancel-working
      venuekit recover --venue alpaca --json
    """
    try:
        chosen = resolve(venue, options, config_path, journal)
    except VenueKitError as exc:
        fail(exc)
    interrupts = Interrupts()

    async def work() -> _Recovered:
        async with chosen.client() as client:
            if client.journal is not None:
                interrupts.keep(client.journal)
            status = client.status()
            if status.engine is None:  # the venue could not be connected
                assert status.error is not None
                raise status.error
            report = client.recovery()
            assert report is not None
            recovered = _Recovered(report, adopted=list(client.adopted))
            if cancel_working and report.orphaned:
                orphans = [order for order in (status.engine.tracker.get(order_id)
                                               for order_id, _ in report.orphaned)
                           if order is not None]
                recovered.cancelled = (await client.cancel_chosen(orphans)).outcomes
            return recovered

    recovered = run(work, interrupts)
    if as_json:
        emit_json(recovered.as_dict())
    else:
        _print(recovered, cancel_working)
    if interrupts.exit_code is not None:
        sys.exit(interrupts.exit_code)
    if not recovered.ok:
        sys.exit(EXIT_INCOMPLETE)


def _print(recovered: _Recovered, cancel_working: bool) -> None:
    report = recovered.report
    out = console()
    if recovered.adopted:
        out.print(f"took over {len(recovered.adopted)} open order(s) of writers that are "
                  f"gone (a shared journal): {', '.join(recovered.adopted[:5])}"
                  + (" ..." if len(recovered.adopted) > 5 else ""))
    out.print(f"checked {report.checked} open order(s) on {report.venue}: "
              f"{len(report.changes)} changed, {len(report.working)} still working, "
              f"{len(report.failed)} failed")
    if report.changes or report.failed:
        table = Table()
        for column in ("order", "from", "to / error"):
            table.add_column(column)
        for order_id, before, after in report.changes:
            table.add_row(order_id, before.value, after.value)
        for order_id, message in report.failed:
            table.add_row(order_id, "", f"[red]{message}[/]")
        out.print(table)
    if report.orphaned:
        cancelled = {outcome.order_id: outcome for outcome in recovered.cancelled}
        table = Table(title="orphaned: still working, their run is gone")
        for column in ("order", "run", "now"):
            table.add_column(column, no_wrap=True)
        for order_id, run_id in report.orphaned:
            outcome = cancelled.get(order_id)
            now = "working" if outcome is None else (
                outcome.result if outcome.error is None else f"[red]{outcome.error}[/]")
            table.add_row(order_id, run_id, now)
        out.print(table)
        if not cancel_working:
            out.print("Re-run their plan to resume the run, or cancel them: "
                      "`venuekit recover --cancel-working` (or `venuekit cancel --run RUN`).")
    if report.standalone:
        shown = ", ".join(report.standalone[:5]) + (" ..." if len(report.standalone) > 5
                                                     else "")
        out.print(f"{len(report.standalone)} standalone order(s) still working (no run): "
                  f"{shown}; `venuekit cancel ID` cancels one.")
    if report.live:
        out.print(f"{len(report.live)} order(s) of runs this process runs are working.")
