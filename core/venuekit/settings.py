"""Where venuekit's settings come from: one resolution for every command and entry point.

The CLI's commands (``order``, ``rebalance``, ``recover``, ``cancel``, ``orders``, ``runs``)
and the Python entry points (:func:`venuekit.execute`, :func:`venuekit.cancel`) all resolve
their settings here, so that they agree on where the journal is and which venue they talk
to. Highest precedence first:

* **the config file**: the path given (``--config``, ``config=``), else ``./venuekit.toml``
  when it exists, else none;
* **the journal**: the path given (``--journal``, ``journal=``), else ``$VENUEKIT_JOURNAL``,
  else the config file's ``journal`` key, else ``./.venuekit/journal.sqlite3``; any of them
  may be a ``postgresql://`` URL instead (a shared PostgreSQL journal, never resolved
  against the config file's directory; a server-side journal keeps venue state in
  ``./.venuekit`` unless ``state_dir`` says otherwise);
* **the venue state directory**, where a venue may keep local state (the simulated venue's
  market and ledger, a token cache): the config file's ``state_dir``, else the journal's
  directory. State thus follows the journal: a journal elsewhere has its venue state
  beside it;
* **a venue's options**: those given (``-o key=value``, ``venue_options=``) over the config
  file's ``[venues.NAME]`` table, over the venue's own defaults.

Paths in the config file are relative to the file's directory. The file is checked
strictly (:mod:`venuekit.config_file`): an unknown table or key, or a value of the wrong
type, is refused with ``INVALID_CONFIG`` naming it. A ``[venues.NAME]`` table that no
installed plugin registers is not an error (its plugin may be installed elsewhere), but
building a venue logs a warning naming it, with the closest installed venue's name. An
unknown ``VENUEKIT_*`` environment variable is logged too (:mod:`venuekit.environment`).
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import environment
from .config_file import parse_config, read_config_file
from .errors import Code, error
from .journal.target import JournalTarget, JournalURL, is_url, journal_target
from .plugins import PluginHost, default_host
from .venue import Venue

__all__ = ["CONFIG_FILE", "DEFAULT_JOURNAL", "JOURNAL_ENV", "Settings", "load_settings",
           "read_config", "unknown_venues"]

log = logging.getLogger(__name__)

CONFIG_FILE = Path("venuekit.toml")
"""The config file read from the working directory when none is named."""

JOURNAL_ENV = "VENUEKIT_JOURNAL"
"""Environment variable naming the journal file."""

DEFAULT_JOURNAL = Path(".venuekit") / "journal.sqlite3"
"""The journal when nothing else names one, relative to the working directory."""


def read_config(path: Path | None) -> dict[str, Any]:
    """The config file as a dict: ``path``, else ``./venuekit.toml`` if present, else {};
    checked against :class:`venuekit.config_file.ConfigFile` (``INVALID_CONFIG`` if not)."""
    if path is None:
        if not CONFIG_FILE.exists():
            return {}
        path = CONFIG_FILE
    data = read_config_file(path)
    parse_config(data, str(path))
    return data


@dataclass(frozen=True)
class Settings:
    """What one command or entry point runs with (see the module docstring)."""

    journal: JournalTarget
    """The journal's file, or a PostgreSQL URL (:class:`~venuekit.journal.JournalURL`,
    shown with its password masked)."""
    state_dir: Path
    config: Mapping[str, Any] = field(default_factory=dict)
    config_path: Path | None = None
    origins: Mapping[str, str] = field(default_factory=dict)
    """Where ``config_file``, ``journal`` and ``state_dir`` came from: ``given``,
    ``environment``, ``config file``, ``default`` (``working directory`` or ``none`` for the
    config file, ``journal's directory`` for the state)."""

    def venue_options(self, venue: str,
                      overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``venue``'s options: ``overrides`` over the config file's ``[venues.NAME]``."""
        venues = self.config.get("venues", {})
        if not isinstance(venues, Mapping):
            raise error(Code.INVALID_CONFIG, "venues in the config must be a table of "
                        "[venues.NAME] tables")
        section = venues.get(venue, {})
        if not isinstance(section, Mapping):
            raise error(Code.INVALID_CONFIG, f"[venues.{venue}] in the config must be a table")
        return {**section, **(overrides or {})}

    def build_venue(self, name: str, overrides: Mapping[str, Any] | None = None, *,
                    host: PluginHost | None = None) -> Venue:
        """The registered venue ``name`` built from its options, keeping its local state in
        :attr:`state_dir`."""
        host = host or default_host()
        for table, hint in unknown_venues(self, host):
            _warn_once(self.config_path, table, hint)
        factory = host.venues().get(name)
        if isinstance(self.journal, JournalURL):  # no journal file made the directory
            self.state_dir.mkdir(parents=True, exist_ok=True)
        venue: Venue = factory.from_config(self.venue_options(name, overrides),
                                           state_dir=self.state_dir)
        return venue

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level table of the config file (``validation``, say); {} when absent."""
        value = self.config.get(name, {})
        if not isinstance(value, Mapping):
            raise error(Code.INVALID_CONFIG, f"[{name}] in the config must be a table")
        return value


def load_settings(*, config_path: str | os.PathLike[str] | None = None,
                  journal: str | os.PathLike[str] | JournalURL | None = None) -> Settings:
    """Resolve the settings: the journal and config file given, else the usual places."""
    environment.warn_unknown()
    chosen = Path(config_path) if config_path is not None else None
    if chosen is None and CONFIG_FILE.exists():
        chosen = CONFIG_FILE
    config = read_config_file(chosen) if chosen is not None else {}
    model = parse_config(config, str(chosen or CONFIG_FILE))
    base = chosen.parent if chosen is not None else Path()
    origins = {"config_file": "given" if config_path is not None else
               "working directory" if chosen is not None else "none"}
    journal_path: JournalTarget
    if journal is not None:
        journal_path, origins["journal"] = journal_target(journal), "given"
    elif os.environ.get(JOURNAL_ENV):
        journal_path = journal_target(os.environ[JOURNAL_ENV])
        origins["journal"] = "environment"
    elif model.journal is not None and is_url(model.journal):
        journal_path, origins["journal"] = JournalURL(model.journal), "config file"
    elif (configured := model.path("journal", base)) is not None:
        journal_path, origins["journal"] = configured, "config file"
    else:
        journal_path, origins["journal"] = DEFAULT_JOURNAL, "default"
    state_dir = model.path("state_dir", base)
    # A journal on a server has no directory: venue state then stays in ./.venuekit.
    default_state = (journal_path.parent if isinstance(journal_path, Path)
                     else DEFAULT_JOURNAL.parent)
    origins["state_dir"] = "config file" if state_dir is not None else (
        "journal's directory" if isinstance(journal_path, Path) else "default")
    return Settings(journal=journal_path, state_dir=state_dir or default_state,
                    config=config, config_path=chosen, origins=origins)


def unknown_venues(settings: Settings, host: PluginHost | None = None
                   ) -> list[tuple[str, str]]:
    """The ``[venues.NAME]`` tables of the config that name no registered venue, each with
    what to do about it (the closest registered name, or the plugin left out)."""
    host = host or default_host()
    venues = settings.config.get("venues", {})
    if not isinstance(venues, Mapping):
        return []
    registered = host.venues().names()
    found = []
    for name in sorted(str(n) for n in venues if n not in registered):
        close = difflib.get_close_matches(name, registered, n=1, cutoff=0.6)
        if name in host.left_out:
            hint = f"{host.left_out[name]} leaves out the installed plugin {name!r}"
        elif close:
            hint = f"did you mean [venues.{close[0]}]?"
        else:
            hint = (f"no installed plugin registers a venue named {name!r} (installed: "
                    f"{', '.join(registered) or 'none'}); install its plugin to use it")
        found.append((f"[venues.{name}]", hint))
    return found


_warned: set[tuple[str, str]] = set()


def _warn_once(source: Path | None, table: str, hint: str) -> None:
    where = str(source or CONFIG_FILE)
    if (where, table) in _warned:
        return
    _warned.add((where, table))
    log.warning(f"{table} in {where} names no installed venue and is not used; {hint}",
                extra={"config_file": where, "table": table, "hint": hint})
