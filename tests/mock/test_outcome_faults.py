"""The outcome policy against the mock's faults: no duplicate, nothing left unknown.

These run the real engine, the real SQLite journal and the mock venue in one process; the
crash tests (test_crash_recovery.py) do the same across a killed process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.helpers import flat
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import Order, OrderRequest, OrderState
from venuekit.outcome import OutcomePolicy
from venuekit_mock import MockVenue
from venuekit_mock.sim import Fault

SYMBOLS = ("AAPL", "MSFT", "SPY", "NVDA", "TSLA", "F")
# Deep books: every market order fills on arrival, so each order has one final answer.
DEEP = [flat(symbol, price, size="1000000") for symbol, price in
        zip(SYMBOLS, ("190.005", "410.005", "510.005", "880.005", "180.005", "12.005"),
            strict=True)]


def request(i: int) -> OrderRequest:
    # Distinct quantities keep fingerprints distinct (the venue cannot tell identical
    # orders apart, and neither can anyone else).
    symbol = SYMBOLS[i % len(SYMBOLS)]
    side = "sell" if (i // len(SYMBOLS)) % 3 == 2 else "buy"
    return OrderRequest(symbol=symbol, side=side, quantity=Decimal(1 + i))


def run_orders(tmp_path: Path, count: int, setup: Callable[[MockVenue], None], *,
               concurrency: int = 50, **venue_options: Any
               ) -> tuple[list[Order], MockVenue, SQLiteJournal]:
    async def scenario() -> tuple[list[Order], MockVenue, SQLiteJournal]:
        venue = MockVenue(seed=11, symbols=DEEP, cash=Decimal(10**10), short_selling=True,
                          **venue_options)
        setup(venue)
        journal = SQLiteJournal(tmp_path / "journal.sqlite3")
        engine = Engine(venue, journal, policy=OutcomePolicy(resolve_timeout=30))
        await engine.start()
        orders: list[Order] = []
        for start in range(0, count, concurrency):
            stop = min(count, start + concurrency)
            orders.extend(await asyncio.gather(*(engine.submit(request(i))
                                                 for i in range(start, stop))))
        report = await engine.recover()  # reconcile whatever is still open
        assert report.ok, report.failed
        await engine.close()
        return orders, venue, journal

    return asyncio.run(scenario())


def submits(order: Order) -> int:
    return sum(1 for e in order.history if e.kind == "submit")


def drop_30_percent(venue: MockVenue) -> None:
    venue.control.set_fault(Fault.DROP_RESPONSE, Decimal("0.3"))


def test_30_percent_dropped_responses_no_duplicates_nothing_unknown(tmp_path: Path) -> None:
    orders, venue, journal = run_orders(tmp_path, 1000, drop_30_percent)
    ledger = venue.control.ledger
    assert 240 <= len(ledger.faults_of(Fault.DROP_RESPONSE)) <= 360
    assert ledger.order_count == 1000, "one venue order per SDK order"
    assert ledger.duplicate_client_ids() == {}
    assert [o.id for o in orders if o.state is not OrderState.FILLED] == []
    assert all(submits(o) == 1 for o in orders), "no create was sent twice"
    with journal:
        assert journal.orders(state=[OrderState.NEW, OrderState.SUBMITTED]) == []
        assert_journal_matches_ledger(journal, ledger)


def test_without_client_ids_fingerprints_give_the_same_guarantees(tmp_path: Path) -> None:
    orders, venue, journal = run_orders(tmp_path, 300, drop_30_percent, client_order_ids=False)
    ledger = venue.control.ledger
    assert venue.capabilities.client_order_ids is False
    assert len(ledger.faults_of(Fault.DROP_RESPONSE)) > 50
    assert ledger.order_count == 300
    assert ledger.duplicate_fingerprints() == {}
    assert [o.id for o in orders if o.state is not OrderState.FILLED] == []
    assert all(submits(o) == 1 for o in orders)
    with journal:
        assert_journal_matches_ledger(journal, ledger)


def test_eventual_consistency_never_rejects_or_resends(tmp_path: Path) -> None:
    """Accepted orders read as not found for 0.2 s; every response is dropped."""
    def drop_all(venue: MockVenue) -> None:
        venue.control.set_fault(Fault.DROP_RESPONSE, Decimal(1))

    orders, venue, journal = run_orders(tmp_path, 60, drop_all, visibility_delay=0.2)
    ledger = venue.control.ledger
    assert ledger.order_count == 60
    assert ledger.duplicate_client_ids() == {}
    assert {o.state for o in orders} == {OrderState.FILLED}
    assert all(submits(o) == 1 for o in orders)
    with journal:
        assert_journal_matches_ledger(journal, ledger)


def test_timeouts_before_acceptance_are_resent_once_with_the_same_id(tmp_path: Path) -> None:
    def time_out_first_try(venue: MockVenue) -> None:
        venue.control.script_fault(Fault.TIMEOUT, *range(1, 11))

    orders, venue, journal = run_orders(tmp_path, 10, time_out_first_try)
    ledger = venue.control.ledger
    assert ledger.order_count == 10
    assert ledger.duplicate_client_ids() == {}
    assert {o.state for o in orders} == {OrderState.FILLED}
    assert all(submits(o) == 2 for o in orders), "proven absent, then sent again"
    assert {v.client_order_id for v in ledger.orders} == {o.id for o in orders}
    with journal:
        assert_journal_matches_ledger(journal, ledger)
