"""Shared output helpers for CLI commands: one JSON encoder, one rich console."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from rich.console import Console


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(data: Any) -> str:
    """JSON with Decimals as strings (never floats) and datetimes in ISO 8601."""
    return json.dumps(data, default=_default, indent=2, sort_keys=False)


def emit_json(data: Any) -> None:
    sys.stdout.write(dumps(data) + "\n")


def console() -> Console:
    return Console(highlight=False)


def error_console() -> Console:
    return Console(stderr=True, highlight=False)
