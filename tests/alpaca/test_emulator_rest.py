"""The emulator's REST API, driven by the real alpaca-py TradingClient and data client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from venuekit_alpaca.emulator import AlpacaEmulator, run_in_thread

from .emulator_clients import (
    APIError,
    GetOrdersRequest,
    MarketOrderRequest,
    OrderStatus,
    QueryOrderStatus,
    ReplaceOrderRequest,
    StockLatestQuoteRequest,
    data_client,
    limit,
    market,
    trading_client,
)


@pytest.fixture
def emulator() -> Iterator[AlpacaEmulator]:
    with run_in_thread(seed=11, cash="100000") as running:
        running.control.set_quote("AAPL", "189.99", "190.01", "300", "300")
        yield running


def raw(emulator: AlpacaEmulator, method: str, path: str, **kwargs: object
        ) -> requests.Response:
    headers = {"APCA-API-KEY-ID": emulator.api_key,
               "APCA-API-SECRET-KEY": emulator.secret_key}
    return requests.request(method, emulator.base_url + path, headers=headers, timeout=10,
                            **kwargs)  # type: ignore[arg-type]


def test_market_order_is_accepted_then_reads_filled_at_the_ask(emulator: AlpacaEmulator
                                                               ) -> None:
    client = trading_client(emulator)
    order = client.submit_order(market("AAPL", 2, cid="buy-1"))
    assert order.status is OrderStatus.ACCEPTED and order.client_order_id == "buy-1"
    assert isinstance(order.id, uuid.UUID) and order.filled_qty == "0"
    fetched = client.get_order_by_id(order.id)
    assert fetched.status is OrderStatus.FILLED
    assert (fetched.filled_qty, fetched.filled_avg_price) == ("2", "190.01")
    assert fetched.filled_at is not None and fetched.symbol == "AAPL"
    assert client.get_order_by_client_id("buy-1").id == order.id
    position = client.get_open_position("AAPL")
    assert (position.qty, position.avg_entry_price, position.side.value) == \
        ("2", "190.01", "long")
    account = client.get_account()
    assert Decimal(account.cash) == Decimal("100000") - Decimal("380.02")
    assert emulator.control.ledger.order_count == 1


def test_fractional_quantities_stay_exact(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    order = client.submit_order(market("AAPL", 0.1234, cid="frac"))
    fetched = client.get_order_by_id(order.id)
    assert fetched.filled_qty == "0.1234"
    fill = emulator.control.ledger.fills[0]
    assert fill.quantity == Decimal("0.1234") and fill.price == Decimal("190.01")
    with pytest.raises(APIError) as info:
        client.submit_order(market("NVDA", 0.5))  # NVDA is not fractionable
    assert info.value.status_code == 422 and info.value.code == 40010001


def test_a_fractional_order_must_be_a_day_order(emulator: AlpacaEmulator) -> None:
    """Alpaca refuses a fractional quantity with any time in force but day (422); a whole
    quantity is taken with GTC."""
    client = trading_client(emulator)
    with pytest.raises(APIError) as info:
        client.submit_order(MarketOrderRequest(symbol="AAPL", qty=0.5, side="buy",
                                               time_in_force="gtc"))
    assert info.value.status_code == 422 and info.value.code == 42210000
    assert "fractional orders must be DAY orders" in str(info.value)
    assert emulator.control.ledger.order_count == 0
    whole = client.submit_order(MarketOrderRequest(symbol="AAPL", qty=2, side="buy",
                                                   time_in_force="gtc"))
    assert whole.time_in_force.value == "gtc"
    assert emulator.control.ledger.order_count == 1


def test_notional_market_order_buys_whole_increments(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    order = client.submit_order(MarketOrderRequest(symbol="AAPL", notional=1000, side="buy",
                                                   time_in_force="day"))
    assert order.notional == "1000" and order.qty is None
    fetched = client.get_order_by_id(order.id)
    assert fetched.filled_qty == "5.2628"  # 1000 / 190.01, down to the 0.0001 increment
    assert fetched.status is OrderStatus.FILLED


def test_duplicate_client_order_id_is_refused_even_after_cancel(emulator: AlpacaEmulator
                                                                ) -> None:
    client = trading_client(emulator)
    first = client.submit_order(limit("AAPL", 1, 150.0, cid="once"))
    client.cancel_order_by_id(first.id)
    with pytest.raises(APIError) as info:
        client.submit_order(limit("AAPL", 1, 150.0, cid="once"))
    assert info.value.status_code == 422
    assert json.loads(str(info.value)) == {"code": 40010001,
                                           "message": "client_order_id must be unique"}
    assert emulator.control.ledger.order_count == 1
    assert emulator.control.ledger.duplicate_client_ids() == {}


def test_buying_power_and_quantity_refusals_are_403(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    with pytest.raises(APIError) as info:
        client.submit_order(limit("AAPL", 1000, 190.0))
    assert info.value.status_code == 403
    body = json.loads(str(info.value))
    assert body["code"] == 40310000 and body["message"] == "insufficient buying power"
    assert (body["buying_power"], body["cost_basis"]) == ("100000", "190000")
    with pytest.raises(APIError) as info:
        client.submit_order(market("AAPL", 3, side="sell"))
    assert info.value.status_code == 403 and info.value.code == 40310000
    assert info.value.message.startswith("insufficient qty available for order")
    assert emulator.control.ledger.order_count == 0


def test_invalid_input_is_422_with_a_json_body(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    with pytest.raises(APIError) as info:
        client.submit_order(limit("AAPL", 1, 100.001))
    assert info.value.status_code == 422 and info.value.code == 42210000
    assert "tick" in info.value.message
    for body, wanted in (({"symbol": "AAPL", "qty": "0", "side": "buy", "type": "market",
                           "time_in_force": "day"}, "qty"),
                         ({"symbol": "AAPL", "qty": "1", "side": "buy", "type": "stop",
                           "time_in_force": "day"}, "stop_price is required"),
                         ({"symbol": "AAPL", "qty": "1", "side": "hold", "type": "market",
                           "time_in_force": "day"}, "side"),
                         ({"symbol": "ZZZZ", "qty": "1", "side": "buy", "type": "market",
                           "time_in_force": "day"}, "ZZZZ")):
        answer = raw(emulator, "POST", "/v2/orders", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["code"] == 40010001 and wanted in answer.json()["message"]
    assert emulator.control.ledger.order_count == 0


def test_unknown_and_malformed_order_ids(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    with pytest.raises(APIError) as info:
        client.get_order_by_id(uuid.uuid4())
    assert info.value.status_code == 404
    assert json.loads(str(info.value)) == {"code": 40410000, "message": "order not found"}
    with pytest.raises(APIError) as info:
        client.get_order_by_client_id("never-sent")
    assert info.value.status_code == 404 and info.value.code == 40410000
    with pytest.raises(APIError) as info:
        client.cancel_order_by_id(uuid.uuid4())
    assert info.value.status_code == 404
    assert raw(emulator, "GET", "/v2/orders/not-a-uuid").status_code == 422


def test_order_list_filters_as_alpaca_py_sends_them(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    start = datetime.now(UTC) - timedelta(seconds=1)
    resting = [client.submit_order(limit("AAPL", 1, 180.0 + i, cid=f"rest-{i}"))
               for i in range(3)]
    client.submit_order(limit("MSFT", 1, 400.0, cid="msft"))
    filled = client.submit_order(market("AAPL", 1, cid="filled"))
    open_orders = client.get_orders()
    assert [o.client_order_id for o in open_orders] == ["msft", "rest-2", "rest-1", "rest-0"]
    closed = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED))
    assert [o.id for o in closed] == [filled.id]
    everything = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=2,
                                                    direction="asc", symbols=["AAPL"],
                                                    side="buy", after=start))
    assert [o.id for o in everything] == [resting[0].id, resting[1].id]
    assert client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL,
                                              until=start)) == []
    assert raw(emulator, "GET", "/v2/orders", params={"status": "bogus"}).status_code == 422


def test_replace_links_old_and_new_orders(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    old = client.submit_order(limit("AAPL", 2, 180.0, cid="old"))
    new = client.replace_order_by_id(old.id, ReplaceOrderRequest(qty=3, limit_price=181.5,
                                                                 client_order_id="new"))
    assert new.replaces == old.id and new.id != old.id
    assert (new.qty, new.limit_price, new.client_order_id) == ("3", "181.5", "new")
    before = client.get_order_by_id(old.id)
    assert before.status is OrderStatus.REPLACED and before.replaced_by == new.id
    filled = client.submit_order(market("AAPL", 1))
    with pytest.raises(APIError) as info:
        client.replace_order_by_id(filled.id, ReplaceOrderRequest(limit_price=191.0))
    assert info.value.status_code == 422 and info.value.code == 42210000


def test_cancel_answers_204_then_not_cancelable(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    order = client.submit_order(limit("AAPL", 1, 150.0))
    answer = raw(emulator, "DELETE", f"/v2/orders/{order.id}")
    assert answer.status_code == 204 and answer.content == b""
    assert client.get_order_by_id(order.id).status is OrderStatus.CANCELED
    with pytest.raises(APIError) as info:
        client.cancel_order_by_id(order.id)
    assert info.value.status_code == 422
    assert json.loads(str(info.value)) == {"code": 42210000,
                                           "message": "order is not cancelable"}


def test_cancel_all_reports_each_order(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    ids = {client.submit_order(limit("AAPL", 1, 150.0 + i)).id for i in range(2)}
    results = client.cancel_orders()
    assert {r.id for r in results} == ids and {r.status for r in results} == {200}
    assert client.get_orders() == []


def test_account_positions_assets_and_clock(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator)
    client.submit_order(limit("AAPL", 10, 180.0))
    account = client.get_account()
    assert account.status.value == "ACTIVE" and account.currency == "USD"
    assert (account.cash, account.buying_power) == ("100000", "98200")
    emulator.control.set_position("MSFT", "4", "400")
    positions = client.get_all_positions()
    assert [(p.symbol, p.qty, p.cost_basis) for p in positions] == [("MSFT", "4", "1600")]
    with pytest.raises(APIError) as info:
        client.get_open_position("TSLA")
    assert info.value.status_code == 404
    asset = client.get_asset("AAPL")
    assert asset.fractionable and asset.tradable and asset.price_increment == 0.01
    assert not client.get_asset("NVDA").fractionable
    clock = client.get_clock()
    assert clock.is_open and clock.next_close > clock.timestamp


def test_latest_quotes_through_the_data_client(emulator: AlpacaEmulator) -> None:
    quotes = data_client(emulator).get_stock_latest_quote(
        StockLatestQuoteRequest(symbol_or_symbols=["AAPL", "NOPE"]))
    assert list(quotes) == ["AAPL"]
    assert (quotes["AAPL"].bid_price, quotes["AAPL"].ask_price) == (189.99, 190.01)
    body = raw(emulator, "GET", "/v2/stocks/quotes/latest", params={"symbols": "AAPL"}).text
    assert '"bp":189.99' in body and '"ap":190.01' in body  # exact digits, as numbers


def test_wrong_keys_get_401_unauthorized(emulator: AlpacaEmulator) -> None:
    client = trading_client(emulator, secret_key="wrong")
    with pytest.raises(APIError) as info:
        client.get_account()
    assert info.value.status_code == 401
    assert json.loads(str(info.value)) == {"code": 40110000,
                                           "message": "request is not authorized"}
    assert requests.get(emulator.base_url + "/v2/account", timeout=10).status_code == 401


def test_request_budget_headers_and_429(emulator: AlpacaEmulator) -> None:
    emulator.control.set_rate_limit(3, reset=True)
    remaining = []
    for _ in range(3):
        answer = raw(emulator, "GET", "/v2/clock")
        assert answer.status_code == 200 and answer.headers["X-Ratelimit-Limit"] == "3"
        remaining.append(answer.headers["X-Ratelimit-Remaining"])
        assert int(answer.headers["X-Ratelimit-Reset"]) >= int(datetime.now(UTC).timestamp())
    assert remaining == ["2", "1", "0"]
    refused = raw(emulator, "GET", "/v2/clock")
    assert refused.status_code == 429
    assert refused.json() == {"code": 42910000, "message": "rate limit exceeded"}
    assert refused.headers["X-Ratelimit-Remaining"] == "0"
    with pytest.raises(APIError) as info:
        trading_client(emulator).get_clock()
    assert info.value.status_code == 429


def test_default_budget_is_200_per_minute(emulator: AlpacaEmulator) -> None:
    assert raw(emulator, "GET", "/v2/clock").headers["X-Ratelimit-Limit"] == "200"


def test_http_control_drives_the_market_and_reads_the_ledger(emulator: AlpacaEmulator
                                                             ) -> None:
    answer = raw(emulator, "POST", "/_venuekit/quote",
                 json={"symbol": "MSFT", "bid": "399.50", "ask": "399.60"})
    assert answer.status_code == 200
    client = trading_client(emulator)
    order = client.submit_order(market("MSFT", 1, cid="ctl"))
    ledger = raw(emulator, "GET", "/_venuekit/ledger").json()
    assert [o["id"] for o in ledger["orders"]] == [str(order.id)]
    assert ledger["fills"][0]["price"] == "399.6" and ledger["fills"][0]["qty"] == "1"
    assert raw(emulator, "POST", "/_venuekit/cash", json={"amount": 5.5}).status_code == 400
    assert raw(emulator, "POST", "/_venuekit/cash", json={"amount": "5.5"}).status_code == 200
    assert client.get_account().cash == "5.5"
    assert requests.get(emulator.control_url + "/ledger", timeout=10).status_code == 401


def test_emulator_refuses_a_non_loopback_host() -> None:
    from venuekit.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="loopback"):
        AlpacaEmulator(host="0.0.0.0")
    with pytest.raises(ConfigurationError, match="'replace' is fixed"):
        AlpacaEmulator.from_config({"replace": "false"})
    with pytest.raises(ConfigurationError, match="unknown setting 'colour'"):
        AlpacaEmulator.from_config({"colour": "blue"})
