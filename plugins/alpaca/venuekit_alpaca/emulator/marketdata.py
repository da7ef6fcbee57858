"""The market-data API for stocks, from the price history (:mod:`.prices`) and the books.

Served on the data URL, as Alpaca's ``data.alpaca.markets`` serves them (numbers are JSON
numbers, written from Decimals with their exact digits):

* latest trade, bar and quote of one symbol (``/v2/stocks/{symbol}/trades/latest``, ...)
  or many (``/v2/stocks/trades/latest?symbols=``, ...); the latest trade prints at the
  current mid and the latest bar is the current minute's, so both sit at the quote;
* historical bars (``/v2/stocks/bars``, ``/v2/stocks/{symbol}/bars``: ``timeframe``
  ``[1-59]Min``, ``[1-23]Hour``, ``1Day``, ``1Week``, ``[1,2,3,4,6,12]Month``, ``start``,
  ``end``, ``limit``, ``sort``, ``page_token``) and quotes (``/v2/stocks/quotes``, one per
  minute), paged with ``next_page_token``;
* snapshots (``/v2/stocks/snapshots?symbols=``, ``/v2/stocks/{symbol}/snapshot``).

Bars are stamped at the start of their interval: minutes and hours on the UTC grid, days,
weeks and months at midnight New York time, as Alpaca stamps them. ``feed``, ``adjustment``
and ``asof`` are accepted and change nothing: the emulator has one feed and no corporate
actions. Unknown symbols are left out of the answers for many symbols; for one symbol a
latest value or snapshot of an unknown symbol is a 404.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from venuekit.model import Quote

from . import errors, payloads
from .prices import Span, minute_of, moment
from .rest import json_response
from .sessions import eastern_date, eastern_midnight
from .state import EmulatorState

__all__ = ["MarketDataApi", "Timeframe"]

_FEEDS = frozenset({"iex", "sip", "delayed_sip", "otc", "boats", "overnight"})
_LIMIT_DEFAULT, _LIMIT_MAX = 1000, 10_000
_PLACES = Decimal("0.0001")
_TIMEFRAME = re.compile(r"^(\d+)(Min|T|Hour|H|Day|D|Week|W|Month|M)$")
_UNITS = {"T": "Min", "H": "Hour", "D": "Day", "W": "Week", "M": "Month"}
_MONTHS = (1, 2, 3, 4, 6, 12)

Item = tuple[datetime, dict[str, Any]]


def bad_request(message: str) -> errors.AlpacaError:
    return errors.AlpacaError.of(400, errors.INVALID, message)


class Timeframe:
    """A bar interval: ``amount`` of ``unit`` (``Min``, ``Hour``, ``Day``, ``Week`` or
    ``Month``), and the intervals' starts around a moment."""

    def __init__(self, text: str) -> None:
        match = _TIMEFRAME.match(text)
        if match is None:
            raise bad_request(f"invalid timeframe {text!r}")
        amount, unit = int(match[1]), _UNITS.get(match[2], match[2])
        valid = {"Min": 1 <= amount <= 59, "Hour": 1 <= amount <= 23, "Day": amount == 1,
                 "Week": amount == 1, "Month": amount in _MONTHS}[unit]
        if not valid:
            raise bad_request(f"invalid timeframe {text!r}")
        self.amount, self.unit = amount, unit
        self.minutes = amount * (60 if unit == "Hour" else 1) if unit in ("Min", "Hour") else 0

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def floor(self, at: datetime) -> datetime:
        """The start of the interval that contains ``at``."""
        if self.minutes:
            return moment(minute_of(at) // self.minutes * self.minutes)
        day = eastern_date(at)
        if self.unit == "Week":
            day -= timedelta(days=day.weekday())
        elif self.unit == "Month":
            day = date(day.year, (day.month - 1) // self.amount * self.amount + 1, 1)
        return eastern_midnight(day)

    def following(self, start: datetime) -> datetime:
        """The start of the interval after the one starting at ``start``."""
        if self.minutes:
            return start + timedelta(minutes=self.minutes)
        day = eastern_date(start)
        if self.unit == "Day":
            return eastern_midnight(day + timedelta(days=1))
        if self.unit == "Week":
            return eastern_midnight(day + timedelta(days=7))
        month = day.month - 1 + self.amount
        return eastern_midnight(date(day.year + month // 12, month % 12 + 1, 1))

    def preceding(self, start: datetime) -> datetime:
        """The start of the interval before the one starting at ``start``."""
        return self.floor(start - timedelta(minutes=1))

    def starts(self, first: datetime, last: datetime, descending: bool = False
               ) -> Iterator[datetime]:
        """The interval starts from ``first`` to ``last`` (both included), in order."""
        if descending:
            at = self.floor(last)
            while at >= first:
                yield at
                at = self.preceding(at)
            return
        at = self.floor(first)
        if at < first:
            at = self.following(at)
        while at <= last:
            yield at
            at = self.following(at)


def _when(text: str, key: str) -> datetime:
    """An RFC 3339 time or a date (midnight UTC), as Alpaca's data API takes them."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise bad_request(f"invalid {key} {text!r}: expected RFC 3339 or YYYY-MM-DD") \
            from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bar_json(at: datetime, span: Span) -> dict[str, Any]:
    """A bar as the data API sends it: ``t``, ``o``, ``h``, ``l``, ``c``, ``v``, ``n`` and
    ``vw`` (a volume-weighted price, which lies between the low and the high)."""
    typical = ((span.high + span.low + span.close) / 3).quantize(_PLACES)
    return {"t": _stamp(at), "o": span.open, "h": span.high, "l": span.low,
            "c": span.close, "v": span.volume, "n": max(1, span.volume // 100),
            "vw": typical}


def _quote_json(at: datetime, bid: Decimal, ask: Decimal, size: Decimal) -> dict[str, Any]:
    return {"t": payloads.timestamp(at), "ax": "V", "ap": ask, "as": size, "bx": "V",
            "bp": bid, "bs": size, "c": ["R"], "z": "C"}


def _token(symbol: str, at: datetime) -> str:
    text = f"{symbol}|{payloads.timestamp(at)}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def _untoken(text: str) -> tuple[str, datetime]:
    try:
        symbol, _, stamp = base64.urlsafe_b64decode(text.encode()).decode().partition("|")
        return symbol, datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request("invalid page_token") from None


class _Window:
    """The common query of the historical endpoints: time range, order, page."""

    def __init__(self, query: Any, now: datetime) -> None:
        feed = query.get("feed")
        if feed is not None and feed not in _FEEDS:
            raise bad_request(f"invalid feed {feed!r}")
        if query.get("currency", "USD") != "USD":
            raise bad_request("the venuekit emulator quotes in USD only")
        sort = query.get("sort", "asc")
        if sort not in ("asc", "desc"):
            raise bad_request(f"invalid sort {sort!r}: asc or desc")
        self.descending = sort == "desc"
        try:
            self.limit = int(query.get("limit") or _LIMIT_DEFAULT)
        except ValueError:
            raise bad_request(f"invalid limit {query.get('limit')!r}") from None
        if not 1 <= self.limit <= _LIMIT_MAX:
            raise bad_request(f"limit must be between 1 and {_LIMIT_MAX}")
        self.start = (_when(query["start"], "start") if "start" in query
                      else eastern_midnight(eastern_date(now)))
        self.end = min(_when(query["end"], "end"), now) if "end" in query else now
        if self.start > self.end and "end" in query:
            raise bad_request("end must not be before start")
        token = query.get("page_token")
        self.resume = _untoken(token) if token else None

    def page(self, symbols: list[str],
             items: Callable[[str, datetime, datetime], Iterator[Item]]
             ) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
        """Up to ``limit`` items, symbol after symbol, and the token of the next page.
        ``items(symbol, first, last)`` yields a symbol's items in the window's order."""
        taken: dict[str, list[dict[str, Any]]] = {}
        count = 0
        for symbol in sorted(set(symbols)):
            first, last = self.start, self.end
            if self.resume is not None:
                resume_symbol, resume_at = self.resume
                if symbol < resume_symbol:
                    continue
                if symbol == resume_symbol:
                    first, last = ((first, min(last, resume_at)) if self.descending
                                   else (max(first, resume_at), last))
            for at, item in items(symbol, first, last):
                if count == self.limit:
                    return taken, _token(symbol, at)
                taken.setdefault(symbol, []).append(item)
                count += 1
        return taken, None


def _symbols(request: web.Request) -> list[str]:
    symbols = [s.strip() for s in request.query.get("symbols", "").split(",") if s.strip()]
    if not symbols:
        raise bad_request("symbols is required")
    return symbols


class MarketDataApi:
    """The stock market-data handlers of one emulator."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.venue = state.venue

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/v2/stocks/bars", self.bars),
            web.get("/v2/stocks/bars/latest", self.latest_bars),
            web.get("/v2/stocks/trades/latest", self.latest_trades),
            web.get("/v2/stocks/quotes", self.quotes),
            web.get("/v2/stocks/snapshots", self.snapshots),
            web.get("/v2/stocks/{symbol}/bars", self.symbol_bars),
            web.get("/v2/stocks/{symbol}/bars/latest", self.symbol_latest_bar),
            web.get("/v2/stocks/{symbol}/trades/latest", self.symbol_latest_trade),
            web.get("/v2/stocks/{symbol}/quotes", self.symbol_quotes),
            web.get("/v2/stocks/{symbol}/quotes/latest", self.symbol_latest_quote),
            web.get("/v2/stocks/{symbol}/snapshot", self.symbol_snapshot),
        ]

    # what the handlers share ---------------------------------------------------------
    def _now(self) -> datetime:
        """The simulator's time, after recording the current quotes into the history."""
        sim = self.venue.simulator
        now: datetime = sim.now()
        self.state.history.observe_books(sim.market.books, now)
        return now

    def _known(self, symbols: list[str]) -> list[str]:
        books = self.venue.simulator.market.books
        return [s for s in dict.fromkeys(symbols) if s in books]

    def _one(self, request: web.Request) -> str:
        symbol = request.match_info["symbol"]
        if symbol not in self.venue.simulator.market.books:
            raise errors.not_found(f"no data found for {symbol}")
        return symbol

    async def _quotes(self, symbols: list[str]) -> dict[str, Quote]:
        """The current quotes (through the venue, whose latency and faults apply)."""
        return {q.symbol: q for q in await self.venue.quotes(symbols)}

    def _bar_items(self, timeframe: Timeframe, descending: bool, now: datetime
                   ) -> Callable[[str, datetime, datetime], Iterator[Item]]:
        history = self.state.history
        current = minute_of(now) + 1

        def items(symbol: str, first: datetime, last: datetime) -> Iterator[Item]:
            for at in timeframe.starts(max(first, moment(history.first_minute)), last,
                                       descending):
                end = min(minute_of(timeframe.following(at)), current)
                span = history.span(symbol, minute_of(at), end)
                if span is not None:
                    yield at, bar_json(at, span)
        return items

    def _quote_items(self, descending: bool
                     ) -> Callable[[str, datetime, datetime], Iterator[Item]]:
        history = self.state.history
        books = self.venue.simulator.market.books

        def items(symbol: str, first: datetime, last: datetime) -> Iterator[Item]:
            minutes = range(max(minute_of(first) - 1, history.first_minute),
                            minute_of(last) + 1)
            for minute in reversed(minutes) if descending else minutes:
                found = history.quote_at(symbol, minute)
                if found is not None and first <= found[2] <= last:
                    bid, ask, at = found
                    yield at, _quote_json(at, bid, ask, books[symbol].spec.size)
        return items

    def _latest_trade(self, symbol: str) -> dict[str, Any]:
        """The last print: at the mid of the last quote recorded."""
        seen = self.state.history.last_seen[symbol]
        micros = (seen.at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        return {"t": payloads.timestamp(seen.at), "x": "V", "p": (seen.bid + seen.ask) / 2,
                "s": 100, "c": ["@"], "i": micros, "z": "C"}

    def _latest_bar(self, symbol: str, now: datetime) -> dict[str, Any] | None:
        minute = minute_of(now)
        span = self.state.history.span(symbol, minute, minute + 1)
        return None if span is None else bar_json(moment(minute), span)

    def _snapshot(self, symbol: str, now: datetime, quote: Quote | None) -> dict[str, Any]:
        history = self.state.history
        current = minute_of(now) + 1
        today = eastern_date(now)
        daily = history.span(symbol, minute_of(eastern_midnight(today)), current)
        previous = None
        day = today
        while previous is None and eastern_midnight(day) > moment(history.first_minute):
            day -= timedelta(days=1)
            previous = history.span(symbol, minute_of(eastern_midnight(day)),
                                    minute_of(eastern_midnight(day + timedelta(days=1))))
        return {
            "latestTrade": self._latest_trade(symbol),
            "latestQuote": payloads.quote(quote) if quote is not None else None,
            "minuteBar": self._latest_bar(symbol, now),
            "dailyBar": None if daily is None else bar_json(eastern_midnight(today), daily),
            "prevDailyBar": None if previous is None
            else bar_json(eastern_midnight(day), previous),
        }

    # historical ----------------------------------------------------------------------
    def _bars_page(self, request: web.Request, symbols: list[str]
                   ) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
        if "timeframe" not in request.query:
            raise bad_request("timeframe is required")
        timeframe = Timeframe(request.query["timeframe"])
        now = self._now()
        window = _Window(request.query, now)
        return window.page(self._known(symbols),
                           self._bar_items(timeframe, window.descending, now))

    async def bars(self, request: web.Request) -> web.Response:
        bars, token = self._bars_page(request, _symbols(request))
        return json_response({"bars": bars, "next_page_token": token})

    async def symbol_bars(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        bars, token = self._bars_page(request, [symbol])
        return json_response({"bars": bars.get(symbol, []), "symbol": symbol,
                              "next_page_token": token})

    def _quotes_page(self, request: web.Request, symbols: list[str]
                     ) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
        window = _Window(request.query, self._now())
        return window.page(self._known(symbols), self._quote_items(window.descending))

    async def quotes(self, request: web.Request) -> web.Response:
        quotes, token = self._quotes_page(request, _symbols(request))
        return json_response({"quotes": quotes, "next_page_token": token})

    async def symbol_quotes(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        quotes, token = self._quotes_page(request, [symbol])
        return json_response({"quotes": quotes.get(symbol, []), "symbol": symbol,
                              "next_page_token": token})

    # latest --------------------------------------------------------------------------
    async def latest_trades(self, request: web.Request) -> web.Response:
        symbols = self._known(_symbols(request))
        await self._quotes(symbols)
        self._now()
        return json_response({"trades": {s: self._latest_trade(s) for s in symbols}})

    async def symbol_latest_trade(self, request: web.Request) -> web.Response:
        symbol = self._one(request)
        await self._quotes([symbol])
        self._now()
        return json_response({"symbol": symbol, "trade": self._latest_trade(symbol)})

    async def latest_bars(self, request: web.Request) -> web.Response:
        symbols = self._known(_symbols(request))
        await self._quotes(symbols)
        now = self._now()
        bars = {s: self._latest_bar(s, now) for s in symbols}
        return json_response({"bars": {s: b for s, b in bars.items() if b is not None}})

    async def symbol_latest_bar(self, request: web.Request) -> web.Response:
        symbol = self._one(request)
        await self._quotes([symbol])
        return json_response({"symbol": symbol, "bar": self._latest_bar(symbol, self._now())})

    async def symbol_latest_quote(self, request: web.Request) -> web.Response:
        symbol = self._one(request)
        quote = (await self._quotes([symbol]))[symbol]
        return json_response({"symbol": symbol, "quote": payloads.quote(quote)})

    # snapshots -----------------------------------------------------------------------
    async def snapshots(self, request: web.Request) -> web.Response:
        symbols = self._known(_symbols(request))
        quotes = await self._quotes(symbols)
        now = self._now()
        return json_response({s: self._snapshot(s, now, quotes.get(s)) for s in symbols})

    async def symbol_snapshot(self, request: web.Request) -> web.Response:
        symbol = self._one(request)
        quotes = await self._quotes([symbol])
        snapshot = self._snapshot(symbol, self._now(), quotes.get(symbol))
        return json_response({"symbol": symbol, **snapshot})
