"""Placing, cancelling and modifying orders: ``order-cash`` and ``order-rvsecncl``.

A new order (``order-cash``) is checked as KIS checks it (account, product, ``ORD_DVSN``
``00`` limit or ``01`` market, a whole quantity of at least one share, a limit price on the
tick grid and within the daily limits), then handed to the mock venue's pipeline (latency,
injected faults) and its engine, which refuses what the account cannot pay for or deliver.
A market order's ``ORD_UNPR`` is not read (KIS asks for ``"0"``). The answer carries the new
order number. Orders are day orders: they expire at a session close when the market has
sessions (``steps_per_session``).

``order-rvsecncl`` acts on the order ``ORGN_ODNO`` numbered today:

* cancel (``RVSE_CNCL_DVSN_CD`` ``02``) of the whole remainder (``QTY_ALL_ORD_YN`` ``Y``, or a
  quantity at least the remainder: the emulator's choice) cancels the engine order; a
  partial cancel (``N`` with ``ORD_QTY`` below the remainder) replaces it by a smaller one at
  the same price, which continues the same KIS order;
* modify (``01``) of the whole remainder replaces the engine order at the new price; the
  replacement is a new KIS order (the modify order). A partial modify shrinks the original
  engine order and places the modify order for the quantity moved; its second step goes
  straight to the engine (faults and latency apply once, to the request) and its events
  reach the notice stream directly. Only limit orders are modified, to a limit price
  (``ORD_DVSN`` ``00``; the emulator's choice).

Each answers with the new order number of the cancel or modify order. An order that is
unknown today, not yet visible (``visibility_delay``), already filled or cancelled, or a
cancel order, has nothing to amend: ``"모의투자 정정/취소할 수량이 없습니다."``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from venuekit.errors import Code, ErrorCode, VenueKitError
from venuekit.model import OrderRequest, OrderType, Side, TimeInForce
from venuekit.venue import OrderRef
from venuekit_mock import convert
from venuekit_mock.sim import OrderView, SymbolSpec

from . import errors
from .messages import Answer, KisRequest, success
from .prices import check_price
from .records import BRANCH, Amendment, Intent, KisOrder
from .state import EmulatorState
from .symbols import Listing

__all__ = ["BUY_TR_IDS", "WIRE_CODES", "OrderDesk", "refusal_for"]

log = logging.getLogger("venuekit_kis.emulator.orders")

BUY_TR_IDS = frozenset({"VTTC0012U", "VTTC0802U"})
WIRE_CODES: frozenset[ErrorCode] = frozenset({Code.TIMEOUT, Code.VENUE_ERROR, Code.RATE_LIMITED,
                        Code.AUTHENTICATION_FAILED})
"""Venue errors that are wire faults: the server answers them (or closes), not the order."""
EXCHANGES = ("KRX", "NXT", "SOR")
ZERO = Decimal(0)

_REFUSALS: dict[ErrorCode, errors.Message] = {
    Code.INSUFFICIENT_FUNDS: errors.CASH,
    Code.INSUFFICIENT_POSITION: errors.SHARES,
    Code.SHORT_NOT_ALLOWED: errors.SHARES,
    Code.SYMBOL_HALTED: errors.HALTED,
    Code.MARKET_CLOSED: errors.HALTED,
    Code.INVALID_PRICE: errors.TICK,
    Code.INVALID_QUANTITY: errors.QUANTITY,
    Code.BELOW_MIN_QUANTITY: errors.QUANTITY,
    Code.UNKNOWN_SYMBOL: errors.SYMBOL,
    Code.ORDER_NOT_FOUND: errors.NOTHING_TO_AMEND,
    Code.INVALID_ORDER: errors.NOTHING_TO_AMEND,
}


def refusal_for(exc: VenueKitError) -> errors.KisError:
    """KIS's refusal for a business error the engine raised."""
    return errors.refusal(_REFUSALS.get(exc.code, errors.REQUEST),
                          None if exc.code in _REFUSALS else exc.message)


def whole_number(text: str, message: errors.Message, *, minimum: int) -> Decimal:
    """A non-negative integer string (``"15"``) of at least ``minimum``, or a refusal."""
    if not text.isascii() or not text.isdigit() or int(text) < minimum:
        raise errors.refusal(message, repr(text))
    return Decimal(int(text))


class OrderDesk:
    """Creates, cancels and modifies orders on the emulator's venue, in KIS's terms."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    # reading requests ----------------------------------------------------------------
    def check_account(self, request: KisRequest) -> None:
        credentials = self.state.credentials
        if request.get("CANO") != credentials.cano or \
                request.get("ACNT_PRDT_CD") != credentials.product_code:
            raise errors.refusal(errors.ACCOUNT)

    def listing(self, code: str) -> Listing:
        listing = self.state.listings.get(code)
        if listing is None:
            raise errors.refusal(errors.SYMBOL, repr(code))
        return listing

    def _limit_price(self, spec: SymbolSpec, text: str) -> Decimal:
        price = whole_number(text, errors.PRICE, minimum=1)
        check_price(spec, self.state.prices, price)
        return price

    @staticmethod
    def _exchange(request: KisRequest) -> str:
        exchange = request.get("EXCG_ID_DVSN_CD") or "KRX"
        if exchange not in EXCHANGES:
            raise errors.refusal(errors.REQUEST, f"EXCG_ID_DVSN_CD {exchange!r}")
        return exchange

    @staticmethod
    def _output(order: KisOrder) -> dict[str, str]:
        return {"KRX_FWDG_ORD_ORGNO": BRANCH, "ODNO": order.odno, "ORD_TMD": order.ord_tmd}

    def _made(self, token: str) -> KisOrder | None:
        """The KIS order of the engine order carrying ``token``, if the engine made one."""
        try:
            view = self.state.sim.order(client_order_id=token)
        except VenueKitError:
            self.state.records.forget(token)
            return None
        return self.state.records.confirm(view)

    # order-cash ----------------------------------------------------------------------
    async def order_cash(self, request: KisRequest) -> Answer:
        side = Side.BUY if request.tr_id in BUY_TR_IDS else Side.SELL
        self.check_account(request)
        listing = self.listing(request.get("PDNO"))
        dvsn = request.get("ORD_DVSN")
        if dvsn not in ("00", "01"):
            raise errors.refusal(errors.ORDER_KIND, f"ORD_DVSN {dvsn!r}")
        quantity = whole_number(request.get("ORD_QTY"), errors.QUANTITY, minimum=1)
        price = self._limit_price(listing.spec, request.get("ORD_UNPR")) \
            if dvsn == "00" else None
        exchange = self._exchange(request)
        records = self.state.records
        token = records.token()
        records.expect(token, Intent("new", listing.symbol, side, dvsn, price or ZERO,
                                     exchange))
        order_request = OrderRequest(
            symbol=listing.symbol, side=side, quantity=quantity,
            order_type=OrderType.LIMIT if price is not None else OrderType.MARKET,
            limit_price=price, time_in_force=TimeInForce.DAY)
        try:
            snapshot = await self.state.venue.submit(order_request, token)
        except VenueKitError as exc:
            self._made(token)  # a lost answer: the venue may have acted
            if exc.code in WIRE_CODES:
                raise
            raise refusal_for(exc) from None
        order = records.confirm(snapshot)
        assert order is not None
        log.debug("order accepted", extra={"odno": order.odno, "symbol": order.symbol,
                                           "side": side.value})
        return success(errors.BOUGHT if side is Side.BUY else errors.SOLD,
                       output=self._output(order))

    # order-rvsecncl ------------------------------------------------------------------
    async def amend(self, request: KisRequest) -> Answer:
        self.check_account(request)
        kind = request.get("RVSE_CNCL_DVSN_CD")
        if kind not in ("01", "02"):
            raise errors.refusal(errors.REQUEST, f"RVSE_CNCL_DVSN_CD {kind!r}")
        whole = request.get("QTY_ALL_ORD_YN")
        if whole not in ("Y", "N"):
            raise errors.refusal(errors.REQUEST, f"QTY_ALL_ORD_YN {whole!r}")
        asked = None if whole == "Y" else \
            whole_number(request.get("ORD_QTY"), errors.QUANTITY, minimum=1)
        original = self._original(request)
        new_price: Decimal | None = None
        if kind == "01":
            if original.dvsn != "00" or request.get("ORD_DVSN") not in ("00", ""):
                raise errors.refusal(errors.MODIFY_LIMIT_ONLY)
            new_price = self._limit_price(self.state.listings[original.symbol].spec,
                                          request.get("ORD_UNPR"))
        async with original.lock:
            engine_id = original.engine_ids[-1]
            view = self.state.sim.order(engine_id)
            remaining = view.quantity - view.filled_quantity
            if not view.state.is_open or remaining <= 0:
                raise errors.refusal(errors.NOTHING_TO_AMEND)
            if new_price is None:
                return await self._cancel(original, view, asked)
            return await self._modify(original, view, asked, new_price)

    def _original(self, request: KisRequest) -> KisOrder:
        odno = request.get("ORGN_ODNO")
        branch = request.get("KRX_FWDG_ORD_ORGNO")
        records = self.state.records
        order = records.find(odno.zfill(10), self.state.today()) \
            if odno.isascii() and odno.isdigit() and len(odno) <= 10 else None
        if order is None or order.kind == "cancel" or not records.visible(order) \
                or (branch and branch != BRANCH):
            raise errors.refusal(errors.NOTHING_TO_AMEND)
        return order

    async def _cancel(self, original: KisOrder, view: OrderView,
                      asked: Decimal | None) -> Answer:
        records = self.state.records
        engine_id = view.venue_order_id
        remaining = view.quantity - view.filled_quantity
        records.begin(engine_id, Amendment("cancel", original, asked, original.price))
        if asked is None or asked >= remaining:
            cancels = self.state.sim.ledger.cancels
            before = len(cancels)
            failure = await self._attempt(lambda: self.state.venue.cancel(
                OrderRef(venue_order_id=engine_id)))
            cancelled = next((c.remaining for c in cancels[before:]
                              if c.venue_order_id == engine_id and c.kind == "cancelled"),
                             None)
        else:
            token = records.token()
            records.expect(token, Intent("continuation", original.symbol, original.side,
                                         original.dvsn, original.price, original=original))
            failure = await self._attempt(lambda: self.state.venue.replace(
                OrderRef(venue_order_id=engine_id), quantity=remaining - asked,
                client_order_id=token))
            cancelled = asked if self._made(token) is not None else None
        if cancelled is None:
            records.abandon(engine_id)
            raise self._unless_wire(failure)
        order = records.confirm_cancel(engine_id, cancelled)
        assert order is not None
        if failure is not None:
            raise failure  # the venue acted; the answer was lost
        return success(errors.CANCELLED, output=self._output(order))

    async def _modify(self, original: KisOrder, view: OrderView, asked: Decimal | None,
                      price: Decimal) -> Answer:
        records = self.state.records
        engine_id = view.venue_order_id
        remaining = view.quantity - view.filled_quantity
        amendment = Amendment("modify", original, asked, price)
        records.begin(engine_id, amendment)
        modify = Intent("modify", original.symbol, original.side, "00", price,
                        original=original, amendment=amendment)
        if asked is None or asked >= remaining:
            token = records.token()
            records.expect(token, modify)
            failure = await self._attempt(lambda: self.state.venue.replace(
                OrderRef(venue_order_id=engine_id), limit_price=price,
                client_order_id=token))
            if self._made(token) is None:
                records.abandon(engine_id)
                raise self._unless_wire(failure)
        else:
            self._check_modify_funds(original, view, asked, price)
            token = records.token()
            records.expect(token, Intent("continuation", original.symbol, original.side,
                                         original.dvsn, original.price, original=original))
            failure = await self._attempt(lambda: self.state.venue.replace(
                OrderRef(venue_order_id=engine_id), quantity=remaining - asked,
                client_order_id=token))
            if self._made(token) is None:
                records.abandon(engine_id)
                raise self._unless_wire(failure)
            self._place_moved(original, asked, modify)
        order = amendment.order
        if order is None:  # the moved part could not be placed (see _place_moved)
            raise errors.refusal(errors.CASH)
        if failure is not None:
            raise failure
        return success(errors.MODIFIED, output=self._output(order))

    def _check_modify_funds(self, original: KisOrder, view: OrderView, asked: Decimal,
                            price: Decimal) -> None:
        """A partial modify of a buy must be payable before its first step acts."""
        if original.side is not Side.BUY:
            return
        account = self.state.sim.account
        released = asked * (view.limit_price or ZERO)
        if asked * price > account.buying_power + released:
            raise errors.refusal(errors.CASH)

    def _place_moved(self, original: KisOrder, quantity: Decimal, intent: Intent) -> None:
        """The second step of a partial modify: the moved quantity at the new price,
        placed on the engine directly; its events go to the notice subscribers."""
        records = self.state.records
        token = records.token()
        records.expect(token, intent)
        try:
            view, events = self.state.sim.submit(
                original.symbol, original.side, quantity, OrderType.LIMIT, intent.price,
                TimeInForce.DAY, token)
        except VenueKitError as exc:
            records.forget(token)
            original.cancelled += quantity  # the shrunk original lost it
            log.warning("partial modify could not place the moved quantity", extra={
                "odno": original.odno, "code": exc.code.name})
            return
        records.confirm(view)
        for event in events:
            self.state.broadcast(convert.update(event))

    @staticmethod
    async def _attempt(call: Callable[[], Awaitable[Any]]) -> VenueKitError | None:
        """Run one venue call; its error, if any (the caller looks at what the engine did)."""
        try:
            await call()
        except VenueKitError as exc:
            return exc
        return None

    @staticmethod
    def _unless_wire(failure: VenueKitError | None) -> Exception:
        """The error to raise for an amendment that did not act."""
        if failure is None:
            return errors.refusal(errors.NOTHING_TO_AMEND)
        if failure.code in WIRE_CODES:
            return failure
        return refusal_for(failure)

