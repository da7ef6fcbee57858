"""``venuekit plugins`` and ``venuekit venues``: what is installed and what it can do."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from ..plugins import PluginHost, default_host
from .output import console, emit_json, error_console


def _report_failures(host: PluginHost) -> None:
    err = error_console()
    for failure in host.failures:
        err.print(f"[yellow]warning:[/] plugin [bold]{failure.name}[/] failed to load: "
                  f"{failure.error}", markup=True, highlight=False)


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """List installed plugins with their version and the hooks they implement.

    A plugin that fails to load is listed with its error; the others keep working.
    VENUEKIT_LOAD_PLUGINS=a,b loads only those plugins (empty loads none);
    VENUEKIT_DISABLE_PLUGINS=a,b skips them.
    """
    host = default_host()
    infos = host.plugins()
    if as_json:
        emit_json({
            "plugins": [info.as_dict() for info in infos],
            "failures": [failure.as_dict() for failure in host.failures],
        })
        return
    table = Table(title="venuekit plugins")
    table.add_column("name", style="bold")
    table.add_column("distribution")
    table.add_column("version")
    table.add_column("hooks")
    for info in infos:
        table.add_row(info.name, info.distribution or "", info.version or "",
                      "\n".join(info.hooks))
    for failure in host.failures:
        table.add_row(failure.name, failure.distribution or "", "",
                      f"[red]failed to load: {failure.error}[/]")
    console().print(table)


def _support(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


@click.command("venues")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def venues_command(as_json: bool) -> None:
    """List registered venues and the capabilities each declares.

    Capabilities are yes, no or emulated (offered by other means, for example replace
    as cancel and re-submit). Rate-limit pools are shown as capacity per period.
    """
    host = default_host()
    registry = host.venues()
    rows = []
    for name, cls in registry.items():
        caps = cls.capabilities
        rows.append({"name": name, "plugin": registry.owner(name),
                     "capabilities": caps.as_dict()})
    if as_json:
        emit_json({"venues": rows,
                   "failures": [failure.as_dict() for failure in host.failures]})
        return
    _report_failures(host)
    if not rows:
        if host.left_out:
            console().print(f"No venues are registered{host.left_out_hint()}.")
        else:
            console().print("No venues are registered. Install a venue plugin, for example "
                            "`pip install venuekit-mock`.")
        return
    # One column per venue, one row per capability: readable in any terminal width.
    labels = {"client_order_ids": "client order ids", "order_stream": "order stream",
              "replace": "replace", "market_orders": "market orders",
              "fractional": "fractional", "short_selling": "short selling",
              "notional_orders": "notional orders", "itemized_fills": "fills listed",
              "stop_orders": "stop orders", "stop_limit_orders": "stop-limit orders",
              "trailing_stops": "trailing stops", "brackets": "brackets"}
    table = Table(title="venuekit venues")
    table.add_column("", style="bold", no_wrap=True)
    for row in rows:
        table.add_column(row["name"])
    table.add_row("plugin", *(row["plugin"] for row in rows))
    for key, label in labels.items():
        table.add_row(label, *(_support(row["capabilities"][key]) for row in rows))
    table.add_row("rate limits", *(
        ", ".join(f"{p['name']}: {p['capacity']}/{p['period']:g}s"
                  for p in row["capabilities"]["rate_limits"]) or "none declared"
        for row in rows))
    console().print(table)
