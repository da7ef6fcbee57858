"""Where the CLI's settings come from: options, a config file, the environment.

Precedence, highest first: ``-o key=value`` options, the ``[venues.NAME]`` table of the
config file (``--config``, else ``./venuekit.toml`` when present), then the venue's own
defaults. The journal path comes from ``--journal``, the config file's ``journal`` key,
``VENUEKIT_JOURNAL``, or ``./.venuekit/journal.sqlite3``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..errors import Code, error

DEFAULT_CONFIG = Path("venuekit.toml")


@dataclass(frozen=True)
class Settings:
    venue: str
    venue_options: dict[str, Any] = field(default_factory=dict)
    journal: Path | None = None


def _parse_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"expected key=value, got {text!r}", param_hint="-o")
    return key.strip(), value.strip()


def read_config(path: Path | None) -> dict[str, Any]:
    """The config file as a dict ({} when no file is given and none is in the directory)."""
    if path is None:
        if not DEFAULT_CONFIG.exists():
            return {}
        path = DEFAULT_CONFIG
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise error(Code.INVALID_CONFIG, f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(Code.INVALID_CONFIG, f"config file {path} is not valid TOML: {exc}") \
            from None


def resolve(venue: str, options: Iterable[str], config_path: Path | None,
            journal: Path | None) -> Settings:
    config = read_config(config_path)
    venues = config.get("venues", {})
    section: Mapping[str, Any] = venues.get(venue, {}) if isinstance(venues, dict) else {}
    if not isinstance(section, Mapping):
        raise error(Code.INVALID_CONFIG, f"[venues.{venue}] in the config must be a table")
    merged = dict(section)
    merged.update(_parse_option(text) for text in options)
    journal_path = journal
    if journal_path is None and "journal" in config:
        journal_path = Path(str(config["journal"]))
    if journal_path is None and os.environ.get("VENUEKIT_JOURNAL"):
        journal_path = Path(os.environ["VENUEKIT_JOURNAL"])
    return Settings(venue=venue, venue_options=merged, journal=journal_path)


def venue_options(func: Any) -> Any:
    """The options every command that talks to a venue takes."""
    func = click.option("--journal", type=click.Path(dir_okay=False, path_type=Path),
                        help="Journal file (default: $VENUEKIT_JOURNAL or "
                             "./.venuekit/journal.sqlite3).")(func)
    func = click.option("--config", "config_path",
                        type=click.Path(dir_okay=False, exists=True, path_type=Path),
                        help="TOML config file (default: ./venuekit.toml if present).")(func)
    func = click.option("-o", "--venue-option", "options", multiple=True, metavar="KEY=VALUE",
                        help="A venue setting, repeatable (e.g. -o seed=7).")(func)
    func = click.option("--venue", default="mock", show_default=True,
                        help="The venue to use; `venuekit venues` lists them.")(func)
    return func
