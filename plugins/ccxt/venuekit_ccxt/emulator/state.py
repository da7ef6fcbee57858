"""What the emulator's parts share: the state the server owns and hands to each.

The REST handlers, the ws-api server and the control surface each receive one
:class:`EmulatorState`; none of them imports the server that owns it. It holds the mock
venue behind the wire, the rate limiter, the credentials the emulator accepts, the open
websocket connections and the user-data subscribers, and the event loop the emulator
serves on once it has started (the control surface hands calls from other threads to it).
"""

from __future__ import annotations

import asyncio
import hashlib
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from venuekit_mock import MockVenue

from .account import BinanceAccount
from .ratelimit import RateLimiter

__all__ = ["EmulatorState"]

_ALPHABET = string.ascii_letters + string.digits


@dataclass(eq=False)
class EmulatorState:
    venue: MockVenue
    limiter: RateLimiter
    seed: int
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    stall: float = 30.0
    connections: dict[web.WebSocketResponse, web.Request] = field(default_factory=dict)
    """Every open websocket connection (ws-api and public streams), with its request."""
    listeners: set[Callable[[dict[str, Any]], None]] = field(default_factory=set)
    """User-data subscribers: each takes an event made by the emulator itself (an expired
    fill-or-kill order, a balance the control changed) to send with the engine's."""
    loop: asyncio.AbstractEventLoop | None = None
    loop_thread: int | None = None
    stopping: asyncio.Event | None = None
    """Set when the emulator stops (stalled requests are released then)."""
    _generated: int = 0

    @property
    def account(self) -> BinanceAccount:
        """The engine's account (read each time: a restored venue replaces the engine)."""
        account = self.venue.simulator.account
        assert isinstance(account, BinanceAccount), "the Binance account is not installed"
        return account

    def server_ms(self) -> int:
        """The server's clock for timing security and ``/api/v3/time`` (the wall clock)."""
        return time.time_ns() // 1_000_000

    def new_client_id(self) -> str:
        """A client order id as Binance generates one: 22 letters and digits (derived from
        the seed and a counter, so equal seeds give equal ids)."""
        self._generated += 1
        digest = int.from_bytes(hashlib.sha256(
            f"{self.seed}/{self._generated}".encode()).digest()[:17], "big")
        chars = []
        for _ in range(22):
            digest, index = divmod(digest, len(_ALPHABET))
            chars.append(_ALPHABET[index])
        return "".join(chars)

    def broadcast(self, event: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(event)
