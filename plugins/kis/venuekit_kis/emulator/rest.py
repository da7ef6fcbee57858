"""The REST API: every path KIS serves here, with its tr_ids, and the pipeline each request
passes.

In order, for each request:

1. a path the emulator does not serve answers 404 ``{"rt_cd": "1", "msg_cd": "EGW00404",
   ...}`` at once (the emulator's choice);
2. ``/oauth2/*`` (``tokenP``, ``Approval``, ``revokeP``) are answered by :mod:`.auth`: neither
   rate limited nor faulted;
3. for every ``/uapi`` path: the ``appkey`` and ``appsecret`` headers (``EGW00103`` /
   ``EGW00105``), the ``authorization: Bearer`` token (``EGW00121`` unknown or revoked,
   ``EGW00123`` expired; ``/uapi/hashkey`` needs no token), the rate limit (``EGW00201``,
   :mod:`.ratelimit`), and the ``tr_id`` header: the paper tr_ids of the path, both
   generations where KIS has two; the real server's ``T…`` tr_id answers ``EGW00205``
   "모의투자 TR 이 아닙니다.", any other ``EGW00205`` too (the emulator's choice). All of
   them are HTTP 500 with ``{"rt_cd": "1", "msg_cd", "msg1"}``;
4. the handler, which acts through the mock venue's pipeline (latency, injected faults)
   and its engine; a refusal is HTTP 200 with ``rt_cd`` ``"1"``.

Every answer of an inquiry carries the lower-case header ``tr_cont`` (``M`` more pages,
``D`` the last), errors included. ``custtype`` and ``tr_cont`` request headers are optional.

Injected faults act at the wire: ``drop_response`` closes the connection without an answer
after the venue acted (the order exists); ``timeout`` holds the request for ``stall``
seconds, then closes it without an answer (the venue did not act); ``server_error``
answers HTTP 500 ``EGW00500`` (the emulator's choice of code), before or after the venue
acted as the fault plan says; ``rate_limit`` answers HTTP 500 ``EGW00201`` without acting;
an injected authentication failure answers ``EGW00121``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from venuekit.errors import Code, VenueKitError
from venuekit_mock.sim import Fault

from . import errors
from .daily_orders import DailyOrders
from .extras import OverseasStubs
from .holdings import Holdings
from .jsonio import dumps
from .messages import Answer, KisRequest
from .orders import OrderDesk
from .quotations import Quotations
from .state import EmulatorState

__all__ = ["Endpoint", "RestApi", "json_response"]

log = logging.getLogger("venuekit_kis.emulator.rest")

Handler = Callable[[KisRequest], Awaitable[Answer]]
CONTENT_TYPE = "application/json"
_DOMESTIC = "/uapi/domestic-stock/v1"
_OVERSEAS = "/uapi/overseas-stock/v1"
_PAPER_PREFIX = "V"
_REAL_PREFIXES = ("T", "J", "C")


def json_response(body: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type=CONTENT_TYPE,
                        charset="utf-8", headers=headers)


@dataclass(frozen=True)
class Endpoint:
    """One ``/uapi`` path: its handler, the tr_ids it takes (none: no tr_id is read),
    whether it needs a token, and whether it is an inquiry (``tr_cont`` on every answer)."""

    handler: Handler
    tr_ids: frozenset[str]
    token: bool = True
    inquiry: bool = False

    def check_tr_id(self, tr_id: str) -> None:
        if not self.tr_ids or tr_id in self.tr_ids:
            return
        if tr_id[:1] in _REAL_PREFIXES and _PAPER_PREFIX + tr_id[1:] in self.tr_ids:
            raise errors.gateway(errors.REAL_TR_ON_PAPER)
        raise errors.gateway(errors.UNKNOWN_TR)


def _ids(*names: str) -> frozenset[str]:
    return frozenset(names)


class RestApi:
    """Serves the REST endpoints of one emulator (see the module documentation)."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.desk = desk = OrderDesk(state)
        daily = DailyOrders(state, desk)
        holdings = Holdings(state, desk)
        quotes = Quotations(state)
        overseas = OverseasStubs(desk)
        trading, quotations = f"{_DOMESTIC}/trading", f"{_DOMESTIC}/quotations"
        overseas_trading = f"{_OVERSEAS}/trading"
        self.endpoints: dict[tuple[str, str], Endpoint] = {
            ("POST", f"{trading}/order-cash"): Endpoint(
                desk.order_cash, _ids("VTTC0012U", "VTTC0802U", "VTTC0011U", "VTTC0801U")),
            ("POST", f"{trading}/order-rvsecncl"): Endpoint(
                desk.amend, _ids("VTTC0013U", "VTTC0803U")),
            ("GET", f"{trading}/inquire-daily-ccld"): Endpoint(
                daily.inquire, _ids("VTTC0081R", "VTTC8001R"), inquiry=True),
            ("GET", f"{trading}/inquire-balance"): Endpoint(
                holdings.balance, _ids("VTTC8434R"), inquiry=True),
            ("GET", f"{trading}/inquire-psbl-order"): Endpoint(
                holdings.buying_power, _ids("VTTC8908R"), inquiry=True),
            ("GET", f"{quotations}/inquire-price"): Endpoint(
                quotes.price, _ids("FHKST01010100"), inquiry=True),
            ("GET", f"{quotations}/inquire-asking-price-exp-ccn"): Endpoint(
                quotes.asking_price, _ids("FHKST01010200"), inquiry=True),
            ("GET", f"{overseas_trading}/inquire-present-balance"): Endpoint(
                overseas.present_balance, _ids("VTRP6504R"), inquiry=True),
            ("GET", f"{overseas_trading}/inquire-balance"): Endpoint(
                overseas.balance, _ids("VTTS3012R"), inquiry=True),
            ("GET", f"{overseas_trading}/inquire-ccnl"): Endpoint(
                overseas.executions, _ids("VTTS3035R"), inquiry=True),
            ("GET", f"{overseas_trading}/inquire-nccs"): Endpoint(
                overseas.executions, _ids("VTTS3018R"), inquiry=True),
            ("POST", "/uapi/hashkey"): Endpoint(self.hashkey, frozenset(), token=False),
        }
        self.oauth: dict[str, Callable[[dict[str, Any]], web.Response]] = {
            "/oauth2/tokenP": self.token, "/oauth2/Approval": self.approval,
            "/oauth2/revokeP": self.revoke,
        }

    # /oauth2 -------------------------------------------------------------------------
    def token(self, body: dict[str, Any]) -> web.Response:
        tokens = self.state.tokens
        if body.get("grant_type") != "client_credentials":
            raise errors.oauth(errors.GRANT_TYPE_INVALID)
        tokens.check_app(body.get("appkey"), body.get("appsecret"), oauth=True)
        issued, expires_in, expiry = tokens.issue(self.state.now())
        return json_response({"access_token": issued.value,
                              "access_token_token_expired": expiry,
                              "token_type": "Bearer", "expires_in": expires_in})

    def approval(self, body: dict[str, Any]) -> web.Response:
        if body.get("grant_type") != "client_credentials":
            raise errors.oauth(errors.GRANT_TYPE_INVALID)
        self.state.tokens.check_app(body.get("appkey"), body.get("secretkey"), oauth=True)
        return json_response({"approval_key": self.state.tokens.approval_key()})

    def revoke(self, body: dict[str, Any]) -> web.Response:
        tokens = self.state.tokens
        tokens.check_app(body.get("appkey"), body.get("appsecret"), oauth=True)
        if not tokens.revoke(body.get("token")):
            raise errors.oauth(errors.TOKEN_INVALID)
        # The answer's shape is the emulator's choice.
        return json_response({"code": 200, "message": "접근토큰 폐기에 성공하였습니다."})

    async def hashkey(self, request: KisRequest) -> Answer:
        """``{"HASH": sha256 hex of the body, "BODY": the body}``."""
        return Answer({"BODY": dict(request.params),
                       "HASH": hashlib.sha256(request.raw.encode()).hexdigest()})

    # the pipeline --------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        oauth = self.oauth.get(request.path) if request.method == "POST" else None
        if oauth is not None:
            try:
                text = await request.text()
                try:
                    body = self._object(text)
                except errors.KisError:
                    body = {}  # then refused for its missing grant_type or key
                return oauth(body)
            except errors.KisError as exc:
                return self._error(exc, {})
        endpoint = self.endpoints.get((request.method, request.path))
        if endpoint is None:
            code, text = errors.NOT_SERVED
            return json_response({"rt_cd": "1", "msg_cd": code,
                                  "msg1": f"{text} ({request.method} {request.path})"}, 404)
        extra = {"tr_cont": "D"} if endpoint.inquiry else {}
        try:
            kis_request = await self._admit(request, endpoint)
        except errors.KisError as exc:
            return self._error(exc, extra)
        faults_before = len(self.state.sim.ledger.faults)
        try:
            answer = await endpoint.handler(kis_request)
        except errors.KisError as exc:
            return self._error(exc, extra)
        except VenueKitError as exc:
            if exc.code is Code.TIMEOUT:
                return await self._no_answer(request, faults_before)
            return self._error(self._wire_error(exc), extra)
        return json_response(answer.body, 200, {**extra, **answer.headers})

    async def _admit(self, request: web.Request, endpoint: Endpoint) -> KisRequest:
        """Headers, token, rate limit and tr_id; then the parameters."""
        state = self.state
        headers = request.headers
        app_key = headers.get("appkey")
        state.tokens.check_app(app_key, headers.get("appsecret"), oauth=False)
        if endpoint.token:
            state.tokens.check_bearer(headers.get("authorization"))
        if not state.limiter.admit(str(app_key)):
            raise errors.gateway(errors.RATE_LIMITED)
        tr_id = headers.get("tr_id", "").strip()
        endpoint.check_tr_id(tr_id)
        if request.method == "GET":
            return KisRequest(request.method, request.path, tr_id, dict(request.query))
        text = await request.text()
        return KisRequest(request.method, request.path, tr_id, self._object(text), text)

    @staticmethod
    def _object(text: str) -> dict[str, Any]:
        try:
            body = json.loads(text) if text.strip() else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise errors.refusal(errors.REQUEST, "the body must be a JSON object")
        return body

    def _error(self, exc: errors.KisError, extra: dict[str, str]) -> web.Response:
        self.state.codes[exc.code] += 1
        return json_response(exc.body, exc.status, extra)

    def _wire_error(self, exc: VenueKitError) -> errors.KisError:
        """The answer to a wire fault the venue raised."""
        if exc.code is Code.RATE_LIMITED:
            self.state.limiter.refused += 1
            return errors.gateway(errors.RATE_LIMITED)
        if exc.code is Code.AUTHENTICATION_FAILED:
            return errors.gateway(errors.TOKEN_INVALID)
        if exc.code is not Code.VENUE_ERROR:
            log.warning("unexpected venue error", extra={"code": exc.code.name})
        return errors.gateway(errors.SERVER_ERROR)

    async def _no_answer(self, request: web.Request, faults_before: int) -> web.Response:
        """A request an injected fault swallowed: the connection closes without an answer,
        at once for a dropped response, after ``stall`` seconds for a timeout."""
        state = self.state
        struck = {f.kind for f in state.sim.ledger.faults[faults_before:]}
        if Fault.DROP_RESPONSE.value not in struck:
            stopping = state.stopping
            with contextlib.suppress(TimeoutError):
                if stopping is not None:
                    await asyncio.wait_for(stopping.wait(), state.stall)
                else:
                    await asyncio.sleep(state.stall)
        log.info("request left without an answer", extra={
            "path": request.path, "faults": sorted(struck)})
        state.unanswered += 1
        transport = request.transport
        if transport is not None:
            transport.close()
        return web.Response(status=504)
