"""The ``trade_updates`` websocket as an async iterator of venuekit OrderUpdates.

alpaca-py's ``TradingStream.run()`` starts its own event loop and reconnects by itself,
silently. venuekit needs the opposite: the stream runs in the engine's loop, and every
disconnect is reported, so that settlement fills the gap over REST before trading on.
So each :class:`TradeUpdateStream` drives one ``TradingStream`` connection in the running
loop with the client's own steps (connect, authenticate, listen, consume) and ends with
``STREAM_DISCONNECTED`` when that connection ends; the next ``order_updates()`` call
connects again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from venuekit.errors import Code, VenueKitError, error
from venuekit.model import OrderUpdate

from . import convert
from .config import AlpacaSettings
from .sdk import CLOSE_TIMEOUT, TradeUpdate, TradingStream, trading_stream

__all__ = ["TradeUpdateStream"]

log = logging.getLogger("venuekit_alpaca.stream")

VENUE = "alpaca"
_END = object()


class TradeUpdateStream(AsyncIterator[OrderUpdate]):
    """One connection to the ``trade_updates`` stream (see the module docstring)."""

    def __init__(self, settings: AlpacaSettings,
                 on_update: Callable[[OrderUpdate], None] | None = None) -> None:
        self._settings = settings
        self._on_update = on_update
        self._client: TradingStream = trading_stream(settings)
        self._client.subscribe_trade_updates(self._handle)
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        with contextlib.suppress(RuntimeError):  # no running loop: connect on first use
            # Connect now, so that updates queue up while settlement fills the gap over REST.
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="alpaca-trade-updates")

    def __aiter__(self) -> TradeUpdateStream:
        return self

    async def __anext__(self) -> OrderUpdate:
        if self._closed:
            raise StopAsyncIteration
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="alpaca-trade-updates")
        item = await self._queue.get()
        if isinstance(item, OrderUpdate):
            return item
        await self.aclose()
        if isinstance(item, VenueKitError):
            raise item
        raise StopAsyncIteration

    async def _run(self) -> None:
        client: Any = self._client  # its connection steps are untyped
        try:
            try:
                await asyncio.wait_for(client._start_ws(), self._settings.stream_timeout)
            except ValueError:  # alpaca-py's "failed to authenticate"
                raise error(Code.AUTHENTICATION_FAILED, "the trade_updates stream refused the "
                            "credentials", venue=VENUE) from None
            log.info("trade_updates stream connected", extra={"venue": VENUE})
            await client._consume()  # returns only when asked to stop
            self._queue.put_nowait(_END)
        except asyncio.CancelledError:
            raise
        except VenueKitError as exc:
            self._queue.put_nowait(exc)
        except Exception as exc:  # the connection is gone, whatever the reason
            log.warning("trade_updates stream disconnected",
                        extra={"venue": VENUE, "error": type(exc).__name__})
            self._queue.put_nowait(error(
                Code.STREAM_DISCONNECTED, f"the trade_updates stream disconnected "
                f"({type(exc).__name__}); call order_updates() again to reconnect",
                venue=VENUE))

    async def _handle(self, message: Any) -> None:
        """alpaca-py's handler: one raw ``trade_updates`` message."""
        try:
            update = convert.update(_parse(message))
        except Exception as exc:  # one bad message must not end the stream
            log.error("unreadable trade update dropped",
                      extra={"venue": VENUE, "error": f"{type(exc).__name__}: {exc}"[:300]})
            return
        if self._on_update is not None:
            self._on_update(update)
        self._queue.put_nowait(update)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            await self._client.stop_ws()  # alpaca-py checks this between messages
            # Python 3.11's wait_for can swallow a cancel when a message arrives at the same
            # moment (alpaca-py reads with it), so cancel until the task has really ended.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)
            if not task.cancelled():
                task.exception()  # retrieved: the stream is closing anyway
        # Not wait_for: on Python 3.11 it swallows a cancel of the caller that arrives as
        # the close finishes, and a consumer (the engine's stream task) would then go on
        # and reconnect while whoever cancelled it waits for it to end.
        closing = asyncio.ensure_future(self._client.close())
        try:
            await asyncio.wait({closing}, timeout=2 * CLOSE_TIMEOUT)
        finally:
            if not closing.done():
                closing.cancel()
            closing.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a closing handshake's outcome as seen: the stream is gone whatever it was."""
    if not task.cancelled():
        task.exception()


def _parse(message: Any) -> Any:
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, dict):
        raise ValueError("a trade_updates message without data")
    return TradeUpdate(**data)
