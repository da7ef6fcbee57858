"""Binance's error answers: HTTP status, ``code`` and ``msg``, worded as Binance words them.

Every refusal is a :class:`BinanceError` whose body is ``{"code": <negative int>, "msg":
<text>}`` (plus ``data`` for a cancel-replace that failed). ccxt matches the ``msg`` text
before the code, so the texts are Binance's exactly (``errors.md`` of the Binance spot API
documentation). :func:`for_error` turns a venuekit error the mock venue raised into the
answer Binance gives for the same refusal.
"""

from __future__ import annotations

from typing import Any

from venuekit.errors import Code, VenueKitError

__all__ = [
    "CLIENT_ID_RANGE",
    "DECIMAL_RANGE",
    "INSUFFICIENT_BALANCE",
    "BinanceError",
    "bad_signature",
    "banned",
    "either",
    "filter_failure",
    "for_error",
    "illegal",
    "internal",
    "invalid_symbol",
    "key_format",
    "key_rejected",
    "malformed",
    "mandatory",
    "no_such_order",
    "not_required",
    "rejected",
    "too_many_orders",
    "too_many_requests",
    "unknown_order",
]

INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
DUPLICATE = "Duplicate order sent."
WOULD_TAKE = "Order would immediately match and take."
MARKET_CLOSED = "Market is closed."
CLIENT_ID_RANGE = "^[a-zA-Z0-9-_]{1,36}$"
DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"


class BinanceError(Exception):
    """One refusal: the HTTP status, Binance's code and message, and optional ``data``."""

    def __init__(self, status: int, code: int, msg: str, *,
                 data: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, code, msg)
        self.status = status
        self.code = code
        self.msg = msg
        self.data = data
        self.headers = headers or {}

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            body["data"] = self.data
        return body

    @property
    def short(self) -> dict[str, Any]:
        """``{"code", "msg"}`` only: how a cancel-replace reports a part that failed."""
        return {"code": self.code, "msg": self.msg}

    def __str__(self) -> str:
        return f"{self.status} {self.code} {self.msg}"


# requests --------------------------------------------------------------------------------
def mandatory(name: str) -> BinanceError:
    return BinanceError(400, -1102, f"Mandatory parameter '{name}' was not sent, was "
                        "empty/null, or malformed.")


def either(first: str, second: str) -> BinanceError:
    return BinanceError(400, -1102, f"Param '{first}' or '{second}' must be sent, but both "
                        "were empty/null!")


def malformed(name: str) -> BinanceError:
    return BinanceError(400, -1130, f"Data sent for parameter '{name}' is not valid.")


def not_required(name: str) -> BinanceError:
    return BinanceError(400, -1106, f"Parameter '{name}' sent when not required.")


def illegal(name: str, legal: str) -> BinanceError:
    return BinanceError(400, -1100, f"Illegal characters found in parameter '{name}'; "
                        f"legal range is '{legal}'.")


def too_much_precision(name: str) -> BinanceError:
    return BinanceError(400, -1111, f"Parameter '{name}' has too much precision.")


def invalid_symbol() -> BinanceError:
    return BinanceError(400, -1121, "Invalid symbol.")


def filter_failure(name: str) -> BinanceError:
    return BinanceError(400, -1013, f"Filter failure: {name}")


# the matching engine ---------------------------------------------------------------------
def rejected(msg: str) -> BinanceError:
    """A new order the matching engine refused (``-2010 NEW_ORDER_REJECTED``)."""
    return BinanceError(400, -2010, msg)


def unknown_order() -> BinanceError:
    """A cancel of an order that is not open (``-2011 CANCEL_REJECTED``)."""
    return BinanceError(400, -2011, "Unknown order sent.")


def no_such_order() -> BinanceError:
    """A query of an order that does not exist (``-2013 NO_SUCH_ORDER``)."""
    return BinanceError(400, -2013, "Order does not exist.")


# security --------------------------------------------------------------------------------
def key_format() -> BinanceError:
    return BinanceError(401, -2014, "API-key format invalid.")


def key_rejected() -> BinanceError:
    return BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")


def bad_signature() -> BinanceError:
    return BinanceError(400, -1022, "Signature for this request is not valid.")


def bad_timestamp(*, ahead: bool = False) -> BinanceError:
    if ahead:
        return BinanceError(400, -1021, "Timestamp for this request was 1000ms ahead of "
                            "the server's time.")
    return BinanceError(400, -1021, "Timestamp for this request is outside of the "
                        "recvWindow.")


# limits and the server -------------------------------------------------------------------
def too_many_requests(ip: str, limit: int, period: str, retry_after: int) -> BinanceError:
    return BinanceError(429, -1003, f"Too many requests; current limit of IP({ip}) is "
                        f"{limit} requests per {period}. Please use WebSocket Streams for "
                        "live updates to avoid polling the API.",
                        headers={"Retry-After": str(retry_after)})


def banned(until_ms: int, retry_after: int) -> BinanceError:
    return BinanceError(418, -1003, f"Way too much request weight used; IP banned until "
                        f"{until_ms}. Please use WebSocket Streams for live updates to "
                        "avoid bans.", headers={"Retry-After": str(retry_after)})


def too_many_orders(limit: int, interval: str, retry_after: int) -> BinanceError:
    return BinanceError(429, -1015, f"Too many new orders; current limit is {limit} orders "
                        f"per {interval}.", headers={"Retry-After": str(retry_after)})


def internal() -> BinanceError:
    return BinanceError(503, -1001, "Internal error; unable to process your request. "
                        "Please try again.")


# the simulator's refusals ----------------------------------------------------------------
_REJECTED = {
    Code.INSUFFICIENT_FUNDS: INSUFFICIENT_BALANCE,
    Code.INSUFFICIENT_POSITION: INSUFFICIENT_BALANCE,
    Code.SHORT_NOT_ALLOWED: INSUFFICIENT_BALANCE,
    Code.DUPLICATE_CLIENT_ORDER_ID: DUPLICATE,
    Code.SYMBOL_HALTED: MARKET_CLOSED,
    Code.MARKET_CLOSED: MARKET_CLOSED,
}
_FILTERS = {
    Code.INVALID_PRICE: "PRICE_FILTER",
    Code.INVALID_QUANTITY: "LOT_SIZE",
    Code.BELOW_MIN_QUANTITY: "LOT_SIZE",
    Code.BELOW_MIN_NOTIONAL: "NOTIONAL",
}


def for_error(exc: VenueKitError) -> BinanceError:
    """Binance's answer to a refusal the mock venue made (wire faults excepted: the
    timeout and the dropped response are answered by closing the connection)."""
    code = exc.code
    if code is Code.AUTHENTICATION_FAILED:
        return key_rejected()
    if code in _REJECTED:
        return rejected(_REJECTED[code])
    if code in _FILTERS:
        return filter_failure(_FILTERS[code])
    if code is Code.UNKNOWN_SYMBOL:
        return invalid_symbol()
    if code is Code.ORDER_NOT_FOUND:
        return no_such_order()
    if code is Code.RATE_LIMITED:
        retry = getattr(exc, "retry_after", None)
        seconds = max(1, round(retry)) if isinstance(retry, int | float) else 1
        return BinanceError(429, -1003, "Too many requests queued.",
                            headers={"Retry-After": str(seconds)})
    if code is Code.VENUE_ERROR:
        return internal()
    return BinanceError(400, -1000, "An unknown error occurred while processing the request.")
