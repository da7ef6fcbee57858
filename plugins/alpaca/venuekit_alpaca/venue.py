"""``AlpacaVenue``: Alpaca's Trading API through alpaca-py, behind the Venue contract.

alpaca-py's REST clients are synchronous (requests); every call runs in a worker thread
of the venue's own pool so the event loop never blocks, and every failure is mapped into
venuekit's taxonomy (:mod:`.errors`). The clients never retry by themselves (:mod:`.sdk`):
venuekit's outcome policy decides. Order updates come from the ``trade_updates``
websocket (:mod:`.stream`), run in the engine's event loop.

Executions come from Alpaca's ``FILL`` account activities (``GET
/v2/account/activities/FILL``, through the client's generic ``get``: alpaca-py 0.44 has
no typed call for it), one per execution. A server that does not serve activities (404)
gets :func:`.convert.fills_from_orders` instead: executions rebuilt from the orders' filled
quantities and average prices, itemized as far as this venue object saw them on the stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Self

from venuekit.errors import Code, ErrorCode, VenueKitError, error
from venuekit.model import (
    Account,
    BracketRequest,
    Fill,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    OrderUpdate,
    Quote,
)
from venuekit.venue import BracketSnapshot, Capabilities, OrderRef, RateLimitPool, Venue

from . import convert, sdk
from .config import AlpacaSettings
from .errors import NotFound, map_exception
from .stream import TradeUpdateStream
from .workers import Workers

__all__ = ["AlpacaVenue"]

log = logging.getLogger("venuekit_alpaca.venue")

_ALPHABET = ("0123456789abcdefghijklmnopqrstuvwxyz"
             "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_")
_SETTINGS = frozenset({"api_key", "secret_key", "base_url", "data_url", "stream_url",
                       "paper", "live", "feed", "timeout", "stream_timeout", "rate_limit"})
_ASSET_TTL = 300.0
ARRIVAL_SLACK = 1.0
"""Seconds added to Alpaca's rate-limit window in the declared pool. venuekit's limiter
counts a request when it lets it go; Alpaca counts it when it arrives, a little later, and
frees it a window after that. Without slack, a full window's burst followed by another at
the very moment the first leaves the limiter's window can still meet a 429."""
_PAGE = 500  # the most orders Alpaca returns in one list
_ACTIVITY_PAGE = 100  # the most activities Alpaca returns in one page


class AlpacaVenue(Venue):
    """Alpaca equities (paper by default). See ``docs/venues/alpaca.md`` for every setting.

    Keyword arguments (all optional; credentials and URLs fall back to Alpaca's usual
    environment variables): ``api_key``, ``secret_key``, ``base_url``, ``data_url``,
    ``stream_url``, ``paper``, ``live``, ``feed``, ``timeout``, ``stream_timeout``,
    ``rate_limit`` (requests per minute, or ``requests/seconds``; Alpaca's default is 200).
    """

    name: ClassVar[str] = "alpaca"
    environment_prefixes: ClassVar[tuple[str, ...]] = ("APCA_",)
    capabilities = Capabilities(
        client_order_ids=True, order_stream=True, replace=True, market_orders=True,
        fractional=True, short_selling=True, notional_orders=True,
        stop_orders=True, stop_limit_orders=True, trailing_stops=True,
        # Alpaca's bracket: the exits are Alpaca's own orders, one cancelling the other,
        # held at the venue (they protect the position while no process runs).
        brackets=True,
        client_order_id_max_length=128, client_order_id_alphabet=_ALPHABET,
        not_found_grace=2.0,
        rate_limits=(RateLimitPool("requests", 200, 60.0 + ARRIVAL_SLACK),),
        weights={"account": {"requests": 2}})

    def __init__(self, **settings: Any) -> None:
        unknown = sorted(set(settings) - _SETTINGS)
        if unknown:
            raise error(Code.INVALID_CONFIG, f"alpaca: unknown setting(s) {', '.join(unknown)}; "
                        f"known: {', '.join(sorted(_SETTINGS))}", venue=self.name)
        self.settings = AlpacaSettings.resolve(**settings)
        requests, period = self.settings.rate_limit
        if (requests, period) != (200, 60.0):
            self.capabilities = replace(self.capabilities, rate_limits=(
                RateLimitPool("requests", requests, period + ARRIVAL_SLACK),))
        self._trading = sdk.trading_client(self.settings)
        self._data = sdk.data_client(self.settings)
        self._assets: dict[str, tuple[float, Instrument | None]] = {}
        self._stream_fills: dict[str, list[Fill]] = {}
        self._activities = True  # until the server shows it does not serve them
        # A pool of its own, wide enough that a call admitted by the rate limiter goes out
        # at once rather than queueing behind others (the venue counts on arrival).
        self._workers: Workers | None = None
        # Streams a consumer may have abandoned without closing: close() ends them.
        self._streams: weakref.WeakSet[TradeUpdateStream] = weakref.WeakSet()
        if self.settings.live:
            log.warning("ALPACA LIVE TRADING: orders will be sent to the live endpoint",
                        extra={"venue": self.name, "base_url": self.settings.base_url})

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, state_dir: Path | None = None) -> Self:
        """Build from CLI options or a config-file table (strings are parsed).

        Alpaca keeps no local state: ``state_dir`` is not used."""
        return cls(**dict(config))

    def __repr__(self) -> str:
        return f"AlpacaVenue({self.settings!r})"

    # lifecycle -----------------------------------------------------------------------
    async def connect(self) -> None:
        """Check that Alpaca answers and accepts the keys (one account read): a venue that
        cannot trade fails here, when it is opened, rather than at its first order."""
        await self._call("connect", self._trading.get_account)

    async def close(self) -> None:
        for stream in list(self._streams):
            await stream.aclose()
        self._streams.clear()
        workers, self._workers = self._workers, None
        if workers is not None:
            workers.close()
        for client in (self._trading, self._data):
            client._session.close()

    async def _call(self, operation: str, func: Callable[..., Any], *args: Any,
                    not_found: ErrorCode = Code.ORDER_NOT_FOUND) -> Any:
        """``func(*args)`` in a worker thread; any failure mapped into the taxonomy."""
        if self._workers is None:
            self._workers = Workers(sdk.WORKERS, "venuekit-alpaca")
        try:
            return await self._workers.run(func, *args)
        except Exception as exc:
            mapped = map_exception(exc, operation, not_found=not_found)
            log.debug("alpaca call failed", extra={"venue": self.name, "operation": operation,
                                                    "code": mapped.code.name})
            raise mapped from None

    # reads ---------------------------------------------------------------------------
    async def instruments(self, symbols: Sequence[str] | None = None) -> Sequence[Instrument]:
        if symbols is None:
            request = sdk.GetAssetsRequest(status=sdk.AssetStatus.ACTIVE,
                                           asset_class=sdk.AssetClass.US_EQUITY)
            assets = await self._call("instruments", self._trading.get_all_assets, request)
            found = [convert.instrument(asset) for asset in assets]
            now = time.monotonic()
            for item in found:
                self._assets[item.symbol] = (now, item)
            return found
        looked_up = await asyncio.gather(*(self._asset(symbol) for symbol in symbols))
        return [item for item in looked_up if item is not None]

    async def _asset(self, symbol: str) -> Instrument | None:
        cached = self._assets.get(symbol)
        if cached is not None and time.monotonic() - cached[0] < _ASSET_TTL:
            return cached[1]
        try:
            asset = await self._call("instruments", self._trading.get_asset, symbol,
                                     not_found=NotFound.SYMBOL)
        except VenueKitError as exc:
            if exc.code is not Code.UNKNOWN_SYMBOL:
                raise
            item = None
        else:
            item = convert.instrument(asset)
        self._assets[symbol] = (time.monotonic(), item)
        return item

    async def quote(self, symbol: str) -> Quote:
        for found in await self.quotes([symbol]):
            return found
        raise error(Code.UNKNOWN_SYMBOL, f"Alpaca has no quote for {symbol!r}",
                    venue=self.name)

    async def quotes(self, symbols: Sequence[str]) -> Sequence[Quote]:
        """Latest quotes of ``symbols`` in one request (unknown symbols are omitted)."""
        if not symbols:
            return []
        feed = sdk.DataFeed(self.settings.feed) if self.settings.feed else None
        request = sdk.StockLatestQuoteRequest(symbol_or_symbols=list(symbols), feed=feed)
        try:
            found = await self._call("quote", self._data.get_stock_latest_quote, request,
                                     not_found=NotFound.SYMBOL)
        except VenueKitError as exc:
            if exc.code is Code.UNKNOWN_SYMBOL:
                return []
            raise
        if not isinstance(found, dict):
            raise error(Code.VENUE_ERROR, "Alpaca's latest quotes answer is not a mapping",
                        venue=self.name)
        return [convert.quote(symbol, found[symbol]) for symbol in symbols if symbol in found]

    async def account(self) -> Account:
        trade_account, positions = await asyncio.gather(
            self._call("account", self._trading.get_account),
            self._call("account", self._trading.get_all_positions))
        return convert.account(trade_account, positions)

    async def fetch_order(self, ref: OrderRef) -> OrderSnapshot:
        venue_order_id = _order_id(ref)
        if venue_order_id:
            order = await self._call("fetch_order", self._trading.get_order_by_id,
                                     venue_order_id)
        elif ref.client_order_id:
            order = await self._call("fetch_order", self._trading.get_order_by_client_id,
                                     ref.client_order_id)
        else:
            raise error(Code.ORDER_NOT_FOUND, f"{ref.venue_order_id!r} is not an Alpaca order "
                        "id (Alpaca names orders by UUID)", venue=self.name)
        return convert.snapshot(order)

    async def _orders(self, operation: str, status: Any, *, after: datetime | None = None,
                      symbol: str | None = None) -> list[Any]:
        """Every order of a listing, paging forward by submission time."""
        out: list[Any] = []
        seen: set[str] = set()
        while True:
            request = sdk.GetOrdersRequest(status=status, limit=_PAGE, after=after,
                                           direction=sdk.Sort.ASC,
                                           symbols=[symbol] if symbol else None)
            page = await self._call(operation, self._trading.get_orders, request)
            fresh = [order for order in page if str(order.id) not in seen]
            out.extend(fresh)
            seen.update(str(order.id) for order in fresh)
            if len(page) < _PAGE or not fresh:
                return out
            # ``after`` is exclusive at Alpaca; a tie on the last time is kept by ``seen``.
            after = max(order.submitted_at for order in page) - timedelta(microseconds=1)

    async def open_orders(self, symbol: str | None = None) -> Sequence[OrderSnapshot]:
        orders = await self._orders("open_orders", sdk.QueryOrderStatus.OPEN, symbol=symbol)
        return [convert.snapshot(order) for order in orders]

    async def recent_orders(self, since: datetime) -> Sequence[OrderSnapshot]:
        orders = await self._orders("recent_orders", sdk.QueryOrderStatus.ALL, after=since)
        return [convert.snapshot(order) for order in orders]

    async def fills_since(self, since: datetime, symbol: str | None = None) -> Sequence[Fill]:
        if self._activities:
            try:
                fills = await self._activity_fills(since)
            except VenueKitError as exc:
                if exc.code is not Code.CAPABILITY_NOT_SUPPORTED:
                    raise
                self._activities = False
                log.info("the server has no account activities; rebuilding fills from orders",
                         extra={"venue": self.name})
            else:
                return [f for f in fills if symbol is None or f.symbol == symbol]
        orders = await self._orders("fills_since", sdk.QueryOrderStatus.ALL, after=since,
                                    symbol=symbol)
        return convert.fills_from_orders(orders, since, self._stream_fills)

    async def _activity_fills(self, since: datetime) -> list[Fill]:
        fills: list[Fill] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"after": since.isoformat(), "direction": "asc",
                                      "page_size": _ACTIVITY_PAGE}
            if token:
                params["page_token"] = token
            page = await self._call("fills_since", self._trading.get,
                                    "/account/activities/FILL", params,
                                    not_found=Code.CAPABILITY_NOT_SUPPORTED)
            if not isinstance(page, list):
                raise error(Code.VENUE_ERROR, "Alpaca's activities answer is not a list",
                            venue=self.name)
            fills.extend(convert.fill_from_activity(item) for item in page)
            if len(page) < _ACTIVITY_PAGE:
                return fills
            token = str(page[-1]["id"])

    def order_updates(self) -> AsyncIterator[OrderUpdate]:
        """A new connection to the ``trade_updates`` stream (see :mod:`.stream`)."""
        stream = TradeUpdateStream(self.settings, on_update=self._remember)
        self._streams.add(stream)
        return stream

    def _remember(self, update: OrderUpdate) -> None:
        fill = update.fill
        if fill is not None and fill.venue_order_id:
            known = self._stream_fills.setdefault(fill.venue_order_id, [])
            if all(f.trade_id != fill.trade_id for f in known):
                known.append(fill)

    # actions -------------------------------------------------------------------------
    async def submit(self, request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        instrument = self._assets.get(request.symbol, (0.0, None))[1]
        body = convert.order_fields(request, client_order_id, instrument)
        snapshot: OrderSnapshot = await self._call("submit", self._create, body)
        log.debug("order accepted", extra={"venue": self.name,
                                           "venue_order_id": snapshot.venue_order_id,
                                           "client_order_id": client_order_id})
        return snapshot

    def _create(self, body: dict[str, Any]) -> OrderSnapshot:
        """``POST /v2/orders`` and its answer read, in a worker thread.

        The body is posted through the client as alpaca-py's ``submit_order`` would post
        its request model's fields, and the answer is read straight from its JSON: the same
        request and the same reading, without building alpaca-py's request and order
        models on the way (:mod:`.convert`). Reading it here, where the answer arrived,
        lets the event loop resume with the snapshot in hand.
        """
        answer = self._trading.post("/orders", body)
        if not isinstance(answer, Mapping):
            raise error(Code.VENUE_ERROR, "Alpaca's answer to an order is not an order",
                        venue=self.name)
        return convert.snapshot(answer)

    async def submit_bracket(self, bracket: BracketRequest,
                             client_order_id: str) -> BracketSnapshot:
        instrument = self._assets.get(bracket.entry.symbol, (0.0, None))[1]
        body = convert.bracket_fields(bracket, client_order_id, instrument)
        answer: BracketSnapshot = await self._call("submit", self._create_bracket, body)
        return answer

    def _create_bracket(self, body: dict[str, Any]) -> BracketSnapshot:
        """``POST /v2/orders`` with ``order_class`` bracket; the answer names the legs."""
        answer = self._trading.post("/orders", body)
        if not isinstance(answer, Mapping):
            raise error(Code.VENUE_ERROR, "Alpaca's answer to a bracket is not an order",
                        venue=self.name)
        return convert.bracket(answer)

    async def fetch_bracket(self, ref: OrderRef) -> BracketSnapshot:
        venue_order_id = _order_id(ref)
        if venue_order_id is None:
            venue_order_id = (await self.fetch_order(ref)).venue_order_id
        answer: BracketSnapshot = await self._call("fetch_order", self._nested,
                                                   venue_order_id)
        return answer

    def _nested(self, venue_order_id: str) -> BracketSnapshot:
        """``GET /v2/orders/{id}?nested=true``: the order with its legs."""
        answer = self._trading.get(f"/orders/{venue_order_id}", {"nested": True})
        if not isinstance(answer, Mapping):
            raise error(Code.VENUE_ERROR, "Alpaca's answer to an order lookup is not an "
                        "order", venue=self.name)
        return convert.bracket(answer)

    async def cancel(self, ref: OrderRef) -> OrderSnapshot | None:
        venue_order_id = _order_id(ref)
        if venue_order_id is None:
            venue_order_id = (await self.fetch_order(ref)).venue_order_id
        await self._call("cancel", self._trading.cancel_order_by_id, venue_order_id)
        return None  # Alpaca answers 204 without a body; the stream and polls tell the end

    async def replace(self, ref: OrderRef, *, quantity: Decimal | None = None,
                      limit_price: Decimal | None = None,
                      client_order_id: str | None = None) -> OrderSnapshot:
        fields: dict[str, Any] = {}
        if quantity is not None:
            if quantity != quantity.to_integral_value():
                raise error(Code.INVALID_QUANTITY, f"Alpaca replaces whole quantities only; "
                            f"{quantity} is fractional", venue=self.name)
            fields["qty"] = int(quantity)
        if limit_price is not None:
            fields["limit_price"] = convert.wire_number(limit_price, "limit price",
                                                        Code.INVALID_PRICE)
        if client_order_id is not None:
            fields["client_order_id"] = client_order_id
        venue_order_id = _order_id(ref)
        if venue_order_id is None:
            venue_order_id = (await self.fetch_order(ref)).venue_order_id
        order = await self._call("replace", self._trading.replace_order_by_id, venue_order_id,
                                 sdk.ReplaceOrderRequest(**fields))
        return convert.snapshot(order)


def _order_id(ref: OrderRef) -> str | None:
    """``ref``'s venue order id when it can be an Alpaca order id (a UUID), else None."""
    if ref.venue_order_id is None:
        return None
    try:
        return str(uuid.UUID(ref.venue_order_id))
    except ValueError:
        return None
