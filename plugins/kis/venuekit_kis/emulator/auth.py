"""The app's credentials, access tokens and websocket approval keys.

* :class:`Credentials`: the app key (36 characters), app secret (180 characters), account
  (``CANO-ACNT_PRDT_CD``, ``50000000-01`` by default) and HTS id the emulator accepts. Its
  repr shows none of the secrets.
* :class:`TokenDesk` issues and checks access tokens as KIS does:

  - ``POST /oauth2/tokenP`` with the right key and secret gives a token valid for
    ``token_lifetime`` seconds (``expires_in``; 86,400 by default). Asked again after
    ``token_interval`` seconds (60 by default) and within 6 hours of issuance (and of its
    expiry), it gives the same token again; later, a new one.
  - Asked again within ``token_interval`` of the last token answer: 403 ``EGW00133``. The
    interval counts from the last answer that gave a token, new or the same (the emulator's
    choice: KIS says "1분당 1회" without naming the moment it counts from).
  - A REST call with an expired token answers ``EGW00123``; with a token the emulator never
    issued, or one revoked (``POST /oauth2/revokeP``), ``EGW00121``.
  - ``expire_tokens()`` expires every token now and forgets the issuance interval (time
    has passed, as far as the client can tell), so a client's re-issue can be tested.

* Approval keys (``POST /oauth2/Approval``): a new uuid-like key on every call; any key
  issued opens a websocket subscription.

Times run on the monotonic clock (the printed expiry on the wall clock, in KST).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import errors
from .kst import stamp

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_APP_KEY", "DEFAULT_APP_SECRET", "DEFAULT_HTS_ID",
           "Credentials", "IssuedToken", "TokenDesk"]

DEFAULT_APP_KEY = "PSvenuekitKisEmulatorAppKey000000001"
DEFAULT_APP_SECRET = ("venuekitKisEmulatorAppSecret" * 7)[:176] + "0001"
DEFAULT_ACCOUNT = "50000000-01"
DEFAULT_HTS_ID = "venuekit"
REUSE_WINDOW = 6 * 3600.0
"""Seconds after issuance during which tokenP answers with the same token."""

_JWT_HEADER = base64.urlsafe_b64encode(b'{"typ":"JWT","alg":"HS256"}').rstrip(b"=").decode()


@dataclass(frozen=True)
class Credentials:
    """What the emulator accepts from a client (secrets hidden from the repr)."""

    app_key: str = field(default=DEFAULT_APP_KEY, repr=False)
    app_secret: str = field(default=DEFAULT_APP_SECRET, repr=False)
    account: str = DEFAULT_ACCOUNT
    hts_id: str = DEFAULT_HTS_ID

    def __post_init__(self) -> None:
        if not self.app_key or not self.app_secret:
            raise ValueError("app_key and app_secret must not be empty")
        cano, dash, product = self.account.partition("-")
        if not (dash and len(cano) == 8 and cano.isdigit() and len(product) == 2
                and product.isdigit()):
            raise ValueError(f"account must be 8 digits, a dash and 2 digits "
                             f"(e.g. {DEFAULT_ACCOUNT}), got {self.account!r}")
        if not self.hts_id or "^" in self.hts_id or "|" in self.hts_id:
            raise ValueError("hts_id must be non-empty and free of '^' and '|'")

    @property
    def cano(self) -> str:
        return self.account[:8]

    @property
    def product_code(self) -> str:
        return self.account[9:]

    @property
    def account_number(self) -> str:
        """CANO and ACNT_PRDT_CD together, ten digits (the notices' ``ACNT_NO``)."""
        return self.cano + self.product_code


@dataclass
class IssuedToken:
    value: str = field(repr=False)
    issued_at: float
    expires_at: float
    expired: bool = False
    revoked: bool = False


class TokenDesk:
    """Access tokens and approval keys (see the module documentation)."""

    def __init__(self, credentials: Credentials, *, token_interval: float = 60.0,
                 token_lifetime: float = 86_400.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if token_interval < 0 or token_lifetime <= 0:
            raise ValueError("token_interval must be >= 0 and token_lifetime > 0")
        self.credentials = credentials
        self.token_interval = token_interval
        self.token_lifetime = token_lifetime
        self._clock = clock
        self._tokens: dict[str, IssuedToken] = {}
        self._current: IssuedToken | None = None
        self._last_answer: float | None = None
        self._approval_keys: set[str] = set()
        self.tokens_issued = 0
        self.approval_keys_issued = 0
        self.refused_too_soon = 0

    # credentials ---------------------------------------------------------------------
    def check_app(self, app_key: object, app_secret: object, *, oauth: bool) -> None:
        """Refuse a wrong app key or secret (403 on ``/oauth2``, a gateway error elsewhere)."""
        make = errors.oauth if oauth else errors.gateway
        if app_key != self.credentials.app_key:
            raise make(errors.APP_KEY_INVALID)
        if app_secret != self.credentials.app_secret:
            raise make(errors.APP_SECRET_INVALID)

    # tokens --------------------------------------------------------------------------
    def issue(self, now_wall: datetime) -> tuple[IssuedToken, int, str]:
        """Answer ``tokenP``: ``(token, expires_in, access_token_token_expired)``."""
        now = self._clock()
        if self._last_answer is not None and now - self._last_answer < self.token_interval:
            self.refused_too_soon += 1
            raise errors.oauth(errors.TOKEN_TOO_SOON)
        current = self._current
        reuse = min(REUSE_WINDOW, self.token_lifetime)
        if current is None or current.expired or current.revoked \
                or now - current.issued_at >= reuse or now >= current.expires_at:
            current = self._current = self._new_token(now)
        self._last_answer = now
        remaining = current.expires_at - now
        expiry = stamp(now_wall + timedelta(seconds=remaining))
        return current, max(0, round(remaining)), expiry

    def _new_token(self, now: float) -> IssuedToken:
        payload = {"sub": "token", "aud": secrets.token_hex(16), "prdt_cd": "",
                   "iss": "venuekit", "jti": str(uuid.uuid4())}
        body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
        signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        token = IssuedToken(f"{_JWT_HEADER}.{body}.{signature}", now,
                            now + self.token_lifetime)
        self._tokens[token.value] = token
        self.tokens_issued += 1
        return token

    def check_bearer(self, authorization: str | None) -> None:
        """Check a REST call's ``authorization`` header (``Bearer <token>``)."""
        scheme, _, value = (authorization or "").strip().partition(" ")
        token = self._tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or token.revoked:
            raise errors.gateway(errors.TOKEN_INVALID)
        if token.expired or self._clock() >= token.expires_at:
            token.expired = True
            raise errors.gateway(errors.TOKEN_EXPIRED)

    def revoke(self, value: object) -> bool:
        token = self._tokens.get(value) if isinstance(value, str) else None
        if token is None:
            return False
        token.revoked = True
        return True

    def expire_all(self) -> None:
        """Expire every token and forget the issuance interval."""
        for token in self._tokens.values():
            token.expired = True
        self._last_answer = None

    # approval keys -------------------------------------------------------------------
    def approval_key(self) -> str:
        key = str(uuid.uuid4())
        self._approval_keys.add(key)
        self.approval_keys_issued += 1
        return key

    def knows_approval_key(self, key: object) -> bool:
        return isinstance(key, str) and key in self._approval_keys
