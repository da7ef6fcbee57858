"""KIS's records of orders: order numbers, cancel and modify orders, and the engine orders
behind them.

KIS numbers every order it accepts, new, cancel or modify alike, with an ``ODNO``: ten
digits, zero-padded, sequential within a KST day (``0000000001`` is the day's first; the
emulator's choice of where to start), unique only together with the order date
``ord_dt``. Every order belongs to the branch ``00950`` (``KRX_FWDG_ORD_ORGNO``,
``ord_gno_brno``, the notices' ``BRNC_NO``).

The matching engine knows none of that, so this module keeps, per KIS order, the engine
orders that execute it:

* a **new order** is one engine order at first. A partial cancel replaces the engine order
  by a smaller one at the same price (the engine's replace), which continues the same KIS
  order: the KIS order's fills are those of all its engine orders;
* a **cancel order** has no engine order: it records the quantity it asked to cancel and
  the quantity actually cancelled;
* a **modify order** is a new KIS order for the quantity moved to the new price, executed
  by its own engine order; the original keeps what was not moved.

Requests and the order stream both resolve engine orders to KIS orders here, whichever
sees an engine order first: the engine order carries, as its client order id, a token the
request registered with what it is for (an :class:`Intent`); an engine order that a cancel
or modify acts on carries the :class:`Amendment` in progress. Confirming either allocates
the order number once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from venuekit.model import Side
from venuekit_mock.sim import SimFill

from .kst import date_text, time_text

__all__ = ["BRANCH", "SIDE_CODES", "Amendment", "Intent", "KisOrder", "OrderRecords"]

BRANCH = "00950"
SIDE_CODES = {Side.SELL: "01", Side.BUY: "02"}
ZERO = Decimal(0)

Kind = Literal["new", "modify", "cancel"]


class EngineOrder(Protocol):
    """What the records need of an engine order (an ``OrderView`` or a snapshot)."""

    @property
    def venue_order_id(self) -> str: ...
    @property
    def client_order_id(self) -> str | None: ...
    @property
    def quantity(self) -> Decimal | None: ...
    @property
    def created_at(self) -> datetime | None: ...


@dataclass(eq=False)
class KisOrder:
    """One order as KIS numbers it (see the module documentation)."""

    seq: int
    """Acceptance ordinal across days (sorting)."""
    ord_dt: str
    odno: str
    ord_tmd: str
    kind: Kind
    symbol: str
    side: Side
    dvsn: str
    """``ORD_DVSN``: ``00`` limit, ``01`` market."""
    quantity: Decimal
    price: Decimal
    """The order price (0 for a market order; a cancel order shows its original's)."""
    exchange: str
    visible_at: float
    orgn_odno: str = ""
    engine_ids: list[str] = field(default_factory=list)
    cancelled: Decimal = ZERO
    """Quantity cancel orders took off this order."""
    moved: Decimal = ZERO
    """Quantity modify orders moved to a new price."""
    confirmed: Decimal = ZERO
    """A cancel order's quantity actually cancelled."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    """Held while a cancel or modify acts on this order (one at a time)."""

    @property
    def key(self) -> tuple[str, str]:
        return self.ord_dt, self.odno

    @property
    def side_code(self) -> str:
        return SIDE_CODES[self.side]


@dataclass(eq=False)
class Amendment:
    """A cancel or modify order acting on ``original``'s current engine order."""

    kind: Literal["cancel", "modify"]
    original: KisOrder
    asked: Decimal | None
    """The quantity asked for; None for the whole remainder (``QTY_ALL_ORD_YN`` Y)."""
    price: Decimal
    """A modify's new price (a cancel's: its original's price)."""
    order: KisOrder | None = None
    """The cancel or modify order, once accepted."""


@dataclass(eq=False)
class Intent:
    """What an engine order about to be made is for."""

    role: Literal["new", "modify", "continuation"]
    symbol: str
    side: Side
    dvsn: str
    price: Decimal
    exchange: str = "KRX"
    original: KisOrder | None = None
    amendment: Amendment | None = None


class OrderRecords:
    """Every KIS order, and the engine orders behind them."""

    def __init__(self, *, now: Callable[[], datetime], visibility_delay: float = 0.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._monotonic = monotonic
        self.visibility_delay = visibility_delay
        self.orders: list[KisOrder] = []
        self._by_key: dict[tuple[str, str], KisOrder] = {}
        self._by_engine: dict[str, KisOrder] = {}
        self._intents: dict[str, Intent] = {}
        self._amendments: dict[str, Amendment] = {}
        self._day_numbers: dict[str, int] = {}
        self._tokens = 0
        self._fills: dict[str, list[SimFill]] = {}
        self._fills_seen = 0

    # numbering -----------------------------------------------------------------------
    def _number(self, at: datetime, kind: Kind, symbol: str, side: Side, dvsn: str,
                quantity: Decimal, price: Decimal, exchange: str, *, orgn_odno: str = "",
                engine_id: str | None = None, confirmed: Decimal = ZERO) -> KisOrder:
        """A new KIS order, numbered: the next ``ODNO`` of its KST day."""
        day = date_text(at)
        number = self._day_numbers[day] = self._day_numbers.get(day, 0) + 1
        order = KisOrder(
            seq=len(self.orders) + 1, ord_dt=day, odno=str(number).zfill(10),
            ord_tmd=time_text(at), kind=kind, symbol=symbol, side=side, dvsn=dvsn,
            quantity=quantity, price=price, exchange=exchange,
            visible_at=self._monotonic() + self.visibility_delay, orgn_odno=orgn_odno,
            engine_ids=[engine_id] if engine_id is not None else [], confirmed=confirmed)
        self.orders.append(order)
        self._by_key[order.key] = order
        return order

    def token(self) -> str:
        """A fresh engine client order id for a request to register an intent under."""
        self._tokens += 1
        return f"kis-{self._tokens}"

    # intents -------------------------------------------------------------------------
    def expect(self, token: str, intent: Intent) -> None:
        self._intents[token] = intent

    def forget(self, token: str) -> None:
        """The engine did not make the order the intent was for."""
        self._intents.pop(token, None)

    def confirm(self, engine: EngineOrder) -> KisOrder | None:
        """The KIS order an engine order executes, recorded on first sight (None for an
        engine order no KIS request made)."""
        known = self._by_engine.get(engine.venue_order_id)
        if known is not None:
            return known
        intent = self._intents.pop(engine.client_order_id or "", None)
        if intent is None:
            return None
        quantity = engine.quantity or ZERO
        at = engine.created_at or self._now()
        if intent.role == "continuation":
            assert intent.original is not None
            order = intent.original
            order.engine_ids.append(engine.venue_order_id)
        elif intent.role == "modify":
            original, amendment = intent.original, intent.amendment
            assert original is not None and amendment is not None
            order = self._number(at, "modify", original.symbol, original.side, intent.dvsn,
                                 quantity, intent.price, original.exchange,
                                 orgn_odno=original.odno, engine_id=engine.venue_order_id)
            original.moved += quantity
            amendment.order = order
        else:
            order = self._number(at, "new", intent.symbol, intent.side, intent.dvsn,
                                 quantity, intent.price, intent.exchange,
                                 engine_id=engine.venue_order_id)
        self._by_engine[engine.venue_order_id] = order
        return order

    def engine_order(self, engine_id: str) -> KisOrder | None:
        """The KIS order an engine order executes, if it was confirmed."""
        return self._by_engine.get(engine_id)

    # amendments ----------------------------------------------------------------------
    def begin(self, engine_id: str, amendment: Amendment) -> None:
        """A cancel or modify is about to act on the engine order ``engine_id``."""
        self._amendments[engine_id] = amendment

    def abandon(self, engine_id: str) -> None:
        """The amendment on ``engine_id`` did not act."""
        amendment = self._amendments.get(engine_id)
        if amendment is not None and amendment.order is None:
            del self._amendments[engine_id]

    def amendment_on(self, engine_id: str) -> Amendment | None:
        return self._amendments.get(engine_id)

    def confirm_cancel(self, engine_id: str, cancelled: Decimal) -> KisOrder | None:
        """The cancel order acting on ``engine_id`` took ``cancelled`` off its original:
        recorded (numbered) on first call, the same order after."""
        amendment = self._amendments.get(engine_id)
        if amendment is None or amendment.kind != "cancel":
            return None
        if amendment.order is None:
            original = amendment.original
            amendment.order = self._number(
                self._now(), "cancel", original.symbol, original.side, original.dvsn,
                amendment.asked or cancelled, original.price, original.exchange,
                orgn_odno=original.odno, confirmed=cancelled)
            original.cancelled += cancelled
        return amendment.order

    # lookups -------------------------------------------------------------------------
    def find(self, odno: str, day: str) -> KisOrder | None:
        """The order numbered ``odno`` on ``day`` (KST ``YYYYMMDD``)."""
        return self._by_key.get((day, odno))

    def visible(self, order: KisOrder) -> bool:
        return self._monotonic() >= order.visible_at

    # executions ----------------------------------------------------------------------
    def sync_fills(self, fills: list[SimFill]) -> None:
        """Index the engine's new fills by engine order."""
        for fill in fills[self._fills_seen:]:
            self._fills.setdefault(fill.venue_order_id, []).append(fill)
        self._fills_seen = len(fills)

    def executions(self, order: KisOrder) -> Iterator[SimFill]:
        """The order's fills (call :meth:`sync_fills` first), engine order by engine order."""
        for engine_id in order.engine_ids:
            yield from self._fills.get(engine_id, ())

    def executed(self, order: KisOrder) -> tuple[Decimal, Decimal]:
        """``(quantity, amount)`` executed so far."""
        quantity = amount = ZERO
        for fill in self.executions(order):
            quantity += fill.quantity
            amount += fill.quantity * fill.price
        return quantity, amount
