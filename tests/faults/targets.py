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
from dataclasses import dataclass, field
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
    (the driver then draws that knob too).
    """

    name: str
    open: Callable[[Knobs], contextlib.AbstractAsyncContextManager[Session]]
    client_order_ids_optional: bool = False


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
