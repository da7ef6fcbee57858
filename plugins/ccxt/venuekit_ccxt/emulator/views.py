"""The Binance view of the engine's records: orders, fills and balances as Binance shows them.

:class:`BinanceView` reads the mock venue's engine (its orders, its ledger of fills, the
:class:`~.account.BinanceAccount`) and answers in Binance's terms: an order's integer id,
client order id, type, status and cumulative quote quantity; a fill's per-symbol trade id
and commission; an asset's free and locked balance. Every REST answer and stream event is
built from these, so they agree with each other by construction.

The cumulative quote quantity of an order is the sum of its fills' ``qty * price`` (never
``executedQty`` times an average, which would not be exact).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Protocol

from venuekit.model import OrderState, OrderType, Side, TimeInForce
from venuekit_mock.sim import SimFill

from .account import BinanceAccount
from .jsonio import millis
from .records import ExpiredOrder, OrderMeta, binance_client_id
from .state import EmulatorState

__all__ = ["STATUS", "BinanceFill", "BinanceOrder", "BinanceView"]

ZERO = Decimal(0)
_EXECUTIONS_KEPT = 10_000

STATUS: dict[OrderState, str] = {
    OrderState.ACKNOWLEDGED: "NEW",
    OrderState.PENDING_CANCEL: "NEW",
    OrderState.PENDING_REPLACE: "NEW",
    OrderState.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderState.FILLED: "FILLED",
    OrderState.CANCELLED: "CANCELED",
    OrderState.REPLACED: "CANCELED",
    OrderState.EXPIRED: "EXPIRED",
    OrderState.REJECTED: "REJECTED",
}
_EXPIRY = {"MARKET": "INSUFFICIENT_LIQUIDITY", "IOC": "UNFILLED_IOC_QUANTITY_EXPIRED",
           "FOK": "UNFILLED_FOK_ORDER_EXPIRED"}


class BinanceOrder(NamedTuple):
    """One order as Binance shows it at one moment."""

    order_id: int
    symbol: str
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    status: str
    price: Decimal
    quantity: Decimal
    executed: Decimal
    quote_executed: Decimal
    quote_order_qty: Decimal
    created_ms: int
    updated_ms: int
    meta: OrderMeta
    venue_order_id: str | None

    @property
    def expiry_reason(self) -> str | None:
        if self.status != "EXPIRED":
            return None
        return _EXPIRY["MARKET" if self.type == "MARKET" else self.time_in_force]


class BinanceFill(NamedTuple):
    """One fill as Binance shows it (``myTrades``, ``fills[]``, ``executionReport``)."""

    trade_id: int
    order_id: int
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    maker: bool
    record: SimFill


class _Order(Protocol):
    """The fields of an engine order a Binance order is built from (a view or a snapshot)."""

    @property
    def venue_order_id(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def state(self) -> OrderState: ...
    @property
    def quantity(self) -> Decimal | None: ...
    @property
    def limit_price(self) -> Decimal | None: ...
    @property
    def filled_quantity(self) -> Decimal: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def updated_at(self) -> datetime | None: ...


class BinanceView:
    """Reads the engine in Binance's terms (see the module documentation)."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._by_order: dict[str, list[int]] = {}
        self._indexed = 0
        self._executions: OrderedDict[tuple[object, ...], int] = OrderedDict()
        self._execution_seq = 0

    @property
    def account(self) -> BinanceAccount:
        return self.state.account

    def _sync(self) -> None:
        fills = self.state.venue.simulator.ledger.fills
        if self._indexed > len(fills):  # the engine was replaced (restored state)
            self._by_order.clear()
            self._indexed = 0
        for index in range(self._indexed, len(fills)):
            self._by_order.setdefault(fills[index].venue_order_id, []).append(index)
        self._indexed = len(fills)

    # fills ---------------------------------------------------------------------------
    def fill_index(self, trade_id: str) -> int:
        """The ledger index of the engine fill ``trade_id``."""
        fills = self.state.venue.simulator.ledger.fills
        prefix = self.state.venue.simulator.config.trade_id_prefix
        index = int(trade_id[len(prefix):]) - 1
        if 0 <= index < len(fills) and fills[index].trade_id == trade_id:
            return index
        return next(i for i, f in enumerate(fills) if f.trade_id == trade_id)

    def fill(self, index: int) -> BinanceFill:
        record = self.state.venue.simulator.ledger.fills[index]
        extra = self.account.fill_records[index]
        return BinanceFill(extra.trade_id, self.order_id(record.venue_order_id), record.symbol,
                           record.side.value.upper(), record.quantity, record.price,
                           extra.commission, extra.asset, millis(record.at),
                           record.liquidity == "maker", record)

    def fills_of(self, venue_order_id: str, executed: Decimal | None = None
                 ) -> list[BinanceFill]:
        """The order's fills, oldest first; with ``executed``, those that make it up."""
        self._sync()
        chosen: list[BinanceFill] = []
        total = ZERO
        for index in self._by_order.get(venue_order_id, ()):
            if executed is not None and total >= executed:
                break
            fill = self.fill(index)
            total += fill.quantity
            chosen.append(fill)
        return chosen

    # orders --------------------------------------------------------------------------
    def order_id(self, venue_order_id: str) -> int:
        return self.account.records.order_id(venue_order_id)

    def meta(self, engine_client_id: str | None, venue_order_id: str) -> OrderMeta:
        """What Binance shows of an engine order beyond the engine's record (derived from
        the engine's order for one the emulator has no record of)."""
        meta = self.account.records.meta.get(engine_client_id or "")
        if meta is not None:
            return meta
        view = self.state.venue.simulator.order(venue_order_id)
        cid = binance_client_id(engine_client_id or "")
        if view.order_type is OrderType.MARKET:
            return OrderMeta(cid, "MARKET", "GTC")
        tif = view.time_in_force
        return OrderMeta(cid, "LIMIT", tif.value.upper()
                         if tif in (TimeInForce.IOC, TimeInForce.FOK) else "GTC")

    def execution_id(self, key: tuple[object, ...]) -> int:
        """The execution id of one order event, the same each time that event is sent
        (a duplicated event carries its original's id)."""
        known = self._executions.get(key)
        if known is None:
            self._execution_seq += 1
            known = self._executions[key] = self._execution_seq
            while len(self._executions) > _EXECUTIONS_KEPT:
                self._executions.popitem(last=False)
        return known

    def order(self, order: _Order, meta: OrderMeta) -> BinanceOrder:
        """An engine order (a view or a snapshot) as Binance shows it."""
        executed = order.filled_quantity
        quote = sum((f.quantity * f.price for f in self.fills_of(order.venue_order_id,
                                                                  executed)), ZERO)
        created = order.created_at or self.state.venue.simulator.now()
        return BinanceOrder(
            self.order_id(order.venue_order_id), order.symbol, meta.client_order_id,
            order.side.value.upper(), meta.type, meta.time_in_force, STATUS[order.state],
            order.limit_price if order.limit_price is not None else ZERO,
            order.quantity or executed, executed, quote, meta.quote_order_qty or ZERO,
            millis(created), millis(order.updated_at or created), meta,
            order.venue_order_id)

    @staticmethod
    def expired(order: ExpiredOrder) -> BinanceOrder:
        ms = millis(order.created_at)
        return BinanceOrder(order.order_id, order.symbol, order.meta.client_order_id,
                            order.side.value.upper(), order.meta.type,
                            order.meta.time_in_force, "EXPIRED", order.price, order.quantity,
                            ZERO, ZERO, ZERO, ms, ms, order.meta, None)

    # balances ------------------------------------------------------------------------
    def balances(self, assets: Iterable[str] | None = None
                 ) -> list[tuple[str, Decimal, Decimal]]:
        """``(asset, free, locked)`` of ``assets`` (every asset the account shows)."""
        account = self.account
        names = account.asset_names() if assets is None else list(dict.fromkeys(assets))
        return [(name, *account.balance(name)) for name in names]
