"""The websocket at ``/tryitout`` (and ``/``): execution notices, as KIS sends them.

Clients send JSON text frames ``{"header": {"approval_key", "custtype", "tr_type",
"content-type"}, "body": {"input": {"tr_id", "tr_key"}}}``; ``tr_type`` ``"1"`` subscribes,
``"2"`` unsubscribes. Answers:

* ``H0STCNI9`` with ``tr_key`` the HTS id: the ack ``{"header": {"tr_id", "tr_key",
  "encrypt": "Y"}, "body": {"rt_cd": "0", "msg_cd": "OPSP0000", "msg1": "SUBSCRIBE SUCCESS",
  "output": {"iv", "key"}}}`` with a fresh key and vector (:mod:`.cipher`), then a data frame
  ``1|H0STCNI9|001|<base64 ciphertext>`` per notice (:mod:`.notices`). Unsubscribing answers
  ``OPSP0001`` ``UNSUBSCRIBE SUCCESS``; subscribing twice ``OPSP0002``; unsubscribing what is
  not subscribed ``OPSP0003``;
* ``H0GSCNI9`` (overseas notices, which python-kis asks for) is acked the same way and
  never sends data;
* errors, each the emulator's choice of code and text, in a frame ``{"header": {"tr_id",
  "tr_key", "encrypt": "N"}, "body": {"rt_cd": "1", "msg_cd", "msg1"}}``: an approval key
  the emulator never issued (``OPSP0011``; the connection is then closed), the real
  server's ``H0STCNI0`` or any other tr_id (``OPSP0010``), a ``tr_key`` other than the HTS
  id (``OPSP0009``), a frame that is not such JSON (``OPSP0012``), more than 40
  subscriptions on one connection (``OPSP0008``).

Every ``heartbeat`` seconds (10 by default; 0 turns it off) the server sends
``{"header": {"tr_id": "PINGPONG", "datetime": "YYYYMMDDHHMMSS"}}`` (KST). A client may echo
it as text or answer with a pong frame; it need do neither. Ping frames are answered with
pongs.

Notices come from the mock venue's order stream, so its stream delay and stream faults
(``duplicate_event``, ``out_of_order``, ``lose_final_fill``, ``stream_disconnect``) apply;
a disconnect drops the TCP connection without a close frame, as a network failure does
(``control.disconnect_stream()`` does it to every connection).
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
from venuekit.model import OrderUpdate

from .cipher import SubscriptionKey, encrypt
from .jsonio import dumps
from .kst import compact
from .notices import notices_for, record
from .state import EmulatorState

__all__ = ["NoticeStream"]

log = logging.getLogger("venuekit_kis.emulator.stream")

NOTICES = "H0STCNI9"
OVERSEAS_NOTICES = "H0GSCNI9"
MAX_SUBSCRIPTIONS = 40
_CLOSE_TIMEOUT = 1.0

# The error codes and texts below are the emulator's choice.
_BAD_APPROVAL = ("OPSP0011", "invalid approval : NOT FOUND")
_BAD_TR_ID = ("OPSP0010", "invalid tr_id")
_BAD_TR_KEY = ("OPSP0009", "invalid tr_key")
_BAD_FRAME = ("OPSP0012", "invalid request : JSON PARSING ERROR")
_TOO_MANY = ("OPSP0008", "MAX SUBSCRIBE OVER")


@dataclass(eq=False)
class _Subscription:
    tr_id: str
    tr_key: str
    secret: SubscriptionKey
    updates: AsyncIterator[OrderUpdate] | None
    outbox: asyncio.Queue[OrderUpdate] = field(default_factory=asyncio.Queue)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def push(self, update: OrderUpdate) -> None:
        self.outbox.put_nowait(update)


@dataclass(eq=False)
class _Session:
    ws: web.WebSocketResponse
    request: web.Request
    subscriptions: dict[tuple[str, str], _Subscription] = field(default_factory=dict)

    def abort(self) -> None:
        """Drop the connection without a close frame (a network failure)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


def _control(tr_id: str, tr_key: str, rt_cd: str, code: str, message: str,
             output: dict[str, str] | None = None, encrypt_flag: str = "N") -> str:
    body: dict[str, Any] = {"rt_cd": rt_cd, "msg_cd": code, "msg1": message}
    if output is not None:
        body["output"] = output
    return dumps({"header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": encrypt_flag},
                  "body": body})


class NoticeStream:
    """Serves the notice websocket of one emulator."""

    PATHS = ("/tryitout", "/")

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=True, timeout=_CLOSE_TIMEOUT)
        if not ws.can_prepare(request).ok:
            return web.json_response({"rt_cd": "1", "msg_cd": "OPSP0012",
                                      "msg1": "websocket upgrade required"}, status=400)
        await ws.prepare(request)
        session = _Session(ws, request)
        self.state.connections[ws] = request
        beat = asyncio.create_task(self._heartbeat(session), name="kis-emulator-heartbeat") \
            if self.state.heartbeat > 0 else None
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._frame(session, message.data)
        finally:
            if beat is not None:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat
            for key in list(session.subscriptions):
                await self._stop(session, key)
            self.state.connections.pop(ws, None)
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws

    async def _heartbeat(self, session: _Session) -> None:
        while not session.ws.closed:
            await asyncio.sleep(self.state.heartbeat)
            frame = dumps({"header": {"tr_id": "PINGPONG",
                                      "datetime": compact(self.state.now())}})
            with contextlib.suppress(ConnectionError, RuntimeError):
                await session.ws.send_str(frame)

    # frames --------------------------------------------------------------------------
    async def _send(self, session: _Session, text: str) -> None:
        if not session.ws.closed:
            with contextlib.suppress(ConnectionError):
                await session.ws.send_str(text)

    async def _frame(self, session: _Session, text: str) -> None:
        try:
            frame = json.loads(text)
            header = frame["header"]
            if header.get("tr_id") == "PINGPONG":
                return  # a client's echo of the heartbeat
            body_input = frame["body"]["input"]
            tr_id, tr_key = str(body_input["tr_id"]), str(body_input["tr_key"])
            approval, tr_type = header["approval_key"], str(header["tr_type"])
        except (ValueError, KeyError, TypeError, AttributeError):
            await self._send(session, _control("", "", "1", *_BAD_FRAME))
            return
        if not self.state.tokens.knows_approval_key(approval):
            await self._send(session, _control(tr_id, tr_key, "1", *_BAD_APPROVAL))
            await session.ws.close()
            return
        if tr_id not in (NOTICES, OVERSEAS_NOTICES):
            await self._send(session, _control(tr_id, tr_key, "1", *_BAD_TR_ID))
            return
        if tr_key != self.state.credentials.hts_id:
            await self._send(session, _control(tr_id, tr_key, "1", *_BAD_TR_KEY))
            return
        if tr_type == "1":
            await self._subscribe(session, tr_id, tr_key)
        elif tr_type == "2":
            if (tr_id, tr_key) in session.subscriptions:
                await self._stop(session, (tr_id, tr_key))
                await self._send(session, _control(tr_id, tr_key, "0", "OPSP0001",
                                                   "UNSUBSCRIBE SUCCESS"))
            else:
                await self._send(session, _control(tr_id, tr_key, "1", "OPSP0003",
                                                   "UNSUBSCRIBE ERROR(not found!)"))
        else:
            await self._send(session, _control(tr_id, tr_key, "1", *_BAD_FRAME))

    # subscriptions -------------------------------------------------------------------
    async def _subscribe(self, session: _Session, tr_id: str, tr_key: str) -> None:
        if (tr_id, tr_key) in session.subscriptions:
            await self._send(session, _control(tr_id, tr_key, "1", "OPSP0002",
                                               "ALREADY IN SUBSCRIBE"))
            return
        if len(session.subscriptions) >= MAX_SUBSCRIPTIONS:
            await self._send(session, _control(tr_id, tr_key, "1", *_TOO_MANY))
            return
        secret = SubscriptionKey()
        updates = None
        if tr_id == NOTICES:
            try:  # subscribed before the ack: nothing after it is missed
                updates = self.state.venue.order_updates()
            except VenueKitError:  # an injected authentication failure
                await self._send(session, _control(tr_id, tr_key, "1", *_BAD_APPROVAL))
                return
        subscription = _Subscription(tr_id, tr_key, secret, updates)
        session.subscriptions[(tr_id, tr_key)] = subscription
        await self._send(session, _control(tr_id, tr_key, "0", "OPSP0000",
                                           "SUBSCRIBE SUCCESS",
                                           {"iv": secret.iv, "key": secret.key}, "Y"))
        if updates is not None:
            self.state.listeners.add(subscription.push)
            subscription.tasks = [
                asyncio.create_task(self._pump(session, subscription),
                                    name="kis-emulator-notices"),
                asyncio.create_task(self._write(session, subscription),
                                    name="kis-emulator-notice-writer")]

    async def _stop(self, session: _Session, key: tuple[str, str]) -> None:
        subscription = session.subscriptions.pop(key, None)
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

    async def _pump(self, session: _Session, subscription: _Subscription) -> None:
        """Move the venue's order updates into the subscription's outbox, in order."""
        assert subscription.updates is not None
        try:
            async for update in subscription.updates:
                subscription.outbox.put_nowait(update)
        except VenueKitError:
            log.info("notice stream dropped", extra={"tr_id": subscription.tr_id})
            session.abort()

    async def _write(self, session: _Session, subscription: _Subscription) -> None:
        state = self.state
        names = {symbol: listing.name for symbol, listing in state.listings.items()}
        while True:
            update = await subscription.outbox.get()
            for notice in notices_for(update, state.records, names):
                text = record(notice, state.credentials, state.record_fields)
                frame = f"1|{subscription.tr_id}|001|{encrypt(text, subscription.secret)}"
                if session.ws.closed:
                    return
                await self._send(session, frame)
