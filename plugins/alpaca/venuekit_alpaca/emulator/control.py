"""Driving a running emulator: :class:`AlpacaControl` in Python, and the same over HTTP.

``emulator.control`` moves the market, forces quotes, sets cash and positions, turns the
mock venue's faults on and off, and reads the ledger of truth (what the venue really did,
whatever its answers said). Its methods may be called from any thread: when the emulator
runs on another thread's event loop (:func:`~.server.run_in_thread`), each call is handed
to that loop and waited for, so the simulator is only ever touched from its own loop.

Ledger views name orders by their Alpaca ids (UUIDs), as the client sees them.

The HTTP form, for an emulator in another process (``venuekit emulate alpaca``), lives
under ``/_venuekit/`` and takes the same ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY``
headers as the API. It is never rate limited and never faulted:

=====================================  ===============================================
``GET  /_venuekit/ledger``             orders, fills, cancels, replaces, rejects, faults
``POST /_venuekit/quote``              ``{"symbol", "bid", "ask", "bid_size"?, "ask_size"?}``
``POST /_venuekit/advance``            ``{"steps": 1}``
``POST /_venuekit/end_session``        the session closes: ``cls`` orders execute, then
                                       working DAY orders expire; each symbol's next
                                       quote opens the next session (``opg`` orders)
``POST /_venuekit/cash``               ``{"amount": "100000"}``
``POST /_venuekit/position``           ``{"symbol", "quantity", "average_price"?}``
``POST /_venuekit/faults``             ``{"clear"?, "probabilities"?: {fault: p},
                                       "schedule"?: {fault: [order indices]},
                                       "auth_failure"?: bool}``
``POST /_venuekit/disconnect_stream``  drop every ``/stream`` connection now
``POST /_venuekit/rate_limit``         ``{"limit"?: 200, "reset"?: true}``
=====================================  ===============================================

Amounts are decimal strings (floats are refused); answers are JSON, errors
``{"message": ...}`` with status 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from venuekit.errors import VenueKitError
from venuekit_mock.emulation import Amount, SimulatorControl, control_amount
from venuekit_mock.sim import Statistics

from .jsonio import dumps, number_text
from .payloads import time_in_force, timestamp
from .state import EmulatorState

__all__ = ["AlpacaControl", "ControlApi", "control_errors"]


class AlpacaControl(SimulatorControl):
    """Market control and the ledger of truth of one :class:`AlpacaEmulator`."""

    def __init__(self, state: EmulatorState) -> None:
        super().__init__(state)
        self._state = state

    # market --------------------------------------------------------------------------
    # Each change of the market is recorded into the price history as it happens, so that
    # bars follow every step (a market that moves on its own is recorded by the server).
    def advance(self, steps: int = 1) -> None:
        """Move the market ``steps`` steps, recording each one into the price history."""
        if steps < 0:
            raise ValueError("steps must be >= 0")

        def run() -> None:
            for _ in range(steps):
                self._mock.advance(1)
                self._record()
        self._call(run)

    def set_quote(self, symbol: str, bid: Amount, ask: Amount, bid_size: Amount | None = None,
                  ask_size: Amount | None = None) -> None:
        super().set_quote(symbol, bid, ask, bid_size, ask_size)
        self._call(self._record)

    def _record(self) -> None:
        sim = self._state.venue.simulator
        self._state.history.observe_books(sim.market.books, sim.now())

    # account -------------------------------------------------------------------------
    def set_cash(self, amount: Amount) -> None:
        self._call(self._mock.set_cash, amount)

    def set_position(self, symbol: str, quantity: Amount,
                     average_price: Amount | None = None) -> None:
        self._call(self._mock.set_position, symbol, quantity, average_price)

    # faults --------------------------------------------------------------------------
    def disconnect_stream(self) -> None:
        """Drop every ``/stream`` connection now, as a network failure would."""
        self._call(self._mock.disconnect_stream)

    def set_rate_limit(self, limit: int | None = None, *, reset: bool = False) -> None:
        """Change the requests-per-minute budget and/or forget the requests counted."""
        def change() -> None:
            budget = self._state.budget
            if limit is not None:
                if limit < 1:
                    raise ValueError("the rate limit must allow at least one request")
                budget.limit = limit
            if reset:
                budget.reset()
        self._call(change)

    # truth ---------------------------------------------------------------------------
    def statistics(self) -> Statistics:
        return self._call(self._mock.statistics)

    def order_id(self, venue_order_id: str) -> str:
        """The Alpaca id (UUID) of a ledger order."""
        return self._state.ids.order_uuid(venue_order_id)

    def ledger_id(self, order_id: str) -> str | None:
        """The ledger's id for an Alpaca order id, or None when the emulator never made it."""
        return self._state.ids.order_record(order_id)

    def orders(self) -> list[dict[str, Any]]:
        """Every accepted order as it was accepted, oldest first, with Alpaca ids."""
        return self._call(self._ledger_json)["orders"]  # type: ignore[no-any-return]

    def fills(self) -> list[dict[str, Any]]:
        """Every execution, oldest first, with Alpaca order and execution ids."""
        return self._call(self._ledger_json)["fills"]  # type: ignore[no-any-return]

    @property
    def stream_connections(self) -> int:
        """Open ``/stream`` websocket connections."""
        return len(self._state.connections)

    @property
    def stream_subscribers(self) -> int:
        """Connections listening to ``trade_updates``."""
        return self._mock.stream_subscribers

    def _ledger_json(self) -> dict[str, Any]:
        ledger = self._mock.ledger
        ids = self._state.ids
        money = number_text

        def opt(value: Decimal | None) -> str | None:
            return None if value is None else money(value)

        return {
            "orders": [{"id": ids.order_uuid(o.venue_order_id),
                        "ledger_id": o.venue_order_id,
                        "client_order_id": o.client_order_id, "order_index": o.order_index,
                        "symbol": o.symbol, "side": o.side.value,
                        "type": o.order_type.value, "time_in_force": time_in_force(o),
                        "qty": money(o.quantity), "limit_price": opt(o.limit_price),
                        "replaces": ids.order_uuid(o.replaces) if o.replaces else None,
                        "created_at": timestamp(o.created_at)}
                       for o in ledger.orders],
            "fills": [{"execution_id": ids.execution_uuid(f.trade_id),
                       "order_id": ids.order_uuid(f.venue_order_id),
                       "client_order_id": f.client_order_id, "symbol": f.symbol,
                       "side": f.side.value, "qty": money(f.quantity),
                       "price": money(f.price), "fee": money(f.fee),
                       "timestamp": timestamp(f.at)} for f in ledger.fills],
            "cancels": [{"order_id": ids.order_uuid(c.venue_order_id),
                         "client_order_id": c.client_order_id, "kind": c.kind,
                         "remaining": money(c.remaining), "timestamp": timestamp(c.at)}
                        for c in ledger.cancels],
            "replaces": [{"old_order_id": ids.order_uuid(r.old_venue_order_id),
                          "new_order_id": ids.order_uuid(r.new_venue_order_id),
                          "timestamp": timestamp(r.at)} for r in ledger.replaces],
            "rejects": [{"order_index": r.order_index, "client_order_id": r.client_order_id,
                         "symbol": r.symbol, "side": r.side.value, "qty": money(r.quantity),
                         "code": r.code, "message": r.message} for r in ledger.rejects],
            "faults": [{"kind": f.kind, "operation": f.operation,
                        "order_index": f.order_index,
                        "order_id": ids.order_uuid(f.venue_order_id)
                        if f.venue_order_id else None, "detail": f.detail}
                       for f in ledger.faults],
            "duplicate_client_order_ids": ledger.duplicate_client_ids(),
        }


class ControlApi:
    """The HTTP form of :class:`AlpacaControl`, under ``/_venuekit/``."""

    PREFIX = "/_venuekit"

    def __init__(self, control: AlpacaControl) -> None:
        self.control = control

    def routes(self) -> list[web.RouteDef]:
        p = self.PREFIX
        return [web.get(f"{p}/ledger", self.ledger), web.post(f"{p}/quote", self.quote),
                web.post(f"{p}/advance", self.advance),
                web.post(f"{p}/end_session", self.end_session),
                web.post(f"{p}/cash", self.cash), web.post(f"{p}/position", self.position),
                web.post(f"{p}/faults", self.faults),
                web.post(f"{p}/disconnect_stream", self.disconnect_stream),
                web.post(f"{p}/rate_limit", self.rate_limit)]

    @staticmethod
    def _ok(body: Any = None) -> web.Response:
        return web.Response(text=dumps(body if body is not None else {"ok": True}),
                            content_type="application/json")

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        text = await request.text()
        # Plain JSON numbers stay floats here, so that _amount can refuse them.
        body = json.loads(text) if text.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    async def ledger(self, request: web.Request) -> web.Response:
        return self._ok(self.control._ledger_json())

    async def quote(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        self.control.set_quote(str(b["symbol"]), control_amount(b["bid"]), control_amount(b["ask"]),
                               _optional(b.get("bid_size")), _optional(b.get("ask_size")))
        return self._ok()

    async def advance(self, request: web.Request) -> web.Response:
        steps = (await self._body(request)).get("steps", 1)
        self.control.advance(int(steps))
        return self._ok()

    async def end_session(self, request: web.Request) -> web.Response:
        self.control.end_session()
        return self._ok()

    async def cash(self, request: web.Request) -> web.Response:
        self.control.set_cash(control_amount((await self._body(request))["amount"]))
        return self._ok()

    async def position(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        self.control.set_position(str(b["symbol"]), control_amount(b["quantity"]),
                                  _optional(b.get("average_price")))
        return self._ok()

    async def faults(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        if b.get("clear"):
            self.control.clear_faults()
        for fault, probability in dict(b.get("probabilities") or {}).items():
            self.control.set_fault(str(fault), control_amount(probability))
        for fault, indices in dict(b.get("schedule") or {}).items():
            self.control.script_fault(str(fault), *(int(i) for i in indices))
        if "auth_failure" in b:
            self.control.fail_authentication(bool(b["auth_failure"]))
        return self._ok()

    async def disconnect_stream(self, request: web.Request) -> web.Response:
        self.control.disconnect_stream()
        return self._ok()

    async def rate_limit(self, request: web.Request) -> web.Response:
        b = await self._body(request)
        limit = b.get("limit")
        self.control.set_rate_limit(int(limit) if limit is not None else None,
                                    reset=bool(b.get("reset")))
        return self._ok()


def _optional(value: object) -> Decimal | None:
    return None if value is None else control_amount(value)


async def control_errors(request: web.Request, call: Callable[[], Any]) -> web.StreamResponse:
    """Run a control handler; a bad request is a 400 with ``{"message": ...}``."""
    try:
        result: web.StreamResponse = await call()
    except (KeyError, ValueError, TypeError, ArithmeticError, VenueKitError) as exc:
        message = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return web.Response(status=400, text=dumps({"message": message}),
                            content_type="application/json")
    return result

