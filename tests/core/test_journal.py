"""The SQLite journal: what is committed, and what is read back.

Every test uses a real journal file in ``tmp_path`` (helpers in ``journal_support``).
"""


from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from venuekit.errors import Code, JournalError
from venuekit.journal import (
    NEW_EVENT,
    ClientIdRules,
    SQLiteJournal,
    open_journal,
)
from venuekit.lifecycle import EventKind, apply, apply_fill
from venuekit.model import Order, OrderEvent, OrderRequest, OrderState, OrderType, Side

from .journal_support import (
    RULES,
    T0,
    assert_same,
    execution,
    limit,
    record,
    step,
    take_over,
)

BOTH_BACKENDS = True  # each test taking `path` or `journal` runs on SQLite and PostgreSQL

# creating and appending ---------------------------------------------------------------------

def test_create_order_is_committed_before_it_returns(journal: SQLiteJournal,
                                                     path: Path) -> None:
    order = journal.create_order("mock", limit(), id_rules=RULES, at=T0)

    assert order.state is OrderState.NEW
    assert order.history == [OrderEvent(seq=1, kind=NEW_EVENT, state=OrderState.NEW, at=T0)]
    # The writer is still open: a second, read-only journal sees the order already.
    with open_journal(path, readonly=True) as reader:
        assert_same(reader.get(order.id), order)


@pytest.mark.parametrize("in_batch", [False, True])
def test_an_order_created_as_sent_is_committed_submitted_with_both_events(
        journal: SQLiteJournal, path: Path, in_batch: bool) -> None:
    # What the engine journals before a create leaves: NEW and SUBMIT, one commit, and the
    # row already SUBMITTED (recovery looks such an order up instead of sending it again).
    if in_batch:
        with journal.batch():
            order = journal.create_order("mock", limit(), id_rules=RULES, at=T0,
                                         submitted=True)
    else:
        order = journal.create_order("mock", limit(), id_rules=RULES, at=T0, submitted=True)

    assert order.state is OrderState.SUBMITTED
    assert order.history == [OrderEvent(seq=1, kind=NEW_EVENT, state=OrderState.NEW, at=T0),
                             OrderEvent(seq=2, kind="submit", state=OrderState.SUBMITTED,
                                        at=T0)]
    with open_journal(path, readonly=True) as reader:
        assert_same(reader.get(order.id), order)
        assert [o.id for o in reader.open_orders("mock")] == [order.id]
    # Its next event follows on as on any other order.
    step(journal, order, EventKind.ACK)
    journal.flush()
    with open_journal(path, readonly=True) as reader:
        assert_same(reader.get(order.id), order)


def test_orders_round_trip_exactly(path: Path) -> None:
    seoul = timezone(timedelta(hours=9))
    request = OrderRequest(symbol="BTCUSDT", side=Side.SELL, quantity=Decimal("0.00123000"),
                           order_type=OrderType.LIMIT, limit_price=Decimal("64250.10"),
                           correlation_id="rebalance-7")
    fee = Decimal("0.000000012345678901234567890123456789")  # more digits than the context
    with open_journal(path) as journal:
        order = journal.create_order("binance", request, id_rules=RULES,
                                     quantity=Decimal("0.00120"),
                                     at=datetime(2026, 3, 2, 23, 30, 0, 1, tzinfo=seoul))
        step(journal, order, EventKind.SUBMIT)
        order.venue_order_id = "8812"
        step(journal, order, EventKind.ACK)
        record(journal, order, apply_fill(order, execution(
            "t-1", "0.0004", "64250.10", symbol="BTCUSDT", side=Side.SELL, fee=str(fee),
            at=datetime(2026, 3, 2, 23, 30, 1, 999999, tzinfo=seoul))))
        record(journal, order, apply(order, EventKind.CANCEL_REQUEST,
                                     data={"why": "repeg", "price": "64250.20"}))

    with open_journal(path) as journal:
        stored = journal.get(order.id)
    assert_same(stored, order)
    assert stored is not None
    assert stored.created_at == datetime(2026, 3, 2, 14, 30, 0, 1, tzinfo=UTC)
    assert stored.created_at.tzinfo is UTC
    assert str(stored.quantity) == "0.00120" and str(stored.request.quantity) == "0.00123000"
    assert str(stored.fills[0].fee) == str(fee)
    assert stored.history[-1].data == {"why": "repeg", "price": "64250.20"}
    assert stored.resume_state is OrderState.PARTIALLY_FILLED


def test_notional_order_keeps_its_unknown_quantity_until_the_venue_reports_it(
        journal: SQLiteJournal) -> None:
    request = OrderRequest(symbol="AAPL", side=Side.BUY, notional=Decimal("250.00"))
    order = journal.create_order("alpaca", request, id_rules=RULES)
    assert journal.get(order.id) is not None
    assert journal.get(order.id).quantity is None  # type: ignore[union-attr]

    step(journal, order, EventKind.SUBMIT)
    order.quantity = Decimal("1.234567891")
    step(journal, order, EventKind.ACK)
    assert_same(journal.get(order.id), order)


def test_create_order_takes_the_quantized_quantity_and_price(journal: SQLiteJournal) -> None:
    order = journal.create_order("mock", limit(quantity="10.7", price="101.257"),
                                 id_rules=RULES, quantity=Decimal("10"),
                                 limit_price=Decimal("101.25"), replaces="abc-1")
    stored = journal.get(order.id)
    assert stored is not None
    assert (stored.quantity, stored.limit_price) == (Decimal("10"), Decimal("101.25"))
    assert stored.request.limit_price == Decimal("101.257")
    assert stored.replaces == "abc-1"


@pytest.mark.parametrize("field", ["quantity", "limit_price"])
@pytest.mark.parametrize("bad", [0.5, Decimal("0"), Decimal("-1"), Decimal("NaN")])
def test_create_order_refuses_amounts_that_are_not_positive_decimals(
        journal: SQLiteJournal, field: str, bad: object) -> None:
    with pytest.raises(ValueError, match=field):
        journal.create_order("mock", limit(), id_rules=RULES, **{field: bad})  # type: ignore[arg-type]
    assert journal.orders() == []


def test_an_execution_is_stored_once(journal: SQLiteJournal,
                                     caplog: pytest.LogCaptureFixture) -> None:
    first = journal.create_order("binance", limit(), id_rules=RULES)
    second = journal.create_order("binance", limit(), id_rules=RULES)
    for order in (first, second):
        step(journal, order, EventKind.SUBMIT, EventKind.ACK)
    assert record(journal, first, apply_fill(first, execution("t-1", "4", "101.25"))) is True

    with caplog.at_level(logging.WARNING, logger="venuekit.journal"):
        again = record(journal, second, apply_fill(second, execution("t-1", "4", "101.25")))

    assert again is False
    assert [f.trade_id for f in journal.fills(venue="binance")] == ["t-1"]
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert (warning.trade_id, warning.recorded_for) == ("t-1", first.id)  # type: ignore[attr-defined]
    # The event itself is kept: the journal still agrees with what the SDK did.
    assert_same(journal.get(second.id), second)


def test_same_trade_id_on_another_symbol_or_side_is_another_execution(
        journal: SQLiteJournal) -> None:
    # Binance numbers trades per symbol; a self-trade reports one trade id on both sides.
    buy = journal.create_order("binance", limit(), id_rules=RULES)
    sell = journal.create_order("binance", limit(side=Side.SELL), id_rules=RULES)
    other = journal.create_order("binance", limit(symbol="MSFT"), id_rules=RULES)
    elsewhere = journal.create_order("alpaca", limit(), id_rules=RULES)
    for order in (buy, sell, other, elsewhere):
        step(journal, order, EventKind.SUBMIT, EventKind.ACK)
        fill = execution("42", "1", "101.25", symbol=order.symbol, side=order.side)
        assert record(journal, order, apply_fill(order, fill)) is True
    assert len(journal.fills()) == 4
    assert [f.symbol for f in journal.fills(venue="binance", symbol="MSFT")] == ["MSFT"]


def test_fills_come_back_in_execution_order(journal: SQLiteJournal) -> None:
    order = journal.create_order("mock", limit(), id_rules=RULES)
    step(journal, order, EventKind.SUBMIT)
    late = execution("b", "1", "101", at=T0 + timedelta(seconds=2))
    early = execution("a", "2", "100", at=T0 + timedelta(seconds=1))
    record(journal, order, apply_fill(order, late))
    record(journal, order, apply_fill(order, early))
    assert journal.fills() == [early, late]


def test_venue_order_id_is_recorded(journal: SQLiteJournal) -> None:
    order = journal.create_order("mock", limit(), id_rules=RULES)
    journal.set_venue_order_id(order.id, "V-77")
    stored = journal.get(order.id)
    assert stored is not None and stored.venue_order_id == "V-77"


def test_venue_order_ids_since_a_time_include_finished_and_written_behind_orders(
        journal: SQLiteJournal) -> None:
    old = journal.create_order("mock", limit(), id_rules=RULES, at=T0)
    journal.set_venue_order_id(old.id, "V-old")
    done = journal.create_order("mock", limit(), id_rules=RULES, at=T0 + timedelta(hours=1))
    done.venue_order_id = "V-done"
    journal.set_venue_order_id(done.id, "V-done")
    step(journal, done, EventKind.SUBMIT, EventKind.ACK, EventKind.CANCELLED)
    behind = journal.create_order("mock", limit(), id_rules=RULES, at=T0 + timedelta(hours=1))
    journal.set_venue_order_id(behind.id, "V-behind", behind=True)
    journal.create_order("mock", limit(), id_rules=RULES, at=T0 + timedelta(hours=1))
    other = journal.create_order("alpaca", limit(), id_rules=RULES, at=T0 + timedelta(hours=1))
    journal.set_venue_order_id(other.id, "A-1")
    assert journal.venue_order_ids("mock", T0 + timedelta(minutes=30)) == {"V-done",
                                                                         "V-behind"}
    assert journal.venue_order_ids("mock", T0) == {"V-old", "V-done", "V-behind"}
    assert journal.venue_order_ids("kis", T0) == set()


def test_an_order_the_journal_never_created_is_refused(journal: SQLiteJournal) -> None:
    stranger = Order(id="nobody-1", venue="mock", request=limit(), quantity=Decimal("10"))
    applied = apply(stranger, EventKind.SUBMIT)
    assert applied.event is not None
    with pytest.raises(JournalError) as raised:
        journal.append(stranger, applied.event)
    assert raised.value.code is Code.JOURNAL_ERROR
    with pytest.raises(JournalError):
        journal.set_venue_order_id("nobody-1", "V-1")
    assert journal.orders() == []


def test_an_event_is_written_once(journal: SQLiteJournal) -> None:
    order = journal.create_order("mock", limit(), id_rules=RULES)
    step(journal, order, EventKind.SUBMIT)
    with pytest.raises(JournalError, match="already in the journal"):
        journal.append(order, order.history[-1])
    assert_same(journal.get(order.id), order)


# reading ------------------------------------------------------------------------------------

def test_open_orders_rebuild_everything_recovery_needs(path: Path) -> None:
    live: dict[str, Order] = {}
    with open_journal(path) as journal:
        def new(label: str, venue: str = "mock") -> Order:
            live[label] = journal.create_order(venue, limit(), id_rules=RULES)
            return live[label]

        new("new")
        step(journal, new("submitted"), EventKind.SUBMIT)
        partial = new("partial")
        step(journal, partial, EventKind.SUBMIT, EventKind.ACK)
        record(journal, partial, apply_fill(partial, execution("p-1", "3", "101")))
        cancelling = new("cancelling")
        step(journal, cancelling, EventKind.SUBMIT, EventKind.ACK)
        record(journal, cancelling, apply_fill(cancelling, execution("c-1", "4", "101")))
        step(journal, cancelling, EventKind.CANCEL_REQUEST)
        filled = new("filled")
        step(journal, filled, EventKind.SUBMIT, EventKind.ACK)
        record(journal, filled, apply_fill(filled, execution("f-1", "10", "100.5")))
        step(journal, new("cancelled"), EventKind.SUBMIT, EventKind.ACK, EventKind.CANCELLED)
        replaced = new("replaced")
        step(journal, replaced, EventKind.SUBMIT, EventKind.ACK, EventKind.REPLACE_REQUEST)
        record(journal, replaced, apply(replaced, EventKind.REPLACED,
                                        data={"replaced_by": "next-1"}))
        step(journal, new("elsewhere", venue="other"), EventKind.SUBMIT)

    with open_journal(path) as journal:
        take_over(journal, "mock", "other")
        recovered = journal.open_orders("mock")
        assert [o.id for o in recovered] == [live[k].id for k in
                                             ("new", "submitted", "partial", "cancelling")]
        for order in recovered:
            assert_same(order, next(o for o in live.values() if o.id == order.id))
        assert [o.id for o in journal.open_orders()][-1] == live["elsewhere"].id
        assert_same(journal.get(live["replaced"].id), live["replaced"])

        # A rebuilt order carries on where it stopped: its cancel is refused, it goes back
        # to PARTIALLY_FILLED, a replayed fill is recognised, and the history continues.
        resumed = next(o for o in recovered if o.id == live["cancelling"].id)
        record(journal, resumed, apply(resumed, EventKind.CANCEL_REJECTED))
        assert resumed.state is OrderState.PARTIALLY_FILLED
        assert not apply_fill(resumed, execution("c-1", "4", "101"))
        record(journal, resumed, apply_fill(resumed, execution("c-2", "6", "101")))
        assert resumed.state is OrderState.FILLED
        assert_same(journal.get(resumed.id), resumed)
        assert resumed.id not in {o.id for o in journal.open_orders()}


def test_orders_filters_newest_first(journal: SQLiteJournal) -> None:
    a = journal.create_order("mock", limit(), id_rules=RULES, at=T0)
    b = journal.create_order("mock", limit(symbol="MSFT"), id_rules=RULES,
                             at=T0 + timedelta(minutes=1))
    c = journal.create_order("alpaca", limit(), id_rules=RULES, at=T0 + timedelta(minutes=2))
    step(journal, c, EventKind.SUBMIT, EventKind.ACK, EventKind.CANCELLED)

    def ids(**filters: object) -> list[str]:
        return [o.id for o in journal.orders(**filters)]  # type: ignore[arg-type]

    assert ids() == [c.id, b.id, a.id]
    assert ids(limit=2) == [c.id, b.id]
    assert ids(limit=0) == []
    assert ids(symbol="AAPL") == [c.id, a.id]
    assert ids(venue="mock") == [b.id, a.id]
    assert ids(state=OrderState.CANCELLED) == [c.id]
    assert ids(state=[OrderState.NEW, OrderState.CANCELLED], symbol="MSFT") == [b.id]
    assert ids(state=[]) == []
    assert ids(since=T0 + timedelta(minutes=1)) == [c.id, b.id]
    assert ids(until=T0 + timedelta(minutes=1)) == [a.id]
    assert journal.get("missing") is None
    with pytest.raises(ValueError):
        journal.orders(limit=-1)


# client order ids ---------------------------------------------------------------------------

def test_ids_are_unique_and_deterministic_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with open_journal(path) as journal:
        first = [journal.create_order("mock", limit(), id_rules=RULES).id for _ in range(3)]
    with open_journal(path) as journal:
        second = [journal.create_order("mock", limit(), id_rules=RULES).id for _ in range(3)]
    tag = first[0].split("-")[0]
    assert first + second == [f"{tag}-{n}" for n in range(1, 7)]
    with SQLiteJournal(tmp_path / "other.sqlite3") as other:
        assert not other.create_order("mock", limit(), id_rules=RULES).id.startswith(tag)


def test_ids_follow_each_venues_rules(journal: SQLiteJournal) -> None:
    binance = ClientIdRules(36, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
    digits = ClientIdRules(24, "0123456789")
    for rules, pattern in ((binance, r"[a-zA-Z0-9_-]{1,36}"), (digits, r"[0-9]{1,24}"),
                           (RULES, r"[a-z0-9-]{1,32}")):
        order = journal.create_order("mock", limit(), id_rules=rules)
        assert re.fullmatch(pattern, order.id), (rules, order.id)
        assert journal.get(order.id) is not None


class _ClashOnTwo(ClientIdRules):
    """Renders sequence number 2 as the id number 1 got, as two rule sets could."""

    def client_order_id(self, tag: str, sequence: int) -> str:
        return super().client_order_id(tag, 1 if sequence == 2 else sequence)


def test_an_id_already_taken_is_skipped(journal: SQLiteJournal) -> None:
    first = journal.create_order("mock", limit(), id_rules=RULES)
    clashing = journal.create_order("mock", limit(), id_rules=_ClashOnTwo())
    after = journal.create_order("mock", limit(), id_rules=RULES)
    tag = first.id.split("-")[0]
    assert [first.id, clashing.id, after.id] == [f"{tag}-1", f"{tag}-3", f"{tag}-4"]
    assert len(journal.orders()) == 3
