"""Binance's user-data stream as an async iterator of venuekit OrderUpdates.

ccxt.pro subscribes to the spot user-data stream on the websocket API
(``userDataStream.subscribe.signature``) when ``watch_orders`` is first called, and hands
each ``executionReport`` to its ``handle_order_update``. The venue's exchange object adds
a hook there (:class:`ReportHook`): every report reaches each open :class:`ExecutionStream`
as Binance sent it, and is read exactly (:func:`.convert.from_report`), the trade that moved
the order included. ccxt's own order cache, built from the same reports, is not relied on
(it keeps the latest state of an order, not each execution).

A stream keeps one ``watch_orders`` call pending, which keeps the subscription alive and
raises when the connection is lost: the stream then ends with ``STREAM_DISCONNECTED``, and
the next ``order_updates()`` subscribes again (settlement fills the gap over REST first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from venuekit.errors import Code, VenueKitError, error
from venuekit.model import OrderUpdate

from .errors import map_exception

__all__ = ["ExecutionStream", "ReportHook"]

log = logging.getLogger("venuekit_ccxt.stream")

_END = object()

Listener = Callable[[Mapping[str, Any]], None]


class ReportHook:
    """A mixin over ccxt.pro's Binance class: each ``executionReport`` goes to listeners."""

    _venuekit_listeners: list[Listener]

    def add_report_listener(self, listener: Listener) -> None:
        if not hasattr(self, "_venuekit_listeners"):
            self._venuekit_listeners = []
        self._venuekit_listeners.append(listener)

    def remove_report_listener(self, listener: Listener) -> None:
        with contextlib.suppress(AttributeError, ValueError):
            self._venuekit_listeners.remove(listener)

    def handle_order_update(self, client: Any, message: Any) -> Any:
        if isinstance(message, Mapping) and message.get("e") == "executionReport":
            for listener in list(getattr(self, "_venuekit_listeners", ())):
                listener(message)
        return super().handle_order_update(client, message)  # type: ignore[misc]


class ExecutionStream(AsyncIterator[OrderUpdate]):
    """One subscription to the user-data stream (see the module docstring)."""

    def __init__(self, exchange: Any, read: Callable[[Mapping[str, Any]], OrderUpdate],
                 venue: str, timeout: float) -> None:
        self._exchange = exchange
        self._read = read
        self._venue = venue
        self._timeout = timeout
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._closed = False
        self._subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        exchange.add_report_listener(self._on_report)
        with contextlib.suppress(RuntimeError):  # no running loop: subscribe on first use
            # Subscribe now, so that reports queue up while settlement fills the gap.
            self._task = asyncio.get_running_loop().create_task(
                self._watch(), name=f"{venue}-user-data")

    def __aiter__(self) -> ExecutionStream:
        return self

    async def ready(self) -> None:
        """Return once the subscription is in force, or has failed (the next
        ``__anext__`` raises why)."""
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name=f"{self._venue}-user-data")
        subscribed = asyncio.ensure_future(self._subscribed.wait())
        try:
            await asyncio.wait((subscribed, self._task), return_when=asyncio.FIRST_COMPLETED)
        finally:
            subscribed.cancel()

    async def __anext__(self) -> OrderUpdate:
        if self._closed:
            raise StopAsyncIteration
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name=f"{self._venue}-user-data")
        item = await self._queue.get()
        if isinstance(item, OrderUpdate):
            return item
        await self.aclose()
        if isinstance(item, VenueKitError):
            raise item
        raise StopAsyncIteration

    def _on_report(self, event: Mapping[str, Any]) -> None:
        try:
            update = self._read(event)
        except Exception as exc:  # one unreadable report must not end the stream
            log.error("unreadable execution report dropped",
                      extra={"venue": self._venue, "error": f"{type(exc).__name__}: {exc}"[:300]})
            return
        self._queue.put_nowait(update)

    async def _watch(self) -> None:
        """Subscribe (within the stream timeout), then keep a ``watch_orders`` pending: it
        holds the subscription and raises when the connection is lost."""
        try:
            try:
                await asyncio.wait_for(
                    self._exchange.ensure_user_data_stream_ws_subscribe_signature("spot"),
                    self._timeout)
            except TimeoutError:
                raise error(Code.TIMEOUT, f"the {self._venue} user-data stream did not "
                            f"subscribe within {self._timeout:g} s", venue=self._venue) from None
            log.info("user-data stream subscribed", extra={"venue": self._venue})
            self._subscribed.set()
            while True:
                await self._exchange.watch_orders()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            mapped = map_exception(exc, "order_updates", self._venue)
            if mapped.code is not Code.AUTHENTICATION_FAILED:
                mapped = error(Code.STREAM_DISCONNECTED, f"the {self._venue} user-data stream "
                               f"ended ({mapped.code.name}: {mapped.message}); call "
                               "order_updates() again to subscribe again", venue=self._venue)
            log.warning("user-data stream ended",
                        extra={"venue": self._venue, "code": mapped.code.name})
            await _forget_connection(self._exchange)
            self._queue.put_nowait(mapped)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._exchange.remove_report_listener(self._on_report)
        task, self._task = self._task, None
        if task is not None:
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)
            if not task.cancelled():
                task.exception()


async def _forget_connection(exchange: Any) -> None:
    """Close the user-data connection, so that the next stream subscribes from scratch
    (ccxt.pro marks a subscription before the server accepts it)."""
    url = exchange.urls["api"]["ws"]["ws-api"]["spot"]
    client = getattr(exchange, "clients", {}).pop(url, None)
    if client is not None:
        with contextlib.suppress(Exception):
            await client.close()
