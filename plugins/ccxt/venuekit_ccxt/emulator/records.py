"""Binance's records of orders: order ids, client order ids, and what the engine does not keep.

Order ids are integers, increasing in the order Binance accepted the orders. Nearly every
order is an engine order (``M00000007``); the exception is a fill-or-kill order that could
not fill: the engine refuses it (its ledger records the rejection), while Binance accepts
it and expires it at once. Such an order is a :class:`ExpiredOrder` kept here, numbered
between the engine orders it came between: an engine order's id is its sequence number
plus the number of expired orders made before it, and an expired order's id is the number
of engine orders made before it plus its own ordinal. Ids are computed, not stored.

Binance lets a client order id be used again once its order is no longer open, while the
engine refuses any reuse; so the engine receives ``cid`` the first time and ``cid.2``,
``cid.3``, ... after (a dot never occurs in a Binance id). :class:`OrderMeta` holds, by the
engine's client order id, what Binance shows and the engine has no field for: the type
(``LIMIT_MAKER``), the time in force Binance names, the ``quoteOrderQty`` asked for, the
self-trade prevention mode, the client order id of the cancel, and the order that a
cancel-replace replaced.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from venuekit.model import Side

__all__ = ["ExpiredOrder", "OrderMeta", "OrderRecords", "binance_client_id"]


def binance_client_id(engine_client_id: str) -> str:
    """The Binance client order id an engine client order id stands for."""
    return engine_client_id.partition(".")[0]


@dataclass
class OrderMeta:
    """What Binance shows of an order beyond the engine's record."""

    client_order_id: str
    type: str
    """LIMIT, LIMIT_MAKER or MARKET."""
    time_in_force: str
    """GTC, IOC or FOK (GTC for market orders and LIMIT_MAKER, as Binance shows them)."""
    quote_order_qty: Decimal | None = None
    stp_mode: str = "EXPIRE_MAKER"
    replaces: int | None = None
    """The Binance order id a cancel-replace cancelled to place this order."""
    cancel_client_order_id: str | None = None
    """The client order id of the request that cancelled the order."""


@dataclass
class ExpiredOrder:
    """A fill-or-kill order Binance accepted and expired at once, with nothing filled."""

    order_id: int
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    created_at: datetime
    meta: OrderMeta
    engine_orders_before: int


@dataclass
class OrderRecords:
    """Ids, client order ids and metadata of every order Binance accepted."""

    order_prefix: str
    meta: dict[str, OrderMeta] = field(default_factory=dict)
    """By engine client order id."""
    uses: dict[str, int] = field(default_factory=dict)
    """Attempts per Binance client order id."""
    accepted: dict[str, list[str]] = field(default_factory=dict)
    """Engine client order ids of the accepted orders, per Binance client order id."""
    expired: list[ExpiredOrder] = field(default_factory=list)
    _marks: list[int] = field(default_factory=list)
    _expired_ids: list[int] = field(default_factory=list)

    # client order ids ----------------------------------------------------------------
    def engine_client_id(self, client_order_id: str) -> str:
        """A fresh engine client order id for an attempt with ``client_order_id``."""
        uses = self.uses[client_order_id] = self.uses.get(client_order_id, 0) + 1
        return client_order_id if uses == 1 else f"{client_order_id}.{uses}"

    def note_accepted(self, engine_client_id: str) -> None:
        cid = binance_client_id(engine_client_id)
        listed = self.accepted.setdefault(cid, [])
        if engine_client_id not in listed:
            listed.append(engine_client_id)

    def engine_ids(self, client_order_id: str) -> list[str]:
        """Engine client order ids of the accepted orders with ``client_order_id``,
        newest first."""
        return list(reversed(self.accepted.get(client_order_id, ())))

    # order ids -----------------------------------------------------------------------
    def _sequence(self, venue_order_id: str) -> int:
        return int(venue_order_id[len(self.order_prefix):])

    def order_id(self, venue_order_id: str) -> int:
        """The Binance order id of an engine order."""
        seq = self._sequence(venue_order_id)
        return seq + bisect_left(self._marks, seq)

    def locate(self, order_id: int) -> str | ExpiredOrder | None:
        """The engine order id (or the expired order) behind a Binance order id, or None
        when no order got that id (the engine orders are not checked for existence)."""
        if order_id < 1:
            return None
        index = bisect_left(self._expired_ids, order_id)
        if index < len(self._expired_ids) and self._expired_ids[index] == order_id:
            return self.expired[index]
        return self.order_prefix + str(order_id - index).zfill(8)

    def add_expired(self, *, engine_orders: int, symbol: str, side: Side, quantity: Decimal,
                    price: Decimal, created_at: datetime, meta: OrderMeta) -> ExpiredOrder:
        """Record an expired fill-or-kill order; ``engine_orders`` is how many engine orders
        exist now."""
        if self._marks and engine_orders < self._marks[-1]:
            engine_orders = self._marks[-1]
        order = ExpiredOrder(engine_orders + len(self.expired) + 1, symbol, side, quantity,
                             price, created_at, meta, engine_orders)
        self.expired.append(order)
        self._marks.append(engine_orders)
        self._expired_ids.append(order.order_id)
        return order
