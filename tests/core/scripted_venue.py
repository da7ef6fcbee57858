"""A venue whose answers a test scripts, to drive the outcome policy precisely."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from venuekit.errors import Code, error
from venuekit.model import (
    Account,
    Fill,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    OrderState,
    Quote,
    utcnow,
)
from venuekit.venue import Capabilities, OrderRef, Venue

Action = Callable[[], None]


class ScriptedVenue(Venue):
    """Accepts orders into a dict; ``submit_script`` and ``fetch_script`` inject answers.

    Each script entry is consumed by one call: ``"ok"`` behaves normally, ``"accept+timeout"``
    accepts and then raises TIMEOUT, ``"timeout"`` raises TIMEOUT without accepting,
    ``"429"``/``"5xx"`` raise with unknown outcome (accepting first when suffixed ``+``;
    ``"429@0.5"`` asks to wait 0.5 s, not the default 0.01 s),
    ``"reject"`` raises INSUFFICIENT_FUNDS, ``"notfound"`` answers not-found even if the order
    exists, ``"conn"`` raises CONNECTION_ERROR.
    """

    name = "scripted"
    capabilities = Capabilities(client_order_ids=True, order_stream=False, replace=False,
                                market_orders=True, fractional=False, short_selling=False,
                                not_found_grace=0.05)

    def __init__(self, *, client_ids: bool = True) -> None:
        if not client_ids:
            self.capabilities = replace(type(self).capabilities, client_order_ids=False)
        self.orders: dict[str, OrderSnapshot] = {}
        self.by_client: dict[str, str] = {}
        self.submit_script: list[str] = []
        self.fetch_script: list[str] = []
        self.submits: list[str] = []
        self.cancels: list[OrderRef] = []
        self.lookups = 0
        self.on_lookup: Action | None = None
        self.executions: list[Fill] = []
        """What ``fills_since`` lists: the executions the venue itemizes so far."""
        self.fills_reads = 0

    async def instruments(self, symbols: Sequence[str] | None = None) -> Sequence[Instrument]:
        return [Instrument(symbol=s, tick_size="0.01", lot_size="1") for s in symbols or ["XYZ"]]

    async def quote(self, symbol: str) -> Quote:
        return Quote(symbol=symbol, bid="10", ask="10.01")

    async def account(self) -> Account:
        return Account(cash="1000000", buying_power="1000000")

    def _accept(self, request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        venue_id = f"V{len(self.orders) + 1}"
        snap = OrderSnapshot(
            venue_order_id=venue_id,
            client_order_id=client_order_id if self.capabilities.client_order_ids else None,
            symbol=request.symbol, side=request.side, order_type=request.order_type,
            state=OrderState.ACKNOWLEDGED, quantity=request.quantity,
            limit_price=request.limit_price, created_at=utcnow())
        self.orders[venue_id] = snap
        self.by_client[client_order_id] = venue_id
        return snap

    async def submit(self, request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        self.submits.append(client_order_id)
        step = self.submit_script.pop(0) if self.submit_script else "ok"
        if step.endswith("+") or step == "accept+timeout":
            self._accept(request, client_order_id)
        if step.startswith("429"):
            _, _, retry_after = step.partition("@")
            raise error(Code.RATE_LIMITED, "slow down", venue=self.name,
                        retry_after=float(retry_after or 0.01))
        if step.startswith("5xx"):
            raise error(Code.VENUE_ERROR, "internal error", venue=self.name)
        if step in ("timeout", "accept+timeout"):
            raise error(Code.TIMEOUT, "read timed out", venue=self.name)
        if step == "reject":
            raise error(Code.INSUFFICIENT_FUNDS, "buying power 0", venue=self.name)
        if self.capabilities.client_order_ids and client_order_id in self.by_client:
            raise error(Code.DUPLICATE_CLIENT_ORDER_ID, "client_order_id must be unique",
                        venue=self.name)
        return self._accept(request, client_order_id)

    async def cancel(self, ref: OrderRef) -> OrderSnapshot | None:
        self.cancels.append(ref)
        venue_id = ref.venue_order_id or self.by_client.get(ref.client_order_id or "")
        if venue_id is None or venue_id not in self.orders:
            raise error(Code.ORDER_NOT_FOUND, "order not found", venue=self.name)
        snap = self.orders[venue_id] = self.orders[venue_id].model_copy(
            update={"state": OrderState.CANCELLED})
        return snap

    def _scripted_fetch(self) -> None:
        self.lookups += 1
        if self.on_lookup is not None:
            self.on_lookup()
        step = self.fetch_script.pop(0) if self.fetch_script else "ok"
        if step == "notfound":
            raise error(Code.ORDER_NOT_FOUND, "order not found", venue=self.name)
        if step == "conn":
            raise error(Code.CONNECTION_ERROR, "connection reset", venue=self.name)

    async def fetch_order(self, ref: OrderRef) -> OrderSnapshot:
        self._scripted_fetch()
        venue_id = ref.venue_order_id or self.by_client.get(ref.client_order_id or "")
        if venue_id is None or venue_id not in self.orders:
            raise error(Code.ORDER_NOT_FOUND, "order not found", venue=self.name)
        return self.orders[venue_id]

    async def open_orders(self, symbol: str | None = None) -> Sequence[OrderSnapshot]:
        return list(self.orders.values())

    async def recent_orders(self, since: datetime) -> Sequence[OrderSnapshot]:
        self._scripted_fetch()
        return list(self.orders.values())

    async def fills_since(self, since: datetime, symbol: str | None = None) -> Sequence[Fill]:
        self.fills_reads += 1
        return [f for f in self.executions if symbol is None or f.symbol == symbol]

    def execute(self, venue_order_id: str, trade_id: str, quantity: str, price: str, *,
                fee: str = "0", itemized: bool = True) -> Fill:
        """Fill part of an order: its snapshot shows it at once; its execution is listed
        by ``fills_since`` only when ``itemized`` (else call :meth:`itemize` later)."""
        snap = self.orders[venue_order_id]
        execution = Fill(trade_id=trade_id, symbol=snap.symbol, side=snap.side,
                         quantity=Decimal(quantity), price=Decimal(price), fee=Decimal(fee),
                         venue_order_id=venue_order_id, client_order_id=snap.client_order_id)
        filled = snap.filled_quantity + execution.quantity
        notional = (snap.average_price or Decimal(0)) * snap.filled_quantity \
            + execution.quantity * execution.price
        complete = snap.quantity is not None and filled >= snap.quantity
        self.orders[venue_order_id] = snap.model_copy(update={
            "filled_quantity": filled, "average_price": notional / filled,
            "state": OrderState.FILLED if complete else OrderState.PARTIALLY_FILLED,
            "updated_at": utcnow()})
        if itemized:
            self.itemize(execution)
        return execution

    def itemize(self, execution: Fill) -> None:
        self.executions.append(execution)


def limit_buy(quantity: str = "5", price: str = "10.00") -> OrderRequest:
    return OrderRequest(symbol="XYZ", side="buy", quantity=Decimal(quantity),
                        order_type="limit", limit_price=Decimal(price))
