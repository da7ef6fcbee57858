"""The ccxt.pro exchange object a venue talks through, configured for venuekit.

One object serves REST (ccxt's async client) and the private streams (ccxt.pro). It is
built so that nothing but venuekit decides when a request leaves and what a failure means:

* numbers come back as exact strings (``exchange.number = str``), never floats;
* ccxt's own rate limiter is off (venuekit's limiter carries the exchange's weights);
* every failed answer keeps its HTTP status, the exchange's own error code and message,
  and ``Retry-After`` (:class:`WireAnswer`, on the raised exception): ccxt folds them
  into its exception classes, and the error mapping needs them back;
* ``base_url`` points every REST and websocket URL of the exchange at one server (the
  emulator), paths kept, so a call can only reach what that server serves;
* without ``base_url`` the exchange's sandbox is used, unless live trading was confirmed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from venuekit.errors import Code, error

from .config import CcxtSettings

__all__ = ["WireAnswer", "build_exchange", "wire_answer"]

# Options that keep load_markets to the spot market data alone (one request on Binance),
# and let open orders be listed without a symbol (Binance allows it, at a higher weight).
_SPOT_ONLY: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    "fetchOpenOrders": {"warnWithoutSymbol": False},
    "adjustForTimeDifference": True,
    "defaultType": "spot",
}


@dataclass(frozen=True, slots=True)
class WireAnswer:
    """What the exchange answered to a failed request."""

    status: int | None
    code: int | None
    """The exchange's own error code (Binance's ``code``: -2010, -1013 ...)."""
    message: str
    retry_after: float | None


def wire_answer(exc: BaseException) -> WireAnswer | None:
    """The answer a ccxt exception was raised for (None for a transport failure)."""
    answer = getattr(exc, "venuekit_answer", None)
    return answer if isinstance(answer, WireAnswer) else None


class _Answers:
    """A mixin over a ccxt exchange class: keeps each failed answer on its exception."""

    _venuekit_headers: tuple[int, Mapping[str, str]] | None = None

    def handle_errors(self, code: Any, reason: Any, url: Any, method: Any, headers: Any,
                      body: Any, response: Any, request_headers: Any,
                      request_body: Any) -> Any:
        # handle_http_status_code runs right after this, in the same step (no await).
        self._venuekit_headers = (int(code), dict(headers or {}))
        try:
            return super().handle_errors(  # type: ignore[misc]
                code, reason, url, method, headers, body, response, request_headers,
                request_body)
        except Exception as exc:
            _keep(exc, code, headers, response, body)
            raise

    def handle_http_status_code(self, code: Any, reason: Any, url: Any, method: Any,
                                body: Any) -> Any:
        try:
            return super().handle_http_status_code(  # type: ignore[misc]
                code, reason, url, method, body)
        except Exception as exc:
            kept = self._venuekit_headers
            headers = kept[1] if kept is not None and kept[0] == int(code) else {}
            _keep(exc, code, headers, None, body)
            raise


def _keep(exc: BaseException, status: Any, headers: Mapping[str, str] | None,
          response: Any, body: Any) -> None:
    if wire_answer(exc) is not None:
        return
    code: int | None = None
    message = ""
    if isinstance(response, Mapping):
        raw = response.get("code")
        try:
            code = int(raw) if raw is not None else None
        except (TypeError, ValueError):
            code = None
        message = str(response.get("msg") or response.get("message") or "")
    elif isinstance(body, str):
        message = body.strip()[:200]
    retry_after: float | None = None
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                retry_after = max(0.0, float(value))
            except ValueError:
                retry_after = None
    try:
        http_status = int(status)
    except (TypeError, ValueError):
        http_status = None
    exc.venuekit_answer = WireAnswer(http_status, code, message,  # type: ignore[attr-defined]
                                     retry_after)


def _ccxt_pro() -> Any:
    return importlib.import_module("ccxt.pro")


def build_exchange(settings: CcxtSettings, hooks: tuple[type, ...] = ()) -> Any:
    """The ccxt.pro exchange object for ``settings`` (see the module docstring);
    ``hooks`` are mixins over the exchange's class (the user-data stream's)."""
    pro = _ccxt_pro()
    base = getattr(pro, settings.exchange, None)
    if base is None:
        raise error(Code.INVALID_CONFIG, f"{settings.venue}: ccxt.pro has no exchange "
                    f"{settings.exchange!r} (ccxt.pro.exchanges lists them)",
                    venue=settings.venue)
    cls = type(f"Venuekit{base.__name__}", (*hooks, _Answers, base), {})
    options = {**_SPOT_ONLY, **settings.options}
    exchange = cls({
        "apiKey": settings.api_key.reveal(),
        "secret": settings.secret.reveal(),
        "enableRateLimit": False,
        "timeout": int(settings.timeout * 1000),
        "options": options,
    })
    exchange.number = str
    if settings.base_url is not None:
        point_at(exchange, settings.base_url)
    elif settings.sandbox:
        if not exchange.urls.get("test"):
            raise error(Code.INVALID_CONFIG, f"{settings.venue}: {settings.exchange} has no "
                        "sandbox in ccxt; give base_url (an emulator), or confirm live "
                        "trading", venue=settings.venue)
        exchange.set_sandbox_mode(True)
    return exchange


def point_at(exchange: Any, base_url: str) -> None:
    """Rewrite every URL of the exchange's API to ``base_url``'s host, keeping its path."""
    target = urlsplit(base_url)

    def rewrite(value: Any) -> Any:
        if isinstance(value, str):
            parts = urlsplit(value)
            if not parts.netloc:
                return value
            scheme = ("ws" if target.scheme == "http" else "wss") \
                if parts.scheme in ("ws", "wss") else target.scheme
            return urlunsplit((scheme, target.netloc, parts.path, parts.query, ""))
        if isinstance(value, Mapping):
            return {key: rewrite(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rewrite(item) for item in value]
        return value

    exchange.urls["api"] = rewrite(exchange.urls["api"])
