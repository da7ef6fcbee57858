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
from venuekit_alpaca.emulator import AlpacaEmulator, run_in_thread
from venuekit_alpaca.venue import AlpacaVenue

from .emulator_clients import (
    APIError,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    OrderClass,
    OrderStatus,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
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


# order classes ---------------------------------------------------------------------------
def bracket_request(qty: int = 10, **extra: Any) -> LimitOrderRequest:
    return LimitOrderRequest(symbol="AAPL", qty=qty, side="buy", time_in_force="gtc",
                             limit_price=189.5, order_class=OrderClass.BRACKET,
                             take_profit=TakeProfitRequest(limit_price=192),
                             stop_loss=StopLossRequest(stop_price=188), **extra)


def test_a_bracket_answers_its_held_legs_which_work_once_the_entry_fills(
        emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    order = client.submit_order(bracket_request())
    assert (order.status, order.order_class) == (OrderStatus.ACCEPTED, OrderClass.BRACKET)
    assert order.legs is not None
    assert [(leg.type.value, leg.status, leg.qty, leg.limit_price, leg.stop_price)
            for leg in order.legs] == [("limit", OrderStatus.HELD, "10", "192", None),
                                       ("stop", OrderStatus.HELD, "10", None, "188")]
    assert all(leg.order_class is OrderClass.BRACKET for leg in order.legs)
    emulator.control.set_quote("AAPL", "189.40", "189.45")  # the entry fills at 189.50
    nested = client.get_orders(GetOrdersRequest(status="all", nested=True))
    assert [o.id for o in nested] == [order.id] and nested[0].status is OrderStatus.FILLED
    assert nested[0].legs is not None
    take_profit, stop_loss = nested[0].legs
    # The take-profit works; the stop-loss stays held until its trigger fires, as at Alpaca.
    assert (take_profit.status, stop_loss.status) == (OrderStatus.NEW, OrderStatus.HELD)
    flat = client.get_orders(GetOrdersRequest(status="all"))
    assert len(flat) == 3 and all(o.legs is None for o in flat)


def test_a_partial_take_profit_cancels_the_stop_loss_and_nothing_oversells(
        emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    order = client.submit_order(bracket_request())
    emulator.control.set_quote("AAPL", "189.40", "189.45")
    emulator.control.set_quote("AAPL", "192.00", "192.02", "4", "4")
    assert order.legs is not None
    take_profit, stop_loss = (client.get_order_by_id(leg.id) for leg in order.legs)
    assert (take_profit.status, take_profit.filled_qty) == (OrderStatus.PARTIALLY_FILLED, "4")
    assert stop_loss.status is OrderStatus.CANCELED
    emulator.control.set_quote("AAPL", "187.00", "187.02")  # through the cancelled stop
    emulator.control.set_quote("AAPL", "192.00", "192.02")
    assert client.get_order_by_id(take_profit.id).status is OrderStatus.FILLED
    assert client.get_order_by_id(stop_loss.id).filled_qty == "0"
    position = client.get_open_position("AAPL")
    assert position.qty == "10"  # the 10 held before the bracket: it bought 10, sold 10


def test_cancelling_an_unfilled_entry_cancels_its_held_legs(emulator: AlpacaEmulator
                                                            ) -> None:
    client = trading_client(emulator)
    order = client.submit_order(bracket_request())
    client.cancel_order_by_id(order.id)
    assert order.legs is not None
    assert [client.get_order_by_id(leg.id).status for leg in order.legs] == \
        [OrderStatus.CANCELED] * 2
    assert client.get_orders(GetOrdersRequest(status="open")) == []


def test_an_oto_with_a_stop_loss_and_an_oco_pair(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    oto = client.submit_order(MarketOrderRequest(
        symbol="AAPL", qty=2, side="buy", time_in_force="day", order_class=OrderClass.OTO,
        stop_loss=StopLossRequest(stop_price=189, limit_price=188.9)))
    assert oto.order_class is OrderClass.OTO and oto.legs is not None
    (exit_,) = oto.legs
    assert (exit_.type.value, exit_.qty) == ("stop_limit", "2")
    oco = client.submit_order(LimitOrderRequest(
        symbol="AAPL", qty=10, side="sell", time_in_force="gtc", order_class=OrderClass.OCO,
        take_profit=TakeProfitRequest(limit_price=195),
        stop_loss=StopLossRequest(stop_price=185)))
    assert (oco.order_class, oco.type.value, oco.limit_price) == (OrderClass.OCO, "limit",
                                                                  "195")
    assert oco.legs is not None and oco.legs[0].stop_price == "185"
    emulator.control.set_quote("AAPL", "188.95", "188.97")  # the oto's stop-limit fires
    assert client.get_order_by_id(exit_.id).status is OrderStatus.FILLED
    emulator.control.set_quote("AAPL", "184.00", "184.02")  # the oco's stop-loss fires
    assert client.get_order_by_id(oco.legs[0].id).status is OrderStatus.FILLED
    assert client.get_order_by_id(oco.id).status is OrderStatus.CANCELED


@pytest.mark.parametrize(("extra", "status", "code", "message"), [
    ({"order_class": "bracket", "take_profit": {"limit_price": "192"}}, 422, 40010001,
     "bracket orders require take_profit and stop_loss"),
    ({"order_class": "bracket", "type": "stop_limit", "stop_price": "191",
      "take_profit": {"limit_price": "192"}, "stop_loss": {"stop_price": "188"}}, 422,
     40010001, "bracket orders must be market or limit orders"),
    ({"order_class": "bracket", "take_profit": {"limit_price": "189.5"},
      "stop_loss": {"stop_price": "188"}}, 422, 42210000,
     "take_profit.limit_price must be >= base_price + 0.01"),
    ({"order_class": "bracket", "take_profit": {"limit_price": "192"},
      "stop_loss": {"stop_price": "189.5"}}, 422, 42210000,
     "stop_loss.stop_price must be <= base_price - 0.01"),
    ({"order_class": "oto", "take_profit": {"limit_price": "192"},
      "stop_loss": {"stop_price": "188"}}, 422, 40010001, "exactly one of"),
    ({"order_class": "bracket", "time_in_force": "ioc", "take_profit": {"limit_price": "192"},
      "stop_loss": {"stop_price": "188"}}, 422, 40010001, "day or gtc"),
    ({"order_class": "bracket", "stop_loss": {"limit_price": "187"},
      "take_profit": {"limit_price": "192"}}, 422, 40010001, "stop_loss.stop_price is required"),
    ({"take_profit": {"limit_price": "192"}}, 422, 40010001, "only allowed for bracket"),
])
def test_bad_order_class_combinations_get_alpacas_422(
        emulator: AlpacaEmulator, extra: dict[str, Any], status: int, code: int,
        message: str) -> None:
    client = trading_client(emulator)
    body = {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "limit",
            "limit_price": "189.5", "time_in_force": "gtc", **extra}
    with pytest.raises(APIError) as info:
        client.post("/orders", body)
    assert (info.value.status_code, info.value.code) == (status, code)
    assert message in info.value.message
    assert emulator.control.ledger.order_count == 0


def test_the_stream_reports_a_bracket_entry_its_legs_going_live_and_the_exit(
        emulator: AlpacaEmulator) -> None:
    async def main() -> list[Any]:
        received: list[Any] = []
        async with trade_updates(emulator, received):
            client = trading_client(emulator)
            await asyncio.to_thread(client.submit_order, bracket_request(qty=2))
            await until(lambda: len(received) >= 1)
            await asyncio.to_thread(emulator.control.set_quote, "AAPL", "189.40", "189.45")
            await until(lambda: len(received) >= 4)
            await asyncio.to_thread(emulator.control.set_quote, "AAPL", "187.90", "187.95")
            await until(lambda: len(received) >= 6)
        return received

    received = asyncio.run(asyncio.wait_for(main(), 20))
    events = [(str(getattr(u.event, "value", u.event)), u.order.type.value,
               u.order.order_class.value) for u in received]
    assert events == [("new", "limit", "bracket"), ("fill", "limit", "bracket"),
                      ("new", "limit", "bracket"), ("new", "stop", "bracket"),
                      ("fill", "stop", "bracket"), ("canceled", "limit", "bracket")]
