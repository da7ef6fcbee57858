"""Placing and cancelling orders: ``POST/DELETE /api/v3/order``, ``DELETE /api/v3/openOrders``
and ``POST /api/v3/order/cancelReplace``, through the mock venue.

A new order passes :mod:`.checks`, then the checks Binance's matching engine makes before it
accepts one: an open order with the same client order id (``-2010 Duplicate order sent.``),
a ``LIMIT_MAKER`` that would cross (``-2010 Order would immediately match and take.``) and,
for a sell, a free balance of the base asset smaller than the quantity (``-2010 Account has
insufficient balance for requested action.``, before the engine sees the order; a buy the
account cannot pay for is refused by the engine with the same answer). The engine then
matches it: market orders take what the touch offers and expire the rest (Binance's
market orders never rest), a fill-or-kill order that cannot fill in full is accepted and
expired at once (see :mod:`.records`).

A cancel-replace checks the new order's parameters and filters first (a failure there is a
plain error and cancels nothing), cancels, then places. The answers: 200 with both
results; 400 ``-2022`` when the cancel failed in ``STOP_ON_FAILURE`` mode (the new order is
not attempted) or when both failed; 409 ``-2021`` when one of the two failed. Failure
bodies carry ``data{cancelResult, newOrderResult, cancelResponse, newOrderResponse}``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from venuekit.errors import Code, VenueKitError
from venuekit.model import OrderRequest, OrderType, Side, TimeInForce
from venuekit.venue import OrderRef
from venuekit_mock.sim import Book

from . import errors, payloads
from .checks import NewOrder, client_id, quote_quantity, read_order
from .jsonio import millis
from .params import Params
from .records import ExpiredOrder, OrderMeta, binance_client_id
from .state import EmulatorState
from .views import BinanceOrder, BinanceView

__all__ = ["OrderDesk"]

_ENGINE_TIF = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
_WIRE = (Code.TIMEOUT, Code.VENUE_ERROR, Code.RATE_LIMITED, Code.AUTHENTICATION_FAILED)
"""Venue errors that are wire faults: the server answers them (or closes), not the order."""
_RESTRICTIONS = {"ONLY_NEW": "NEW", "ONLY_PARTIALLY_FILLED": "PARTIALLY_FILLED"}


class OrderDesk:
    """Creates and cancels orders on the emulator's venue, in Binance's terms."""

    def __init__(self, state: EmulatorState, view: BinanceView) -> None:
        self.state = state
        self.view = view

    @property
    def _sim(self) -> Any:
        return self.state.venue.simulator

    def _specs(self) -> tuple[dict[str, Any], dict[str, Book]]:
        books = self._sim.market.books
        return {symbol: book.spec for symbol, book in books.items()}, books

    def read(self, params: Params) -> NewOrder:
        specs, books = self._specs()
        return read_order(params, specs, books, self.state.new_client_id())

    # finding orders ------------------------------------------------------------------
    def find(self, symbol: str, order_id: int | None, cid: str | None,
             not_found: Callable[[], errors.BinanceError],
             names: tuple[str, str] = ("orderId", "origClientOrderId")
             ) -> str | ExpiredOrder:
        """The order a request names (engine order id, or an expired fill-or-kill order)."""
        records = self.state.account.records
        if order_id is None and cid is None:
            raise errors.either(*reversed(names))
        if order_id is not None:
            target = records.locate(order_id)
            found = self._describe(target)
            if found is None or found[0] != symbol or (cid is not None and found[1] != cid):
                raise not_found()
            assert target is not None
            return target
        best: tuple[int, str | ExpiredOrder] | None = None
        for engine_cid in records.engine_ids(str(cid)):
            try:
                view = self._sim.order(client_order_id=engine_cid)
            except VenueKitError:
                continue
            if view.symbol == symbol:
                best = (self.view.order_id(view.venue_order_id), view.venue_order_id)
                break
        for expired in records.expired:
            if expired.meta.client_order_id == cid and expired.symbol == symbol \
                    and (best is None or expired.order_id > best[0]):
                best = (expired.order_id, expired)
        if best is None:
            raise not_found()
        return best[1]

    def _describe(self, target: str | ExpiredOrder | None) -> tuple[str, str] | None:
        if isinstance(target, ExpiredOrder):
            return target.symbol, target.meta.client_order_id
        if target is None:
            return None
        try:
            view = self._sim.order(target)
        except VenueKitError:
            return None
        return view.symbol, binance_client_id(view.client_order_id or "")

    def _open_with(self, cid: str) -> bool:
        for engine_cid in self.state.account.records.engine_ids(cid)[:1]:
            try:
                return bool(self._sim.order(client_order_id=engine_cid).state.is_open)
            except VenueKitError:
                return False
        return False

    # placing -------------------------------------------------------------------------
    def _engine_checks(self, order: NewOrder, book: Book) -> Decimal:
        """The matching engine's checks before acceptance; returns the quantity."""
        quantity = order.quantity if order.quantity is not None \
            else quote_quantity(order, book)
        if self._open_with(order.client_order_id):
            raise errors.rejected(errors.DUPLICATE)
        if order.type == "LIMIT_MAKER" and order.price is not None and (
                order.price >= book.ask if order.side is Side.BUY else order.price <= book.bid):
            raise errors.rejected(errors.WOULD_TAKE)
        account = self.state.account
        if order.side is Side.SELL:
            if account.balance(account.base_of[order.symbol])[0] < quantity:
                raise errors.rejected(errors.INSUFFICIENT_BALANCE)
        elif account.commission_asset == "quote":
            price = order.price if order.price is not None else book.ask
            if account.balance(account.currency)[0] < quantity * price * (1 + account.rate):
                raise errors.rejected(errors.INSUFFICIENT_BALANCE)
        return quantity

    async def place(self, order: NewOrder, *, replaces: int | None = None) -> dict[str, Any]:
        """Place a checked order; returns Binance's answer (ACK, RESULT or FULL)."""
        sim = self._sim
        quantity = self._engine_checks(order, sim.market.books[order.symbol])
        records = self.state.account.records
        engine_cid = records.engine_client_id(order.client_order_id)
        meta = records.meta[engine_cid] = OrderMeta(
            order.client_order_id, order.type,
            "GTC" if order.type != "LIMIT" else order.time_in_force,
            order.quote_order_qty, order.stp_mode, replaces)
        market = order.type == "MARKET"
        request = OrderRequest(
            symbol=order.symbol, side=order.side, quantity=quantity,
            order_type=OrderType.MARKET if market else OrderType.LIMIT,
            limit_price=order.price,
            time_in_force=TimeInForce.IOC if market else _ENGINE_TIF[order.time_in_force])
        try:
            snapshot = await self.state.venue.submit(request, engine_cid)
        except VenueKitError as exc:
            if exc.code is Code.FILL_OR_KILL_UNFILLABLE:
                return self._expire(order, quantity, meta)
            self._note_if_accepted(engine_cid)  # a lost answer: the venue acted
            if exc.code in _WIRE:
                raise
            raise errors.for_error(exc) from None
        records.note_accepted(engine_cid)
        placed = self.view.order(snapshot, meta)
        fills = self.view.fills_of(snapshot.venue_order_id, placed.executed)
        return payloads.new_order(placed, fills, order.response_type, placed.created_ms)

    def _note_if_accepted(self, engine_cid: str) -> None:
        try:
            self._sim.order(client_order_id=engine_cid)
        except VenueKitError:
            return
        self.state.account.records.note_accepted(engine_cid)

    def _expire(self, order: NewOrder, quantity: Decimal, meta: OrderMeta) -> dict[str, Any]:
        """A fill-or-kill order the engine refused: Binance accepts it and expires it."""
        sim = self._sim
        expired = self.state.account.records.add_expired(
            engine_orders=sim.ledger.order_count, symbol=order.symbol, side=order.side,
            quantity=quantity, price=order.price or Decimal(0), created_at=sim.now(), meta=meta)
        shown = BinanceView.expired(expired)
        new = shown._replace(status="NEW")
        for report, execution in ((new, "NEW"), (shown, "EXPIRED")):
            self.state.broadcast(payloads.execution_report(
                report, execution, None, event_ms=shown.created_ms,
                transact_ms=shown.created_ms,
                execution_id=self.view.execution_id(("expired", shown.order_id, execution))))
        return payloads.new_order(shown, [], order.response_type, shown.created_ms)

    # cancelling ----------------------------------------------------------------------
    async def cancel(self, params: Params) -> dict[str, Any]:
        """``DELETE /api/v3/order``."""
        symbol = self._symbol(params)
        cancel_cid = client_id(params, "newClientOrderId") or self.state.new_client_id()
        restriction = params.text("cancelRestrictions")
        if restriction is not None and restriction not in _RESTRICTIONS:
            raise errors.BinanceError(400, -1145, "Invalid cancelRestrictions")
        target = self.find(symbol, params.integer("orderId"),
                           client_id(params, "origClientOrderId"), errors.unknown_order)
        return await self.cancel_one(target, cancel_cid, restriction)

    def _symbol(self, params: Params) -> str:
        symbol = params.required("symbol")
        if symbol not in self._sim.market.books:
            raise errors.invalid_symbol()
        return symbol

    async def cancel_one(self, target: str | ExpiredOrder, cancel_cid: str,
                         restriction: str | None = None) -> dict[str, Any]:
        if isinstance(target, ExpiredOrder):
            raise errors.unknown_order()
        sim = self._sim
        view = sim.order(target)
        meta = self.view.meta(view.client_order_id, target)
        if not view.state.is_open:
            raise errors.unknown_order()
        if restriction is not None and \
                self.view.order(view, meta).status != _RESTRICTIONS[restriction]:
            raise errors.BinanceError(400, -2011, "Order was not canceled due to cancel "
                                      "restrictions.")
        meta.cancel_client_order_id = cancel_cid
        self.state.account.records.meta.setdefault(view.client_order_id or "", meta)
        cancels = sim.ledger.cancels
        before = len(cancels)
        try:
            snapshot = await self.state.venue.cancel(OrderRef(venue_order_id=target))
        except VenueKitError as exc:
            if exc.code is Code.ORDER_NOT_FOUND:
                raise errors.unknown_order() from None
            raise
        if snapshot is None or not any(c.venue_order_id == target and c.kind == "cancelled"
                                       for c in cancels[before:]):
            raise errors.unknown_order()
        done: BinanceOrder = self.view.order(snapshot, meta)
        return payloads.cancelled(done, cancel_cid, done.updated_ms)

    async def cancel_all(self, params: Params) -> list[dict[str, Any]]:
        """``DELETE /api/v3/openOrders``: every open order of the symbol (-2011 if none)."""
        symbol = self._symbol(params)
        opened = await self.state.venue.open_orders(symbol)
        cancel_cid = self.state.new_client_id()
        answers = []
        for snapshot in opened:
            try:
                answers.append(await self.cancel_one(snapshot.venue_order_id, cancel_cid))
            except errors.BinanceError:
                continue  # it filled or ended meanwhile
        if not answers:
            raise errors.unknown_order()
        return answers

    # cancel-replace ------------------------------------------------------------------
    async def cancel_replace(self, params: Params) -> dict[str, Any]:
        """``POST /api/v3/order/cancelReplace``."""
        mode = params.required("cancelReplaceMode")
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise errors.malformed("cancelReplaceMode")
        cancel_cid = client_id(params, "cancelNewClientOrderId") or self.state.new_client_id()
        old_cid = client_id(params, "cancelOrigClientOrderId")
        old_id = params.integer("cancelOrderId")
        if old_id is None and old_cid is None:
            raise errors.either("cancelOrigClientOrderId", "cancelOrderId")
        new = self.read(params)
        cancel_result: dict[str, Any]
        replaced: int | None = None
        try:
            target = self.find(new.symbol, old_id, old_cid, errors.unknown_order,
                               ("cancelOrderId", "cancelOrigClientOrderId"))
            cancel_result = await self.cancel_one(target, cancel_cid)
            replaced = int(cancel_result["orderId"])
            cancelled = True
        except errors.BinanceError as exc:
            cancel_result, cancelled = exc.short, False
        if not cancelled and mode == "STOP_ON_FAILURE":
            raise errors.BinanceError(400, -2022, "Order cancel-replace failed.", data={
                "cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
                "cancelResponse": cancel_result, "newOrderResponse": None})
        try:
            placed: dict[str, Any] = await self.place(new, replaces=replaced)
            new_ok = True
        except errors.BinanceError as exc:
            placed, new_ok = exc.short, False
        data = {"cancelResult": "SUCCESS" if cancelled else "FAILURE",
                "newOrderResult": "SUCCESS" if new_ok else "FAILURE",
                "cancelResponse": cancel_result, "newOrderResponse": placed}
        if cancelled and new_ok:
            return data
        if cancelled or new_ok:
            raise errors.BinanceError(409, -2021, "Order cancel-replace partially failed.",
                                      data=data)
        raise errors.BinanceError(400, -2022, "Order cancel-replace failed.", data=data)

    def transact_ms(self) -> int:
        return millis(self._sim.now())
