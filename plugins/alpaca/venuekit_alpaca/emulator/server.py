"""The emulator process: :class:`AlpacaEmulator` (an aiohttp server) and :func:`run_in_thread`.

One server answers the trading API, the market-data API, the ``/stream`` websocket and the
private control API, all on one loopback port. Each ``/v2`` request passes, in order:

1. authentication: ``APCA-API-KEY-ID`` and ``APCA-API-SECRET-KEY`` must match the
   emulator's keys, else 401 ``{"code": 40110000, "message": "request is not authorized"}``;
2. the request budget (``rate_limit`` per minute, 200 by default): the ``X-Ratelimit-*``
   headers on every answer, 429 beyond the budget;
3. the mock venue's pipeline (latency, eventual consistency, injected faults), then the
   simulator.

Injected faults act at the wire: ``drop_response`` closes the connection without an answer
after the venue acted (the order exists); ``timeout`` holds the request for ``stall``
seconds before acting on nothing and closing the connection; ``server_error`` answers 500
(before or after acting, as configured); ``rate_limit`` answers 429; authentication
failure answers 401; stream faults shape the ``/stream`` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Self

from aiohttp import web

from venuekit.emulator import is_loopback, stop_listening
from venuekit.emulator import run_in_thread as run_emulator_in_thread
from venuekit.errors import Code, VenueKitError, error
from venuekit_mock import MockVenue
from venuekit_mock.config import KEYS as MOCK_KEYS
from venuekit_mock.config import parse_config
from venuekit_mock.sim import (
    CommissionModel,
    Fault,
    FaultPlan,
    QuoteReplay,
    SlippageModel,
    SymbolSpec,
)

from . import errors
from .account import AccountApi
from .activities import ActivitiesApi
from .closing import PositionClosing
from .control import AlpacaControl, ControlApi, control_errors
from .ids import IdCodec
from .marketdata import MarketDataApi
from .prices import PriceHistory
from .ratelimit import RequestBudget
from .rest import RestApi, json_response
from .sessions import CalendarApi
from .state import EmulatorState
from .stream import TradeStream

__all__ = ["DEFAULT_API_KEY", "DEFAULT_SECRET_KEY", "AlpacaEmulator", "run_in_thread"]

log = logging.getLogger("venuekit_alpaca.emulator")

DEFAULT_API_KEY = "venuekit-emulator-key"
DEFAULT_SECRET_KEY = "venuekit-emulator-secret"
CLIENT_ORDER_ID_MAX_LENGTH = 128
_RECORD_INTERVAL = 1.0  # seconds between two recordings of the quotes into the history

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Emulator settings that are not the mock venue's, and mock settings the emulator fixes
# because Alpaca's behaviour does not vary there.
_OWN_KEYS = frozenset({"api_key", "secret_key", "rate_limit", "stall"})
_FIXED_KEYS = frozenset({"client_order_ids", "client_order_id_max_length", "order_stream",
                         "replace", "rate_limits", "weights", "currency"})


class AlpacaEmulator:
    """An Alpaca-compatible trading venue on loopback, backed by the mock venue.

    Use ``async with AlpacaEmulator(...) as emulator`` (or ``await start()`` and
    ``await stop()``); then point alpaca-py at ``base_url``, ``stream_url`` and
    ``data_url`` with ``api_key`` / ``secret_key``. ``port=0`` picks a free port.
    Market and account options are the mock venue's (``symbols``, ``cash``, ``seed``,
    ``latency``, ``faults``, ...; see ``docs/venues/mock.md``). ``host`` must be a loopback
    address unless ``allow_remote`` is set.
    """

    def __init__(self, *, symbols: Sequence[SymbolSpec | str] | None = None,
                 cash: Decimal | int | str = Decimal(100_000), seed: int = 0,
                 api_key: str = DEFAULT_API_KEY, secret_key: str = DEFAULT_SECRET_KEY,
                 host: str = "127.0.0.1", port: int = 0, allow_remote: bool = False,
                 latency: float = 0.0, rate_limit: int = 200, stall: float = 30.0,
                 faults: FaultPlan | None = None, slippage: SlippageModel | None = None,
                 commission: CommissionModel | None = None, short_selling: bool = False,
                 stream_delay: float = 0.0, visibility_delay: float = 0.0,
                 tick_interval: float | None = None,
                 clock: Literal["wall", "sim"] = "wall", start: datetime | None = None,
                 step: timedelta = timedelta(seconds=1),
                 steps_per_session: int | None = None,
                 replay: QuoteReplay | str | os.PathLike[str] | None = None,
                 market_reserve_bps: Decimal | int | str = Decimal(200),
                 state_path: str | os.PathLike[str] | None = None) -> None:
        if not is_loopback(host) and not allow_remote:
            raise error(Code.INVALID_CONFIG, f"alpaca emulator: host {host!r} is not a "
                        "loopback address; the emulator accepts orders from anyone who can "
                        "reach it, so listen elsewhere only on purpose (--allow-remote, or "
                        "allow_remote=True)", venue="alpaca")
        if not api_key or not secret_key:
            raise error(Code.INVALID_CONFIG, "alpaca emulator: api_key and secret_key must "
                        "not be empty", venue="alpaca")
        if stall < 0:
            raise error(Code.INVALID_CONFIG, "alpaca emulator: stall must be >= 0",
                        venue="alpaca")
        try:
            budget = RequestBudget(rate_limit)
        except ValueError as exc:
            raise error(Code.INVALID_CONFIG, f"alpaca emulator: rate_limit: {exc}",
                        venue="alpaca") from None
        venue = MockVenue(
            seed=seed, symbols=symbols, cash=cash, slippage=slippage, commission=commission,
            short_selling=short_selling, client_order_id_max_length=CLIENT_ORDER_ID_MAX_LENGTH,
            latency=latency, stream_delay=stream_delay, visibility_delay=visibility_delay,
            faults=faults, tick_interval=tick_interval, clock=clock, start=start, step=step,
            steps_per_session=steps_per_session, replay=replay,
            market_reserve_bps=market_reserve_bps, state_path=state_path)
        sim = venue.simulator
        self.state = EmulatorState(
            venue=venue, budget=budget, seed=seed, api_key=api_key, secret_key=secret_key,
            ids=IdCodec(seed, sim.config.order_id_prefix, sim.config.trade_id_prefix),
            history=PriceHistory.of_market(seed, sim.market.books, sim.now()))
        self.venue = venue
        self.budget = budget
        self.ids = self.state.ids
        self.seed = seed
        self.host = host
        self.port = port
        self.stall = stall
        self._moves_on_its_own = tick_interval is not None
        self.control = AlpacaControl(self.state)
        self.rest = RestApi(self.state)
        self.stream = TradeStream(self.state)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._recorder: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def __repr__(self) -> str:
        where = self.base_url if self._runner is not None else "not started"
        return f"AlpacaEmulator({where}, seed={self.seed})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, host: str = "127.0.0.1",
                    port: int = 0, allow_remote: bool = False) -> Self:
        """Build from ``-o key=value`` options or a config table of plain values.

        Keys: ``api_key``, ``secret_key``, ``rate_limit`` (requests per minute), ``stall``
        (seconds a timed-out request is held), and the mock venue's market, account, latency
        and fault settings (``symbols``, ``cash``, ``seed``, ``latency``, ``faults.*``,
        ``tick_interval``, ...; see ``docs/venues/mock.md``). The market moves on its own
        (``tick_interval`` 0.05 s) unless told otherwise. Problems raise
        ``ConfigurationError`` naming the key.
        """
        own: dict[str, Any] = {}
        rest: dict[str, Any] = {}
        known = (MOCK_KEYS - _FIXED_KEYS) | _OWN_KEYS
        for key, value in config.items():
            top = str(key).split(".")[0]
            if top in _FIXED_KEYS:
                raise error(Code.INVALID_CONFIG, f"alpaca emulator: {top!r} is fixed by "
                            "Alpaca's behaviour and cannot be set", venue="alpaca")
            if top not in known:
                raise error(Code.INVALID_CONFIG, f"alpaca emulator: unknown setting {top!r} "
                            f"(known: {', '.join(sorted(known))})", venue="alpaca")
            (own if top in _OWN_KEYS else rest)[str(key)] = value
        try:
            options = parse_config(rest)
        except VenueKitError as exc:
            raise error(Code.INVALID_CONFIG, "alpaca emulator: " + exc.message.removeprefix(
                "mock: "), venue="alpaca") from None
        if "state_path" not in rest:
            options.pop("state_path", None)
        try:
            if "rate_limit" in own:
                options["rate_limit"] = int(own["rate_limit"])
            if "stall" in own:
                options["stall"] = float(own["stall"])
        except ValueError as exc:
            raise error(Code.INVALID_CONFIG, f"alpaca emulator: {exc}",
                        venue="alpaca") from None
        for key in ("api_key", "secret_key"):
            if key in own:
                options[key] = str(own[key])
        return cls(host=host, port=port, allow_remote=allow_remote, **options)

    # addresses -----------------------------------------------------------------------
    @property
    def _authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The trading API root (alpaca-py's ``url_override`` for TradingClient)."""
        return f"http://{self._authority}"

    @property
    def data_url(self) -> str:
        """The market-data API root (``url_override`` for StockHistoricalDataClient)."""
        return f"http://{self._authority}"

    @property
    def stream_url(self) -> str:
        """The trade_updates websocket (``url_override`` for TradingStream, used verbatim)."""
        return f"ws://{self._authority}/stream"

    @property
    def control_url(self) -> str:
        return f"http://{self._authority}{ControlApi.PREFIX}"

    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def secret_key(self) -> str:
        return self.state.secret_key

    def client_settings(self) -> dict[str, str]:
        """What a client needs, as Alpaca's environment variables (the venuekit Alpaca
        venue reads them too). A secret key the caller chose is not repeated back."""
        secret = self.secret_key if self.secret_key == DEFAULT_SECRET_KEY \
            else "<the secret_key you configured>"
        return {"APCA_API_KEY_ID": self.api_key, "APCA_API_SECRET_KEY": secret,
                "APCA_API_BASE_URL": self.base_url, "APCA_API_DATA_URL": self.data_url,
                "APCA_API_STREAM_URL": self.stream_url}

    def endpoints(self) -> dict[str, str]:
        return {"trading": self.base_url, "data": self.data_url, "stream": self.stream_url,
                "control": self.control_url}

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the emulator serves on, once started."""
        return self.state.loop

    def credentials_match(self, key: object, secret: object) -> bool:
        return self.state.credentials_match(key, secret)

    # lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Connect the venue and start serving (``port`` becomes the bound port)."""
        if self._runner is not None:
            return
        loop = self.state.loop = asyncio.get_running_loop()
        self.state.loop_thread = threading.get_ident()
        self._stopping = asyncio.Event()
        await self.venue.connect()
        sim = self.venue.simulator  # restored from state_path, perhaps: history starts now
        self.state.history = PriceHistory.of_market(self.seed, sim.market.books, sim.now())
        app = web.Application(middlewares=[self._middleware])
        app.router.add_routes(self.rest.routes())
        for api in (MarketDataApi(self.state), AccountApi(self.state),
                    ActivitiesApi(self.state), PositionClosing(self.state), CalendarApi()):
            app.router.add_routes(api.routes())
        app.router.add_routes(ControlApi(self.control).routes())
        app.router.add_get("/stream", self.stream.handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               shutdown_timeout=1.0)
        await runner.setup()
        assert runner.server is not None  # set by setup()
        try:
            # The listener is the loop's own server (not an aiohttp site), so that stop()
            # can stop accepting before it closes it: see venuekit.emulator.stop_listening().
            listener = await loop.create_server(runner.server, self.host, self.port)
        except OSError as exc:
            await runner.cleanup()
            await self.venue.close()
            raise error(Code.INVALID_CONFIG, f"alpaca emulator: cannot listen on "
                        f"{self._authority}: {exc.strerror}", venue="alpaca") from None
        self._runner, self._listener = runner, listener
        if self._moves_on_its_own:
            self._recorder = loop.create_task(self._record_prices(),
                                              name="alpaca-price-history")
        self.port = listener.sockets[0].getsockname()[1]
        log.info("alpaca emulator listening", extra={"url": self.base_url, "seed": self.seed})

    async def stop(self) -> None:
        """Stop serving: open connections are closed, stalled requests released."""
        runner, self._runner = self._runner, None
        listener, self._listener = self._listener, None
        if runner is None or listener is None:
            return
        self._stopping.set()
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder
        await stop_listening(listener)
        await self.stream.close_all()
        await runner.cleanup()
        await self.venue.close()
        log.info("alpaca emulator stopped", extra={"url": self.base_url})

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _record_prices(self) -> None:
        """Record the market's quotes into the price history, once a second, while the
        market moves on its own (control calls record what they change themselves)."""
        while True:
            await asyncio.sleep(_RECORD_INTERVAL)
            sim = self.venue.simulator
            self.state.history.observe_books(sim.market.books, sim.now())

    # the wire ------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith(ControlApi.PREFIX):
            if not self._authenticated(request):
                return json_response(errors.unauthorized().body, 401)
            return await control_errors(request, lambda: handler(request))
        if not path.startswith("/v2"):
            return await handler(request)
        if not self._authenticated(request):
            return json_response(errors.unauthorized().body, 401)
        allowed, headers = self.budget.take()
        if not allowed:
            refused = json_response(errors.rate_limited().body, 429)
            refused.headers.update(headers)
            return refused
        faults_before = len(self.venue.simulator.ledger.faults)
        response: web.StreamResponse
        try:
            response = await handler(request)
        except errors.AlpacaError as exc:
            response = json_response(exc.body, exc.status)
        except VenueKitError as exc:
            if exc.code is Code.TIMEOUT:
                return await self._no_answer(request, faults_before)
            response = json_response(errors.for_error(exc).body, errors.for_error(exc).status)
            if exc.code is Code.RATE_LIMITED:
                retry_after = getattr(exc, "retry_after", None)
                if retry_after is not None:
                    response.headers["Retry-After"] = str(max(1, round(retry_after)))
        except web.HTTPException as exc:
            if exc.status >= 400:
                response = json_response({"code": exc.status * 100_000 + 10_000,
                                          "message": exc.reason.lower()}, exc.status)
            else:
                raise
        response.headers.update(headers)
        return response

    def _authenticated(self, request: web.Request) -> bool:
        return self.credentials_match(request.headers.get("APCA-API-KEY-ID"),
                                      request.headers.get("APCA-API-SECRET-KEY"))

    async def _no_answer(self, request: web.Request, faults_before: int) -> web.Response:
        """A request an injected fault swallowed: the connection closes without an answer,
        at once for a dropped response, after ``stall`` seconds for a timeout."""
        struck = {f.kind for f in self.venue.simulator.ledger.faults[faults_before:]}
        if Fault.DROP_RESPONSE.value not in struck:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.stall)
        transport = request.transport
        if transport is not None:
            transport.close()
        return web.Response(status=504)


@contextlib.contextmanager
def run_in_thread(emulator: AlpacaEmulator | None = None, *, timeout: float = 10.0,
                  **options: Any) -> Iterator[AlpacaEmulator]:
    """Run an emulator on its own event loop in a background thread.

    For synchronous callers (alpaca-py's TradingClient blocks, so it cannot share a thread
    with the server). Pass an emulator or the :class:`AlpacaEmulator` keyword options;
    yields the started emulator and stops it on exit. ``emulator.control`` may be used
    from the calling thread.
    """
    def make() -> AlpacaEmulator:
        return emulator if emulator is not None else AlpacaEmulator(**options)

    with run_emulator_in_thread(make, name="alpaca emulator", timeout=timeout) as instance:
        yield instance
