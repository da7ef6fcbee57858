"""alpaca-py's clients, built the way venuekit needs them.

* **No internal retries.** alpaca-py's REST client retries HTTP 429 and 504 itself (three
  more attempts, three seconds apart) and exposes no constructor argument for it. venuekit
  decides what may be retried (never a create whose outcome is unknown), so the clients
  built here answer every response exactly once: ``_retry`` is set to 0.
* **Bounded requests.** alpaca-py sends requests without a timeout; the session installed
  here gives every request the configured one, so a silent server is a ``TIMEOUT``.
* **Quiet imports.** alpaca-py's stream module imports ``websockets.legacy``, which warns
  on import with websockets 14 and later; the warning is about alpaca-py, not the user's
  code, so it is silenced for that import only.
* **No credentials on the wire log.** The websocket library logs every frame at DEBUG,
  including the authentication message; the stream's logger redacts it.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import requests
import requests.adapters

from .config import AlpacaSettings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="websockets.legacy is deprecated",
                            category=DeprecationWarning)
    from alpaca.common.enums import Sort
    from alpaca.common.exceptions import APIError
    from alpaca.data.enums import DataFeed
    from alpaca.data.historical.stock import StockHistoricalDataClient
    from alpaca.data.requests import StockLatestQuoteRequest
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import AssetClass, AssetStatus, QueryOrderStatus
    from alpaca.trading.models import TradeUpdate
    from alpaca.trading.requests import (
        GetAssetsRequest,
        GetOrdersRequest,
        LimitOrderRequest,
        MarketOrderRequest,
        ReplaceOrderRequest,
        StopLimitOrderRequest,
        StopOrderRequest,
        TrailingStopOrderRequest,
    )
    from alpaca.trading.stream import TradingStream

__all__ = [
    "APIError",
    "AssetClass",
    "AssetStatus",
    "DataFeed",
    "GetAssetsRequest",
    "GetOrdersRequest",
    "LimitOrderRequest",
    "MarketOrderRequest",
    "QueryOrderStatus",
    "ReplaceOrderRequest",
    "Sort",
    "StockHistoricalDataClient",
    "StockLatestQuoteRequest",
    "StopLimitOrderRequest",
    "StopOrderRequest",
    "TradeUpdate",
    "TradingClient",
    "TradingStream",
    "TrailingStopOrderRequest",
    "data_client",
    "trading_client",
    "trading_stream",
    "wire_logger",
]


CLOSE_TIMEOUT = 1.0
"""Seconds a closing stream waits for the server's half of the closing handshake."""

WORKERS = 16
"""Threads (and pooled connections per host) for one venue's concurrent REST calls."""


class BoundedSession(requests.Session):
    """A requests session whose every request has a timeout unless one is given."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=WORKERS)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]


def _tune(client: Any, timeout: float) -> None:
    client._retry = 0  # venuekit's retry policy is the only one
    client._retry_wait = 0
    client._session.close()
    client._session = BoundedSession(timeout)


def trading_client(settings: AlpacaSettings) -> TradingClient:
    client = TradingClient(settings.api_key.reveal(), settings.secret_key.reveal(),
                           paper=settings.paper, url_override=settings.base_url)
    _tune(client, settings.timeout)
    return client


def data_client(settings: AlpacaSettings) -> StockHistoricalDataClient:
    client = StockHistoricalDataClient(settings.api_key.reveal(),
                                       settings.secret_key.reveal(),
                                       url_override=settings.data_url)
    _tune(client, settings.timeout)
    return client


class _RedactFilter(logging.Filter):
    """Keeps credentials out of the websocket library's frame logs.

    Outgoing frames are dropped: the client sends only the authentication message (which
    carries the secret, and which the library elides in the middle, so that masking the
    whole secret is not enough) and the listen request. Anything else is masked.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(">"):
            return False
        text = record.getMessage()
        hidden = [secret for secret in self.secrets if secret in text]
        if hidden:
            for secret in hidden:
                text = text.replace(secret, "***")
            record.msg, record.args = text, ()
        return True


_WIRE = logging.getLogger("venuekit_alpaca.wire")
_REDACT = _RedactFilter()
_WIRE.addFilter(_REDACT)


def wire_logger(settings: AlpacaSettings) -> logging.Logger:
    """The logger the stream's websocket connection logs frames to, credentials masked."""
    _REDACT.secrets.update((settings.api_key.reveal(), settings.secret_key.reveal()))
    return _WIRE


def trading_stream(settings: AlpacaSettings) -> TradingStream:
    """A ``TradingStream`` that hands over raw messages (venuekit parses them itself)."""
    return TradingStream(settings.api_key.reveal(), settings.secret_key.reveal(),
                         paper=settings.paper, raw_data=True, url_override=settings.stream_url,
                         websocket_params={"ping_interval": 10, "ping_timeout": 180,
                                           "max_queue": 1024,
                                           "open_timeout": settings.stream_timeout,
                                           "close_timeout": CLOSE_TIMEOUT,
                                           "logger": wire_logger(settings)})
