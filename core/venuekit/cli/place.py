"""``venuekit place``: place one order and leave it working (a stop, a trailing stop, a
resting limit, a bracket), where ``venuekit order`` executes one to its end."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import click
import pydantic
from rich import box
from rich.table import Table

from ..decimals import plain_quantity
from ..errors import Code, VenueKitError, error
from ..journal.target import JournalTarget
from ..model import BracketRequest, Order, OrderRequest, OrderState, OrderType, Side
from ..preview import Preview
from .checks import check_options, fail_refused, refusal, rules_for, warn_unchecked
from .config import resolve, venue_options
from .orders import order_summary, order_terms
from .output import console, emit_json, error_console
from .rounding import print_rounded, rounded_dicts
from .session import EXIT_INCOMPLETE, fail, run
from .trade import decimal_option

_FAILED = (OrderState.REJECTED, OrderState.ERROR)


def _request(side: str, symbol: str, quantity: Decimal, limit: Decimal | None,
             stop: Decimal | None, trail: Decimal | None, trail_percent: Decimal | None
             ) -> OrderRequest:
    if trail is not None or trail_percent is not None:
        kind = OrderType.TRAILING_STOP
    elif stop is not None:
        kind = OrderType.STOP_LIMIT if limit is not None else OrderType.STOP
    else:
        kind = OrderType.LIMIT if limit is not None else OrderType.MARKET
    try:
        return OrderRequest(symbol=symbol, side=Side(side), quantity=quantity, order_type=kind,
                            limit_price=limit, stop_price=stop, trail_amount=trail,
                            trail_percent=trail_percent)
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: pydantic.ValidationError) -> VenueKitError:
    problems = "; ".join(problem["msg"].removeprefix("Value error, ")
                         for problem in exc.errors())
    return error(Code.INVALID_ORDER, problems)


def _legs(placed: list[Order]) -> list[tuple[str, Order]]:
    names = ["order"] if len(placed) == 1 else ["entry", "take-profit", "stop-loss"]
    return list(zip(names, placed, strict=True))


@click.command("place")
@click.argument("side", type=click.Choice(["buy", "sell"]))
@click.argument("symbol")
@click.argument("quantity", callback=decimal_option)
@click.option("--limit", "limit_price", callback=decimal_option, metavar="PRICE",
              help="Limit price: a limit order, or with --stop a stop-limit order.")
@click.option("--stop", "stop_price", callback=decimal_option, metavar="PRICE",
              help="Stop price: a buy fires when the ask reaches it, a sell when the bid "
                   "falls to it.")
@click.option("--trail", callback=decimal_option, metavar="AMOUNT",
              help="A trailing stop this far from the best price seen.")
@click.option("--trail-percent", callback=decimal_option, metavar="PCT",
              help="A trailing stop this many percent from the best price seen.")
@click.option("--take-profit", callback=decimal_option, metavar="PRICE",
              help="With --stop-loss: a bracket, whose exits sell (buy back) what the entry "
                   "fills, one cancelling the other.")
@click.option("--stop-loss", callback=decimal_option, metavar="PRICE",
              help="The bracket's stop-loss trigger (with --take-profit).")
@click.option("--stop-loss-limit", callback=decimal_option, metavar="PRICE",
              help="Makes the bracket's stop-loss a stop-limit at this price.")
@click.option("--wait", type=click.FloatRange(min=0), default=0.0, show_default=True,
              metavar="SECONDS",
              help="Seconds to follow the orders before leaving them working (0: return "
                   "once the venue has answered).")
@check_options
@venue_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def place_command(side: str, symbol: str, quantity: Decimal, limit_price: Decimal | None,
                  stop_price: Decimal | None, trail: Decimal | None,
                  trail_percent: Decimal | None, take_profit: Decimal | None,
                  stop_loss: Decimal | None, stop_loss_limit: Decimal | None, wait: float,
                  skip_checks: bool, environment: str | None, venue: str,
                  options: tuple[str, ...], config_path: Path | None,
                  journal: JournalTarget | None, as_json: bool) -> None:
    """Place one order and leave it working: SIDE (buy or sell) QUANTITY of SYMBOL.

    The order is journaled before it is sent and stays working when the command returns:
    cancel it with `venuekit cancel ID`. Where the venue emulates a stop (see `venuekit
    venues`), venuekit holds it and fires it only while a venuekit process runs on that
    venue: `--wait` keeps this one running, and the next process re-arms what is held.

    The order (a bracket's entry) first passes the pre-trade checks `venuekit rebalance`
    runs; a refused order exits 2 naming the rule, with nothing journaled or sent, and
    --skip-checks sends it unchecked. A quantity or price off the instrument's lot or tick
    is rounded, and the rounding is said.

    Exits 0 when every order was accepted (or held), 1 when the venue refused one, 2 on
    invalid input or when the pre-trade checks refused it.

    \b
    Examples:
      venuekit place sell AAPL 10 --stop 180
      venuekit place sell AAPL 10 --stop 180 --limit 179.50
      venuekit place sell AAPL 10 --trail-percent 2 --wait 60
      venuekit place buy AAPL 10 --limit 190 --take-profit 200 --stop-loss 185
    """
    try:
        chosen = resolve(venue, options, config_path, journal)
        bracket = None
        if take_profit is not None or stop_loss is not None:
            if take_profit is None or stop_loss is None:
                raise error(Code.INVALID_ORDER, "a bracket needs both --take-profit and "
                            "--stop-loss")
            if stop_price is not None or trail is not None or trail_percent is not None:
                raise error(Code.INVALID_ORDER, "a bracket's entry is a market or limit "
                            "order: leave out --stop, --trail and --trail-percent")
            entry = _request(side, symbol, quantity, limit_price, None, None, None)
            try:
                bracket = BracketRequest(entry=entry, take_profit=take_profit,
                                         stop_loss=stop_loss, stop_loss_limit=stop_loss_limit)
            except pydantic.ValidationError as exc:
                raise _invalid(exc) from None
            request = entry
        elif stop_loss_limit is not None:
            raise error(Code.INVALID_ORDER, "--stop-loss-limit belongs to a bracket "
                        "(--take-profit and --stop-loss)")
        else:
            request = _request(side, symbol, quantity, limit_price, stop_price, trail,
                               trail_percent)
        rules = rules_for(chosen.settings, environment, skip=skip_checks)
    except VenueKitError as exc:
        fail(exc)
    if skip_checks and not as_json:
        warn_unchecked()

    async def work() -> tuple[Preview, list[Order]] | VenueKitError:
        async with chosen.client(rules=rules) as client:
            try:  # refused here, nothing is journaled or sent
                checked = await client.preview(request)
            except VenueKitError as exc:
                if refusal(exc):
                    return exc
                raise
            if bracket is not None:
                placed = await client.place_bracket(bracket)
                orders = [placed.entry, placed.take_profit, placed.stop_loss]
            else:
                orders = [await client.place(request)]
            if wait > 0:
                orders = [await client.wait(order, timeout=wait) for order in orders]
            return checked, orders

    answer = run(work)
    if isinstance(answer, VenueKitError):
        fail_refused(answer, rules)
    checked, placed = answer
    if as_json:
        emit_json({"orders": [order_summary(order) | {"role": role}
                              for role, order in _legs(placed)],
                   "rounded": rounded_dicts(checked.rounded)})
    else:
        print_rounded(checked.rounded)
        _print(placed)
    if any(order.state in _FAILED for order in placed):
        sys.exit(EXIT_INCOMPLETE)


def _print(placed: list[Order]) -> None:
    table = Table(title=f"placed on {placed[0].venue}", box=box.SIMPLE_HEAD)
    table.add_column("", no_wrap=True)
    table.add_column("id", no_wrap=True)  # people copy it into `venuekit cancel`
    for column in ("side", "qty", "price", "state", "filled"):
        table.add_column(column, no_wrap=column == "state",
                         justify="right" if column in ("qty", "filled") else "left")
    for role, order in _legs(placed):
        table.add_row(role, order.id, order.side.value,
                      "" if order.quantity is None else plain_quantity(order.quantity),
                      order_terms(order), order.state.value,
                      plain_quantity(order.filled_quantity))
    console().print(table)
    if any(order.state is OrderState.HELD for order in placed):
        error_console().print(
            "held by venuekit (the venue has no such order type, or a bracket's exit waits "
            "for its entry): it fires only while a venuekit process runs on this venue; "
            "the next one re-arms it. `venuekit cancel ID` withdraws it.")

