"""Synchronous entries for scripts: one call connects, recovers, works and closes.

    import venuekit
    result = venuekit.execute(venuekit.OrderRequest(symbol="AAPL", side="buy", quantity="10"))
    report = venuekit.cancel(run="k3x9p2qa-r7")

Each call resolves its settings as the CLI does (:mod:`venuekit.settings`: the journal
given, else ``$VENUEKIT_JOURNAL``, else ``journal`` in ``./venuekit.toml``, else
``./.venuekit/journal.sqlite3``; a venue's options over its ``[venues.NAME]`` table; venue
state beside the journal). Ctrl-C (``KeyboardInterrupt``) during :func:`execute` cancels
the orders it sent, each cancel confirmed by the venue, before the interrupt propagates;
a second Ctrl-C stops at once.

Inside a running event loop use :class:`venuekit.engine.Engine` directly: these helpers own
their loop (``asyncio.run``) and refuse to nest.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .cancelling import CancelReport
from .cancelling import cancel as cancel_async
from .engine import Engine
from .journal.sqlite import SQLiteJournal
from .model import OrderRequest
from .plugins import PluginHost, default_host
from .settings import load_settings
from .strategies import ExecutionResult, run_strategy
from .venue import Venue

__all__ = ["cancel", "execute"]

PathLike = str | os.PathLike[str]


def execute(request: OrderRequest, strategy: str | None = None, *, venue: str | Venue = "mock",
            venue_options: Mapping[str, Any] | None = None, journal: PathLike | None = None,
            config: PathLike | None = None, host: PluginHost | None = None,
            **options: Any) -> ExecutionResult:
    """Execute ``request`` with ``strategy`` and return the result, blocking until done.

    With no strategy named, the request's order type chooses (a limit request runs the
    ``limit`` strategy at its price, a market request the ``market`` strategy); a strategy
    that contradicts the request is refused with STRATEGY_MISMATCH before anything is sent.

    ``venue`` is a registered venue name (built with ``venue_options`` over the config
    file's ``[venues.NAME]``) or a :class:`~venuekit.venue.Venue` instance. Recovery runs
    first, as always. ``options`` go to the strategy (``timeout``, ``budget``, ...).
    """
    plugins = host or default_host()
    settings = load_settings(config_path=config, journal=journal)
    connection = venue if isinstance(venue, Venue) else settings.build_venue(
        venue, venue_options, host=plugins)

    async def run() -> ExecutionResult:
        with SQLiteJournal(settings.journal) as book:
            async with Engine(connection, book, host=plugins) as engine:
                return await run_strategy(engine, request, strategy, **options)

    return asyncio.run(run())


def cancel(*order_ids: str, run: str | None = None, all: bool = False,
           symbol: str | None = None, venue: str | None = None,
           venue_options: Mapping[str, Any] | None = None, journal: PathLike | None = None,
           config: PathLike | None = None, host: PluginHost | None = None) -> CancelReport:
    """Cancel working orders the journal holds: ``order_ids``, the orders of ``run``, or
    ``all`` of them (narrowed by ``symbol`` and ``venue``), as ``venuekit cancel`` does.

    Each cancel counts once the venue confirms nothing remains working; the report says
    what became of each order (``report.ok`` when every one is final). Raises
    UNKNOWN_ORDER or UNKNOWN_RUN for what the journal does not hold.
    """
    settings = load_settings(config_path=config, journal=journal)
    chosen: Sequence[str] = order_ids
    return asyncio.run(cancel_async(settings, order_ids=chosen, run_id=run, every=all,
                                    symbol=symbol, venue=venue, venue_options=venue_options,
                                    host=host or default_host()))
