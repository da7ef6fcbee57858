"""The front door for scripts and bots: one journal, one engine per venue, opened once.

* :mod:`.aio`: :class:`AsyncClient`, async first;
* :mod:`.sync`: :class:`Client`, its twin for code without an event loop;
* :mod:`.events`: order events as an async iterator.

See docs/scripts-and-bots.md.
"""

from __future__ import annotations

from .aio import AsyncClient, VenueStatus
from .sync import Client

__all__ = ["AsyncClient", "Client", "VenueStatus"]
