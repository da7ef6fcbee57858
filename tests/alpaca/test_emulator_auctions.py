"""The time in force ``opg`` and ``cls`` at the emulator: the real alpaca-py TradingClient
and TradingStream against the emulator on 127.0.0.1.

A session closes on ``POST /_venuekit/end_session`` (or every ``steps_per_session`` steps);
the next quote of a symbol opens the next session. AAPL is quoted 189.99 / 190.01 with 300
on each side when each test starts, and the market moves only when told to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from venuekit_alpaca.emulator import AlpacaEmulator, run_in_thread

from .emulator_clients import (
    APIError,
    LimitOrderRequest,
    MarketOrderRequest,
    OrderStatus,
    ReplaceOrderRequest,
    StopOrderRequest,
    trade_updates,
    trading_client,
    until,
)


@pytest.fixture
def emulator() -> Iterator[AlpacaEmulator]:
    with run_in_thread(seed=5, cash="100000") as running:
        running.control.set_quote("AAPL", "189.99", "190.01", "300", "300")
        running.control.set_position("AAPL", "10", "150")
        yield running


def end_session(emulator: AlpacaEmulator) -> None:
    """Close the session through the HTTP control API, as a script in another process
    would."""
    answer = requests.post(emulator.control_url + "/end_session", timeout=10, headers={
        "APCA-API-KEY-ID": emulator.api_key, "APCA-API-SECRET-KEY": emulator.secret_key})
    assert answer.status_code == 200


def opg_market(qty: object, side: str = "buy") -> MarketOrderRequest:
    return MarketOrderRequest(symbol="AAPL", qty=qty, side=side, time_in_force="opg")


def test_an_opg_market_order_waits_accepted_and_fills_at_the_next_opening_quote(
        emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    order = client.submit_order(opg_market(3))
    assert (order.status, order.time_in_force.value, order.type.value) == \
        (OrderStatus.ACCEPTED, "opg", "market")
    emulator.control.set_quote("AAPL", "188.00", "188.02")  # this session: no auction
    emulator.control.advance(2)
    waiting = client.get_order_by_id(order.id)
    assert (waiting.status, waiting.filled_qty) == (OrderStatus.ACCEPTED, "0")
    assert [str(o.id) for o in client.get_orders()] == [str(order.id)]
    end_session(emulator)  # the close is not its auction either
    assert client.get_order_by_id(order.id).status is OrderStatus.ACCEPTED
    emulator.control.set_quote("AAPL", "191.00", "191.04")  # the next session's first quote
    done = client.get_order_by_id(order.id)
    assert (done.status, done.filled_qty, done.filled_avg_price, done.time_in_force.value) \
        == (OrderStatus.FILLED, "3", "191.04", "opg")


def test_a_cls_market_order_works_through_the_session_and_fills_at_the_close(
        emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    order = client.submit_order(MarketOrderRequest(symbol="AAPL", qty=4, side="sell",
                                                   time_in_force="cls"))
    assert (order.status, order.time_in_force.value) == (OrderStatus.ACCEPTED, "cls")
    emulator.control.set_quote("AAPL", "190.50", "190.52")
    waiting = client.get_order_by_id(order.id)
    assert (waiting.status, waiting.filled_qty) == (OrderStatus.NEW, "0")
    emulator.control.set_quote("AAPL", "190.20", "190.22")  # the closing quote
    end_session(emulator)
    done = client.get_order_by_id(order.id)
    assert (done.status, done.filled_qty, done.filled_avg_price) == \
        (OrderStatus.FILLED, "4", "190.2")


def test_a_session_of_steps_closes_and_opens_at_its_boundary() -> None:
    with run_in_thread(seed=5, steps_per_session=4, symbols=["AAPL"]) as emulator:
        client = trading_client(emulator)
        opening = client.submit_order(opg_market(1))
        closing = client.submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side="buy",
                                                         time_in_force="cls"))
        emulator.control.advance(3)
        assert {client.get_order_by_id(o.id).filled_qty for o in (opening, closing)} == {"0"}
        emulator.control.advance(1)  # the close, then the next session's first quote
        fills = {f["order_id"]: f["timestamp"] for f in emulator.control.fills()}
        assert set(fills) == {str(opening.id), str(closing.id)}
        assert client.get_order_by_id(opening.id).status is OrderStatus.FILLED


def test_an_opg_limit_the_opening_quote_does_not_reach_is_canceled(
        emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    order = client.submit_order(LimitOrderRequest(symbol="AAPL", qty=2, side="buy",
                                                  time_in_force="opg", limit_price=189.5))
    emulator.control.set_quote("AAPL", "189.00", "189.02")  # would fill a day order
    assert client.get_order_by_id(order.id).filled_qty == "0"
    end_session(emulator)
    emulator.control.set_quote("AAPL", "189.60", "189.62")  # opens above the limit
    done = client.get_order_by_id(order.id)
    assert (done.status, done.filled_qty) == (OrderStatus.CANCELED, "0")
    assert done.canceled_at is not None and done.expired_at is None
    account = client.get_account()
    assert (account.buying_power, account.cash) == ("100000", "100000")


def test_a_waiting_opg_order_is_not_replaced_but_cancelled_and_never_trades(emulator: AlpacaEmulator
                                                          ) -> None:
    client = trading_client(emulator)
    order = client.submit_order(LimitOrderRequest(symbol="AAPL", qty=2, side="buy",
                                                  time_in_force="opg", limit_price=190.5))
    with pytest.raises(APIError) as refused:
        client.replace_order_by_id(order.id, ReplaceOrderRequest(limit_price=190.6))
    assert (refused.value.status_code, refused.value.code) == (422, 40010001)
    client.cancel_order_by_id(order.id)
    assert client.get_order_by_id(order.id).status is OrderStatus.CANCELED
    end_session(emulator)
    emulator.control.set_quote("AAPL", "190.00", "190.02")
    assert client.get_order_by_id(order.id).filled_qty == "0"
    assert emulator.control.fills() == []
    with pytest.raises(APIError) as refused:
        client.cancel_order_by_id(order.id)
    assert refused.value.status_code == 422


@pytest.mark.parametrize(("request_body", "status", "code", "message"), [
    (StopOrderRequest(symbol="AAPL", qty=1, side="sell", time_in_force="opg",
                      stop_price=180), 422, 40010001, "opg orders must be market or limit orders"),
    (MarketOrderRequest(symbol="AAPL", qty=1.5, side="buy", time_in_force="opg"), 422,
     42210000, "fractional orders must be DAY orders"),
    (MarketOrderRequest(symbol="AAPL", notional=500, side="buy", time_in_force="cls"), 422,
     40010001, "notional orders must be market orders with time_in_force day"),
])
def test_opg_and_cls_refuse_what_alpaca_refuses(emulator: AlpacaEmulator, request_body: Any,
                                                status: int, code: int, message: str
                                                ) -> None:
    client = trading_client(emulator)
    with pytest.raises(APIError) as refused:
        client.submit_order(request_body)
    assert (refused.value.status_code, refused.value.code, refused.value.message) == \
        (status, code, message)
    assert client.get_orders() == []


def test_the_stream_reports_an_opg_fill_and_an_unexecuted_cls_limit() -> None:
    async def main() -> list[Any]:
        received: list[Any] = []
        async with AlpacaEmulator(seed=5, symbols=["AAPL"]) as emulator:
            emulator.control.set_quote("AAPL", "189.99", "190.01", "300", "300")
            async with trade_updates(emulator, received):
                client = trading_client(emulator)
                await asyncio.to_thread(client.submit_order, opg_market(2))
                await asyncio.to_thread(client.submit_order, LimitOrderRequest(
                    symbol="AAPL", qty=1, side="buy", time_in_force="cls",
                    limit_price=180))
                await until(lambda: len(received) >= 2)
                await asyncio.to_thread(end_session, emulator)
                await until(lambda: len(received) >= 3)
                await asyncio.to_thread(emulator.control.set_quote, "AAPL", "190.10",
                                        "190.12")
                await until(lambda: len(received) >= 4)
        return received

    received = asyncio.run(asyncio.wait_for(main(), 20))
    events = [(str(getattr(u.event, "value", u.event)), u.order.time_in_force.value,
               u.order.status.value) for u in received]
    assert events == [("accepted", "opg", "accepted"), ("new", "cls", "new"),
                      ("canceled", "cls", "canceled"), ("fill", "opg", "filled")]
    assert (received[3].price, received[3].qty) == (190.12, 2)
