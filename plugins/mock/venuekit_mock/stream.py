"""The order-update stream: subscribers, delivery delay, and disconnects.

Each call to ``MockVenue.order_updates()`` subscribes a new :class:`OrderUpdateStream`.
Updates are pushed to every live subscriber with a due time (now plus the stream delay) and
delivered in order. A disconnect ends a subscriber: it first receives what was queued
before the break, then its iterator raises ``STREAM_DISCONNECTED``; anything published
afterwards is lost to it. Calling ``order_updates()`` again reconnects (from now on, with no
replay), as with a real venue's websocket.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator, Sequence

from venuekit.errors import Code, error
from venuekit.model import OrderUpdate

from .clock import monotonic
from .sim import DISCONNECT, StreamMarker

__all__ = ["OrderUpdateStream", "StreamHub"]

_Item = OrderUpdate | StreamMarker


class OrderUpdateStream(AsyncIterator[OrderUpdate]):
    """One subscriber's view of the venue's order stream."""

    def __init__(self, hub: StreamHub) -> None:
        self._hub = hub
        self._queue: deque[tuple[float, _Item]] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False
        self._broken = False

    def __aiter__(self) -> OrderUpdateStream:
        return self

    async def __anext__(self) -> OrderUpdate:
        while True:
            if self._queue:
                due, item = self._queue[0]
                if due:  # 0: published without delay, due at once (no clock read)
                    wait = due - monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                        continue
                self._queue.popleft()
                if isinstance(item, OrderUpdate):
                    return item
                self._closed = True
                self._queue.clear()
                raise error(Code.STREAM_DISCONNECTED, "the order stream disconnected; call "
                            "order_updates() again to reconnect", venue=self._hub.venue)
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    def push(self, due: float, item: _Item) -> None:
        if self._broken or self._closed:
            return
        if item is DISCONNECT:
            self._broken = True
        self._queue.append((due, item))
        self._wakeup.set()

    def close(self) -> None:
        """End the stream now, dropping what is queued (the connection is gone)."""
        self._closed = True
        self._queue.clear()
        self._wakeup.set()

    async def aclose(self) -> None:
        self._hub.unsubscribe(self)
        self.close()

    @property
    def connected(self) -> bool:
        return not (self._closed or self._broken)


class StreamHub:
    """Every live subscriber of one venue, and how updates reach them."""

    def __init__(self, venue: str, delay: float = 0.0) -> None:
        self.venue = venue
        self.delay = delay
        # Weak references: a subscriber its consumer abandoned is dropped (its reference's
        # callback discards it) rather than fed forever. A plain set of references rather
        # than a WeakSet, whose iteration costs several times more; it is copied to a
        # tuple (which allocates nothing while it copies) before it is walked, so a
        # collection that drops a subscriber cannot change it mid-walk.
        self._refs: set[weakref.ref[OrderUpdateStream]] = set()

    def subscribe(self) -> OrderUpdateStream:
        stream = OrderUpdateStream(self)
        self._refs.add(weakref.ref(stream, self._refs.discard))
        return stream

    def unsubscribe(self, stream: OrderUpdateStream) -> None:
        self._refs.discard(weakref.ref(stream))

    @property
    def subscribers(self) -> int:
        return len(self._refs)

    def _live(self) -> list[OrderUpdateStream]:
        return [stream for ref in tuple(self._refs) if (stream := ref()) is not None]

    def publish(self, items: Sequence[_Item]) -> None:
        """Deliver ``items`` (updates, or a disconnect) to every current subscriber."""
        if not items:
            return
        delay = self.delay
        due = monotonic() + delay if delay else 0.0  # 0.0: due at once
        streams = self._live()
        for item in items:
            for stream in streams:
                stream.push(due, item)
            if item is DISCONNECT:
                for stream in streams:
                    self.unsubscribe(stream)
                streams = []

    def close(self) -> None:
        for stream in self._live():
            stream.close()
        self._refs.clear()
