"""Compare the SDK's book of record (the journal) with the venue's ledger of truth."""

from __future__ import annotations

from decimal import Decimal

from venuekit.journal.base import Journal
from venuekit_mock.sim.ledger import Ledger

FillKey = tuple[str, str, Decimal, Decimal, Decimal]


def ledger_fills(ledger: Ledger) -> set[FillKey]:
    return {(f.trade_id, f.venue_order_id, f.quantity, f.price, f.fee) for f in ledger.fills}


def journal_fills(journal: Journal, venue: str = "mock") -> set[FillKey]:
    return {(f.trade_id, f.venue_order_id or "", f.quantity, f.price, f.fee)
            for f in journal.fills(venue=venue)}


def assert_journal_matches_ledger(journal: Journal, ledger: Ledger, venue: str = "mock"
                                  ) -> None:
    """Every venue fill is journaled exactly once and nothing else is; orders pair one to one."""
    assert journal_fills(journal, venue) == ledger_fills(ledger)
    orders = journal.orders(venue=venue)
    venue_ids = [o.venue_order_id for o in orders if o.venue_order_id]
    assert len(venue_ids) == len(set(venue_ids)), "two journal orders claim one venue order"
    accepted = {o.venue_order_id for o in ledger.orders}
    assert set(venue_ids) <= accepted
    for order in orders:
        if order.venue_order_id:
            assert order.filled_quantity == ledger.filled_quantity(order.venue_order_id), order
