"""The execution-notice stream (체결통보) over KIS's websocket, as venuekit order updates.

One connection per subscription: a fresh approval key, the socket (``/tryitout``), the
subscribe frame for ``H0STCNI9`` (``H0STCNI0`` live) keyed by the HTS id, and the answer
that carries the AES key and iv. ``ready()`` returns once that answer has come (or the
subscription failed), so settlement reads the open orders over REST only once no notice
can be missed. KIS's ``PINGPONG`` heartbeats are answered with a pong frame.

Each notice becomes an :class:`~venuekit.model.OrderUpdate`:

* an accepted order: the order ACKNOWLEDGED; a refused one: REJECTED;
* a fill: the fill (quantity, price, time) and the order PARTIALLY_FILLED or FILLED by what
  this stream has counted of it;
* a confirmed cancel (a notice of the cancel's own order naming the one cancelled): that
  order CANCELLED, once the quantity cancelled and the fills counted cover the order (an
  order this stream did not see accepted is left to the daily inquiry).

KIS numbers no executions: a fill's trade id is made of the order id, the time, the
quantity and the price (``<order id>-<HHMMSS>-<qty>-<price>``). A notice identical to one
already read is taken for a repeat and dropped: counting a repeat twice would overfill,
while a second execution of the same order, second, quantity and price (which its notice
cannot tell from a repeat) is missing only until the daily inquiry's totals show it, and
reconciliation infers it. The totals remain the judge of what filled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from venuekit.errors import Code, VenueKitError, error
from venuekit.model import Fill, OrderSnapshot, OrderState, OrderType, OrderUpdate, utcnow
from venuekit.secrets import Secret

from .convert import CURRENCY, kst_date, kst_time, order_id
from .notices import Notice, read_frame

__all__ = ["ExecutionStream", "notice_tr_id", "trade_id"]

log = logging.getLogger("venuekit_kis.stream")

_CLOSE_TIMEOUT = 2.0


def notice_tr_id(live: bool) -> str:
    return "H0STCNI0" if live else "H0STCNI9"


class ExecutionStream(AsyncIterator[OrderUpdate]):
    """One subscription to the execution notices (see the module docstring)."""

    def __init__(self, url: str, approval_key: Callable[[], Awaitable[Secret]], hts_id: str,
                 *, live: bool, venue: str, timeout: float) -> None:
        self._url = url.rstrip("/") + "/tryitout"
        self._approval_key = approval_key
        self._hts_id = hts_id
        self._tr_id = notice_tr_id(live)
        self._venue = venue
        self._timeout = timeout
        self._queue: asyncio.Queue[OrderUpdate | BaseException | None] = asyncio.Queue()
        self._subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._filled: dict[str, Decimal] = {}
        self._cost: dict[str, Decimal] = {}
        self._quantities: dict[str, Decimal] = {}
        self._fills: set[str] = set()

    def __repr__(self) -> str:
        return f"ExecutionStream({self._venue}, {self._tr_id})"

    def __aiter__(self) -> ExecutionStream:
        return self

    async def ready(self) -> None:
        """Return once the subscription is in force, or has failed (the next
        ``__anext__`` raises why)."""
        task = self._start()
        subscribed = asyncio.ensure_future(self._subscribed.wait())
        try:
            await asyncio.wait((subscribed, task), return_when=asyncio.FIRST_COMPLETED)
        finally:
            subscribed.cancel()

    async def __anext__(self) -> OrderUpdate:
        if self._closed:
            raise StopAsyncIteration
        self._start()
        item = await self._queue.get()
        if isinstance(item, OrderUpdate):
            return item
        await self.aclose()
        if isinstance(item, BaseException):
            raise item
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"{self._venue}-notices")
        return self._task

    # the connection ----------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            key = await self._approval_key()
            async with asyncio.timeout(self._timeout):
                socket = await websockets.connect(self._url, open_timeout=self._timeout,
                                                  close_timeout=_CLOSE_TIMEOUT,
                                                  max_queue=None)
            try:
                await self._subscribe(socket, key)
                async for frame in socket:
                    await self._frame(socket, frame)
                self._queue.put_nowait(error(
                    Code.STREAM_DISCONNECTED, f"the {self._venue} notice stream closed",
                    venue=self._venue))
            finally:
                await socket.close()
        except asyncio.CancelledError:
            raise
        except VenueKitError as exc:
            self._queue.put_nowait(exc)
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            self._queue.put_nowait(error(
                Code.STREAM_DISCONNECTED, f"the {self._venue} notice stream failed "
                f"({type(exc).__name__})", venue=self._venue))

    async def _subscribe(self, socket: ClientConnection, key: Secret) -> None:
        await socket.send(json.dumps({
            "header": {"approval_key": key.reveal(), "custtype": "P", "tr_type": "1",
                       "content-type": "utf-8"},
            "body": {"input": {"tr_id": self._tr_id, "tr_key": self._hts_id}}}))
        async with asyncio.timeout(self._timeout):
            while True:
                frame = await socket.recv()
                text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                message = _control(text)
                if message is None:
                    continue  # a data frame before the answer: not ours yet
                header = message.get("header") or {}
                if header.get("tr_id") == "PINGPONG":
                    await socket.pong(text.encode())
                    continue
                body = message.get("body") or {}
                if header.get("tr_id") != self._tr_id:
                    continue
                if str(body.get("rt_cd")) != "0":
                    raise error(Code.STREAM_DISCONNECTED, f"{self._venue} refused the notice "
                                f"subscription: {body.get('msg_cd')} {body.get('msg1')}",
                                venue=self._venue)
                output = body.get("output") or {}
                self._key, self._iv = output.get("key"), output.get("iv")
                if header.get("encrypt") == "Y" and not (self._key and self._iv):
                    raise error(Code.STREAM_DISCONNECTED, f"{self._venue} sent no notice key",
                                venue=self._venue)
                break
        log.info("execution notices subscribed", extra={"venue": self._venue})
        self._subscribed.set()

    async def _frame(self, socket: ClientConnection, frame: str | bytes) -> None:
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
        if text[:1] in ("0", "1"):
            try:
                _, notices = read_frame(text, self._key, self._iv)
            except VenueKitError as exc:  # one unreadable frame must not end the stream
                log.error("unreadable execution notice dropped",
                          extra={"venue": self._venue, "error": exc.message})
                return
            for notice in notices:
                update = self._update(notice)
                if update is not None:
                    self._queue.put_nowait(update)
            return
        message = _control(text)
        if message is not None and (message.get("header") or {}).get("tr_id") == "PINGPONG":
            await socket.pong(text.encode())

    # notices -> updates ------------------------------------------------------------------
    def _update(self, notice: Notice) -> OrderUpdate | None:
        date = kst_date()
        order_type = OrderType.MARKET if notice.kind == "01" else OrderType.LIMIT
        if notice.correction == "2":  # a cancel's notice, about the order it cancels
            if notice.acceptance != "2" or notice.refused:
                return None  # received, not yet confirmed (or the cancel was refused)
            cancelled = order_id(date, notice.branch, notice.original_no)
            filled = self._filled.get(cancelled, Decimal(0))
            quantity = self._quantities.get(cancelled)
            if quantity is None or filled + notice.quantity < quantity:
                # Part of the order cancelled (it goes on), or an order this stream never
                # saw accepted, whose size it cannot check: the daily inquiry decides.
                return None
            return OrderUpdate(order=OrderSnapshot(
                venue_order_id=cancelled, symbol=notice.symbol, side=notice.side,
                order_type=order_type, state=OrderState.CANCELLED, quantity=quantity,
                filled_quantity=filled))
        if notice.correction != "0":
            return None  # a modify: venuekit replaces by cancel and new order
        vid = order_id(date, notice.branch, notice.order_no)
        self._quantities[vid] = notice.order_quantity
        limit = None if order_type is OrderType.MARKET or notice.order_price <= 0 \
            else notice.order_price
        if notice.refused:
            return OrderUpdate(order=OrderSnapshot(
                venue_order_id=vid, symbol=notice.symbol, side=notice.side,
                order_type=order_type, state=OrderState.REJECTED,
                quantity=notice.order_quantity, limit_price=limit,
                reason=f"{self._venue} refused the order"))
        if not notice.fill:
            return OrderUpdate(order=OrderSnapshot(
                venue_order_id=vid, symbol=notice.symbol, side=notice.side,
                order_type=order_type, state=OrderState.ACKNOWLEDGED,
                quantity=notice.order_quantity, limit_price=limit,
                filled_quantity=self._filled.get(vid, Decimal(0))))
        if notice.quantity <= 0 or notice.price <= 0:
            log.error("a fill notice without quantity or price dropped",
                      extra={"venue": self._venue, "venue_order_id": vid})
            return None
        fill_id = trade_id(vid, notice.time, notice.quantity, notice.price)
        if fill_id in self._fills:
            log.debug("a repeated fill notice dropped",
                      extra={"venue": self._venue, "trade_id": fill_id})
            return None
        self._fills.add(fill_id)
        filled = self._filled.get(vid, Decimal(0)) + notice.quantity
        self._filled[vid] = filled
        cost = self._cost[vid] = self._cost.get(vid, Decimal(0)) + notice.quantity * notice.price
        fill = Fill(trade_id=fill_id,
                    symbol=notice.symbol, side=notice.side, quantity=notice.quantity,
                    price=notice.price, fee_currency=CURRENCY, venue_order_id=vid,
                    at=kst_time(date, notice.time) or utcnow())
        state = OrderState.FILLED if filled >= notice.order_quantity > 0 \
            else OrderState.PARTIALLY_FILLED
        return OrderUpdate(order=OrderSnapshot(
            venue_order_id=vid, symbol=notice.symbol, side=notice.side, order_type=order_type,
            state=state, quantity=notice.order_quantity, limit_price=limit,
            filled_quantity=filled, average_price=cost / filled), fill=fill)

    _key: str | None = None
    _iv: str | None = None


def trade_id(venue_order_id: str, hhmmss: str, quantity: Decimal, price: Decimal) -> str:
    """The id of an execution of this order at this second, quantity and price (KIS
    numbers no executions): ``20261207-00950-0000000012-093015-3-71000``."""
    return f"{venue_order_id}-{hhmmss}-{quantity.normalize():f}-{price.normalize():f}"


def _control(text: str) -> dict[str, Any] | None:
    """A JSON control frame (an answer, a heartbeat), else None."""
    if not text.startswith("{"):
        return None
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None
