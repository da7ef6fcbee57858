"""Settings of the KIS venue: credentials, the account, where to connect, and its limits.

Settings come from the constructor (or ``Venue.from_config``: CLI ``-o key=value`` options
and the ``[venues.kis]`` table of ``venuekit.toml``) and, for what is not given there, from
the environment:

=====================  ==============================================================
``KIS_APP_KEY``        the app key (앱키) of the paper (모의투자) or the live account
``KIS_APP_SECRET``     its app secret (앱시크릿)
``KIS_ACCOUNT``        the account: ``50012345-01`` (종합계좌번호 8 digits, 상품코드 2)
``KIS_HTS_ID``         the HTS id (HTS ID), the key of the execution notices (체결통보)
``KIS_BASE_URL``       a server to talk to instead of KIS (the emulator)
``KIS_WS_URL``         its websocket address (default: ``KIS_BASE_URL`` as ``ws://``)
=====================  ==============================================================

Paper first: without ``base_url`` the paper domain (모의투자, ``openapivts``) is used. Live
trading needs two opt-ins, ``live = true`` in the settings and ``VENUEKIT_LIVE=1`` in the
environment; either alone is refused with ``LIVE_TRADING_NOT_CONFIRMED``.

``requests`` is the REST budget per app key as ``count/seconds``: KIS allows about 2 a
second on paper and 20 on live (the defaults). Access tokens are cached per app key in
``token_cache`` (a directory; ``off`` keeps them in memory only), owner-only, because KIS
issues at most one a minute. Credentials are held in :class:`~venuekit.secrets.Secret`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from venuekit.errors import Code, error
from venuekit.options import confirm_live, parse_bool, parse_pool, parse_seconds
from venuekit.secrets import Secret

__all__ = ["LIVE", "PAPER", "Endpoints", "KisSettings"]

_ACCOUNT = re.compile(r"^(\d{8})-?(\d{2})$")


@dataclass(frozen=True, slots=True)
class Endpoints:
    rest: str
    websocket: str


PAPER = Endpoints("https://openapivts.koreainvestment.com:29443",
                  "ws://ops.koreainvestment.com:31000")
"""KIS's paper trading (모의투자) domains."""
LIVE = Endpoints("https://openapi.koreainvestment.com:9443", "ws://ops.koreainvestment.com:21000")
"""KIS's live (실전) domains."""


def _config(venue: str, message: str) -> Exception:
    return error(Code.INVALID_CONFIG, f"{venue}: {message}", venue=venue)


def _url(venue: str, key: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in schemes or not parts.netloc:
        raise _config(venue, f"{key} must be a {' or '.join(s + '://' for s in schemes)} URL, "
                      f"got {value!r}")
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class KisSettings:
    """Resolved settings of the KIS venue (see the module docstring)."""

    venue: str
    app_key: Secret
    app_secret: Secret
    account: str
    """The 8-digit account number (CANO)."""
    product: str
    """The 2-digit account product code (ACNT_PRDT_CD), ``01`` for stocks."""
    hts_id: str | None
    endpoints: Endpoints
    live: bool = False
    emulated: bool = False
    timeout: float = 10.0
    stream_timeout: float = 10.0
    requests: tuple[int, float] = (2, 1.0)
    token_cache: Path | None = None

    @classmethod
    def resolve(cls, venue: str, *, app_key: str | Secret | None = None,
                app_secret: str | Secret | None = None, account: str | None = None,
                hts_id: str | None = None, base_url: str | None = None,
                ws_url: str | None = None, live: object = False, timeout: object = 10.0,
                stream_timeout: object = 10.0, requests: object = None,
                token_cache: object = None, state_dir: Path | None = None,
                environ: Mapping[str, str] | None = None) -> KisSettings:
        """Merge explicit settings with the environment and check them.

        Raises ``INVALID_CONFIG`` naming the setting to fix, and
        ``LIVE_TRADING_NOT_CONFIRMED`` when live trading lacks one of its opt-ins.
        """
        env = os.environ if environ is None else environ
        key = app_key or env.get("KIS_APP_KEY") or None
        secret = app_secret or env.get("KIS_APP_SECRET") or None
        number = account or env.get("KIS_ACCOUNT") or None
        missing = [name for name, value in (("KIS_APP_KEY", key), ("KIS_APP_SECRET", secret),
                                            ("KIS_ACCOUNT", number)) if not value]
        if missing:
            raise _config(venue, f"no {' and no '.join(missing)}; set them in the environment, "
                          "or app_key / app_secret / account in the venue settings")
        found = _ACCOUNT.match(str(number).strip())
        if found is None:
            raise _config(venue, "account must be the 8-digit account number and the 2-digit "
                          f"product code, as 50012345-01; got {number!r}")
        want_live = parse_bool(live, venue=venue, key="live")
        url = base_url or env.get("KIS_BASE_URL") or None
        ws = ws_url or env.get("KIS_WS_URL") or None
        if want_live:
            confirm_live(venue, env)
            if url or ws:
                raise _config(venue, "live trading talks to KIS itself; remove base_url / "
                              "ws_url (KIS_BASE_URL / KIS_WS_URL) or live")
            endpoints = LIVE
        elif url:
            rest = _url(venue, "base_url", url, ("http", "https"))
            default_ws = rest.replace("https://", "wss://").replace("http://", "ws://")
            endpoints = Endpoints(rest, _url(venue, "ws_url", ws, ("ws", "wss"))
                                  if ws else default_ws)
        else:
            endpoints = PAPER
        if requests is None:
            requests = "20/1" if want_live else "2/1"
        return cls(
            venue=venue,
            app_key=key if isinstance(key, Secret) else Secret(str(key)),
            app_secret=secret if isinstance(secret, Secret) else Secret(str(secret)),
            account=found.group(1), product=found.group(2),
            hts_id=(hts_id or env.get("KIS_HTS_ID") or "").strip() or None,
            endpoints=endpoints, live=want_live, emulated=url is not None and not want_live,
            timeout=parse_seconds(timeout, venue=venue, key="timeout"),
            stream_timeout=parse_seconds(stream_timeout, venue=venue, key="stream_timeout"),
            requests=parse_pool(requests, venue=venue, key="requests", default_period=1.0),
            token_cache=_token_cache(venue, token_cache, state_dir))

    @property
    def mode(self) -> str:
        if self.live:
            return "live"
        return "emulator" if self.emulated else "paper"

    def __repr__(self) -> str:
        where = f", {self.endpoints.rest}" if self.emulated else ""
        return f"KisSettings({self.mode}, account={self.account}-{self.product}{where})"


def _token_cache(venue: str, value: object, state_dir: Path | None) -> Path | None:
    """Where access tokens are kept between processes: the setting, else the state
    directory's ``kis-tokens``, else the user's cache directory."""
    if value is not None:
        text = str(value).strip()
        if text.lower() in ("off", "none", "false", ""):
            return None
        return Path(text).expanduser()
    if state_dir is not None:
        return Path(state_dir) / "kis-tokens"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "venuekit" / "kis-tokens"
