"""The journal keeps runs: their intent, their items' targets and statuses, and which run
item each order serves; all durable when the call returns, and read back exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit.journal import ClientIdRules, SQLiteJournal, open_journal
from venuekit.journal.runs import OWNER
from venuekit.model import OrderRequest
from venuekit.runs import Run, RunItem, RunKind, RunLink, RunState

BOTH_BACKENDS = True  # each test taking `path` or `journal` runs on SQLite and PostgreSQL

ITEMS = [RunItem(index=0, symbol="AAPL", action="SELL", quantity=Decimal("10.50")),
         RunItem(index=1, symbol="MSFT", action="BUY", notional=Decimal("2500")),
         RunItem(index=2, symbol="F", action="HOLD")]


def read(journal: SQLiteJournal, run_id: str) -> Run:
    found = journal.get_run(run_id)
    assert found is not None
    return found


def test_a_run_and_its_items_are_read_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with open_journal(path) as journal:
        run = journal.create_run(kind=RunKind.REBALANCE, venue="mock", plan_hash="abc",
                                 strategy="limit", items=ITEMS, correlation_id="june",
                                 owner=OWNER)
        assert run.state is RunState.RUNNING and run.live and run.sessions == 1
        second = journal.create_run(kind=RunKind.ORDER, venue="mock", plan_hash="def",
                                    strategy="market", items=ITEMS[:1])
        assert run.id != second.id and run.id.endswith("-r1") and second.id.endswith("-r2")
    with open_journal(path) as journal:  # durable, and numbered on after a reopen
        stored = journal.get_run(run.id)
        assert stored is not None
        assert stored.items == ITEMS and str(stored.items[0].quantity) == "10.50"
        assert (stored.correlation_id, stored.strategy, stored.owner) == ("june", "limit",
                                                                           OWNER)
        third = journal.create_run(kind=RunKind.ORDER, venue="alpaca", plan_hash="abc",
                                   strategy="market", items=())
        assert third.id.endswith("-r3")
        assert [r.id for r in journal.runs()] == [third.id, second.id, run.id]
        assert [r.id for r in journal.runs(plan_hash="abc", venue="mock")] == [run.id]
        assert [r.id for r in journal.runs(kind=RunKind.ORDER, limit=1)] == [third.id]


def test_targets_are_fixed_once_and_statuses_recorded(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "journal.sqlite3") as journal:
        run = journal.create_run(kind=RunKind.REBALANCE, venue="mock", plan_hash="abc",
                                 strategy="limit", items=ITEMS)
        journal.update_run(run.id, items=[ITEMS[0].with_target(Decimal(10))])
        run = read(journal, run.id)
        assert run.item(0).target == 10 and run.item(1).target is None
        # A later write without a target (or another one) keeps the first.
        journal.update_run(run.id, state=RunState.INTERRUPTED, note="SIGINT",
                           items=[ITEMS[0].with_target(Decimal(7))])
        run = read(journal, run.id)
        assert run.item(0).target == 10 and run.note == "SIGINT"
        journal.update_run(run.id, resumed_by="pid 2 on host")
        resumed = read(journal, run.id)
        assert (resumed.state, resumed.sessions, resumed.note, resumed.owner) == (
            RunState.RUNNING, 2, None, "pid 2 on host")
        assert not resumed.live, "another process owns it"
        journal.update_run(run.id, state=RunState.FINISHED)
        ended = read(journal, run.id)
        assert ended.finished_at is not None and not ended.state.resumable
        with pytest.raises(VenueKitError) as raised:
            journal.update_run("nope", state=RunState.FINISHED)
        assert raised.value.code is Code.UNKNOWN_RUN


def test_an_order_keeps_the_run_item_it_serves(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "journal.sqlite3") as journal:
        run = journal.create_run(kind=RunKind.REBALANCE, venue="mock", plan_hash="abc",
                                 strategy="limit", items=ITEMS)
        request = OrderRequest(symbol="AAPL", side="sell", quantity=Decimal(10))
        linked = journal.create_order("mock", request, id_rules=ClientIdRules(),
                                      run=RunLink(run.id, 0), submitted=True)
        alone = journal.create_order("mock", request, id_rules=ClientIdRules())
        assert (linked.run_id, linked.run_item) == (run.id, 0)
        assert (alone.run_id, alone.run_item) == (None, None)
        stored = journal.get(linked.id)
        assert stored is not None and (stored.run_id, stored.run_item) == (run.id, 0)
        assert [o.id for o in journal.orders(run_id=run.id)] == [linked.id]
