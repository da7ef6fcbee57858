"""The emulator process: :class:`BinanceEmulator` (an aiohttp server) and :func:`run_in_thread`.

One server answers the REST API (:mod:`.rest`), the ws-api (:mod:`.stream`), the public
streams (:mod:`.public`) and the private control API (:mod:`.control`), all on one
loopback port. The mock venue behind it is built with USDT as its cash, Binance's
commissions on the account (:mod:`.account`), client order ids of up to 64 characters
(Binance's 36, plus the suffix the engine gets when an id is used again), no short selling
and, by default, no markup on the reservation of a market buy.
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
from venuekit.errors import Code, error
from venuekit_mock import MockVenue
from venuekit_mock.sim import FaultPlan, QuoteReplay, SlippageModel, SymbolSpec

from .account import COMMISSION_ASSETS, BinanceAccount, install
from .config import options_from_config
from .control import BinanceControl, ControlApi, control_errors
from .public import PublicStreams
from .ratelimit import RateLimiter
from .rest import RestApi
from .state import EmulatorState
from .stream import UserDataApi
from .symbols import QUOTE, resolve_symbols
from .views import BinanceView

__all__ = ["DEFAULT_API_KEY", "DEFAULT_SECRET_KEY", "BinanceEmulator", "run_in_thread"]

log = logging.getLogger("venuekit_ccxt.emulator")

DEFAULT_API_KEY = "venuekit-emulator-key"
DEFAULT_SECRET_KEY = "venuekit-emulator-secret"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Amount = Decimal | int | str


def _config_error(message: str) -> Exception:
    return error(Code.INVALID_CONFIG, f"binance emulator: {message}", venue="binance")


class BinanceEmulator:
    """A Binance-spot-compatible venue on loopback, backed by the mock venue.

    Use ``async with BinanceEmulator(...) as emulator`` (or ``await start()`` and ``await
    stop()``); then point ccxt at ``base_url`` (REST and websockets share the port) with
    ``api_key`` / ``secret_key``. ``port=0`` picks a free port. ``host`` must be a loopback
    address unless ``allow_remote`` is set. See the package documentation for every option.
    """

    def __init__(self, *, symbols: Sequence[SymbolSpec | str] | None = None,
                 cash: Amount = Decimal(100_000), balances: Mapping[str, Amount] | None = None,
                 seed: int = 0, api_key: str = DEFAULT_API_KEY,
                 secret_key: str = DEFAULT_SECRET_KEY, host: str = "127.0.0.1",
                 port: int = 0, allow_remote: bool = False, latency: float = 0.0,
                 stall: float = 30.0, faults: FaultPlan | None = None,
                 commission_bps: Amount = Decimal(10),
                 commission_asset: Literal["received", "quote", "BNB"] = "received",
                 weight_limit: int = 6000, orders_per_10s: int = 100,
                 orders_per_day: int = 200_000, weight_window: float = 60.0,
                 ban_seconds: float = 120.0, ban_grace: float = 1.0,
                 slippage: SlippageModel | None = None,
                 stream_delay: float = 0.0, visibility_delay: float = 0.0,
                 tick_interval: float | None = None,
                 clock: Literal["wall", "sim"] = "wall", start: datetime | None = None,
                 step: timedelta = timedelta(seconds=1),
                 steps_per_session: int | None = None,
                 replay: QuoteReplay | str | os.PathLike[str] | None = None,
                 halted: Sequence[str] = (),
                 market_reserve_bps: Amount = Decimal(0),
                 state_path: str | os.PathLike[str] | None = None) -> None:
        if not is_loopback(host) and not allow_remote:
            raise _config_error(f"host {host!r} is not a loopback address; the emulator "
                                "accepts orders from anyone who can reach it, so listen "
                                "elsewhere only on purpose (--allow-remote, or "
                                "allow_remote=True)")
        if not api_key or not secret_key:
            raise _config_error("api_key and secret_key must not be empty")
        if stall < 0:
            raise _config_error("stall must be >= 0")
        if commission_asset not in COMMISSION_ASSETS:
            raise _config_error(f"commission_asset must be one of "
                                f"{', '.join(COMMISSION_ASSETS)}, got {commission_asset!r}")
        try:
            specs = resolve_symbols(symbols)
            bps = Decimal(commission_bps)
            if not bps.is_finite() or not 0 <= bps < 10_000:
                raise ValueError(f"commission_bps must be in [0, 10000), got {commission_bps}")
            limiter = RateLimiter(weight_limit=weight_limit, orders_per_10s=orders_per_10s,
                                  orders_per_day=orders_per_day, weight_window=weight_window,
                                  ban_seconds=ban_seconds, ban_grace=ban_grace)
        except (ValueError, ArithmeticError) as exc:
            raise _config_error(str(exc)) from None
        venue = MockVenue(
            seed=seed, symbols=specs, cash=cash, currency=QUOTE, slippage=slippage,
            short_selling=False, client_order_id_max_length=64, latency=latency,
            stream_delay=stream_delay, visibility_delay=visibility_delay, faults=faults,
            tick_interval=tick_interval, clock=clock, start=start, step=step,
            steps_per_session=steps_per_session, replay=replay, halted=halted,
            market_reserve_bps=market_reserve_bps, state_path=state_path)
        self._commission = (bps, commission_asset)
        self.state = EmulatorState(venue=venue, limiter=limiter, seed=seed, api_key=api_key,
                                   secret_key=secret_key, stall=stall)
        account = self._install()
        for asset, value in (balances or {}).items():
            if asset == QUOTE:
                raise _config_error(f"the {QUOTE} balance is set by cash, not balances")
            account.set_balance(str(asset), Decimal(value))
        self.venue = venue
        self.limiter = limiter
        self.seed = seed
        self.host = host
        self.port = port
        self.view = BinanceView(self.state)
        self.control = BinanceControl(self.state, self.view)
        self.rest = RestApi(self.state, self.view)
        self.user_data = UserDataApi(self.state, self.view)
        self.public = PublicStreams(self.state)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None

    def _install(self) -> BinanceAccount:
        bps, asset = self._commission
        sim = self.state.venue.simulator
        return install(sim, commission_bps=bps, commission_asset=asset,
                       order_prefix=sim.config.order_id_prefix)

    def __repr__(self) -> str:
        where = self.base_url if self._runner is not None else "not started"
        return f"BinanceEmulator({where}, seed={self.seed})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, host: str = "127.0.0.1",
                    port: int = 0, allow_remote: bool = False) -> Self:
        """Build from ``-o key=value`` options or a config table of plain values (see
        :mod:`.config`); a bad setting raises ``ConfigurationError`` naming it."""
        return cls(host=host, port=port, allow_remote=allow_remote,
                   **options_from_config(config))

    # addresses -----------------------------------------------------------------------
    @property
    def _authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """REST and websockets root: ``http://127.0.0.1:PORT`` (paths as Binance's)."""
        return f"http://{self._authority}"

    @property
    def ws_api_url(self) -> str:
        return f"ws://{self._authority}{UserDataApi.PATH}"

    @property
    def ws_url(self) -> str:
        """The public market streams' root (``/ws``; ccxt.pro appends ``/<n>``)."""
        return f"ws://{self._authority}/ws"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}{ControlApi.PREFIX}"

    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def secret_key(self) -> str:
        return self.state.secret_key

    def endpoints(self) -> dict[str, str]:
        return {"rest": self.base_url, "ws-api": self.ws_api_url,
                "control": self.control_url}

    def client_settings(self) -> dict[str, str]:
        """What a client needs, as the environment variables the venuekit Binance venue
        reads. A secret key the caller chose is not repeated back."""
        secret = self.secret_key if self.secret_key == DEFAULT_SECRET_KEY \
            else "<the secret_key you configured>"
        return {"BINANCE_API_KEY": self.api_key, "BINANCE_API_SECRET": secret,
                "BINANCE_BASE_URL": self.base_url}

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self.state.loop

    # lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Connect the venue and start serving (``port`` becomes the bound port)."""
        if self._runner is not None:
            return
        loop = self.state.loop = asyncio.get_running_loop()
        self.state.loop_thread = threading.get_ident()
        self.state.stopping = asyncio.Event()
        await self.venue.connect()
        self._install()  # a venue restored from its state file has a new engine
        app = web.Application(middlewares=[self._middleware])
        app.router.add_routes(ControlApi(self.control).routes())
        app.router.add_get(UserDataApi.PATH, self.user_data.handle)
        for path in PublicStreams.PATHS:
            app.router.add_get(path, self.public.handle)
        app.router.add_route("*", "/{tail:.*}", self.rest.handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               shutdown_timeout=1.0)
        await runner.setup()
        assert runner.server is not None  # set by setup()
        try:
            listener = await loop.create_server(runner.server, self.host, self.port)
        except OSError as exc:
            await runner.cleanup()
            await self.venue.close()
            raise _config_error(f"cannot listen on {self._authority}: "
                                f"{exc.strerror}") from None
        self._runner, self._listener = runner, listener
        self.port = listener.sockets[0].getsockname()[1]
        log.info("binance emulator listening", extra={"url": self.base_url, "seed": self.seed})

    async def stop(self) -> None:
        """Stop serving: open connections are closed, stalled requests released."""
        runner, self._runner = self._runner, None
        listener, self._listener = self._listener, None
        if runner is None or listener is None:
            return
        if self.state.stopping is not None:
            self.state.stopping.set()
        await stop_listening(listener)
        for ws in list(self.state.connections):
            with contextlib.suppress(Exception):
                await ws.close()
        await runner.cleanup()
        await self.venue.close()
        log.info("binance emulator stopped", extra={"url": self.base_url})

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # the control API's authentication ------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(ControlApi.PREFIX):
            return await handler(request)
        if request.headers.get("X-MBX-APIKEY") != self.api_key or \
                request.headers.get("X-MBX-SECRET-KEY") != self.secret_key:
            return web.Response(status=401, text='{"message":"unauthorized"}',
                                content_type="application/json")
        return await control_errors(request, lambda: handler(request))


@contextlib.contextmanager
def run_in_thread(emulator: BinanceEmulator | None = None, *, timeout: float = 10.0,
                  **options: Any) -> Iterator[BinanceEmulator]:
    """Run an emulator on its own event loop in a background thread (for synchronous
    clients such as ``ccxt.binance``). Pass an emulator or the :class:`BinanceEmulator`
    keyword options; yields the started emulator and stops it on exit. ``emulator.control``
    may be used from the calling thread."""
    def make() -> BinanceEmulator:
        return emulator if emulator is not None else BinanceEmulator(**options)

    with run_emulator_in_thread(make, name="binance emulator", timeout=timeout) as instance:
        yield instance
