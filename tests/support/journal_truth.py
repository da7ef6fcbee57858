"""Compare the SDK's book of record (the journal) with the venue's ledger of truth."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from venuekit.journal.base import Journal
from venuekit_mock.sim.ledger import Ledger

FillKey = tuple[str, str, Decimal, Decimal, Decimal]


def ledger_fills(ledger: Ledger) -> set[FillKey]:
    return {(f.trade_id, f.venue_order_id, f.quantity, f.price, f.fee) for f in ledger.fills}


def journal_fills(journal: Journal, venue: str = "mock") -> set[FillKey]:
    return {(f.trade_id, f.venue_order_id or "", f.quantity, f.price, f.fee)
            for f in journal.fills(venue=venue)}


def assert_journal_matches_ledger(journal: Journal, ledger: Ledger, venue: str = "mock"
                                  ) -> None:
    """Every venue fill is journaled exactly once and nothing else is; orders pair one to one."""
    assert journal_fills(journal, venue) == ledger_fills(ledger)
    orders = journal.orders(venue=venue)
    venue_ids = [o.venue_order_id for o in orders if o.venue_order_id]
    assert len(venue_ids) == len(set(venue_ids)), "two journal orders claim one venue order"
    accepted = {o.venue_order_id for o in ledger.orders}
    assert set(venue_ids) <= accepted
    for order in orders:
        if order.venue_order_id:
            assert order.filled_quantity == ledger.filled_quantity(order.venue_order_id), order


class Placed(Protocol):
    @property
    def venue_order_id(self) -> str: ...
    @property
    def client_order_id(self) -> str | None: ...


class Executed(Protocol):
    @property
    def trade_id(self) -> str: ...
    @property
    def venue_order_id(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...


class Truth(Protocol):
    """What a venue really did, in the ids the SDK sees (the mock's :class:`Ledger` is one)."""

    @property
    def orders(self) -> Sequence[Placed]: ...
    @property
    def fills(self) -> Sequence[Executed]: ...
    def filled_quantity(self, venue_order_id: str) -> Decimal: ...


def tally(journal: Journal, truth: Truth, *, client_order_ids: bool,
          venue: str = "mock") -> dict[str, int]:
    """How far the journal is from the venue's truth, as counts (all 0 when it is exact).

    * ``intended``: orders the SDK journaled; ``venue_orders``: orders the venue accepted;
    * ``duplicates``: venue orders beyond one per journaled order, counting orders the
      journal does not know at all (matched by client order id where the venue keeps it,
      else by the venue order id the journal recorded);
    * ``lost_fills``: venue executions missing from the journal (by order and trade id) that no
      journaled execution of the same order stands in for;
    * ``phantom_fills``: journaled executions beyond what the venue executed for the order;
    * ``restated_fills``: venue executions the journal holds under another id, with the
      quantity right: an inferred fill (derived id and price, no fee) made while the venue
      had not itemized them, or one execution rebuilt from an order's cumulative fill;
    * ``inferred_fills``: executions the SDK inferred;
    * ``overfills``: orders whose journaled fill exceeds the order or the venue's fill;
    * ``underfills``: orders whose journaled fill is short of the venue's;
    * ``unresolved``: journaled orders not in a final state.
    """
    orders = journal.orders(venue=venue)
    accepted = truth.orders
    by_client = {o.id for o in orders} if client_order_ids else set()
    by_venue_id = {o.venue_order_id: o.id for o in orders if o.venue_order_id}
    owned: Counter[str] = Counter()
    orphans = 0
    for placed in accepted:
        owner = placed.client_order_id if placed.client_order_id in by_client \
            else by_venue_id.get(placed.venue_order_id)
        if owner is None:
            orphans += 1
        else:
            owned[owner] += 1
    duplicates = orphans + sum(n - 1 for n in owned.values())
    journaled = journal.fills(venue=venue)
    # A trade id names an execution within its order's symbol (Binance numbers trades per
    # symbol): executions are matched by order and trade id.
    journaled_ids = {(f.venue_order_id or "", f.trade_id) for f in journaled}
    venue_ids = {(f.venue_order_id, f.trade_id) for f in truth.fills}
    missing: dict[str, list[Decimal]] = {}
    for fill in truth.fills:
        if (fill.venue_order_id, fill.trade_id) not in journaled_ids:
            missing.setdefault(fill.venue_order_id, []).append(fill.quantity)
    extra: dict[str, list[Decimal]] = {}
    for journal_fill in journaled:
        if (journal_fill.venue_order_id or "", journal_fill.trade_id) not in venue_ids:
            extra.setdefault(journal_fill.venue_order_id or "", []).append(
                journal_fill.quantity)
    lost = phantom = restated = 0
    for venue_order_id in set(missing) | set(extra):
        absent = missing.get(venue_order_id, [])
        added = extra.get(venue_order_id, [])
        if sum(absent) == sum(added):
            restated += len(absent)
        elif sum(absent) > sum(added):
            lost += len(absent)
        else:
            phantom += len(added)
    overfills = underfills = 0
    for order in orders:
        if order.quantity is not None and order.filled_quantity > order.quantity:
            overfills += 1
            continue
        executed = truth.filled_quantity(order.venue_order_id) if order.venue_order_id \
            else Decimal(0)
        if order.filled_quantity > executed:
            overfills += 1
        elif order.filled_quantity < executed:
            underfills += 1
    return {
        "intended": len(orders),
        "venue_orders": len(accepted),
        "duplicates": duplicates,
        "lost_fills": lost,
        "phantom_fills": phantom,
        "restated_fills": restated,
        "inferred_fills": sum(1 for f in journaled if f.inferred),
        "overfills": overfills,
        "underfills": underfills,
        "unresolved": sum(1 for o in orders if not o.state.is_terminal),
    }


@dataclass(frozen=True)
class _Placed:
    venue_order_id: str
    client_order_id: str | None


@dataclass(frozen=True)
class _Executed:
    trade_id: str
    venue_order_id: str
    quantity: Decimal
    price: Decimal


@dataclass(frozen=True)
class WireTruth:
    """An emulator's ledger in the ids its plugin gives: for Alpaca, order UUIDs and
    executions named by the order id and its cumulative filled quantity; for Binance,
    ``SYMBOL:orderId`` and Binance's trade ids."""

    orders: list[_Placed]
    fills: list[_Executed]

    @classmethod
    def of(cls, orders: Sequence[Mapping[str, Any]],
           fills: Sequence[Mapping[str, Any]]) -> WireTruth:
        """From the ledger's ``orders`` and ``fills`` as the emulator's control gives them
        (in process, or over HTTP at ``/_venuekit/ledger``)."""
        from venuekit_alpaca.convert import trade_id

        cumulative: dict[str, Decimal] = {}
        executed = []
        for fill in fills:
            order_id, quantity = fill["order_id"], Decimal(fill["qty"])
            cumulative[order_id] = cumulative.get(order_id, Decimal(0)) + quantity
            executed.append(_Executed(trade_id(order_id, cumulative[order_id]), order_id,
                                      quantity, Decimal(fill["price"])))
        return cls([_Placed(o["id"], o["client_order_id"]) for o in orders], executed)

    @classmethod
    def of_binance(cls, orders: Sequence[Mapping[str, Any]],
                   fills: Sequence[Mapping[str, Any]]) -> WireTruth:
        """From a Binance emulator's ``orders`` and ``fills``, in the ids the ccxt plugin
        gives them (``F0USDT:7``, Binance's trade id)."""
        from venuekit_ccxt.convert import order_id

        return cls([_Placed(order_id(str(o["symbol"]), o["orderId"]), o.get("clientOrderId"))
                    for o in orders],
                   [_Executed(str(f["tradeId"]), order_id(str(f["symbol"]), f["orderId"]),
                              Decimal(f["qty"]), Decimal(f["price"])) for f in fills])

    @classmethod
    def of_kis(cls, orders: Sequence[Mapping[str, Any]],
               fills: Sequence[Mapping[str, Any]]) -> WireTruth:
        """From a KIS emulator's ``orders`` and ``fills``, in the ids the KIS plugin gives
        them (``20261207-00950-0000000012``; executions as its notice stream names them).
        Cancels are orders of their own at KIS: only the orders they cancel count."""
        from venuekit_kis.testing import ledger_fills, ledger_orders

        return cls([_Placed(o.venue_order_id, None) for o in ledger_orders(orders)],
                   [_Executed(f.trade_id, f.venue_order_id, f.quantity, f.price)
                    for f in ledger_fills(fills)])

    def filled_quantity(self, venue_order_id: str) -> Decimal:
        return sum((f.quantity for f in self.fills if f.venue_order_id == venue_order_id),
                   Decimal(0))
