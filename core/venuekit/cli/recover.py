"""``venuekit recover``: reconcile the journal's open orders with the venue."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from ..engine import Engine
from ..recovery import RecoveryReport
from .config import resolve, venue_options
from .output import console, emit_json
from .session import EXIT_INCOMPLETE, build_venue, open_journal, run


@click.command("recover")
@venue_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def recover_command(venue: str, options: tuple[str, ...], config_path: Path | None,
                    journal: Path | None, as_json: bool) -> None:
    """Reconcile every open order in the journal with the venue.

    Orders the journal holds as not final are looked up at the venue; their fills and
    final states are recorded. An order that was never sent, or that the venue proves it
    never received, ends in `error` with the reason. Exits 1 if any order could not be
    reconciled (trading stays refused until this succeeds).
    """
    settings = resolve(venue, options, config_path, journal)

    async def work() -> RecoveryReport:
        with open_journal(settings.journal) as book:
            engine = Engine(build_venue(settings), book)
            try:
                return await engine.start()
            finally:
                await engine.close()

    report = run(work)
    if as_json:
        emit_json(report.as_dict())
    else:
        out = console()
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
    if not report.ok:
        sys.exit(EXIT_INCOMPLETE)
