"""Order events as an async iterator: the client's observer of ``venuekit_order_event``.

The feed registers itself with the plugin host only while someone listens: an observed
event is made durable before observers hear of it (a commit per event), which a client
nobody listens to need not pay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ..hookspecs import hookimpl
from ..lifecycle import OrderEventRecord
from ..plugins import PluginHost

__all__ = ["EventFeed"]

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

    async def subscribe(self) -> AsyncIterator[OrderEventRecord]:
        queue: asyncio.Queue[OrderEventRecord | None] = asyncio.Queue()
        self._queues.append(queue)
        if not self._registered:
            self._host.register(self, name=f"client-events-{id(self):x}")
            self._registered = True
        try:
            while True:
                event = await queue.get()
                if event is _END:
                    return
                yield event
        finally:
            if queue in self._queues:
                self._queues.remove(queue)
            if not self._queues:
                self._stop()

    def close(self) -> None:
        """End every subscription (each iterator finishes after the events it holds)."""
        for queue in self._queues:
            queue.put_nowait(_END)
        self._stop()

    def _stop(self) -> None:
        if self._registered:
            self._host.unregister(self)
            self._registered = False
