"""Request parameters as Binance reads them, with Binance's refusals for bad ones.

Parameters come from the query string and, for POST, PUT and DELETE, from a form-encoded
body too; a parameter in both is taken from the query string (``rest-api.md``, "General
Information on Endpoints"). Decimals are parsed exactly (``"0.001"``, never a float), and
refused with ``-1100`` when they are not plain digits, ``-1111`` when they have more than
eight decimals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import parse_qsl

from . import errors

__all__ = ["Params"]

_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_INTEGER = re.compile(r"^-?[0-9]{1,19}$")
_PRECISION = 8


class Params:
    """One request's parameters, with typed accessors that refuse as Binance does."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    @classmethod
    def parse(cls, query: str, body: str) -> Params:
        values = dict(parse_qsl(body, keep_blank_values=True)) if body else {}
        values.update(parse_qsl(query, keep_blank_values=True))
        return cls(values)

    def __contains__(self, name: str) -> bool:
        return self.values.get(name, "") != ""

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value else None

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise errors.mandatory(name)
        return value

    def decimal(self, name: str) -> Decimal | None:
        value = self.text(name)
        if value is None:
            return None
        if not _DECIMAL.match(value):
            raise errors.illegal(name, errors.DECIMAL_RANGE)
        number = Decimal(value)
        if -number.normalize().as_tuple().exponent > _PRECISION:  # type: ignore[operator]
            raise errors.too_much_precision(name)
        return number

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not _INTEGER.match(value):
            raise errors.illegal(name, r"^-?[0-9]{1,19}$")
        return int(value)

    def choice(self, name: str, options: tuple[str, ...], error: errors.BinanceError,
               default: str | None = None) -> str | None:
        value = self.text(name)
        if value is None:
            return default
        if value not in options:
            raise error
        return value

    def symbols(self, name: str = "symbols") -> list[str] | None:
        """A JSON array of symbols (``["BTCUSDT","ETHUSDT"]``), or None when absent."""
        value = self.text(name)
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except ValueError:
            raise errors.BinanceError(400, -1100, f"Illegal characters found in parameter "
                                      f"'{name}'; legal range is '^\\[(\"[A-Z0-9-_.]{{1,20}}"
                                      "\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.") from None
        if not isinstance(parsed, list) or not all(isinstance(s, str) for s in parsed):
            raise errors.mandatory(name)
        if len(set(parsed)) != len(parsed):
            raise errors.BinanceError(400, -1151, "Symbol is present multiple times in "
                                      "the list.")
        return parsed
