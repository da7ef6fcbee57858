"""``venuekit runs``: the journaled runs, and one run's items and orders."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table

from ..decimals import plain, plain_quantity
from ..errors import Code, VenueKitError, error
from ..journal.runs import Run, RunState
from ..journal.target import JournalTarget
from ..model import ZERO
from ..runs.book import ItemProgress, RunBook
from ..settings import load_settings
from .config import journal_options
from .orders import order_summary
from .output import console, emit_json, stamp
from .session import fail, open_journal

_STATES = [state.value for state in RunState]
_STYLE = {"running": "yellow", "interrupted": "yellow", "failed": "red", "finished": "green"}


def run_summary(run: Run) -> dict[str, Any]:
    done = sum(1 for item in run.items if item.status in ("completed", "held"))
    return {"id": run.id, "kind": run.kind.value, "venue": run.venue,
            "state": run.state.value, "resumable": run.state.resumable,
            "strategy": run.strategy, "items": len(run.items), "items_completed": done,
            "sessions": run.sessions, "owner": run.owner,
            "correlation_id": run.correlation_id, "plan_hash": run.plan_hash,
            "created_at": run.created_at, "updated_at": run.updated_at,
            "finished_at": run.finished_at, "note": run.note}


def _item_detail(progress: ItemProgress) -> dict[str, Any]:
    item = progress.item
    return {"index": item.index, "symbol": item.symbol, "action": item.action,
            "quantity": item.quantity, "notional": item.notional,
            "limit_price": item.limit_price, "target": item.target,
            "filled_quantity": progress.filled, "filled_notional": progress.filled_notional,
            "fees": progress.fees_by_asset, "working_quantity": progress.unsettled,
            "status": item.status, "note": item.note,
            "orders": [order.id for order in progress.orders]}


@click.group("runs", invoke_without_command=True)
@click.option("--state", "states", multiple=True, type=click.Choice(_STATES),
              help="Only runs in this state (repeatable).")
@click.option("--venue", help="Only runs on this venue.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Show at most this many (newest first).")
@journal_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def runs_command(ctx: click.Context, states: tuple[str, ...], venue: str | None, limit: int,
                 config_path: Path | None, journal: JournalTarget | None, as_json: bool) -> None:
    """List the journaled runs, newest first.

    A run is one job of several orders: a rebalance plan, or one `venuekit order`. A run
    that is not finished (running when its process died, interrupted, failed) is resumed
    by running the same plan or order again. Reads the journal only.

    \b
    Examples:
      venuekit runs
      venuekit runs --state running --state interrupted
      venuekit runs show k3x9p2qa-r7
    """
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["journal"] = journal
    if ctx.invoked_subcommand is not None:
        return
    try:
        settings = load_settings(config_path=config_path, journal=journal)
        if not settings.journal.exists():
            found: list[Run] = []
        else:
            with open_journal(settings.journal, readonly=True) as book:
                found = book.runs(venue=venue, state=[RunState(s) for s in states] or None,
                                  limit=limit)
    except VenueKitError as exc:
        fail(exc)
    if as_json:
        emit_json({"runs": [run_summary(run) for run in found]})
        return
    if not found:
        console().print("No runs yet.")
        return
    table = Table(title=f"runs ({len(found)}, newest first)", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    table.add_column("id", no_wrap=True)
    notes = any(run.note for run in found)
    for column in ("kind", "venue", "state", "items", "sessions", "started UTC") + (
            ("note",) if notes else ()):
        table.add_column(column, no_wrap=column != "note")
    for run in found:
        summary = run_summary(run)
        style = _STYLE.get(run.state.value, "")
        row = [run.id, run.kind.value, run.venue, f"[{style}]{run.state.value}[/]",
               f"{summary['items_completed']}/{summary['items']}", str(run.sessions),
               stamp(run.created_at)]
        table.add_row(*row, *([run.note or ""] if notes else []))
    console().print(table)


@runs_command.command("show")
@click.argument("run_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_context
def show_command(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Print one run: its items (planned, sized, filled, status) and its orders."""
    try:
        settings = load_settings(config_path=ctx.obj.get("config_path"),
                                 journal=ctx.obj.get("journal"))
        with open_journal(settings.journal, readonly=True) as book:
            run = book.get_run(run_id)
            if run is None:
                raise error(Code.UNKNOWN_RUN, f"the journal has no run {run_id!r}")
            progress = RunBook(book, run.venue).progress(run)
    except VenueKitError as exc:
        fail(exc)
    detail = run_summary(run)
    detail["items"] = [_item_detail(progress[item.index]) for item in run.items]
    detail["orders"] = [order_summary(order) for p in progress.values() for order in p.orders]
    if as_json:
        emit_json(detail)
        return
    out = console()
    header = Table(show_header=False, title=f"run {run.id}", box=box.SIMPLE)
    header.add_column(style="bold")
    header.add_column()
    for key in ("kind", "venue", "state", "strategy", "sessions", "owner", "correlation_id",
                "created_at", "finished_at", "note"):
        value = detail[key]
        if isinstance(value, datetime):
            value = f"{stamp(value)} UTC"
        header.add_row(key, "" if value is None else str(value))
    out.print(header)
    items = Table(title="items", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column in ("#", "symbol", "action", "planned", "target", "filled", "status", "note"):
        items.add_column(column, no_wrap=column != "note",
                         justify="right" if column in ("planned", "target", "filled")
                         else "left")
    for item in run.items:
        done = progress[item.index]
        planned = "" if item.action == "HOLD" else (
            plain_quantity(item.quantity) if item.quantity is not None
            else f"${plain(item.notional or ZERO)}")
        items.add_row(str(item.index), item.symbol, item.action, planned,
                      "" if item.target is None else plain_quantity(item.target),
                      plain_quantity(done.filled) if done.orders else "", item.status or "",
                      item.note or "")
    out.print(items)
    if run.state.resumable:
        out.print(f"This run is {run.state.value}: running its plan again resumes it.")
