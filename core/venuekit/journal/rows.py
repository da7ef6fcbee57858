"""Orders, events and fills as the journal's tables hold them, and rebuilt from those rows.

One format for every backend that stores the journal in tables (SQLite today, a server
such as PostgreSQL next): Decimals are text, written and read digit for digit
(``Decimal("1.50")`` stays ``1.50``); instants are integer microseconds since the epoch in
UTC; states, sides, order types and times in force are their enum values; an event's data
is JSON. The column lists name what a read selects, in the order the rebuilders take it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from ..decimals import plain
from ..lifecycle import standing_fills
from ..model import BracketRequest, Fill, Order, OrderEvent, OrderRequest, OrderState, Side
from ._time import from_micros, to_micros

__all__ = [
    "EVENT_COLUMNS",
    "FILL_COLUMNS",
    "ORDER_COLUMNS",
    "Record",
    "bracket_column",
    "event_from_row",
    "execution_columns",
    "fill_from_columns",
    "order_from_row",
    "trigger_column",
]

_TRIGGER_FIELDS = ("stop_price", "trail_amount", "trail_percent")
_EXIT_FIELDS = ("take_profit", "stop_loss", "stop_loss_limit")


def trigger_column(request: OrderRequest) -> str | None:
    """A request's trigger (stop price or trail) as JSON text, None for a plain order."""
    if not request.order_type.triggered:
        return None
    values = {name: str(getattr(request, name)) for name in _TRIGGER_FIELDS
              if getattr(request, name) is not None}
    return json.dumps(values, sort_keys=True)


def bracket_column(bracket: BracketRequest | None, parent: str | None,
                   leg: str | None) -> str | None:
    """An entry's exits, or an exit's entry and leg, as JSON text; None outside a bracket."""
    if bracket is not None:
        return json.dumps({name: str(getattr(bracket, name)) for name in _EXIT_FIELDS
                           if getattr(bracket, name) is not None}, sort_keys=True)
    if parent is not None:
        return json.dumps({"parent": parent, "leg": leg}, sort_keys=True)
    return None

ORDER_COLUMNS = (
    "id, venue, symbol, side, order_type, time_in_force, request_quantity, request_notional, "
    "request_limit_price, correlation_id, quantity, limit_price, created_at, replaces, state, "
    "venue_order_id, filled_quantity, filled_notional, fees, replaced_by, reason, resume_state, "
    "run_id, run_item, request_trigger, bracket"
)
"""The columns :func:`order_from_row` reads from an ``orders`` row."""

EVENT_COLUMNS = (
    "order_id, seq, kind, state, at, reason, data, trade_id, fill_symbol, fill_side, "
    "fill_quantity, fill_price, fill_fee, fill_fee_currency, fill_at, fill_venue_order_id, "
    "fill_client_order_id, fill_inferred"
)
"""The columns of an ``events`` row, as :func:`event_from_row` reads them."""

FILL_COLUMNS = (
    "trade_id, symbol, side, quantity, price, fee, fee_currency, at, venue_order_id, "
    "client_order_id, inferred"
)
"""The columns of the ledger of executions that :func:`fill_from_columns` takes."""


class Record(Protocol):
    """A row read by column name (``sqlite3.Row``, a dict)."""

    def __getitem__(self, key: str, /) -> Any: ...


def execution_columns(fill: Fill) -> tuple[Any, ...]:
    """A fill as its event row and the ledger of fills store it, in this order: trade id,
    symbol, side, quantity, price, fee, fee currency, time, venue order id, client order
    id, inferred (:data:`FILL_COLUMNS`)."""
    return (fill.trade_id, fill.symbol, fill.side._value_, plain(fill.quantity),
            plain(fill.price), plain(fill.fee), fill.fee_currency, to_micros(fill.at),
            fill.venue_order_id, fill.client_order_id, int(fill.inferred))


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def fill_from_columns(trade_id: str, symbol: str, side: str, quantity: str, price: str,
                      fee: str, fee_currency: str, at: int, venue_order_id: str | None,
                      client_order_id: str | None, inferred: int) -> Fill:
    return Fill(trade_id=trade_id, symbol=symbol, side=Side(side), quantity=Decimal(quantity),
                price=Decimal(price), fee=Decimal(fee), fee_currency=fee_currency,
                at=from_micros(at), venue_order_id=venue_order_id,
                client_order_id=client_order_id, inferred=bool(inferred))


def event_from_row(row: Record) -> OrderEvent:
    fill = None
    if row["trade_id"] is not None:
        fill = fill_from_columns(
            row["trade_id"], row["fill_symbol"], row["fill_side"], row["fill_quantity"],
            row["fill_price"], row["fill_fee"], row["fill_fee_currency"], row["fill_at"],
            row["fill_venue_order_id"], row["fill_client_order_id"], row["fill_inferred"])
    data = row["data"]
    return OrderEvent(seq=row["seq"], kind=row["kind"], state=OrderState(row["state"]),
                      at=from_micros(row["at"]), fill=fill, reason=row["reason"],
                      data=None if data is None else json.loads(data))


def order_from_row(row: Record, events: Sequence[Record]) -> Order:
    """The order of an ``orders`` row (:data:`ORDER_COLUMNS`) and its ``events`` rows, in
    order: request, state, quantities as the same Decimals, fills, history and links."""
    trigger = row["request_trigger"]
    request = OrderRequest(
        symbol=row["symbol"], side=row["side"], quantity=_decimal(row["request_quantity"]),
        notional=_decimal(row["request_notional"]), order_type=row["order_type"],
        limit_price=_decimal(row["request_limit_price"]), time_in_force=row["time_in_force"],
        correlation_id=row["correlation_id"],
        **({} if trigger is None else json.loads(trigger)))
    links = row["bracket"]
    terms = {} if links is None else json.loads(links)
    bracket = (BracketRequest(entry=request, **terms) if "take_profit" in terms else None)
    history = [event_from_row(event) for event in events]
    resume = row["resume_state"]
    return Order(
        id=row["id"], venue=row["venue"], request=request, quantity=_decimal(row["quantity"]),
        state=OrderState(row["state"]), venue_order_id=row["venue_order_id"],
        limit_price=_decimal(row["limit_price"]),
        filled_quantity=Decimal(row["filled_quantity"]),
        filled_notional=Decimal(row["filled_notional"]), fees=Decimal(row["fees"]),
        fills=standing_fills(history), history=history,
        created_at=from_micros(row["created_at"]), replaced_by=row["replaced_by"],
        replaces=row["replaces"], reason=row["reason"],
        resume_state=None if resume is None else OrderState(resume),
        run_id=row["run_id"], run_item=row["run_item"], bracket=bracket,
        parent=terms.get("parent"), leg=terms.get("leg"))
