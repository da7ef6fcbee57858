"""The public endpoints: ``ping``, ``time``, ``exchangeInfo``, ``depth``, ``ticker/24hr``,
``ticker/bookTicker``, ``ticker/price`` and ``avgPrice``, plus what a ccxt client left with
its default options asks for while loading markets.

Market data comes from the mock venue's quotes (through its pipeline, so latency and
injected faults apply; an injected authentication failure does not, public data needing no
key). The book is the simulated touch: one level a side, its size what is left to trade
this step. The 24-hour ticker opens at the symbol's starting price and counts the
account's own trades (the only trades the simulated venue has).

For default-option ccxt clients: ``/sapi/v1/capital/config/getall``,
``/sapi/v1/margin/allPairs`` and ``/sapi/v1/margin/isolated/allPairs`` answer ``[]``,
``/fapi/v1/exchangeInfo`` and ``/dapi/v1/exchangeInfo`` an exchangeInfo without symbols,
``/sapi/v1/system/status`` ``{"status": 0, "msg": "normal"}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from venuekit.errors import Code, VenueKitError
from venuekit_mock.sim import Book, SymbolSpec

from . import errors
from .checks import ORDER_TYPES
from .jsonio import amount, millis
from .params import Params
from .state import EmulatorState
from .symbols import QUOTE, filters
from .views import BinanceView

__all__ = ["MarketData", "depth_weight", "ticker_weight"]

ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_PERCENT = Decimal("0.001")
_DAY_MS = 86_400_000
_STP_MODES = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT"]


def depth_weight(params: Params) -> int:
    limit = params.integer("limit") or 100
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def ticker_weight(params: Params, *, one: int, many: int, all_: int) -> int:
    if "symbol" in params:
        return one
    listed = params.symbols()
    if listed is None:
        return all_
    return many if len(listed) <= 20 else 40 if len(listed) <= 100 else all_


def symbol_info(spec: SymbolSpec) -> dict[str, Any]:
    """One exchangeInfo symbol, its filters derived from ``spec`` (see :mod:`.symbols`)."""
    rules = filters(spec)
    lots = {"minQty": amount(rules.min_qty), "maxQty": amount(rules.max_qty),
            "stepSize": amount(rules.step_size)}
    return {
        "symbol": spec.symbol, "status": "TRADING" if spec.tradable else "BREAK",
        "baseAsset": spec.base_currency, "baseAssetPrecision": 8, "quoteAsset": QUOTE,
        "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8, "orderTypes": list(ORDER_TYPES),
        "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False,
        "opoAllowed": False, "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False, "cancelReplaceAllowed": True, "amendAllowed": False,
        "pegInstructionsAllowed": False, "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": amount(rules.min_price),
             "maxPrice": amount(rules.max_price), "tickSize": amount(rules.tick_size)},
            {"filterType": "LOT_SIZE", **lots},
            {"filterType": "MARKET_LOT_SIZE", **lots},
            {"filterType": "NOTIONAL", "minNotional": amount(rules.min_notional),
             "applyMinToMarket": True, "maxNotional": amount(rules.max_notional),
             "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": _STP_MODES,
    }


class MarketData:
    """The public handlers."""

    def __init__(self, state: EmulatorState, view: BinanceView) -> None:
        self.state = state
        self.view = view

    @property
    def _books(self) -> dict[str, Book]:
        books: dict[str, Book] = self.state.venue.simulator.market.books
        return books

    async def _through_venue(self, symbols: Sequence[str]) -> None:
        """One market-data request through the venue's pipeline (latency, faults)."""
        try:
            await self.state.venue.quotes(list(symbols))
        except VenueKitError as exc:
            if exc.code is not Code.AUTHENTICATION_FAILED:
                raise

    def _chosen(self, params: Params) -> tuple[list[str], bool]:
        """The symbols asked for, and whether one was asked for alone."""
        books = self._books
        symbol = params.text("symbol")
        if symbol is not None:
            if symbol not in books:
                raise errors.invalid_symbol()
            return [symbol], True
        listed = params.symbols()
        if listed is None:
            return list(books), False
        if any(s not in books for s in listed):
            raise errors.invalid_symbol()
        return listed, False

    # general -------------------------------------------------------------------------
    async def ping(self, params: Params) -> dict[str, Any]:
        return {}

    async def time(self, params: Params) -> dict[str, Any]:
        return {"serverTime": self.state.server_ms()}

    def exchange_info_body(self, specs: Sequence[SymbolSpec]) -> dict[str, Any]:
        return {"timezone": "UTC", "serverTime": self.state.server_ms(),
                "rateLimits": self.state.limiter.rate_limits(), "exchangeFilters": [],
                "symbols": [symbol_info(spec) for spec in specs]}

    async def exchange_info(self, params: Params) -> dict[str, Any]:
        symbols, _ = self._chosen(params)
        try:
            await self.state.venue.instruments()
        except VenueKitError as exc:
            if exc.code is not Code.AUTHENTICATION_FAILED:
                raise
        return self.exchange_info_body([self._books[s].spec for s in symbols])

    async def empty_exchange_info(self, params: Params) -> dict[str, Any]:
        body = self.exchange_info_body([])
        body["assets"] = []
        return body

    async def empty_list(self, params: Params) -> list[Any]:
        return []

    async def system_status(self, params: Params) -> dict[str, Any]:
        return {"status": 0, "msg": "normal"}

    # market data ---------------------------------------------------------------------
    async def depth(self, params: Params) -> dict[str, Any]:
        if "symbol" not in params:
            raise errors.mandatory("symbol")
        symbols, _ = self._chosen(params)
        await self._through_venue(symbols)
        book = self._books[symbols[0]]
        sim = self.state.venue.simulator
        return {"lastUpdateId": sim.step_index * 1_000 + len(sim.ledger.fills) + 1,
                "bids": [[amount(book.bid), amount(book.bid_left)]],
                "asks": [[amount(book.ask), amount(book.ask_left)]]}

    def _book_ticker(self, symbol: str) -> dict[str, Any]:
        book = self._books[symbol]
        return {"symbol": symbol, "bidPrice": amount(book.bid), "bidQty": amount(book.bid_left),
                "askPrice": amount(book.ask), "askQty": amount(book.ask_left)}

    async def book_ticker(self, params: Params) -> Any:
        symbols, alone = self._chosen(params)
        await self._through_venue(symbols)
        rows = [self._book_ticker(s) for s in symbols]
        return rows[0] if alone else rows

    async def price(self, params: Params) -> Any:
        symbols, alone = self._chosen(params)
        await self._through_venue(symbols)
        rows = [{"symbol": s, "price": amount(self._last(s)[0])} for s in symbols]
        return rows[0] if alone else rows

    async def average_price(self, params: Params) -> dict[str, Any]:
        symbols, alone = self._chosen(params)
        if not alone:
            raise errors.mandatory("symbol")
        await self._through_venue(symbols)
        book = self._books[symbols[0]]
        return {"mins": 5, "price": amount((book.bid + book.ask) / 2),
                "closeTime": millis(self.state.venue.simulator.now())}

    def _last(self, symbol: str) -> tuple[Decimal, Decimal]:
        """The last price and quantity: the account's last trade, or the mid."""
        fills = self.state.venue.simulator.ledger.fills
        for fill in reversed(fills):
            if fill.symbol == symbol:
                return fill.price, fill.quantity
        book = self._books[symbol]
        return ((book.bid + book.ask) / 2).quantize(book.spec.tick_size, ROUND_HALF_UP), ZERO

    def _ticker(self, symbol: str) -> dict[str, Any]:
        book = self._books[symbol]
        spec = book.spec
        trades = [i for i, f in enumerate(self.state.venue.simulator.ledger.fills)
                  if f.symbol == symbol]
        fills = [self.view.fill(i) for i in trades]
        last, last_qty = self._last(symbol)
        volume = sum((f.quantity for f in fills), ZERO)
        quote_volume = sum((f.quantity * f.price for f in fills), ZERO)
        prices = [spec.price, last, *(f.price for f in fills)]
        change = last - spec.price
        close = self.state.server_ms()
        return {
            "symbol": symbol, "priceChange": amount(change),
            "priceChangePercent": format((change * _HUNDRED / spec.price).quantize(
                _PERCENT, ROUND_HALF_UP), "f"),
            "weightedAvgPrice": amount(quote_volume / volume if volume else last),
            "prevClosePrice": amount(spec.price), "lastPrice": amount(last),
            "lastQty": amount(last_qty), "bidPrice": amount(book.bid),
            "bidQty": amount(book.bid_left), "askPrice": amount(book.ask),
            "askQty": amount(book.ask_left), "openPrice": amount(spec.price),
            "highPrice": amount(max(prices)), "lowPrice": amount(min(prices)),
            "volume": amount(volume), "quoteVolume": amount(quote_volume),
            "openTime": close - _DAY_MS, "closeTime": close,
            "firstId": fills[0].trade_id if fills else -1,
            "lastId": fills[-1].trade_id if fills else -1, "count": len(fills)}

    async def ticker_24hr(self, params: Params) -> Any:
        symbols, alone = self._chosen(params)
        await self._through_venue(symbols)
        rows = [self._ticker(s) for s in symbols]
        return rows[0] if alone else rows
