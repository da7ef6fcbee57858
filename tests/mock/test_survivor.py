"""A client open on a shared (PostgreSQL) journal is a survivor: while it runs, it takes
over the open orders, on its venues, of a writer that is gone, and reconciles them with the
venue, without waiting for a restart or for `venuekit recover`.

The writer that dies is an engine on the same simulated venue; its death is its server
sessions ending, as when its process is killed (the server frees its lease at once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from tests.support.helpers import flat
from venuekit import AsyncClient
from venuekit.engine import Engine
from venuekit.journal import PostgresJournal
from venuekit.model import Order, OrderRequest, OrderState
from venuekit.settlement import SettlementOptions
from venuekit_mock import MockVenue

FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.2, late_grace=0.02)
TAKEOVER = 0.2  # the survivor looks for dead writers this often
BOUND = 10.0  # seconds within which the takeover must have happened


def resting() -> OrderRequest:
    return OrderRequest(symbol="XYZ", side="buy", quantity=Decimal(5), order_type="limit",
                        limit_price=Decimal("90"))


@pytest.fixture
def journals() -> Iterator[list[PostgresJournal]]:
    opened: list[PostgresJournal] = []
    yield opened
    for journal in opened:
        journal.close()


def die(url: str, journal: PostgresJournal) -> None:
    """End both of ``journal``'s server sessions, as the server does when its process dies."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(backend_pid, 5000), "
                     "pg_terminate_backend(journal_pid, 5000) FROM writers WHERE id = %s",
                     (journal.writer_id,))


async def acknowledged(engine: Engine, order: Order) -> None:
    while order.venue_order_id is None:
        await asyncio.sleep(0.01)


def test_a_running_client_takes_over_a_dead_writers_orders_and_reconciles_them(
        postgres_url: str, journals: list[PostgresJournal]) -> None:
    async def main() -> None:
        venue = MockVenue(seed=2, symbols=[flat("XYZ")])
        async with AsyncClient(venue, journal=postgres_url, takeover_interval=TAKEOVER,
                               settlement=FAST) as survivor:
            assert survivor.journal is not None
            dying = PostgresJournal(postgres_url, lease=2.0, venues=["mock"])
            journals.append(dying)
            engine = Engine(venue, dying, settlement=FAST)
            await engine.start()
            order = await engine.submit(resting())
            await asyncio.wait_for(acknowledged(engine, order), 5)
            assert survivor.journal.open_orders("mock") == []  # not the survivor's yet

            died = time.monotonic()
            die(postgres_url, dying)
            while not [o for o in survivor.journal.open_orders("mock") if o.id == order.id]:
                assert time.monotonic() - died < BOUND, "the survivor never took it over"
                await asyncio.sleep(0.05)
            took = time.monotonic() - died
            assert took < BOUND

            taken = survivor.journal.get(order.id)
            assert taken is not None and taken.state is OrderState.ACKNOWLEDGED
            assert taken.venue_order_id == order.venue_order_id
            # The survivor owns it now: its cancel is sent, confirmed and journaled.
            cancelled = await asyncio.wait_for(survivor.cancel(order.id), BOUND)
            assert cancelled.after is OrderState.CANCELLED and cancelled.error is None, cancelled
            final = survivor.journal.get(order.id)
            assert final is not None and final.state is OrderState.CANCELLED
            assert engine.fenced is not None  # the dead writer's engine has stopped
    asyncio.run(main())
