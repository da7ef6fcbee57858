"""KIS access tokens (접근토큰) and websocket approval keys (웹소켓 접속키).

KIS issues an access token at most once a minute per app key (a second request within the
minute is refused with EGW00133) and the token lives 24 hours; asked again within six
hours, KIS answers with the same token. So a token is reused until it nearly expires, and
kept between processes in a cache file per app key and server (owner-only, in an owner-only
directory), so that consecutive commands do not spend the issuance budget. The file holds
the token, its expiry and when it was issued; it is read only if it belongs to the same
app key (compared by digest: the key itself is never written).

An approval key for the execution notices is asked for on every websocket connection.
Neither the token nor the keys appear in logs, reprs or errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from venuekit.errors import Code, error
from venuekit.secrets import Secret

__all__ = ["KST", "Token", "TokenStore"]

log = logging.getLogger("venuekit_kis.auth")

KST = timezone(timedelta(hours=9), "KST")
ISSUE_INTERVAL = 61.0
"""Seconds between two token requests: KIS issues one a minute (and a second's margin)."""
RENEW_BEFORE = 600.0
"""Seconds before expiry at which a token is replaced."""

Post = Callable[[str, Mapping[str, str]], Awaitable[Mapping[str, Any]]]
"""Sends a JSON body to an /oauth2 path and returns the JSON answer (raising on failure)."""


@dataclass(frozen=True, slots=True)
class Token:
    value: Secret
    expires_at: float
    """Wall-clock seconds (epoch) at which KIS stops accepting it."""
    issued_at: float
    cached: bool = False
    """Read from the cache file: issued to another process."""

    def usable(self, now: float) -> bool:
        return now < self.expires_at - RENEW_BEFORE


def _expiry(answer: Mapping[str, Any], now: float) -> float:
    """When the token expires: ``access_token_token_expired`` (KST), else ``expires_in``."""
    stamp = answer.get("access_token_token_expired")
    if isinstance(stamp, str):
        with contextlib.suppress(ValueError):
            return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST).timestamp()
    try:
        return now + float(answer.get("expires_in", 86_400))
    except (TypeError, ValueError):
        return now + 86_400.0


class TokenStore:
    """The access token of one app key at one server: cached, reused, renewed in time.

    ``cache_dir`` None keeps the token in memory only. ``clock`` is the wall clock.
    """

    def __init__(self, app_key: Secret, app_secret: Secret, server: str, *, venue: str,
                 cache_dir: Path | None, clock: Callable[[], float] = time.time) -> None:
        self._app_key = app_key
        self._app_secret = app_secret
        self._venue = venue
        self._clock = clock
        digest = hashlib.sha256(f"{server}\n{app_key.reveal()}".encode()).hexdigest()
        self._owner = digest
        self._path = cache_dir / f"{digest[:24]}.json" if cache_dir is not None else None
        self._token: Token | None = None
        self._last_request = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TokenStore(cached={self._path is not None})"

    @property
    def path(self) -> Path | None:
        return self._path

    def current(self) -> Secret | None:
        """The token in hand if it is valid for at least ``RENEW_BEFORE`` more seconds (no
        await: the common case of every call), else None (then :meth:`get`)."""
        token = self._token
        if token is not None and token.usable(self._clock()):
            return token.value
        return None

    async def get(self, post: Post) -> Secret:
        """A token that is valid for at least ``RENEW_BEFORE`` more seconds."""
        now = self._clock()
        token = self._token
        if token is not None and token.usable(now):
            return token.value
        async with self._lock:
            now = self._clock()
            token = self._token or self._read()
            if token is None or not token.usable(now):
                token = await self._issue(post)
            self._token = token
            return token.value

    def discard(self, value: Secret) -> bool:
        """KIS refused ``value`` (expired or unknown): forget it and return True, so that
        the next :meth:`get` asks for another (waiting out KIS's minute if it must). A
        token this store was issued less than a minute ago is kept, and False returned:
        its refusal says the credentials are refused, and asking again would only wait."""
        token = self._token
        if token is not None and token.value == value and not token.cached \
                and self._clock() < token.issued_at + ISSUE_INTERVAL:
            return False
        if token is not None and token.value == value:
            self._token = None
            self._forget()
        return True

    async def _issue(self, post: Post) -> Token:
        wait = self._last_request + ISSUE_INTERVAL - self._clock()
        if wait > 0:
            log.info("waiting to request an access token: KIS issues one a minute",
                     extra={"venue": self._venue, "wait_s": round(wait, 3)})
            await asyncio.sleep(wait)
        self._last_request = self._clock()
        answer = await post("/oauth2/tokenP", {"grant_type": "client_credentials",
                                               "appkey": self._app_key.reveal(),
                                               "appsecret": self._app_secret.reveal()})
        value = answer.get("access_token")
        if not isinstance(value, str) or not value:
            raise error(Code.AUTHENTICATION_FAILED, f"{self._venue} issued no access token",
                        venue=self._venue)
        now = self._clock()
        token = Token(Secret(value), _expiry(answer, now), now)
        self._write(token)
        log.info("access token issued", extra={"venue": self._venue,
                                               "expires_in_s": round(token.expires_at - now)})
        return token

    # the cache file ----------------------------------------------------------------------
    def _read(self) -> Token | None:
        if self._path is None:
            return None
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            if data.get("owner") != self._owner:
                return None
            token = Token(Secret(str(data["token"])), float(data["expires_at"]),
                          float(data["issued_at"]), cached=True)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self._last_request = max(self._last_request, token.issued_at)
        return token

    def _write(self, token: Token) -> None:
        if self._path is None:
            return
        try:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self._path.parent, 0o700)
            temporary = self._path.with_suffix(".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"owner": self._owner, "token": token.value.reveal(),
                           "expires_at": token.expires_at, "issued_at": token.issued_at},
                          handle)
            os.replace(temporary, self._path)
        except OSError as exc:
            log.warning("could not cache the access token; the next process asks again",
                        extra={"venue": self._venue, "error": type(exc).__name__})

    def _forget(self) -> None:
        if self._path is not None:
            with contextlib.suppress(OSError):
                self._path.unlink()
