"""An engine whose PostgreSQL journal writer is fenced stops at once and sends nothing more.

Two writers share one book (the ``postgres_url`` fixture's database): the first trades the
mock venue, the second takes its orders over. However the first learns of it (its heartbeat
finds its lease gone or its writer retired, its next write is refused, its connection was
terminated, or it wakes up past its lease), its engine sends nothing from then on (no
create, cancel or replace reaches the venue), the call that was waiting raises
JOURNAL_FENCED saying what to do, and a halt cancels nothing: the orders are the other
process's now.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from tests.support.helpers import count_calls, flat
from venuekit.engine import Engine
from venuekit.errors import Code, JournalError, VenueKitError
from venuekit.journal import PostgresJournal
from venuekit.model import Order, OrderRequest, OrderState
from venuekit.settlement import SettlementOptions
from venuekit.strategies import run_strategy
from venuekit_mock import MockVenue

FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.2, late_grace=0.02)
PROMPTLY = 5.0  # seconds within which a fenced engine's waiting call must raise


def resting() -> OrderRequest:
    """A buy far below a market that does not move: it rests until cancelled."""
    return OrderRequest(symbol="XYZ", side="buy", quantity=Decimal(5), order_type="limit",
                        limit_price=Decimal("90"))


def market() -> OrderRequest:
    return OrderRequest(symbol="XYZ", side="buy", quantity=Decimal(1))


@pytest.fixture
def journals(postgres_url: str) -> Iterator[list[PostgresJournal]]:
    opened: list[PostgresJournal] = []
    yield opened
    for journal in opened:
        journal.close()


def open_writer(url: str, opened: list[PostgresJournal], lease: float) -> PostgresJournal:
    journal = PostgresJournal(url, lease=lease, venues=["mock"])
    opened.append(journal)
    return journal


def terminate(url: str, journal: PostgresJournal, *sessions: str) -> None:
    """End ``journal``'s ``sessions`` (``backend_pid``: its lease, ``journal_pid``: its
    writes), as a takeover does; waits until they are gone."""
    with psycopg.connect(url, autocommit=True) as conn:
        for column in sessions:
            conn.execute(f"SELECT pg_terminate_backend({column}, 5000) FROM writers "
                         "WHERE id = %s", (journal.writer_id,))


def assert_fenced(exc: BaseException) -> None:
    assert isinstance(exc, JournalError), repr(exc)
    assert exc.code is Code.JOURNAL_FENCED
    for words in ("fenced", "must stop", "venuekit orders", "venuekit recover"):
        assert words in exc.message, exc.message


class Counted:
    """What the engine sent to the venue: creates, cancels and replaces."""

    def __init__(self, venue: MockVenue) -> None:
        self.submits = count_calls(venue, "submit")
        self.cancels = count_calls(venue, "cancel")
        self.replaces = count_calls(venue, "replace")

    def sent(self) -> tuple[int, int, int]:
        return self.submits[0], self.cancels[0], self.replaces[0]


async def working(engine: Engine) -> Order:
    while True:
        found = [o for o in engine.tracker.open_orders() if o.venue_order_id]
        if found:
            return found[0]
        await asyncio.sleep(0.01)


async def after_the_fence(engine: Engine, counted: Counted, order: Order) -> None:
    """Nothing the engine is asked from now on reaches the venue, and each call says why."""
    sent = counted.sent()
    for attempt in (engine.submit(market()), engine.cancel(order),
                    engine.replace(order, limit_price=Decimal("91")),
                    run_strategy(engine, market())):
        with pytest.raises(VenueKitError) as raised:
            await asyncio.wait_for(attempt, PROMPTLY)
        assert_fenced(raised.value)
    assert await engine.halt("shutting down") == []  # nothing of theirs is cancelled
    assert engine.fenced is not None and engine.halted
    assert counted.sent() == sent
    assert order.state is not OrderState.CANCELLED


@pytest.mark.parametrize("how", ["lease-lost", "retired"])
def test_a_fenced_engine_stops_its_waiting_call_and_sends_nothing_more(
        postgres_url: str, journals: list[PostgresJournal], how: str) -> None:
    """The heartbeat notices the fence while the engine waits on a resting order: the
    waiting execution raises JOURNAL_FENCED at once, without a write of its own."""
    async def main() -> None:
        venue = MockVenue(seed=2, symbols=[flat("XYZ")])
        counted = Counted(venue)
        first = open_writer(postgres_url, journals, lease=0.6)
        async with Engine(venue, first, settlement=FAST) as engine:
            execution = asyncio.create_task(run_strategy(engine, resting(), timeout=60))
            order = await asyncio.wait_for(working(engine), 5)
            assert counted.sent() == (1, 0, 0)
            second = open_writer(postgres_url, journals, lease=0.6)
            if how == "lease-lost":  # its process is gone, as far as the server knows
                terminate(postgres_url, first, "backend_pid", "journal_pid")
                assert second.adopt(["mock"]) == [order.id]
            else:  # retired (its epoch moved on) while it stays connected
                with psycopg.connect(postgres_url, autocommit=True) as conn:
                    conn.execute("UPDATE writers SET live = false, epoch = epoch + 1 "
                                 "WHERE id = %s", (first.writer_id,))
                assert second.adopt(["mock"]) == [order.id]
            started = time.monotonic()
            with pytest.raises(VenueKitError) as raised:
                await asyncio.wait_for(execution, PROMPTLY)
            assert_fenced(raised.value)
            assert time.monotonic() - started < PROMPTLY
            await after_the_fence(engine, counted, order)
        assert [o.id for o in second.open_orders("mock")] == [order.id]
    asyncio.run(main())


def test_a_writer_woken_past_its_lease_checks_it_before_sending_anything(
        postgres_url: str, journals: list[PostgresJournal]) -> None:
    """A process stopped (SIGSTOP, a long pause) past its lease: its heartbeat did not run,
    another writer terminated its sessions and adopted its order. Its first step after
    waking, a cancel, finds the lease gone before anything is sent."""
    async def main() -> None:
        venue = MockVenue(seed=2, symbols=[flat("XYZ")])
        counted = Counted(venue)
        first = open_writer(postgres_url, journals, lease=0.6)
        async with Engine(venue, first, settlement=FAST) as engine:
            order = await engine.submit(resting())
            assert first._lease is not None
            first._lease.stop()  # stopped: no heartbeat from now on
            await asyncio.sleep(0.8)  # past the lease
            second = open_writer(postgres_url, journals, lease=0.6)
            assert second.adopt(["mock"]) == [order.id]  # terminates its sessions first
            with pytest.raises(VenueKitError) as raised:
                await asyncio.wait_for(engine.cancel(order), PROMPTLY)
            assert_fenced(raised.value)
            assert "lease" in raised.value.message
            await after_the_fence(engine, counted, order)
            assert counted.sent() == (1, 0, 0)
    asyncio.run(main())


@pytest.mark.parametrize("how", ["connection-terminated", "retired"])
def test_a_burst_of_submits_that_meets_the_fence_fails_whole_and_sends_nothing(
        postgres_url: str, journals: list[PostgresJournal], how: str) -> None:
    """Submits journaled together (one batch) when the fence is found by the batch
    itself, its connection terminated or its create refused in SQL: every one of them
    raises JOURNAL_FENCED (none waits for ever), and none is sent."""
    async def main() -> None:
        venue = MockVenue(seed=2, symbols=[flat("XYZ")])
        counted = Counted(venue)
        first = open_writer(postgres_url, journals, lease=60)  # no heartbeat meanwhile
        async with Engine(venue, first, settlement=FAST) as engine:
            await engine.submit(market())
            if how == "connection-terminated":
                terminate(postgres_url, first, "journal_pid")
            else:
                with psycopg.connect(postgres_url, autocommit=True) as conn:
                    conn.execute("UPDATE writers SET live = false, epoch = epoch + 1 "
                                 "WHERE id = %s", (first.writer_id,))
            results = await asyncio.wait_for(asyncio.gather(
                *(engine.submit(market()) for _ in range(3)), return_exceptions=True),
                PROMPTLY)
            for result in results:
                assert isinstance(result, BaseException), result
                assert_fenced(result)
            assert engine.fenced is not None
            assert counted.sent() == (1, 0, 0)
    asyncio.run(main())
