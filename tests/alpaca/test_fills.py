"""fills_since: Alpaca's FILL activities, or orders' filled data where a server has none."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from venuekit_alpaca.venue import AlpacaVenue

from .wire import ORDER, Answer, ScriptedServer

SINCE = datetime(2024, 1, 2, 14, 0, tzinfo=UTC)
OID = ORDER["id"]


def activity(number: int, qty: str, cum: str, price: str) -> dict[str, object]:
    return {"id": f"20240102150000000::{number:08d}", "activity_type": "FILL",
            "transaction_time": f"2024-01-02T15:00:0{number}.123456789Z",
            "type": "partial_fill", "price": price, "qty": qty, "side": "buy",
            "symbol": "AAPL", "leaves_qty": "0", "order_id": OID, "cum_qty": cum,
            "order_status": "partially_filled"}


def venue_for(server: ScriptedServer) -> AlpacaVenue:
    return AlpacaVenue(api_key="k", secret_key="s", base_url=server.url, timeout=2)


def test_fill_activities_are_executions_named_like_the_stream() -> None:
    page = [activity(1, "2", "2", "99.5"), activity(2, "1", "3", "100")]
    with ScriptedServer([Answer(200, page)]) as server:
        fills = asyncio.run(venue_for(server).fills_since(SINCE))
        assert server.seen[0].path.startswith("/v2/account/activities/FILL?")
        assert "direction=asc" in server.seen[0].path
    assert [(f.trade_id, f.quantity, f.price) for f in fills] == [
        (f"{OID}:2", Decimal(2), Decimal("99.5")), (f"{OID}:3", Decimal(1), Decimal(100))]
    assert all(f.venue_order_id == OID for f in fills)


def test_activities_page_forward_by_token() -> None:
    first = [activity(1, "1", str(n), "100") for n in range(1, 101)]
    second = [activity(2, "1", "101", "100")]
    with ScriptedServer([Answer(200, first), Answer(200, second)]) as server:
        fills = asyncio.run(venue_for(server).fills_since(SINCE))
        assert "page_token=" in server.seen[1].path
    assert len(fills) == 101


def test_without_activities_fills_come_from_orders() -> None:
    filled = {**ORDER, "status": "filled", "qty": "3", "filled_qty": "3",
              "filled_avg_price": "100", "filled_at": "2024-01-02T15:00:01Z"}
    with ScriptedServer([Answer(404, raw=b"404: Not Found"), Answer(200, [filled]),
                         Answer(200, [filled])]) as server:
        venue = venue_for(server)
        fills = asyncio.run(venue.fills_since(SINCE))
        again = asyncio.run(venue.fills_since(SINCE))
        paths = [seen.path.split("?")[0] for seen in server.seen]
    assert paths == ["/v2/account/activities/FILL", "/v2/orders", "/v2/orders"]
    assert fills == again
    assert [(f.trade_id, f.quantity, f.price) for f in fills] == [
        (f"{OID}:3", Decimal(3), Decimal(100))]


def test_emulator_activities_itemize_every_execution() -> None:
    """A fresh venue (no stream memory) lists each partial execution as the ledger has it."""
    from venuekit.model import OrderRequest, OrderType, Side
    from venuekit_alpaca.emulator import AlpacaEmulator
    from venuekit_alpaca.testing import AlpacaMarketControl

    async def body() -> None:
        async with AlpacaEmulator(seed=9, symbols=["AAPL"]) as emulator:
            control = AlpacaMarketControl(emulator)
            await control.set_quote("AAPL", Decimal("99.99"), Decimal(100), Decimal(100),
                                    Decimal(2))
            settings = {"api_key": emulator.api_key, "secret_key": emulator.secret_key,
                        "base_url": emulator.base_url, "timeout": 3}
            async with AlpacaVenue(**settings) as first:
                placed = await first.submit(OrderRequest(
                    symbol="AAPL", side=Side.BUY, quantity=Decimal(5),
                    order_type=OrderType.LIMIT, limit_price=Decimal(100)), "act-1")
                for ask_size in (Decimal(2), Decimal(10)):
                    await control.set_quote("AAPL", Decimal("99.99"), Decimal(100),
                                            Decimal(100), ask_size)
            truth = [f for f in await control.fills()
                     if f.venue_order_id == placed.venue_order_id]
            assert len(truth) >= 2
            async with AlpacaVenue(**settings) as fresh:
                listed = await fresh.fills_since(SINCE)
            assert [(f.trade_id, f.quantity, f.price) for f in listed] == [
                (f.trade_id, f.quantity, f.price) for f in truth]
    asyncio.run(asyncio.wait_for(body(), 30))
