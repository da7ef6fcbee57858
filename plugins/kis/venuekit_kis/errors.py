"""KIS's answers mapped into venuekit's error taxonomy, with their outcomes.

KIS answers business refusals with HTTP 200 and ``rt_cd`` other than ``"0"`` (``msg_cd`` and
a Korean ``msg1``); its gateway answers with a non-2xx status and an ``EGW…`` code. The
``msg_cd`` of a refusal differs between paper and live and between releases, so refusals
are told apart by what ``msg1`` says:

=============================================  ========================  ==============
answer                                          venuekit code             outcome
=============================================  ========================  ==============
EGW00201 초당 거래건수를 초과 (HTTP 500)          RATE_LIMITED              unknown
EGW00133 token issued more than once a minute   RATE_LIMITED (60 s)       n.a.
EGW00123 expired / EGW00121 invalid token       AUTHENTICATION_FAILED     rejected
other EGW…, HTTP 5xx                            VENUE_ERROR               unknown
…주문가능금액… (cash)                            INSUFFICIENT_FUNDS        rejected
…잔고… / …매도가능수량… (shares)                  INSUFFICIENT_POSITION     rejected
…호가단위… (tick)                                INVALID_PRICE             rejected
…상한가… / …하한가… (daily limit)                PRICE_OUT_OF_BAND         rejected
…장시작전… / …장종료… / …장운영시간…               MARKET_CLOSED             rejected
…정정/취소할 수량이 없습니다 (cancel)              ORDER_NOT_FOUND           n.a.
any other refusal (rt_cd ≠ "0")                 INVALID_ORDER             rejected
a timeout; a connection refused, reset, closed  TIMEOUT, CONNECTION_ERROR unknown
=============================================  ========================  ==============

A refusal of a lookup or a cancel says nothing about an order's existence unless it is the
"nothing to cancel" answer; an expired token is handled by the client (a new token, the
request sent again: the gateway did not pass it on) before it reaches here. Messages carry
KIS's code and message, never the request (whose headers hold the credentials).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from venuekit.errors import Code, ErrorCode, VenueKitError, error

__all__ = ["EXPIRED_TOKEN", "INVALID_TOKEN", "RATE_LIMIT", "TOKEN_RATIONED", "from_answer",
           "from_transport"]

RATE_LIMIT = "EGW00201"
EXPIRED_TOKEN = "EGW00123"
INVALID_TOKEN = "EGW00121"
TOKEN_RATIONED = "EGW00133"

_RATE_LIMIT_WAIT = 1.0
"""Seconds to hold back after EGW00201: the budget is per second."""
_TOKEN_WAIT = 60.0
"""Seconds until KIS issues another token after EGW00133 (one a minute)."""

_REFUSALS: tuple[tuple[tuple[str, ...], ErrorCode], ...] = (
    (("주문가능금액", "매수가능금액"), Code.INSUFFICIENT_FUNDS),
    (("잔고", "매도가능수량", "매도가능 수량"), Code.INSUFFICIENT_POSITION),
    (("호가단위",), Code.INVALID_PRICE),
    (("상한가", "하한가"), Code.PRICE_OUT_OF_BAND),
    (("장시작전", "장종료", "장운영시간", "장 운영시간"), Code.MARKET_CLOSED),
    (("종목코드", "종목 코드"), Code.UNKNOWN_SYMBOL),
    (("주문수량",), Code.INVALID_QUANTITY),
)
_NOTHING_TO_CANCEL = "취소할 수량이 없습니다"


def _said(answer: Mapping[str, Any]) -> tuple[str, str]:
    code = str(answer.get("msg_cd") or answer.get("error_code") or "")
    message = str(answer.get("msg1") or answer.get("error_description") or "").strip()
    return code, message


def from_answer(status: int, answer: Mapping[str, Any] | None, operation: str,
                venue: str) -> VenueKitError:
    """The error for a KIS answer that is not a success (``answer`` None: not JSON)."""
    code, message = _said(answer or {})
    label = ", ".join(p for p in (f"HTTP {status}" if status != 200 else "",
                                  code and f"code {code}") if p)
    text = f"{operation}: {venue} answered {label}: {message or 'no message'}" if label \
        else f"{operation}: {venue} answered: {message or 'no message'}"
    details: dict[str, Any] = {"operation": operation, "status": status, "kis_code": code}
    if code == RATE_LIMIT:
        return error(Code.RATE_LIMITED, text, venue=venue, details=details,
                     retry_after=_RATE_LIMIT_WAIT)
    if code == TOKEN_RATIONED:
        return error(Code.RATE_LIMITED, text, venue=venue, details=details,
                     retry_after=_TOKEN_WAIT)
    if code in (EXPIRED_TOKEN, INVALID_TOKEN) or status in (401, 403):
        return error(Code.AUTHENTICATION_FAILED, text, venue=venue, details=details)
    if status != 200 or answer is None:
        return error(Code.VENUE_ERROR, text, venue=venue, details=details)
    if _NOTHING_TO_CANCEL in message:
        return error(Code.ORDER_NOT_FOUND, text, venue=venue, details=details)
    for needles, mapped in _REFUSALS:
        if any(needle in message for needle in needles):
            return error(mapped, text, venue=venue, details=details)
    return error(Code.INVALID_ORDER, text, venue=venue, details=details)


def from_transport(exc: httpx.HTTPError, operation: str, venue: str) -> VenueKitError:
    """The error for a request that got no answer."""
    details = {"operation": operation, "error": type(exc).__name__}
    if isinstance(exc, httpx.TimeoutException):
        return error(Code.TIMEOUT, f"{operation}: {venue} did not answer in time",
                     venue=venue, details=details)
    return error(Code.CONNECTION_ERROR, f"{operation}: the connection to {venue} failed "
                 f"({type(exc).__name__})", venue=venue, details=details)
