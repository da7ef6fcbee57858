"""venuekit: execute orders the same way on any trading venue.

Importing ``venuekit`` is cheap: the public names below are loaded on first use, so a
plugin that only needs :data:`hookimpl` does not pay for pydantic or the CLI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .hookspecs import hookimpl
from .version import __version__

_LAZY: dict[str, str] = {
    # model
    "Account": "model", "BracketRequest": "model", "Fill": "model", "Instrument": "model",
    "Order": "model",
    "OrderEvent": "model", "OrderRequest": "model", "OrderSnapshot": "model",
    "OrderState": "model", "OrderType": "model", "OrderUpdate": "model",
    "Position": "model", "Quote": "model", "Side": "model", "TickBand": "model",
    "TimeInForce": "model",
    # venue contract
    "Capabilities": "venue", "OrderRef": "venue", "RateLimitPool": "venue", "Venue": "venue",
    # errors
    "Code": "errors", "VenueKitError": "errors", "Outcome": "errors", "Category": "errors",
    # plugins
    "PluginHost": "plugins",
    # running
    "Engine": "engine", "Bracket": "engine", "execute": "sync", "cancel": "sync",
    "AsyncClient": "client", "Client": "client",
}

__all__ = [  # literal, so that type checkers see what is exported (a test keeps it whole)
    "Account",
    "AsyncClient",
    "Bracket",
    "BracketRequest",
    "Capabilities",
    "Category",
    "Client",
    "Code",
    "Engine",
    "Fill",
    "Instrument",
    "Order",
    "OrderEvent",
    "OrderRef",
    "OrderRequest",
    "OrderSnapshot",
    "OrderState",
    "OrderType",
    "OrderUpdate",
    "Outcome",
    "PluginHost",
    "Position",
    "Quote",
    "RateLimitPool",
    "Side",
    "TickBand",
    "TimeInForce",
    "Venue",
    "VenueKitError",
    "__version__",
    "cancel",
    "execute",
    "hookimpl",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'venuekit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"venuekit.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:
    from .client import AsyncClient, Client
    from .engine import Bracket, Engine
    from .errors import Category, Code, Outcome, VenueKitError
    from .model import (
        Account,
        BracketRequest,
        Fill,
        Instrument,
        Order,
        OrderEvent,
        OrderRequest,
        OrderSnapshot,
        OrderState,
        OrderType,
        OrderUpdate,
        Position,
        Quote,
        Side,
        TickBand,
        TimeInForce,
    )
    from .plugins import PluginHost
    from .sync import cancel, execute
    from .venue import Capabilities, OrderRef, RateLimitPool, Venue
