"""Order events as an async iterator: the client's observer of ``venuekit_order_event``.

The feed registers itself with the plugin host only while someone listens: an observed
event is made durable before observers hear of it (a commit per event), which a client
nobody listens to need not pay.
"""

from __future__ import annotations

import asyncio
from typing import Self

from ..hookspecs import hookimpl
from ..lifecycle import OrderEventRecord
from ..plugins import PluginHost

__all__ = ["EventFeed", "Subscription"]

_END = None


class EventFeed:
    """Hands every order event to each open subscription, in order."""

    def __init__(self, host: PluginHost) -> None:
        self._host = host
        self._queues: list[asyncio.Queue[OrderEventRecord | None]] = []
        self._registered = False

    @hookimpl
    def venuekit_order_event(self, event: OrderEventRecord) -> None:
        for queue in self._queues:
            queue.put_nowait(event)

    def subscribe(self) -> Subscription:
        """A subscription that holds every event from now on, until it is closed."""
        queue: asyncio.Queue[OrderEventRecord | None] = asyncio.Queue()
        self._queues.append(queue)
        if not self._registered:
            self._host.register(self, name=f"client-events-{id(self):x}")
            self._registered = True
        return Subscription(self, queue)

    def close(self) -> None:
        """End every subscription (each iterator finishes after the events it holds)."""
        for queue in self._queues:
            queue.put_nowait(_END)
        self._queues = []
        self._stop()

    def drop(self, queue: asyncio.Queue[OrderEventRecord | None]) -> None:
        if queue in self._queues:
            self._queues.remove(queue)
        if not self._queues:
            self._stop()

    def _stop(self) -> None:
        if self._registered:
            self._host.unregister(self)
            self._registered = False


class Subscription:
    """Order events from the moment of subscribing, in order, as an async iterator.

    It holds the events it has not handed out yet; close it (or leave its ``async with``)
    when done listening. Every subscription ends when its client closes.
    """

    def __init__(self, feed: EventFeed,
                 queue: asyncio.Queue[OrderEventRecord | None]) -> None:
        self._feed = feed
        self._queue = queue
        self._closed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> OrderEventRecord:
        if self._closed:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is _END:
            self.close()
            raise StopAsyncIteration
        return event

    def close(self) -> None:
        """Stop listening (events held and not handed out are dropped)."""
        self._closed = True
        self._feed.drop(self._queue)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
