"""``venuekit account``, ``venuekit positions`` and ``venuekit fills``: what is held.

``account`` asks each venue (cash, buying power, the positions it reports); ``positions``
builds each symbol's position from the journal's fills (average cost, realized and
unrealized P&L) and compares it with the venue's; ``fills`` lists the journal's executions
and never contacts a venue. Each takes ``--venue`` (repeatable) and ``--json``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
from rich import box
from rich.table import Table
from rich.text import Text

from ..client import AsyncClient
from ..decimals import plain, plain_quantity
from ..errors import VenueKitError
from ..journal.target import JournalTarget
from ..model import Account, Fill
from ..positions import PositionLine
from ..settings import Settings, load_settings
from .config import journal_options, parse_option, parse_time
from .output import console, emit_json, error_console, stamp
from .session import EXIT_INCOMPLETE, fail, open_journal, run

T = TypeVar("T")


def _venue_choice(func: Callable[..., Any]) -> Callable[..., Any]:
    func = journal_options(func)
    func = click.option("-o", "--venue-option", "options", multiple=True, metavar="KEY=VALUE",
                        help="A venue setting, repeatable; only with a single --venue (with "
                             "several, each one's come from the config file).")(func)
    return click.option("--venue", "venues", multiple=True,
                        help="A venue (repeatable). Default: every venue the journal has "
                             "orders at, or mock when it has none.")(func)


def _journal_venues(settings: Settings) -> list[str]:
    if not settings.journal.exists():
        return []
    with open_journal(settings.journal, readonly=True) as book:
        return book.venues()


def _with_client(venues: tuple[str, ...], options: tuple[str, ...], config_path: Path | None,
                 journal: JournalTarget | None,
                 work: Callable[[AsyncClient, list[str]], Coroutine[Any, Any, T]]
                 ) -> tuple[T, dict[str, str]]:
    """Open a client over the chosen venues and run ``work`` on the ones that could be
    reached; returns its result and the venues that could not, with the reason."""
    try:
        settings = load_settings(config_path=config_path, journal=journal)
        given = dict(parse_option(text) for text in options)
        names = list(dict.fromkeys(venues)) or _journal_venues(settings) or ["mock"]
    except VenueKitError as exc:
        fail(exc)
    if given and len(names) != 1:
        raise click.UsageError("-o applies to a single --venue; with several venues, put "
                               "each one's settings in the config file's [venues.NAME]")
    refused: dict[str, str] = {}

    async def main() -> T:
        async with AsyncClient(*names, settings=settings,
                               venue_options={names[0]: given}) as client:
            refused.update(client.refused_venues)
            return await work(client, [n for n in names if client.status(n).engine])

    return run(main), refused


def _exit_if_refused(refused: dict[str, str]) -> None:
    """Name each venue that could not be reached (after what the others showed); exit 1."""
    for name, reason in refused.items():
        error_console().print(f"[red]{name} could not be reached[/]: {reason}")
    if refused:
        sys.exit(EXIT_INCOMPLETE)


def _fmt(value: Decimal | None, places: int = 2) -> str:
    return "" if value is None else f"{value:,.{places}f}"


def _price(value: Decimal | None) -> str:
    """A price with four decimals, two from 1,000 up (a coin at 60,000 needs no more)."""
    return _fmt(value, 2 if value is not None and abs(value) >= 1000 else 4)


@click.command("account")
@_venue_choice
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def account_command(venues: tuple[str, ...], options: tuple[str, ...],
                    config_path: Path | None, journal: JournalTarget | None, as_json: bool) -> None:
    """Cash, buying power and positions as each venue reports them.

    Connects to each venue (recovering its open orders first, as every command that talks
    to a venue does). A venue that cannot be reached is reported and the command exits 1.

    \b
    Examples:
      venuekit account
      venuekit account --venue alpaca --json
    """
    async def work(client: AsyncClient, names: list[str]) -> dict[str, Account]:
        return {name: await client.account(venue=name) for name in names}

    accounts, refused = _with_client(venues, options, config_path, journal, work)
    if as_json:
        emit_json({name: account.model_dump(mode="json") for name, account in accounts.items()})
    else:
        _print_accounts(accounts)
    _exit_if_refused(refused)


def _print_accounts(accounts: dict[str, Account]) -> None:
    out = console()
    for name, account in accounts.items():
        out.print(f"[bold]{name}[/]: cash {_fmt(account.cash)} {account.currency}, buying "
                  f"power {_fmt(account.buying_power)}")
        if account.positions:
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
            for column in ("symbol", "quantity", "avg price", "market value"):
                table.add_column(column, justify="left" if column == "symbol" else "right")
            for p in account.positions:
                table.add_row(p.symbol, plain_quantity(p.quantity), _fmt(p.average_price, 4),
                              _fmt(p.market_value))
            out.print(table)


@click.command("positions")
@_venue_choice
@click.option("--symbol", "symbols", multiple=True, help="Only this symbol (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def positions_command(venues: tuple[str, ...], options: tuple[str, ...],
                      symbols: tuple[str, ...], config_path: Path | None,
                      journal: JournalTarget | None, as_json: bool) -> None:
    """Positions and P&L from the journal's fills, compared with each venue's.

    Each symbol's quantity, average cost (fees included), realized P&L and unrealized P&L
    at the latest quote's mid, in the instrument's currency, by the average-cost method.
    A quantity the venue reports differently is flagged: holdings from before the
    journal, or trades made outside venuekit. Exits 1 when a venue cannot be reached.

    \b
    Examples:
      venuekit positions
      venuekit positions --venue mock --venue alpaca --json
    """
    wanted = set(symbols) or None

    async def work(client: AsyncClient, names: list[str]) -> list[PositionLine]:
        return [line for name in names
                for line in await client.positions(venue=name, symbols=wanted)]

    lines, refused = _with_client(venues, options, config_path, journal, work)
    if as_json:
        emit_json({"positions": [line.as_dict() for line in lines]})
    elif lines:
        print_positions(lines)
    elif not refused:
        console().print("No positions: the journal holds no fills and the venues report "
                        "nothing held.")
    _exit_if_refused(refused)


def print_positions(lines: Sequence[PositionLine], title: str = "positions") -> None:
    """A table of position lines, notes (differences, other-asset fees) below it."""
    venues = {line.venue for line in lines}
    if len(venues) == 1 and title == "positions":
        title = f"positions on {next(iter(venues))}"
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    names = ["venue", "symbol"] if len(venues) > 1 else ["symbol"]
    # The venue's quantity only where one differs (each difference is also noted below).
    compare = any(line.difference for line in lines)
    numbers = ["qty", "avg cost", "mark", "realized", "unreal.", "fees"]
    rows: list[list[str | Text]] = []
    for line in lines:
        held = "" if line.venue_quantity is None else plain_quantity(line.venue_quantity)
        rows.append([*(getattr(line, column) for column in names),
                     plain_quantity(line.quantity),
                     _price(line.average_cost), _price(line.mark), _fmt(line.realized_pnl),
                     _fmt(line.unrealized_pnl), _fmt(line.fees),
                     *([Text(held, style="red" if line.difference else "")] if compare
                       else [])])
    for n, column in enumerate(names + numbers + (["venue qty"] if compare else [])):
        # Each column as wide as its longest value; when the terminal is narrower, a
        # number folds onto a second line rather than being cut short.
        width = max(len(str(row[n])) for row in rows)
        if column in names:
            table.add_column(column, no_wrap=True, min_width=width)
        else:
            table.add_column(column, justify="right", overflow="fold", min_width=width)
    for row in rows:
        table.add_row(*row)
    out = console()
    out.print(table)
    for line in lines:
        if line.note:
            out.print(f"{line.venue} {line.symbol}: {line.note}")


@click.command("fills")
@click.option("--venue", "venues", multiple=True, help="Only this venue (repeatable).")
@click.option("--symbol", help="Only this symbol.")
@click.option("--since", help="Executed at or after this time (ISO 8601, UTC if no zone).")
@journal_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def fills_command(venues: tuple[str, ...], symbol: str | None, since: str | None,
                  config_path: Path | None, journal: JournalTarget | None, as_json: bool) -> None:
    """List the executions the journal holds, oldest first (each once).

    Reads the journal only (it never contacts a venue) and works while another venuekit
    process is trading.

    \b
    Examples:
      venuekit fills
      venuekit fills --venue alpaca --symbol AAPL --since 2026-12-01 --json
    """
    after = parse_time(since)
    try:
        settings = load_settings(config_path=config_path, journal=journal)
        found: list[tuple[str, Fill]] = []
        if settings.journal.exists():
            with open_journal(settings.journal, readonly=True) as book:
                for name in venues or book.venues():
                    found.extend((name, fill) for fill in book.fills(venue=name, symbol=symbol)
                                 if after is None or fill.at >= after)
    except VenueKitError as exc:
        fail(exc)
    found.sort(key=lambda pair: pair[1].at)
    if as_json:
        emit_json({"fills": [{"venue": name} | fill.model_dump(mode="json")
                             for name, fill in found]})
        return
    if not found:
        console().print("No fills match.")
        return
    names = sorted({name for name, _ in found})
    several = len(names) > 1  # one venue is named in the title, not on every row
    table = Table(title=f"fills ({len(found)}, oldest first)"
                        + ("" if several else f" on {names[0]}"), box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    columns = ["UTC", *(["venue"] if several else []), "symbol", "side", "qty", "price",
               "fee", "order", "trade"]
    for column in columns:
        numeric = column in ("qty", "price", "fee")
        # Ids stay whole (people copy them); a fee in another asset may wrap.
        table.add_column(column, no_wrap=column != "fee",
                         justify="right" if numeric else "left")
    for name, fill in found:
        table.add_row(stamp(fill.at), *([name] if several else []), fill.symbol,
                      fill.side.value, plain_quantity(fill.quantity), plain(fill.price),
                      f"{plain(fill.fee)} {fill.fee_currency}" if fill.fee else "0",
                      fill.client_order_id or "",
                      fill.trade_id + (" (inferred)" if fill.inferred else ""))
    console().print(table)
