"""The Python entry points on cancellation and Ctrl-C: nothing keeps working unasked.

A task that runs an execution or a rebalance may be cancelled by its owner (a bot shutting
down, ``asyncio.timeout``, Ctrl-C under ``asyncio.run``): the orders it sent are
cancelled at the venue, each cancel confirmed, before the cancellation propagates; a
rebalance's run is recorded as interrupted, resumable. ``Engine.halt`` stops an engine the
way the CLI's first interrupt does.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support import cli
from tests.support.helpers import flat
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit.engine import Engine
from venuekit.errors import Code, VenueKitError
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest, OrderState
from venuekit.plugins import PluginHost
from venuekit.rebalance import Rebalancer, parse_plan
from venuekit.runs import RunState
from venuekit.settlement import SettlementOptions
from venuekit.strategies import run_strategy
from venuekit_mock import MockVenue

FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.2, late_grace=0.02)


def resting(symbol: str = "XYZ", quantity: str = "5") -> OrderRequest:
    """A buy limited far below a market that does not move: it rests until cancelled."""
    return OrderRequest(symbol=symbol, side="buy", quantity=Decimal(quantity),
                        order_type="limit", limit_price=Decimal("90"))


async def working(engine: Engine, count: int) -> None:
    while sum(1 for o in engine.tracker.open_orders() if o.venue_order_id) < count:
        await asyncio.sleep(0.01)


def test_a_cancelled_execution_cancels_its_order_at_the_venue(tmp_path: Path) -> None:
    async def main() -> None:
        venue = MockVenue(seed=2, symbols=[flat("XYZ")])
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            async with Engine(venue, journal, settlement=FAST) as engine:
                task = asyncio.create_task(run_strategy(engine, resting(), timeout=60))
                await asyncio.wait_for(working(engine, 1), 5)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert engine.tracker.open_orders() == []
            [order] = journal.orders()
            assert order.state is OrderState.CANCELLED
            ledger = venue.control.ledger
            assert [c.venue_order_id for c in ledger.cancels] == [order.venue_order_id]
            assert venue.simulator.open_orders() == []
            assert_journal_matches_ledger(journal, ledger)
    asyncio.run(main())


def test_a_cancelled_rebalance_cancels_its_orders_and_stays_resumable(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    plan = parse_plan({"items": [{"symbol": "AAA", "action": "BUY", "quantity": "5"},
                                 {"symbol": "BBB", "action": "BUY", "quantity": "5"}]})

    async def main() -> None:
        venue = MockVenue(seed=2, symbols=[flat("AAA"), flat("BBB")], cash=Decimal(10**6))
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            async with Engine(venue, journal, settlement=FAST,
                              host=PluginHost(load_entry_points=False)) as engine:
                # The limit strategy rests each buy at the bid of a still market.
                rebalancer = Rebalancer(engine, strategy="limit",
                                        strategy_options={"timeout": 60})
                task = asyncio.create_task(rebalancer.run(plan))
                await asyncio.wait_for(working(engine, 2), 5)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert venue.simulator.open_orders() == []
            assert {o.state for o in journal.orders()} == {OrderState.CANCELLED}
            [run] = journal.runs()
            assert run.state is RunState.INTERRUPTED and run.state.resumable
            assert {o.run_id for o in journal.orders()} == {run.id}
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(main())
    assert "never retrieved" not in caplog.text


def test_halt_stops_sending_and_cancels_only_the_engines_own_orders(tmp_path: Path) -> None:
    async def main() -> None:
        venue = MockVenue(seed=2, symbols=[flat("XYZ")])
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            # An earlier session left an order working: the halt does not touch it.
            async with Engine(venue, journal, settlement=FAST) as first:
                earlier = await first.submit(resting(quantity="1"))
                assert earlier.state is OrderState.ACKNOWLEDGED
            async with Engine(venue, journal, settlement=FAST) as engine:
                task = asyncio.create_task(run_strategy(engine, resting(), timeout=60))
                await asyncio.wait_for(working(engine, 2), 5)
                halted = await engine.halt("stopped by the test")
                result = await task
                assert [o.id for o in halted] == [result.order_id]
                assert result.state is OrderState.CANCELLED
                assert engine.halted == "stopped by the test"
                with pytest.raises(VenueKitError) as refused:
                    await engine.submit(resting())
                assert refused.value.code is Code.INTERRUPTED
                assert "stopped by the test" in refused.value.message
            still = journal.get(earlier.id)
            assert still is not None and still.state is OrderState.ACKNOWLEDGED
            assert [o.client_order_id for o in venue.simulator.open_orders()] == [earlier.id]
    asyncio.run(main())


SCRIPT = textwrap.dedent("""
    import sys
    import venuekit
    from venuekit import OrderRequest

    request = OrderRequest(symbol="AAA", side="buy", quantity="5", order_type="limit",
                           limit_price="40")
    print("started", flush=True)
    try:
        venuekit.execute(request, venue="mock", timeout=60)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(7)
""")


def test_ctrl_c_in_a_script_cancels_the_order_before_the_interrupt_propagates(
        tmp_path: Path) -> None:
    cli.workspace(tmp_path, symbols=(flat("AAA", "50.005"),))
    (tmp_path / "script.py").write_text(SCRIPT, encoding="utf-8")
    code, out, err = cli.interrupt_when_working(tmp_path, ["script.py"], 1, signal.SIGINT)
    assert code == 7, err
    assert "interrupted" in out
    assert cli.venue_state(tmp_path).open_orders() == []
    [order] = cli.journal_orders(tmp_path)
    assert order.state is OrderState.CANCELLED
