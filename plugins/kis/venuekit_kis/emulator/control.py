"""Driving a running emulator: :class:`KisControl` in Python, and the same over HTTP.

``emulator.control`` moves the market, forces quotes (and the day's base price), sets cash
and holdings, turns the mock venue's faults on and off, expires tokens, and reads the truth
(what the venue really did, whatever its answers said), naming orders by their KIS order
numbers. Its methods may be called from any thread: when the emulator runs on another
thread's event loop (:func:`~.server.run_in_thread`), each call is handed to that loop.

Rows (every value a string, amounts exact):

* :meth:`KisControl.orders`: every order KIS numbered, in acceptance order, as
  ``{"ord_dt", "odno", "branch" ("00950"), "kind" ("new", "modify", "cancel"),
  "orgn_odno", "side" ("buy"/"sell"), "sll_buy_dvsn_cd" ("02"/"01"), "symbol", "ord_dvsn",
  "quantity", "price", "filled", "filled_amount", "average_price", "cancelled", "moved",
  "remaining", "ord_tmd", "exchange", "engine_order_ids"}``. For a cancel order
  ``quantity`` is what it asked to cancel and ``cancelled`` what it cancelled;
* :meth:`KisControl.fills`: every execution, oldest first, as ``{"ord_dt", "odno",
  "branch", "symbol", "side", "quantity", "price", "time" (HHMMSS KST), "trade_id",
  "engine_order_id"}``.

The HTTP form, for an emulator in another process (``venuekit emulate kis``), lives under
``/_venuekit/`` and takes the headers ``appkey`` and ``appsecret`` (the app's). It is
never rate limited and never faulted:

=====================================  ===============================================
``GET  /_venuekit/ledger``             orders, fills, rejects, faults, response counts
``GET  /_venuekit/statistics``         the counts of :meth:`KisControl.statistics`
``POST /_venuekit/quote``              ``{"symbol", "bid", "ask", "bid_size"?,
                                       "ask_size"?, "base_price"?}``
``POST /_venuekit/advance``            ``{"steps": 1}``
``POST /_venuekit/end_session``        the session closes: working orders expire
``POST /_venuekit/cash``               ``{"amount": "100000000"}``
``POST /_venuekit/position``           ``{"symbol", "quantity", "average_price"?}``
``POST /_venuekit/faults``             ``{"clear"?, "probabilities"?: {fault: p},
                                       "schedule"?: {fault: [order indices]}}``
``POST /_venuekit/auth_failure``       ``{"enabled": true}``
``POST /_venuekit/disconnect_stream``  drop every websocket connection now
``POST /_venuekit/expire_tokens``      every access token expires now
``POST /_venuekit/rate_limit``         ``{"rate_limit"?: "2", "reset"?: true}``
=====================================  ===============================================

Amounts are decimal strings (floats are refused); answers are JSON, errors
``{"message": ...}`` with status 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any

from aiohttp import web

from venuekit.errors import VenueKitError
from venuekit_mock.emulation import Amount, SimulatorControl, control_amount
from venuekit_mock.sim import Statistics

from .fields import ZERO, average, decimal, whole
from .jsonio import dumps
from .kst import time_text
from .prices import current_price
from .records import BRANCH, KisOrder
from .state import EmulatorState

__all__ = ["ControlApi", "KisControl", "KisStatistics", "control_errors"]


@dataclass(frozen=True, slots=True)
class KisStatistics(Statistics):
    """The mock venue's statistics, with what the emulator answered on the wire."""

    responses: Mapping[int, int] = field(default_factory=dict)
    """REST answers by HTTP status (the control API's excepted)."""
    unanswered: int = 0
    """Requests closed without an answer (injected timeouts and dropped responses)."""
    egw00201: int = 0
    """Rate-limit answers (the limiter's and injected ones)."""
    egw00133: int = 0
    """Token requests refused within the issuance interval."""
    egw00123: int = 0
    """Calls refused for an expired token."""
    egw00121: int = 0
    """Calls refused for an unknown or revoked token."""
    tokens_issued: int = 0
    approval_keys_issued: int = 0
    kis_orders: int = 0
    """Orders KIS numbered: new, cancel and modify orders."""


class KisControl(SimulatorControl):
    """Market control and the ledger of truth of one :class:`KisEmulator`."""

    def __init__(self, state: EmulatorState) -> None:
        super().__init__(state)
        self._state = state

    # market --------------------------------------------------------------------------
    def set_quote(self, symbol: str, bid: Amount, ask: Amount, bid_size: Amount | None = None,
                  ask_size: Amount | None = None, *, base_price: Amount | None = None) -> None:
        """Force ``symbol``'s quote until the next step (crossed working orders fill). The
        day's base price becomes ``base_price`` if given, else the new current price when
        the quote falls outside the daily limits (see :mod:`.prices`)."""
        def change() -> None:
            state = self._state
            if symbol not in state.listings:
                raise ValueError(f"unknown product {symbol!r}")
            prices = state.prices
            if base_price is not None:
                prices.set_base(symbol, control_amount(base_price))
            self._mock.set_quote(symbol, bid, ask, bid_size, ask_size)
            if base_price is None and not (prices.within(symbol, control_amount(bid))
                                           and prices.within(symbol, control_amount(ask))):
                prices.set_base(symbol, current_price(state.book(symbol)))
        self._call(change)

    def limits(self, symbol: str) -> tuple[Decimal, Decimal]:
        """The day's ``(lower, upper)`` limits (``stck_llam``, ``stck_mxpr``)."""
        return self._call(self._state.prices.limits, symbol)

    # account -------------------------------------------------------------------------
    def set_cash(self, amount: Amount) -> None:
        """Set the cash (won)."""
        self._call(self._mock.set_cash, control_amount(amount))

    def set_position(self, symbol: str, quantity: Amount,
                     average_price: Amount | None = None) -> None:
        """Hold ``quantity`` whole shares of ``symbol`` at ``average_price`` (the mid by
        default)."""
        shares = control_amount(quantity)
        if shares < 0 or shares != shares.to_integral_value():
            raise ValueError(f"a holding is a whole number of shares, got {quantity!r}")
        if symbol not in self._state.listings:
            raise ValueError(f"unknown product {symbol!r}")
        self._call(self._mock.set_position, symbol, shares,
                   None if average_price is None else control_amount(average_price))

    # faults and access ---------------------------------------------------------------
    def disconnect_stream(self) -> None:
        """Drop every websocket connection now, without a close frame."""
        def drop() -> None:
            self._mock.disconnect_stream()
            for request in list(self._state.connections.values()):
                transport = request.transport
                if transport is not None:
                    transport.abort()
        self._call(drop)

    def expire_tokens(self) -> None:
        """Expire every access token now (and forget the issuance interval): the next
        call with one answers ``EGW00123`` and the next ``tokenP`` issues a new token."""
        self._call(self._state.tokens.expire_all)

    def set_rate_limit(self, rate_limit: float | None = None, *, reset: bool = False) -> None:
        """Change the requests per second and/or forget the requests counted so far."""
        def change() -> None:
            limiter = self._state.limiter
            if rate_limit is not None:
                limiter.rate_limit = rate_limit
            if reset:
                limiter.reset()
        self._call(change)

    # truth ---------------------------------------------------------------------------
    def statistics(self) -> KisStatistics:
        def read() -> KisStatistics:
            state = self._state
            base = self._mock.statistics()
            values = {f.name: getattr(base, f.name) for f in fields(Statistics)}
            codes = state.codes
            return KisStatistics(
                **values, responses=dict(sorted(state.responses.items())),
                unanswered=state.unanswered, egw00201=state.limiter.refused,
                egw00133=state.tokens.refused_too_soon, egw00123=codes["EGW00123"],
                egw00121=codes["EGW00121"], tokens_issued=state.tokens.tokens_issued,
                approval_keys_issued=state.tokens.approval_keys_issued,
                kis_orders=len(state.records.orders))
        return self._call(read)

    def orders(self) -> list[dict[str, Any]]:
        """Every order KIS numbered (see the module documentation)."""
        return self._call(self._order_rows)

    def fills(self) -> list[dict[str, Any]]:
        """Every execution (see the module documentation)."""
        return self._call(self._fill_rows)

    @property
    def stream_connections(self) -> int:
        return len(self._state.connections)

    @property
    def stream_subscribers(self) -> int:
        """Notice subscriptions open now."""
        return len(self._state.listeners)

    # rows ----------------------------------------------------------------------------
    def _order_row(self, order: KisOrder) -> dict[str, Any]:
        records = self._state.records
        if order.kind == "cancel":
            filled = amount = remaining = ZERO
            cancelled = order.confirmed
        else:
            filled, amount = records.executed(order)
            view = self._state.sim.order(order.engine_ids[-1])
            remaining = view.quantity - view.filled_quantity if view.state.is_open else ZERO
            cancelled = order.cancelled
        return {
            "ord_dt": order.ord_dt, "odno": order.odno, "branch": BRANCH,
            "kind": order.kind, "orgn_odno": order.orgn_odno, "side": order.side.value,
            "sll_buy_dvsn_cd": order.side_code, "symbol": order.symbol,
            "ord_dvsn": order.dvsn, "quantity": whole(order.quantity),
            "price": whole(order.price), "filled": whole(filled),
            "filled_amount": whole(amount), "average_price": average(amount, filled),
            "cancelled": whole(cancelled), "moved": whole(order.moved),
            "remaining": whole(remaining), "ord_tmd": order.ord_tmd,
            "exchange": order.exchange, "engine_order_ids": list(order.engine_ids)}

    def _order_rows(self) -> list[dict[str, Any]]:
        records = self._state.records
        records.sync_fills(self._state.sim.ledger.fills)
        return [self._order_row(order) for order in records.orders]

    def _fill_rows(self) -> list[dict[str, Any]]:
        state = self._state
        rows = []
        for fill in state.sim.ledger.fills:
            order = state.records.engine_order(fill.venue_order_id)
            if order is None:
                order = state.records.confirm(state.sim.order(fill.venue_order_id))
            rows.append({
                "ord_dt": order.ord_dt if order else "", "odno": order.odno if order else "",
                "branch": BRANCH, "symbol": fill.symbol, "side": fill.side.value,
                "quantity": whole(fill.quantity), "price": decimal(fill.price),
                "time": time_text(fill.at), "trade_id": fill.trade_id,
                "engine_order_id": fill.venue_order_id})
        return rows

    def ledger_json(self) -> dict[str, Any]:
        """What ``GET /_venuekit/ledger`` answers."""
        def read() -> dict[str, Any]:
            ledger = self._mock.ledger
            stats = self.statistics()
            counts = {key: value for key, value in asdict(stats).items()
                      if key in ("unanswered", "egw00201", "egw00133", "egw00123",
                                 "egw00121", "tokens_issued", "approval_keys_issued",
                                 "kis_orders")}
            return {
                "orders": self._order_rows(), "fills": self._fill_rows(),
                "rejects": [{"orderIndex": r.order_index, "symbol": r.symbol,
                             "side": r.side.value, "quantity": whole(r.quantity),
                             "code": r.code, "message": r.message} for r in ledger.rejects],
                "faults": [{"kind": f.kind, "operation": f.operation,
                            "orderIndex": f.order_index, "engine_order_id": f.venue_order_id,
                            "detail": f.detail} for f in ledger.faults],
                "responses": {str(k): v for k, v in stats.responses.items()},
                **counts,
            }
        return self._call(read)


class ControlApi:
    """The HTTP form of :class:`KisControl`, under ``/_venuekit/``."""

    PREFIX = "/_venuekit"

    def __init__(self, control: KisControl) -> None:
        self.control = control

    def routes(self) -> list[web.RouteDef]:
        p = self.PREFIX
        posts = {"quote": self.quote, "advance": self.advance,
                 "end_session": self.end_session, "cash": self.cash,
                 "position": self.position, "faults": self.faults,
                 "auth_failure": self.auth_failure,
                 "disconnect_stream": self.disconnect_stream,
                 "expire_tokens": self.expire_tokens, "rate_limit": self.rate_limit}
        return [web.get(f"{p}/ledger", self.ledger), web.get(f"{p}/statistics", self.stats),
                *(web.post(f"{p}/{name}", handler) for name, handler in posts.items())]

    @staticmethod
    def _ok(body: Any = None) -> web.Response:
        return web.Response(text=dumps(body if body is not None else {"ok": True}),
                            content_type="application/json", charset="utf-8")

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        text = await request.text()
        body = json.loads(text) if text.strip() else {}  # floats stay floats: refused
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    async def ledger(self, request: web.Request) -> web.Response:
        return self._ok(self.control.ledger_json())

    async def stats(self, request: web.Request) -> web.Response:
        stats = self.control.statistics()
        body = {key: (str(value) if isinstance(value, Decimal) else value)
                for key, value in asdict(stats).items() if key != "responses"}
        body["responses"] = {str(k): v for k, v in stats.responses.items()}
        return self._ok(body)

    async def quote(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        sizes = [None if b.get(k) is None else control_amount(b[k])
                 for k in ("bid_size", "ask_size")]
        base = b.get("base_price")
        self.control.set_quote(str(b["symbol"]), control_amount(b["bid"]),
                               control_amount(b["ask"]), *sizes,
                               base_price=None if base is None else control_amount(base))
        return self._ok()

    async def advance(self, request: web.Request) -> web.Response:
        self.control.advance(int((await self._body(request)).get("steps", 1)))
        return self._ok()

    async def end_session(self, request: web.Request) -> web.Response:
        self.control.end_session()
        return self._ok()

    async def cash(self, request: web.Request) -> web.Response:
        self.control.set_cash(control_amount((await self._body(request))["amount"]))
        return self._ok()

    async def position(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        average_price = b.get("average_price")
        self.control.set_position(str(b["symbol"]), control_amount(b["quantity"]),
                                  None if average_price is None else control_amount(average_price))
        return self._ok()

    async def faults(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        if b.get("clear"):
            self.control.clear_faults()
        for fault, probability in dict(b.get("probabilities") or {}).items():
            self.control.set_fault(str(fault), control_amount(probability))
        for fault, indices in dict(b.get("schedule") or {}).items():
            self.control.script_fault(str(fault), *(int(i) for i in indices))
        return self._ok()

    async def auth_failure(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        self.control.fail_authentication(bool(body.get("enabled", True)))
        return self._ok()

    async def disconnect_stream(self, request: web.Request) -> web.Response:
        self.control.disconnect_stream()
        return self._ok()

    async def expire_tokens(self, request: web.Request) -> web.Response:
        self.control.expire_tokens()
        return self._ok()

    async def rate_limit(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        rate = b.get("rate_limit")
        self.control.set_rate_limit(None if rate is None else float(control_amount(rate)),
                                    reset=bool(b.get("reset")))
        return self._ok()


async def control_errors(call: Callable[[], Any]) -> web.StreamResponse:
    """Run a control handler; a bad request is a 400 with ``{"message": ...}``."""
    try:
        result: web.StreamResponse = await call()
    except (KeyError, ValueError, TypeError, ArithmeticError, VenueKitError) as exc:
        message = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return web.Response(status=400, text=dumps({"message": message}),
                            content_type="application/json", charset="utf-8")
    return result
