"""JSON in and out of the emulator, with Decimal both ways.

Request bodies are parsed with every number as a :class:`~decimal.Decimal` (alpaca-py sends
``qty`` and prices as JSON floats; the text of the number is kept exactly). Responses are
written by :func:`dumps`, which writes a Decimal as a bare JSON number with its exact digits:
the market-data API sends prices as numbers, while the trading API's payloads carry amounts
as strings (the payload builders turn them into strings first).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from . import errors

__all__ = ["body_decimal", "dumps", "loads", "number_text"]


def loads(text: str | bytes) -> Any:
    """Parse JSON; every number (integer or not) becomes a Decimal."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def body_decimal(body: Mapping[str, Any], key: str, *, label: str | None = None
                 ) -> Decimal | None:
    """The finite number at ``body[key]`` (a JSON number, or a string of digits, as
    alpaca-py sends amounts), None when absent; the 422 Alpaca answers otherwise, naming
    ``label`` (``key`` by default)."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise errors.invalid(f"{label or key} must be a number")
    try:
        number = Decimal(value) if isinstance(value, Decimal | str | int) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise errors.invalid(f"invalid {label or key} {value!r}")
    return number


def number_text(value: Decimal) -> str:
    """A Decimal as plain digits, without exponent or trailing zeros (``"1"``, ``"0.5"``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def dumps(value: Any) -> str:
    """Serialise to compact JSON, writing Decimals as exact JSON numbers."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        return number_text(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)
