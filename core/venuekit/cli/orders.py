"""``venuekit orders``: what the journal holds, and one order's full history."""

from __future__ import annotations

import signal
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table
from rich.text import Text

from ..decimals import plain, plain_quantity
from ..errors import Code, VenueKitError, error
from ..journal.base import Journal
from ..journal.follow import Follower
from ..journal.target import JournalTarget
from ..model import ZERO, Order, OrderState
from ..settings import load_settings
from .config import journal_options, parse_time
from .output import console, day, emit_json, fits, stamp
from .session import exit_code_for_signal, fail, open_journal

_STATES = [state.value for state in OrderState]


def order_summary(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "venue": order.venue,
        "venue_order_id": order.venue_order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.request.order_type.value,
        "quantity": order.quantity,
        "notional": order.request.notional,
        "limit_price": order.limit_price,
        "stop_price": order.request.stop_price,
        "trail_amount": order.request.trail_amount,
        "trail_percent": order.request.trail_percent,
        "parent": order.parent,
        "leg": order.leg,
        "state": order.state.value,
        "filled_quantity": order.filled_quantity,
        "average_price": order.average_price,
        "fees": order.fees,
        "created_at": order.created_at,
        "reason": order.reason,
        "run_id": order.run_id,
        "run_item": order.run_item,
    }


def order_detail(order: Order) -> dict[str, Any]:
    detail = order_summary(order)
    detail["replaces"] = order.replaces
    detail["replaced_by"] = order.replaced_by
    detail["fills"] = [fill.model_dump(mode="json") for fill in order.fills]
    detail["history"] = [
        {"seq": e.seq, "at": e.at, "event": e.kind, "state": e.state.value,
         "reason": e.reason, "trade_id": e.fill.trade_id if e.fill else None,
         "data": e.data}
        for e in order.history
    ]
    return detail


def _dash(value: object) -> str:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, datetime):
        return f"{stamp(value)} UTC"
    return "" if value is None else str(value)


def average(price: Decimal) -> str:
    """An average price to at most four places, at least two (``180.00``, ``189.995``)."""
    text = plain(round(price, 4))
    whole, _, places = text.partition(".")
    places = places.rstrip("0").ljust(2, "0")
    return f"{whole}.{places}"


def _quantity(value: Decimal | None) -> str:
    return "" if value is None else plain_quantity(value)


def order_terms(order: Order) -> str:
    """How an order prices itself, as the tables show it: its limit (``190``), its
    trigger (``stop 180``, ``stop 180 limit 179.50``, ``trail 2%``), or ``market``."""
    request = order.request
    if request.trail_amount is not None:
        return f"trail {plain(request.trail_amount)}"
    if request.trail_percent is not None:
        return f"trail {plain(request.trail_percent)}%"
    limit = _dash(order.limit_price)
    if request.stop_price is not None:
        return f"stop {plain(request.stop_price)}" + (f" limit {limit}" if limit else "")
    return limit or "market"


@click.group("orders", invoke_without_command=True)
@click.option("--state", "states", multiple=True, type=click.Choice(_STATES),
              help="Only orders in this state (repeatable).")
@click.option("--open", "only_open", is_flag=True, help="Only orders not in a final state.")
@click.option("--symbol", help="Only orders for this symbol.")
@click.option("--venue", help="Only orders sent to this venue.")
@click.option("--since", help="Created at or after this time (ISO 8601, UTC if no zone).")
@click.option("--until", help="Created before this time (ISO 8601, UTC if no zone).")
@click.option("--run", "run_id", metavar="RUN", help="Only the orders of this run.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Show at most this many (newest first).")
@click.option("--follow", "-f", is_flag=True,
              help="After the listing, print each order as it changes (one line per change, "
                   "from every process writing the journal) until Ctrl-C.")
@click.option("--for", "follow_for", type=click.FloatRange(min=0), metavar="SECONDS",
              help="With --follow: stop after this many seconds (exit 0).")
@journal_options
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON instead of a table (with --follow, then one JSON object per "
                   "line per change).")
@click.pass_context
def orders_command(ctx: click.Context, states: tuple[str, ...], only_open: bool,
                   symbol: str | None, venue: str | None, since: str | None,
                   until: str | None, run_id: str | None, limit: int, follow: bool,
                   follow_for: float | None, config_path: Path | None,
                   journal: JournalTarget | None, as_json: bool) -> None:
    """List orders from the journal, newest first.

    Reads the journal only (it never contacts a venue) and works while another venuekit
    process is trading. The journal is found as every command finds it (--journal,
    $VENUEKIT_JOURNAL, `journal` in venuekit.toml). `venuekit orders show ID` prints one
    order's full history.

    With --follow it then prints every order that changes, as it changes: time of its
    last event (UTC), id, venue, symbol, side, state and filled quantity. On PostgreSQL the
    writers' notices wake it at once, from every process and machine sharing the book; on
    SQLite it polls. --venue and --symbol filter the changes too. It runs until Ctrl-C (exit
    130) or for --for SECONDS.
    """
    ctx.ensure_object(dict)
    ctx.obj["journal"] = journal
    ctx.obj["config_path"] = config_path
    if ctx.invoked_subcommand is not None:
        return
    if follow_for is not None and not follow:
        raise click.UsageError("--for needs --follow")
    wanted = [OrderState(s) for s in states]
    if only_open:
        wanted = wanted or list(OrderState)
        wanted = [s for s in wanted if not s.is_terminal]
    try:
        settings = load_settings(config_path=config_path, journal=journal)
        if not settings.journal.exists():
            if as_json:
                emit_json({"orders": []})
                return
            console().print(f"No orders yet: there is no journal at {settings.journal} (the "
                            "first command that trades creates it).")
            return
        book = open_journal(settings.journal, readonly=True)
    except VenueKitError as exc:
        fail(exc)
    with book:
        try:
            follower = book.follow() if follow else None  # before: no change falls between
            found = book.orders(state=wanted or None, symbol=symbol, venue=venue,
                                since=parse_time(since), until=parse_time(until), limit=limit,
                                run_id=run_id)
        except VenueKitError as exc:
            fail(exc)
        _print_orders(found, as_json=as_json, line=follow)
        if follower is not None:
            _follow(book, follower, venue=venue, symbol=symbol, seconds=follow_for,
                    as_json=as_json)


def _print_orders(found: list[Order], *, as_json: bool, line: bool = False) -> None:
    if as_json:  # followed by a change a line: then the listing is one line too
        emit_json({"orders": [order_summary(o) for o in found]}, line=line)
        sys.stdout.flush()
        return
    if not found:
        console().print("No orders match.")
        return
    out = console()
    table = _orders_table(found, dated=True)
    if not fits(out, table):  # the date on a row of its own, above its orders' times
        table = _orders_table(found, dated=False)
    out.print(table)


FALLBACK = 5.0
"""Seconds a follower waits for a notice before it reads the journal anyway."""


def _follow(book: Journal, follower: Follower, *, venue: str | None, symbol: str | None,
            seconds: float | None, as_json: bool) -> None:
    """Print each order changed, as it changes, until Ctrl-C or ``seconds`` passed."""
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        try:
            while True:
                left = FALLBACK if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    return
                for order_id in follower.changes(timeout=min(left, FALLBACK)):
                    order = book.get(order_id)
                    if order is None or (venue and order.venue != venue) or (
                            symbol and order.symbol != symbol):
                        continue
                    _print_change(order, as_json=as_json)
        except VenueKitError as exc:
            fail(exc)
        finally:
            follower.close()
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(exit_code_for_signal(signal.SIGINT))


def _print_change(order: Order, *, as_json: bool) -> None:
    at = order.history[-1].at if order.history else order.created_at
    if as_json:
        emit_json({"at": at, **order_summary(order)}, line=True)
    else:
        click.echo("  ".join((_milliseconds(at), order.id, order.venue, order.symbol,
                              order.side.value, order.state.value,
                              plain_quantity(order.filled_quantity))))
    sys.stdout.flush()


def _orders_table(found: list[Order], *, dated: bool) -> Table:
    """The orders, every column whole: each row's full UTC time (``dated``), or the time
    alone under a row giving the date (what fits 80 columns)."""
    table = Table(title=f"orders ({len(found)}, newest first)", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    table.add_column("id", no_wrap=True)  # people copy it into `orders show`
    for column in ("symbol", "side", "qty", "price", "state", "filled", "avg", "UTC"):
        # A trigger ("stop 300.00 limit 299.50") wraps rather than squeeze the others.
        table.add_column(column, no_wrap=column != "price",
                         min_width=6 if column == "price" else None,
                         justify="right" if column in ("qty", "price", "filled", "avg")
                         else "left")
    shown = ""
    for order in found:
        if not dated and day(order.created_at) != shown:
            shown = day(order.created_at)
            table.add_row(*[""] * 8, Text(shown, style="bold"))
        avg = order.average_price
        table.add_row(order.id, order.symbol, order.side.value,
                      _quantity(order.quantity) or f"${plain(order.request.notional or ZERO)}",
                      order_terms(order), order.state.value,
                      plain_quantity(order.filled_quantity),
                      "" if avg is None else average(avg),
                      stamp(order.created_at, date=dated))
    return table


@orders_command.command("show")
@click.argument("order_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_context
def show_command(ctx: click.Context, order_id: str, as_json: bool) -> None:
    """Print one order (by its client order id) with every event and fill."""
    try:
        settings = load_settings(config_path=ctx.obj.get("config_path"),
                                 journal=ctx.obj.get("journal"))
        with open_journal(settings.journal, readonly=True) as book:
            order = book.get(order_id)
        if order is None:
            raise error(Code.UNKNOWN_ORDER, f"the journal has no order {order_id!r}")
    except VenueKitError as exc:
        fail(exc)
    detail = order_detail(order)
    if as_json:
        emit_json(detail)
        return
    out = console()
    header = Table(show_header=False, title=f"order {order.id}", box=box.SIMPLE,
                   pad_edge=False)
    header.add_column(style="bold")
    header.add_column()
    for key, value in detail.items():
        if key not in ("fills", "history"):
            header.add_row(key, _dash(value))
    out.print(header)
    history = Table(title="history", box=box.SIMPLE_HEAD, pad_edge=False,
                    collapse_padding=True)
    for column in ("seq", "UTC", "event", "state", "detail"):
        history.add_column(column, no_wrap=column != "detail")
    for event in order.history:
        extra = event.reason or ""
        if event.fill is not None:
            extra = (f"{event.fill.trade_id}: {plain_quantity(event.fill.quantity)} @ "
                     f"{plain(event.fill.price)}"
                     + (" (inferred)" if event.fill.inferred else ""))
        history.add_row(str(event.seq), _milliseconds(event.at),
                        event.kind, event.state.value, extra)
    out.print(history)


def _milliseconds(at: datetime) -> str:
    """An event's UTC time to the millisecond: ``2026-12-07 17:14:05.123``."""
    return at.astimezone(UTC).isoformat(sep=" ", timespec="milliseconds").removesuffix("+00:00")
