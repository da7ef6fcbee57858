"""Compare the SDK's book of record (the journal) with the venue's ledger of truth."""

from __future__ import annotations

from collections import Counter
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


def tally(journal: Journal, ledger: Ledger, *, client_order_ids: bool,
          venue: str = "mock") -> dict[str, int]:
    """How far the journal is from the venue's truth, as counts (all 0 when it is exact).

    * ``intended``: orders the SDK journaled; ``venue_orders``: orders the venue accepted;
    * ``duplicates``: venue orders beyond one per journaled order, counting orders the
      journal does not know at all (matched by client order id where the venue keeps it,
      else by the venue order id the journal recorded);
    * ``lost_fills``: venue executions missing from the journal (by trade id) that no
      inferred fill of the same order stands in for;
    * ``itemized_but_inferred``: venue executions the journal holds only as an inferred
      fill (right quantity, derived id and price, no fee), because the venue did not
      itemize them yet when the SDK looked;
    * ``phantom_fills``: journaled executions the venue never made (inferred ones aside);
    * ``inferred_fills``: executions the SDK had to infer because the venue did not
      itemize them;
    * ``overfills``: orders whose journaled fill exceeds the order or the venue's fill;
    * ``underfills``: orders whose journaled fill is short of the venue's;
    * ``unresolved``: journaled orders not in a final state.
    """
    orders = journal.orders(venue=venue)
    accepted = ledger.orders
    by_client = {o.id for o in orders} if client_order_ids else set()
    by_venue_id = {o.venue_order_id: o.id for o in orders if o.venue_order_id}
    owned: Counter[str] = Counter()
    orphans = 0
    for placed in accepted:
        owner = placed.client_order_id if placed.client_order_id in by_client \
            else by_venue_id.get(placed.venue_order_id)
        if owner is None:
            orphans += 1
        else:
            owned[owner] += 1
    duplicates = orphans + sum(n - 1 for n in owned.values())
    journaled = journal.fills(venue=venue)
    journaled_ids = {f.trade_id for f in journaled}
    venue_fills = {f.trade_id for f in ledger.fills}
    inferred_quantity: dict[str, Decimal] = {}
    for fill in journaled:
        if fill.inferred:
            key = fill.venue_order_id or ""
            inferred_quantity[key] = inferred_quantity.get(key, Decimal(0)) + fill.quantity
    missing: dict[str, list[Decimal]] = {}
    for fill in ledger.fills:
        if fill.trade_id not in journaled_ids:
            missing.setdefault(fill.venue_order_id, []).append(fill.quantity)
    lost = covered = 0
    for venue_order_id, quantities in missing.items():
        if sum(quantities) <= inferred_quantity.get(venue_order_id, Decimal(0)):
            covered += len(quantities)
        else:
            lost += len(quantities)
    overfills = underfills = 0
    for order in orders:
        if order.quantity is not None and order.filled_quantity > order.quantity:
            overfills += 1
            continue
        truth = ledger.filled_quantity(order.venue_order_id) if order.venue_order_id \
            else Decimal(0)
        if order.filled_quantity > truth:
            overfills += 1
        elif order.filled_quantity < truth:
            underfills += 1
    return {
        "intended": len(orders),
        "venue_orders": len(accepted),
        "duplicates": duplicates,
        "lost_fills": lost,
        "itemized_but_inferred": covered,
        "phantom_fills": sum(1 for f in journaled
                             if not f.inferred and f.trade_id not in venue_fills),
        "inferred_fills": sum(1 for f in journaled if f.inferred),
        "overfills": overfills,
        "underfills": underfills,
        "unresolved": sum(1 for o in orders if not o.state.is_terminal),
    }
