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
