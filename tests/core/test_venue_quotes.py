"""Quotes of many symbols: one request where the venue has a batch, one per symbol elsewhere."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from venuekit.errors import Code, error
from venuekit.limited import LimitedVenue
from venuekit.model import Quote
from venuekit.ratelimit import RateLimiter

from .scripted_venue import ScriptedVenue


class OneByOne(ScriptedVenue):
    """A venue with single-symbol quotes only; it does not list NOPE."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def quote(self, symbol: str) -> Quote:
        self.asked.append(symbol)
        if symbol == "NOPE":
            raise error(Code.UNKNOWN_SYMBOL, "unknown symbol 'NOPE'", venue=self.name)
        return await super().quote(symbol)


class Batched(OneByOne):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    async def quotes(self, symbols: Sequence[str]) -> Sequence[Quote]:
        self.batches.append(list(symbols))
        return [Quote(symbol=s, bid="10", ask="10.01") for s in symbols if s != "NOPE"]


def limited(venue: OneByOne) -> LimitedVenue:
    return LimitedVenue(venue, RateLimiter.for_venue(venue.capabilities, venue=venue.name))


def test_without_a_batch_each_symbol_is_one_quote_and_unknown_ones_are_omitted() -> None:
    venue = OneByOne()
    quotes = asyncio.run(limited(venue).quotes(["A", "NOPE", "B"]))
    assert [q.symbol for q in quotes] == ["A", "B"]
    assert sorted(venue.asked) == ["A", "B", "NOPE"]


def test_a_venue_with_a_batch_is_asked_once_through_the_limiter() -> None:
    venue = Batched()
    quotes = asyncio.run(limited(venue).quotes(["A", "NOPE", "B"]))
    assert [q.symbol for q in quotes] == ["A", "B"]
    assert venue.batches == [["A", "NOPE", "B"]] and venue.asked == []
