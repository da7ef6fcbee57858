"""Sizing a rebalance's orders, and what a resumed run has left to trade.

A sell of a notional is sized at the bid, a buy at the ask; quantities round down to the
lot. The buys together never exceed the buying power: when the plan asks for more, every
buy scales down by the same factor.

Each item's quantity (its *target*) is fixed the first time it is sized and journaled
before its first order is sent (:attr:`Sizer.targets`). When the run is resumed, an item
with a target trades only what is left of it once the fills of earlier sessions count
(:meth:`venuekit.runs.book.ItemProgress.left`): a resume never trades the plan twice, and
an item already done is reported as such, not traded again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from decimal import ROUND_FLOOR, Decimal

from ..errors import VenueKitError
from ..model import ZERO, Instrument, OrderRequest, Quote, Side
from ..quantize import round_quantity
from ..runs.book import RunStart
from .plan import PlanItem
from .report import ItemReport, ItemStatus, RebalanceReport

__all__ = ["Sizer", "floor"]

log = logging.getLogger("venuekit.rebalance")

Finish = Callable[[ItemReport, ItemStatus, "str | None"], None]


def floor(value: Decimal, places: str = "0.0001") -> Decimal:
    return value.quantize(Decimal(places), ROUND_FLOOR)


class Sizer:
    """Sizes one rebalance's orders. ``finish`` records an item that sends nothing."""

    def __init__(self, start: RunStart, correlation_id: str | None, finish: Finish) -> None:
        self.start = start
        self.correlation_id = correlation_id
        self.finish = finish
        self.targets: dict[int, Decimal] = {}
        """Targets sized for the first time, to journal before their orders are sent."""

    def _recorded(self, index: int) -> Decimal | None:
        run = self.start.run
        return None if run is None else run.item(index).target

    def sell(self, entry: ItemReport, item: PlanItem, instrument: Instrument,
             quote: Quote) -> OrderRequest | None:
        recorded = self._recorded(entry.index)
        if recorded is not None:
            left = self._left(entry, recorded, instrument)
            return None if left is None else self._request(entry, instrument, Side.SELL, left)
        quantity = item.quantity
        if quantity is None:
            assert item.notional is not None
            if quote.bid <= 0:
                self.finish(entry, ItemStatus.REFUSED, f"{item.symbol} has no bid to price "
                            "the notional")
                return None
            quantity = item.notional / quote.bid
        request = self._request(entry, instrument, Side.SELL, quantity)
        if request is not None and request.quantity is not None:
            self.targets[entry.index] = request.quantity
        return request

    def buys(self, buys: Sequence[tuple[ItemReport, PlanItem]],
             instruments: dict[str, Instrument], quotes: dict[str, Quote],
             report: RebalanceReport) -> list[OrderRequest | None]:
        wanted: list[Decimal | None] = []
        fresh: list[bool] = []
        for entry, item in buys:
            recorded = self._recorded(entry.index)
            fresh.append(recorded is None)
            if recorded is not None:
                wanted.append(self._left(entry, recorded, instruments[entry.symbol]))
                continue
            ask = quotes[entry.symbol].ask
            wanted.append(item.quantity if item.quantity is not None
                          else (item.notional or ZERO) / ask if ask > 0 else ZERO)
        cost = sum((q * quotes[e.symbol].ask for q, (e, _) in zip(wanted, buys, strict=True)
                    if q is not None), ZERO)
        budget = report.buy_budget or ZERO
        scale = Decimal(1)
        if cost > budget:
            scale = floor(budget / cost, "0.000001") if cost > 0 else ZERO
            log.warning("buys scaled down to the buying power",
                        extra={"planned_cost": str(cost), "budget": str(budget),
                               "scale": str(scale)})
        report.buy_scale = scale
        requests: list[OrderRequest | None] = []
        for quantity, is_fresh, (entry, item) in zip(wanted, fresh, buys, strict=True):
            if quantity is None:  # done in an earlier session
                requests.append(None)
                continue
            if quotes[entry.symbol].ask <= 0:
                self.finish(entry, ItemStatus.REFUSED, f"{item.symbol} has no ask to price "
                            "the order")
                requests.append(None)
                continue
            request = self._request(entry, instruments[entry.symbol], Side.BUY,
                                    quantity * scale)
            entry.scale = scale
            if request is not None and scale < 1:
                entry.warnings.append(f"scaled to {scale} of the plan to fit the buying "
                                      "power")
            if request is not None and is_fresh and request.quantity is not None:
                self.targets[entry.index] = request.quantity
            requests.append(request)
        return requests

    def _left(self, entry: ItemReport, target: Decimal, instrument: Instrument
              ) -> Decimal | None:
        """What is left of ``target`` after earlier sessions; None when the item is done (it
        is then finished here) or cannot trade until its unknown orders are resolved."""
        prior = self.start.earlier(entry.index)
        if prior is None:
            return target
        run = self.start.run
        assert run is not None
        entry.earlier_quantity = prior.filled
        entry.earlier_notional = prior.filled_notional
        earlier = prior.fees(instrument)
        entry.earlier_fees = earlier.value
        entry.earlier_other_fees = dict(earlier.other)
        if prior.unsettled > 0:
            self.finish(entry, ItemStatus.FAILED,
                        f"{prior.unsettled} of it is in orders of run {run.id} whose outcome "
                        "is still unknown; nothing more is sent until `venuekit recover` "
                        "resolves them")
            return None
        left = prior.left(target)
        try:
            rounded = round_quantity(instrument, left) if left > 0 else ZERO
        except VenueKitError:
            rounded = ZERO
        if rounded > 0:
            entry.warnings.append(f"resumed run {run.id}: {prior.filled} of {target} filled "
                                  f"earlier; {rounded} left")
            return left
        status = ItemStatus.COMPLETED if prior.filled > 0 else ItemStatus.SKIPPED
        self.finish(entry, status, f"{prior.filled} of {target} filled in an earlier "
                    f"session of run {run.id}; nothing left to trade")
        return None

    def _request(self, entry: ItemReport, instrument: Instrument, side: Side,
                 quantity: Decimal) -> OrderRequest | None:
        try:
            rounded = round_quantity(instrument, quantity)
        except VenueKitError as exc:
            self.finish(entry, ItemStatus.SKIPPED, exc.message)
            return None
        entry.requested_quantity = rounded
        entry.sized_quantity = quantity
        entry.lot_size = instrument.lot_size
        return OrderRequest(symbol=entry.symbol, side=side, quantity=rounded,
                            correlation_id=self.correlation_id)
