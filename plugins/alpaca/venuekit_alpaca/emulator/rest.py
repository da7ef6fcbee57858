"""The REST endpoints: trading API v2 (orders, account, positions, assets, clock) and the
market-data latest quote, served from one :class:`~venuekit_mock.MockVenue`.

Every handler goes through the mock venue's public methods, so the venue's latency,
eventual consistency and injected faults apply to each call exactly as they apply to the
mock venue. Handlers raise :class:`~.errors.AlpacaError` for refusals the emulator makes
itself; a :class:`~venuekit.errors.VenueKitError` from the venue is turned into Alpaca's
answer (or into a wire fault) by the server's middleware.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from pydantic import ValidationError as ModelError

from venuekit.errors import Code, VenueKitError
from venuekit.model import OrderRequest, OrderType, Side, TimeInForce
from venuekit.venue import OrderRef
from venuekit_mock.sim import OrderView

from . import auctions, errors, order_classes, payloads, triggers
from .jsonio import body_decimal, dumps, loads, number_text
from .state import EmulatorState

__all__ = ["RestApi"]

ZERO = Decimal(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TYPES = {kind.value: kind for kind in OrderType}
_UNSUPPORTED_TYPES: set[str] = set()
_TIFS = {"day": TimeInForce.DAY, "gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC,
         "fok": TimeInForce.FOK, **auctions.TIME_IN_FORCE}
_UNSUPPORTED_FIELDS = ("legs",)
_CLIENT_ID_MAX = 128
_LIST_DEFAULT, _LIST_MAX = 50, 500


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type="application/json")


def _choice(body: Mapping[str, Any], key: str, known: Mapping[str, Any],
            unsupported: set[str], default: str | None = None) -> Any:
    value = body.get(key, default)
    if value is None:
        raise errors.invalid(f"{key} is required")
    text = str(value).lower()
    if text in unsupported:
        raise errors.invalid(f"{key} {text!r} is not supported by the venuekit emulator "
                             f"(supported: {', '.join(known)})")
    if text not in known:
        raise errors.invalid(f"invalid {key} {value!r}")
    return known[text]


def _moment(text: str, key: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise errors.invalid(f"invalid {key} {text!r}: expected an RFC 3339 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _flag(query: Mapping[str, str], key: str) -> bool:
    return query.get(key, "false").strip().lower() == "true"


async def _body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    try:
        body = loads(text) if text.strip() else {}
    except ValueError:
        raise errors.AlpacaError(400, {"code": errors.INVALID,
                                       "message": "request body is not valid JSON"}) from None
    if not isinstance(body, dict):
        raise errors.invalid("request body must be a JSON object")
    return body


class RestApi:
    """The emulator's REST handlers, on the state the emulator hands them."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.venue = state.venue
        self.ids = state.ids
        self.notional = state.notional
        self._generated_ids = 0

    @property
    def _shorting(self) -> bool:
        """Whether the account may sell short (Alpaca's ``shorting_enabled``, ``shortable``):
        the mock's capability, which it offers natively or not at all."""
        return self.venue.capabilities.short_selling is True

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v2/orders", self.create_order),
            web.get("/v2/orders", self.list_orders),
            web.delete("/v2/orders", self.cancel_all),
            web.get("/v2/orders:by_client_order_id", self.order_by_client_id),
            web.get("/v2/orders/{order_id}", self.get_order),
            web.patch("/v2/orders/{order_id}", self.replace_order),
            web.delete("/v2/orders/{order_id}", self.cancel_order),
            web.get("/v2/account", self.account),
            web.get("/v2/positions", self.positions),
            web.get("/v2/positions/{symbol_or_asset_id}", self.position),
            web.get("/v2/assets", self.assets),
            web.get("/v2/assets/{symbol_or_asset_id}", self.asset),
            web.get("/v2/clock", self.clock),
            web.get("/v2/stocks/quotes/latest", self.latest_quotes),
        ]

    # helpers -------------------------------------------------------------------------
    @property
    def _sim(self) -> Any:
        return self.venue.simulator

    def _order_json(self, view: OrderView, status: str | None = None,
                    nested: bool = False) -> dict[str, Any]:
        """An order's body; ``nested`` includes its legs (the child orders) as bodies."""
        sim = self._sim
        root = view if view.parent is None else sim.order(view.parent)
        legs = [self._order_json(sim.order(leg)) for leg in view.legs] \
            if nested and view.legs else None
        return payloads.order(view, self.ids, status=status,
                              notional=self.notional.get(view.venue_order_id),
                              order_class=order_classes.order_class(view, root), legs=legs)

    def _accepted_json(self, venue_order_id: str) -> dict[str, Any]:
        """The order as the venue accepted it: what a create or replace answers (with its
        legs, as they are now)."""
        accepted = payloads.as_accepted(self._sim.order(venue_order_id))
        return self._order_json(accepted, status="accepted", nested=True)

    def _record_id(self, order_id: str) -> str:
        if not self.ids.is_uuid(order_id):
            raise errors.invalid(f"order_id {order_id!r} is not a valid UUID")
        record = self.ids.order_record(order_id)
        if record is None:
            raise errors.not_found()
        return record

    def _new_client_id(self) -> str:
        self._generated_ids += 1
        return str(uuid.uuid5(uuid.NAMESPACE_OID,
                              f"{self.state.seed}/{self._generated_ids}"))

    def _client_id(self, body: Mapping[str, Any]) -> str:
        cid = body.get("client_order_id")
        if cid is None or cid == "":
            return self._new_client_id()
        if not isinstance(cid, str):
            raise errors.invalid("client_order_id must be a string")
        if len(cid) > _CLIENT_ID_MAX:
            raise errors.invalid(f"client_order_id must be at most {_CLIENT_ID_MAX} "
                                 "characters")
        return cid

    # orders --------------------------------------------------------------------------
    def _order_request(self, body: Mapping[str, Any]) -> tuple[OrderRequest, Decimal | None]:
        """Validate a create body; returns the request and the notional asked for, if any."""
        symbol = body.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise errors.invalid("symbol is required")
        for key in _UNSUPPORTED_FIELDS:
            if body.get(key) is not None:
                raise errors.invalid(f"{key} is not supported by the venuekit emulator")
        if body.get("extended_hours") is True:
            raise errors.invalid("extended_hours orders are not supported by the venuekit "
                                 "emulator")
        side = _choice(body, "side", {"buy": Side.BUY, "sell": Side.SELL}, set())
        order_type = _choice(body, "type", _TYPES, _UNSUPPORTED_TYPES)
        tif = _choice(body, "time_in_force", _TIFS, set())
        qty, notional = body_decimal(body, "qty"), body_decimal(body, "notional")
        if auctions.auction_of(body) is not None:
            auctions.check_auction_order(body, order_type, qty, notional)
        limit_price = body_decimal(body, "limit_price")
        take_profit = body.get("take_profit")
        if limit_price is None and str(body.get("order_class")).lower() == "oco" \
                and isinstance(take_profit, Mapping):
            limit_price = body_decimal(take_profit, "limit_price")  # an oco's own limit
        if (qty is None) == (notional is None):
            raise errors.invalid("qty or notional is required, but not both")
        if qty is not None and qty <= 0:
            raise errors.invalid(f"invalid qty {qty}: qty must be > 0")
        if qty is not None and qty != qty.to_integral_value() and tif is not TimeInForce.DAY:
            # Alpaca takes fractional quantities with time in force day only.
            raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                        "fractional orders must be DAY orders")
        if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and limit_price is None:
            raise errors.invalid(f"limit_price is required for {order_type.value} orders")
        if order_type in (OrderType.MARKET, OrderType.STOP, OrderType.TRAILING_STOP) \
                and limit_price is not None:
            raise errors.invalid(f"limit_price is not allowed for {order_type.value} orders")
        if limit_price is not None and limit_price <= 0:
            raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                        f"invalid limit_price {limit_price}")
        trigger = triggers.trigger_fields(body, order_type)
        if notional is not None:
            qty = self._notional_quantity(symbol, side, order_type, tif, notional)
        try:
            request = OrderRequest(symbol=symbol, side=side, quantity=qty,
                                   order_type=order_type, limit_price=limit_price,
                                   time_in_force=tif, stop_price=trigger.stop_price,
                                   trail_amount=trigger.trail_amount,
                                   trail_percent=trigger.trail_percent)
        except ModelError as exc:
            raise errors.invalid(exc.errors()[0]["msg"]) from None
        return request, notional

    def _notional_quantity(self, symbol: str, side: Side, order_type: OrderType,
                           tif: TimeInForce, notional: Decimal) -> Decimal:
        """The quantity a notional order buys or sells at the current touch (Alpaca takes
        notional amounts for fractionable assets, market orders, day time in force)."""
        if notional <= 0:
            raise errors.invalid(f"invalid notional {notional}: notional must be > 0")
        if order_type is not OrderType.MARKET or tif is not TimeInForce.DAY:
            raise errors.invalid("notional orders must be market orders with "
                                 "time_in_force day")
        book = self.venue.simulator.market.books.get(symbol)
        if book is None:
            raise errors.invalid(f"asset {symbol!r} not found")
        if not book.spec.fractional:
            raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                        f"asset {symbol} is not fractionable")
        touch = book.ask if side is Side.BUY else book.bid
        quantity = book.spec.floor_quantity(notional / touch)
        if quantity <= 0:
            raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                        f"notional {notional} is below one share increment")
        return quantity

    async def create_order(self, request: web.Request) -> web.Response:
        body = await _body(request)
        order, notional = self._order_request(body)
        quantity = order.quantity
        terms = order_classes.parse_terms(
            body, order.order_type, order.time_in_force,
            fractional=notional is not None
            or (quantity is not None and quantity != quantity.to_integral_value()))
        cid = self._client_id(body)
        auction = auctions.auction_of(body)
        try:
            if auction is not None:
                snapshot = await self.venue.submit_auction(order, cid, auction=auction)
            elif terms is None:
                snapshot = await self.venue.submit(order, cid)
            else:
                book = self._sim.book(order.symbol)
                order_classes.check_base_price(book, order.side, order.limit_price, terms)
                snapshot = await self.venue.submit_contingent(
                    order, cid, take_profit=terms.take_profit, stop_loss=terms.stop_loss,
                    stop_loss_limit=terms.stop_loss_limit,
                    one_cancels_other=terms.order_class == "oco",
                    leg_client_ids=(self._new_client_id(), self._new_client_id()))
        except VenueKitError as exc:
            if exc.code is Code.INSUFFICIENT_FUNDS:
                raise errors.for_error(exc, **self._cost(order)) from None
            if exc.code is Code.INSUFFICIENT_POSITION:
                held = self.venue.simulator.account.sellable(order.symbol)
                raise errors.AlpacaError.of(
                    403, errors.FORBIDDEN, f"insufficient qty available for order "
                    f"(requested: {order.quantity}, available: {max(held, ZERO)})") from None
            raise
        if notional is not None:
            self.notional[snapshot.venue_order_id] = notional
        return json_response(self._accepted_json(snapshot.venue_order_id))

    def _cost(self, order: OrderRequest) -> dict[str, str]:
        sim = self.venue.simulator
        book = sim.market.books[order.symbol]
        price = order.limit_price if order.limit_price is not None else book.ask
        quantity = order.quantity or ZERO
        return {"buying_power": number_text(sim.account.buying_power),
                "cost_basis": number_text(quantity * price)}

    async def list_orders(self, request: web.Request) -> web.Response:
        query = request.query
        status = query.get("status", "open").lower()
        if status not in ("open", "closed", "all"):
            raise errors.invalid(f"invalid status {status!r}: open, closed or all")
        direction = query.get("direction", "desc").lower()
        if direction not in ("asc", "desc"):
            raise errors.invalid(f"invalid direction {direction!r}: asc or desc")
        try:
            limit = int(query.get("limit", _LIST_DEFAULT))
        except ValueError:
            raise errors.invalid(f"invalid limit {query.get('limit')!r}") from None
        if not 1 <= limit <= _LIST_MAX:
            raise errors.invalid(f"limit must be between 1 and {_LIST_MAX}")
        after = _moment(query["after"], "after") if "after" in query else None
        until = _moment(query["until"], "until") if "until" in query else None
        side = query.get("side")
        symbols = {s.strip() for s in query.get("symbols", "").split(",") if s.strip()}
        if status == "open":
            snapshots = await self.venue.open_orders()
        else:
            snapshots = await self.venue.recent_orders(_EPOCH)
        sim = self.venue.simulator
        views = [sim.order(s.venue_order_id) for s in snapshots]
        views = [v for v in views
                 if (status != "closed" or not v.state.is_open)
                 and (after is None or v.created_at > after)
                 and (until is None or v.created_at < until)
                 and (side is None or v.side.value == side)
                 and (not symbols or v.symbol in symbols)]
        nested = _flag(query, "nested")
        if nested:  # legs are shown inside their parents
            views = [v for v in views if v.parent is None]
        views.sort(key=lambda v: (v.created_at, v.venue_order_id),
                   reverse=direction == "desc")
        return json_response([self._order_json(v, nested=nested) for v in views[:limit]])

    async def get_order(self, request: web.Request) -> web.Response:
        record = self._record_id(request.match_info["order_id"])
        snapshot = await self.venue.fetch_order(OrderRef(venue_order_id=record))
        return json_response(self._order_json(self._sim.order(snapshot.venue_order_id),
                                              nested=_flag(request.query, "nested")))

    async def order_by_client_id(self, request: web.Request) -> web.Response:
        cid = request.query.get("client_order_id")
        if not cid:
            raise errors.invalid("client_order_id is missing")
        snapshot = await self.venue.fetch_order(OrderRef(client_order_id=cid))
        return json_response(self._order_json(self._sim.order(snapshot.venue_order_id)))

    async def replace_order(self, request: web.Request) -> web.Response:
        record = self._record_id(request.match_info["order_id"])
        body = await _body(request)
        for key in ("stop_price", "trail"):
            if body.get(key) is not None:
                raise errors.invalid(f"{key} is not supported by the venuekit emulator")
        try:
            old = self._sim.order(record)
        except VenueKitError:
            raise errors.not_found() from None
        tif = body.get("time_in_force")
        if tif is not None and str(tif).lower() != payloads.time_in_force(old):
            raise errors.invalid("changing time_in_force is not supported by the venuekit "
                                 "emulator")
        if not old.state.is_open:
            raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                        f"order is not replaceable (status "
                                        f"{payloads.ORDER_STATUS[old.state]})")
        qty, limit_price = body_decimal(body, "qty"), body_decimal(body, "limit_price")
        if qty is not None and qty <= 0:
            raise errors.invalid(f"invalid qty {qty}: qty must be > 0")
        if qty is not None and qty != qty.to_integral_value() and tif is not TimeInForce.DAY:
            # Alpaca takes fractional quantities with time in force day only.
            raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                        "fractional orders must be DAY orders")
        if limit_price is not None and limit_price <= 0:
            raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                        f"invalid limit_price {limit_price}")
        cid = self._client_id(body)
        snapshot = await self.venue.replace(OrderRef(venue_order_id=record), quantity=qty,
                                            limit_price=limit_price, client_order_id=cid)
        return json_response(self._accepted_json(snapshot.venue_order_id))

    async def cancel_order(self, request: web.Request) -> web.Response:
        record = self._record_id(request.match_info["order_id"])
        await self._cancel(record)
        return web.Response(status=204)

    async def _cancel(self, record: str) -> OrderView:
        """Cancel one order, or refuse with 422 when it was no longer working."""
        ledger = self.venue.simulator.ledger
        before = len(ledger.cancels)
        await self.venue.cancel(OrderRef(venue_order_id=record))
        if not any(c.venue_order_id == record and c.kind == "cancelled"
                   for c in ledger.cancels[before:]):
            raise errors.not_cancelable()
        view: OrderView = self._sim.order(record)
        return view

    async def cancel_all(self, request: web.Request) -> web.Response:
        results = []
        for snapshot in await self.venue.open_orders():
            record = snapshot.venue_order_id
            entry: dict[str, Any] = {"id": self.ids.order_uuid(record)}
            try:
                view = await self._cancel(record)
            except errors.AlpacaError as exc:
                entry.update(status=exc.status, body=exc.body)
            else:
                entry.update(status=200, body=self._order_json(view))
            results.append(entry)
        return json_response(results, status=207)

    # account -------------------------------------------------------------------------
    async def account(self, request: web.Request) -> web.Response:
        account = await self.venue.account()
        long_value = sum((p.market_value or ZERO for p in account.positions
                          if p.quantity > 0), ZERO)
        short_value = sum((p.market_value or ZERO for p in account.positions
                           if p.quantity < 0), ZERO)
        return json_response(payloads.account(
            self.ids, cash=account.cash, buying_power=account.buying_power,
            long_value=long_value, short_value=short_value, currency=account.currency,
            created_at=self.state.created_at,
            shorting=self._shorting))

    def _position_json(self, symbol: str, quantity: Decimal,
                       average_price: Decimal) -> dict[str, Any]:
        sim = self.venue.simulator
        book = sim.book(symbol)
        available = sim.account.sellable(symbol) if quantity > 0 else quantity
        return payloads.position(self.ids, symbol, quantity, average_price,
                                 (book.bid + book.ask) / 2, available)

    async def positions(self, request: web.Request) -> web.Response:
        account = await self.venue.account()
        return json_response([self._position_json(p.symbol, p.quantity, p.average_price)
                              for p in sorted(account.positions, key=lambda p: p.symbol)])

    async def position(self, request: web.Request) -> web.Response:
        key = request.match_info["symbol_or_asset_id"]
        account = await self.venue.account()
        for p in account.positions:
            if key in (p.symbol, self.ids.asset_uuid(p.symbol)):
                return json_response(self._position_json(p.symbol, p.quantity,
                                                         p.average_price))
        raise errors.not_found("position does not exist")

    # reference data ------------------------------------------------------------------
    async def assets(self, request: web.Request) -> web.Response:
        status = request.query.get("status")
        asset_class = request.query.get("asset_class")
        await self.venue.instruments()
        if (status not in (None, "active")) or (asset_class not in (None, "us_equity")):
            return json_response([])
        return json_response([payloads.asset(self.ids, spec, shortable=self._shorting)
                              for spec in self.venue.simulator.symbols])

    async def asset(self, request: web.Request) -> web.Response:
        key = request.match_info["symbol_or_asset_id"]
        await self.venue.instruments()
        for spec in self.venue.simulator.symbols:
            if key in (spec.symbol, self.ids.asset_uuid(spec.symbol)):
                return json_response(payloads.asset(
                    self.ids, spec, shortable=self._shorting))
        raise errors.not_found(f"asset not found for {key}")

    async def clock(self, request: web.Request) -> web.Response:
        return json_response(payloads.clock(datetime.now(UTC)))

    async def latest_quotes(self, request: web.Request) -> web.Response:
        symbols = [s.strip() for s in request.query.get("symbols", "").split(",")
                   if s.strip()]
        if not symbols:
            raise errors.AlpacaError(400, {"code": errors.INVALID,
                                           "message": "symbols is required"})
        known = self.venue.simulator.market.books
        quotes = {}
        for symbol in symbols:
            if symbol in known:
                quotes[symbol] = payloads.quote(await self.venue.quote(symbol))
        return json_response({"quotes": quotes})
