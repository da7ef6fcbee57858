"""The options every command shares, resolved through :mod:`venuekit.settings`.

``--journal``, ``--config``, ``--venue`` and ``-o key=value`` mean the same in every
command, and resolve as the Python entry points do: the journal given, else
``$VENUEKIT_JOURNAL``, else the config file's ``journal``, else
``./.venuekit/journal.sqlite3``; venue options from ``-o`` over the config file's
``[venues.NAME]`` table; venue state beside the journal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from ..client import AsyncClient
from ..journal.target import JournalTarget, JournalURL, journal_target
from ..settings import Settings, load_settings
from ..validation import ValidationRules
from ..venue import Venue

__all__ = ["Chosen", "journal_options", "parse_option", "parse_time", "resolve",
           "venue_options"]

F = TypeVar("F", bound=Callable[..., Any])

JOURNAL_HELP = ("Journal file, or a postgresql:// URL for a journal shared by several "
                "processes (default: $VENUEKIT_JOURNAL, else `journal` in the config file, "
                "else ./.venuekit/journal.sqlite3).")


@dataclass(frozen=True)
class Chosen:
    """A command's settings and the venue it talks to."""

    settings: Settings
    venue: str
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def journal(self) -> JournalTarget:
        return self.settings.journal

    def client(self, *names: str, rules: ValidationRules | None = None) -> AsyncClient:
        """A client over ``names`` (by default the chosen venue), the chosen venue built
        with the -o settings and the others with the config file's."""
        venues = names or (self.venue,)
        return AsyncClient(*venues, settings=self.settings, rules=rules,
                           venue_options={self.venue: self.overrides})

    def build_venue(self, name: str | None = None) -> Venue:
        """The chosen venue (or ``name``, with the config file's options only)."""
        if name is None or name == self.venue:
            return self.settings.build_venue(self.venue, self.overrides)
        return self.settings.build_venue(name)


def parse_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"expected key=value, got {text!r}", param_hint="-o")
    return key.strip(), value.strip()


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 date or time from an option (UTC when it names no zone)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 date or time "
                                 "(e.g. 2026-11-21 or 2026-11-21T14:30:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def resolve(venue: str, options: Iterable[str], config_path: Path | None,
            journal: JournalTarget | None) -> Chosen:
    overrides = dict(parse_option(text) for text in options)
    return Chosen(load_settings(config_path=config_path, journal=journal), venue, overrides)


class JournalParam(click.ParamType):  # type: ignore[type-arg]
    """``--journal``: a file path, or a ``postgresql://`` URL (kept whole, shown masked)."""

    name = "path|url"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> JournalTarget:
        if isinstance(value, (Path, JournalURL)):
            return value
        text = str(value)
        if not text.strip():
            self.fail("the journal must be a path or a postgresql:// URL", param, ctx)
        return journal_target(text)


def journal_options(func: F) -> F:
    """``--journal`` and ``--config``: what a command that only reads the journal takes."""
    func = click.option("--journal", type=JournalParam(), help=JOURNAL_HELP)(func)
    func = click.option("--config", "config_path",
                        type=click.Path(dir_okay=False, exists=True, path_type=Path),
                        help="TOML config file (default: ./venuekit.toml if present).")(func)
    return func


def venue_options(func: F) -> F:
    """The options every command that talks to a venue takes."""
    func = journal_options(func)
    func = click.option("-o", "--venue-option", "options", multiple=True, metavar="KEY=VALUE",
                        help="A venue setting, repeatable (e.g. -o seed=7).")(func)
    func = click.option("--venue", default="mock", show_default=True,
                        help="The venue to use; `venuekit venues` lists them.")(func)
    return func
