"""KIS's REST API over httpx: the headers every call carries, tokens, answers and pages.

Every call carries ``authorization: Bearer <token>``, ``appkey``, ``appsecret``, ``tr_id``,
``custtype: P`` and ``tr_cont`` (empty, or ``N`` for the next page), as KIS's own samples
send them. POST bodies are JSON with upper-case keys and string values; GET parameters are
upper-case query keys. A success is HTTP 200 with ``rt_cd`` ``"0"``; anything else is mapped
by :mod:`.errors`. An answer saying the token expired (or is unknown) was refused by the
gateway before it reached the trading system: the token is renewed and the call sent once
more.

Inquiries page with the response header ``tr_cont`` (``F``/``M``: more, ``D``/``E``: the
last page) and the body's ``ctx_area_fk100`` / ``ctx_area_nk100``, sent back upper-case with
``tr_cont: N``.

Transaction ids (tr_id) are written once, in their live form: on paper the leading ``T``
(or ``J``/``C``) becomes ``V``, as KIS's samples do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from venuekit.errors import Code, VenueKitError, error
from venuekit.secrets import Secret
from venuekit.venue import another_request

from . import errors
from .auth import TokenStore
from .config import KisSettings

__all__ = ["Answer", "KisRest", "tr"]

log = logging.getLogger("venuekit_kis.rest")

MAX_PAGES = 200
"""Pages one inquiry may read (15 rows a page on paper): beyond, KIS is looping."""


def tr(live_id: str, live: bool) -> str:
    """The transaction id for the account's mode: paper ids start with ``V``."""
    if live or live_id[0] not in "TJC":
        return live_id
    return "V" + live_id[1:]


@dataclass(frozen=True, slots=True)
class Answer:
    body: Mapping[str, Any]
    more: bool
    """The response header ``tr_cont`` says another page follows."""


class KisRest:
    """The REST half of the KIS venue: one httpx client, the token, the answers."""

    def __init__(self, settings: KisSettings, *, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self.settings = settings
        self.venue = settings.venue
        self._client = httpx.AsyncClient(base_url=settings.endpoints.rest,
                                         timeout=settings.timeout, transport=transport)
        self._account = {"CANO": settings.account, "ACNT_PRDT_CD": settings.product}
        self.tokens = TokenStore(settings.app_key, settings.app_secret,
                                 settings.endpoints.rest, venue=settings.venue,
                                 cache_dir=settings.token_cache)

    def __repr__(self) -> str:
        return f"KisRest({self.settings!r})"

    async def close(self) -> None:
        await self._client.aclose()

    def account_fields(self) -> Mapping[str, str]:
        """``CANO`` and ``ACNT_PRDT_CD``, as every trading call sends them."""
        return self._account

    # auth --------------------------------------------------------------------------------
    async def oauth(self, path: str, body: Mapping[str, str]) -> Mapping[str, Any]:
        """POST to an ``/oauth2`` path (no token); returns the JSON answer."""
        operation = path.rsplit("/", 1)[-1]
        try:
            reply = await self._client.post(path, content=json.dumps(body),
                                            headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            raise errors.from_transport(exc, operation, self.venue) from None
        answer = _json(reply)
        if reply.status_code != 200 or answer is None:
            raise errors.from_answer(reply.status_code, answer, operation, self.venue)
        return answer

    async def approval_key(self) -> Secret:
        """A websocket approval key (asked for on every connection)."""
        answer = await self.oauth("/oauth2/Approval", {
            "grant_type": "client_credentials", "appkey": self.settings.app_key.reveal(),
            "secretkey": self.settings.app_secret.reveal()})
        key = answer.get("approval_key")
        if not isinstance(key, str) or not key:
            raise error(Code.AUTHENTICATION_FAILED, f"{self.venue} gave no websocket approval "
                        "key", venue=self.venue)
        return Secret(key)

    # calls -------------------------------------------------------------------------------
    async def get(self, path: str, tr_id: str, params: Mapping[str, str], *,
                  operation: str, next_page: bool = False) -> Answer:
        return await self._call("GET", path, tr_id, operation, params=params,
                                next_page=next_page)

    async def post(self, path: str, tr_id: str, body: Mapping[str, str], *,
                   operation: str) -> Answer:
        return await self._call("POST", path, tr_id, operation, body=body)

    async def pages(self, path: str, tr_id: str, params: Mapping[str, str], *,
                    operation: str) -> AsyncIterator[Answer]:
        """Each page of an inquiry (each one request; the ones after the first wait for
        the rate limiter, see :func:`venuekit.venue.another_request`)."""
        query = dict(params)
        query.setdefault("CTX_AREA_FK100", "")
        query.setdefault("CTX_AREA_NK100", "")
        next_page = False
        for _ in range(MAX_PAGES):
            if next_page:
                await another_request(operation)
            answer = await self.get(path, tr_id, query, operation=operation, next_page=next_page)
            yield answer
            if not answer.more:
                return
            query["CTX_AREA_FK100"] = str(answer.body.get("ctx_area_fk100", ""))
            query["CTX_AREA_NK100"] = str(answer.body.get("ctx_area_nk100", ""))
            next_page = True
        raise error(Code.VENUE_ERROR, f"{operation}: {self.venue} kept answering more pages "
                    f"after {MAX_PAGES}", venue=self.venue)

    @staticmethod
    def rows(answer: Answer, key: str = "output1") -> list[Mapping[str, Any]]:
        """The rows of one page (an absent list is empty)."""
        listed = answer.body.get(key) or []
        if not isinstance(listed, list):
            raise error(Code.VENUE_ERROR, f"KIS answered {key} that is not a list",
                        venue="kis")
        return [row for row in listed if isinstance(row, Mapping)]

    async def _call(self, method: str, path: str, tr_id: str, operation: str, *,
                    params: Mapping[str, str] | None = None,
                    body: Mapping[str, str] | None = None, next_page: bool = False) -> Answer:
        for attempt in (1, 2):
            token = self.tokens.current() or await self.tokens.get(self.oauth)
            # One dict per call, not the client's default headers: httpx merges those
            # anew on every request.
            headers = {"content-type": "application/json; charset=utf-8",
                       "authorization": f"Bearer {token.reveal()}",
                       "appkey": self.settings.app_key.reveal(),
                       "appsecret": self.settings.app_secret.reveal(),
                       "tr_id": tr_id, "custtype": "P", "tr_cont": "N" if next_page else ""}
            try:
                reply = await self._client.request(
                    method, path, params=params, headers=headers,
                    content=json.dumps(body) if body is not None else None)
            except httpx.HTTPError as exc:
                raise errors.from_transport(exc, operation, self.venue) from None
            answer = _json(reply)
            if reply.status_code == 200 and answer is not None and answer.get("rt_cd") == "0":
                # Only inquiries page (a GET); an order's answer has no next page.
                more = method == "GET" and \
                    reply.headers.get("tr_cont", "").strip().upper() in ("F", "M")
                return Answer(answer, more)
            mapped = errors.from_answer(reply.status_code, answer, operation, self.venue)
            if attempt == 1 and _token_refused(mapped) and self.tokens.discard(token):
                # The gateway refused the token, not the request: renew it, send once more.
                log.info("access token refused; renewing it",
                         extra={"venue": self.venue, "operation": operation,
                                "code": mapped.details.get("kis_code")})
                continue
            raise mapped
        raise AssertionError("unreachable")


def _token_refused(exc: VenueKitError) -> bool:
    return exc.details.get("kis_code") in (errors.EXPIRED_TOKEN, errors.INVALID_TOKEN)


def _json(reply: httpx.Response) -> Mapping[str, Any] | None:
    try:
        value = reply.json()
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None
