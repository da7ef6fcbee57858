"""One writer per order: an event is numbered from the order's latest history.

The journal numbers each order's events 1, 2, 3, ... and takes each number once; events
written behind that claim a number already taken are dropped at the commit, logged as
"events written behind were not recorded". An event must therefore only ever be applied
to the order object that carries everything the journal holds of that order.

``venuekit cancel`` (and :func:`venuekit.cancel`, and a client's cancels) chooses its
orders from the journal before the venue is connected and recovered. An order that ended
at the venue while no session watched it is closed by that recovery; the cancel must then
take it as recovery left it, and not cancel it again from the copy it chose before, whose
history stops short of recovery's events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.helpers import count_calls, flat
from venuekit.cancelling import CancelReport, choose_in
from venuekit.client import AsyncClient
from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import Order, OrderRequest, OrderState, OrderType, Side, TimeInForce
from venuekit.plugins import PluginHost
from venuekit.settings import Settings
from venuekit_mock import MockVenue

T = TypeVar("T")
D = Decimal
NOT_RECORDED = "events written behind were not recorded"


@dataclass(frozen=True)
class _Here(Settings):
    """Settings beside the mock the test holds (its market outlives a session)."""

    mock: MockVenue | None = None


def cancel(settings: _Here, order_ids: list[str]) -> CancelReport:
    """A client over the held mock cancels ``order_ids``, as `venuekit cancel ID` does."""
    chosen = choose_in(settings, order_ids=order_ids)  # before the venue is connected

    async def main() -> CancelReport:
        assert settings.mock is not None
        async with AsyncClient(settings.mock, settings=settings,
                               host=PluginHost(load_entry_points=False)) as client:
            return await client.cancel_chosen(chosen)
    return asyncio.run(main())


def session(journal: SQLiteJournal, mock: MockVenue,
            body: Callable[[Engine], Awaitable[T]]) -> T:
    """One process's work: an engine started on the journal, ``body``, closed."""
    async def main() -> T:
        async with Engine(mock, journal, host=PluginHost(load_entry_points=False)) as engine:
            return await body(engine)
    return asyncio.run(main())



def resting() -> OrderRequest:
    return OrderRequest(symbol="XYZ", side=Side.BUY, quantity=D(5),
                        order_type=OrderType.LIMIT, limit_price=D("99.00"),
                        time_in_force=TimeInForce.GTC)


def placed_then_left(tmp_path: Path) -> tuple[MockVenue, Order, _Here]:
    """A resting limit buy that a session placed and left working when it ended."""
    mock = MockVenue(seed=3, symbols=[flat("XYZ", size="1000")])
    path = tmp_path / "j.sqlite3"
    with SQLiteJournal(path) as journal:
        placed: Order = session(journal, mock, lambda engine: engine.submit(resting()))
    assert placed.state is OrderState.ACKNOWLEDGED
    return mock, placed, _Here(journal=path, state_dir=tmp_path, mock=mock)


def test_cancel_takes_an_order_that_filled_meanwhile_as_recovery_left_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    mock, placed, settings = placed_then_left(tmp_path)
    # While no session watches, the market comes down to the order's price: it fills.
    mock.control.set_quote("XYZ", "98.50", "98.99")
    assert mock.control.ledger.fills and not mock.simulator.open_orders()
    cancels = count_calls(mock, "cancel")

    with caplog.at_level(logging.WARNING, logger="venuekit"):
        report = cancel(settings, [placed.id])

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not [r for r in caplog.records if r.getMessage() == NOT_RECORDED]
    assert not [r for r in caplog.records
                if r.getMessage() == "execution already journaled; not stored again"]
    [outcome] = report.outcomes
    assert (outcome.before, outcome.after, outcome.result) == (
        OrderState.ACKNOWLEDGED, OrderState.FILLED, "already filled")
    assert outcome.filled_quantity == 5
    assert cancels == [0], "an order recovery found filled is not cancelled"
    with SQLiteJournal(settings.journal, readonly=True) as reader:
        stored = reader.get(placed.id)
        fills = reader.fills()
    assert stored is not None and stored.state is OrderState.FILLED
    assert [(e.seq, e.kind) for e in stored.history] == [
        (1, "new"), (2, "submit"), (3, "ack"), (4, "fill")]
    assert [f.trade_id for f in fills] == [f.trade_id for f in mock.control.ledger.fills]


def test_cancel_still_cancels_an_order_that_is_working(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    mock, placed, settings = placed_then_left(tmp_path)
    with caplog.at_level(logging.WARNING, logger="venuekit"):
        report = cancel(settings, [placed.id])
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    [outcome] = report.outcomes
    assert (outcome.before, outcome.after, outcome.result) == (
        OrderState.ACKNOWLEDGED, OrderState.CANCELLED, "cancelled")
    assert not mock.simulator.open_orders()
    with SQLiteJournal(settings.journal, readonly=True) as reader:
        stored = reader.get(placed.id)
    assert stored is not None
    assert [(e.seq, e.kind) for e in stored.history] == [
        (1, "new"), (2, "submit"), (3, "ack"), (4, "cancel_request"), (5, "cancelled")]


def test_recovery_while_a_replace_is_unanswered_takes_the_held_replacement(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The reported race: recovery run while a native replace waits for its lost answer
    rebuilt the replacement from the journal; the rebuilt object and the engine's both
    acknowledged it as event 3, and the journal refused the second write."""
    from venuekit.outcome import OutcomePolicy
    from venuekit_mock.sim import FaultPlan

    venue = MockVenue(seed=1, symbols=[flat("XYZ")], order_stream=False,
                      faults=FaultPlan({"drop_response": D(1)}, operations=["replace"]))

    async def main() -> None:
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            async with Engine(venue, journal, host=PluginHost(load_entry_points=False),
                              policy=OutcomePolicy(grace=0.3, resolve_timeout=5)) as engine:
                order = await engine.submit(resting())
                # The venue replaces it, the answer is lost: the replacement is journaled
                # as sent and looked up after the grace, not tracked meanwhile.
                replacing = asyncio.ensure_future(
                    engine.replace(order, limit_price=D("98.50")))
                await asyncio.sleep(0.1)
                report = await engine.recover()
                new = await replacing
                assert new is not order and new.state is OrderState.ACKNOWLEDGED
                assert engine.tracker.get(new.id) is new, "one object: the engine's"
                assert new.id in report.working
                engine.tracker.flush()
                stored = journal.get(new.id)
                assert stored is not None
                assert [(e.seq, e.kind) for e in stored.history] == [
                    (e.seq, e.kind) for e in new.history]
                assert [e.kind for e in stored.history][:3] == ["new", "submit", "ack"]

    with caplog.at_level(logging.ERROR, logger="venuekit.journal"):
        asyncio.run(main())
    assert [r.getMessage() for r in caplog.records] == []
