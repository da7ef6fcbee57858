"""What fees cost, counted in an instrument's currency.

A venue charges each fill's fee in some asset. Where that asset is the instrument's
currency (USD for a share, USDT for ``BTC/USDT``) the fee is a cost as it stands. Where it
is the asset bought and sold (BTC of ``BTC/USDT``: Binance takes a buy's fee from what it
bought) it is valued at its trade's price. A fee in any other asset (BNB) has no price
here: it is kept apart, by asset, and never added to the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from .model import ZERO, Fill, Instrument

__all__ = ["Fees", "fee_cost", "fees_of"]


def fee_cost(fill: Fill, currency: str, base_currency: str | None) -> Decimal | None:
    """``fill``'s fee in ``currency``, or None when it was charged in another asset."""
    if not fill.fee or fill.fee_currency == currency:
        return fill.fee
    if base_currency is not None and fill.fee_currency == base_currency:
        return fill.fee * fill.price
    return None


@dataclass(frozen=True, slots=True)
class Fees:
    """Fees of several fills: ``value`` in the instrument's currency, ``other`` by asset."""

    value: Decimal = ZERO
    other: Mapping[str, Decimal] = field(default_factory=dict)

    def __add__(self, more: Fees) -> Fees:
        other = dict(self.other)
        for asset, amount in more.other.items():
            other[asset] = other.get(asset, ZERO) + amount
        return Fees(self.value + more.value, other)


def fees_of(fills: Iterable[Fill], instrument: Instrument) -> Fees:
    """The fees of ``fills`` of ``instrument``."""
    value = ZERO
    other: dict[str, Decimal] = {}
    for fill in fills:
        cost = fee_cost(fill, instrument.currency, instrument.base_currency)
        if cost is None:
            other[fill.fee_currency] = other.get(fill.fee_currency, ZERO) + fill.fee
        else:
            value += cost
    return Fees(value, other)
