"""Every Alpaca answer mapped into venuekit's error taxonomy, with its outcome.

======================================  ===========================  ==================
Alpaca answer                           venuekit code                outcome
======================================  ===========================  ==================
401                                     AUTHENTICATION_FAILED        rejected
403 insufficient buying power           INSUFFICIENT_FUNDS           rejected
403 insufficient qty / shares           INSUFFICIENT_POSITION        rejected
403 short selling not allowed           SHORT_NOT_ALLOWED            rejected
403 anything else                       PERMISSION_DENIED            rejected
404 (an order lookup, cancel, replace)  ORDER_NOT_FOUND              not applicable
404 (an asset or a position)            UNKNOWN_SYMBOL               rejected
422 client_order_id must be unique      DUPLICATE_CLIENT_ORDER_ID    unknown (look up)
422 asset / symbol not found / unknown  UNKNOWN_SYMBOL               rejected
422 qty / quantity                      INVALID_QUANTITY             rejected
422 price / sub-penny                   INVALID_PRICE                rejected
400, 422, other 4xx                     INVALID_ORDER                rejected
429                                     RATE_LIMITED                 unknown, retryable
504                                     TIMEOUT                      unknown, retryable
other 5xx                               VENUE_ERROR                  unknown, retryable
read timeout                            TIMEOUT                      unknown, retryable
connection refused / reset              CONNECTION_ERROR             unknown, retryable
a 2xx body that is not what Alpaca      VENUE_ERROR                  unknown, retryable
sends
======================================  ===========================  ==================

Messages carry Alpaca's own message, its numeric code and the HTTP status, never a
request (whose headers hold the credentials).
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from pydantic import ValidationError as PydanticValidationError

from venuekit.errors import Code, ErrorCode, VenueKitError, error

from .sdk import APIError

__all__ = ["NotFound", "map_exception"]

VENUE = "alpaca"


class NotFound:
    """What a 404 means for the call that got it."""

    ORDER = Code.ORDER_NOT_FOUND
    SYMBOL = Code.UNKNOWN_SYMBOL


def _body(exc: APIError) -> dict[str, Any]:
    try:
        body = json.loads(str(exc))
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    headers = response.headers
    retry_after = headers.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
    reset = headers.get("X-Ratelimit-Reset")
    if reset:
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            pass
    return None


def _code_for(status: int, message: str, not_found: ErrorCode) -> ErrorCode:
    text = message.lower()
    if status == 401:
        return Code.AUTHENTICATION_FAILED
    if status == 403:
        if "buying power" in text:
            return Code.INSUFFICIENT_FUNDS
        if "short" in text:
            return Code.SHORT_NOT_ALLOWED
        if "qty" in text or "quantity" in text or "shares" in text:
            return Code.INSUFFICIENT_POSITION
        return Code.PERMISSION_DENIED
    if status == 404:
        return not_found
    if status == 429:
        return Code.RATE_LIMITED
    if status == 504:
        return Code.TIMEOUT
    if status >= 500:
        return Code.VENUE_ERROR
    if "client_order_id" in text and ("unique" in text or "duplicate" in text):
        return Code.DUPLICATE_CLIENT_ORDER_ID
    if ("asset" in text or "symbol" in text) and any(
            word in text for word in ("not found", "could not find", "unknown")):
        return Code.UNKNOWN_SYMBOL
    if "sub-penny" in text or "price" in text:
        return Code.INVALID_PRICE
    if "qty" in text or "quantity" in text:
        return Code.INVALID_QUANTITY
    return Code.INVALID_ORDER


def _from_api_error(exc: APIError, operation: str, not_found: ErrorCode) -> VenueKitError:
    status = exc.status_code or 0
    body = _body(exc)
    message = str(body.get("message") or "").strip() or (str(exc).strip()[:200] or
                                                          f"HTTP {status}")
    code = _code_for(status, message, not_found)
    details: dict[str, Any] = {"operation": operation, "status": status}
    if isinstance(body.get("code"), int):
        details["alpaca_code"] = body["code"]
    label = f"HTTP {status}" + (f", code {details['alpaca_code']}"
                                if "alpaca_code" in details else "")
    text = f"{operation}: Alpaca answered {label}: {message}"
    if code is Code.RATE_LIMITED:
        return error(code, text, venue=VENUE, details=details,
                     retry_after=_retry_after(exc.response))
    return error(code, text, venue=VENUE, details=details)


def map_exception(exc: BaseException, operation: str, *,
                  not_found: ErrorCode = Code.ORDER_NOT_FOUND) -> VenueKitError:
    """The venuekit error for ``exc``, raised by alpaca-py during ``operation``.

    ``not_found`` is what a 404 means for this call (an order, or a symbol).
    """
    if isinstance(exc, VenueKitError):
        return exc
    if isinstance(exc, APIError):
        return _from_api_error(exc, operation, not_found)
    details = {"operation": operation, "error": type(exc).__name__}
    if isinstance(exc, requests.exceptions.InvalidJSONError | PydanticValidationError):
        # The server answered 2xx with something that is not an Alpaca object: whatever the
        # request did at the venue is unknown.
        return error(Code.VENUE_ERROR, f"{operation}: Alpaca's answer could not be read "
                     f"({type(exc).__name__})", venue=VENUE, details=details)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return error(Code.CONNECTION_ERROR, f"{operation}: could not connect to Alpaca in "
                     "time", venue=VENUE, details=details)
    if isinstance(exc, requests.exceptions.Timeout):
        return error(Code.TIMEOUT, f"{operation}: Alpaca did not answer in time",
                     venue=VENUE, details=details)
    if isinstance(exc, requests.exceptions.RequestException | ConnectionError | OSError):
        return error(Code.CONNECTION_ERROR, f"{operation}: the connection to Alpaca failed "
                     f"({type(exc).__name__})", venue=VENUE, details=details)
    return error(Code.VENUE_ERROR, f"{operation}: unexpected failure talking to Alpaca "
                 f"({type(exc).__name__})", venue=VENUE, details=details)
