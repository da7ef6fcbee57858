"""``venuekit config``: the effective configuration, and where each value came from.

Nothing is connected or written: each venue shown is built from its options (without a
state directory) only to check them. Credentials are masked (:func:`venuekit.secrets.masked`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from .. import environment as env_vars
from ..errors import VenueKitError
from ..journal.target import JournalTarget
from ..plugins import PluginHost, default_host
from ..secrets import masked
from ..settings import CONFIG_FILE, JOURNAL_ENV, Settings, load_settings, unknown_venues
from ..validation import ValidationRules
from .config import journal_options, parse_option
from .output import console, emit_json
from .session import fail

_JOURNAL_FROM = {"given": "--journal", "environment": JOURNAL_ENV, "config file": "config file",
                 "default": "default"}


@click.command("config")
@journal_options
@click.option("--venue", "venues", multiple=True, metavar="NAME",
              help="Show this venue (repeatable); default: every [venues.NAME] in the "
                   "config file, else mock.")
@click.option("-o", "--venue-option", "options", multiple=True, metavar="KEY=VALUE",
              help="A venue setting over the config file's, as other commands take it "
                   "(for the first --venue, else mock).")
@click.option("--environment", envvar="VENUEKIT_ENV", default=None, metavar="NAME",
              help="Show the validation rules with [validation.NAME] applied "
                   "(default: $VENUEKIT_ENV).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def config_command(config_path: Path | None, journal: JournalTarget | None, venues: tuple[str, ...],
                   options: tuple[str, ...], environment: str | None, as_json: bool) -> None:
    """Show the effective configuration: the config file, the journal, the venue state
    directory, each venue's options, the validation rules and the environment, each value
    with where it came from (flag, environment, config file, default).

    Credentials (keys, secrets, tokens, account numbers) are masked. Nothing is connected
    or written. An invalid config file exits 2 with what to fix; a venue whose options
    would be refused, or a [venues.NAME] table no installed plugin registers, is listed
    under notices.

    \b
    Examples:
      venuekit config
      venuekit config --venue alpaca -o base_url=http://127.0.0.1:8080
      VENUEKIT_ENV=live venuekit config --json
    """
    try:
        settings = load_settings(config_path=config_path, journal=journal)
        overrides = dict(parse_option(text) for text in options)
        report = describe(settings, list(venues), overrides, environment, default_host())
    except VenueKitError as exc:
        fail(exc)
    if as_json:
        emit_json(report)
    else:
        show(report)


def describe(settings: Settings, venues: list[str], overrides: dict[str, str],
             environment: str | None, host: PluginHost) -> dict[str, Any]:
    """The effective configuration as plain data (what ``--json`` prints)."""
    notices: list[str] = []
    configured = settings.config.get("venues", {})
    target = venues[0] if venues else "mock"  # -o is for --venue, mock by default
    names = list(venues) or sorted({*configured, *([target] if overrides else [])}) or [target]
    shown = {name: _venue(settings, name, overrides if name == target else {}, host,
                          notices) for name in names}
    for table, hint in unknown_venues(settings, host):
        notices.append(f"{table} names no installed venue and is not used; {hint}")
    for name, suggestion in env_vars.unknown():
        notices.append(f"{name} is not a variable venuekit reads and is ignored"
                       + (f"; did you mean {suggestion}?" if suggestion else ""))
    path = settings.config_path
    return {
        "config_file": {"path": str(path) if path else None,
                        "from": {"given": "--config", "working directory": "working directory"}
                        .get(settings.origins.get("config_file", ""),
                             f"none (no ./{CONFIG_FILE} here)")},
        "journal": {"value": str(settings.journal),
                    "from": _JOURNAL_FROM.get(settings.origins.get("journal", ""), "given")},
        "state_dir": {"value": str(settings.state_dir),
                      "from": settings.origins.get("state_dir", "given")},
        "venues": shown,
        "validation": _validation(settings, environment),
        "environment": _environment(names, host),
        "notices": notices,
    }


def _venue(settings: Settings, name: str, overrides: dict[str, str], host: PluginHost,
           notices: list[str]) -> dict[str, Any]:
    merged = settings.venue_options(name, overrides)
    options = {key: {"value": masked(key, value),
                     "from": "-o" if key in overrides else "config file"}
               for key, value in merged.items()}
    registered = name in host.venues()
    check = "not installed"
    if registered:
        try:  # built without a state directory: nothing is written, nothing connects
            host.venues().get(name).from_config(merged, state_dir=None)
            check = "ok"
        except VenueKitError as exc:
            check = exc.message
            notices.append(f"venue {name}: {exc.message}")
    elif name not in settings.config.get("venues", {}):
        try:
            host.venues().get(name)
        except VenueKitError as exc:
            notices.append(exc.message)
    return {"installed": registered, "options": options, "check": check}


def _validation(settings: Settings, environment: str | None) -> dict[str, Any]:
    table = settings.section("validation")
    rules = ValidationRules.from_config(table, environment)
    override = table.get(environment, {}) if environment else {}
    values = {}
    for key in ValidationRules.model_fields:
        if key == "extra":
            continue
        value = getattr(rules, key)
        source = (f"[validation.{environment}]" if key in override else
                  "[validation]" if key in table else "default")
        values[key] = {"value": "off" if value is None else value, "from": source}
    return {"environment": environment,
            "environments": sorted(k for k, v in table.items() if isinstance(v, dict)),
            "rules": values}


def _environment(venues: list[str], host: PluginHost) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for variable in env_vars.VARIABLES:
        if not variable.tests_only:
            found[variable.name] = {"value": os.environ.get(variable.name),
                                    "meaning": variable.meaning}
    prefixes = {f"{name.upper()}_" for name in venues}
    for name in venues:
        if name in host.venues():
            prefixes.update(host.venues().get(name).environment_prefixes)
    for key in sorted(os.environ):
        if key.startswith(tuple(prefixes)) and not key.startswith(env_vars.PREFIX):
            found[key] = {"value": masked(key, os.environ[key]),
                          "meaning": "read by the venue's plugin"}
    return found


def show(report: dict[str, Any]) -> None:
    """The report as tables for a person."""
    out = console()
    out.print("[bold]venuekit configuration[/]")
    config = report["config_file"]
    rows: list[tuple[Any, ...]] = [("config file", config["path"] or "-", config["from"])]
    rows += [(key, report[key]["value"], report[key]["from"]) for key in ("journal", "state_dir")]
    out.print(_table(("setting", "value", "from"), rows))
    if report["venues"]:
        out.print("\n[dim]A venue's options not listed take the venue's defaults (see its "
                  "page in the docs).[/]")
    for name, venue in report["venues"].items():
        state = ("not installed" if not venue["installed"] else
                 "options accepted" if venue["check"] == "ok" else
                 "options refused (see the notices)")
        out.print(f"\n[bold]venue {_text(name)}[/]: {state}")
        rows = [(key, option["value"], option["from"])
                for key, option in venue["options"].items()]
        out.print(_table(("option", "value", "from"), rows) if rows else
                  "  none set: the venue's defaults")
    validation = report["validation"]
    applied = validation["environment"]
    out.print("\n[bold]validation rules[/]" + (f" (environment {_text(applied)})" if applied
                                               else ""))
    rows = [(key, rule["value"], rule["from"]) for key, rule in validation["rules"].items()]
    out.print(_table(("rule", "value", "from"), rows))
    out.print("\n[bold]environment[/]")
    rows = [(key, "not set" if item["value"] is None else item["value"])
            for key, item in report["environment"].items()]
    out.print(_table(("variable", "value"), rows))
    for notice in report["notices"]:
        out.print(f"[yellow]notice:[/] {_text(notice)}")


def _table(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Table:
    table = Table(box=None, padding=(0, 2, 0, 2), show_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold", header_style="dim")
    for row in rows:
        table.add_row(*(_text(cell) for cell in row))
    return table


def _text(value: Any) -> str:
    """A value as it is written in TOML, markup escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))
