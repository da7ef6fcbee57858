"""How KIS writes numbers: every value a string, won and shares as whole numbers.

Amounts of won (prices, totals, cash) and quantities of shares are whole numbers in KRX
trading, and KIS writes them as integer strings (``"71000"``, ``"15"``). Averages are
written exactly, without trailing zeros (``"71050"``, ``"71050.5"``), when they have at
most eight decimals; one with more (an average over three fills, say, which does not
terminate) is rounded half up to eight decimals.
Percentages (``prdy_ctrt``, ``evlu_pfls_rt``) carry two decimals. No float is ever used.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

__all__ = ["ZERO", "average", "decimal", "percent", "whole"]

ZERO = Decimal(0)
_ONE = Decimal(1)
_EIGHT = Decimal("1e-8")
_TWO = Decimal("0.01")
_HUNDRED = Decimal(100)


def whole(value: Decimal) -> str:
    """A whole number of won or shares; a fraction (none arises from whole prices and
    quantities) is rounded half up."""
    number = value.quantize(_ONE, ROUND_HALF_UP)
    return str(int(number))


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def decimal(value: Decimal) -> str:
    """An average or a price: exact up to eight decimals, else rounded half up to eight."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8:
        value = value.quantize(_EIGHT, ROUND_HALF_UP)
    return _plain(value)


def average(total: Decimal, quantity: Decimal) -> str:
    """``total / quantity`` written as :func:`decimal` does (``"0"`` for no quantity)."""
    if not quantity:
        return "0"
    with localcontext() as context:
        context.prec = 60
        return decimal(total / quantity)


def percent(part: Decimal, whole_amount: Decimal) -> str:
    """``part / whole_amount`` in percent with two decimals (``"0.00"`` for a zero base)."""
    if not whole_amount:
        return "0.00"
    return format((part * _HUNDRED / whole_amount).quantize(_TWO, ROUND_HALF_UP), "f")
