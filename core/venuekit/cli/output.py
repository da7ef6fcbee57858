"""Shared output helpers for CLI commands: one JSON encoder, one rich console."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from rich.console import Console
from rich.table import Table

from ..decimals import plain


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain(value)  # never an exponent (2E+1)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(data: Any, *, line: bool = False) -> str:
    """JSON with Decimals as strings of plain digits (never floats, never an exponent)
    and datetimes in ISO 8601; on one ``line`` (JSON Lines) or indented."""
    return json.dumps(data, default=_default, indent=None if line else 2, sort_keys=False)


def emit_json(data: Any, *, line: bool = False) -> None:
    sys.stdout.write(dumps(data, line=line) + "\n")


def console() -> Console:
    return Console(highlight=False)


def error_console() -> Console:
    return Console(stderr=True, highlight=False)


def stamp(at: datetime, *, date: bool = True) -> str:
    """A time in UTC as the tables show it, complete and compact: ``2026-12-07 17:14:05``
    (the column says UTC); ``date=False`` leaves the date to a row of its own."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


def day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def fits(out: Console, table: Table) -> bool:
    """True when ``table`` fits ``out``'s width without shortening a column."""
    unbounded = out.options.update(max_width=10_000)
    return out.measure(table, options=unbounded).maximum <= out.width
