"""What the emulator's parts share: the state the server owns and hands to each.

The REST handlers, the websocket server and the control surface each receive one
:class:`EmulatorState`; none of them imports the server that owns it. It holds the mock
venue behind the wire and the KIS books kept beside it (products, the day's prices, order
records, tokens, the rate limiter), the settings the wire needs, the open websocket
connections and the notice subscribers, the response counts, and the event loop the
emulator serves on once it has started (the control surface hands calls from other
threads to it).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from venuekit.model import OrderUpdate
from venuekit_mock import MockVenue
from venuekit_mock.sim import Book, Simulator

from .auth import Credentials, TokenDesk
from .kst import date_text
from .prices import DailyPrices
from .ratelimit import RateLimiter
from .records import OrderRecords
from .symbols import Listing

__all__ = ["EmulatorState"]


@dataclass(eq=False)
class EmulatorState:
    venue: MockVenue
    listings: dict[str, Listing]
    credentials: Credentials
    tokens: TokenDesk
    limiter: RateLimiter
    records: OrderRecords
    prices: DailyPrices
    stall: float = 30.0
    """Seconds a request struck by an injected timeout is held before its connection
    closes."""
    record_fields: int = 26
    heartbeat: float = 10.0
    responses: Counter[int] = field(default_factory=Counter)
    """REST answers by HTTP status (the control API's excepted)."""
    codes: Counter[str] = field(default_factory=Counter)
    """Error answers by ``msg_cd`` (or ``error_code``), refusals included."""
    unanswered: int = 0
    """Requests whose connection closed without an answer (injected faults)."""
    connections: dict[web.WebSocketResponse, web.Request] = field(default_factory=dict)
    listeners: set[Callable[[OrderUpdate], None]] = field(default_factory=set)
    """Notice subscriptions: each takes an order update the emulator made outside the
    venue's request pipeline (the second step of a partial modify)."""
    loop: asyncio.AbstractEventLoop | None = None
    loop_thread: int | None = None
    stopping: asyncio.Event | None = None
    """Set when the emulator stops (stalled requests are released then)."""

    @property
    def sim(self) -> Simulator:
        return self.venue.simulator

    def book(self, symbol: str) -> Book:
        book: Book = self.sim.market.books[symbol]
        return book

    def now(self) -> datetime:
        """The venue's clock (the wall clock unless the emulator runs on simulated time)."""
        return self.sim.now()

    def today(self) -> str:
        """Today's date in KST, ``YYYYMMDD``."""
        return date_text(self.now())

    def broadcast(self, update: OrderUpdate) -> None:
        for listener in list(self.listeners):
            listener(update)
