"""AlpacaVenue through venuekit's Engine against the emulator: real alpaca-py, real HTTP and
websockets on 127.0.0.1, a real SQLite journal."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from venuekit.engine import Engine
from venuekit.errors import Code, Outcome, VenueKitError
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderRequest, OrderState, OrderType, Side
from venuekit.outcome import OutcomePolicy
from venuekit.plugins import PluginHost
from venuekit.settlement import SettlementOptions
from venuekit.venue import OrderRef
from venuekit_alpaca.emulator import AlpacaEmulator
from venuekit_alpaca.venue import AlpacaVenue

SECRET = "emulator-secret-for-the-log-test"
FAST = SettlementOptions(poll_min=0.02, poll_max=0.2, silence=0.2, late_grace=0.02)


def venue_for(emulator: AlpacaEmulator, **extra: Any) -> AlpacaVenue:
    return AlpacaVenue(api_key=emulator.api_key, secret_key=emulator.secret_key,
                       base_url=emulator.base_url, stream_url=emulator.stream_url,
                       data_url=emulator.data_url, timeout=3, stream_timeout=3, **extra)


@asynccontextmanager
async def engine_on(emulator: AlpacaEmulator) -> AsyncIterator[Engine]:
    with tempfile.TemporaryDirectory() as workdir:
        journal = SQLiteJournal(Path(workdir) / "journal.sqlite3")
        venue = venue_for(emulator)
        engine = Engine(venue, journal, host=PluginHost(load_entry_points=False),
                        settlement=FAST, policy=OutcomePolicy(resolve_timeout=15))
        with journal:
            async with engine:
                yield engine


def run(body: Callable[[], Awaitable[None]], timeout: float = 60) -> None:
    asyncio.run(asyncio.wait_for(body(), timeout))


def test_dropped_responses_after_acceptance_never_duplicate_an_order() -> None:
    """Every create is accepted and its answer lost; each order still exists exactly once."""
    async def body() -> None:
        async with AlpacaEmulator(seed=5, symbols=["AAPL", "MSFT"]) as emulator:
            emulator.control.script_fault("drop_response", 1, 2, 3, 4)
            async with engine_on(emulator) as engine:
                requests = [
                    OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal(2)),
                    OrderRequest(symbol="MSFT", side=Side.BUY, quantity=Decimal(1)),
                    OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal(1),
                                 order_type=OrderType.LIMIT, limit_price=Decimal(1)),
                    OrderRequest(symbol="AAPL", side=Side.BUY, notional=Decimal(500)),
                ]
                orders = [await engine.submit(r) for r in requests]
                for order in orders[:2] + orders[3:]:
                    await engine.settle(order, timeout=10)
                ledger = emulator.control.orders()
                faults = [f for f in emulator.control.ledger.faults
                          if f.kind == "drop_response"]
                assert len(faults) == 4, "every create's answer was dropped"
                assert len(ledger) == 4, "one order at the venue per request"
                assert emulator.control.ledger.duplicate_client_ids() == {}
                assert sorted(o["client_order_id"] for o in ledger) == sorted(
                    o.id for o in orders)
                assert [o.state for o in orders] == [OrderState.FILLED, OrderState.FILLED,
                                                     OrderState.ACKNOWLEDGED,
                                                     OrderState.FILLED]
                assert all(o.venue_order_id for o in orders)
                notional = orders[3]
                assert notional.quantity is not None and notional.quantity > 0
                assert notional.quantity != notional.quantity.to_integral_value()
                await engine.cancel(orders[2])
                assert orders[2].state is OrderState.CANCELLED
    run(body)


def test_duplicate_client_order_id_resolves_to_the_existing_order() -> None:
    """Alpaca refuses a reused client order id (422); the lookup finds the order it names."""
    async def body() -> None:
        async with AlpacaEmulator(seed=6) as emulator:
            venue = venue_for(emulator)
            async with venue:
                request = OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal(1),
                                       order_type=OrderType.LIMIT, limit_price=Decimal(1))
                first = await venue.submit(request, "dup-cid-1")
                with pytest.raises(VenueKitError) as caught:
                    await venue.submit(request, "dup-cid-1")
                assert caught.value.code is Code.DUPLICATE_CLIENT_ORDER_ID
                assert caught.value.outcome is Outcome.UNKNOWN
                found = await venue.fetch_order(OrderRef(client_order_id="dup-cid-1"))
                assert found.venue_order_id == first.venue_order_id
                assert len(emulator.control.orders()) == 1
    run(body)


def test_stream_frames_never_log_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    """With every logger at DEBUG, the websocket authentication leaves no credential behind."""
    caplog.set_level(logging.DEBUG)

    async def body() -> None:
        async with AlpacaEmulator(seed=7, api_key="PKLOGTEST", secret_key=SECRET) as emulator:
            venue = venue_for(emulator)
            async with venue:
                updates = venue.order_updates()
                reader = asyncio.ensure_future(updates.__anext__())
                await asyncio.sleep(0.3)
                await venue.submit(OrderRequest(symbol="AAPL", side=Side.BUY,
                                                quantity=Decimal(1)), "log-cid-1")
                update = await asyncio.wait_for(reader, 5)
                assert update.order.client_order_id == "log-cid-1"
                await updates.aclose()  # type: ignore[attr-defined]
    run(body)
    assert any(r.name.startswith("venuekit_alpaca.wire") for r in caplog.records), (
        "the websocket frames were logged (the test would prove nothing otherwise)")
    for record in caplog.records:
        text = record.getMessage() + str(record.__dict__)
        assert SECRET not in text and "PKLOGTEST" not in text, record.name
