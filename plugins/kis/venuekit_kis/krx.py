"""KRX's rules for domestic stocks: the tick by price band (호가가격단위), whole shares, the
daily price limits (상한가 / 하한가), and KIS's order numbers.

The bands have applied to KOSPI, KOSDAQ and KONEX alike since 2023-01-25; ETFs, ETNs and
ELWs keep a flat 5-won tick. The band is chosen by the order price itself. KIS's current
price answer gives the tick in force (``aspr_unit``): where it is not the band's tick at that
price, the symbol trades on a flat tick (an ETF) and the table is not used.
"""

from __future__ import annotations

from decimal import Decimal

from venuekit.model import TickBand

__all__ = ["BRANCH", "KRX_TICKS", "band_tick", "tick_table"]

KRX_TICKS: tuple[TickBand, ...] = tuple(
    TickBand(floor=Decimal(floor), tick=Decimal(tick)) for floor, tick in (
        (0, 1), (2_000, 5), (5_000, 10), (20_000, 50), (50_000, 100), (200_000, 500),
        (500_000, 1_000)))
"""KRX equity price bands since 2023-01-25, KRW: prices at or above ``floor`` use ``tick``."""

BRANCH = "00950"
"""The order branch (KRX_FWDG_ORD_ORGNO) KIS paper accounts commonly show."""


def band_tick(price: Decimal) -> Decimal:
    """The KRX band's tick at ``price``."""
    tick = KRX_TICKS[0].tick
    for band in KRX_TICKS:
        if price < band.floor:
            break
        tick = band.tick
    return tick


def tick_table(price: Decimal, tick_in_force: Decimal) -> tuple[TickBand, ...]:
    """The bands for a symbol whose tick at ``price`` is ``tick_in_force``: KRX's table, or
    none (a flat tick, as ETFs have) when the tick in force is not the band's."""
    return KRX_TICKS if band_tick(price) == tick_in_force else ()
