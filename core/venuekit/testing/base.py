"""The plumbing every standard test shares: the venue under test, a session, capability gates.

A plugin's test class subclasses the kit's classes (see :mod:`venuekit.testing`) and
provides :meth:`VenueTestBase.venue_under_test` plus the ``symbol`` to trade. Each standard
test opens a fresh venue, puts its market in a known state through the
:class:`~venuekit.testing.control.MarketControl` handle, runs under ``asyncio.run`` with a
time bound, and checks the venue's answers and the SDK's view against the ledger of truth.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pytest

from ..engine import Engine
from ..journal.target import open_journal
from ..model import Instrument, OrderRequest, OrderSnapshot, OrderType, Side, TimeInForce
from ..outcome import OutcomePolicy
from ..plugins import PluginHost
from ..quantize import round_price
from ..settlement import SettlementOptions
from ..venue import Capabilities, OrderRef, Venue
from .control import LedgerFill, LedgerOrder, MarketControl

if TYPE_CHECKING:
    from .postgres import Server

__all__ = ["Gate", "KitSession", "VenueTestBase", "VenueUnderTest"]

T = TypeVar("T")

FAST_SETTLEMENT = SettlementOptions(poll_min=0.02, poll_max=0.2, silence=0.2, late_grace=0.02)
"""Settlement timing for the kit: quick polls so that faults resolve in well under a second."""

GUIDE = "docs/plugins/authoring.md"
JOURNALS = ("sqlite", "postgres")
"""The journal backends a kit class may run on (:attr:`VenueTestBase.journal`)."""


@dataclass(frozen=True, slots=True)
class VenueUnderTest:
    """What a plugin hands the kit: a connected venue and the handle on its market."""

    venue: Venue
    control: MarketControl


@dataclass(frozen=True, slots=True)
class Gate:
    """A capability a standard test needs: ``capability`` must be one of ``allowed``."""

    capability: str
    allowed: tuple[object, ...]

    def refusal(self, capabilities: Capabilities) -> str | None:
        """Why the test does not apply to a venue with ``capabilities`` (None: it applies)."""
        actual = getattr(capabilities, self.capability)
        if self.capability == "rate_limits":
            return None if actual else (
                "capability `rate_limits` declares no pools: nothing to respect")
        if actual in self.allowed:
            return None
        wanted = " or ".join(repr(v) for v in self.allowed)
        return f"capability `{self.capability}` is {actual!r}; this test needs {wanted}"


NATIVE = (True,)
OFFERED = (True, "emulated")
ABSENT = (False, "emulated")


class KitSession:
    """One standard test's view of the venue: the venue, its control, a known market.

    :meth:`prepare` shows a known quote on the kit's symbol: ``bid`` and ``ask`` one tick
    apart on the instrument's grid with ``depth`` displayed on each side, and sets the cash
    to a thousand times the notional of ``unit`` at the ask. Quantities in the tests are
    multiples of ``unit``: the smallest round quantity the instrument accepts.
    """

    def __init__(self, suite: VenueTestBase, under_test: VenueUnderTest,
                 workdir: Path) -> None:
        self.suite = suite
        self.venue = under_test.venue
        self.control = under_test.control
        self.symbol = suite.symbol
        self.workdir = workdir
        self.instrument: Instrument
        self.bid = self.ask = self.tick = self.unit = self.depth = Decimal(0)
        self._ids = 0

    @property
    def capabilities(self) -> Capabilities:
        return self.venue.capabilities

    async def prepare(self) -> None:
        self.instrument = await self.venue.instrument(self.symbol)
        current = await self.venue.quote(self.symbol)
        reference = current.bid if current.bid > 0 else current.mid
        if reference <= 0:
            raise AssertionError(
                f"{self.venue.name} quotes {self.symbol} at {current.bid}/{current.ask}: the "
                "kit needs a symbol with a positive price (set `symbol` on the test class)")
        self.bid = round_price(self.instrument, reference, Side.BUY)
        self.tick = self.instrument.tick_at(self.bid)
        self.ask = self.bid + self.tick
        self.unit = self._unit()
        self.depth = self.unit * 1000
        await self.show(bid_size=self.depth, ask_size=self.depth)
        await self.control.set_cash(self.ask * self.unit * 1000)

    def _unit(self) -> Decimal:
        instrument = self.instrument
        lot = instrument.lot_size
        unit = lot if lot >= 1 or Decimal(1) % lot != 0 else Decimal(1)
        floor = max(instrument.min_quantity,
                    instrument.min_notional / self.bid if instrument.min_notional else 0)
        if unit < floor:
            unit = (floor / lot).to_integral_value(ROUND_CEILING) * lot
        return unit

    # the market ------------------------------------------------------------------------
    async def show(self, *, bid_size: Decimal, ask_size: Decimal,
                   bid: Decimal | None = None, ask: Decimal | None = None) -> None:
        """Show a quote on the kit's symbol (the prepared prices unless given)."""
        await self.control.set_quote(self.symbol, bid if bid is not None else self.bid,
                                     ask if ask is not None else self.ask, bid_size, ask_size)

    def ticks_below_bid(self, ticks: int) -> Decimal:
        """A passive buy price ``ticks`` ticks under the bid (never crosses)."""
        return self.bid - self.tick * ticks

    # requests --------------------------------------------------------------------------
    def client_order_id(self) -> str:
        """A fresh client order id that fits the venue's declared alphabet and length."""
        self._ids += 1
        caps = self.capabilities
        raw = f"vk{self._ids}{uuid.uuid4().hex}"[:max(8, min(caps.client_order_id_max_length,
                                                             32))]
        alphabet = caps.client_order_id_alphabet
        return "".join(c if c in alphabet else (c.upper() if c.upper() in alphabet else "0")
                       for c in raw)

    def limit(self, side: Side, price: Decimal, units: int | Decimal = 1, *,
              time_in_force: TimeInForce = TimeInForce.GTC) -> OrderRequest:
        return OrderRequest(symbol=self.symbol, side=side, quantity=self.unit * units,
                            order_type=OrderType.LIMIT, limit_price=price,
                            time_in_force=time_in_force)

    def market(self, side: Side, units: int | Decimal = 1) -> OrderRequest:
        return OrderRequest(symbol=self.symbol, side=side, quantity=self.unit * units,
                            order_type=OrderType.MARKET, time_in_force=TimeInForce.DAY)

    def marketable(self, side: Side, units: int | Decimal = 1) -> OrderRequest:
        """A market order where the venue takes them, else a limit at the touch."""
        if self.capabilities.market_orders is False:
            return self.limit(side, self.ask if side is Side.BUY else self.bid, units)
        return self.market(side, units)

    async def submit(self, request: OrderRequest) -> tuple[str, OrderSnapshot]:
        """Send ``request`` straight to the venue with a fresh client id."""
        client_id = self.client_order_id()
        return client_id, await self.venue.submit(request, client_id)

    # waiting ---------------------------------------------------------------------------
    async def eventually(self, probe: Callable[[], Awaitable[T]],
                         done: Callable[[T], bool], *, timeout: float = 3.0,
                         what: str = "the condition") -> T:
        """Call ``probe`` until ``done`` holds for its result; fail after ``timeout`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await probe()
            if done(value):
                return value
            if loop.time() >= deadline:
                raise AssertionError(f"{what} did not hold within {timeout} s; last seen: "
                                     f"{value!r}")
            await asyncio.sleep(0.02)

    def ref(self, venue_order_id: str | None = None, *,
            client_order_id: str | None = None) -> OrderRef:
        """How to find an order of this session's symbol at the venue."""
        return OrderRef(client_order_id=client_order_id, venue_order_id=venue_order_id,
                        symbol=self.symbol)

    async def settled(self, ref_snapshot: OrderSnapshot, *, timeout: float = 3.0,
                      what: str = "the order to reach a final state") -> OrderSnapshot:
        ref = self.ref(ref_snapshot.venue_order_id)
        return await self.eventually(lambda: self.venue.fetch_order(ref),
                                     lambda s: s.state.is_terminal, timeout=timeout, what=what)

    # truth -----------------------------------------------------------------------------
    async def ledger_orders(self) -> Sequence[LedgerOrder]:
        return await self.control.orders()

    async def ledger_fills(self, venue_order_id: str | None = None) -> list[LedgerFill]:
        fills = await self.control.fills()
        return [f for f in fills if venue_order_id is None or f.venue_order_id == venue_order_id]

    # the engine ------------------------------------------------------------------------
    @asynccontextmanager
    async def engine(self, **options: Any) -> AsyncIterator[Engine]:
        """An :class:`~venuekit.engine.Engine` on the venue with a fresh, empty journal
        (:meth:`VenueTestBase.journal_target`: a SQLite file, or a PostgreSQL database).

        The venue is already connected and stays open after the engine stops (the kit
        closes it), so the engine is started without connecting it again.
        """
        journal = open_journal(self.suite.journal_target(self.workdir))
        options.setdefault("settlement", self.suite.settlement)
        options.setdefault("policy", OutcomePolicy(resolve_timeout=self.suite.timeout / 2))
        engine = Engine(self.venue, journal, host=PluginHost(load_entry_points=False),
                        **options)
        with journal:
            report = await engine.recover()
            assert report.ok, f"recovery on an empty journal failed: {report.failed}"
            await engine.settlement.start()
            try:
                yield engine
            finally:
                await engine.held.stop()
                await engine.settlement.stop()


class VenueTestBase:
    """What every standard test class needs from the plugin, and how it runs a test.

    Set ``symbol`` to a tradable symbol whose quote the market-control handle sets, and
    implement :meth:`venue_under_test`. The market must move only when the handle says so
    (no background clock) while the kit runs.
    """

    symbol: ClassVar[str] = ""
    """A tradable symbol the venue lists and the handle can quote."""
    unknown_symbol: ClassVar[str] = "VKNOSUCHSYMBOL"
    """A symbol the venue does not list."""
    timeout: ClassVar[float] = 30.0
    """Seconds one standard test may take before it fails."""
    settlement: ClassVar[SettlementOptions] = FAST_SETTLEMENT
    journal: ClassVar[str] = "sqlite"
    """The journal backend the kit's engines run on: ``"sqlite"`` (a fresh file per engine)
    or ``"postgres"`` (a fresh database per engine on the session's throw-away server, the
    ``postgres_server`` fixture of the kit's pytest plugin: it skips where the server or
    psycopg is missing, and fails instead under ``VENUEKIT_REQUIRE_POSTGRES=1``)."""

    _postgres: Server | None = None  # the session's server, when ``journal == "postgres"``

    @pytest.fixture(autouse=True)
    def _kit_journal_backend(self, request: pytest.FixtureRequest) -> None:
        """Fetch the PostgreSQL server for a class whose ``journal`` is ``"postgres"``."""
        if self.journal not in JOURNALS:
            raise ValueError(f"{type(self).__name__}.journal is {self.journal!r}; set it to "
                             f"one of {', '.join(map(repr, JOURNALS))}. See {GUIDE}.")
        if self.journal == "postgres":
            self._postgres = request.getfixturevalue("postgres_server")

    def journal_target(self, workdir: Path) -> str | Path:
        """Where the next engine of a test keeps its journal: a fresh, empty one each call.

        A SQLite file in the test's temporary ``workdir``, or (``journal = "postgres"``) a
        ``postgresql://`` URL of a fresh database. Override it to run the kit on another
        journal (it must be empty and opened by :func:`venuekit.journal.open_journal`).
        """
        if self._postgres is not None:
            return self._postgres.database()
        return workdir / f"journal-{uuid.uuid4().hex[:8]}.sqlite3"

    def venue_under_test(self) -> AbstractAsyncContextManager[VenueUnderTest]:
        """An async context manager yielding a connected venue and its market control.

        Override it in your test class, for example::

            @asynccontextmanager
            async def venue_under_test(self):
                async with MyEmulator() as emulator, MyVenue(url=emulator.url) as venue:
                    yield VenueUnderTest(venue, MyMarketControl(emulator))

        The kit enters it once per test and closes it afterwards.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement venue_under_test(): an async context "
            "manager that yields VenueUnderTest(venue=<your connected venue>, "
            f"control=<your MarketControl>). See {GUIDE}.")

    def run(self, body: Callable[[KitSession], Awaitable[T]],
            *gates: Gate) -> T:
        """Open the venue, prepare its market, run ``body``; skip when a gate refuses."""
        if not self.symbol:
            raise NotImplementedError(
                f"{type(self).__name__} must set `symbol` to a tradable symbol of the venue "
                f"whose quote its MarketControl can set. See {GUIDE}.")
        refusal: list[str] = []

        async def main() -> T | None:
            with tempfile.TemporaryDirectory(prefix="venuekit-kit-") as workdir:
                async with self.venue_under_test() as under_test:
                    if not isinstance(under_test, VenueUnderTest):
                        raise TypeError(f"venue_under_test() yielded {under_test!r}; yield a "
                                        "venuekit.testing.VenueUnderTest(venue, control)")
                    for gate in gates:
                        reason = gate.refusal(under_test.venue.capabilities)
                        if reason is not None:
                            refusal.append(reason)
                            return None
                    session = KitSession(self, under_test, Path(workdir))
                    try:
                        await session.prepare()
                        return await body(session)
                    finally:
                        await under_test.control.clear_faults()

        result = asyncio.run(asyncio.wait_for(main(), self.timeout))
        if refusal:
            pytest.skip(refusal[0])
        return result  # type: ignore[return-value]
