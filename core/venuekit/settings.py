"""Where venuekit's settings come from: one resolution for every command and entry point.

The CLI's commands (``order``, ``rebalance``, ``recover``, ``cancel``, ``orders``, ``runs``)
and the Python entry points (:func:`venuekit.execute`, :func:`venuekit.cancel`) all resolve
their settings here, so that they agree on where the journal is and which venue they talk
to. Highest precedence first:

* **the config file**: the path given (``--config``, ``config=``), else ``./venuekit.toml``
  when it exists, else none;
* **the journal**: the path given (``--journal``, ``journal=``), else ``$VENUEKIT_JOURNAL``,
  else the config file's ``journal`` key, else ``./.venuekit/journal.sqlite3``;
* **the venue state directory**, where a venue may keep local state (the simulated venue's
  market and ledger, a token cache): the config file's ``state_dir``, else the journal's
  directory. State thus follows the journal: a journal elsewhere has its venue state
  beside it;
* **a venue's options**: those given (``-o key=value``, ``venue_options=``) over the config
  file's ``[venues.NAME]`` table, over the venue's own defaults.

Paths in the config file are relative to the file's directory.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Code, error
from .plugins import PluginHost, default_host
from .venue import Venue

__all__ = ["CONFIG_FILE", "DEFAULT_JOURNAL", "JOURNAL_ENV", "Settings", "load_settings",
           "read_config"]

CONFIG_FILE = Path("venuekit.toml")
"""The config file read from the working directory when none is named."""

JOURNAL_ENV = "VENUEKIT_JOURNAL"
"""Environment variable naming the journal file."""

DEFAULT_JOURNAL = Path(".venuekit") / "journal.sqlite3"
"""The journal when nothing else names one, relative to the working directory."""


def read_config(path: Path | None) -> dict[str, Any]:
    """The config file as a dict: ``path``, else ``./venuekit.toml`` if present, else {}."""
    if path is None:
        if not CONFIG_FILE.exists():
            return {}
        path = CONFIG_FILE
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise error(Code.INVALID_CONFIG, f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise error(Code.INVALID_CONFIG, f"config file {path} is a directory") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(Code.INVALID_CONFIG, f"config file {path} is not valid TOML: {exc}") \
            from None


@dataclass(frozen=True)
class Settings:
    """What one command or entry point runs with (see the module docstring)."""

    journal: Path
    state_dir: Path
    config: Mapping[str, Any] = field(default_factory=dict)
    config_path: Path | None = None

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
        factory = (host or default_host()).venues().get(name)
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
                  journal: str | os.PathLike[str] | None = None) -> Settings:
    """Resolve the settings: the journal and config file given, else the usual places."""
    chosen = Path(config_path) if config_path is not None else None
    config = read_config(chosen)
    if chosen is None and config:
        chosen = CONFIG_FILE
    base = chosen.parent if chosen is not None else Path()
    if journal is not None:
        journal_path = Path(journal).expanduser()
    elif os.environ.get(JOURNAL_ENV):
        journal_path = Path(os.environ[JOURNAL_ENV]).expanduser()
    elif "journal" in config:
        journal_path = base / _path(config, "journal")
    else:
        journal_path = DEFAULT_JOURNAL
    state_dir = base / _path(config, "state_dir") if "state_dir" in config \
        else journal_path.parent
    return Settings(journal=journal_path, state_dir=state_dir, config=config,
                    config_path=chosen)


def _path(config: Mapping[str, Any], key: str) -> Path:
    value = config[key]
    if not isinstance(value, str) or not value.strip():
        raise error(Code.INVALID_CONFIG, f"{key} in the config must be a path (a non-empty "
                    f"string), got {value!r}")
    return Path(value.strip()).expanduser()
