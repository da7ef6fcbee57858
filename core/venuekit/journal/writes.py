"""The SQL that writes the journal, and the queue of writes made behind.

An event written behind (:meth:`SQLiteJournal.append_behind`) is not executed at once:
its event row and the order's new totals wait in a :class:`WriteQueue`, and are written
just before the next commit (or read), one ``executemany`` per statement, with an order
that changed several times updated once, to its latest totals. Writing is still atomic per
order: should the bulk write fail, each order's queued writes are retried on their own
and an order whose writes fail leaves no trace of them (see :meth:`WriteQueue.write`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from ..decimals import plain as digits
from ..lifecycle import restatements
from ..model import Fill, Order, OrderEvent, OrderState
from ._time import to_micros
from .rows import EVENT_COLUMNS, execution_columns
from .sql import Cursor, Result

__all__ = [
    "INSERT_EVENT",
    "INSERT_FILL",
    "INSERT_HELD_EVENTS",
    "INSERT_HELD_ORDER",
    "INSERT_NEW_EVENT",
    "INSERT_ORDER",
    "INSERT_SUBMITTED_EVENTS",
    "INSERT_SUBMITTED_ORDER",
    "UNFENCED",
    "Fence",
    "Row",
    "Statement",
    "WriteQueue",
    "restate",
]

log = logging.getLogger("venuekit.journal")

Execute = Callable[..., Result]


class Statement:
    """An SQL statement whose None arguments are written into its text as NULL literals.

    sqlite3 binds None through an adapter lookup that fails, which costs more than the
    rest of a narrow insert; the text for each pattern of NULLs is built once, then found
    in sqlite3's statement cache. Arguments without None (checked by one scan in C) take
    the statement as written, without working out their pattern.
    """

    __slots__ = ("_parts", "_texts", "sql")

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self._parts = sql.split("?")
        self._texts: dict[tuple[bool, ...], str] = {}

    def bind(self, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        if None not in args:  # a scan in C spares building the pattern
            return self.sql, args
        nulls = tuple([arg is None for arg in args])
        text = self._texts.get(nulls)
        if text is None:
            text = self._texts[nulls] = self._render(nulls)
        return text, tuple([arg for arg in args if arg is not None])

    def _render(self, nulls: tuple[bool, ...]) -> str:
        parts = self._parts
        if len(nulls) != len(parts) - 1:
            raise TypeError(f"{len(parts) - 1} arguments expected, got {len(nulls)}")
        out = [parts[0]]
        for null, part in zip(nulls, parts[1:], strict=True):
            out.append("NULL" if null else "?")
            out.append(part)
        return "".join(out)


_INSERT_ORDER = (
    "INSERT INTO orders (seq, id, venue, symbol, side, order_type, time_in_force, "
    "request_quantity, request_notional, request_limit_price, correlation_id, quantity, "
    "limit_price, created_at, replaces, state, filled_quantity, filled_notional, fees, "
    "updated_at, run_id, run_item, request_trigger, bracket) VALUES (?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?, ?, ?, ?, ?, ?, '{state}', '0', '0', '0', ?, ?, ?, ?, ?)"
)
INSERT_ORDER = Statement(_INSERT_ORDER.format(state="new"))
INSERT_SUBMITTED_ORDER = Statement(_INSERT_ORDER.format(state="submitted"))
"""An order created with its SUBMIT event (about to be sent): no update follows."""
INSERT_HELD_ORDER = Statement(_INSERT_ORDER.format(state="held"))
"""An order created with its HOLD event (held by the engine until its trigger fires)."""
INSERT_HELD_EVENTS = (
    "INSERT INTO events (order_id, seq, kind, state, at) "
    "VALUES (?, 1, 'new', 'new', ?), (?, 2, 'hold', 'held', ?)"
)
"""The NEW and HOLD events of an order created held."""
INSERT_NEW_EVENT = (
    "INSERT INTO events (order_id, seq, kind, state, at) VALUES (?, 1, 'new', 'new', ?)"
)
INSERT_SUBMITTED_EVENTS = (  # both rows in one statement: (id, time, id, time)
    "INSERT INTO events (order_id, seq, kind, state, at) "
    "VALUES (?, 1, 'new', 'new', ?), (?, 2, 'submit', 'submitted', ?)"
)
"""The NEW and SUBMIT events of an order created as sent."""
INSERT_EVENT = Statement(
    "INSERT INTO events (order_id, seq, kind, state, at, reason, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_FILL_EVENT = Statement(f"INSERT INTO events ({EVENT_COLUMNS}) "
                              f"VALUES ({', '.join('?' * 18)})")
# Most events carry no reason and no data: these forms leave both columns out (NULL), so
# that binding the rest needs no pattern of NULLs worked out (see Statement.bind).
INSERT_PLAIN_EVENT = "INSERT INTO events (order_id, seq, kind, state, at) VALUES (?, ?, ?, ?, ?)"
_FILL_COLUMNS = EVENT_COLUMNS.replace(" reason, data,", "")
INSERT_PLAIN_FILL_EVENT = Statement(f"INSERT INTO events ({_FILL_COLUMNS}) "
                                    f"VALUES ({', '.join('?' * 16)})")
INSERT_FILL = Statement(  # the venue, the order's id, then the fill's execution_columns
    "INSERT INTO fills (venue, order_id, trade_id, symbol, side, quantity, price, fee, "
    "fee_currency, at, venue_order_id, client_order_id, inferred) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (venue, symbol, side, trade_id) DO NOTHING"
)
_SET_ORDER = (
    "UPDATE orders SET state = ?, quantity = ?, limit_price = ?, venue_order_id = ?, "
    "filled_quantity = ?, filled_notional = ?, fees = ?, replaced_by = ?, replaces = ?, "
    "reason = ?, resume_state = ?, updated_at = ?"
)
# Three forms so that closed_at (and with it the open-orders index) is written only when
# the order closes: an open order stays open, a closing order keeps its first closing
# time, and the third form reopens a closed order should that ever be asked.


class Fence:
    """The statements that change an order's row, with ``clause`` (and its ``args``) added
    to their WHERE: a backend shared by several writers refuses there an order this
    writer does not own (:class:`venuekit.journal.postgres.PostgresJournal`)."""

    __slots__ = ("args", "closed", "open", "reopen", "venue_id")

    def __init__(self, clause: str = "", args: tuple[Any, ...] = ()) -> None:
        self.args = args
        self.open = Statement(f"{_SET_ORDER} WHERE id = ? AND closed_at IS NULL{clause}")
        self.closed = Statement(f"{_SET_ORDER}, closed_at = coalesce(closed_at, ?) "
                                f"WHERE id = ?{clause}")
        self.reopen = Statement(f"{_SET_ORDER}, closed_at = NULL WHERE id = ?{clause}")
        self.venue_id = f"UPDATE orders SET venue_order_id = ? WHERE id = ?{clause}"


UNFENCED = Fence()
"""One writer owns the whole journal (SQLite): no clause."""
SET_VENUE_ORDER_ID = UNFENCED.venue_id

def restate(cursor: Cursor, venue: str, fill: Fill, data: dict[str, str]) -> None:
    """Record in the ledger of executions the inferred fills that ``fill`` restated (its
    event's ``data`` names them, see :func:`venuekit.lifecycle.restatements`)."""
    for trade_id, quantity in restatements(data):
        key = (venue, fill.symbol, fill.side.value, trade_id)
        row = cursor.execute("SELECT restated FROM fills WHERE venue = ? AND symbol = ? "
                             "AND side = ? AND trade_id = ?", key).fetchone()
        if row is not None:
            cursor.execute("UPDATE fills SET restated = ? WHERE venue = ? AND symbol = ? "
                           "AND side = ? AND trade_id = ?",
                           (str(Decimal(row[0]) + quantity), *key))


def _json(data: dict[str, str] | None) -> str | None:
    return None if data is None else json.dumps(data, sort_keys=True)


_TERMINAL = frozenset(state for state in OrderState if state.is_terminal)


class Row:
    """What one event writes: its event row and, unless it was written with the order (its
    NEW event, and the SUBMIT of an order created as sent), the order's totals after it."""

    __slots__ = ("at", "event", "fence", "order_id", "terminal", "totals")

    def __init__(self, order_id: str, at: int, event: tuple[str, tuple[Any, ...]],
                 totals: tuple[Any, ...] | None = None, terminal: bool = False,
                 fence: Fence = UNFENCED) -> None:
        self.fence = fence
        self.order_id = order_id
        self.at = at
        self.event = event
        self.totals = totals
        self.terminal = terminal

    @classmethod
    def of(cls, order: Order, event: OrderEvent,
           execution: tuple[Any, ...] | None = None, fence: Fence = UNFENCED) -> Row:
        """The writes of ``event``; ``execution`` is its fill's :func:`execution_columns`
        when the caller has them already."""
        # Enum members give their value through ``_value_``, without the descriptor.
        order_id = order.id
        at = to_micros(event.at)
        state = order.state
        resume = order.resume_state
        quantity, limit_price = order.quantity, order.limit_price
        totals = (state._value_, None if quantity is None else digits(quantity),
                  None if limit_price is None else digits(limit_price), order.venue_order_id,
                  digits(order.filled_quantity), digits(order.filled_notional), digits(order.fees),
                  order.replaced_by, order.replaces, order.reason,
                  None if resume is None else resume._value_, at)
        reason, data = event.reason, event.data
        plain = reason is None and data is None
        head = (order_id, event.seq, event.kind, event.state._value_, at)
        fill = event.fill
        statement: tuple[str, tuple[Any, ...]]
        if fill is None:
            if plain:
                statement = (INSERT_PLAIN_EVENT, head)
            else:
                statement = INSERT_EVENT.bind((*head, reason, _json(data)))
        else:
            if execution is None:
                execution = execution_columns(fill)
            if plain:
                statement = INSERT_PLAIN_FILL_EVENT.bind(head + execution)
            else:
                statement = INSERT_FILL_EVENT.bind((*head, reason, _json(data), *execution))
        return cls(order_id, at, statement, totals, state in _TERMINAL, fence)

    def update(self, closed_at: int | None = None, *,
               reopen: bool = False) -> tuple[str, tuple[Any, ...]]:
        """The UPDATE of the order's row: closed at ``closed_at`` (this event's time by
        default) if terminal, else kept open, or reopened (``reopen``) if it was closed."""
        assert self.totals is not None
        fence = self.fence
        if self.terminal:
            return fence.closed.bind((*self.totals, closed_at or self.at, self.order_id,
                                      *fence.args))
        statement = fence.reopen if reopen else fence.open
        return statement.bind((*self.totals, self.order_id, *fence.args))

    def write(self, execute: Execute) -> bool:
        """Write it now; False when the journal has no such order (nothing written)."""
        if self.totals is not None:
            text, args = self.update()
            if execute(text, args).rowcount != 1:
                if self.terminal:
                    return False
                text, args = self.update(reopen=True)
                if execute(text, args).rowcount != 1:
                    return False
        execute(*self.event)
        return True


class WriteQueue:
    """Rows written behind, in the order they were appended, until :meth:`write`."""

    __slots__ = ("_rows", "_venue_ids", "errors", "fence", "journal", "refused")

    def __init__(self, journal: str = "", *,
                 errors: tuple[type[Exception], ...] = (sqlite3.Error,),
                 fence: Fence = UNFENCED) -> None:
        self.errors = errors
        """The database's errors (a bulk write that raises one is retried order by order)."""
        self.fence = fence
        self.journal = journal
        """The journal's path, named in what is logged."""
        self.refused = 0
        """Orders whose queued writes were refused and dropped, since the queue was made."""
        self._rows: list[Row] = []
        self._venue_ids: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self._rows or self._venue_ids)

    def add(self, row: Row) -> None:
        self._rows.append(row)
        if row.totals is not None and self._venue_ids:
            # The row carries the order's venue id as it is now, which an earlier
            # set_venue_order_id would have been overwritten by: it is not needed.
            self._venue_ids.pop(row.order_id, None)

    def set_venue_order_id(self, order_id: str, venue_order_id: str) -> None:
        self._venue_ids[order_id] = venue_order_id

    def clear(self) -> None:
        self._rows.clear()
        self._venue_ids.clear()

    def write(self, cursor: Cursor) -> None:
        """Execute everything queued, inside the caller's transaction, and empty the queue.

        The bulk write runs under a savepoint. If it fails, or an order turns out not to be
        in the journal, it is undone and each order's writes are made on their own: those
        that fail are dropped (logged with the reason), the rest are kept. Raises
        the database's error only when the savepoint itself cannot be undone.
        """
        rows, venue_ids = self._rows, self._venue_ids
        if not rows and not venue_ids:
            return
        self._rows, self._venue_ids = [], {}
        execute = cursor.execute
        execute("SAVEPOINT queued")
        try:
            if _bulk(cursor, rows, venue_ids, self.fence):
                execute("RELEASE queued")
                return
        except self.errors:
            pass
        execute("ROLLBACK TO queued")
        try:
            self.refused += _one_by_one(execute, rows, venue_ids, self.journal, self.errors,
                                        self.fence)
        finally:
            execute("RELEASE queued")


def _grouped(statements: Iterable[tuple[str, tuple[Any, ...]]],
             ) -> dict[str, list[tuple[Any, ...]]]:
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for text, args in statements:
        group = groups.get(text)
        if group is None:
            groups[text] = [args]
        else:
            group.append(args)
    return groups


def _bulk(cursor: Cursor, rows: list[Row], venue_ids: dict[str, str], fence: Fence) -> bool:
    """One executemany per statement; False when some order row was not found."""
    latest: dict[str, Row] = {}  # an order's last totals win ...
    closed_at: dict[str, int] = {}  # ... and it keeps its first closing time
    for row in rows:
        if row.totals is not None:
            latest[row.order_id] = row
            if row.terminal and row.order_id not in closed_at:
                closed_at[row.order_id] = row.at
    for text, args in _grouped(row.event for row in rows).items():
        cursor.executemany(text, args)
    updated = 0
    updates = (row.update(closed_at.get(order_id)) for order_id, row in latest.items())
    for text, args in _grouped(updates).items():
        updated += cursor.executemany(text, args).rowcount
    if updated != len(latest):
        return False
    if venue_ids:
        updated = cursor.executemany(fence.venue_id, [
            (venue_id, order_id, *fence.args) for order_id, venue_id in venue_ids.items()]
        ).rowcount
        return updated == len(venue_ids)
    return True


def _one_by_one(execute: Execute, rows: list[Row], venue_ids: dict[str, str],
                journal: str, errors: tuple[type[Exception], ...],
                fence: Fence = UNFENCED) -> int:
    """Write each order's rows under a savepoint of its own; returns how many orders' writes
    were refused (dropped, and logged)."""
    refused = 0
    caught: tuple[type[Exception], ...] = (*errors, LookupError)
    by_order: dict[str, list[Row]] = {}
    for row in rows:
        by_order.setdefault(row.order_id, []).append(row)
    for order_id in dict.fromkeys([*by_order, *venue_ids]):
        execute("SAVEPOINT queued_order")
        try:
            for row in by_order.get(order_id, ()):
                if not row.write(execute):
                    raise LookupError(f"order {order_id} is not in this journal")
            venue_id = venue_ids.get(order_id)
            if venue_id is not None and execute(fence.venue_id, (venue_id, order_id,
                                                                 *fence.args)).rowcount != 1:
                raise LookupError(f"order {order_id} is not in this journal")
        except caught as exc:
            execute("ROLLBACK TO queued_order")
            refused += 1
            log.error("events written behind were not recorded",
                      extra={"journal": journal, "order_id": order_id,
                             "error": f"{type(exc).__name__}: {exc}"})
        execute("RELEASE queued_order")
    return refused
