"""The REST API: every endpoint with its weight, and the pipeline each request passes.

In order, for each request:

1. a path the emulator does not serve answers 404 ``{"code": -1, "msg": ...}`` at once
   (naming the ccxt options that keep a client on the spot API);
2. the rate limiter (:mod:`.ratelimit`): a ban answers 418, too much weight or too many new
   orders 429; the weight headers go on every answer;
3. for a signed endpoint: the ``X-MBX-APIKEY`` header (``-2014``/``-2015``, 401; an
   injected authentication failure answers ``-2015`` too), the HMAC signature (``-1022``)
   and timing security (``-1021``), see :mod:`.signing`;
4. the handler, which acts through the mock venue's pipeline (latency, eventual
   consistency, injected faults) and its engine.

Injected faults act at the wire: ``drop_response`` closes the connection without an
answer after the venue acted (the order exists); ``timeout`` holds the request for
``stall`` seconds, then closes it without an answer (the venue did not act);
``server_error`` answers 503 ``-1001`` (before or after acting, as the fault plan says);
``rate_limit`` answers 429 ``-1003`` with a ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from venuekit.errors import Code, VenueKitError
from venuekit_mock.sim import Fault

from . import errors, signing
from .jsonio import dumps
from .market import MarketData, depth_weight, ticker_weight
from .orders import OrderDesk
from .params import Params
from .queries import AccountReads
from .state import EmulatorState
from .views import BinanceView

__all__ = ["Endpoint", "RestApi", "json_response"]

log = logging.getLogger("venuekit_ccxt.emulator.rest")

Handler = Callable[[Params], Awaitable[Any]]
_NOT_SERVED = ("{method} {path} is not served by the venuekit Binance emulator; set options "
               "fetchMarkets.types=['spot'], fetchCurrencies=False, fetchMargins=False")


def json_response(body: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type="application/json",
                        headers=headers)


def error_response(exc: errors.BinanceError, headers: dict[str, str] | None = None
                   ) -> web.Response:
    return json_response(exc.body, exc.status, (headers or {}) | exc.headers)


@dataclass(frozen=True)
class Endpoint:
    """One REST endpoint: its handler, its request weight, whether it is signed, and
    whether it places an order (counted in the ORDERS limits)."""

    handler: Handler
    weight: int | Callable[[Params], int]
    signed: bool = False
    order: bool = False

    def weight_of(self, params: Params) -> int:
        return self.weight(params) if callable(self.weight) else self.weight


class RestApi:
    """Serves the REST endpoints of one emulator (see the module documentation)."""

    def __init__(self, state: EmulatorState, view: BinanceView) -> None:
        self.state = state
        self.market = market = MarketData(state, view)
        self.desk = desk = OrderDesk(state, view)
        self.reads = reads = AccountReads(state, view, desk)
        signed = {"signed": True}
        self.endpoints: dict[tuple[str, str], Endpoint] = {
            ("GET", "/api/v3/ping"): Endpoint(market.ping, 1),
            ("GET", "/api/v3/time"): Endpoint(market.time, 1),
            ("GET", "/api/v3/exchangeInfo"): Endpoint(market.exchange_info, 20),
            ("GET", "/api/v3/depth"): Endpoint(market.depth, depth_weight),
            ("GET", "/api/v3/ticker/24hr"): Endpoint(market.ticker_24hr, lambda p: (
                ticker_weight(p, one=2, many=2, all_=80))),
            ("GET", "/api/v3/ticker/bookTicker"): Endpoint(market.book_ticker, lambda p: (
                ticker_weight(p, one=2, many=4, all_=4))),
            ("GET", "/api/v3/ticker/price"): Endpoint(market.price, lambda p: (
                ticker_weight(p, one=2, many=4, all_=4))),
            ("GET", "/api/v3/avgPrice"): Endpoint(market.average_price, 2),
            ("POST", "/api/v3/order"): Endpoint(self.new_order, 1, order=True, **signed),
            ("POST", "/api/v3/order/test"): Endpoint(self.test_order, 1, **signed),
            ("DELETE", "/api/v3/order"): Endpoint(desk.cancel, 1, **signed),
            ("DELETE", "/api/v3/openOrders"): Endpoint(desk.cancel_all, 1, **signed),
            ("POST", "/api/v3/order/cancelReplace"): Endpoint(desk.cancel_replace, 1,
                                                              order=True, **signed),
            ("GET", "/api/v3/order"): Endpoint(reads.order, 4, **signed),
            ("GET", "/api/v3/openOrders"): Endpoint(reads.open_orders, lambda p: (
                6 if "symbol" in p else 80), **signed),
            ("GET", "/api/v3/allOrders"): Endpoint(reads.all_orders, 20, **signed),
            ("GET", "/api/v3/myTrades"): Endpoint(reads.my_trades, lambda p: (
                5 if "orderId" in p else 20), **signed),
            ("GET", "/api/v3/account"): Endpoint(reads.account, 20, **signed),
            ("GET", "/api/v3/rateLimit/order"): Endpoint(reads.unfilled_order_count, 40,
                                                         **signed),
            # what a ccxt client with its default options asks for while loading markets
            ("GET", "/sapi/v1/capital/config/getall"): Endpoint(market.empty_list, 10),
            ("GET", "/sapi/v1/margin/allPairs"): Endpoint(market.empty_list, 1),
            ("GET", "/sapi/v1/margin/isolated/allPairs"): Endpoint(market.empty_list, 10),
            ("GET", "/sapi/v1/system/status"): Endpoint(market.system_status, 1),
            ("GET", "/fapi/v1/exchangeInfo"): Endpoint(market.empty_exchange_info, 1),
            ("GET", "/dapi/v1/exchangeInfo"): Endpoint(market.empty_exchange_info, 1),
        }

    async def new_order(self, params: Params) -> Any:
        return await self.desk.place(self.desk.read(params))

    async def test_order(self, params: Params) -> Any:
        order = self.desk.read(params)
        self.desk._engine_checks(order, self.state.venue.simulator.market.books[order.symbol])
        return {}

    # the pipeline --------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        endpoint = self.endpoints.get((request.method, request.path))
        if endpoint is None:
            return json_response({"code": -1, "msg": _NOT_SERVED.format(
                method=request.method, path=request.path)}, 404)
        query = request.raw_path.partition("?")[2]
        body = await request.text() if request.can_read_body else ""
        params = Params.parse(query, body)
        try:
            weight = endpoint.weight_of(params)
        except errors.BinanceError as exc:
            return error_response(exc)
        decision = self.state.limiter.admit(request.remote or "unknown", weight,
                                            order=endpoint.order)
        if decision.refusal is not None:
            return error_response(decision.refusal, decision.headers)
        ledger_faults = self.state.venue.simulator.ledger.faults
        faults_before = len(ledger_faults)
        response: web.StreamResponse
        try:
            if endpoint.signed:
                self._authenticate(request, params, query, body)
            response = json_response(await endpoint.handler(params))
        except errors.BinanceError as exc:
            response = error_response(exc)
        except VenueKitError as exc:
            if exc.code is Code.TIMEOUT:
                return await self._no_answer(request, faults_before)
            refusal = errors.for_error(exc)
            self.state.limiter.count(refusal.status)
            response = error_response(refusal)
        response.headers.update(decision.headers)
        return response

    def _authenticate(self, request: web.Request, params: Params, query: str,
                      body: str) -> None:
        state = self.state
        signing.check_key(request.headers.get("X-MBX-APIKEY"), state.api_key)
        if state.venue.faults.auth_failure:
            raise errors.key_rejected()
        payload, signature = signing.rest_payload(query, body)
        signing.verify(state.secret_key, payload, signature)
        signing.check_timestamp(params.values, state.server_ms())

    async def _no_answer(self, request: web.Request, faults_before: int) -> web.Response:
        """A request an injected fault swallowed: the connection closes without an answer,
        at once for a dropped response, after ``stall`` seconds for a timeout."""
        faults = self.state.venue.simulator.ledger.faults
        struck = {f.kind for f in faults[faults_before:]}
        if Fault.DROP_RESPONSE.value not in struck:
            stopping = self.state.stopping
            with contextlib.suppress(TimeoutError):
                if stopping is not None:
                    await asyncio.wait_for(stopping.wait(), self.state.stall)
                else:
                    await asyncio.sleep(self.state.stall)
        log.info("request left without an answer", extra={
            "path": request.path, "faults": sorted(struck)})
        transport = request.transport
        if transport is not None:
            transport.close()
        return web.Response(status=504)
