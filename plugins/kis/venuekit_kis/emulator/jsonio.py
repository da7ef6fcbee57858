"""JSON out of the emulator: compact, UTF-8 (Korean text as is), and never a float.

KIS writes every value as a string, so the emulator builds its bodies from strings,
lists and objects only; :func:`dumps` refuses a float or a Decimal that slipped through
rather than write a number KIS would not.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps"]


def _check(value: Any) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _check(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check(item)
    elif not (value is None or isinstance(value, str | bool | int)):
        raise TypeError(f"the KIS emulator writes strings, not {type(value).__name__}")


def dumps(value: Any) -> str:
    """Compact JSON with non-ASCII text written as is."""
    _check(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
