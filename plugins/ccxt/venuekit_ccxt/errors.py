"""Every ccxt failure mapped into venuekit's error taxonomy, with its outcome.

The exchange's own code decides where ccxt kept it (:class:`~.exchange.WireAnswer`;
Binance's codes below), else ccxt's exception class, else the transport failure:

==========================================  ==========================  =================
answer                                      venuekit code               outcome
==========================================  ==========================  =================
HTTP 418 (an IP ban)                        IP_BANNED                   unknown
HTTP 429, -1003, -1015                      RATE_LIMITED (Retry-After)  unknown, retryable
-2010 insufficient balance                  INSUFFICIENT_FUNDS (buy),   rejected
                                            INSUFFICIENT_POSITION
-2010 duplicate order sent                  DUPLICATE_CLIENT_ORDER_ID   unknown (look up)
-2010 other, -2021, -2022, -11xx, -1013     INVALID_ORDER / _PRICE /    rejected
                                            _QUANTITY / BELOW_MIN_...
-1121 invalid symbol                        UNKNOWN_SYMBOL              rejected
-2011, -2013 (a lookup or a cancel)         ORDER_NOT_FOUND             not applicable
-1021 timestamp outside recvWindow          VENUE_ERROR (clock resynced) unknown
-1022, -2014, -2015, HTTP 401               AUTHENTICATION_FAILED       rejected
-1001, HTTP 5xx                             VENUE_ERROR                 unknown, retryable
RequestTimeout                              TIMEOUT                     unknown, retryable
ExchangeNotAvailable, NetworkError          CONNECTION_ERROR            unknown, retryable
an ExchangeError ccxt could not classify    VENUE_ERROR                 unknown, retryable
==========================================  ==========================  =================

ccxt classes without an exchange code map alike (InsufficientFunds, DuplicateOrderId,
InvalidOrder, BadSymbol, OrderNotFound, AuthenticationError, PermissionDenied,
MarketClosed, NotSupported, DDoSProtection, RateLimitExceeded, InvalidNonce). An
``OrderNotFound`` counts as not-found only for a lookup or a cancel; raised by a create it
leaves the outcome unknown. Messages carry the exchange's message and code, never the
request (whose headers and signature hold the credentials).
"""

from __future__ import annotations

import asyncio
import importlib
import re
from typing import Any

from venuekit.errors import Code, ErrorCode, VenueKitError, error
from venuekit.model import Side

from .exchange import WireAnswer, wire_answer

__all__ = ["DAY", "LOOKUPS", "announced_limit", "map_exception"]

LOOKUPS = frozenset({"fetch_order", "cancel", "replace"})
"""Operations for which a not-found answer means the order does not exist."""

_FILTERS = {"PRICE_FILTER": Code.INVALID_PRICE, "PERCENT_PRICE": Code.INVALID_PRICE,
            "PERCENT_PRICE_BY_SIDE": Code.INVALID_PRICE, "LOT_SIZE": Code.INVALID_QUANTITY,
            "MARKET_LOT_SIZE": Code.INVALID_QUANTITY, "NOTIONAL": Code.BELOW_MIN_NOTIONAL,
            "MIN_NOTIONAL": Code.BELOW_MIN_NOTIONAL}


DAY = 86_400.0

_UNITS = {"second": 1.0, "minute": 60.0, "hour": 3_600.0, "day": DAY}
_ANNOUNCED = re.compile(r"\bis (\d+) (?:orders|requests) per (?:(\d+(?:\.\d+)?) )?"
                        r"(second|minute|hour|day)s?\b", re.IGNORECASE)


def announced_limit(message: str) -> tuple[int, float] | None:
    """The limit a rate-limit refusal announces, as ``(capacity, period seconds)``:
    "current limit is 100 orders per 10 SECOND" (-1015) and "current limit of IP(...) is
    6000 requests per minute" (-1003). None where the message says no number."""
    found = _ANNOUNCED.search(message)
    if found is None:
        return None
    count, number, unit = found.groups()
    return int(count), float(number or 1) * _UNITS[unit.lower()]


def _errors() -> Any:
    return importlib.import_module("ccxt.base.errors")


def _by_exchange_code(answer: WireAnswer, operation: str, side: Side | None
                      ) -> ErrorCode | None:
    status, code, text = answer.status, answer.code, answer.message.lower()
    if status == 418:
        return Code.IP_BANNED
    if status == 429 or code in (-1003, -1015):
        return Code.RATE_LIMITED
    if status == 401 or code in (-1022, -2014, -2015):
        return Code.AUTHENTICATION_FAILED
    if code == -2010:
        if "insufficient balance" in text:
            return Code.INSUFFICIENT_POSITION if side is Side.SELL else Code.INSUFFICIENT_FUNDS
        if "duplicate order" in text:
            return Code.DUPLICATE_CLIENT_ORDER_ID
        return Code.INVALID_ORDER
    if code == -1013:
        for name, mapped in _FILTERS.items():
            if f"filter failure: {name.lower()}" == text.rstrip("."):
                return mapped
        return Code.INVALID_ORDER
    if code == -1121:
        return Code.UNKNOWN_SYMBOL
    if code in (-2011, -2013):
        return Code.ORDER_NOT_FOUND if operation in LOOKUPS else Code.VENUE_ERROR
    if code == -1021:
        return Code.VENUE_ERROR
    if code in (-2021, -2022):
        return Code.INVALID_ORDER
    if code == -1001 or (status is not None and status >= 500):
        return Code.VENUE_ERROR
    if code is not None and -1199 <= code <= -1100:
        return Code.INVALID_ORDER
    return None


def _by_class(exc: BaseException, operation: str, side: Side | None) -> ErrorCode:
    e = _errors()
    if isinstance(exc, e.InsufficientFunds):
        return Code.INSUFFICIENT_POSITION if side is Side.SELL else Code.INSUFFICIENT_FUNDS
    if isinstance(exc, e.OrderNotFound):
        return Code.ORDER_NOT_FOUND if operation in LOOKUPS else Code.VENUE_ERROR
    if isinstance(exc, e.DuplicateOrderId):
        return Code.DUPLICATE_CLIENT_ORDER_ID
    if isinstance(exc, e.InvalidOrder):
        return Code.INVALID_ORDER
    if isinstance(exc, e.BadSymbol):
        return Code.UNKNOWN_SYMBOL
    if isinstance(exc, e.PermissionDenied):
        return Code.PERMISSION_DENIED
    if isinstance(exc, e.AuthenticationError):
        return Code.AUTHENTICATION_FAILED
    if isinstance(exc, e.MarketClosed):
        return Code.MARKET_CLOSED
    if isinstance(exc, e.NotSupported):
        return Code.CAPABILITY_NOT_SUPPORTED
    if isinstance(exc, e.BadRequest | e.ArgumentsRequired | e.OperationRejected):
        return Code.INVALID_ORDER
    if isinstance(exc, e.DDoSProtection | e.RateLimitExceeded):
        return Code.RATE_LIMITED
    if isinstance(exc, e.RequestTimeout):
        return Code.TIMEOUT
    if isinstance(exc, e.InvalidNonce | e.BadResponse):
        return Code.VENUE_ERROR
    if isinstance(exc, e.NetworkError):
        return Code.CONNECTION_ERROR
    return Code.VENUE_ERROR  # an ExchangeError ccxt could not classify: unknown, look up


def map_exception(exc: BaseException, operation: str, venue: str, *,
                  side: Side | None = None) -> VenueKitError:
    """The venuekit error for ``exc``, raised by ccxt during ``operation`` at ``venue``.

    ``side`` tells insufficient cash (a buy) from an insufficient position (a sell).
    """
    if isinstance(exc, VenueKitError):
        return exc
    details: dict[str, Any] = {"operation": operation, "error": type(exc).__name__}
    if not isinstance(exc, _errors().BaseError):
        if isinstance(exc, asyncio.TimeoutError | TimeoutError):
            return error(Code.TIMEOUT, f"{operation}: {venue} did not answer in time",
                         venue=venue, details=details)
        if isinstance(exc, OSError | ConnectionError):
            return error(Code.CONNECTION_ERROR, f"{operation}: the connection to {venue} "
                         f"failed ({type(exc).__name__})", venue=venue, details=details)
        return error(Code.VENUE_ERROR, f"{operation}: unexpected failure talking to {venue} "
                     f"({type(exc).__name__})", venue=venue, details=details)
    answer = wire_answer(exc)
    code = _by_exchange_code(answer, operation, side) if answer is not None else None
    if code is None:
        code = _by_class(exc, operation, side)
    if answer is not None:
        details.update(status=answer.status, exchange_code=answer.code)
        said = answer.message or type(exc).__name__
        label = ", ".join(part for part in (
            f"HTTP {answer.status}" if answer.status else "",
            f"code {answer.code}" if answer.code is not None else "") if part)
        text = f"{operation}: {venue} answered {label}: {said}" if label \
            else f"{operation}: {venue} answered: {said}"
    else:
        text = f"{operation}: {venue} failed ({type(exc).__name__})"
    retry_after = answer.retry_after if answer is not None else None
    if code in (Code.RATE_LIMITED, Code.IP_BANNED):
        return error(code, text, venue=venue, details=details, retry_after=retry_after)
    return error(code, text, venue=venue, details=details)
