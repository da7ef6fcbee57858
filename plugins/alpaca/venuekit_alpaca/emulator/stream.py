"""The ``/stream`` websocket: Alpaca's ``trade_updates`` for the simulator's order events.

Protocol (as alpaca-py 0.44 speaks it, and as Alpaca documents it):

1. The client authenticates, in either dialect:
   ``{"action": "authenticate", "data": {"key_id": K, "secret_key": S}}`` or
   ``{"action": "auth", "key": K, "secret": S}``. The answer is
   ``{"stream": "authorization", "data": {"status": "authorized"|"unauthorized",
   "action": "authenticate"}}``; after a refusal the connection is closed.
2. ``{"action": "listen", "data": {"streams": ["trade_updates"]}}`` is answered with
   ``{"stream": "listening", "data": {"streams": [...]}}``; from then on every order event
   is sent as ``{"stream": "trade_updates", "data": {...}}``. An empty list stops them.
   A listen before authentication gets the ``unauthorized`` answer with
   ``"action": "listen"``.

Every server message is a binary frame holding JSON, as the real server sends them. Events
come from the mock venue's order stream, so its stream faults (``stream_disconnect``,
``duplicate_event``, ``out_of_order``, ``lose_final_fill``) and its stream delay apply; a
disconnect drops the TCP connection without a close frame, as a network failure does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from venuekit.errors import VenueKitError
from venuekit.model import OrderState, OrderUpdate
from venuekit_mock.sim import OrderView

from . import order_classes, payloads
from .jsonio import dumps
from .state import EmulatorState

__all__ = ["TradeStream"]

log = logging.getLogger("venuekit_alpaca.emulator.stream")

ZERO = Decimal(0)


class TradeStream:
    """Serves ``/stream`` connections for one emulator."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._connections = state.connections

    @property
    def connections(self) -> int:
        """Open websocket connections (authenticated or not)."""
        return len(self._connections)

    async def close_all(self) -> None:
        for ws in list(self._connections):
            with contextlib.suppress(Exception):
                await ws.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self._connections.add(ws)
        forwarder: asyncio.Task[None] | None = None
        authorized = False
        try:
            async for message in ws:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                try:
                    frame = json.loads(message.data)
                except ValueError:
                    await self._send(ws, {"action": "error",
                                          "data": {"error_message": "invalid syntax"}})
                    continue
                action = frame.get("action") if isinstance(frame, dict) else None
                if action in ("authenticate", "auth"):
                    authorized = self._credentials_ok(frame)
                    status = "authorized" if authorized else "unauthorized"
                    await self._send(ws, {"stream": "authorization",
                                          "data": {"status": status,
                                                   "action": "authenticate"}})
                    if not authorized:
                        break
                elif action == "listen":
                    if not authorized:
                        await self._send(ws, {"stream": "authorization",
                                              "data": {"status": "unauthorized",
                                                       "action": "listen"}})
                        continue
                    streams = self._streams(frame)
                    if forwarder is not None and "trade_updates" not in streams:
                        forwarder.cancel()
                        forwarder = None
                    elif forwarder is None and "trade_updates" in streams:
                        forwarder = self._listen(ws, request)
                    await self._send(ws, {"stream": "listening", "data": {"streams": streams}})
                else:
                    await self._send(ws, {"action": "error",
                                          "data": {"error_message": "invalid action"}})
        finally:
            if forwarder is not None:
                forwarder.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await forwarder
            self._connections.discard(ws)
            if not ws.closed:
                await ws.close()
        return ws

    def _credentials_ok(self, frame: dict[str, Any]) -> bool:
        if frame.get("action") == "auth":
            key, secret = frame.get("key"), frame.get("secret")
        else:
            data = frame.get("data")
            data = data if isinstance(data, dict) else {}
            key, secret = data.get("key_id"), data.get("secret_key")
        return self.state.credentials_match(key, secret)

    @staticmethod
    def _streams(frame: dict[str, Any]) -> list[str]:
        data = frame.get("data")
        streams = data.get("streams") if isinstance(data, dict) else None
        if not isinstance(streams, list):
            return []
        return [s for s in streams if s == "trade_updates"]

    @staticmethod
    async def _send(ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        await ws.send_bytes(dumps(message).encode())

    def _listen(self, ws: web.WebSocketResponse,
                request: web.Request) -> asyncio.Task[None] | None:
        """Subscribe to the venue's order stream now (so that nothing that happens after
        the listen answer is missed) and relay it from a task."""
        try:
            updates = self.state.venue.order_updates()
        except VenueKitError:  # the venue refuses the credentials (an injected fault)
            return asyncio.create_task(self._refuse(ws))
        return asyncio.create_task(self._forward(ws, request, updates),
                                   name="alpaca-emulator-trade-updates")

    async def _refuse(self, ws: web.WebSocketResponse) -> None:
        await self._send(ws, {"action": "error",
                              "data": {"error_message": "internal server error"}})
        await ws.close()

    async def _forward(self, ws: web.WebSocketResponse, request: web.Request,
                       updates: AsyncIterator[OrderUpdate]) -> None:
        """Relay the venue's order events to one listening connection."""
        try:
            async for update in updates:
                message = self._message(update)
                if message is not None and not ws.closed:
                    await self._send(ws, message)
        except VenueKitError:
            # The venue's stream broke (an injected disconnect): drop the connection the
            # way a network failure does, without a close frame.
            log.info("stream connection dropped", extra={"venue": "alpaca-emulator"})
            transport = request.transport
            if transport is not None:
                transport.abort()
        finally:
            closer = getattr(updates, "aclose", None)
            if closer is not None:
                await closer()

    def _message(self, update: OrderUpdate) -> dict[str, Any] | None:
        sim = self.state.venue.simulator
        snap = update.order
        current: OrderView = sim.order(snap.venue_order_id)
        filled = snap.filled_quantity
        notional = filled * snap.average_price if snap.average_price is not None else ZERO
        view = current._replace(state=snap.state, filled_quantity=filled,
                                filled_notional=notional,
                                updated_at=snap.updated_at or update.at,
                                replaced_by=current.replaced_by
                                if snap.state is OrderState.REPLACED else None)
        fill = None
        position = None
        if update.fill is not None:
            fill = self._sim_fill(update.fill.trade_id)
            position = self._position_after(fill.trade_id, fill.symbol) if fill else None
        root = current if current.parent is None else sim.order(current.parent)
        return payloads.trade_update(view, self.state.ids, update.at, fill, position,
                                     notional=self.state.notional.get(
                                         snap.venue_order_id),
                                     average_price=snap.average_price,
                                     order_class=order_classes.order_class(current, root))

    def _sim_fill(self, trade_id: str) -> Any:
        for fill in reversed(self.state.venue.simulator.ledger.fills):
            if fill.trade_id == trade_id:
                return fill
        return None

    def _position_after(self, trade_id: str, symbol: str) -> Decimal:
        """The position in ``symbol`` right after trade ``trade_id``: today's position less
        the trades booked since."""
        sim = self.state.venue.simulator
        position = sim.account.position(symbol)
        for fill in reversed(sim.ledger.fills):
            if fill.trade_id == trade_id:
                break
            if fill.symbol == symbol:
                position -= fill.quantity if fill.side.value == "buy" else -fill.quantity
        return position
