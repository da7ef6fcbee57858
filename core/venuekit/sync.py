"""Synchronous entries for one-off scripts: one call opens a client, works and closes it.

    import venuekit
    result = venuekit.execute(venuekit.OrderRequest(symbol="AAPL", side="buy", quantity="10"))
    report = venuekit.cancel(run="k3x9p2qa-r7")

Each call opens a :class:`~venuekit.client.Client` (settings resolved as the CLI resolves
them, the journal opened, the venue connected and recovered), does one thing, and closes
it. A script that places more than one order should hold a client instead::

    with venuekit.Client("mock") as vk:
        vk.buy("AAPL", "10")
        vk.sell("MSFT", "5")

Ctrl-C (``KeyboardInterrupt``) during :func:`execute` cancels the orders it sent, each
cancel confirmed by the venue, before the interrupt propagates; a second Ctrl-C stops at
once. Inside a running event loop use :class:`~venuekit.client.AsyncClient`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .cancelling import CancelReport, as_found, choose_in, working_venues
from .client import Client
from .journal.target import JournalURL
from .model import OrderRequest
from .plugins import PluginHost
from .settings import load_settings
from .strategies import ExecutionResult
from .venue import Venue

__all__ = ["cancel", "execute"]

PathLike = str | os.PathLike[str]
JournalLike = str | os.PathLike[str] | JournalURL


def execute(request: OrderRequest, strategy: str | None = None, *, venue: str | Venue = "mock",
            venue_options: Mapping[str, Any] | None = None, journal: JournalLike | None = None,
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
    name = venue if isinstance(venue, str) else venue.name
    with Client(venue, journal=journal, config=config, host=host,
                venue_options={name: venue_options or {}}) as vk:
        return vk.execute(request, strategy, **options)


def cancel(*order_ids: str, run: str | None = None, all: bool = False,
           symbol: str | None = None, venue: str | None = None,
           venue_options: Mapping[str, Any] | None = None, journal: JournalLike | None = None,
           config: PathLike | None = None, host: PluginHost | None = None) -> CancelReport:
    """Cancel working orders the journal holds: ``order_ids``, the orders of ``run``, or
    ``all`` of them (narrowed by ``symbol`` and ``venue``), as ``venuekit cancel`` does.

    Each cancel counts once the venue confirms nothing remains working; the report says
    what became of each order (``report.ok`` when every one is final). Raises
    UNKNOWN_ORDER or UNKNOWN_RUN for what the journal does not hold.
    """
    chosen = choose_in(load_settings(config_path=config, journal=journal), order_ids=order_ids,
                       run_id=run, every=all, symbol=symbol, venue=venue)
    venues = working_venues(chosen)
    if not venues:  # every chosen order is final already: nothing to ask a venue
        return CancelReport(as_found(chosen))
    with Client(*venues, journal=journal, config=config, host=host,
                venue_options={name: venue_options or {} for name in venues}) as vk:
        return vk.cancel_chosen(chosen)
