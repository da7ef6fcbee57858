"""``venuekit.toml``: the config file's strict model, :class:`ConfigFile`.

The file has four entries, each optional::

    journal = "books/journal.sqlite3"   # a path, relative to the file's directory
    state_dir = "books/state"           # a path, relative to the file's directory

    [venues.mock]                       # one table per venue: its options
    seed = 7

    [validation]                        # the pre-trade rules (venuekit.validation)
    max_order_notional = "50000"
    [validation.live]                   # an environment's overrides (VENUEKIT_ENV=live)
    max_order_notional = "20000"

Anything else is refused with ``INVALID_CONFIG`` naming the file, the key and the closest
known name (``unknown table [venue.mock] in venuekit.toml; did you mean [venues.mock]?``);
so is a value of the wrong type. The keys of a ``[validation]`` table are checked by
:meth:`venuekit.validation.ValidationRules.check_config`; those of a ``[venues.NAME]``
table by the venue's own ``from_config`` when the venue is built (only its plugin knows
them).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import Code, VenueKitError, error
from .validation import ValidationRules

__all__ = ["ConfigFile", "parse_config", "read_config_file"]

_WHAT = {
    "journal": "a path (a non-empty string), e.g. journal = \"books/journal.sqlite3\"",
    "state_dir": "a path (a non-empty string), e.g. state_dir = \"books/state\"",
    "venues": "a table of [venues.NAME] tables, e.g. [venues.mock] then seed = 7",
    "validation": "a table, e.g. [validation] then max_order_notional = \"50000\"",
}


class ConfigFile(BaseModel):
    """The contents of a ``venuekit.toml`` (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    journal: str | None = None
    """The journal file, relative to the config file's directory."""
    state_dir: str | None = None
    """Where venues keep local state, relative to the config file's directory."""
    venues: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Each venue's options, by venue name (checked by the venue when it is built)."""
    validation: dict[str, Any] = Field(default_factory=dict)
    """The ``[validation]`` table, with its ``[validation.<environment>]`` tables."""

    @field_validator("journal", "state_dir")
    @classmethod
    def _a_path(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("empty")
        return value.strip() if value is not None else None

    def path(self, key: str, base: Path) -> Path | None:
        """``journal`` or ``state_dir`` as a path: relative ones under ``base``."""
        value = getattr(self, key)
        return None if value is None else base / Path(value).expanduser()

    def environments(self) -> list[str]:
        """The names of the ``[validation.<environment>]`` tables."""
        return sorted(k for k, v in self.validation.items() if isinstance(v, Mapping))


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML document at ``path``; ``INVALID_CONFIG`` when it is missing or not TOML."""
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


def parse_config(data: Mapping[str, Any], source: str = "venuekit.toml") -> ConfigFile:
    """``data`` (a parsed TOML document) checked against the model; ``source`` names the file
    in the errors."""
    try:
        model = ConfigFile.model_validate(dict(data))
    except ValidationError as exc:
        raise _explain(exc, source) from None
    try:
        ValidationRules.check_config(model.validation)
    except VenueKitError as exc:
        raise error(Code.INVALID_CONFIG, f"{source} {exc.message}") from None
    return model


def _explain(exc: ValidationError, source: str) -> VenueKitError:
    """The first problem of ``exc``, said so that the reader knows what to change."""
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    value = first["input"]
    if first["type"] == "extra_forbidden":
        return _unknown(loc[0], value, source)
    key = loc[0]
    if key == "venues" and len(loc) > 1:
        return error(Code.INVALID_CONFIG, f"[venues.{loc[1]}] in {source} must be a table of "
                     f"the venue's options, got {value!r}; write it as [venues.{loc[1]}] "
                     "followed by key = value lines")
    return error(Code.INVALID_CONFIG, f"{key} in {source} must be {_WHAT[key]}; got {value!r}")


def _unknown(key: str, value: Any, source: str) -> VenueKitError:
    """An unknown top-level key or table, with the closest known name."""
    path = [key]
    while isinstance(value, Mapping) and len(value) == 1 and \
            isinstance(next(iter(value.values())), Mapping):
        name, value = next(iter(value.items()))
        path.append(str(name))
    known = list(ConfigFile.model_fields)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    if isinstance(value, Mapping):
        shown = f"table [{'.'.join(path)}]"
        hint = f"; did you mean [{'.'.join([close[0], *path[1:]])}]?" if close else ""
    else:
        shown = f"key {key!r}"
        hint = f"; did you mean {close[0]!r}?" if close else ""
    return error(Code.INVALID_CONFIG, f"unknown {shown} in {source}{hint} (known: "
                 f"{', '.join(known)}; see docs/configuration.md)")
