"""Each symbol's price history, minute by minute: what the market-data bars are made of.

Before the emulator started, the history is synthesized: a seeded random walk that ends,
at the start, on the symbol's opening mid. Since the start it is recorded: the emulator
observes the simulator's quotes (every second while the market moves on its own, after
each step or forced quote of the control API, and on every market-data request) and each
minute with an observation gets a bar of the mids seen in it (a minute without one has no
bar, as at Alpaca a minute without trades has none).

The synthetic walk is integer arithmetic on a log scale (millionths), drawn per UTC day
from ``random.Random`` seeded with text, so it is the same on every platform for a given
seed; prices are ``anchor * exp(level / 1e6)`` in Decimal, to four decimal places. A day's
walk is a bridge between day levels drawn on their own, so the level at any minute is
reached without drawing the minutes of the days in between.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from venuekit_mock.sim import Book, SymbolSpec

__all__ = ["HISTORY_BEGINS", "MinuteTape", "PriceHistory", "Span", "minute_of", "moment"]

HISTORY_BEGINS = datetime(2016, 1, 1, tzinfo=UTC)
"""No bar before this (Alpaca's stock data begins in 2016); bounds the work of a request."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = 1440  # minutes
_MILLION = Decimal(1_000_000)
_PLACES = Decimal("0.0001")


def minute_of(at: datetime) -> int:
    """The minute (counted from 1970, UTC) that contains ``at``."""
    return (at.astimezone(UTC) - _EPOCH) // timedelta(minutes=1)


def moment(minute: int) -> datetime:
    """The start of a minute."""
    return _EPOCH + timedelta(minutes=minute)


class Span(NamedTuple):
    """Open, high, low and close over a span of minutes, and the volume traded in it."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int

    def then(self, later: Span) -> Span:
        """This span followed by ``later``."""
        return Span(self.open, max(self.high, later.high), min(self.low, later.low),
                    later.close, self.volume + later.volume)


@dataclass(slots=True)
class MinuteTape:
    """What was observed in one minute: the mids' open, high, low and close, the last quote
    and when it was seen."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    bid: Decimal
    ask: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class _Walk:
    """How one symbol's synthetic walk moves: the half-width of a minute's step and of a
    day's move, in millionths."""

    minute: int
    day: int


@dataclass(eq=False)
class PriceHistory:
    """The minute history of every symbol of one emulator (see the module docstring)."""

    seed: int
    specs: Mapping[str, SymbolSpec]
    start: datetime
    anchors: Mapping[str, Decimal]
    """Each symbol's mid when the emulator started: where the synthetic walk ends."""
    tape: dict[str, dict[int, MinuteTape]] = field(default_factory=dict)
    last_seen: dict[str, MinuteTape] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.start_minute = minute_of(self.start)
        self.first_minute = minute_of(HISTORY_BEGINS)
        self._walks: dict[str, _Walk] = {}
        for symbol, spec in self.specs.items():
            step = max(1, int(spec.volatility_bps * 300))
            self._walks[symbol] = _Walk(step, step * 22)  # a day's spread: ~ sqrt(1440) steps
        # Drawn once, kept while they are used (a daily bar reads its days once each).
        self._day_move = functools.lru_cache(maxsize=8192)(self._draw_day_move)
        self._day_path = functools.lru_cache(maxsize=64)(self._draw_day_path)
        self._volumes = functools.lru_cache(maxsize=64)(self._draw_volumes)

    @classmethod
    def of_market(cls, seed: int, books: Mapping[str, Book], at: datetime) -> PriceHistory:
        """A history whose synthetic part ends at ``at`` on the books' current mids."""
        history = cls(seed, {s: b.spec for s, b in books.items()}, at,
                      {s: (b.bid + b.ask) / 2 for s, b in books.items()})
        history.observe_books(books, at)
        return history

    # recording -----------------------------------------------------------------------
    def observe_books(self, books: Mapping[str, Book], at: datetime) -> None:
        """Record every book's current quote, seen at ``at``."""
        for symbol, book in books.items():
            self.observe(symbol, at, book.bid, book.ask)

    def observe(self, symbol: str, at: datetime, bid: Decimal, ask: Decimal) -> None:
        """Record the quote ``bid``/``ask`` seen at ``at`` (earlier than the last one seen:
        ignored)."""
        last = self.last_seen.get(symbol)
        if (last is not None and at < last.at) or at < self.start:
            return
        mid = (bid + ask) / 2
        minutes = self.tape.setdefault(symbol, {})
        minute = minute_of(at)
        seen = minutes.get(minute)
        if seen is None:
            seen = minutes[minute] = MinuteTape(mid, mid, mid, mid, bid, ask, at)
        else:
            seen.high, seen.low = max(seen.high, mid), min(seen.low, mid)
            seen.close, seen.bid, seen.ask, seen.at = mid, bid, ask, at
        self.last_seen[symbol] = seen

    # reading -------------------------------------------------------------------------
    def span(self, symbol: str, first: int, end: int) -> Span | None:
        """The minutes ``first`` to ``end`` (excluded) of ``symbol``, or None when none of
        them has a bar."""
        first = max(first, self.first_minute)
        result: Span | None = None
        if first < min(end, self.start_minute):
            result = self._synthetic(symbol, first, min(end, self.start_minute))
        recorded = self.tape.get(symbol, {})
        if end > self.start_minute and recorded:
            for minute in self._recorded_minutes(recorded, max(first, self.start_minute), end):
                seen = recorded[minute]
                bar = Span(seen.open, seen.high, seen.low, seen.close,
                           self._volumes(symbol, minute // _DAY)[minute % _DAY])
                result = bar if result is None else result.then(bar)
        return result

    def minutes(self, symbol: str, first: int, end: int) -> Iterator[tuple[int, Span]]:
        """Each minute from ``first`` to ``end`` (excluded) that has a bar, in order."""
        for minute in range(max(first, self.first_minute), min(end, self.start_minute)):
            yield minute, self._synthetic(symbol, minute, minute + 1)
        recorded = self.tape.get(symbol, {})
        for minute in self._recorded_minutes(recorded, max(first, self.start_minute), end):
            span = self.span(symbol, minute, minute + 1)
            if span is not None:
                yield minute, span

    def price_at(self, symbol: str, at: datetime) -> Decimal:
        """The last price at or before ``at``: the last recorded mid seen by then, or the
        synthetic close of the minute before ``at``."""
        recorded = self.tape.get(symbol, {})
        last = minute_of(at)
        seen = [m for m in recorded if m <= last and recorded[m].at <= at]  # in time order
        if seen:
            return recorded[seen[-1]].close
        minute = minute_of(at - timedelta(microseconds=1))
        if minute < self.start_minute:
            minute = max(minute, self.first_minute)
            return self._synthetic(symbol, minute, minute + 1).close
        return self.anchors[symbol]

    def quote_at(self, symbol: str, minute: int) -> tuple[Decimal, Decimal, datetime] | None:
        """The quote that closed ``minute``: recorded, or around the synthetic close."""
        seen = self.tape.get(symbol, {}).get(minute)
        if seen is not None:
            return seen.bid, seen.ask, seen.at
        if not self.first_minute <= minute < self.start_minute:
            return None
        close = self._synthetic(symbol, minute, minute + 1).close
        spec = self.specs[symbol]
        half = spec.tick_at(close) * spec.spread_ticks / 2
        bid = spec.floor_price(close - half)
        ask = bid + spec.tick_at(bid) * spec.spread_ticks
        return bid, ask, moment(minute) + timedelta(seconds=59)

    @staticmethod
    def _recorded_minutes(recorded: Mapping[int, MinuteTape], first: int, end: int
                          ) -> list[int]:
        if end - first <= len(recorded):
            return [m for m in range(first, end) if m in recorded]
        return sorted(m for m in recorded if first <= m < end)

    # the synthetic walk --------------------------------------------------------------
    def _synthetic(self, symbol: str, first: int, end: int) -> Span:
        """Minutes ``first`` to ``end`` (excluded, all before the start) of the walk."""
        levels: list[int] = []
        volume = 0
        minute = first
        while minute < end:
            day, offset = divmod(minute, _DAY)
            upto = min(end - day * _DAY, _DAY)
            path = self._day_path(symbol, day)
            base = self._day_level(symbol, day)
            # Boundaries offset..upto: the opening level of each minute and the last close.
            levels.extend(base + value for value in path[offset:upto + 1])
            volume += sum(self._volumes(symbol, day)[offset:upto])
            minute = day * _DAY + upto
        anchor = self.anchors[symbol]
        price = functools.partial(_price, anchor)
        return Span(price(levels[0]), price(max(levels)), price(min(levels)),
                    price(levels[-1]), volume)

    def _day_level(self, symbol: str, day: int) -> int:
        """The walk's level at the start of UTC ``day``, relative to the level at the start
        of the emulator (0)."""
        start_day, start_offset = divmod(self.start_minute, _DAY)
        level = -self._day_path(symbol, start_day)[start_offset]
        for earlier in range(day, start_day):
            level -= self._day_move(symbol, earlier)
        return level

    def _draw_day_move(self, symbol: str, day: int) -> int:
        width = self._walks[symbol].day
        draw = random.Random(f"{self.seed}/{symbol}/day/{day}").randrange
        return sum(draw(2 * width + 1) - width for _ in range(3))

    def _draw_day_path(self, symbol: str, day: int) -> tuple[int, ...]:
        """The walk through UTC ``day``: 1441 levels from 0 to the day's move."""
        width = self._walks[symbol].minute
        draw = random.Random(f"{self.seed}/{symbol}/minutes/{day}").randrange
        walk = [0]
        for _ in range(_DAY):
            walk.append(walk[-1] + draw(2 * width + 1) - width)
        gap = self._day_move(symbol, day) - walk[-1]
        return tuple(level + gap * i // _DAY for i, level in enumerate(walk))

    def _draw_volumes(self, symbol: str, day: int) -> tuple[int, ...]:
        """Shares traded in each minute of UTC ``day``."""
        draw = random.Random(f"{self.seed}/{symbol}/volume/{day}").randrange
        return tuple(100 * draw(1, 40) for _ in range(_DAY))


def _price(anchor: Decimal, level: int) -> Decimal:
    return (anchor * (Decimal(level) / _MILLION).exp()).quantize(_PLACES)
