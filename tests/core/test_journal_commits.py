"""The SQLite journal's commits: batches, events written behind, and what a crash loses.

Every test uses a real journal file in ``tmp_path`` (helpers in ``journal_support``).
"""


from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from venuekit.errors import JournalError
from venuekit.journal import (
    SQLiteJournal,
    open_journal,
)
from venuekit.lifecycle import EventKind, apply, apply_fill
from venuekit.model import Fill, Order, OrderState, Side

from .journal_support import (
    RULES,
    T0,
    assert_same,
    execution,
    limit,
    step,
    take_over,
)

BOTH_BACKENDS = True  # each test taking `path` or `journal` runs on SQLite and PostgreSQL

# batches ------------------------------------------------------------------------------------

def test_a_batch_becomes_durable_at_once_when_it_exits(journal: SQLiteJournal,
                                                       path: Path) -> None:
    with open_journal(path, readonly=True) as reader:
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
    with open_journal(path) as journal:
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
    with open_journal(path, readonly=True) as reader:
        assert_same(reader.get(order.id), order)
        assert reader.fills() == order.fills


# writing behind ---------------------------------------------------------------------------

def test_events_written_behind_become_durable_with_the_next_commit(journal: SQLiteJournal,
                                                                   path: Path) -> None:
    with open_journal(path, readonly=True) as reader:
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
    with open_journal(path, readonly=True) as reader:
        assert_same(reader.get(order.id), order)
    cancelled = apply(order, EventKind.CANCELLED)
    assert cancelled.event is not None
    journal.append_behind(order, cancelled.event)
    journal.close()
    with open_journal(path, readonly=True) as reader:
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
    with open_journal(path, readonly=True) as reader:
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
    with open_journal(path, readonly=True) as reader:
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
    with open_journal(path, readonly=True) as reader:
        assert_same(reader.get(kept.id), kept)
        stored = reader.get(twice.id)
        assert stored is not None and stored.state is OrderState.SUBMITTED  # no trace of it
        assert reader.get("nobody-1") is None


_BEHIND_THEN_KILLED = textwrap.dedent("""
    import os, signal, sys
    from venuekit.journal import ClientIdRules, open_journal
    from venuekit.lifecycle import EventKind, apply
    from venuekit.model import OrderRequest

    journal = open_journal(sys.argv[1])
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
    with open_journal(path) as journal:
        take_over(journal, "mock")  # the killed writer's lease is free: its orders move
        [order] = journal.open_orders()  # still open: recovery reconciles it with the venue
    assert order.id == killed.stdout.strip()
    assert order.state is OrderState.SUBMITTED
    assert [e.kind for e in order.history] == ["new", "submit"]
