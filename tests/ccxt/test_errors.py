"""Every Binance answer ccxt raises for, mapped into venuekit's taxonomy with its outcome.

The answers go through the real ccxt ``binance.handle_errors`` and
``handle_http_status_code`` (what ccxt runs on every HTTP answer), on the venue's own
exchange object, so the exception classes, the exchange codes and ``Retry-After`` are
exactly what a request against the emulator or Binance would produce.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import ccxt as ccxt_errors
import pytest

from venuekit.errors import Code, Outcome, RateLimited
from venuekit.model import Side
from venuekit_ccxt.errors import map_exception
from venuekit_ccxt.venue import BinanceVenue

URL = "http://127.0.0.1:9/api/v3/order"


@pytest.fixture(scope="module")
def exchange() -> Any:
    return BinanceVenue(base_url="http://127.0.0.1:9", api_key="k", secret="s")._exchange


def raised(exchange: Any, status: int, body: dict[str, Any] | str,
           headers: dict[str, str] | None = None) -> BaseException:
    """The exception ccxt raises for this answer, as its fetch() would raise it."""
    text = body if isinstance(body, str) else json.dumps(body)
    try:
        exchange.handle_errors(status, "reason", URL, "POST", headers or {}, text,
                               exchange.parse_json(text), {}, "")
        exchange.handle_http_status_code(status, "reason", URL, "POST", text)
    except Exception as exc:
        return exc
    raise AssertionError(f"ccxt raised nothing for HTTP {status} {text}")


def body(code: int, msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg}


@pytest.mark.parametrize(("status", "answer", "operation", "side", "expected"), [
    (400, body(-2010, "Account has insufficient balance for requested action."), "submit",
     Side.BUY, Code.INSUFFICIENT_FUNDS),
    (400, body(-2010, "Account has insufficient balance for requested action."), "submit",
     Side.SELL, Code.INSUFFICIENT_POSITION),
    (400, body(-2010, "Duplicate order sent."), "submit", Side.BUY,
     Code.DUPLICATE_CLIENT_ORDER_ID),
    (400, body(-2010, "Order would immediately match and take."), "submit", Side.BUY,
     Code.INVALID_ORDER),
    (400, body(-1013, "Filter failure: PRICE_FILTER"), "submit", Side.BUY,
     Code.INVALID_PRICE),
    (400, body(-1013, "Filter failure: LOT_SIZE"), "submit", Side.BUY, Code.INVALID_QUANTITY),
    (400, body(-1013, "Filter failure: NOTIONAL"), "submit", Side.BUY,
     Code.BELOW_MIN_NOTIONAL),
    (400, body(-1121, "Invalid symbol."), "submit", Side.BUY, Code.UNKNOWN_SYMBOL),
    (400, body(-1100, "Illegal characters found in parameter 'newClientOrderId'; legal "
                      "range is '^[a-zA-Z0-9-_]{1,36}$'."), "submit", Side.BUY,
     Code.INVALID_ORDER),
    (400, body(-2011, "Unknown order sent."), "cancel", None, Code.ORDER_NOT_FOUND),
    (400, body(-2013, "Order does not exist."), "fetch_order", None, Code.ORDER_NOT_FOUND),
    (400, body(-2013, "Order does not exist."), "submit", Side.BUY, Code.VENUE_ERROR),
    (400, body(-1021, "Timestamp for this request is outside of the recvWindow."),
     "submit", Side.BUY, Code.VENUE_ERROR),
    (400, body(-1022, "Signature for this request is not valid."), "account", None,
     Code.AUTHENTICATION_FAILED),
    (401, body(-2015, "Invalid API-key, IP, or permissions for action."), "account", None,
     Code.AUTHENTICATION_FAILED),
    (409, body(-2021, "Order cancel-replace partially failed."), "submit", Side.BUY,
     Code.INVALID_ORDER),
    (500, body(-1001, "Internal error; unable to process your request. Please try again."),
     "submit", Side.BUY, Code.VENUE_ERROR),
    (503, "<html>Service Unavailable</html>", "submit", Side.BUY, Code.VENUE_ERROR),
])
def test_each_answer_has_its_code_and_outcome(exchange: Any, status: int,
                                              answer: dict[str, Any] | str, operation: str,
                                              side: Side | None, expected: Any) -> None:
    exc = raised(exchange, status, answer)
    mapped = map_exception(exc, operation, "binance", side=side)
    assert mapped.code is expected, (type(exc).__name__, mapped)
    assert mapped.venue == "binance"
    if isinstance(answer, dict):
        assert answer["msg"] in mapped.message and str(answer["code"]) in mapped.message
        assert mapped.details["exchange_code"] == answer["code"]
    assert "signature=" not in mapped.message


def test_rate_limits_carry_retry_after_and_a_ban_is_its_own_code(exchange: Any) -> None:
    weight = raised(exchange, 429, body(-1003, "Too many requests; current limit of "
                                              "IP(127.0.0.1) is 6000 requests per minute."),
                    {"Retry-After": "7"})
    mapped = map_exception(weight, "quote", "binance")
    assert isinstance(mapped, RateLimited) and mapped.code is Code.RATE_LIMITED
    assert mapped.retry_after == 7.0 and mapped.outcome is Outcome.UNKNOWN
    orders = map_exception(raised(exchange, 429, body(-1015, "Too many new orders; current "
                                                             "limit is 100 orders per 10 "
                                                             "SECOND."),
                                  {"Retry-After": "2"}), "submit", "binance")
    assert orders.code is Code.RATE_LIMITED and isinstance(orders, RateLimited)
    assert orders.retry_after == 2.0
    banned = map_exception(raised(exchange, 418, body(-1003, "Way too much request weight "
                                                             "used; IP banned until "
                                                             "1700000000000."),
                                  {"Retry-After": "120"}), "submit", "binance")
    assert banned.code is Code.IP_BANNED and isinstance(banned, RateLimited)
    assert banned.retry_after == 120.0


def test_transport_failures_leave_the_outcome_unknown() -> None:
    for exc, expected in ((ccxt_errors.RequestTimeout("binance POST url"), Code.TIMEOUT),
                          (ccxt_errors.ExchangeNotAvailable("binance POST url"),
                           Code.CONNECTION_ERROR),
                          (ccxt_errors.NetworkError("reset"), Code.CONNECTION_ERROR),
                          (TimeoutError(), Code.TIMEOUT),
                          (ConnectionResetError(), Code.CONNECTION_ERROR),
                          (ccxt_errors.ExchangeError("something new"), Code.VENUE_ERROR)):
        mapped = map_exception(exc, "submit", "binance", side=Side.BUY)
        assert mapped.code is expected, exc
        assert mapped.outcome is Outcome.UNKNOWN, exc


def test_an_order_not_found_counts_only_for_a_lookup() -> None:
    missing = ccxt_errors.OrderNotFound("binance order 1")
    assert map_exception(missing, "fetch_order", "binance").code is Code.ORDER_NOT_FOUND
    assert map_exception(missing, "cancel", "binance").code is Code.ORDER_NOT_FOUND
    created = map_exception(missing, "submit", "binance", side=Side.BUY)
    assert created.code is Code.VENUE_ERROR and created.outcome is Outcome.UNKNOWN


@pytest.mark.parametrize(("status", "answer", "pools", "limits"), [
    (429, body(-1015, "Too many new orders; current limit is 100 orders per 10 SECOND."),
     ("orders", "orders_daily"), {"orders": (100, 11.0)}),
    (429, body(-1015, "Too many new orders; current limit is 200000 orders per 1 DAY."),
     ("orders", "orders_daily"), {"orders_daily": (200_000, 86_400.0)}),
    (429, body(-1015, "Too many new orders."), ("orders", "orders_daily"), None),
    (429, body(-1003, "Too many requests; current limit of IP(127.0.0.1) is 6000 requests "
                      "per minute. Please use WebSocket Streams for live updates to avoid "
                      "polling the API."), None, {"weight": (6000, 61.0)}),
    (429, body(-1003, "Too many requests; current limit of IP(127.0.0.1) is 6000 requests "
                      "per 6 seconds."), None, {"weight": (6000, 7.0)}),
    (418, body(-1003, "Way too much request weight used; IP banned until 1700000000000."),
     None, None),
])
def test_a_refusal_names_its_pools_and_the_limit_it_announced(
        status: int, answer: dict[str, Any], pools: tuple[str, ...] | None,
        limits: dict[str, tuple[int, float]] | None) -> None:
    """The limiter adopts the announced limit (Binance's window plus the venue's arrival
    slack; the day has none, as declared); -1015 holds back only the order pools."""
    venue = BinanceVenue(base_url="http://127.0.0.1:9", api_key="k", secret="s")
    exc = raised(venue._exchange, status, answer, {"Retry-After": "1"})

    async def send() -> None:
        raise exc

    async def main() -> RateLimited:
        try:
            await venue._call("submit", send)
        except RateLimited as mapped:
            return mapped
        raise AssertionError("no RateLimited")

    mapped = asyncio.run(main())
    assert (mapped.pools, mapped.limits) == (pools, limits)
