"""Quotes: a seeded random walk per symbol, or quotes replayed from a CSV file.

The market owns each symbol's :class:`Book`: the fair value, the displayed quote and the
size still available at the touch during the current step. It moves only when
:meth:`Market.step` is called. The walk uses integer draws from the simulator's
``random.Random`` and Decimal arithmetic, so a seed gives the same prices on every platform.

Each step the mid moves by ``mid * z / 1_000_000`` where ``z`` is the sum of three uniform
integers in ``[-u, u]`` and ``u`` is the volatility in parts per million: the move has a
standard deviation of ``volatility_bps`` basis points (to within one part in ``u``) and is
bounded by three times that.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from venuekit.model import Side

from .symbols import SymbolSpec

__all__ = ["Book", "Market", "QuoteReplay", "ReplayQuote"]

ZERO = Decimal(0)
_MILLION = Decimal(1_000_000)
_FAIR_GRID = Decimal("1e-10")  # keeps the fair value's digits bounded over long walks
# Enum members are slow to look up on Python 3.11 (see engine.py): an alias for hot paths.
_BUY = Side.BUY


@dataclass(slots=True, eq=False)
class Book:
    """One symbol's top of book during the current step."""

    spec: SymbolSpec
    fair: Decimal
    bid: Decimal = ZERO
    ask: Decimal = ZERO
    bid_size: Decimal = ZERO
    ask_size: Decimal = ZERO
    # What takers have not consumed yet in this step; refreshed by every step.
    bid_left: Decimal = ZERO
    ask_left: Decimal = ZERO

    def touch(self, side: Side) -> Decimal:
        """The price an order of ``side`` trades against (the ask for a buy)."""
        return self.ask if side is _BUY else self.bid

    def available(self, side: Side) -> Decimal:
        return self.ask_left if side is _BUY else self.bid_left

    def consume(self, side: Side, quantity: Decimal) -> None:
        if side is _BUY:
            self.ask_left -= quantity
        else:
            self.bid_left -= quantity

    def requote(self) -> None:
        """Derive bid and ask from the fair value: ``spread_ticks`` wide, on the grid."""
        spec = self.spec
        half = spec.tick_at(self.fair) * spec.spread_ticks / 2
        bid = spec.floor_price(self.fair - half)
        ask = bid
        for _ in range(spec.spread_ticks):
            ask = spec.ceil_price(ask + spec.tick_at(ask))
        self.bid, self.ask = bid, ask

    def refresh_sizes(self, bid_size: Decimal | None = None,
                      ask_size: Decimal | None = None) -> None:
        self.bid_size = self.spec.size if bid_size is None else bid_size
        self.ask_size = self.spec.size if ask_size is None else ask_size
        self.bid_left, self.ask_left = self.bid_size, self.ask_size


@dataclass(frozen=True, slots=True)
class ReplayQuote:
    """One replayed quote; sizes default to the symbol's displayed size."""

    symbol: str
    bid: Decimal
    ask: Decimal
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None


class QuoteReplay:
    """Quotes read from CSV, grouped into steps.

    Columns: ``time`` (rows with the same value form one step; any text, compared as is),
    ``symbol``, ``bid``, ``ask`` and optionally ``bid_size`` and ``ask_size``. The first
    step is the opening quote; each :meth:`Market.step` moves to the next one. A symbol
    absent from a step keeps its previous quote, and after the last step quotes stay put.
    """

    def __init__(self, steps: Sequence[Sequence[ReplayQuote]]) -> None:
        if not steps:
            raise ValueError("a quote replay needs at least one row")
        self.steps: tuple[tuple[ReplayQuote, ...], ...] = tuple(tuple(s) for s in steps)

    @classmethod
    def from_csv(cls, lines: Iterable[str]) -> QuoteReplay:
        """Parse CSV text (an open file or any iterable of lines)."""
        reader = csv.DictReader(lines)
        missing = {"time", "symbol", "bid", "ask"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"quote CSV lacks column(s): {', '.join(sorted(missing))}")
        steps: list[list[ReplayQuote]] = []
        current_time: str | None = None
        for number, row in enumerate(reader, start=2):
            try:
                quote = ReplayQuote(
                    symbol=row["symbol"].strip(), bid=_decimal(row["bid"]),
                    ask=_decimal(row["ask"]), bid_size=_optional(row.get("bid_size")),
                    ask_size=_optional(row.get("ask_size")))
            except (InvalidOperation, ValueError, AttributeError) as exc:
                raise ValueError(f"quote CSV line {number}: {exc}") from None
            if not quote.symbol or quote.bid <= 0 or quote.ask <= quote.bid:
                raise ValueError(f"quote CSV line {number}: needs a symbol and 0 < bid < ask")
            if row["time"] != current_time or not steps:
                steps.append([])
                current_time = row["time"]
            steps[-1].append(quote)
        return cls(steps)

    @property
    def symbols(self) -> list[str]:
        seen: dict[str, None] = {}
        for step in self.steps:
            for quote in step:
                seen.setdefault(quote.symbol, None)
        return list(seen)


_LARGEST = Decimal(10) ** 15
"""Beyond this a quote is a typo, and the grid arithmetic would overflow the context."""


def _decimal(text: str | None) -> Decimal:
    if text is None:
        raise ValueError("missing value")
    value = Decimal(text.strip())
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    if abs(value) >= _LARGEST:
        raise ValueError(f"{text!r} is out of range (prices and sizes stay below 1e15)")
    return value


def _optional(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    return _decimal(text)


class Market:
    """Every symbol's book, moved one step at a time by a random walk or a replay."""

    def __init__(self, specs: Sequence[SymbolSpec], rng: random.Random,
                 replay: QuoteReplay | None = None) -> None:
        self.books: dict[str, Book] = {}
        for spec in specs:
            if spec.symbol in self.books:
                raise ValueError(f"symbol {spec.symbol} is listed twice")
            book = Book(spec, spec.price)
            book.requote()
            book.refresh_sizes()
            self.books[spec.symbol] = book
        self._rng = rng
        self._replay = replay
        self._replay_step = 0
        # Volatility in parts per million, per symbol, computed once.
        self._ppm = {s.symbol: int(s.volatility_bps * 100) for s in specs}
        if replay is not None:
            unknown = set(replay.symbols) - set(self.books)
            if unknown:
                raise ValueError(f"replayed symbols without a spec: {', '.join(sorted(unknown))}")
            self._apply_replay(replay.steps[0])

    @property
    def replay_exhausted(self) -> bool:
        return self._replay is not None and self._replay_step >= len(self._replay.steps) - 1

    def step(self) -> None:
        """Move every symbol one step and refresh the displayed sizes."""
        if self._replay is not None:
            for book in self.books.values():
                book.refresh_sizes()
            if not self.replay_exhausted:
                self._replay_step += 1
                self._apply_replay(self._replay.steps[self._replay_step])
            return
        randrange = self._rng.randrange
        for symbol, book in self.books.items():
            u = self._ppm[symbol]
            if u:
                # Three independent uniforms on [-u, u] from one draw on their product space.
                width = 2 * u + 1
                first, rest = divmod(randrange(width ** 3), width * width)
                second, third = divmod(rest, width)
                z = first + second + third - 3 * u
                if z:
                    fair = book.fair
                    book.fair = (fair + fair * z / _MILLION).quantize(_FAIR_GRID)
                    book.requote()
            book.bid_size = book.bid_left = book.spec.size
            book.ask_size = book.ask_left = book.spec.size

    def _apply_replay(self, quotes: Iterable[ReplayQuote]) -> None:
        for quote in quotes:
            book = self.books[quote.symbol]
            spec = book.spec
            if not (spec.on_tick(quote.bid) and spec.on_tick(quote.ask)):
                raise ValueError(f"replayed quote {quote.bid}/{quote.ask} for {quote.symbol} "
                                 f"is off the tick grid")
            book.bid, book.ask = quote.bid, quote.ask
            book.fair = (quote.bid + quote.ask) / 2
            book.refresh_sizes(quote.bid_size, quote.ask_size)

    def set_quote(self, symbol: str, bid: Decimal, ask: Decimal,
                  bid_size: Decimal | None = None, ask_size: Decimal | None = None) -> None:
        """Force one symbol's quote until the next step (which walks on from its mid)."""
        book = self.books[symbol]
        if not 0 < bid < ask:
            raise ValueError(f"{symbol}: a quote needs 0 < bid < ask, got {bid}/{ask}")
        if not (book.spec.on_tick(bid) and book.spec.on_tick(ask)):
            raise ValueError(f"{symbol}: {bid}/{ask} is off the tick grid")
        book.bid, book.ask = bid, ask
        book.fair = (bid + ask) / 2
        book.refresh_sizes(bid_size, ask_size)

    def shift(self, symbol: str, delta: Decimal) -> None:
        """Move one symbol's fair value by ``delta`` (permanent market impact) and requote."""
        if not delta:
            return
        book = self.books[symbol]
        floor = book.spec.tick_at(ZERO)
        book.fair = max(floor, book.fair + delta).quantize(_FAIR_GRID)
        book.requote()
