"""Stop, stop-limit and trailing-stop orders at the emulator: the real alpaca-py
TradingClient and TradingStream, and AlpacaVenue, against the emulator on 127.0.0.1.

The market is moved through the emulator's control surface; AAPL is quoted 189.99 /
190.01 with 300 on each side when each test starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from venuekit.model import OrderRequest, OrderState, OrderType
from venuekit.venue import OrderRef
from venuekit_alpaca.venue import AlpacaVenue
from venuekit_alpaca.emulator import AlpacaEmulator, run_in_thread

from .emulator_clients import (
    APIError,
    OrderStatus,
    StopLimitOrderRequest,
    StopOrderRequest,
    TrailingStopOrderRequest,
    trade_updates,
    trading_client,
    until,
)

D = Decimal


@pytest.fixture
def emulator() -> Iterator[AlpacaEmulator]:
    with run_in_thread(seed=11, cash="100000") as running:
        running.control.set_quote("AAPL", "189.99", "190.01", "300", "300")
        running.control.set_position("AAPL", "10", "150")
        yield running


def test_a_sell_stop_waits_then_fills_at_the_bid_once_crossed(emulator: AlpacaEmulator
                                                              ) -> None:
    client = trading_client(emulator)
    order = client.submit_order(StopOrderRequest(symbol="AAPL", qty=4, side="sell",
                                                 time_in_force="gtc", stop_price=189.5))
    assert order.status is OrderStatus.ACCEPTED
    assert (order.type.value, order.stop_price) == ("stop", "189.5")
    emulator.control.set_quote("AAPL", "189.51", "189.53")
    assert client.get_order_by_id(order.id).status is OrderStatus.NEW
    emulator.control.set_quote("AAPL", "189.40", "189.42")
    done = client.get_order_by_id(order.id)
    assert (done.status, done.filled_qty, done.filled_avg_price) == \
        (OrderStatus.FILLED, "4", "189.4")


def test_a_stop_limit_answers_both_prices_and_rests_after_its_trigger(
        emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    order = client.submit_order(StopLimitOrderRequest(
        symbol="AAPL", qty=2, side="buy", time_in_force="day", stop_price=190.5,
        limit_price=190.6))
    assert (order.stop_price, order.limit_price) == ("190.5", "190.6")
    emulator.control.set_quote("AAPL", "190.70", "190.72")  # fired; the ask is above 190.60
    assert client.get_order_by_id(order.id).filled_qty == "0"
    emulator.control.set_quote("AAPL", "190.55", "190.58")
    done = client.get_order_by_id(order.id)
    assert (done.status, done.filled_avg_price) == (OrderStatus.FILLED, "190.6")


def test_a_trailing_stop_reports_its_trail_high_water_mark_and_stop(emulator: AlpacaEmulator
                                                                    ) -> None:
    client = trading_client(emulator)
    order = client.submit_order(TrailingStopOrderRequest(
        symbol="AAPL", qty=3, side="sell", time_in_force="gtc", trail_price=1.5))
    assert (order.trail_price, order.hwm, order.stop_price) == ("1.5", "189.99", "188.49")
    emulator.control.set_quote("AAPL", "192.00", "192.02")
    moved = client.get_order_by_id(order.id)
    assert (moved.hwm, moved.stop_price, moved.status) == ("192", "190.5", OrderStatus.NEW)
    emulator.control.set_quote("AAPL", "190.50", "190.52")
    assert client.get_order_by_id(order.id).filled_avg_price == "190.5"
    by_percent = client.submit_order(TrailingStopOrderRequest(
        symbol="AAPL", qty=1, side="sell", time_in_force="day", trail_percent=2))
    assert (by_percent.trail_percent, by_percent.hwm) == ("2", "190.5")


@pytest.mark.parametrize(("body", "status", "code", "message"), [
    ({"type": "stop"}, 422, 40010001, "stop_price is required for stop orders"),
    ({"type": "stop_limit", "stop_price": "180"}, 422, 40010001,
     "limit_price is required for stop_limit orders"),
    ({"type": "trailing_stop"}, 422, 40010001,
     "exactly one of trail_price or trail_percent is required"),
    ({"type": "trailing_stop", "trail_price": "1", "trail_percent": "1"}, 422, 40010001,
     "exactly one of trail_price or trail_percent"),
    ({"type": "limit", "limit_price": "180", "stop_price": "170"}, 422, 40010001,
     "limit orders must not have stop_price"),
    ({"type": "stop", "stop_price": "190.00"}, 422, 42210000, "already crossed by the bid"),
])
def test_bad_stop_combinations_get_alpacas_422(emulator: AlpacaEmulator,
                                               body: dict[str, Any], status: int, code: int,
                                               message: str) -> None:
    client = trading_client(emulator)
    full = {"symbol": "AAPL", "qty": "1", "side": "sell", "time_in_force": "day", **body}
    with pytest.raises(APIError) as info:
        client.post("/orders", full)
    assert (info.value.status_code, info.value.code) == (status, code)
    assert message in info.value.message
    assert emulator.control.ledger.order_count == 0


def test_the_stream_reports_new_then_fill_for_a_stop(emulator: AlpacaEmulator) -> None:
    async def main() -> list[Any]:
        received: list[Any] = []
        async with trade_updates(emulator, received):
            client = trading_client(emulator)
            order = await asyncio.to_thread(client.submit_order, StopOrderRequest(
                symbol="AAPL", qty=1, side="sell", time_in_force="day", stop_price=189))
            await until(lambda: len(received) >= 1)
            await asyncio.to_thread(emulator.control.set_quote, "AAPL", "188.90", "188.92")
            await until(lambda: len(received) >= 2)
        assert all(str(u.order.id) == str(order.id) for u in received)
        return received

    received = asyncio.run(asyncio.wait_for(main(), 20))
    assert [str(getattr(u.event, "value", u.event)) for u in received] == ["new", "fill"]
    assert received[1].order.stop_price == "189" and received[1].price == 188.9


def test_the_alpaca_venue_places_each_stop_type_and_reads_it_back() -> None:
    async def main() -> None:
        async with AlpacaEmulator(seed=4, symbols=["AAPL"]) as emulator:
            emulator.control.set_quote("AAPL", "189.99", "190.01", "300", "300")
            emulator.control.set_position("AAPL", "10", "150")
            venue = AlpacaVenue(api_key=emulator.api_key, secret_key=emulator.secret_key,
                                base_url=emulator.base_url, stream_url=emulator.stream_url,
                                data_url=emulator.data_url, timeout=3, stream_timeout=3)
            async with venue:
                requests = {
                    "stop-1": OrderRequest(symbol="AAPL", side="sell", quantity=D(2),
                                           order_type=OrderType.STOP,
                                           stop_price=D("189.50"), time_in_force="gtc"),
                    "stoplimit-1": OrderRequest(symbol="AAPL", side="sell", quantity=D(2),
                                                order_type=OrderType.STOP_LIMIT,
                                                stop_price=D("189.50"),
                                                limit_price=D("189.00")),
                    "trail-1": OrderRequest(symbol="AAPL", side="sell", quantity=D(2),
                                            order_type=OrderType.TRAILING_STOP,
                                            trail_amount=D("0.25")),
                }
                for cid, request in requests.items():
                    placed = await venue.submit(request, cid)
                    assert placed.order_type is request.order_type
                    assert placed.state is OrderState.ACKNOWLEDGED
                stop = await venue.fetch_order(OrderRef(client_order_id="stop-1"))
                assert stop.stop_price == D("189.5")
                trail = await venue.fetch_order(OrderRef(client_order_id="trail-1"))
                assert trail.stop_price == D("189.74")  # 189.99 less the 0.25 trail
                await asyncio.to_thread(emulator.control.set_quote, "AAPL", "189.30",
                                        "189.32")
                ids = set()
                for cid in requests:  # each fired, and traded at the bid (the stop-limit
                    done = await venue.fetch_order(OrderRef(client_order_id=cid))
                    assert (done.state, done.average_price) == (OrderState.FILLED,
                                                                D("189.3")), cid
                    ids.add(done.venue_order_id)  # as a marketable limit at 189.00)
                assert stop.created_at is not None
                fills = await venue.fills_since(stop.created_at)
                assert {f.venue_order_id for f in fills} == ids and len(fills) == 3
    asyncio.run(asyncio.wait_for(main(), 30))
