"""The SQLite journal: what is committed, what is read back, and how bad files are refused.

Every test uses a real journal file in ``tmp_path``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from venuekit.errors import Code, JournalError
from venuekit.journal import (
    NEW_EVENT,
    ClientIdRules,
    Durability,
    SQLiteJournal,
    default_journal_path,
)
from venuekit.journal import sqlite_schema as schema
from venuekit.lifecycle import Applied, EventKind, apply, apply_fill
from venuekit.model import Fill, Order, OrderEvent, OrderRequest, OrderState, OrderType, Side

RULES = ClientIdRules()
T0 = datetime(2026, 3, 2, 14, 30, 0, 123456, tzinfo=UTC)


def limit(symbol: str = "AAPL", side: Side = Side.BUY, quantity: str = "10",
          price: str = "101.25") -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, quantity=Decimal(quantity),
                        order_type=OrderType.LIMIT, limit_price=Decimal(price))


def execution(trade_id: str, quantity: str, price: str, *, symbol: str = "AAPL",
              side: Side = Side.BUY, fee: str = "0", at: datetime = T0) -> Fill:
    return Fill(trade_id=trade_id, symbol=symbol, side=side, quantity=Decimal(quantity),
                price=Decimal(price), fee=Decimal(fee), at=at)


def record(journal: SQLiteJournal, order: Order, applied: Applied) -> bool:
    """Journal what the lifecycle just applied, as the order tracker does."""
    assert applied, applied.reason
    assert applied.event is not None
    return journal.append(order, applied.event)


def step(journal: SQLiteJournal, order: Order, *kinds: EventKind) -> None:
    for kind in kinds:
        record(journal, order, apply(order, kind))


def assert_same(stored: Order | None, live: Order) -> None:
    """Every field of the rebuilt order equals the live one, Decimals digit for digit."""
    assert stored is not None
    for name in ("id", "venue", "request", "state", "venue_order_id", "fills", "history",
                 "created_at", "replaced_by", "replaces", "reason", "resume_state", "run_id",
                 "run_item"):
        assert getattr(stored, name) == getattr(live, name), name
    for name in ("quantity", "limit_price", "filled_quantity", "filled_notional", "fees"):
        assert str(getattr(stored, name)) == str(getattr(live, name)), name


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def journal(path: Path) -> Iterator[SQLiteJournal]:
    with SQLiteJournal(path) as opened:
        yield opened


def digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


# creating and appending ---------------------------------------------------------------------

def test_create_order_is_committed_before_it_returns(journal: SQLiteJournal,
                                                     path: Path) -> None:
    order = journal.create_order("mock", limit(), id_rules=RULES, at=T0)

    assert order.state is OrderState.NEW
    assert order.history == [OrderEvent(seq=1, kind=NEW_EVENT, state=OrderState.NEW, at=T0)]
    # The writer is still open: a second, read-only journal sees the order already.
    with SQLiteJournal(path, readonly=True) as reader:
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
    with SQLiteJournal(path, readonly=True) as reader:
        assert_same(reader.get(order.id), order)
        assert [o.id for o in reader.open_orders("mock")] == [order.id]
    # Its next event follows on as on any other order.
    step(journal, order, EventKind.ACK)
    journal.flush()
    with SQLiteJournal(path, readonly=True) as reader:
        assert_same(reader.get(order.id), order)


def test_orders_round_trip_exactly(path: Path) -> None:
    seoul = timezone(timedelta(hours=9))
    request = OrderRequest(symbol="BTCUSDT", side=Side.SELL, quantity=Decimal("0.00123000"),
                           order_type=OrderType.LIMIT, limit_price=Decimal("64250.10"),
                           correlation_id="rebalance-7")
    fee = Decimal("0.000000012345678901234567890123456789")  # more digits than the context
    with SQLiteJournal(path) as journal:
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

    with SQLiteJournal(path) as journal:
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
    with SQLiteJournal(path) as journal:
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

    with SQLiteJournal(path) as journal:
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
    with SQLiteJournal(path) as journal:
        first = [journal.create_order("mock", limit(), id_rules=RULES).id for _ in range(3)]
    with SQLiteJournal(path) as journal:
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


# batches ------------------------------------------------------------------------------------

def test_a_batch_becomes_durable_at_once_when_it_exits(journal: SQLiteJournal,
                                                       path: Path) -> None:
    with SQLiteJournal(path, readonly=True) as reader:
        with journal.batch():
            first = journal.create_order("mock", limit(), id_rules=RULES)
            with journal.batch():  # nested: only the outermost commits
                second = journal.create_order("mock", limit(), id_rules=RULES)
                step(journal, second, EventKind.SUBMIT)
            assert reader.orders() == []
            assert journal.get(second.id) is not None  # the writer sees its own batch
        assert_same(reader.get(first.id), first)
        assert_same(reader.get(second.id), second)


def test_a_failed_call_in_a_batch_leaves_no_trace_and_the_rest_is_kept(
        journal: SQLiteJournal) -> None:
    with pytest.raises(RuntimeError), journal.batch():
        kept = journal.create_order("mock", limit(), id_rules=RULES)
        step(journal, kept, EventKind.SUBMIT)
        with pytest.raises(JournalError):
            journal.append(kept, kept.history[-1])  # a second writer of the same event
        raise RuntimeError("the caller failed after journaling")
    assert_same(journal.get(kept.id), kept)


@pytest.mark.parametrize("behind", [False, True], ids=["append", "append_behind"])
@pytest.mark.parametrize(("reason", "data"), [(None, None), ("venue note", None),
                                              (None, {"why": "repeg"}),
                                              ("venue note", {"why": "repeg"})])
def test_every_event_form_is_read_back_as_written(path: Path, behind: bool, reason: str | None,
                                                 data: dict[str, str] | None) -> None:
    """An event with or without a reason and data, and a fill with or without its venue's
    ids, come back from the file exactly as they were recorded."""
    with SQLiteJournal(path) as journal:
        order = journal.create_order("mock", limit(), id_rules=RULES, at=T0, submitted=True)
        order.venue_order_id = "v-1"
        write = journal.append_behind if behind else journal.append
        with_ids = Fill(trade_id="t-1", symbol="AAPL", side=Side.BUY, quantity=Decimal("4"),
                        price=Decimal("101.25"), at=T0, venue_order_id="v-1",
                        client_order_id=order.id)
        without_ids = execution("t-2", "6", "101.20")
        for make in (lambda: apply(order, EventKind.ACK, at=T0),
                     lambda: apply_fill(order, with_ids), lambda: apply_fill(order, without_ids)):
            applied = make()
            assert applied.event is not None
            event = dataclasses.replace(applied.event, reason=reason, data=data)
            order.history[-1] = event
            assert write(order, event)
        journal.flush()
    assert order.state is OrderState.FILLED
    with SQLiteJournal(path, readonly=True) as reader:
        assert_same(reader.get(order.id), order)
        assert reader.fills() == order.fills


# writing behind ---------------------------------------------------------------------------

def test_events_written_behind_become_durable_with_the_next_commit(journal: SQLiteJournal,
                                                                   path: Path) -> None:
    with SQLiteJournal(path, readonly=True) as reader:
        first = journal.create_order("mock", limit(), id_rules=RULES)
        step(journal, first, EventKind.SUBMIT)
        acked = apply(first, EventKind.ACK)
        assert acked.event is not None
        journal.append_behind(first, acked.event)
        assert journal.pending
        assert_same(journal.get(first.id), first)  # the writer sees it at once
        assert reader.get(first.id).state is OrderState.SUBMITTED  # type: ignore[union-attr]
        # The next create commits it, before the new order could be sent.
        second = journal.create_order("mock", limit(), id_rules=RULES)
        assert not journal.pending
        assert_same(reader.get(first.id), first)
        assert reader.get(second.id) is not None


def test_flush_and_close_commit_what_was_written_behind(journal: SQLiteJournal,
                                                        path: Path) -> None:
    order = journal.create_order("mock", limit(), id_rules=RULES)
    step(journal, order, EventKind.SUBMIT)
    for applied in (apply(order, EventKind.ACK),
                    apply_fill(order, execution("t-1", "4", "101.25"))):
        assert applied.event is not None
        assert journal.append_behind(order, applied.event)
    journal.set_venue_order_id(order.id, "V-1", behind=True)
    order.venue_order_id = "V-1"
    journal.flush()
    assert not journal.pending
    with SQLiteJournal(path, readonly=True) as reader:
        assert_same(reader.get(order.id), order)
    cancelled = apply(order, EventKind.CANCELLED)
    assert cancelled.event is not None
    journal.append_behind(order, cancelled.event)
    journal.close()
    with SQLiteJournal(path, readonly=True) as reader:
        assert_same(reader.get(order.id), order)
        assert [f.trade_id for f in reader.fills()] == ["t-1"]


def test_a_batch_takes_what_was_written_behind_along(journal: SQLiteJournal,
                                                     path: Path) -> None:
    order = journal.create_order("mock", limit(), id_rules=RULES)
    step(journal, order, EventKind.SUBMIT)
    acked = apply(order, EventKind.ACK)
    assert acked.event is not None
    journal.append_behind(order, acked.event)
    with journal.batch():
        journal.create_order("mock", limit(), id_rules=RULES)
    assert not journal.pending
    with SQLiteJournal(path, readonly=True) as reader:
        assert_same(reader.get(order.id), order)


def test_an_order_changed_many_times_behind_is_stored_as_it_ends(journal: SQLiteJournal,
                                                                 path: Path) -> None:
    orders = [journal.create_order("mock", limit(), id_rules=RULES) for _ in range(3)]
    for number, order in enumerate(orders):
        step(journal, order, EventKind.SUBMIT)
        journal.set_venue_order_id(order.id, f"V-{number}", behind=True)
        order.venue_order_id = f"V-{number}"
        for applied in (apply(order, EventKind.ACK),
                        apply_fill(order, execution(f"t-{number}", "4", "101.25")),
                        apply(order, EventKind.CANCEL_REQUEST),
                        apply(order, EventKind.CANCELLED)):
            assert applied.event is not None
            journal.append_behind(order, applied.event)
    journal.flush()
    with SQLiteJournal(path, readonly=True) as reader:
        for order in orders:
            assert_same(reader.get(order.id), order)
        assert reader.open_orders() == []


def test_a_bad_event_written_behind_is_dropped_at_the_commit_and_the_rest_kept(
        journal: SQLiteJournal, path: Path, caplog: pytest.LogCaptureFixture) -> None:
    kept = journal.create_order("mock", limit(), id_rules=RULES)
    twice = journal.create_order("mock", limit(), id_rules=RULES)
    for order in (kept, twice):
        step(journal, order, EventKind.SUBMIT)
    stranger = Order(id="nobody-1", venue="mock", request=limit(), quantity=Decimal("10"),
                     state=OrderState.SUBMITTED)
    for order in (kept, stranger, twice):
        applied = apply(order, EventKind.ACK)
        assert applied.event is not None
        journal.append_behind(order, applied.event)
    journal.append_behind(twice, twice.history[-1])  # a second writer of the same event
    with caplog.at_level(logging.ERROR, logger="venuekit.journal"):
        journal.flush()
    dropped = [r.order_id for r in caplog.records  # type: ignore[attr-defined]
               if r.getMessage() == "events written behind were not recorded"]
    assert sorted(dropped) == sorted(["nobody-1", twice.id])
    with SQLiteJournal(path, readonly=True) as reader:
        assert_same(reader.get(kept.id), kept)
        stored = reader.get(twice.id)
        assert stored is not None and stored.state is OrderState.SUBMITTED  # no trace of it
        assert reader.get("nobody-1") is None


_BEHIND_THEN_KILLED = textwrap.dedent("""
    import os, signal, sys
    from venuekit.journal import ClientIdRules, SQLiteJournal
    from venuekit.lifecycle import EventKind, apply
    from venuekit.model import OrderRequest

    journal = SQLiteJournal(sys.argv[1])
    order = journal.create_order(
        "mock", OrderRequest(symbol="AAPL", side="buy", quantity="3"), id_rules=ClientIdRules())
    journal.append(order, apply(order, EventKind.SUBMIT).event)
    journal.append_behind(order, apply(order, EventKind.ACK).event)
    print(order.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_crash_loses_only_events_written_behind_and_the_order_stays_open(
        path: Path) -> None:
    killed = subprocess.run([sys.executable, "-c", _BEHIND_THEN_KILLED, str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert killed.returncode == -9, killed.stderr
    with SQLiteJournal(path) as journal:
        [order] = journal.open_orders()  # still open: recovery reconciles it with the venue
    assert order.id == killed.stdout.strip()
    assert order.state is OrderState.SUBMITTED
    assert [e.kind for e in order.history] == ["new", "submit"]


# opening: locks, read-only, bad files ---------------------------------------------------------

_HOLDER = textwrap.dedent("""
    import sys
    from venuekit.journal import ClientIdRules, SQLiteJournal
    from venuekit.model import OrderRequest

    journal = SQLiteJournal(sys.argv[1])
    order = journal.create_order(
        "mock", OrderRequest(symbol="AAPL", side="buy", quantity="3"), id_rules=ClientIdRules())
    print(order.id, flush=True)
    sys.stdin.read()  # hold the journal open until killed
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_second_writer_process_is_locked_out_until_the_first_dies(path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stderr is not None
        order_id = holder.stdout.readline().strip()
        assert order_id, holder.stderr.read()

        with pytest.raises(JournalError) as raised:
            SQLiteJournal(path)
        assert raised.value.code is Code.JOURNAL_LOCKED
        assert f"pid {holder.pid}" in str(raised.value)

        # Listing commands read alongside the writer, and see what it committed.
        with SQLiteJournal(path, readonly=True) as reader:
            stored = reader.get(order_id)
            assert stored is not None and stored.state is OrderState.NEW

        holder.kill()  # SIGKILL: no clean-up runs in the holder
        holder.wait(timeout=30)

    with SQLiteJournal(path) as journal:  # the OS released the lock
        stored = journal.get(order_id)
        assert stored is not None and [e.kind for e in stored.history] == [NEW_EVENT]


def test_a_second_writer_in_the_same_process_is_locked_out(journal: SQLiteJournal,
                                                           path: Path) -> None:
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path)
    assert raised.value.code is Code.JOURNAL_LOCKED
    journal.close()
    SQLiteJournal(path).close()


def test_read_only_never_writes(journal: SQLiteJournal, path: Path) -> None:
    order = journal.create_order("mock", limit(), id_rules=RULES)
    with SQLiteJournal(path, readonly=True) as reader:
        applied = apply(order, EventKind.SUBMIT)
        assert applied.event is not None
        for attempt in (lambda: reader.create_order("mock", limit(), id_rules=RULES),
                        lambda: reader.append(order, applied.event),  # type: ignore[arg-type]
                        lambda: reader.set_venue_order_id(order.id, "V-1"),
                        lambda: reader.batch().__enter__()):
            with pytest.raises(JournalError, match="read-only"):
                attempt()
    missing = path.parent / "missing.sqlite3"
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(missing, readonly=True)
    assert raised.value.code is Code.JOURNAL_ERROR
    assert not missing.exists()


@pytest.mark.parametrize("readonly", [False, True])
def test_a_file_that_is_not_sqlite_is_corrupt_and_left_alone(path: Path, readonly: bool) -> None:
    path.write_bytes(b"order book of record\n" * 100)
    before = digest(path)
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path, readonly=readonly)
    assert raised.value.code is Code.JOURNAL_CORRUPT
    assert digest(path) == before


@pytest.mark.parametrize("table", ["users (name TEXT)", "meta (version INTEGER)"])
def test_another_applications_database_is_corrupt_and_left_alone(path: Path,
                                                                 table: str) -> None:
    with sqlite3.connect(path) as other:
        other.execute(f"CREATE TABLE {table}")
        other.execute(f"INSERT INTO {table.split()[0]} VALUES (1)")
    other.close()
    before = digest(path)
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path)
    assert raised.value.code is Code.JOURNAL_CORRUPT
    assert "not a venuekit journal" in raised.value.message
    assert digest(path) == before


def test_a_journal_missing_a_table_is_corrupt(path: Path) -> None:
    SQLiteJournal(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TABLE events")
    raw.close()
    before = digest(path)
    with pytest.raises(JournalError) as raised:
        SQLiteJournal(path)
    assert raised.value.code is Code.JOURNAL_CORRUPT
    assert "events" in raised.value.message
    assert digest(path) == before


def test_a_journal_from_a_newer_venuekit_is_refused(path: Path) -> None:
    SQLiteJournal(path).close()
    newer = schema.latest_version() + 1
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(newer),))
        raw.execute("UPDATE meta SET value = '9.0.0' WHERE key = 'venuekit_version'")
    raw.close()
    before = digest(path)
    for readonly in (False, True):
        with pytest.raises(JournalError) as raised:
            SQLiteJournal(path, readonly=readonly)
        assert raised.value.code is Code.JOURNAL_TOO_NEW
        message = raised.value.message
        assert f"schema version {newer}" in message and "9.0.0" in message
        assert f"up to {schema.latest_version()}" in message
    assert digest(path) == before


# schema evolution ---------------------------------------------------------------------------

def test_migrations_are_numbered_one_by_one() -> None:
    assert [m.version for m in schema.MIGRATIONS] == list(range(1, len(schema.MIGRATIONS) + 1))


def _with_next_version(*statements: str) -> tuple[schema.Migration, ...]:
    return (*schema.MIGRATIONS,
            schema.Migration(schema.latest_version() + 1, "test step", statements))


def test_an_older_journal_is_upgraded_on_open(path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with SQLiteJournal(path) as journal:
        order = journal.create_order("mock", limit(), id_rules=RULES)
        step(journal, order, EventKind.SUBMIT)
    old = schema.latest_version()
    monkeypatch.setattr(schema, "MIGRATIONS", _with_next_version(
        "ALTER TABLE orders ADD COLUMN tag TEXT NOT NULL DEFAULT 'manual'"))

    with pytest.raises(JournalError, match="open it once for writing"):
        SQLiteJournal(path, readonly=True)
    with SQLiteJournal(path) as journal:
        assert_same(journal.get(order.id), order)
        later = journal.create_order("mock", limit(), id_rules=RULES)
    with sqlite3.connect(path) as raw:
        version = raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        tags = raw.execute("SELECT id, tag FROM orders ORDER BY seq").fetchall()
    raw.close()
    assert version == (str(old + 1),)
    assert tags == [(order.id, "manual"), (later.id, "manual")]


def test_a_failing_migration_leaves_the_journal_as_it_was(path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with SQLiteJournal(path) as journal:
        order = journal.create_order("mock", limit(), id_rules=RULES)
    monkeypatch.setattr(schema, "MIGRATIONS", _with_next_version(
        "ALTER TABLE orders ADD COLUMN tag TEXT", "THIS IS NOT SQL"))
    with pytest.raises(JournalError):
        SQLiteJournal(path)

    monkeypatch.undo()
    with SQLiteJournal(path) as journal:
        assert journal.get(order.id) is not None
    with sqlite3.connect(path) as raw:
        columns = {row[1] for row in raw.execute("PRAGMA table_info(orders)")}
    raw.close()
    assert "tag" not in columns


# settings -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("durability", "synchronous"), [("normal", 1), ("full", 2)])
def test_durability_sets_how_sqlite_syncs(path: Path, durability: Durability,
                                          synchronous: int) -> None:
    # The setting lives on the connection only, so it is read through the journal's own.
    with SQLiteJournal(path, durability=durability) as journal:
        assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == synchronous


def test_full_durability_keeps_the_same_records(path: Path) -> None:
    with SQLiteJournal(path, durability="full") as journal:
        order = journal.create_order("mock", limit(), id_rules=RULES)
        step(journal, order, EventKind.SUBMIT)
    with SQLiteJournal(path) as journal:
        assert_same(journal.get(order.id), order)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()
    with pytest.raises(ValueError, match="durability"):
        SQLiteJournal(path, durability="fast")  # type: ignore[arg-type]


def test_default_path_and_its_directories(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)
    assert default_journal_path() == Path(".venuekit") / "journal.sqlite3"
    monkeypatch.chdir(tmp_path)
    with SQLiteJournal() as journal:
        assert journal.path.resolve() == (tmp_path / ".venuekit" / "journal.sqlite3").resolve()
    assert (tmp_path / ".venuekit" / "journal.sqlite3").is_file()

    target = tmp_path / "a" / "b" / "book.sqlite3"
    monkeypatch.setenv("VENUEKIT_JOURNAL", os.fspath(target))
    assert default_journal_path() == target
    SQLiteJournal().close()
    assert target.is_file()


def test_close_is_idempotent_and_a_closed_journal_refuses_work(journal: SQLiteJournal) -> None:
    journal.close()
    journal.close()
    with pytest.raises(JournalError):
        journal.create_order("mock", limit(), id_rules=RULES)
    with pytest.raises(JournalError):
        journal.orders()
