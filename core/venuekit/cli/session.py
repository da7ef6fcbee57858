"""Build the venue, journal and engine a command needs, and run async work from click."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from ..errors import Category, VenueKitError
from ..journal.sqlite import SQLiteJournal, default_journal_path
from ..plugins import default_host
from ..venue import Venue
from .config import Settings
from .output import error_console

T = TypeVar("T")

EXIT_OK, EXIT_INCOMPLETE, EXIT_INVALID = 0, 1, 2


def build_venue(settings: Settings) -> Venue:
    venue_cls = default_host().venues().get(settings.venue)
    venue: Venue = venue_cls.from_config(settings.venue_options)
    return venue


def open_journal(path: Path | None, *, readonly: bool = False) -> SQLiteJournal:
    return SQLiteJournal(path or default_journal_path(), readonly=readonly)


_INPUT_ERRORS = {Category.VALIDATION, Category.CONFIGURATION, Category.AUTHORIZATION}


def exit_code_for(exc: VenueKitError) -> int:
    """2 when the input or configuration is wrong, 1 when the work could not complete."""
    return EXIT_INVALID if exc.code.category in _INPUT_ERRORS else EXIT_INCOMPLETE


def fail(exc: VenueKitError, code: int | None = None) -> None:
    """Print ``exc`` for a person (code, message, what to do) and exit."""
    err = error_console()
    err.print(f"[red]error[/] {exc.code.name}: {exc.message}")
    err.print(f"[dim]what to do:[/] {exc.code.action}")
    sys.exit(exit_code_for(exc) if code is None else code)


def run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run async work, turning venuekit errors into a clear message and exit code."""
    try:
        return asyncio.run(factory())
    except VenueKitError as exc:
        fail(exc)
        raise AssertionError("unreachable") from exc
