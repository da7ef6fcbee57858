"""JSON out of the emulator, and Binance's way of writing numbers.

Binance writes every amount as a string padded to eight decimals (``"0.00100000"``,
``"60000.01000000"``); :func:`amount` does the same, and keeps every digit of an amount
that has more than eight (nothing is ever rounded away). Integers (ids, times in ms) and
booleans are plain JSON. :func:`dumps` refuses floats: the emulator never makes one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["amount", "dumps", "millis", "number_text"]

_EIGHT = Decimal("1e-8")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def number_text(value: Decimal) -> str:
    """A Decimal as plain digits, without exponent or trailing zeros (``"1"``, ``"0.5"``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def amount(value: Decimal) -> str:
    """Binance's text for an amount: eight decimals, more only when the value has more."""
    try:
        padded = value.quantize(_EIGHT)
    except InvalidOperation:  # too many digits for the context: write them all
        return number_text(value)
    if padded != value:
        return number_text(value)
    text = format(padded, "f")
    return text[1:] if text.startswith("-") and not padded else text


def millis(at: datetime) -> int:
    """Milliseconds since the epoch (integer arithmetic: no float ever rounds a time)."""
    return (at.astimezone(UTC) - _EPOCH) // _MS


def dumps(value: Any) -> str:
    """Compact JSON; a Decimal is written as its exact digits, a float is refused."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        return number_text(value)
    if isinstance(value, float):
        raise TypeError("the Binance emulator writes no floats")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)
