"""The venues the fault scenarios run against: a factory plus a fault-injection handle.

A :class:`Target` opens one venue for one scenario from :class:`Knobs` and hands back a
:class:`Session`: the :class:`~venuekit.venue.Venue` the engine trades on, and a
:class:`FaultHandle` that turns the simulator's fault knobs on and off and shows the
ledger of truth. The scenario driver (:mod:`tests.faults.scenarios`) knows nothing else
about the venue, so a venue whose emulator is backed by the mock's simulator (its fault
knobs reachable at the wire) is one more :class:`Target`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol

from tests.support.journal_truth import Truth, WireTruth
from venuekit.venue import Venue
from venuekit_mock import MockVenue
from venuekit_mock.sim import Fault, FaultPlan, Ledger, SymbolSpec


class FaultHandle(Protocol):
    """What the scenario driver needs from a venue's test control surface."""

    @property
    def ledger(self) -> Ledger: ...

    def set_fault(self, fault: Fault | str, probability: Decimal) -> None: ...

    def clear_faults(self) -> None: ...

    def set_position(self, symbol: str, quantity: Decimal,
                     average_price: Decimal | None = None) -> None: ...


@dataclass(frozen=True)
class Knobs:
    """Everything a scenario draws about the venue: market, timing, ids and faults."""

    seed: int
    symbols: tuple[SymbolSpec, ...]
    faults: Mapping[Fault, Decimal]
    server_error_after_accept: bool = False
    retry_after: float = 0.05
    latency: float = 0.0
    visibility_delay: float = 0.0
    stream_delay: float = 0.0
    client_order_ids: bool = True
    tick_interval: float = 0.02
    cash: Decimal = Decimal(10**8)
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The knobs as plain JSON values (printed with a failing scenario's seed)."""
        return {"faults": {k.value: str(v) for k, v in self.faults.items()},
                "server_error_after_accept": self.server_error_after_accept,
                "latency": self.latency, "visibility_delay": self.visibility_delay,
                "stream_delay": self.stream_delay, "client_order_ids": self.client_order_ids,
                "displayed": [str(s.size) for s in self.symbols]}


@dataclass
class Session:
    """One opened venue: what the engine trades on, the fault knobs, and the truth."""

    venue: Venue
    handle: FaultHandle
    truth: Callable[[], Truth]
    """The venue's record of orders and executions, in the ids the SDK sees."""

    def inject(self, knobs: Knobs) -> None:
        """Turn the scenario's faults on (after set-up, so set-up itself is clean)."""
        for fault, probability in knobs.faults.items():
            self.handle.set_fault(fault, probability)


@dataclass(frozen=True)
class Target:
    """A venue the scenarios can run on.

    ``open`` builds and connects the venue for one scenario and closes it afterwards;
    ``client_order_ids_optional`` says whether the venue can run without client order ids
    (the driver then draws that knob too); ``symbol`` names a drawn symbol (``F0``) as the
    venue lists it, where it differs (``F0/USDT`` on an exchange of pairs).
    """

    name: str
    open: Callable[[Knobs], contextlib.AbstractAsyncContextManager[Session]]
    client_order_ids_optional: bool = False
    symbol: Callable[[str], str] | None = None
    money_scale: int = 1
    """How many of the venue's currency units a drawn amount is (KRW prices are about a
    thousand times the drawn dollar-like ones): notional amounts are scaled by it."""


@contextlib.asynccontextmanager
async def _open_mock(knobs: Knobs) -> AsyncIterator[Session]:
    venue = MockVenue(seed=knobs.seed, symbols=list(knobs.symbols), cash=knobs.cash,
                      short_selling=False, client_order_ids=knobs.client_order_ids,
                      latency=knobs.latency, stream_delay=knobs.stream_delay,
                      visibility_delay=knobs.visibility_delay,
                      tick_interval=knobs.tick_interval, **knobs.extra)
    venue.faults.server_error_after_accept = knobs.server_error_after_accept
    venue.faults.retry_after = knobs.retry_after
    try:
        yield Session(venue, venue.control, lambda: venue.control.ledger)
    finally:
        await venue.close()


MOCK = Target("mock", _open_mock, client_order_ids_optional=True)

TARGETS: dict[str, Target] = {"mock": MOCK}


CLIENT_TIMEOUT = 0.5
"""The Alpaca client's request timeout; the emulator holds a ``timeout`` fault longer."""


@contextlib.asynccontextmanager
async def _open_alpaca(knobs: Knobs) -> AsyncIterator[Session]:
    from venuekit_alpaca.emulator import AlpacaEmulator
    from venuekit_alpaca.venue import AlpacaVenue

    plan = FaultPlan(server_error_after_accept=knobs.server_error_after_accept,
                     retry_after=knobs.retry_after, seed=knobs.seed)
    emulator = AlpacaEmulator(symbols=list(knobs.symbols), cash=knobs.cash, seed=knobs.seed,
                              latency=knobs.latency, stream_delay=knobs.stream_delay,
                              visibility_delay=knobs.visibility_delay,
                              tick_interval=knobs.tick_interval, faults=plan,
                              stall=CLIENT_TIMEOUT * 4, rate_limit=1_000_000)
    async with emulator:
        venue = AlpacaVenue(api_key=emulator.api_key, secret_key=emulator.secret_key,
                            base_url=emulator.base_url, data_url=emulator.data_url,
                            stream_url=emulator.stream_url, timeout=CLIENT_TIMEOUT,
                            stream_timeout=2)
        try:
            yield Session(venue, emulator.control, lambda: WireTruth.of(emulator.control.orders(),
                                                                   emulator.control.fills()))
        finally:
            await venue.close()


def _alpaca_installed() -> bool:
    try:
        import venuekit_alpaca.emulator  # noqa: F401
    except ImportError:
        return False
    return True


ALPACA = Target("alpaca", _open_alpaca)
if _alpaca_installed():
    TARGETS["alpaca"] = ALPACA
"""Every venue the fault scenarios cover, by name."""


BINANCE_QUOTE = "USDT"


def _pair(name: str) -> str:
    return f"{name}/{BINANCE_QUOTE}"


class _BinanceHandle:
    """The Binance emulator's control as a :class:`FaultHandle` (positions by pair)."""

    def __init__(self, control: Any) -> None:
        self.control = control

    @property
    def ledger(self) -> Ledger:
        ledger: Ledger = self.control.ledger
        return ledger

    def set_fault(self, fault: Fault | str, probability: Decimal) -> None:
        self.control.set_fault(fault, probability)

    def clear_faults(self) -> None:
        self.control.clear_faults()

    def set_position(self, symbol: str, quantity: Decimal,
                     average_price: Decimal | None = None) -> None:
        self.control.set_position(symbol.replace("/", ""), quantity, average_price)


@contextlib.asynccontextmanager
async def _open_binance(knobs: Knobs) -> AsyncIterator[Session]:
    from venuekit_ccxt.emulator import BinanceEmulator
    from venuekit_ccxt.venue import BinanceVenue

    # Each drawn symbol as a pair quoted in USDT: F0 is the asset F0, traded as F0USDT.
    pairs = [replace(spec, symbol=f"{spec.symbol}{BINANCE_QUOTE}", currency=BINANCE_QUOTE,
                     base_currency=spec.symbol) for spec in knobs.symbols]
    plan = FaultPlan(server_error_after_accept=knobs.server_error_after_accept,
                     retry_after=knobs.retry_after, seed=knobs.seed)
    emulator = BinanceEmulator(symbols=pairs, cash=knobs.cash, seed=knobs.seed,
                               latency=knobs.latency, stream_delay=knobs.stream_delay,
                               visibility_delay=knobs.visibility_delay,
                               tick_interval=knobs.tick_interval, faults=plan,
                               stall=CLIENT_TIMEOUT * 4, weight_limit=10**6,
                               orders_per_10s=10**6)
    async with emulator:
        venue = BinanceVenue(api_key=emulator.api_key, secret=emulator.secret_key,
                             base_url=emulator.base_url, timeout=CLIENT_TIMEOUT,
                             stream_timeout=2, request_weight=f"{10**6}/60",
                             orders=f"{10**6}/10")
        control = emulator.control
        try:
            yield Session(venue, _BinanceHandle(control),
                          lambda: WireTruth.of_binance(control.orders(), control.fills()))
        finally:
            await venue.close()


def _ccxt_installed() -> bool:
    try:
        import venuekit_ccxt.emulator  # noqa: F401
    except ImportError:
        return False
    return True


BINANCE = Target("binance", _open_binance, symbol=_pair)
if _ccxt_installed():
    TARGETS["binance"] = BINANCE


KIS_SCALE = 1000
"""A drawn price of 25.005 is a KRX price of about 25,000 won."""


def _krx_code(name: str) -> str:
    """A drawn symbol (``F0``) as a six-digit KRX code (``900000``)."""
    return f"9{int(name.removeprefix('F')):05d}"


def _krx_spec(spec: SymbolSpec) -> SymbolSpec:
    """A drawn symbol as a KRX share: its price times KIS_SCALE on the band's grid."""
    from venuekit_kis.krx import band_tick
    from venuekit_mock.sim import KRX_TICK_TABLE

    price = spec.price * KIS_SCALE
    price -= price % band_tick(price)
    return replace(spec, symbol=_krx_code(spec.symbol), price=price, tick_size=Decimal(1),
                   lot_size=Decimal(1), min_quantity=Decimal(1), currency="KRW",
                   tick_table=KRX_TICK_TABLE)


@contextlib.asynccontextmanager
async def _open_kis(knobs: Knobs) -> AsyncIterator[Session]:
    from venuekit_kis.emulator import KisEmulator
    from venuekit_kis.venue import KisVenue

    plan = FaultPlan(server_error_after_accept=knobs.server_error_after_accept,
                     retry_after=knobs.retry_after, seed=knobs.seed)
    emulator = KisEmulator(symbols=[_krx_spec(spec) for spec in knobs.symbols],
                           cash=knobs.cash, seed=knobs.seed, latency=knobs.latency,
                           stream_delay=knobs.stream_delay,
                           visibility_delay=knobs.visibility_delay,
                           tick_interval=knobs.tick_interval, faults=plan,
                           stall=CLIENT_TIMEOUT * 4, rate_limit=1_000_000.0,
                           token_interval=0.0)
    async with emulator:
        venue = KisVenue(app_key=emulator.app_key, app_secret=emulator.app_secret,
                         account=emulator.account, hts_id=emulator.hts_id,
                         base_url=emulator.base_url, ws_url=emulator.ws_url,
                         timeout=CLIENT_TIMEOUT, stream_timeout=2, requests="1000000/1",
                         token_cache="off")
        control = emulator.control
        try:
            yield Session(venue, _KisHandle(control),
                          lambda: WireTruth.of_kis(control.orders(), control.fills()))
        finally:
            await venue.close()


class _KisHandle(_BinanceHandle):
    """The KIS emulator's control as a :class:`FaultHandle` (positions by KRX code)."""

    def set_position(self, symbol: str, quantity: Decimal,
                     average_price: Decimal | None = None) -> None:
        self.control.set_position(symbol, quantity, average_price)


def _kis_installed() -> bool:
    try:
        import venuekit_kis.emulator  # noqa: F401
    except ImportError:
        return False
    return True


KIS = Target("kis", _open_kis, symbol=_krx_code, money_scale=KIS_SCALE)
if _kis_installed():
    TARGETS["kis"] = KIS
