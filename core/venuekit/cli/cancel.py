"""``venuekit cancel``: cancel working orders the journal holds, each confirmed by the venue."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich import box
from rich.table import Table

from ..cancelling import CancelReport, as_found, choose_in, working_venues
from ..client import AsyncClient
from ..decimals import plain_quantity
from ..errors import VenueKitError
from ..journal.target import JournalTarget
from ..settings import load_settings
from .config import journal_options, parse_option
from .output import console, emit_json
from .session import EXIT_INCOMPLETE, Interrupts, fail, run


@click.command("cancel")
@click.argument("order_ids", metavar="[ID]...", nargs=-1)
@click.option("--run", "run_id", metavar="RUN", help="Cancel the working orders of this run.")
@click.option("--all", "every", is_flag=True,
              help="Cancel every working order in the journal (narrow with --symbol, "
                   "--venue).")
@click.option("--symbol", help="Only orders for this symbol.")
@click.option("--venue", help="Only orders sent to this venue.")
@click.option("-o", "--venue-option", "options", multiple=True, metavar="KEY=VALUE",
              help="A venue setting, repeatable, for the venue of the orders (over the "
                   "config file's [venues.NAME]).")
@journal_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def cancel_command(order_ids: tuple[str, ...], run_id: str | None, every: bool,
                   symbol: str | None, venue: str | None, options: tuple[str, ...],
                   config_path: Path | None, journal: JournalTarget | None, as_json: bool) -> None:
    """Cancel working orders: by ID (client order ids), a whole --run, or --all.

    Each order's venue is connected and recovered first, so the journal agrees with the
    venue; then each order still working is cancelled, and counts as cancelled only once
    the venue confirms that nothing of it remains working (a fill that races the cancel
    is recorded). Each venue is built from the config file's [venues.NAME] table, with
    the -o settings over it.

    Exits 0 when every chosen order is final (cancelled, or already filled), 1 when some
    are still working, 2 when an ID or the run is unknown or nothing says what to cancel.

    \b
    Examples:
      venuekit cancel k3x9p2qa-41
      venuekit cancel --run k3x9p2qa-r7
      venuekit cancel --all
      venuekit cancel --all --symbol AAPL --venue alpaca --json
    """
    if not order_ids and run_id is None and not every:
        raise click.UsageError("say what to cancel: order IDs, --run RUN, or --all")
    if order_ids and (run_id is not None or every):
        raise click.UsageError("give order IDs, or --run, or --all: not several")
    try:
        settings = load_settings(config_path=config_path, journal=journal)
        given = dict(parse_option(text) for text in options)
        chosen = choose_in(settings, order_ids=order_ids, run_id=run_id, every=every,
                           symbol=symbol, venue=venue)
    except VenueKitError as exc:
        fail(exc)
    interrupts = Interrupts()
    venues = working_venues(chosen)

    async def work() -> CancelReport:
        if not venues:  # every chosen order is final already: no venue to ask
            return CancelReport(as_found(chosen))
        async with AsyncClient(*venues, config=config_path, journal=settings.journal,
                               venue_options={name: given for name in venues}) as client:
            assert client.journal is not None
            interrupts.keep(client.journal)
            return await client.cancel_chosen(chosen)

    report = run(work, interrupts)
    if as_json:
        emit_json(report.as_dict())
    else:
        print_cancels(report)
    if interrupts.exit_code is not None:
        sys.exit(interrupts.exit_code)
    if not report.ok:
        sys.exit(EXIT_INCOMPLETE)


def print_cancels(report: CancelReport) -> None:
    out = console()
    if not report.outcomes:
        out.print("No working orders match: nothing to cancel.")
        return
    table = Table(title=f"cancel: {report.cancelled} of {len(report.outcomes)} cancelled",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("order", no_wrap=True)
    for column in ("venue", "symbol", "side", "filled", "was", "result"):
        table.add_column(column, no_wrap=column != "result",
                         justify="right" if column == "filled" else "left")
    for outcome in report.outcomes:
        result = outcome.result if outcome.error is None else f"[red]{outcome.error}[/]"
        filled = plain_quantity(outcome.filled_quantity) + (
            "" if outcome.quantity is None else f"/{plain_quantity(outcome.quantity)}")
        table.add_row(outcome.order_id, outcome.venue, outcome.symbol, outcome.side, filled,
                      outcome.before.value, result)
    out.print(table)
    working = [o.order_id for o in report.outcomes if not o.final]
    if working:
        out.print(f"[red]{len(working)} order(s) still working[/]: {', '.join(working)}; "
                  "try again, or `venuekit recover` once the venue is reachable.")
