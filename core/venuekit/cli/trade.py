"""``venuekit quote`` and ``venuekit order``: one quote, one order, from the command line."""

from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table
from rich.text import Text

from ..decimals import plain, plain_quantity
from ..errors import VenueKitError
from ..journal.target import JournalTarget
from ..model import OrderRequest, OrderType, Quote, Side
from ..runs.single import OrderRun
from ..strategies import STRATEGIES, ExecutionResult, strategy_for
from .checks import check_options, fail_refused, refusal, rules_for, warn_unchecked
from .config import resolve, venue_options
from .orders import average
from .output import console, emit_json, error_console, stamp
from .rounding import print_rounded, rounded_dicts
from .session import EXIT_INCOMPLETE, Interrupts, fail, run


def decimal_option(_ctx: click.Context, _param: click.Parameter, value: str | None
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
                  journal: JournalTarget | None, as_json: bool) -> None:
    """Print the latest quote for SYMBOL."""
    try:
        chosen = resolve(venue, options, config_path, journal)
    except VenueKitError as exc:
        fail(exc)

    async def work() -> Quote:
        async with chosen.build_venue() as connected:
            return await connected.quote(symbol)

    quote = run(work)
    if as_json:
        emit_json(quote.model_dump(mode="json") | {"mid": str(quote.mid),
                                                   "spread_bps": str(round(quote.spread_bps, 4))})
        return
    table = Table(title=f"{symbol} on {venue}")
    for column in ("bid", "ask", "bid size", "ask size", "mid", "spread bps", "at"):
        table.add_column(column, justify="right")
    table.add_row(plain(quote.bid), plain(quote.ask), plain_quantity(quote.bid_size),
                  plain_quantity(quote.ask_size), plain(quote.mid),
                  plain(round(quote.spread_bps, 2)), f"{stamp(quote.at)} UTC")
    console().print(table)


@click.command("order")
@click.argument("side", type=click.Choice(["buy", "sell"]))
@click.argument("symbol")
@click.argument("quantity", callback=decimal_option)
@click.option("--limit", "limit_price", callback=decimal_option, metavar="PRICE",
              help="Limit price (a limit order); without it the order is a market order.")
@click.option("--strategy", type=click.Choice(sorted(STRATEGIES)), default=None,
              help="How to execute: market, limit (one attempt, cancelled at --timeout), "
                   "aggressive-limit (re-pegged, then market). Default: limit with "
                   "--limit, else market; market with --limit is refused.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds before an unfilled order is cancelled (the budget of "
                   "aggressive-limit).")
@click.option("--again", is_flag=True,
              help="Send the order as a new run even if the same order's last run did not "
                   "finish (by default that run is resumed: only what is left is sent).")
@check_options
@venue_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def order_command(side: str, symbol: str, quantity: Decimal, limit_price: Decimal | None,
                  strategy: str | None, timeout: float, again: bool, skip_checks: bool,
                  environment: str | None, venue: str, options: tuple[str, ...],
                  config_path: Path | None, journal: JournalTarget | None, as_json: bool) -> None:
    """Execute one order: SIDE (buy or sell) QUANTITY of SYMBOL.

    The order is a journaled run: it is written to the journal before it is sent, and if
    the command is killed, running the same order again resumes its run (what filled is
    not sent again). Ctrl-C (or SIGTERM) cancels the working order, waits for the venue
    to confirm, prints what happened and exits 130 (143); a second Ctrl-C exits at once.

    The order first passes the pre-trade checks `venuekit rebalance` runs (buying power
    with a 5 % reserve, 25 % per symbol, 100,000 per order, 100 bps spread, or the
    [validation] table of the config file); a refused order exits 2 naming the rule, with
    nothing journaled or sent. --skip-checks sends it unchecked. A quantity or limit off
    the instrument's lot or tick is rounded (a quantity down) and the rounding is said.

    Exits 0 when it filled, 1 when it did not (fully), 2 on invalid input or a refusal,
    130/143 when interrupted. To leave an order working instead (a stop, a trailing stop,
    a bracket, a resting limit), use `venuekit place`.

    \b
    Examples:
      venuekit order buy AAPL 10
      venuekit order sell MSFT 5 --limit 411.20 --timeout 10
      venuekit order buy SPY 20 --strategy aggressive-limit --timeout 15
      venuekit order buy AAPL 1000 --skip-checks
    """
    try:
        chosen = resolve(venue, options, config_path, journal)
        request = OrderRequest(symbol=symbol, side=Side(side), quantity=quantity,
                               order_type=OrderType.LIMIT if limit_price else OrderType.MARKET,
                               limit_price=limit_price)
        name = strategy_for(request, strategy)
        rules = rules_for(chosen.settings, environment, skip=skip_checks)
    except VenueKitError as exc:
        fail(exc)
    strategy_options: dict[str, Any] = {"aggressive-limit": {"budget": timeout}}.get(
        name, {"timeout": timeout})
    interrupts = Interrupts()
    if skip_checks and not as_json:
        warn_unchecked()

    async def work() -> OrderRun | VenueKitError:
        async with chosen.client(rules=rules) as client:
            interrupts.follow(client)
            try:
                return await client.run_order(request, name, again=again,
                                              **strategy_options)
            except VenueKitError as exc:
                if refusal(exc):  # refused before anything was journaled or sent
                    return exc
                raise

    outcome = run(work, interrupts)
    if isinstance(outcome, VenueKitError):
        fail_refused(outcome, rules)
    if as_json:
        emit_json(order_run_dict(outcome) | {"interrupted": interrupts.name or None})
    else:
        print_rounded(outcome.rounded)
        print_order_run(outcome)
    if interrupts.exit_code is not None:
        if not as_json:
            error_console().print(
                f"interrupted by {interrupts.name}: nothing more was sent and the working "
                f"order was cancelled; run the same command again to resume run "
                f"{outcome.run.id}")
        sys.exit(interrupts.exit_code)
    if not outcome.complete:
        sys.exit(EXIT_INCOMPLETE)


def order_run_dict(outcome: OrderRun) -> dict[str, Any]:
    data: dict[str, Any] = outcome.result.as_dict() if outcome.result is not None else {
        "order_id": None, "symbol": outcome.request.symbol,
        "side": outcome.request.side.value,
        "requested_quantity": outcome.request.quantity}
    earlier = outcome.earlier
    data.update({"run_id": outcome.run.id, "resumed": outcome.resumed,
                 "earlier_filled_quantity": earlier.filled if earlier else Decimal(0),
                 "total_filled_quantity": outcome.filled_quantity,
                 "complete": outcome.complete, "rounded": rounded_dicts(outcome.rounded)})
    return data


def print_order_run(outcome: OrderRun) -> None:
    err = error_console()
    if outcome.resumed:
        earlier = outcome.earlier
        filled = earlier.filled if earlier is not None else Decimal(0)
        err.print(f"resumed run {outcome.run.id}: {plain_quantity(filled)} of "
                  f"{_quantity(outcome.request.quantity)} filled in earlier sessions")
    if outcome.result is not None:
        print_result(outcome.result, run_id=outcome.run.id)
    else:
        console().print(f"nothing left to send: run {outcome.run.id} already filled "
                        f"{plain_quantity(outcome.filled_quantity)} of "
                        f"{_quantity(outcome.request.quantity)}")


def _quantity(value: Decimal | None) -> str:
    return "" if value is None else plain_quantity(value)


def print_result(result: ExecutionResult, *, run_id: str | None = None) -> None:
    table = Table(title=f"{result.strategy}: {result.request.side.value} "
                        f"{_quantity(result.request.quantity)} {result.request.symbol}",
                  box=box.SIMPLE, show_header=False, pad_edge=False)
    table.add_column("", style="bold")
    table.add_column("")
    avg = result.average_price
    slip = result.slippage_bps
    rows = [("order id", result.order_id), ("state", result.state.value),
            ("filled", plain_quantity(result.filled_quantity)),
            ("average price", "" if avg is None else average(avg)),
            ("fees", ", ".join(f"{plain(amount)} {asset}" for asset, amount
                               in result.fees_by_asset.items()) or "0"),
            ("slippage bps", "" if slip is None else plain(round(slip, 2))),
            ("venue orders", str(result.attempts)),
            ("re-pegs", str(result.repegs)),
            ("seconds", f"{result.seconds:.3f}"),
            ("note", result.note or "")]
    if run_id is not None:
        rows.append(("run", run_id))
    for label, value in rows:
        table.add_row(label, Text(value))
    console().print(table)
