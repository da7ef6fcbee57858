"""The venue survives its process: state saved after every action, restored on connect,
and a hook to die at "accepted, response not read"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.helpers import D, flat, run
from venuekit.errors import Code, ConfigurationError
from venuekit.model import OrderRequest, OrderSnapshot, OrderState
from venuekit.venue import OrderRef
from venuekit_mock import MockVenue, state


def limit(price: str = "99.00") -> OrderRequest:
    return OrderRequest(symbol="XYZ", side="buy", quantity="5", order_type="limit",
                        limit_price=price)


def test_a_restarted_venue_is_the_same_venue(tmp_path: Path) -> None:
    path = tmp_path / "venue.pkl"

    async def first_life() -> None:
        async with MockVenue(symbols=[flat()], state_path=path, cash=50_000) as venue:
            await venue.submit(limit(), "p-1")
            await venue.submit(OrderRequest(symbol="XYZ", side="buy", quantity="3"), "p-2")
            venue.control.advance(4)

    async def second_life() -> None:
        # other constructor arguments: the saved venue wins
        async with MockVenue(state_path=path) as venue:
            assert (await venue.fetch_order(OrderRef(client_order_id="p-1"))).state \
                is OrderState.ACKNOWLEDGED
            assert (await venue.account()).cash == D(50_000) - D("300.03")
            assert venue.simulator.step_index == 4
            third = await venue.submit(limit("98.00"), "p-3")
            assert third.venue_order_id == "M00000003"
            assert [o.client_order_id for o in venue.control.ledger.orders] == \
                ["p-1", "p-2", "p-3"]

    run(first_life())
    assert path.exists()
    run(second_life())


def test_the_market_continues_identically_after_a_restart(tmp_path: Path) -> None:
    def quotes(venue: MockVenue, steps: int) -> list[tuple[D, D]]:
        out = []
        for _ in range(steps):
            venue.control.advance()
            book = venue.simulator.book("AAPL")
            out.append((book.bid, book.ask))
        return out

    straight = quotes(MockVenue(seed=4), 20)
    path = tmp_path / "venue.pkl"
    before = MockVenue(seed=4, state_path=path)
    halves = quotes(before, 10)
    after = MockVenue(seed=99, state_path=path)
    run(after.connect())
    assert halves + quotes(after, 10) == straight


def test_on_accepted_runs_after_the_state_is_saved(tmp_path: Path) -> None:
    path = tmp_path / "venue.pkl"
    seen: list[tuple[str, int]] = []

    def hook(snapshot: OrderSnapshot) -> None:
        saved = state.load(path, "mock")
        assert saved is not None
        seen.append((snapshot.venue_order_id, len(saved.ledger.orders)))

    venue = MockVenue(symbols=[flat()], state_path=path, on_accepted=hook)
    run(venue.submit(limit(), "h-1"))
    assert seen == [("M00000001", 1)]


def test_an_unreadable_state_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "venue.pkl"
    path.write_bytes(b"not a pickle")
    with pytest.raises(ConfigurationError) as refused:
        run(MockVenue(state_path=path).connect())
    assert refused.value.code is Code.INVALID_CONFIG and "venue.pkl" in refused.value.message


CHILD = textwrap.dedent("""
    import asyncio, os, signal, sys
    from venuekit.model import OrderRequest
    from venuekit_mock import MockVenue

    def die(snapshot):
        os.kill(os.getpid(), signal.SIGKILL)

    async def main():
        venue = MockVenue(state_path=sys.argv[1], on_accepted=die)
        await venue.connect()
        await venue.submit(OrderRequest(symbol="AAPL", side="buy", quantity="2"), "crash-1")
        print("the response was read", flush=True)

    asyncio.run(main())
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_after_acceptance_the_order_is_at_the_venue(tmp_path: Path) -> None:
    path = tmp_path / "venue.pkl"
    child = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                           text=True, timeout=60, env={**os.environ, "PYTHONWARNINGS": ""})
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "the response was read" not in child.stdout

    async def restart() -> None:
        async with MockVenue(state_path=path) as venue:
            found = await venue.fetch_order(OrderRef(client_order_id="crash-1"))
            assert found.state is OrderState.FILLED
            assert len(venue.control.ledger.fills_for("crash-1")) == 1

    run(restart())
