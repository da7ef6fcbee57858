"""The engine: one venue, the journal, the tracker and the outcome policy, bound together.

An :class:`Engine` refuses to trade until recovery has reconciled every open order the
journal holds for its venue. Each order is quantized to the instrument's rules, committed
to the journal (NEW, then SUBMITTED) and only then sent.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from types import TracebackType
from typing import Self

from .errors import Code, VenueKitError, error
from .journal.base import Journal
from .journal.ids import ClientIdRules
from .model import Instrument, Order, OrderRequest, OrderType
from .outcome import OutcomePolicy, Submitter
from .plugins import PluginHost
from .quantize import quantize_request
from .recovery import RecoveryReport, recover
from .tracking import OrderTracker
from .venue import Venue

__all__ = ["Engine"]

log = logging.getLogger("venuekit.engine")


class Engine:
    """Executes orders on one venue with a durable journal."""

    def __init__(self, venue: Venue, journal: Journal, *, host: PluginHost | None = None,
                 policy: OutcomePolicy | None = None) -> None:
        self.venue = venue
        self.journal = journal
        self.host = host
        self.policy = policy or OutcomePolicy()
        self.tracker = OrderTracker(venue.name, journal, host)
        self.submitter = Submitter(venue, self.tracker, self.policy)
        self.id_rules = ClientIdRules.from_capabilities(venue.capabilities)
        self._instruments: dict[str, Instrument] = {}
        self._refusal: VenueKitError | None = error(
            Code.INVALID_CONFIG, "the engine is not started: call `await engine.start()`")
        self.recovery: RecoveryReport | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def start(self) -> RecoveryReport:
        """Connect the venue and reconcile the journal's open orders with it.

        Trading is refused (every submit raises RECONCILIATION_FAILED naming the orders) if
        any order could not be reconciled; run recovery again once the venue is reachable.
        """
        await self.venue.connect()
        return await self.recover()

    async def recover(self) -> RecoveryReport:
        report = await recover(self.venue, self.tracker, self.policy)
        self.recovery = report
        if report.ok:
            self._refusal = None
        else:
            names = ", ".join(order_id for order_id, _ in report.failed[:5])
            more = len(report.failed) - 5
            suffix = f" and {more} more" if more > 0 else ""
            self._refusal = error(
                Code.RECONCILIATION_FAILED,
                f"trading is refused: {len(report.failed)} open order(s) could not be "
                f"reconciled with {self.venue.name} ({names}{suffix})", venue=self.venue.name)
            log.error("trading refused after recovery",
                      extra={"venue": self.venue.name, "failed": len(report.failed)})
        return report

    async def close(self) -> None:
        await self.venue.close()

    async def instrument(self, symbol: str) -> Instrument:
        cached = self._instruments.get(symbol)
        if cached is None:
            cached = self._instruments[symbol] = await self.venue.instrument(symbol)
        return cached

    async def prepare(self, request: OrderRequest) -> OrderRequest:
        """``request`` quantized to its instrument's rules (a validation error if it cannot be)."""
        instrument = await self.instrument(request.symbol)
        reference: Decimal | None = None
        if request.order_type is OrderType.MARKET and instrument.min_notional > 0:
            reference = (await self.venue.quote(request.symbol)).touch(request.side)
        return quantize_request(instrument, request, reference_price=reference)

    async def submit(self, request: OrderRequest) -> Order:
        """Quantize, journal and send one order under the outcome policy.

        Returns the order acknowledged, filled or rejected, or still SUBMITTED when its
        outcome could not be resolved in time (recovery resolves it later; the order is in
        the journal either way). Raises a validation error, with nothing sent, when the
        request cannot satisfy the instrument's rules.
        """
        if self._refusal is not None:
            raise self._refusal
        prepared = await self.prepare(request)
        with self.journal.batch():  # NEW and SUBMIT share one commit, made before sending
            order = self.journal.create_order(self.venue.name, prepared,
                                              id_rules=self.id_rules,
                                              quantity=prepared.quantity,
                                              limit_price=prepared.limit_price)
            self.submitter.begin(order)
        return await self.submitter.submit(order)
