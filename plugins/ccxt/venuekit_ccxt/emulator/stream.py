"""The WebSocket API at ``/ws-api/v3``: the user data stream, as ccxt.pro subscribes to it.

Requests are JSON text frames ``{"id", "method", "params"}``; answers echo the ``id`` with
``status`` and ``result`` (or ``error{code, msg}``) and ``rateLimits`` (the IP's request
weight, shared with REST). Methods:

* ``userDataStream.subscribe.signature``: ``apiKey``, ``timestamp``, ``recvWindow``?,
  ``signature`` (HMAC-SHA256 of the other parameters sorted by name) → ``{"subscriptionId":
  n}`` (0 for the first on a connection). Bad key ``-2014``/``-2015`` (401), bad signature
  ``-1022``, stale timestamp ``-1021`` (400); a second subscription ``-2035``;
* ``session.logon`` (HMAC-signed the same way here; Binance takes only Ed25519 keys),
  ``session.status``, ``session.logout``, ``userDataStream.subscribe`` (after a logon),
  ``userDataStream.unsubscribe`` (``subscriptionId``? → ``eventStreamTerminated``),
  ``session.subscriptions``, ``ping``, ``time``.

Then every change of every order arrives as ``{"subscriptionId": n, "event":
{"e": "executionReport", ...}}`` (``x`` NEW, TRADE, CANCELED, EXPIRED or REJECTED, with
every field Binance sends; ``n``/``N`` the fill's commission, ``Z`` the exact cumulative
quote quantity), each followed, when the order's change moves balances, by an
``outboundAccountPosition`` with the free and locked balances of the assets involved at
the moment it is sent. Ping frames are answered with pongs.

Events come from the mock venue's order stream, so its stream delay and stream faults
(``duplicate_event``, ``out_of_order``, ``lose_final_fill``, ``stream_disconnect``) apply; a
disconnect drops the TCP connection without a close frame, as a network failure does
(so does ``control.disconnect_stream()``, for every connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from venuekit.errors import VenueKitError
from venuekit.model import OrderState, OrderUpdate

from . import errors, payloads, signing
from .jsonio import dumps, millis
from .state import EmulatorState
from .symbols import QUOTE
from .views import BinanceView

__all__ = ["UserDataApi"]

log = logging.getLogger("venuekit_ccxt.emulator.stream")

_EXECUTION = {OrderState.ACKNOWLEDGED: "NEW", OrderState.CANCELLED: "CANCELED",
              OrderState.REPLACED: "CANCELED", OrderState.EXPIRED: "EXPIRED",
              OrderState.REJECTED: "REJECTED"}
_MOVES_BALANCES = ("NEW", "TRADE", "CANCELED", "EXPIRED")
_CLOSE_TIMEOUT = 1.0
"""Seconds a closing connection waits for the client's close frame."""
_WEIGHTS = {"session.logon": 2, "session.status": 2, "session.logout": 2,
            "userDataStream.subscribe": 2, "userDataStream.subscribe.signature": 2,
            "userDataStream.unsubscribe": 2, "session.subscriptions": 2, "ping": 1,
            "time": 1}


@dataclass(eq=False)
class _Subscription:
    number: int
    updates: AsyncIterator[OrderUpdate]
    outbox: asyncio.Queue[dict[str, Any] | OrderUpdate] = field(
        default_factory=asyncio.Queue)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def push(self, event: dict[str, Any]) -> None:
        self.outbox.put_nowait(event)


@dataclass(eq=False)
class _Session:
    ws: web.WebSocketResponse
    request: web.Request
    connected_ms: int
    api_key: str | None = None
    authorized_ms: int | None = None
    subscriptions: dict[int, _Subscription] = field(default_factory=dict)
    next_number: int = 0


class UserDataApi:
    """Serves ``/ws-api/v3`` connections for one emulator."""

    PATH = "/ws-api/v3"

    def __init__(self, state: EmulatorState, view: BinanceView) -> None:
        self.state = state
        self.view = view

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, timeout=_CLOSE_TIMEOUT)
        await ws.prepare(request)
        session = _Session(ws, request, self.state.server_ms())
        self.state.connections[ws] = request
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._request(session, message.data)
                elif message.type is WSMsgType.BINARY:
                    await self._answer(session, None, errors.BinanceError(
                        400, -1135, "Invalid JSON Request"))
        finally:
            for number in list(session.subscriptions):
                await self._stop(session, number, notify=False)
            self.state.connections.pop(ws, None)
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws

    # requests ------------------------------------------------------------------------
    async def _answer(self, session: _Session, request_id: Any, result: Any) -> None:
        ip = session.request.remote or "unknown"
        limits = [r for r in self.state.limiter.rate_limits(ip)
                  if r["rateLimitType"] == "REQUEST_WEIGHT"]
        if isinstance(result, errors.BinanceError):
            body = {"id": request_id, "status": result.status, "error": result.short,
                    "rateLimits": limits}
        else:
            body = {"id": request_id, "status": 200, "result": result, "rateLimits": limits}
        if not session.ws.closed:
            await session.ws.send_str(dumps(body))

    async def _request(self, session: _Session, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("method"), str):
            await self._answer(session, None, errors.BinanceError(400, -1135,
                                                                  "Invalid JSON Request"))
            return
        request_id = frame.get("id")
        method = str(frame["method"]).removeprefix("v3/")
        params = frame.get("params") or {}
        if not isinstance(params, dict):
            await self._answer(session, request_id, errors.BinanceError(
                400, -1135, "JSON sent for parameter 'params' is not valid"))
            return
        decision = self.state.limiter.admit(session.request.remote or "unknown",
                                            _WEIGHTS.get(method, 2))
        try:
            if decision.refusal is not None:
                raise decision.refusal
            result = await self._call(session, method, params)
        except errors.BinanceError as exc:
            result = exc
        await self._answer(session, request_id, result)

    def _authorize(self, params: dict[str, Any]) -> str:
        """Check a signed ws-api request; returns its API key."""
        key = params.get("apiKey")
        signing.check_key(key if isinstance(key, str) else None, self.state.api_key)
        if self.state.venue.faults.auth_failure:
            raise errors.key_rejected()
        signature = params.get("signature")
        signing.verify(self.state.secret_key, signing.ws_payload(params),
                       signature if isinstance(signature, str) else None)
        signing.check_timestamp(params, self.state.server_ms())
        return str(key)

    async def _call(self, session: _Session, method: str, params: dict[str, Any]) -> Any:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self.state.server_ms()}
        if method == "session.logon":
            session.api_key = self._authorize(params)
            session.authorized_ms = self.state.server_ms()
            return self._status(session)
        if method == "session.status":
            return self._status(session)
        if method == "session.logout":
            session.api_key = session.authorized_ms = None
            return self._status(session)
        if method == "userDataStream.subscribe.signature":
            self._authorize(params)
            return self._subscribe(session)
        if method == "userDataStream.subscribe":
            if session.api_key is None:
                raise errors.BinanceError(401, -1002, "You are not authorized to execute "
                                          "this request.")
            return self._subscribe(session)
        if method == "userDataStream.unsubscribe":
            number = params.get("subscriptionId")
            for known in list(session.subscriptions):
                if number is None or number == known:
                    await self._stop(session, known, notify=True)
            return {}
        if method == "session.subscriptions":
            return [{"subscriptionId": n} for n in session.subscriptions]
        raise errors.BinanceError(400, -1020, "This operation is not supported.")

    def _status(self, session: _Session) -> dict[str, Any]:
        return {"apiKey": session.api_key, "authorizedSince": session.authorized_ms,
                "connectedSince": session.connected_ms, "returnRateLimits": True,
                "serverTime": self.state.server_ms(),
                "userDataStream": bool(session.subscriptions)}

    # subscriptions -------------------------------------------------------------------
    def _subscribe(self, session: _Session) -> dict[str, Any]:
        if session.subscriptions:
            raise errors.BinanceError(400, -2035, "User Data Stream subscription already "
                                      "active.")
        try:  # subscribed before the answer: nothing after it is missed
            updates = self.state.venue.order_updates()
        except VenueKitError:  # an injected authentication failure
            raise errors.key_rejected() from None
        number = session.next_number
        session.next_number += 1
        subscription = _Subscription(number, updates)
        session.subscriptions[number] = subscription
        self.state.listeners.add(subscription.push)
        subscription.tasks = [
            asyncio.create_task(self._pump(session, subscription),
                                name="binance-emulator-user-stream"),
            asyncio.create_task(self._write(session, subscription),
                                name="binance-emulator-user-stream-writer")]
        return {"subscriptionId": number}

    async def _stop(self, session: _Session, number: int, *, notify: bool) -> None:
        subscription = session.subscriptions.pop(number, None)
        if subscription is None:
            return
        self.state.listeners.discard(subscription.push)
        current = asyncio.current_task()
        for task in subscription.tasks:
            if task is not current:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        closer = getattr(subscription.updates, "aclose", None)
        if closer is not None:
            await closer()
        if notify and not session.ws.closed:
            event = {"e": "eventStreamTerminated", "E": self.state.server_ms()}
            await session.ws.send_str(dumps({"subscriptionId": number, "event": event}))

    async def _pump(self, session: _Session, subscription: _Subscription) -> None:
        """Move the venue's order updates into the subscription's outbox, in order."""
        try:
            async for update in subscription.updates:
                subscription.outbox.put_nowait(update)
        except VenueKitError:
            # The venue's stream broke (an injected disconnect): drop the connection the
            # way a network failure does, without a close frame.
            log.info("user data stream dropped", extra={"subscription": subscription.number})
            transport = session.request.transport
            if transport is not None:
                transport.abort()

    async def _write(self, session: _Session, subscription: _Subscription) -> None:
        while True:
            item = await subscription.outbox.get()
            events = [item] if isinstance(item, dict) else self._events(item)
            for event in events:
                if session.ws.closed:
                    return
                await session.ws.send_str(dumps({"subscriptionId": subscription.number,
                                                 "event": event}))

    def _events(self, update: OrderUpdate) -> list[dict[str, Any]]:
        """The executionReport for one order update, and the balances it moved."""
        view = self.view
        snapshot = update.order
        meta = view.meta(snapshot.client_order_id, snapshot.venue_order_id)
        order = view.order(snapshot, meta)
        fill = view.fill(view.fill_index(update.fill.trade_id)) \
            if update.fill is not None else None
        execution = "TRADE" if fill is not None else _EXECUTION.get(snapshot.state, "NEW")
        key = (snapshot.venue_order_id, execution, snapshot.filled_quantity,
               fill.trade_id if fill is not None else None)
        event_ms = millis(update.at)
        transact_ms = fill.time_ms if fill is not None \
            else millis(snapshot.updated_at or update.at)
        report = payloads.execution_report(order, execution, fill, event_ms=event_ms,
                                           transact_ms=transact_ms,
                                           execution_id=view.execution_id(key))
        if execution not in _MOVES_BALANCES:
            return [report]
        account = self.state.account
        assets = [account.base_of[snapshot.symbol], QUOTE]
        if fill is not None:
            assets.append(fill.commission_asset)
        return [report, payloads.account_position(view.balances(assets), event_ms)]
