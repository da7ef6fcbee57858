"""One live object per order: the journal's event numbers are never claimed twice.

An order's events are numbered from its object's history, and the journal takes each
number once. Were a second object of the same order rebuilt from the journal while the
first is alive, both would number their next event alike and the second write would be
refused, its events dropped. The tracker knows every live object, including a replacement
that is journaled and on its way but not tracked yet (held), so nothing rebuilds a second.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from venuekit.journal import ClientIdRules, SQLiteJournal
from venuekit.lifecycle import EventKind, Result
from venuekit.model import Fill, Order, OrderRequest, OrderState, Side
from venuekit.tracking import OrderTracker

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def execution(order: Order, trade_id: str, quantity: str) -> Fill:
    return Fill(trade_id=trade_id, symbol=order.symbol, side=Side.BUY,
                quantity=Decimal(quantity), price=Decimal("100"), at=T0,
                client_order_id=order.id, venue_order_id="V-9")


def held_replacement(journal: SQLiteJournal, tracker: OrderTracker) -> Order:
    """A replacement as the engine journals it: created as sent, held, not tracked."""
    request = OrderRequest(symbol="XYZ", side="buy", quantity=Decimal(5), order_type="limit",
                           limit_price=Decimal("100"))
    new = journal.create_order("mock", request, id_rules=ClientIdRules(), submitted=True)
    tracker.hold(new)
    return new


def test_a_fill_for_a_held_replacement_waits_for_it_instead_of_rebuilding_it(
        tmp_path: Path) -> None:
    async def main() -> None:
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            tracker = OrderTracker("mock", journal)
            new = held_replacement(journal, tracker)
            # The replace went unanswered; its lookup finds the replacement cancelled after
            # 2 of 5 filled, while the engine has not tracked it yet.
            tracker.apply(new, EventKind.ACK)
            tracker.apply_fill(new, execution(new, "t1", "2"))
            tracker.apply(new, EventKind.CANCELLED)
            # A fill that raced the cancel arrives on the stream meanwhile.
            tracker.on_fill(execution(new, "t2", "1"))
            tracker.track(new)  # the engine tracks it once the lookup is done
            # A later confirmation reads the venue's executions and applies them again.
            again = tracker.apply_fill(new, execution(new, "t2", "1"))
            assert again.result is Result.DUPLICATE
            tracker.flush()
            stored = journal.get(new.id)
            assert stored is not None
            assert [(e.seq, e.kind) for e in stored.history] == [
                (1, "new"), (2, "submit"), (3, "ack"), (4, "fill"), (5, "cancelled"),
                (6, "fill")]
            assert [(e.seq, e.kind) for e in new.history] == [
                (e.seq, e.kind) for e in stored.history]
            assert stored.filled_quantity == new.filled_quantity == 3
            assert [f.trade_id for f in journal.fills()] == ["t1", "t2"]
    asyncio.run(main())


def test_the_live_object_is_found_held_tracked_or_retired(tmp_path: Path) -> None:
    async def main() -> None:
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            tracker = OrderTracker("mock", journal)
            new = held_replacement(journal, tracker)
            assert tracker.live(new.id) is new and tracker.get(new.id) is None
            tracker.track(new)
            assert tracker.live(new.id) is new is tracker.get(new.id)
            tracker.apply(new, EventKind.ACK)
            tracker.apply(new, EventKind.CANCELLED)
            assert tracker.get(new.id) is None, "a terminal order leaves the tracker"
            assert tracker.live(new.id) is new, "... and stays reachable while held"
            assert new.state is OrderState.CANCELLED
            order_id = new.id
            del new
            assert tracker.live(order_id) is None
    asyncio.run(main())
