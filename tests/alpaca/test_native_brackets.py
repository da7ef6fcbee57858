"""Alpaca's own brackets through the engine: the exits are Alpaca's orders, named through
their entry, also when the answer to the create is lost or the process stopped before it
came back. Real alpaca-py against the emulator on 127.0.0.1, a real SQLite journal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

from venuekit.engine import Bracket, Engine
from venuekit.errors import Code, error
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import BracketRequest, Order, OrderRequest, OrderState, Side
from venuekit.outcome import OutcomePolicy
from venuekit.plugins import PluginHost
from venuekit.settlement import SettlementOptions
from venuekit_alpaca.emulator import AlpacaEmulator
from venuekit_alpaca.venue import AlpacaVenue

D = Decimal
FAST = SettlementOptions(poll_min=0.02, poll_max=0.2, silence=0.2, late_grace=0.02)
BRACKET = BracketRequest(entry=OrderRequest(symbol="AAPL", side=Side.BUY, quantity=D(5)),
                         take_profit=D("110.00"), stop_loss=D("90.00"))


def venue_for(emulator: AlpacaEmulator) -> AlpacaVenue:
    return AlpacaVenue(api_key=emulator.api_key, secret_key=emulator.secret_key,
                       base_url=emulator.base_url, stream_url=emulator.stream_url,
                       data_url=emulator.data_url, timeout=3, stream_timeout=3)


@asynccontextmanager
async def engine_on(emulator: AlpacaEmulator, path: Path) -> AsyncIterator[Engine]:
    with SQLiteJournal(path) as journal:
        engine = Engine(venue_for(emulator), journal, host=PluginHost(load_entry_points=False),
                        settlement=FAST, policy=OutcomePolicy(resolve_timeout=15))
        async with engine:
            yield engine


def run(body: Callable[[], Awaitable[None]], timeout: float = 60) -> None:
    asyncio.run(asyncio.wait_for(body(), timeout))


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), timeout)


def at_venue(emulator: AlpacaEmulator) -> list[str]:
    return sorted(o["type"] for o in emulator.control.orders())


async def take_profit_fills(emulator: AlpacaEmulator, placed: Bracket, engine: Engine) -> None:
    """The bid reaches the take-profit: Alpaca fills it and cancels the stop-loss."""
    emulator.control.set_quote("AAPL", "110.00", "110.01", 1000, 1000)
    take_profit = await engine.settle(placed.take_profit, timeout=10)
    stop_loss = await engine.settle(placed.stop_loss, timeout=10)
    assert take_profit.state is OrderState.FILLED and take_profit.filled_quantity == 5
    assert stop_loss.state is OrderState.CANCELLED and stop_loss.filled_quantity == 0


def test_a_native_bracket_names_its_exits_from_the_answer(tmp_path: Path) -> None:
    async def body() -> None:
        async with AlpacaEmulator(seed=5, symbols=["AAPL"], start=None) as emulator:
            emulator.control.set_quote("AAPL", "100.00", "100.01", 1000, 1000)
            async with engine_on(emulator, tmp_path / "j.sqlite3") as engine:
                placed = await engine.submit_bracket(BRACKET)
                await engine.settle(placed.entry, timeout=10)
                exits = (placed.take_profit, placed.stop_loss)
                assert all(o.venue_order_id for o in exits)
                assert [o.state for o in exits] == [OrderState.ACKNOWLEDGED] * 2
                assert len(engine.held) == 0, "the venue holds the exits, not the engine"
                assert at_venue(emulator) == ["limit", "market", "stop"]
                await take_profit_fills(emulator, placed, engine)
    run(body)


def test_a_native_bracket_whose_answer_is_lost_finds_its_exits(tmp_path: Path) -> None:
    async def body() -> None:
        async with AlpacaEmulator(seed=5, symbols=["AAPL"], start=None) as emulator:
            emulator.control.set_quote("AAPL", "100.00", "100.01", 1000, 1000)
            emulator.control.script_fault("drop_response", 1)
            async with engine_on(emulator, tmp_path / "j.sqlite3") as engine:
                placed = await engine.submit_bracket(BRACKET)
                await engine.settle(placed.entry, timeout=10)
                assert placed.entry.state is OrderState.FILLED
                assert all(o.venue_order_id for o in (placed.take_profit, placed.stop_loss))
                assert at_venue(emulator) == ["limit", "market", "stop"], "sent once"
                assert emulator.control.ledger.duplicate_client_ids() == {}
                await take_profit_fills(emulator, placed, engine)
    run(body)


def test_recovery_finds_the_exits_a_crash_left_unnamed(tmp_path: Path) -> None:
    """The process stopped after the bracket was sent and before its exits were named (the
    answer's names are not applied here, as if it died with them): the next start finds
    them through the entry and follows them to their end."""
    async def body() -> None:
        async with AlpacaEmulator(seed=5, symbols=["AAPL"], start=None) as emulator:
            emulator.control.set_quote("AAPL", "100.00", "100.01", 1000, 1000)
            journal = tmp_path / "j.sqlite3"
            async with engine_on(emulator, journal) as engine:
                engine.submitter.on_bracket = None  # the answer's names are lost

                async def unreachable(*_: object) -> None:
                    raise error(Code.ORDER_NOT_FOUND, "the lookup never came back")
                engine.venue.fetch_bracket = unreachable  # type: ignore[assignment,method-assign]
                placed = await engine.submit_bracket(BRACKET)
                ids = (placed.take_profit.id, placed.stop_loss.id)
                assert placed.take_profit.venue_order_id is None
            async with engine_on(emulator, journal) as engine:
                report = engine.recovery
                assert report is not None and report.ok, report
                exits: list[Order] = [o for i in ids if (o := engine.tracker.get(i))]
                assert len(exits) == 2 and all(o.venue_order_id for o in exits)
                assert [o.state for o in exits] == [OrderState.ACKNOWLEDGED] * 2
                assert at_venue(emulator) == ["limit", "market", "stop"]
                emulator.control.set_quote("AAPL", "90.00", "90.01", 1000, 1000)
                stop_loss = await engine.settle(exits[1], timeout=10)
                take_profit = await engine.settle(exits[0], timeout=10)
                assert stop_loss.state is OrderState.FILLED and stop_loss.filled_quantity == 5
                assert take_profit.state is OrderState.CANCELLED
    run(body)
