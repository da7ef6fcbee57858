"""Helpers of the lifecycle's tests: orders, fills, applying events in sequence, and what an
order looks like after them."""


from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from venuekit import lifecycle
from venuekit.lifecycle import Applied, EventKind, Result
from venuekit.model import Fill, Order, OrderRequest, OrderState, Side

E = EventKind
S = OrderState
DOCS = Path(__file__).parents[2] / "docs"
LOGGER = "venuekit.lifecycle"
T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


def ticks() -> Iterator[datetime]:
    """A clock that advances one second per event."""
    n = 0
    while True:
        yield T0 + timedelta(seconds=n)
        n += 1


def new_order(quantity: str = "10", order_id: str = "vk-1") -> Order:
    request = OrderRequest(symbol="AAPL", side=Side.BUY, quantity=quantity,
                           order_type="limit", limit_price="100")
    return Order(id=order_id, venue="mock", request=request, quantity=Decimal(quantity))


def fill(trade_id: str, quantity: str, price: str = "100", *, symbol: str = "AAPL",
         side: Side = Side.BUY, fee: str = "0") -> Fill:
    return Fill(trade_id=trade_id, symbol=symbol, side=side, quantity=quantity, price=price,
                fee=fee, at=T0)


def step(order: Order, item: EventKind | Fill) -> Applied:
    if isinstance(item, Fill):
        return lifecycle.apply_fill(order, item)
    return lifecycle.apply(order, item)


def run(order: Order, *items: EventKind | Fill) -> list[Applied]:
    """Apply every item and require each to be applied."""
    results = [step(order, item) for item in items]
    for item, applied in zip(items, results, strict=True):
        assert applied.result is Result.APPLIED, (item, applied)
    return results


def states(order: Order) -> list[OrderState]:
    return [event.state for event in order.history]


def snapshot(order: Order) -> tuple[object, ...]:
    """Everything an event could change, for "nothing changed" assertions."""
    return (order.state, order.filled_quantity, order.filled_notional, order.fees,
            list(order.fills), list(order.history), order.resume_state, order.reason,
            order.replaced_by)
