"""A venue's positions for the client: the journal's fills, the venue's account and quotes."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..engine import Engine
from ..errors import VenueKitError
from ..journal.base import Journal
from ..model import Account, Quote
from ..positions import PositionLine, positions_from_fills, reconcile_positions

__all__ = ["positions_at"]

log = logging.getLogger("venuekit.client")


async def positions_at(engine: Engine, journal: Journal,
                       symbols: set[str] | None = None) -> list[PositionLine]:
    """The positions at ``engine``'s venue (of ``symbols``, or all) from ``journal``'s
    fills, compared with the venue's account and marked at its quotes; by symbol."""
    name = engine.venue.name
    fills = [f for f in journal.fills(venue=name) if symbols is None or f.symbol in symbols]
    account = await engine.venue.account()
    wanted = {f.symbol for f in fills} | {p.symbol for p in account.positions
                                          if symbols is None or p.symbol in symbols}
    instruments = await engine.instruments(sorted(wanted))
    quotes = await _quotes(engine, sorted(wanted & set(instruments)))
    lines = reconcile_positions(positions_from_fills(name, fills, instruments), name,
                                _only(account, symbols), quotes)
    return sorted(lines.values(), key=lambda line: line.symbol)


def _only(account: Account, symbols: set[str] | None) -> Account:
    if symbols is None:
        return account
    return account.model_copy(update={"positions": tuple(
        p for p in account.positions if p.symbol in symbols)})


async def _quotes(engine: Engine, symbols: Sequence[str]) -> dict[str, Quote]:
    if not symbols:
        return {}
    try:
        quotes = await engine.venue.quotes(symbols)
    except VenueKitError as exc:  # positions stay useful without their marks
        log.warning("no quotes to mark positions", extra={"venue": engine.venue.name,
                                                           **exc.log_fields()})
        return {}
    return {quote.symbol: quote for quote in quotes}
