"""``venuekit rebalance PLAN``: run a rebalance plan, SELL -> settle -> BUY, and report it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import click
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..decimals import plain, plain_quantity
from ..errors import VenueKitError
from ..journal.target import JournalTarget
from ..rebalance import (
    ItemReport,
    ItemStatus,
    Plan,
    PlanError,
    PlanReport,
    RebalanceReport,
    load_plan,
    plan_schema,
)
from ..rebalance.plan import Action
from ..strategies import STRATEGIES
from .checks import environment_option, rules_for
from .config import resolve, venue_options
from .output import console, dumps, emit_json, error_console
from .portfolio import print_positions
from .session import EXIT_INCOMPLETE, Interrupts, fail, json_requested, run

_STYLE = {"completed": "green", "held": "dim", "priced": "cyan", "incomplete": "yellow",
          "skipped": "yellow", "rejected": "red", "refused": "red", "failed": "red",
          "interrupted": "yellow"}


@click.command("rebalance")
@click.argument("plan_path", metavar="PLAN", required=False,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and price the plan; send nothing.")
@click.option("--strategy", type=click.Choice(sorted(STRATEGIES)), default="market",
              show_default=True, help="How each order is executed.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds each order may take (the budget of aggressive-limit).")
@environment_option
@click.option("--again", is_flag=True,
              help="Trade the plan again although its last run finished (by default that "
                   "is refused, and an unfinished run is resumed).")
@venue_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as JSON to this file.")
@click.option("--schema", is_flag=True, help="Print the plan's JSON schema and exit.")
def rebalance_command(plan_path: Path | None, dry_run: bool, strategy: str, timeout: float,
                      environment: str | None, again: bool, venue: str,
                      options: tuple[str, ...],
                      config_path: Path | None, journal: JournalTarget | None, as_json: bool,
                      report_path: Path | None, schema: bool) -> None:
    """Execute the rebalance PLAN (JSON, or YAML with PyYAML): sells, then buys.

    Each order is checked against the pre-trade rules (buying power with a 5 % reserve,
    25 % per symbol, 100,000 per order, 100 bps spread, instrument rules) before it is
    sent. The sells run first and settle; the buys are then sized to the real buying
    power. The report ends with the positions of the symbols traded (average cost, P&L,
    and whether the venue agrees).

    Items that name a `venue` trade there, the others on --venue: each venue runs its own
    sells, then its own buys sized to its own buying power, all venues at once. Every
    symbol is checked on its venue before anything is sent anywhere.

    The plan runs as a journaled run. Running the same plan again after a crash or an
    interrupt resumes that run: its working orders are cancelled (confirmed), and only
    what did not fill is traded. A plan whose run finished is refused unless --again.
    Ctrl-C (or SIGTERM) sends nothing more, cancels the working orders, prints the
    partial report and exits 130 (143); a second Ctrl-C exits at once, resumable.

    Exits 0 when every order completed, 1 when some did not, 2 when the plan is invalid
    (every problem is listed and nothing is sent) or already ran, 130/143 when interrupted.

    \b
    Examples:
      venuekit rebalance docs/examples/rebalance.json
      venuekit rebalance plan.json --dry-run
      venuekit rebalance plan.json --json --report report.json
      venuekit rebalance plan.json            # after a crash: resumes the run
      venuekit rebalance plan.json --again    # trade a finished plan once more
      venuekit rebalance across.json          # items name their venue (mock, alpaca)
    """
    if schema:
        emit_json(plan_schema())
        return
    if plan_path is None:
        raise click.UsageError("missing the PLAN file (or pass --schema)")
    try:
        plan = load_plan(plan_path)
        chosen = resolve(venue, options, config_path, journal)
        rules = rules_for(chosen.settings, environment)
    except VenueKitError as exc:
        _fail(exc)
    strategy_options: dict[str, Any] = {"aggressive-limit": {"budget": timeout}}.get(
        strategy, {"timeout": timeout})
    show_progress = not as_json and sys.stderr.isatty()
    interrupts = Interrupts()

    async def work() -> PlanReport | PlanError:
        async with chosen.client(*plan.venues(venue), rules=rules) as client:
            interrupts.follow(client)
            with _progress(plan, dry_run, show_progress) as advance:
                try:
                    return await client.rebalance(plan, venue=venue, strategy=strategy,
                                                  strategy_options=strategy_options,
                                                  dry_run=dry_run, again=again,
                                                  on_item=advance)
                except PlanError as exc:  # symbols a venue does not list: nothing was sent
                    return exc

    report = run(work, interrupts)
    if isinstance(report, PlanError):
        _fail(report)
    data = report.as_dict()
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(dumps(data) + "\n", encoding="utf-8")
    if as_json:
        emit_json(data)
    else:
        print_plan_report(report)
    if interrupts.exit_code is not None:
        sys.exit(interrupts.exit_code)
    if not report.complete:
        sys.exit(EXIT_INCOMPLETE)


def _fail(exc: VenueKitError) -> NoReturn:
    if isinstance(exc, PlanError):
        if json_requested():
            emit_json({"error": exc.to_dict() | {"problems": [
                {"location": problem.location, "message": problem.message}
                for problem in exc.problems]}})
        err = error_console()
        err.print(f"[red]error[/] {exc.code.name}: {len(exc.problems)} problem(s) in "
                  f"{exc.source}; nothing was sent")
        for problem in exc.problems:
            err.print(f"  {problem.location}: {problem.message}")
        err.print(f"[dim]what to do:[/] {exc.action}")
        sys.exit(2)
    fail(exc)


@contextlib.contextmanager
def _progress(plan: Plan, dry_run: bool,
              show: bool) -> Iterator[Callable[[ItemReport], None]]:
    """A progress bar over the plan's trades on every venue (on a terminal only)."""
    trades = sum(1 for item in plan.items if item.action is not Action.HOLD)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=error_console(), transient=True,
                  disable=not show) as progress:
        task = progress.add_task("rebalancing" if not dry_run else "pricing", total=trades)

        def advance(item: ItemReport) -> None:
            if item.action is not Action.HOLD:
                progress.update(task, advance=1,
                                description=f"{item.phase} {item.symbol}: {item.status}")

        yield advance


def _fmt(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return ""
    return f"{value:,.{places}f}"


def print_plan_report(report: PlanReport) -> None:
    """Each venue's report and positions; across venues, the totals per currency."""
    out = console()
    for name, venue_report in report.reports.items():
        print_report(venue_report)
        lines = report.positions.get(name)
        if lines:
            print_positions(lines, title=f"positions on {name} (symbols traded)")
    for name, earlier in report.finished.items():
        out.print(f"{name}: its part of the plan finished before as run {earlier.id}; "
                  "not traded again")
    if len(report.reports) > 1:
        for currency, total in report.totals().items():
            out.print(f"all venues, {currency}: bought {_fmt(total['bought'])}, sold "
                      f"{_fmt(total['sold'])}, fees {_fmt(total['fees'])}")


_LEGEND = (
    "filled: quantity filled (with earlier sessions of a resumed run)",
    "avg price: the fills' average price",
    "slip bps: avg price against the mid when sent, in 0.01 %; positive is worse",
    "drift %: executed against planned, in the plan's unit; negative is less",
)
"""Under the table, one line each, every line shorter than 80 columns."""


def print_report(report: RebalanceReport) -> None:
    """The report as a table of figures that fits 80 columns, each item's notes (why it
    drifted, warnings) on lines of their own below it, a legend and short summary lines."""
    title = "rebalance (dry run)" if report.dry_run else "rebalance"
    if report.run_id:
        title += f" {'resuming ' if report.resumed else ''}run {report.run_id}"
    table = Table(title=f"{title} on {report.venue}: {report.strategy}", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    # Every column keeps its full text: people copy ids and read quantities.
    for column in ("symbol", "action", "status", "order id", "filled", "avg price",
                   "slip bps", "drift %"):
        table.add_column(column, no_wrap=True, justify="left" if column in (
            "symbol", "action", "status", "order id") else "right")
    notes: list[tuple[str, str]] = []
    for item in report.items:
        style = _STYLE.get(item.status.value, "")
        table.add_row(item.symbol, item.action.value,
                      f"[{style}]{item.status.value}[/]" if style else item.status.value,
                      item.order_id or "",
                      "" if item.action is Action.HOLD else plain_quantity(item.total_quantity),
                      _fmt(item.average_price), _fmt(item.slippage_bps), _fmt(item.drift_pct))
        reason = item.drift_reason
        if reason and item.status is ItemStatus.COMPLETED:
            notes.append((item.symbol, f"drift: {reason}"))
        notes.extend((item.symbol, text) for text in filter(None, [item.note, *item.warnings]))
    out = console()
    out.print(table)
    for symbol, text in notes:
        out.print(Text(f"{symbol}: {text}"))
    if any(item.action is not Action.HOLD for item in report.items):
        out.print(Text("\n".join(_LEGEND), style="dim"))
    for phase in (report.phase(Action.SELL), report.phase(Action.BUY)):
        if phase.items:
            done = "priced" if report.dry_run else "completed"
            out.print(f"{phase.name}: {phase.completed}/{phase.items} {done} "
                      f"({phase.success_rate * 100:.0f} %) in {phase.seconds:.2f} s")
            out.print(f"  traded {_fmt(phase.executed_notional)} of "
                      f"{_fmt(phase.planned_notional)} planned; fees {_fmt(phase.fees)}")
    if report.buy_scale < 1:
        out.print(f"buys scaled to {plain(report.buy_scale)} of the plan to fit the buying "
                  f"power")
        out.print(f"  ({_fmt(report.buy_budget)} after the safety margin)")
    before, after = report.account_before, report.account_after
    if before is not None and after is not None:
        out.print(f"cash {_fmt(before.cash)} -> {_fmt(after.cash)}")
        out.print(f"success rate {report.success_rate * 100:.0f} % in {report.seconds:.2f} s")
    if report.dry_run:
        out.print("dry run: nothing was sent")
    if report.interrupted:
        out.print(f"{report.interrupted}: nothing more was sent and the working orders were "
                  f"cancelled; run the same command again to resume run {report.run_id}")
