"""The environment variables venuekit reads: the one list of their names, and typo checks.

:data:`VARIABLES` is the list; the code that reads a variable names it, and a test checks
that every ``VENUEKIT_*`` name in the sources is listed here. A ``VENUEKIT_*`` variable set
in the environment that is not on the list (``VENUEKIT_JOURNL``) is most likely a typo:
:func:`warn_unknown` logs a warning naming it and the closest known name, once per process.

Venue plugins read variables of their own (``APCA_API_KEY_ID``, ``KIS_APP_KEY``,
``BINANCE_API_KEY``): see each venue's page. They are not listed here.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PREFIX", "VARIABLES", "Variable", "known_names", "unknown", "warn_unknown"]

log = logging.getLogger(__name__)

PREFIX = "VENUEKIT_"


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable venuekit reads, and what it means."""

    name: str
    meaning: str
    tests_only: bool = False
    """Read by venuekit's own test suite, not by the library or the command."""


VARIABLES: tuple[Variable, ...] = (
    Variable("VENUEKIT_JOURNAL", "the journal file, when no --journal / journal= is given "
             "(over the config file's `journal`)"),
    Variable("VENUEKIT_LOAD_PLUGINS", "comma-separated plugin names: load only these (an "
             "empty value loads none)"),
    Variable("VENUEKIT_DISABLE_PLUGINS", "comma-separated plugin names to skip (built-ins "
             "too, e.g. venuekit.builtins)"),
    Variable("VENUEKIT_ENV", "the validation environment: its [validation.<name>] table "
             "overrides [validation] (as --environment)"),
    Variable("VENUEKIT_LIVE", "live trading's second opt-in (1 / true / yes / on), besides "
             "live = true in the venue's settings"),
    Variable("VENUEKIT_LOG_JSON", "the command's log lines as JSON when true (as --log-json)"),
    Variable("VENUEKIT_FAULTS_FULL", "the reliability and burst test suites run their full "
             "set of cases when 1", tests_only=True),
    Variable("VENUEKIT_REQUIRE_POSTGRES", "the PostgreSQL tests fail instead of skipping when "
             "no PostgreSQL server binaries are found, when 1 (CI)", tests_only=True),
    Variable("VENUEKIT_MULTI_TARGET", "the journal target of a multi-process test worker "
             "when it is given no --target", tests_only=True),
)
"""Every ``VENUEKIT_*`` variable venuekit (or its test suite) reads."""


def known_names() -> frozenset[str]:
    return frozenset(variable.name for variable in VARIABLES)


def unknown(environ: Mapping[str, str] | None = None) -> list[tuple[str, str | None]]:
    """The ``VENUEKIT_*`` variables set in ``environ`` that venuekit does not read, each with
    the closest known name (or None)."""
    env = os.environ if environ is None else environ
    known = sorted(known_names())
    found = []
    for name in sorted(env):
        if name.startswith(PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            found.append((name, close[0] if close else None))
    return found


_warned: set[str] = set()


def warn_unknown(environ: Mapping[str, str] | None = None) -> None:
    """Log a warning for each unknown ``VENUEKIT_*`` variable (once per name per process)."""
    for name, suggestion in unknown(environ):
        if name in _warned:
            continue
        _warned.add(name)
        hint = f"; did you mean {suggestion}?" if suggestion else \
            f"; venuekit reads {', '.join(v.name for v in VARIABLES if not v.tests_only)}"
        log.warning(f"unknown environment variable {name} is ignored{hint}",
                    extra={"variable": name, "suggestion": suggestion})
