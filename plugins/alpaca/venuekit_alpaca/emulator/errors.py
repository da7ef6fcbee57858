"""Alpaca's error answers: HTTP status and JSON body for every refusal the emulator makes.

Bodies are always JSON (alpaca-py's ``APIError.code`` parses the body), shaped as Alpaca
sends them: ``{"code": <int>, "message": "<text>"}``. The 401 for credentials Alpaca does
not accept is ``{"code": 40110000, "message": "request is not authorized"}``, the body the
trading API is seen to send for keys it does not know (alpaca-py issue #519, Alpaca-API
issue #224). A venuekit error raised by the simulator maps to
its Alpaca answer through :func:`for_error`.
"""

from __future__ import annotations

from typing import Any

from venuekit.errors import Code, ErrorCode, VenueKitError

__all__ = [
    "AlpacaError",
    "duplicate_client_order_id",
    "for_error",
    "invalid",
    "not_cancelable",
    "not_found",
    "rate_limited",
    "unauthorized",
]

INVALID = 40010001  # malformed or unacceptable input
UNAUTHORIZED = 40110000
FORBIDDEN = 40310000  # buying power or shares not sufficient
NOT_FOUND = 40410000
UNPROCESSABLE = 42210000  # a well-formed request the order's state or rules refuse
TOO_MANY = 42910000
INTERNAL = 50010000


class AlpacaError(Exception):
    """One refusal: the HTTP status and the JSON body to send."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body

    @classmethod
    def of(cls, status: int, code: int, message: str, **extra: Any) -> AlpacaError:
        return cls(status, {"code": code, "message": message, **extra})

    def __str__(self) -> str:
        return f"{self.status} {self.body.get('message', '')}"


def unauthorized() -> AlpacaError:
    return AlpacaError.of(401, UNAUTHORIZED, "request is not authorized")


def invalid(message: str) -> AlpacaError:
    return AlpacaError.of(422, INVALID, message)


def not_found(message: str = "order not found") -> AlpacaError:
    return AlpacaError.of(404, NOT_FOUND, message)


def not_cancelable() -> AlpacaError:
    return AlpacaError.of(422, UNPROCESSABLE, "order is not cancelable")


def duplicate_client_order_id() -> AlpacaError:
    return AlpacaError.of(422, INVALID, "client_order_id must be unique")


def rate_limited() -> AlpacaError:
    return AlpacaError.of(429, TOO_MANY, "rate limit exceeded")


def server_error() -> AlpacaError:
    return AlpacaError.of(500, INTERNAL, "internal server error")


_STATUS: dict[ErrorCode, tuple[int, int]] = {
    Code.INSUFFICIENT_FUNDS: (403, FORBIDDEN),
    Code.INSUFFICIENT_POSITION: (403, FORBIDDEN),
    Code.SHORT_NOT_ALLOWED: (403, FORBIDDEN),
    Code.INVALID_PRICE: (422, UNPROCESSABLE),
    Code.STOP_CROSSED: (422, UNPROCESSABLE),
    Code.SYMBOL_HALTED: (422, UNPROCESSABLE),
    Code.FILL_OR_KILL_UNFILLABLE: (422, UNPROCESSABLE),
    Code.MARKET_CLOSED: (422, UNPROCESSABLE),
    Code.ORDER_NOT_FOUND: (404, NOT_FOUND),
    Code.RATE_LIMITED: (429, TOO_MANY),
    Code.VENUE_ERROR: (500, INTERNAL),
}


def for_error(exc: VenueKitError, **extra: Any) -> AlpacaError:
    """The Alpaca answer for a venuekit error the simulator raised (``extra`` adds body
    fields, such as ``buying_power`` and ``cost_basis`` on a 403)."""
    code = exc.code
    if code is Code.AUTHENTICATION_FAILED:
        return unauthorized()
    if code is Code.DUPLICATE_CLIENT_ORDER_ID:
        return duplicate_client_order_id()
    if code is Code.RATE_LIMITED:
        return rate_limited()
    if code is Code.VENUE_ERROR:
        return server_error()
    if code is Code.ORDER_NOT_FOUND:
        return not_found()
    if code is Code.INSUFFICIENT_FUNDS:
        return AlpacaError.of(403, FORBIDDEN, "insufficient buying power", **extra)
    status, number = _STATUS.get(code, (422, INVALID))
    return AlpacaError.of(status, number, exc.message, **extra)
