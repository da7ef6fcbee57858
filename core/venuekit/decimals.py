"""Decimals as people read them: plain digits, never an exponent.

``str(Decimal)`` writes ``2E+1`` for a normalized twenty and ``0E-8`` for a zero with eight
places; every table, JSON document and journal row venuekit writes goes through
:func:`plain` (prices and amounts: the digits given, ``190.00`` stays ``190.00``) or
:func:`plain_quantity` (quantities: no trailing zeros, ``5.0`` is ``5``), so the same
quantity reads the same on every venue.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["plain", "plain_quantity"]


def plain(value: Decimal) -> str:
    """``value`` in positional notation with the places it has (``2E+1`` -> ``20``,
    ``190.00`` -> ``190.00``, ``0E-8`` -> ``0``)."""
    if not value:
        return "0"
    return format(value, "f")


def plain_quantity(value: Decimal) -> str:
    """``value`` in positional notation without trailing zeros (``5.0`` -> ``5``,
    ``2E+1`` -> ``20``, ``52.6315`` -> ``52.6315``)."""
    if not value:
        return "0"
    if value == value.to_integral_value():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.normalize(), "f")
