"""``venuekit quote`` and ``venuekit order``: one quote, one order, from the command line."""

from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..engine import Engine
from ..model import OrderRequest, OrderState, OrderType, Quote, Side
from ..plugins import default_host
from ..strategies import STRATEGIES, ExecutionResult
from .config import resolve, venue_options
from .output import console, emit_json
from .session import EXIT_INCOMPLETE, build_venue, open_journal, run


def _decimal(_ctx: click.Context, _param: click.Parameter, value: str | None
             ) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a decimal number") from None
    if not number.is_finite() or number <= 0:
        raise click.BadParameter(f"{value!r} must be a positive number")
    return number


@click.command("quote")
@click.argument("symbol")
@venue_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def quote_command(symbol: str, venue: str, options: tuple[str, ...], config_path: Path | None,
                  journal: Path | None, as_json: bool) -> None:
    """Print the latest quote for SYMBOL."""
    settings = resolve(venue, options, config_path, journal)

    async def work() -> Quote:
        async with build_venue(settings) as connected:
            return await connected.quote(symbol)

    quote = run(work)
    if as_json:
        emit_json(quote.model_dump(mode="json") | {"mid": str(quote.mid),
                                                   "spread_bps": str(round(quote.spread_bps, 4))})
        return
    table = Table(title=f"{symbol} on {venue}")
    for column in ("bid", "ask", "bid size", "ask size", "mid", "spread bps", "at"):
        table.add_column(column, justify="right")
    table.add_row(str(quote.bid), str(quote.ask), str(quote.bid_size), str(quote.ask_size),
                  str(quote.mid), str(round(quote.spread_bps, 2)),
                  quote.at.isoformat(timespec="seconds"))
    console().print(table)


@click.command("order")
@click.argument("side", type=click.Choice(["buy", "sell"]))
@click.argument("symbol")
@click.argument("quantity", callback=_decimal)
@click.option("--limit", "limit_price", callback=_decimal, metavar="PRICE",
              help="Limit price (a limit order); without it the order is a market order.")
@click.option("--strategy", type=click.Choice(sorted(STRATEGIES)), default=None,
              help="How to execute: market, limit (one attempt, cancelled at --timeout), "
                   "aggressive-limit (re-pegged, then market). Default: limit with "
                   "--limit, else market.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds before an unfilled order is cancelled (the budget of "
                   "aggressive-limit).")
@venue_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def order_command(side: str, symbol: str, quantity: Decimal, limit_price: Decimal | None,
                  strategy: str | None, timeout: float, venue: str,
                  options: tuple[str, ...], config_path: Path | None, journal: Path | None,
                  as_json: bool) -> None:
    """Execute one order: SIDE (buy or sell) QUANTITY of SYMBOL.

    The order is written to the journal before it is sent, and the result shows every
    venue order it took. Exits 0 when it filled, 1 when it did not (fully), 2 on invalid
    input.

    \b
    Examples:
      venuekit order buy AAPL 10
      venuekit order sell MSFT 5 --limit 411.20 --timeout 10
      venuekit order buy SPY 20 --strategy aggressive-limit --timeout 15
    """
    settings = resolve(venue, options, config_path, journal)
    chosen = strategy or ("limit" if limit_price is not None else "market")
    request = OrderRequest(symbol=symbol, side=Side(side), quantity=quantity,
                           order_type=OrderType.LIMIT if limit_price else OrderType.MARKET,
                           limit_price=limit_price)
    strategy_options: dict[str, Any] = {"aggressive-limit": {"budget": timeout}}.get(
        chosen, {"timeout": timeout})

    async def work() -> ExecutionResult:
        with open_journal(settings.journal) as book:
            engine = Engine(build_venue(settings), book, host=default_host())
            await engine.start()
            try:
                return await engine.execute(request, chosen, **strategy_options)
            finally:
                await engine.close()

    result = run(work)
    if as_json:
        emit_json(result.as_dict())
    else:
        print_result(result)
    if result.state is not OrderState.FILLED:
        sys.exit(EXIT_INCOMPLETE)


def print_result(result: ExecutionResult) -> None:
    table = Table(title=f"{result.strategy}: {result.request.side.value} "
                        f"{result.request.quantity} {result.request.symbol}")
    table.add_column("", style="bold")
    table.add_column("")
    avg = result.average_price
    slip = result.slippage_bps
    for label, value in (("order id", result.order_id), ("state", result.state.value),
                         ("filled", str(result.filled_quantity)),
                         ("average price", "" if avg is None else str(round(avg, 6))),
                         ("fees", str(result.fees)),
                         ("slippage bps", "" if slip is None else str(round(slip, 2))),
                         ("venue orders", str(result.attempts)),
                         ("re-pegs", str(result.repegs)),
                         ("seconds", f"{result.seconds:.3f}"),
                         ("note", result.note or "")):
        table.add_row(label, value)
    console().print(table)
