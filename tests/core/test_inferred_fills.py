"""Inferred fills: a venue execution that arrives after its quantity was inferred restates
the inferred fill instead of counting it a second time, in the order, the tracker, the
journal and recovery.

An inferred fill stands for executions the venue's order state shows but its execution
list does not list yet. When the venue lists them, under their own trade ids, prices and
fees, the order must keep its filled quantity, take the real price and fee, and the
journal must hold the venue's execution, not both.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from venuekit import lifecycle
from venuekit.journal import ClientIdRules, SQLiteJournal, open_journal
from venuekit.journal import sqlite_schema as schema
from venuekit.lifecycle import EventKind, Result
from venuekit.model import Fill, Order, OrderRequest, OrderState, Side
from venuekit.reconcile import apply_snapshot, reconcile_order
from venuekit.recovery import recover
from venuekit.tracking import OrderTracker

from .scripted_venue import ScriptedVenue, limit_buy

BOTH_BACKENDS = True  # each test taking `path` or `journal` runs on SQLite and PostgreSQL

D = Decimal
S = OrderState
T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def new_order(quantity: str = "10") -> Order:
    request = OrderRequest(symbol="AAPL", side=Side.BUY, quantity=D(quantity),
                           order_type="limit", limit_price=D("100"))
    order = Order(id="vk-1", venue="mock", request=request, quantity=D(quantity))
    assert lifecycle.apply(order, EventKind.SUBMIT)
    return order


def inferred(quantity: str, cumulative: str, price: str = "100") -> Fill:
    return Fill(trade_id=f"inferred-vk-1-{cumulative}", symbol="AAPL", side=Side.BUY,
                quantity=D(quantity), price=D(price), at=T0, inferred=True)


def itemized(trade_id: str, quantity: str, price: str = "99.5", fee: str = "0.25") -> Fill:
    return Fill(trade_id=trade_id, symbol="AAPL", side=Side.BUY, quantity=D(quantity),
                price=D(price), fee=D(fee), at=T0)


def apply_all(order: Order, *fills: Fill) -> list[Result]:
    return [lifecycle.apply_fill(order, fill).result for fill in fills]


def standing(order: Order) -> list[tuple[str, Decimal]]:
    return [(f.trade_id, f.quantity) for f in order.fills]


def assert_consistent(order: Order) -> None:
    """The order's totals are its standing fills', and its history rebuilds them."""
    assert order.filled_quantity == sum((f.quantity for f in order.fills), D(0))
    assert order.filled_notional == sum((f.quantity * f.price for f in order.fills), D(0))
    assert order.fees == sum((f.fee for f in order.fills), D(0))
    assert lifecycle.standing_fills(order.history) == order.fills


# the lifecycle --------------------------------------------------------------------------
def test_a_venue_execution_takes_the_place_of_the_inferred_fill() -> None:
    order = new_order()
    assert apply_all(order, inferred("4", "4"), itemized("t1", "4")) == [Result.APPLIED] * 2
    assert order.state is S.PARTIALLY_FILLED  # the venue still works the other 6
    assert order.filled_quantity == 4
    assert standing(order) == [("t1", 4)]
    assert order.average_price == D("99.5") and order.fees == D("0.25")
    assert order.history[-1].data == {"restates:inferred-vk-1-4": "4"}
    assert_consistent(order)


def test_an_order_filled_by_inference_takes_its_executions_without_an_overfill() -> None:
    # The answer showed the order complete while the execution list lagged behind.
    order = new_order()
    assert apply_all(order, inferred("10", "10"), itemized("t1", "6"),
                     itemized("t2", "4")) == [Result.APPLIED] * 3
    assert order.state is S.FILLED and order.filled_quantity == 10
    assert standing(order) == [("t1", 6), ("t2", 4)]
    assert [e.state for e in order.history[-3:]] == [S.FILLED] * 3
    assert_consistent(order)
    # Once nothing inferred stands, a further execution is a real overfill.
    assert apply_all(order, itemized("t3", "1")) == [Result.OVERFILL]
    assert order.filled_quantity == 10


@pytest.mark.parametrize(("fills", "filled", "left"), [
    # an execution smaller than the inferred quantity restates part of it
    ((inferred("6", "6"), itemized("t1", "4")), "6",
     [("inferred-vk-1-6", D(2)), ("t1", D(4))]),
    # a larger one restates it all and adds the rest
    ((inferred("3", "3"), itemized("t1", "5")), "5", [("t1", D(5))]),
    # one execution spanning two inferred fills restates the oldest first
    ((itemized("t0", "2"), inferred("2", "4"), inferred("3", "7"), itemized("t1", "4")), "7",
     [("t0", D(2)), ("inferred-vk-1-7", D(1)), ("t1", D(4))]),
    # the rest of a partly restated inferred fill is restated by the next execution
    ((inferred("6", "6"), itemized("t1", "4"), itemized("t2", "4")), "8",
     [("t1", D(4)), ("t2", D(4))]),
], ids=["smaller", "larger", "spanning-two", "in-two-steps"])
def test_partial_overlaps(fills: tuple[Fill, ...], filled: str,
                          left: list[tuple[str, Decimal]]) -> None:
    order = new_order()
    assert set(apply_all(order, *fills)) == {Result.APPLIED}
    assert order.filled_quantity == D(filled)
    assert standing(order) == left
    assert_consistent(order)


def test_an_inferred_fill_restates_nothing_and_a_replayed_execution_is_a_duplicate() -> None:
    order = new_order()
    assert apply_all(order, inferred("2", "2"), inferred("3", "5")) == [Result.APPLIED] * 2
    assert order.filled_quantity == 5 and order.history[-1].data is None
    assert apply_all(order, itemized("t1", "2"), itemized("t1", "2")) == [
        Result.APPLIED, Result.DUPLICATE]
    assert order.filled_quantity == 5
    assert_consistent(order)


def test_an_execution_beyond_the_order_is_refused_even_with_inferred_quantity() -> None:
    order = new_order("10")
    assert apply_all(order, itemized("t0", "8"), inferred("1", "9")) == [Result.APPLIED] * 2
    before = (order.filled_quantity, standing(order), len(order.history))
    assert apply_all(order, itemized("t1", "3")) == [Result.OVERFILL]  # 8 + 3 > 10
    assert (order.filled_quantity, standing(order), len(order.history)) == before


# the journal ----------------------------------------------------------------------------
@pytest.fixture
def journal(tmp_path: Path) -> Iterator[SQLiteJournal]:
    with SQLiteJournal(tmp_path / "journal.sqlite3") as opened:
        yield opened


def journaled_order(journal: SQLiteJournal) -> Order:
    order = journal.create_order("mock", OrderRequest(
        symbol="AAPL", side=Side.BUY, quantity=D(10), order_type="limit",
        limit_price=D(100)), id_rules=ClientIdRules(), at=T0)
    for kind in (EventKind.SUBMIT, EventKind.ACK):
        applied = lifecycle.apply(order, kind, at=T0)
        assert applied.event is not None
        journal.append(order, applied.event)
    return order


def journal_fill(journal: SQLiteJournal, order: Order, fill: Fill) -> None:
    applied = lifecycle.apply_fill(order, fill.model_copy(update={
        "trade_id": fill.trade_id.replace("vk-1", order.id)}), at=T0)
    assert applied.event is not None, applied
    assert journal.append(order, applied.event)


def test_the_journal_holds_the_venue_execution_and_only_what_no_execution_restated(
        journal: SQLiteJournal, tmp_path: Path) -> None:
    order = journaled_order(journal)
    journal_fill(journal, order, inferred("6", "6"))
    journal_fill(journal, order, itemized("t1", "4"))
    assert [(f.trade_id, f.quantity, f.inferred) for f in journal.fills()] == [
        (f"inferred-{order.id}-6", 2, True), ("t1", 4, False)]
    journal_fill(journal, order, itemized("t2", "2", price="99", fee="0.1"))
    assert [(f.trade_id, f.quantity, f.price, f.fee) for f in journal.fills()] == [
        ("t1", 4, D("99.5"), D("0.25")), ("t2", 2, D("99"), D("0.1"))]
    # Read back by another reader: the same order, its history keeping the inference.
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as reader:
        stored = reader.get(order.id)
        assert stored is not None
        assert stored.fills == order.fills
        assert [str(x) for x in (stored.filled_quantity, stored.filled_notional,
                                 stored.fees)] == ["6", "596.0", "0.35"]
        assert [e.fill.trade_id for e in stored.history if e.fill] == [
            f"inferred-{order.id}-6", "t1", "t2"]
        assert stored.history == order.history


def test_a_version_one_journal_is_upgraded_and_its_inferred_fills_stand_whole(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with open_journal(path) as journal:
        order = journaled_order(journal)
        journal_fill(journal, order, inferred("6", "6"))
    with sqlite3.connect(path) as raw:  # what a release with schema version 1 wrote
        for statement in ("DROP TABLE runs", "DROP TABLE run_items", "DROP INDEX orders_run",
                          "ALTER TABLE orders DROP COLUMN run_id",
                          "ALTER TABLE orders DROP COLUMN run_item",
                          "ALTER TABLE orders DROP COLUMN request_trigger",
                          "ALTER TABLE orders DROP COLUMN bracket",
                          "ALTER TABLE fills DROP COLUMN restated",
                          "UPDATE meta SET value = '1' WHERE key = 'schema_version'"):
            raw.execute(statement)
    raw.close()
    with open_journal(path) as journal:
        assert [(f.trade_id, f.quantity) for f in journal.fills()] == [
            (f"inferred-{order.id}-6", 6)]
        order = journal.get(order.id) or pytest.fail("order lost")
        journal_fill(journal, order, itemized("t1", "6"))
        assert [f.trade_id for f in journal.fills()] == ["t1"]
    with sqlite3.connect(path) as raw:
        version = raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    raw.close()
    assert version == (str(schema.latest_version()),)


# the tracker, reconciliation and recovery -------------------------------------------
def with_tracker(tmp_path: Path, body: Callable[[ScriptedVenue, OrderTracker, Order],
                                                Awaitable[None]]) -> None:
    """An acknowledged limit buy of 10 at the scripted venue, tracked with a real journal."""
    async def main() -> None:
        venue = ScriptedVenue()
        with SQLiteJournal(tmp_path / "journal.sqlite3") as journal:
            tracker = OrderTracker(venue.name, journal)
            order = journal.create_order(venue.name, limit_buy("10"),
                                         id_rules=ClientIdRules())
            tracker.track(order)
            tracker.apply(order, EventKind.SUBMIT)
            apply_snapshot(tracker, order, await venue.submit(limit_buy("10"), order.id))
            assert order.state is S.ACKNOWLEDGED
            await body(venue, tracker, order)
    asyncio.run(main())


def test_an_execution_listed_after_it_was_inferred_counts_once(tmp_path: Path) -> None:
    async def body(venue: ScriptedVenue, tracker: OrderTracker, order: Order) -> None:
        assert order.venue_order_id is not None
        # The order's state shows 4 filled; the execution list does not list it yet.
        late = venue.execute(order.venue_order_id, "T-1", "4", "9.98", fee="0.02",
                             itemized=False)
        await reconcile_order(venue, tracker, order)
        assert [(f.trade_id, f.inferred) for f in order.fills] == [
            (f"inferred-{order.id}-4", True)]
        # The venue's own execution arrives later (the stream, or the next read).
        assert tracker.on_fill(late)
        assert order.state is S.PARTIALLY_FILLED and order.filled_quantity == 4
        assert order.average_price == D("9.98") and order.fees == D("0.02")
        assert tracker.overfills == [] and tracker.duplicate_executions == []
        tracker.flush()
        assert [(f.trade_id, f.quantity, f.price, f.fee) for f in tracker.journal.fills()] \
            == [("T-1", 4, D("9.98"), D("0.02"))]
        stored = tracker.journal.get(order.id)
        assert stored is not None and stored.filled_quantity == 4 and stored.fills == order.fills
        # The rest fills and is itemized: the order completes, nothing counted twice.
        venue.execute(order.venue_order_id, "T-2", "6", "10")
        await reconcile_order(venue, tracker, order)
        assert order.state is S.FILLED and order.filled_quantity == 10
        assert [f.trade_id for f in order.fills] == ["T-1", "T-2"]
    with_tracker(tmp_path, body)


def test_an_order_filled_by_inference_takes_the_final_execution_from_the_stream(
        tmp_path: Path) -> None:
    async def body(venue: ScriptedVenue, tracker: OrderTracker, order: Order) -> None:
        assert order.venue_order_id is not None
        late = venue.execute(order.venue_order_id, "T-1", "10", "10", itemized=False)
        await reconcile_order(venue, tracker, order)
        assert order.state is S.FILLED and order.fills[0].inferred
        applied = tracker.on_fill(late)
        assert applied is not None and applied.result is Result.APPLIED
        assert order.state is S.FILLED and [f.trade_id for f in order.fills] == ["T-1"]
        assert tracker.overfills == []
        tracker.flush()
        assert [f.trade_id for f in tracker.journal.fills()] == ["T-1"]
    with_tracker(tmp_path, body)


def test_recovery_reads_again_the_executions_of_an_order_that_filled_after_its_first_read(
        tmp_path: Path) -> None:
    async def body(venue: ScriptedVenue, tracker: OrderTracker, order: Order) -> None:
        assert order.venue_order_id is not None
        venue_order_id = order.venue_order_id

        def fills_now() -> None:  # between recovery's read of executions and its lookup
            venue.on_lookup = None
            venue.execute(venue_order_id, "T-1", "10", "10.01", fee="0.05")

        venue.on_lookup = fills_now
        report = await recover(venue, tracker)
        assert report.ok and report.inferred_fills == 0
        assert venue.fills_reads == 2  # the batch read, then this order's again
        assert order.state is S.FILLED
        assert [(f.trade_id, f.inferred) for f in order.fills] == [("T-1", False)]
        tracker.flush()
        assert [(f.trade_id, f.fee) for f in tracker.journal.fills()] == [("T-1", D("0.05"))]
    with_tracker(tmp_path, body)


def test_recovery_infers_what_the_venue_still_does_not_list_with_a_plain_id(
        tmp_path: Path) -> None:
    async def body(venue: ScriptedVenue, tracker: OrderTracker, order: Order) -> None:
        assert order.venue_order_id is not None
        venue.execute(order.venue_order_id, "T-1", "10", "10", itemized=False)
        report = await recover(venue, tracker)
        assert report.ok and report.inferred_fills == 1
        # 10 is written as 10, not 1E+1.
        assert [f.trade_id for f in order.fills] == [f"inferred-{order.id}-10"]
    with_tracker(tmp_path, body)
