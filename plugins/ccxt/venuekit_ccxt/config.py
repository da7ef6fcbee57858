"""Settings of a ccxt venue: the exchange, credentials, where to connect, and its limits.

Settings come from the constructor (or ``Venue.from_config``: CLI ``-o key=value`` options
and the ``[venues.NAME]`` table of ``venuekit.toml``) and, for what is not given there,
from the environment, named after the exchange (``BINANCE_...`` for Binance):

============================  =========================================================
``<EXCHANGE>_API_KEY``        the API key
``<EXCHANGE>_API_SECRET``     the API secret
``<EXCHANGE>_BASE_URL``       a server to talk to instead of the exchange (the emulator)
============================  =========================================================

Paper first: without ``base_url`` the exchange's sandbox (Binance's spot testnet) is used.
Live trading needs two opt-ins, ``live = true`` in the settings and ``VENUEKIT_LIVE=1`` in
the environment; either alone is refused with ``LIVE_TRADING_NOT_CONFIRMED``.

Rate limits are venuekit's (ccxt's own limiter is off): ``request_weight``, ``orders`` and
``orders_daily`` give each pool as ``capacity/seconds`` (Binance: ``6000/60``, ``100/10``,
``200000/86400``). Credentials are held in :class:`~venuekit.secrets.Secret`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from venuekit.errors import Code, error
from venuekit.options import confirm_live, parse_bool, parse_pool, parse_seconds
from venuekit.secrets import Secret

__all__ = ["CcxtSettings", "Pool"]

Pool = tuple[int, float]
"""A rate-limit pool: weight units per so many seconds."""


def _url(venue: str, value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise error(Code.INVALID_CONFIG, f"{venue}: base_url must be an http:// or https:// "
                    f"URL, got {value!r}", venue=venue)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class CcxtSettings:
    """Resolved settings of one ccxt venue (see the module docstring)."""

    venue: str
    exchange: str
    api_key: Secret
    secret: Secret
    base_url: str | None = None
    """A server that speaks the exchange's API in its place (the emulator): every REST
    and websocket URL of the exchange is pointed at it, paths kept."""
    sandbox: bool = True
    live: bool = False
    quote_currency: str = "USDT"
    """The account's cash: the balance of this asset; positions are the other assets."""
    timeout: float = 10.0
    stream_timeout: float = 10.0
    request_weight: Pool = (6000, 60.0)
    orders: Pool = (100, 10.0)
    orders_daily: Pool = (200_000, 86_400.0)
    options: Mapping[str, Any] = field(default_factory=dict)
    """Extra ccxt options, over the ones venuekit sets."""

    @classmethod
    def resolve(cls, venue: str, exchange: str, *, api_key: str | Secret | None = None,
                secret: str | Secret | None = None, base_url: str | None = None,
                sandbox: object = True, live: object = False,
                quote_currency: str = "USDT", timeout: object = 10.0,
                stream_timeout: object = 10.0, request_weight: object = "6000/60",
                orders: object = "100/10", orders_daily: object = "200000/86400",
                options: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> CcxtSettings:
        """Merge explicit settings with the environment and check them.

        Raises ``INVALID_CONFIG`` naming the setting to fix, and
        ``LIVE_TRADING_NOT_CONFIRMED`` when live trading lacks one of its opt-ins.
        """
        env = os.environ if environ is None else environ
        prefix = exchange.upper()
        key = api_key or env.get(f"{prefix}_API_KEY") or None
        secret_value = secret or env.get(f"{prefix}_API_SECRET") or None
        if not key or not secret_value:
            missing = [name for name, value in ((f"{prefix}_API_KEY", key),
                                                (f"{prefix}_API_SECRET", secret_value))
                       if not value]
            raise error(Code.INVALID_CONFIG, f"{venue}: no API credentials; set "
                        f"{' and '.join(missing)} in the environment, or api_key / secret in "
                        "the venue settings", venue=venue)
        url = base_url or env.get(f"{prefix}_BASE_URL") or None
        want_live = parse_bool(live, venue=venue, key="live")
        use_sandbox = parse_bool(sandbox, venue=venue, key="sandbox")
        if want_live:
            confirm_live(venue, env)
            if url:
                raise error(Code.INVALID_CONFIG, f"{venue}: live trading talks to the exchange "
                            f"itself; remove base_url ({prefix}_BASE_URL) or live", venue=venue)
            use_sandbox = False
        elif not use_sandbox and not url:
            raise error(Code.LIVE_TRADING_NOT_CONFIRMED, f"{venue}: sandbox = false without "
                        "base_url is the live exchange; live trading needs live = true and "
                        "VENUEKIT_LIVE=1", venue=venue)
        if not isinstance(quote_currency, str) or not quote_currency.strip():
            raise error(Code.INVALID_CONFIG, f"{venue}: quote_currency must be an asset such "
                        f"as USDT, got {quote_currency!r}", venue=venue)
        if options is not None and not isinstance(options, Mapping):
            raise error(Code.INVALID_CONFIG, f"{venue}: options must be a table of ccxt "
                        "options", venue=venue)
        return cls(
            venue=venue, exchange=exchange,
            api_key=key if isinstance(key, Secret) else Secret(str(key)),
            secret=secret_value if isinstance(secret_value, Secret)
            else Secret(str(secret_value)),
            base_url=_url(venue, url) if url else None,
            sandbox=use_sandbox and not url, live=want_live,
            quote_currency=quote_currency.strip().upper(),
            timeout=parse_seconds(timeout, venue=venue, key="timeout"),
            stream_timeout=parse_seconds(stream_timeout, venue=venue, key="stream_timeout"),
            request_weight=parse_pool(request_weight, venue=venue, key="request_weight",
                                      default_period=60.0),
            orders=parse_pool(orders, venue=venue, key="orders", default_period=10.0),
            orders_daily=parse_pool(orders_daily, venue=venue, key="orders_daily",
                                    default_period=86_400.0),
            options=dict(options or {}))

    @property
    def mode(self) -> str:
        if self.live:
            return "live"
        return "emulator" if self.base_url else "sandbox"

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"CcxtSettings({self.exchange}, {self.mode}{where})"

