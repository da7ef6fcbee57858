"""The ledger of truth: what the venue really did, whatever its answers said.

Every accepted order, fill, cancel, expiry, replace and rejection is recorded here at the
moment the engine does it, and so is every fault the venue injected. Records are named
tuples: immutable, and cheap enough to append on the hot path. Tests compare the
SDK's view (its journal, its tracked orders) with this record: "the venue holds no
duplicate order", "the journal's fills are the venue's fills".
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from venuekit.model import Side

from .records import OrderView, SimFill, SimOrder

__all__ = [
    "Fingerprint",
    "Ledger",
    "LedgerCancel",
    "LedgerFault",
    "LedgerReject",
    "LedgerReplace",
    "fingerprint",
]

Fingerprint = tuple[str, Side, Decimal, Decimal | None]
"""symbol, side, quantity, limit price: how an order is recognised without ids."""


def fingerprint(order: OrderView) -> Fingerprint:
    return (order.symbol, order.side, order.quantity, order.limit_price)


class LedgerCancel(NamedTuple):
    """An order that stopped working with quantity left: ``kind`` is ``"cancelled"`` (asked
    for) or ``"expired"`` (its time in force ended it)."""

    venue_order_id: str
    client_order_id: str | None
    kind: str
    remaining: Decimal
    at: datetime
    reason: str | None = None


class LedgerReplace(NamedTuple):
    old_venue_order_id: str
    new_venue_order_id: str
    at: datetime


class LedgerReject(NamedTuple):
    """A create or replace the venue refused; ``code`` is the venuekit error code's name."""

    order_index: int | None
    client_order_id: str | None
    symbol: str
    side: Side
    quantity: Decimal
    limit_price: Decimal | None
    code: str
    message: str
    at: datetime


class LedgerFault(NamedTuple):
    """A fault the venue injected: which, on which request or event, and what it hid."""

    kind: str
    operation: str
    order_index: int | None
    venue_order_id: str | None
    at: datetime
    detail: str = ""


class Ledger:
    """Append-only lists of what happened, with the queries tests need."""

    def __init__(self) -> None:
        # The engine's records of the accepted orders. What was accepted (ids, symbol, side,
        # type, quantity, price, time) never changes on a record, so the ledger keeps the
        # records rather than a copy of each: one object less per order for the garbage
        # collector to walk, which is a tenth of the simulator's cost on long runs.
        self._accepted: list[SimOrder] = []
        self.fills: list[SimFill] = []
        self.cancels: list[LedgerCancel] = []
        self.replaces: list[LedgerReplace] = []
        self.rejects: list[LedgerReject] = []
        self.faults: list[LedgerFault] = []

    def record_fault(self, kind: str, operation: str, at: datetime, *,
                     order_index: int | None = None, venue_order_id: str | None = None,
                     detail: str = "") -> None:
        self.faults.append(LedgerFault(kind, operation, order_index, venue_order_id, at,
                                       detail))

    def record_order(self, order: SimOrder) -> None:
        self._accepted.append(order)

    # queries -------------------------------------------------------------------------
    @property
    def orders(self) -> list[OrderView]:
        """Every accepted order as it was at acceptance, oldest first (a replacement
        names the order it replaces)."""
        return [order.accepted_view() for order in self._accepted]

    @property
    def order_count(self) -> int:
        return len(self._accepted)

    def order(self, venue_order_id: str) -> OrderView | None:
        for order in self._accepted:
            if order.venue_order_id == venue_order_id:
                return order.accepted_view()
        return None

    def orders_with_client_id(self, client_order_id: str) -> list[OrderView]:
        return [o.accepted_view() for o in self._accepted
                if o.client_order_id == client_order_id]

    def fills_for(self, client_order_id: str | None = None, *,
                  venue_order_id: str | None = None) -> list[SimFill]:
        """Fills of the order with this client id and/or venue id, oldest first."""
        if client_order_id is None and venue_order_id is None:
            raise ValueError("give a client_order_id or a venue_order_id")
        return [f for f in self.fills
                if (client_order_id is None or f.client_order_id == client_order_id)
                and (venue_order_id is None or f.venue_order_id == venue_order_id)]

    def filled_quantity(self, venue_order_id: str) -> Decimal:
        return sum((f.quantity for f in self.fills if f.venue_order_id == venue_order_id),
                   Decimal(0))

    def duplicate_client_ids(self) -> dict[str, int]:
        """Client order ids carried by more than one accepted order, with their counts.

        The engine refuses duplicates, so this is empty unless something is badly wrong;
        duplicate *attempts* are in :attr:`rejects` with code ``DUPLICATE_CLIENT_ORDER_ID``.
        """
        counts = Counter(o.client_order_id for o in self._accepted if o.client_order_id)
        return {cid: n for cid, n in counts.items() if n > 1}

    def duplicate_fingerprints(self) -> dict[Fingerprint, list[str]]:
        """Accepted orders (replacements excluded) that share symbol, side, quantity and
        limit price, by fingerprint: how a test proves an id-less venue got no duplicate."""
        groups: dict[Fingerprint, list[str]] = {}
        for order in self.orders:
            if order.replaces is None:
                groups.setdefault(fingerprint(order), []).append(order.venue_order_id)
        return {fp: ids for fp, ids in groups.items() if len(ids) > 1}

    def faults_of(self, kind: str) -> list[LedgerFault]:
        return [f for f in self.faults if f.kind == kind]

    def rejects_with(self, code: str) -> list[LedgerReject]:
        return [r for r in self.rejects if r.code == code]
