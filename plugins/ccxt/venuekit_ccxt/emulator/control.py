"""Driving a running emulator: :class:`BinanceControl` in Python, and the same over HTTP.

``emulator.control`` moves the market, forces quotes, sets balances, turns the mock venue's
faults on and off, and reads the ledger of truth (what the venue really did, whatever its
answers said), naming orders by their Binance order ids. Its methods may be called from
any thread: when the emulator runs on another thread's event loop
(:func:`~.server.run_in_thread`), each call is handed to that loop and waited for.

Rows: :meth:`BinanceControl.orders` gives every order the engine accepted, oldest first,
as ``{"orderId", "clientOrderId", "symbol", "side" ("BUY"/"SELL"), "type" ("LIMIT",
"LIMIT_MAKER", "MARKET"), "timeInForce", "origQty", "price" (None for a market order),
"quoteOrderQty" (None unless asked for), "replaces" (the orderId a cancel-replace
cancelled, or None), "orderIndex"}``; :meth:`BinanceControl.fills` every fill, oldest
first, as ``{"tradeId", "orderId", "clientOrderId", "symbol", "side", "qty", "price",
"commission", "commissionAsset", "time" (ms)}``. Amounts are decimal strings.

The HTTP form, for an emulator in another process (``venuekit emulate binance``), lives
under ``/_venuekit/`` and takes the headers ``X-MBX-APIKEY`` (the API key) and
``X-MBX-SECRET-KEY`` (the secret key). It is never rate limited and never faulted:

=====================================  ===============================================
``GET  /_venuekit/ledger``             orders, fills, cancels, replaces, rejects, faults,
                                       duplicate client order ids, 429 and 418 counts
``POST /_venuekit/quote``              ``{"symbol", "bid", "ask", "bid_size"?, "ask_size"?}``
``POST /_venuekit/advance``            ``{"steps": 1}``
``POST /_venuekit/end_session``        the session closes (no effect on GTC orders)
``POST /_venuekit/cash``               ``{"amount": "100000"}`` (USDT)
``POST /_venuekit/balance``            ``{"asset": "BNB", "amount": "5"}``
``POST /_venuekit/position``           ``{"symbol", "quantity", "average_price"?}``
``POST /_venuekit/faults``             ``{"clear"?, "probabilities"?: {fault: p},
                                       "schedule"?: {fault: [order indices]}}``
``POST /_venuekit/auth_failure``       ``{"enabled": true}``
``POST /_venuekit/disconnect_stream``  drop every websocket connection now
``POST /_venuekit/rate_limit``         ``{"weight_limit"?, "orders_per_10s"?, "reset"?}``
=====================================  ===============================================

Amounts are decimal strings (floats are refused); answers are JSON, errors
``{"message": ...}`` with status 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from aiohttp import web

from venuekit.errors import VenueKitError
from venuekit_mock.emulation import Amount, SimulatorControl, control_amount
from venuekit_mock.sim import Statistics

from . import payloads
from .jsonio import dumps, millis, number_text
from .records import binance_client_id
from .state import EmulatorState
from .views import BinanceView

__all__ = ["BinanceControl", "BinanceStatistics", "ControlApi", "control_errors"]


@dataclass(frozen=True, slots=True)
class BinanceStatistics(Statistics):
    """The mock venue's statistics, with the rate-limit answers the emulator gave."""

    responses_429: int = 0
    responses_418: int = 0


class BinanceControl(SimulatorControl):
    """Market control and the ledger of truth of one :class:`BinanceEmulator`."""

    def __init__(self, state: EmulatorState, view: BinanceView) -> None:
        super().__init__(state)
        self._state = state
        self._view = view

    # balances ------------------------------------------------------------------------
    def _changed(self, *assets: str) -> None:
        """Tell the user-data subscribers (``outboundAccountPosition``)."""
        ms = self._state.server_ms()
        self._state.broadcast(payloads.account_position(self._view.balances(assets), ms))

    def set_cash(self, amount: Amount) -> None:
        """Set the USDT balance (free plus locked)."""
        self.set_balance(self._state.account.currency, amount)

    def set_balance(self, asset: str, amount: Amount) -> None:
        """Set any asset's balance: USDT (the cash), a pair's base asset (its position) or
        another asset."""
        def change() -> None:
            self._state.account.set_balance(asset, control_amount(amount))
            self._mock.set_cash(self._state.account.cash)  # saves the state
            self._changed(asset)
        self._call(change)

    def set_position(self, symbol: str, quantity: Amount,
                     average_price: Amount | None = None) -> None:
        """Set the balance of ``symbol``'s base asset (with an average price)."""
        def change() -> None:
            self._mock.set_position(symbol, quantity, average_price)
            self._changed(self._state.account.base_of[symbol])
        self._call(change)

    # faults --------------------------------------------------------------------------
    def disconnect_stream(self) -> None:
        """Drop every websocket connection now, without a close frame."""
        def drop() -> None:
            self._mock.disconnect_stream()
            for request in list(self._state.connections.values()):
                transport = request.transport
                if transport is not None:
                    transport.abort()
        self._call(drop)

    def set_rate_limits(self, *, weight_limit: int | None = None,
                        orders_per_10s: int | None = None, orders_per_day: int | None = None,
                        reset: bool = False) -> None:
        """Change the limits and/or forget every charge, count and ban."""
        def change() -> None:
            limiter = self._state.limiter
            for name, value in (("weight_limit", weight_limit),
                                ("orders_per_10s", orders_per_10s),
                                ("orders_per_day", orders_per_day)):
                if value is not None:
                    if value < 1:
                        raise ValueError(f"{name} must be at least 1")
                    setattr(limiter, name, value)
            if reset:
                limiter.reset()
        self._call(change)

    # truth ---------------------------------------------------------------------------
    def statistics(self) -> BinanceStatistics:
        def read() -> BinanceStatistics:
            base = self._mock.statistics()
            values = {f.name: getattr(base, f.name) for f in fields(Statistics)}
            limiter = self._state.limiter
            return BinanceStatistics(**values, responses_429=limiter.responses_429,
                                     responses_418=limiter.responses_418)
        return self._call(read)

    def order_id(self, venue_order_id: str) -> int:
        """The Binance order id of a ledger order."""
        return self._call(self._view.order_id, venue_order_id)

    def ledger_id(self, order_id: int) -> str | None:
        """The ledger's id for a Binance order id, or None when the engine never made it
        (an expired fill-or-kill order included)."""
        def find() -> str | None:
            target = self._state.account.records.locate(order_id)
            if not isinstance(target, str):
                return None
            try:
                self._state.venue.simulator.order(target)
            except VenueKitError:
                return None
            return target
        return self._call(find)

    def orders(self) -> list[dict[str, Any]]:
        """Every order the engine accepted, oldest first (see the module documentation)."""
        return self._call(self._ledger_json)["orders"]  # type: ignore[no-any-return]

    def fills(self) -> list[dict[str, Any]]:
        """Every fill, oldest first (see the module documentation)."""
        return self._call(self._ledger_json)["fills"]  # type: ignore[no-any-return]

    @property
    def stream_connections(self) -> int:
        return len(self._state.connections)

    @property
    def stream_subscribers(self) -> int:
        """User-data subscriptions open now."""
        return len(self._state.listeners)

    def _ledger_json(self) -> dict[str, Any]:
        ledger = self._mock.ledger
        view = self._view
        money = number_text

        def opt(value: Decimal | None) -> str | None:
            return None if value is None else money(value)

        orders = []
        for o in ledger.orders:
            meta = view.meta(o.client_order_id, o.venue_order_id)
            orders.append({
                "orderId": view.order_id(o.venue_order_id),
                "clientOrderId": meta.client_order_id, "symbol": o.symbol,
                "side": o.side.value.upper(), "type": meta.type,
                "timeInForce": meta.time_in_force, "origQty": money(o.quantity),
                "price": opt(o.limit_price), "quoteOrderQty": opt(meta.quote_order_qty),
                "replaces": meta.replaces, "orderIndex": o.order_index})
        fills = []
        for index in range(len(ledger.fills)):
            f = view.fill(index)
            fills.append({"tradeId": f.trade_id, "orderId": f.order_id,
                          "clientOrderId": binance_client_id(f.record.client_order_id or ""),
                          "symbol": f.symbol, "side": f.side, "qty": money(f.quantity),
                          "price": money(f.price), "commission": money(f.commission),
                          "commissionAsset": f.commission_asset, "time": f.time_ms})
        counts: dict[str, int] = {}
        for row in orders:
            cid = str(row["clientOrderId"])
            counts[cid] = counts.get(cid, 0) + 1
        limiter = self._state.limiter
        return {
            "orders": orders, "fills": fills,
            "cancels": [{"orderId": view.order_id(c.venue_order_id),
                         "clientOrderId": binance_client_id(c.client_order_id or ""),
                         "kind": c.kind, "remaining": money(c.remaining),
                         "time": millis(c.at)} for c in ledger.cancels],
            "replaces": [{"oldOrderId": row["replaces"], "newOrderId": row["orderId"]}
                         for row in orders if row["replaces"] is not None],
            "rejects": [{"orderIndex": r.order_index,
                         "clientOrderId": binance_client_id(r.client_order_id or ""),
                         "symbol": r.symbol, "side": r.side.value.upper(),
                         "qty": money(r.quantity), "code": r.code, "message": r.message}
                        for r in ledger.rejects],
            "faults": [{"kind": f.kind, "operation": f.operation,
                        "orderIndex": f.order_index,
                        "orderId": view.order_id(f.venue_order_id)
                        if f.venue_order_id else None, "detail": f.detail}
                       for f in ledger.faults],
            "duplicate_client_order_ids": {cid: n for cid, n in counts.items() if n > 1},
            "responses_429": limiter.responses_429, "responses_418": limiter.responses_418,
        }


class ControlApi:
    """The HTTP form of :class:`BinanceControl`, under ``/_venuekit/``."""

    PREFIX = "/_venuekit"

    def __init__(self, control: BinanceControl) -> None:
        self.control = control

    def routes(self) -> list[web.RouteDef]:
        p = self.PREFIX
        posts = {"quote": self.quote, "advance": self.advance,
                 "end_session": self.end_session, "cash": self.cash,
                 "balance": self.balance, "position": self.position, "faults": self.faults,
                 "auth_failure": self.auth_failure,
                 "disconnect_stream": self.disconnect_stream, "rate_limit": self.rate_limit}
        return [web.get(f"{p}/ledger", self.ledger),
                *(web.post(f"{p}/{name}", handler) for name, handler in posts.items())]

    @staticmethod
    def _ok(body: Any = None) -> web.Response:
        return web.Response(text=dumps(body if body is not None else {"ok": True}),
                            content_type="application/json")

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        text = await request.text()
        body = json.loads(text) if text.strip() else {}  # floats stay floats: refused
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    async def ledger(self, request: web.Request) -> web.Response:
        return self._ok(self.control._ledger_json())

    async def quote(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        sizes = [None if b.get(k) is None else control_amount(b[k])
                 for k in ("bid_size", "ask_size")]
        self.control.set_quote(str(b["symbol"]), control_amount(b["bid"]),
                               control_amount(b["ask"]), *sizes)
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

    async def balance(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        self.control.set_balance(str(b["asset"]), control_amount(b["amount"]))
        return self._ok()

    async def position(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        average = b.get("average_price")
        self.control.set_position(str(b["symbol"]), control_amount(b["quantity"]),
                                  None if average is None else control_amount(average))
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
        self.control.fail_authentication(bool((await self._body(request)).get("enabled",
                                                                               True)))
        return self._ok()

    async def disconnect_stream(self, request: web.Request) -> web.Response:
        self.control.disconnect_stream()
        return self._ok()

    async def rate_limit(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        limits = {k: int(b[k]) for k in ("weight_limit", "orders_per_10s", "orders_per_day")
                  if b.get(k) is not None}
        self.control.set_rate_limits(**limits, reset=bool(b.get("reset")))
        return self._ok()


async def control_errors(request: web.Request, call: Callable[[], Any]) -> web.StreamResponse:
    """Run a control handler; a bad request is a 400 with ``{"message": ...}``."""
    try:
        result: web.StreamResponse = await call()
    except (KeyError, ValueError, TypeError, ArithmeticError, VenueKitError) as exc:
        message = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return web.Response(status=400, text=dumps({"message": message}),
                            content_type="application/json")
    return result
