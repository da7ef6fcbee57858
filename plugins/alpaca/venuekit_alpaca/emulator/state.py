"""What the emulator's handlers share: the state the server owns and hands to each.

The REST handlers, the ``/stream`` server and the control surface each receive one
:class:`EmulatorState`; none of them imports the server that owns it. It holds the
simulated venue behind the wire, the id codec, the request budget, the credentials the
emulator accepts, the price history the market data is drawn from, what must be remembered
across requests (the amount asked for by a notional order, the account configuration, the
open websocket connections), and the event loop the emulator serves on once it has started
(the control surface hands calls from other threads to it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from venuekit_mock import MockVenue

from .ids import IdCodec
from .prices import PriceHistory
from .ratelimit import RequestBudget

__all__ = ["EmulatorState"]


@dataclass(eq=False)
class EmulatorState:
    venue: MockVenue
    ids: IdCodec
    budget: RequestBudget
    seed: int
    history: PriceHistory
    """Each symbol's minute price history (the market-data bars), from the start on."""
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    notional: dict[str, Decimal] = field(default_factory=dict)
    """The amount asked for by orders placed by notional amount, by simulator order id."""
    connections: set[web.WebSocketResponse] = field(default_factory=set)
    """Open ``/stream`` websocket connections (authenticated or not)."""
    configuration: dict[str, Any] = field(default_factory=dict)
    """The account configuration (``/v2/account/configurations``) as last set."""
    loop: asyncio.AbstractEventLoop | None = None
    loop_thread: int | None = None

    def credentials_match(self, key: object, secret: object) -> bool:
        return key == self.api_key and secret == self.secret_key
