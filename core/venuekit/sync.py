"""A synchronous entry for scripts: one call builds the venue, journal and engine and runs.

    import venuekit
    result = venuekit.execute(venuekit.OrderRequest(symbol="AAPL", side="buy", quantity="10"))

Inside a running event loop use :class:`venuekit.engine.Engine` directly: this helper owns
its loop (``asyncio.run``) and refuses to nest.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from .engine import Engine
from .journal.sqlite import SQLiteJournal, default_journal_path
from .model import OrderRequest
from .plugins import PluginHost, default_host
from .strategies import ExecutionResult
from .venue import Venue

__all__ = ["execute"]


def execute(request: OrderRequest, strategy: str | None = None, *, venue: str | Venue = "mock",
            venue_options: Mapping[str, Any] | None = None,
            journal: str | os.PathLike[str] | None = None, host: PluginHost | None = None,
            **options: Any) -> ExecutionResult:
    """Execute ``request`` with ``strategy`` and return the result, blocking until done.

    With no strategy named, the request's order type chooses (a limit request runs the
    ``limit`` strategy at its price, a market request the ``market`` strategy); a strategy
    that contradicts the request is refused with STRATEGY_MISMATCH before anything is sent.

    ``venue`` is a registered venue name (built with ``venue_options`` as from a config
    file) or a :class:`~venuekit.venue.Venue` instance. The journal defaults to
    ``$VENUEKIT_JOURNAL`` or ``./.venuekit/journal.sqlite3``; recovery runs first, as
    always. ``options`` go to the strategy (``timeout``, ``budget``, ``policy``, ...).
    """
    plugins = host or default_host()
    if isinstance(venue, Venue):
        connection = venue
    else:
        connection = plugins.venues().get(venue).from_config(venue_options or {})

    async def run() -> ExecutionResult:
        with SQLiteJournal(journal or default_journal_path()) as book:
            async with Engine(connection, book, host=plugins) as engine:
                return await engine.execute(request, strategy, **options)

    return asyncio.run(run())
