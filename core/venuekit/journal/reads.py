"""The SQL that reads orders and executions back from the SQLite journal.

Functions of a connection, inside a snapshot the caller holds (:class:`SQLiteJournal`
executes its queued writes first, so that the writer reads what it wrote). Rows become
orders and fills through :mod:`venuekit.journal.rows`; a row that cannot be rebuilt raises
:class:`Unreadable` naming it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ..model import Fill, Order
from .rows import (
    EVENT_COLUMNS,
    FILL_COLUMNS,
    ORDER_COLUMNS,
    Record,
    fill_from_columns,
    order_from_row,
)
from .sql import Cursor

__all__ = ["Unreadable", "Where", "select_fills", "select_orders"]


class Where:
    """A WHERE clause and its parameters, built from the filters a read was given (a
    filter given as None does not filter; an empty set of values matches nothing)."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []
        self.nothing = False

    def equals(self, column: str, value: Any) -> Where:
        if value is not None:
            self.clauses.append(f"{column} = ?")
            self.params.append(value)
        return self

    def among(self, column: str, values: Iterable[Any] | None) -> Where:
        if values is not None:
            chosen = list(values)
            self.nothing = self.nothing or not chosen
            self.clauses.append(f"{column} IN ({', '.join('?' * len(chosen))})")
            self.params.extend(chosen)
        return self

    def compare(self, column: str, operator: str, value: Any) -> Where:
        if value is not None:
            self.clauses.append(f"{column} {operator} ?")
            self.params.append(value)
        return self

    @property
    def text(self) -> str:
        return " AND ".join(self.clauses) or "TRUE"


class Unreadable(Exception):
    """A stored row that is not a valid order or fill (its text damaged, say)."""

    def __init__(self, what: str, cause: Exception, order_id: str | None = None) -> None:
        super().__init__(f"{what} is unreadable: {cause}")
        self.order_id = order_id


def select_orders(conn: Cursor, where: str, params: Sequence[Any], *,
                  newest_first: bool = False, limit: int | None = None,
                  order: Sequence[str] = ("seq",), by_open_index: bool = False) -> list[Order]:
    """Orders matching ``where`` with their histories (two queries: run them in one
    snapshot), sorted on the ``order`` columns (the creation order).

    ``by_open_index``: ``where`` keeps open orders only (``closed_at IS NULL``). SQLite
    would rather walk the whole table in ``seq`` order than sort, reading every closed
    order too; sorting on ``+seq`` (an expression, which no index provides) has it find
    the rows through the open-orders index and sort those few instead."""
    direction = "DESC" if newest_first else "ASC"
    sign = "+" if by_open_index else ""
    order_by = "ORDER BY " + ", ".join(f"{sign}{column} {direction}" for column in order)
    if limit is not None:
        order_by += f" LIMIT {int(limit)}"
    chosen = f"SELECT id FROM orders WHERE {where} {order_by}"
    rows = conn.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE {where} {order_by}",
                        params).fetchall()
    events = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE order_id IN ({chosen}) "
        "ORDER BY order_id, seq", params).fetchall() if rows else []
    history: defaultdict[str, list[Record]] = defaultdict(list)
    for event in events:
        history[event["order_id"]].append(event)
    orders: list[Order] = []
    for row in rows:
        try:
            orders.append(order_from_row(row, history.get(row["id"], [])))
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise Unreadable(f"order {row['id']}", exc, row["id"]) from exc
    return orders


def select_fills(conn: Cursor, where: str, params: Sequence[Any]) -> list[Fill]:
    """Every execution of the ledger matching ``where``, in execution-time order; an
    inferred fill with only its part that no venue execution restated, and none when
    nothing is left."""
    rows = conn.execute(f"SELECT {FILL_COLUMNS}, restated FROM fills WHERE {where} "
                        "ORDER BY at, venue, symbol, trade_id", params).fetchall()
    fills: list[Fill] = []
    try:
        for *columns, restated in rows:
            fill = fill_from_columns(*columns)
            if restated != "0":  # an inferred fill: only what no execution restated
                left = fill.quantity - Decimal(restated)
                if left <= 0:
                    continue
                fill = fill.model_copy(update={"quantity": left})
            fills.append(fill)
    except (ValueError, ArithmeticError, TypeError) as exc:
        raise Unreadable("a stored fill", exc) from exc
    return fills
