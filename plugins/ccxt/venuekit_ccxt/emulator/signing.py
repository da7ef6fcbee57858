"""Binance's request security: the API key, the HMAC-SHA256 signature and timing security.

REST (``rest-api.md``, "SIGNED Endpoint security"): the signature is the hex HMAC-SHA256,
under the secret key, of the raw query string concatenated with the raw body, without the
``signature`` parameter itself; hex digits compare case-insensitively. The ws-api
(``web-socket-api.md``): the HMAC is over the request's parameters other than
``signature``, sorted by name and joined as ``name=value&...``.

Timing: ``timestamp`` (milliseconds, or microseconds) must be less than one second ahead
of the server's clock and at most ``recvWindow`` (5000 by default, 60000 at most)
milliseconds behind it; otherwise ``-1021``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from . import errors

__all__ = ["check_key", "check_timestamp", "rest_payload", "sign", "verify", "ws_payload"]

_KEY = re.compile(r"^[A-Za-z0-9_\-.]{1,128}$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_MAX_RECV_WINDOW = Decimal(60_000)
_DEFAULT_RECV_WINDOW = Decimal(5_000)


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check_key(sent: str | None, expected: str) -> None:
    """Refuse a missing or malformed API key (-2014) or another key than ours (-2015)."""
    if not sent or not _KEY.match(sent):
        raise errors.key_format()
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise errors.key_rejected()


def rest_payload(query: str, body: str) -> tuple[str, str | None]:
    """The signed payload of a REST request and the signature it carries (None if none).

    ``query`` and ``body`` are raw (still percent-encoded): what the client signed.
    """
    signature: str | None = None
    kept: list[str] = []
    for part in (query, body):
        items = []
        for item in part.split("&") if part else ():
            if item.startswith("signature="):
                signature = item[len("signature="):]
            else:
                items.append(item)
        kept.append("&".join(items))
    return kept[0] + kept[1], signature


def ws_payload(params: Mapping[str, object]) -> str:
    """The signed payload of a ws-api request: its parameters sorted by name."""
    def text(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return "&".join(f"{name}={text(params[name])}" for name in sorted(params)
                    if name != "signature")


def verify(secret: str, payload: str, signature: str | None) -> None:
    """Refuse a missing (-1102) or wrong (-1022) signature."""
    if not signature:
        raise errors.mandatory("signature")
    expected = sign(secret, payload)
    if not _HEX.match(signature) or not hmac.compare_digest(expected, signature.lower()):
        raise errors.bad_signature()


def _number(value: object, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise errors.mandatory(name) from None
    if not number.is_finite():
        raise errors.mandatory(name)
    return number


def check_timestamp(params: Mapping[str, object], now_ms: int) -> None:
    """Timing security, against the server's clock ``now_ms``."""
    raw = params.get("timestamp")
    if raw is None or raw == "":
        raise errors.mandatory("timestamp")
    timestamp = _number(raw, "timestamp")
    if timestamp >= 10 ** 14:  # microseconds
        timestamp /= 1000
    window = params.get("recvWindow")
    recv_window = _DEFAULT_RECV_WINDOW if window in (None, "") \
        else _number(window, "recvWindow")
    if recv_window <= 0:
        raise errors.mandatory("recvWindow")
    if recv_window > _MAX_RECV_WINDOW:
        raise errors.BinanceError(400, -1102, "'recvWindow' contains unexpected value. "
                                  "Cannot be greater than 60000.")
    if timestamp >= now_ms + 1000:
        raise errors.bad_timestamp(ahead=True)
    if now_ms - timestamp > recv_window:
        raise errors.bad_timestamp()
