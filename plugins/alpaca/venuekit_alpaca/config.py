"""Settings of the Alpaca venue: endpoints, credentials, and the live-trading opt-in.

Settings come from the constructor (or ``Venue.from_config``: CLI ``-o key=value`` options
and the ``[venues.alpaca]`` table of ``venuekit.toml``) and, for what is not given there,
from Alpaca's usual environment variables:

=======================  ==========================================================
``APCA_API_KEY_ID``      the API key id
``APCA_API_SECRET_KEY``  the API secret key
``APCA_API_BASE_URL``    the trading REST endpoint (``base_url``)
``APCA_API_DATA_URL``    the market-data REST endpoint (``data_url``)
``APCA_API_STREAM_URL``  the ``trade_updates`` websocket (``stream_url``)
=======================  ==========================================================

Paper trading is the default. Live trading needs two opt-ins: ``live = true`` in the
settings and ``VENUEKIT_LIVE=1`` in the environment. An endpoint that is Alpaca's live
endpoint counts as asking for live trading, so it needs both too.

Credentials are held in :class:`Secret`, whose repr and str never show the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from venuekit.errors import Code, VenueKitError, error
from venuekit.options import TRUE, parse_bool, parse_pool, parse_seconds
from venuekit.secrets import Secret

__all__ = [
    "DATA_URL",
    "LIVE_STREAM_URL",
    "LIVE_URL",
    "PAPER_STREAM_URL",
    "PAPER_URL",
    "AlpacaSettings",
    "Secret",
]

VENUE = "alpaca"
PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"
PAPER_STREAM_URL = "wss://paper-api.alpaca.markets/stream"
LIVE_STREAM_URL = "wss://api.alpaca.markets/stream"

_ENV = {
    "api_key": "APCA_API_KEY_ID",
    "secret_key": "APCA_API_SECRET_KEY",
    "base_url": "APCA_API_BASE_URL",
    "data_url": "APCA_API_DATA_URL",
    "stream_url": "APCA_API_STREAM_URL",
}
_FEEDS = {"iex", "sip", "delayed_sip", "otc", "boats", "overnight"}


def _url(key: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in schemes or not parts.netloc:
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise error(Code.INVALID_CONFIG, f"alpaca: {key} must be an {allowed} URL, got "
                    f"{value!r}", venue=VENUE)
    return value.strip().rstrip("/")


def _is_alpaca_host(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "alpaca.markets" or host.endswith(".alpaca.markets")


def _stream_for(base_url: str) -> str:
    """The websocket a trading endpoint serves ``trade_updates`` on (``/stream``)."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/stream", "", ""))


@dataclass(frozen=True, slots=True)
class AlpacaSettings:
    """Resolved settings: every URL final, credentials masked, live trading checked."""

    api_key: Secret
    secret_key: Secret
    base_url: str
    data_url: str
    stream_url: str
    live: bool = False
    feed: str | None = None
    timeout: float = 10.0
    stream_timeout: float = 10.0
    rate_limit: tuple[int, float] = (200, 60.0)
    """Requests per period (seconds) the account may make: Alpaca's default is 200/minute."""

    @classmethod
    def resolve(cls, *, api_key: str | Secret | None = None,
                secret_key: str | Secret | None = None, base_url: str | None = None,
                data_url: str | None = None, stream_url: str | None = None,
                paper: object = True, live: object = False, feed: str | None = None,
                timeout: object = 10.0, stream_timeout: object = 10.0,
                rate_limit: object = 200,
                environ: Mapping[str, str] | None = None) -> AlpacaSettings:
        """Merge explicit settings with the environment and check them.

        Raises ``INVALID_CONFIG`` naming the setting to fix, and
        ``LIVE_TRADING_NOT_CONFIRMED`` when live trading lacks one of its two opt-ins.
        """
        env = os.environ if environ is None else environ
        given = {"api_key": api_key, "secret_key": secret_key, "base_url": base_url,
                 "data_url": data_url, "stream_url": stream_url}
        values: dict[str, Any] = {}
        for key, value in given.items():
            if value is None or value == "":
                value = env.get(_ENV[key]) or None
            values[key] = value
        key_id, secret = values["api_key"], values["secret_key"]
        if not key_id or not secret:
            missing = [_ENV[k] for k in ("api_key", "secret_key") if not values[k]]
            raise error(Code.INVALID_CONFIG,
                        f"alpaca: no API credentials; set {' and '.join(missing)} in the "
                        "environment, or api_key / secret_key in the venue settings",
                        venue=VENUE)
        want_live = parse_bool(live, venue=VENUE, key="live")
        if not parse_bool(paper, venue=VENUE, key="paper"):
            want_live = True
        trading = _url("base_url", values["base_url"], ("http", "https")) \
            if values["base_url"] else (LIVE_URL if want_live else PAPER_URL)
        if urlsplit(trading).hostname == urlsplit(LIVE_URL).hostname:
            want_live = True  # Alpaca's live endpoint is live trading, whatever else was said
        if want_live:
            cls._confirm_live(env, explicit=parse_bool(live, venue=VENUE, key="live"))
        if values["stream_url"]:
            stream = _url("stream_url", values["stream_url"], ("ws", "wss"))
        elif values["base_url"]:
            stream = _stream_for(trading)
        else:
            stream = LIVE_STREAM_URL if want_live else PAPER_STREAM_URL
        if values["data_url"]:
            data = _url("data_url", values["data_url"], ("http", "https"))
        elif values["base_url"] and not _is_alpaca_host(trading):
            data = trading  # one local server (the emulator, a proxy) serves both APIs
        else:
            data = DATA_URL
        if feed is not None and str(feed).lower() not in _FEEDS:
            raise error(Code.INVALID_CONFIG, f"alpaca: feed must be one of "
                        f"{', '.join(sorted(_FEEDS))}, got {feed!r}", venue=VENUE)
        return cls(
            api_key=key_id if isinstance(key_id, Secret) else Secret(str(key_id)),
            secret_key=secret if isinstance(secret, Secret) else Secret(str(secret)),
            base_url=trading, data_url=data, stream_url=stream, live=want_live,
            feed=str(feed).lower() if feed is not None else None,
            timeout=parse_seconds(timeout, venue=VENUE, key="timeout"),
            stream_timeout=parse_seconds(stream_timeout, venue=VENUE, key="stream_timeout"),
            rate_limit=parse_pool(rate_limit, venue=VENUE, key="rate_limit", default_period=60.0))

    @staticmethod
    def _confirm_live(env: Mapping[str, str], *, explicit: bool) -> None:
        flag = env.get("VENUEKIT_LIVE", "").strip().lower() in TRUE
        if explicit and flag:
            return
        missing = []
        if not explicit:
            missing.append("live = true in the venue settings (-o live=true)")
        if not flag:
            missing.append("VENUEKIT_LIVE=1 in the environment")
        raise _live_refused("live trading at Alpaca needs both opt-ins; missing: "
                            + " and ".join(missing))

    @property
    def paper(self) -> bool:
        return not self.live

    def __repr__(self) -> str:
        mode = "live" if self.live else "paper"
        return (f"AlpacaSettings({mode}, base_url={self.base_url!r}, "
                f"data_url={self.data_url!r}, stream_url={self.stream_url!r})")


def _live_refused(message: str) -> VenueKitError:
    return error(Code.LIVE_TRADING_NOT_CONFIRMED, message, venue=VENUE)
