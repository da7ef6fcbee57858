"""The emulator process: :class:`KisEmulator` (an aiohttp server) and :func:`run_in_thread`.

One server answers the REST API (:mod:`.rest`), the notice websocket (:mod:`.stream`, at
``/tryitout`` and ``/``) and the private control API (:mod:`.control`), all on one loopback
port. The mock venue behind it trades KRX products in won (:mod:`.symbols`): whole shares,
no short selling, no commission or tax (the emulator's simplification), market buys
reserved at the ask unless ``market_reserve_bps`` says otherwise, orders that last the
day. KIS's order numbers, cancel and modify orders live beside the engine
(:mod:`.records`).
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
from venuekit_mock import MockVenue
from venuekit_mock.sim import FaultPlan, QuoteReplay, SlippageModel, SymbolSpec

from .auth import (
    DEFAULT_ACCOUNT,
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    DEFAULT_HTS_ID,
    Credentials,
    TokenDesk,
)
from .config import config_error, options_from_config
from .control import ControlApi, KisControl, control_errors
from .notices import RECORD_FIELDS
from .prices import DailyPrices
from .ratelimit import RateLimiter
from .records import OrderRecords
from .rest import RestApi
from .state import EmulatorState
from .stream import NoticeStream
from .symbols import CURRENCY, Listing, resolve_listings

__all__ = ["KisEmulator", "run_in_thread"]

log = logging.getLogger("venuekit_kis.emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Amount = Decimal | int | str


class KisEmulator:
    """A KIS-paper-compatible venue on loopback, backed by the mock venue.

    Use ``async with KisEmulator(...) as emulator`` (or ``await start()`` and ``await
    stop()``); then point a client at ``base_url`` (REST) and ``ws_url`` (websocket; append
    ``/tryitout``) with ``app_key``, ``app_secret``, ``account`` and ``hts_id``. ``port=0``
    picks a free port. ``host`` must be a loopback address unless ``allow_remote`` is set.
    See the package documentation for every option.
    """

    def __init__(self, *, symbols: Sequence[SymbolSpec | Listing | str] | None = None,
                 names: Mapping[str, str] | None = None,
                 cash: Amount = Decimal(100_000_000), seed: int = 0,
                 app_key: str = DEFAULT_APP_KEY, app_secret: str = DEFAULT_APP_SECRET,
                 account: str = DEFAULT_ACCOUNT, hts_id: str = DEFAULT_HTS_ID,
                 host: str = "127.0.0.1", port: int = 0, allow_remote: bool = False,
                 latency: float = 0.0, stall: float = 30.0, faults: FaultPlan | None = None,
                 slippage: SlippageModel | None = None, stream_delay: float = 0.0,
                 visibility_delay: float = 0.0, tick_interval: float | None = None,
                 rate_limit: float = 2.0, token_interval: float = 60.0,
                 token_lifetime: float = 86_400.0, record_fields: int = 26,
                 heartbeat: float = 10.0,
                 clock: Literal["wall", "sim"] = "wall", start: datetime | None = None,
                 step: timedelta = timedelta(seconds=1),
                 steps_per_session: int | None = None,
                 replay: QuoteReplay | str | os.PathLike[str] | None = None,
                 halted: Sequence[str] = (),
                 market_reserve_bps: Amount = Decimal(0)) -> None:
        if not is_loopback(host) and not allow_remote:
            raise config_error(f"host {host!r} is not a loopback address; the emulator "
                               "accepts orders from anyone who can reach it, so listen "
                               "elsewhere only on purpose (--allow-remote, or "
                               "allow_remote=True)")
        for label, seconds in (("stall", stall), ("visibility_delay", visibility_delay),
                               ("heartbeat", heartbeat)):
            if seconds < 0:
                raise config_error(f"{label} must be >= 0")
        if record_fields not in RECORD_FIELDS:
            raise config_error(f"record_fields must be 26 or 23, got {record_fields!r}")
        try:
            listings = resolve_listings(symbols, names)
            credentials = Credentials(app_key, app_secret, account, hts_id)
            tokens = TokenDesk(credentials, token_interval=token_interval,
                               token_lifetime=token_lifetime)
            limiter = RateLimiter(rate_limit)
        except (ValueError, ArithmeticError) as exc:
            raise config_error(str(exc)) from None
        venue = MockVenue(
            seed=seed, symbols=[listing.spec for listing in listings], cash=cash,
            currency=CURRENCY, slippage=slippage, short_selling=False, latency=latency,
            stream_delay=stream_delay, faults=faults, tick_interval=tick_interval,
            clock=clock, start=start, step=step, steps_per_session=steps_per_session,
            replay=replay, halted=halted, market_reserve_bps=market_reserve_bps)
        self.state = EmulatorState(
            venue=venue, listings={listing.symbol: listing for listing in listings},
            credentials=credentials, tokens=tokens, limiter=limiter,
            records=OrderRecords(now=venue.simulator.now, visibility_delay=visibility_delay),
            prices=DailyPrices(listing.spec for listing in listings), stall=stall,
            record_fields=record_fields, heartbeat=heartbeat)
        self.venue = venue
        self.seed = seed
        self.host = host
        self.port = port
        self.control = KisControl(self.state)
        self.rest = RestApi(self.state)
        self.notices = NoticeStream(self.state)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._runner is not None else "not started"
        return f"KisEmulator({where}, seed={self.seed})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, host: str = "127.0.0.1",
                    port: int = 0, allow_remote: bool = False) -> Self:
        """Build from ``-o key=value`` options or a config table of plain values (see
        :mod:`.config`); a bad setting raises ``ConfigurationError`` naming it."""
        return cls(host=host, port=port, allow_remote=allow_remote,
                   **options_from_config(config))

    # addresses and credentials -------------------------------------------------------
    @property
    def _authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The REST root: ``http://127.0.0.1:PORT`` (paths as KIS's)."""
        return f"http://{self._authority}"

    @property
    def ws_url(self) -> str:
        """The websocket root: ``ws://127.0.0.1:PORT`` (clients append ``/tryitout``)."""
        return f"ws://{self._authority}"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}{ControlApi.PREFIX}"

    @property
    def app_key(self) -> str:
        return self.state.credentials.app_key

    @property
    def app_secret(self) -> str:
        return self.state.credentials.app_secret

    @property
    def account(self) -> str:
        """``CANO-ACNT_PRDT_CD``, e.g. ``50000000-01``."""
        return self.state.credentials.account

    @property
    def hts_id(self) -> str:
        return self.state.credentials.hts_id

    def endpoints(self) -> dict[str, str]:
        return {"rest": self.base_url, "websocket": f"{self.ws_url}/tryitout",
                "control": self.control_url}

    def client_settings(self) -> dict[str, str]:
        """What a client needs, as the environment variables the venuekit KIS venue reads.
        An app secret the caller chose is not repeated back."""
        secret = self.app_secret if self.app_secret == DEFAULT_APP_SECRET \
            else "<the app_secret you configured>"
        return {"KIS_BASE_URL": self.base_url, "KIS_WS_URL": self.ws_url,
                "KIS_APP_KEY": self.app_key, "KIS_APP_SECRET": secret,
                "KIS_ACCOUNT": self.account, "KIS_HTS_ID": self.hts_id}

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
        app = web.Application(middlewares=[self._middleware])
        app.router.add_routes(ControlApi(self.control).routes())
        app.router.add_get(NoticeStream.PATHS[0], self.notices.handle)
        app.router.add_route("*", "/{tail:.*}", self._root)
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               shutdown_timeout=1.0)
        await runner.setup()
        assert runner.server is not None  # set by setup()
        try:
            listener = await loop.create_server(runner.server, self.host, self.port)
        except OSError as exc:
            await runner.cleanup()
            await self.venue.close()
            raise config_error(f"cannot listen on {self._authority}: "
                               f"{exc.strerror}") from None
        self._runner, self._listener = runner, listener
        self.port = listener.sockets[0].getsockname()[1]
        log.info("kis emulator listening", extra={"url": self.base_url, "seed": self.seed})

    async def _root(self, request: web.Request) -> web.StreamResponse:
        """``/`` with an Upgrade is the websocket (the legacy client's path); the rest REST."""
        if request.path == "/" and request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.notices.handle(request)
        return await self.rest.handle(request)

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
        log.info("kis emulator stopped", extra={"url": self.base_url})

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # control authentication and response counts --------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ControlApi.PREFIX):
            credentials = self.state.credentials
            if request.headers.get("appkey") != credentials.app_key or \
                    request.headers.get("appsecret") != credentials.app_secret:
                return web.Response(status=401, text='{"message":"unauthorized"}',
                                    content_type="application/json")
            return await control_errors(lambda: handler(request))
        response = await handler(request)
        transport = request.transport
        answered = transport is not None and not transport.is_closing()
        if answered and not isinstance(response, web.WebSocketResponse):
            self.state.responses[response.status] += 1
        return response


@contextlib.contextmanager
def run_in_thread(emulator: KisEmulator | None = None, *, timeout: float = 10.0,
                  **options: Any) -> Iterator[KisEmulator]:
    """Run an emulator on its own event loop in a background thread (for synchronous
    clients). Pass an emulator or the :class:`KisEmulator` keyword options; yields the
    started emulator and stops it on exit. ``emulator.control`` may be used from the
    calling thread."""
    def make() -> KisEmulator:
        return emulator if emulator is not None else KisEmulator(**options)

    with run_emulator_in_thread(make, name="kis emulator", timeout=timeout) as instance:
        yield instance
