"""The embedded journal: one SQLite file (stdlib ``sqlite3``, WAL mode), one writer at a time.

This module owns what the journal writes and reads, order by order, and the write lock.
Its parts:

* :mod:`.sqlite_transactions`: what is committed when (one call's atomic unit, batches,
  events written behind) and the errors;
* :mod:`.sqlite_file`: telling a journal file from anything else, creating and opening
  (and upgrading) one, before anything is written to it;
* :mod:`.sqlite_schema`: the schema and its migrations;
* :mod:`.writes` and :mod:`.reads`: the SQL that writes and reads orders,
  events and fills; :mod:`.run_rows`: the same for runs;
* :mod:`.rows`: the format of every row, shared with any other table-based backend.

Nothing else may have the file open for writing (see :mod:`venuekit.journal._lock`), else
``JOURNAL_LOCKED``. A read-only journal (``readonly=True``, for listing commands) takes no
lock and can be opened alongside.

Durability. In WAL mode every transaction is one append to the write-ahead log:

* ``"normal"`` (default, ``synchronous=NORMAL``): a committed transaction survives the
  process crashing or being killed, because it is in the operating system's hands; a power
  loss or kernel crash may lose the last transactions (never corrupting the file);
* ``"full"`` (``synchronous=FULL``): every commit is flushed to the disk (``fsync``; on
  macOS ``F_FULLFSYNC``) before it returns, so it also survives power loss, at the cost
  of one disk flush per journal write.

Storage formats: see :mod:`.rows`.

A journal object is used from one thread, like the :mod:`sqlite3` connection it holds.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import weakref
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Literal

from ..decimals import plain
from ..errors import Code, JournalError, error
from ..lifecycle import EventKind
from ..model import (
    BracketRequest,
    Fill,
    Order,
    OrderEvent,
    OrderRequest,
    OrderState,
    OrderType,
    utcnow,
)
from . import reads, run_rows, sqlite_file
from ._lock import WRITING, leave_note, lock_journal, read_note
from ._time import as_utc, to_micros
from .follow import PollingFollower, SQLiteChanges
from .ids import ClientIdRules
from .rows import bracket_column, execution_columns, trigger_column
from .runs import Run, RunItem, RunKind, RunLink, RunState
from .sqlite_checkpoint import BACKSTOP, WAL_FRAME_HEADER, Checkpointer, Commits
from .sqlite_transactions import Transactions
from .table import TableJournal
from .writes import (
    INSERT_FILL,
    INSERT_HELD_EVENTS,
    INSERT_HELD_ORDER,
    INSERT_NEW_EVENT,
    INSERT_ORDER,
    INSERT_SUBMITTED_EVENTS,
    INSERT_SUBMITTED_ORDER,
    Row,
    WriteQueue,
    restate,
)

__all__ = ["ENV_VAR", "NEW_EVENT", "Durability", "SQLiteJournal", "default_journal_path"]

log = logging.getLogger("venuekit.journal")

Durability = Literal["normal", "full"]
_SYNCHRONOUS: dict[str, str] = {"normal": "NORMAL", "full": "FULL"}

ENV_VAR = "VENUEKIT_JOURNAL"
"""Environment variable naming the journal file."""

NEW_EVENT = "new"
"""The ``kind`` of the event that opens every order's history."""

_SUBMIT_EVENT: str = EventKind.SUBMIT.value
_HOLD_EVENT: str = EventKind.HOLD.value

_MIN_SQLITE = (3, 24, 0)  # upsert (ON CONFLICT DO ...) syntax
# How many taken ids to skip before giving up; a clash needs two rule sets in one journal.
_ID_ATTEMPTS = 100

_OPEN = "closed_at IS NULL"
_NO_RUN = (None, None)
_NO_TERMS: tuple[str | None, str | None] = (None, None)
_MARKET, _LIMIT = OrderType.MARKET, OrderType.LIMIT

def default_journal_path() -> Path:
    """``$VENUEKIT_JOURNAL`` if set, else ``.venuekit/journal.sqlite3`` in the working directory."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path(".venuekit") / "journal.sqlite3"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)  # read back without an exponent


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _checked_amount(name: str, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive, finite decimal.Decimal, got {value!r}")
    return value


class SQLiteJournal(Transactions, TableJournal):
    """The journal in one SQLite file. See the module documentation for the guarantees.

    ``path`` defaults to :func:`default_journal_path`; missing parent directories are
    created when the journal is opened for writing. ``durability`` is ``"normal"`` or
    ``"full"``. ``readonly=True`` opens an existing journal for reading only, without the
    write lock.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 durability: Durability = "normal", readonly: bool = False) -> None:
        if durability not in _SYNCHRONOUS:
            raise ValueError(f"durability must be 'normal' or 'full', got {durability!r}")
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise error(Code.JOURNAL_ERROR,
                        f"the journal needs SQLite {'.'.join(map(str, _MIN_SQLITE))} or newer; "
                        f"this Python has {sqlite3.sqlite_version}")
        self.path = Path(path) if path is not None else default_journal_path()
        self.durability: Durability = durability
        self.readonly = readonly
        self._closed = False
        self._batch_depth = 0
        self._behind = False  # a transaction holds events written behind
        self._commits = Commits()  # (counted for the checkpoint thread)
        # Writes of that transaction or a batch, not executed yet.
        self._queue = WriteQueue(str(self.path))
        self._lock: BinaryIO | None = None
        if not readonly:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self._error(Code.JOURNAL_ERROR, f"cannot create its directory: {exc}",
                                  exc) from exc
            self._lock, noted = lock_journal(self.path)
        else:
            noted = read_note(self.path)
        try:
            opened = sqlite_file.open_journal(self.path, readonly=readonly,
                                              synchronous=_SYNCHRONOUS[durability],
                                              fullfsync=durability == "full", noted=noted)
        except sqlite_file.FileProblem as exc:
            self._release_lock()
            raise self._error(exc.code, exc.what, exc.__cause__, **exc.details) from None
        except BaseException:
            self._release_lock()
            raise
        self._conn, self._tag, version = opened.conn, opened.tag, opened.version
        # Closed or dropped, the journal tells sqlite_file its connection is gone.
        self._released = weakref.finalize(self, sqlite_file.released, opened.file_id)
        if self._lock is not None:  # checked: readers may trust it while this process lives
            leave_note(self._lock, WRITING)
        self._checkpointer: Checkpointer | None = None
        if not readonly:
            self._checkpointer = self._checkpoint_aside(durability)
        self._next_seq, self._next_run_seq = opened.next_order, opened.next_run
        # One cursor for every write: conn.execute would create a cursor per statement.
        self._cursor = self._conn.cursor()
        self._write = self._cursor.execute
        log.info("journal opened",
                 extra={"journal": str(self.path), "schema_version": version,
                        "durability": durability, "readonly": readonly, "journal_tag": self._tag})

    def _checkpoint_aside(self, durability: Durability) -> Checkpointer:
        """Checkpoints move off the writer's connection, to a thread (see
        :mod:`.sqlite_checkpoint`)."""
        try:
            self._conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP}")
            (page_size,) = self._conn.execute("PRAGMA page_size").fetchone()
            # The log file is written over when the log starts again; only a file grown
            # past twice the backstop (a very large batch) is cut back, to that size.
            kept = 2 * BACKSTOP * (int(page_size) + WAL_FRAME_HEADER)
            self._conn.execute(f"PRAGMA journal_size_limit = {kept}")
        except sqlite3.Error as exc:
            self._conn.close()
            self._release_lock()
            raise self._sqlite_error("set up its checkpoints", exc) from exc
        checkpointer = Checkpointer(self.path, self._commits, synchronous=_SYNCHRONOUS[durability],
                                    fullfsync=durability == "full")
        # A journal dropped without being closed stops its thread when it is collected, as
        # it releases its write lock then.
        weakref.finalize(self, checkpointer.stop)
        return checkpointer

    def create_order(self, venue: str, request: OrderRequest, *, id_rules: ClientIdRules,
                     quantity: Decimal | None = None, limit_price: Decimal | None = None,
                     replaces: str | None = None, at: datetime | None = None,
                     submitted: bool = False, run: RunLink | None = None,
                     held: bool = False, bracket: BracketRequest | None = None,
                     parent: str | None = None, leg: str | None = None) -> Order:
        if self.readonly:
            self._refuse_read_only()
        if not venue:
            raise ValueError("venue must be a non-empty name")
        if quantity is None:
            quantity = request.quantity
        else:
            _checked_amount("quantity", quantity)
        if limit_price is None:
            limit_price = request.limit_price
        else:
            _checked_amount("limit_price", limit_price)
        created = utcnow() if at is None else as_utc(at)
        micros = to_micros(created)
        write = self._write
        # Inside an open transaction the order row is the one statement executed now (an
        # id clash undoes nothing else); its NEW event joins the writes queued for the
        # commit, which is the batch's or made here. Alone, the order and its NEW event are
        # one transaction, committed here.
        queue = self._queue if self._batch_depth or self._behind else None
        if submitted and held:
            raise ValueError("an order is created either submitted or held, not both")
        second = submitted or held  # a second event is written with the order
        if held:
            insert, events = INSERT_HELD_ORDER, INSERT_HELD_EVENTS
        elif submitted:
            insert, events = INSERT_SUBMITTED_ORDER, INSERT_SUBMITTED_EVENTS
        else:
            insert, events = INSERT_ORDER, INSERT_NEW_EVENT
        kind = request.order_type
        if (kind is _MARKET or kind is _LIMIT) and bracket is None and parent is None:
            terms = _NO_TERMS  # a plain order: no trigger, no bracket
        else:
            terms = (trigger_column(request), bracket_column(bracket, parent, leg))
        # The columns every attempt below writes alike, built inline: this runs before
        # each order is sent. Enum members give their value through ``_value_``, without
        # the descriptor.
        asked, notional, asked_price = request.quantity, request.notional, request.limit_price
        columns = (request.symbol, request.side._value_, request.order_type._value_,
                   request.time_in_force._value_, None if asked is None else plain(asked),
                   None if notional is None else plain(notional),
                   None if asked_price is None else plain(asked_price), request.correlation_id,
                   None if quantity is None else plain(quantity),
                   None if limit_price is None else plain(limit_price))
        seq = self._next_seq
        for _ in range(_ID_ATTEMPTS):
            try:
                order_id = id_rules.client_order_id(self._tag, seq)
            except ValueError as exc:
                raise self._error(Code.JOURNAL_ERROR, f"no client order id is left under "
                                  f"{id_rules!r}; start a new journal", exc) from exc
            row = insert.bind((seq, order_id, venue, *columns, micros, replaces, micros,
                               *(run or _NO_RUN), *terms))
            owned: bool | None = None
            try:
                event_args = ((order_id, micros, order_id, micros) if second
                              else (order_id, micros))
                if queue is not None:
                    write(*row)
                    queue.add(Row(order_id, micros, (events, event_args)))
                    if not self._batch_depth:
                        self._commit_behind()  # durable now, with what was written behind
                else:
                    owned = self._begin()
                    write(*row)
                    write(events, event_args)
                    self._end(owned)
                break
            except sqlite3.IntegrityError as exc:
                self._undo(owned)
                if not self._id_taken(order_id):
                    raise self._sqlite_error("create the order", exc, venue=venue) from exc
                seq += 1  # another rule set rendered an earlier number the same way
            except sqlite3.Error as exc:
                self._undo(owned)
                raise self._sqlite_error("create the order", exc, venue=venue) from exc
            except BaseException:
                self._undo(owned)
                raise
        else:
            raise self._error(Code.JOURNAL_ERROR, f"{_ID_ATTEMPTS} client order ids in a row "
                              f"were taken under {id_rules!r}")
        self._next_seq = seq + 1
        history = [OrderEvent(seq=1, kind=NEW_EVENT, state=OrderState.NEW, at=created)]
        if submitted:
            # What the lifecycle's SUBMIT makes of a NEW order, as the row and
            # INSERT_SUBMITTED_EVENTS recorded it.
            history.append(OrderEvent(seq=2, kind=_SUBMIT_EVENT, state=OrderState.SUBMITTED,
                                      at=created))
        elif held:
            history.append(OrderEvent(seq=2, kind=_HOLD_EVENT, state=OrderState.HELD,
                                      at=created))
        return Order(id=order_id, venue=venue, request=request, quantity=quantity,
                     limit_price=limit_price, created_at=created, replaces=replaces,
                     state=history[-1].state, history=history,
                     run_id=None if run is None else run.run_id,
                     run_item=None if run is None else run.item,
                     bracket=bracket, parent=parent, leg=leg)

    def _id_taken(self, order_id: str) -> bool:
        try:
            return self._conn.execute("SELECT 1 FROM orders WHERE id = ?",
                                      (order_id,)).fetchone() is not None
        except sqlite3.Error:
            return False

    def append(self, order: Order, event: OrderEvent) -> bool:
        if self.readonly:
            self._refuse_read_only()
        fill = event.fill
        execution = None if fill is None else execution_columns(fill)
        row = Row.of(order, event, execution)
        write = self._write
        owned: bool | None = None
        try:
            self._write_queued()  # older writes of the order come first
            owned = self._begin()
            if not row.write(write):
                raise _UnknownOrder
            recorded = (fill is None or execution is None
                        or self._insert_fill(order, fill, execution, event.data))
            self._end(owned)
        except _UnknownOrder:
            self._undo(owned)
            raise self._error(Code.JOURNAL_ERROR, f"order {order.id} is not in this journal; "
                              "orders must be created with create_order",
                              order_id=order.id) from None
        except sqlite3.Error as exc:
            self._undo(owned)
            if isinstance(exc, sqlite3.IntegrityError) and "events." in str(exc):
                raise self._error(Code.JOURNAL_ERROR, f"event {event.seq} of order {order.id} "
                                  "is already in the journal; an order must have a single "
                                  "writer", exc, order_id=order.id, seq=event.seq) from exc
            raise self._sqlite_error(f"record event {event.seq} of order {order.id}", exc,
                                     order_id=order.id, seq=event.seq) from exc
        except BaseException:
            self._undo(owned)
            raise
        if not recorded:
            assert fill is not None
            self._report_duplicate(order, fill)
        return recorded

    def append_behind(self, order: Order, event: OrderEvent) -> bool:
        """Queue ``event``'s writes for the next commit (see :mod:`.writes`).

        Only its execution, if it carries one, is stored at once, to say whether it is
        new. An order the journal does not hold, or an event it already has, is found
        when the queue is written: that order's queued writes are dropped and logged.
        """
        if self.readonly:
            self._refuse_read_only()
        fill = event.fill
        execution = None if fill is None else execution_columns(fill)
        row = Row.of(order, event, execution)
        if not self._batch_depth and not self._behind:
            self._open_behind()
        recorded = True
        if fill is not None and execution is not None:
            try:
                recorded = self._insert_fill(order, fill, execution, event.data)
            except sqlite3.Error as exc:
                raise self._sqlite_error(f"record event {event.seq} of order {order.id}",
                                         exc, order_id=order.id, seq=event.seq) from exc
        self._queue.add(row)
        if not recorded:
            assert fill is not None
            self._report_duplicate(order, fill)
        return recorded

    def _insert_fill(self, order: Order, fill: Fill, execution: tuple[Any, ...],
                     data: dict[str, str] | None) -> bool:
        """Store ``fill`` (``execution`` is its :func:`execution_columns`) in the ledger of
        executions, with the inferred fills its event's ``data`` says it restated; False
        if it was there already."""
        text, args = INSERT_FILL.bind((order.venue, order.id, *execution))
        recorded = bool(self._write(text, args).rowcount == 1)
        if data:
            restate(self._cursor, order.venue, fill, data)
        return recorded

    def _report_duplicate(self, order: Order, fill: Fill) -> None:
        try:
            row = self._conn.execute(
                "SELECT order_id FROM fills WHERE venue = ? AND symbol = ? AND side = ? "
                "AND trade_id = ?", (order.venue, fill.symbol, fill.side.value, fill.trade_id),
            ).fetchone()
        except sqlite3.Error:
            row = None  # the warning matters more than naming the first order
        log.warning("execution already journaled; not stored again",
                    extra={"journal": str(self.path), "order_id": order.id, "venue": order.venue,
                           "symbol": fill.symbol, "side": fill.side.value,
                           "trade_id": fill.trade_id,
                           "recorded_for": row["order_id"] if row else None})

    def set_venue_order_id(self, order_id: str, venue_order_id: str, *,
                           behind: bool = False) -> None:
        if self.readonly:
            self._refuse_read_only()
        if behind:
            if not self._batch_depth and not self._behind:
                self._open_behind()
            self._queue.set_venue_order_id(order_id, venue_order_id)
            return
        try:
            self._write_queued()
            updated = self._write("UPDATE orders SET venue_order_id = ? WHERE id = ?",
                                  (venue_order_id, order_id)).rowcount
            if updated == 1 and self._behind and not self._batch_depth:
                self._commit_behind()
        except sqlite3.Error as exc:
            raise self._sqlite_error(f"record the venue id of order {order_id}", exc,
                                     order_id=order_id) from exc
        if updated != 1:
            raise self._error(Code.JOURNAL_ERROR, f"order {order_id} is not in this journal",
                              order_id=order_id)

    # reading ----------------------------------------------------------------------------
    def open_orders(self, venue: str | None = None) -> list[Order]:
        if venue is None:
            return self._select(_OPEN, (), open_only=True)
        return self._select(f"{_OPEN} AND venue = ?", (venue,), open_only=True)

    def venues(self) -> list[str]:
        try:
            with self._snapshot() as conn:
                rows = conn.execute("SELECT DISTINCT venue FROM orders ORDER BY venue")
                return [venue for (venue,) in rows.fetchall()]
        except sqlite3.Error as exc:
            raise self._sqlite_error("read the venues", exc) from exc

    def venue_order_ids(self, venue: str, since: datetime) -> set[str]:
        # Newest first, stopping at the first order created before ``since``: orders are
        # numbered in creation order, so only the recent end of the table is read.
        limit = to_micros(since)
        ids: set[str] = set()
        try:
            self._write_queued()  # the writer reads what it wrote
            for venue_order_id, created_at in self._conn.execute(
                    "SELECT venue_order_id, created_at FROM orders WHERE venue = ? "
                    "ORDER BY seq DESC", (venue,)):
                if created_at < limit:
                    break
                if venue_order_id:
                    ids.add(venue_order_id)
        except sqlite3.Error as exc:
            raise self._sqlite_error("read venue order ids", exc) from exc
        return ids

    def fills(self, *, venue: str | None = None, symbol: str | None = None) -> list[Fill]:
        where = reads.Where().equals("venue", venue).equals("symbol", symbol)
        try:
            with self._snapshot() as conn:
                return reads.select_fills(conn, where.text, where.params)
        except sqlite3.Error as exc:
            raise self._sqlite_error("read fills", exc) from exc
        except reads.Unreadable as exc:
            raise self._error(Code.JOURNAL_CORRUPT, str(exc), exc.__cause__) from exc

    def _select(self, where: str, params: Sequence[Any], *, newest_first: bool = False,
                limit: int | None = None, open_only: bool = False) -> list[Order]:
        """Orders matching ``where`` with their histories, read from one snapshot."""
        try:
            with self._snapshot() as conn:
                return reads.select_orders(conn, where, params, newest_first=newest_first,
                                           limit=limit, by_open_index=open_only)
        except sqlite3.Error as exc:
            raise self._sqlite_error("read orders", exc) from exc
        except reads.Unreadable as exc:
            raise self._error(Code.JOURNAL_CORRUPT, str(exc), exc.__cause__,
                              order_id=exc.order_id) from exc

    # runs -------------------------------------------------------------------------------
    def create_run(self, *, kind: RunKind, venue: str, plan_hash: str, strategy: str,
                   items: Sequence[RunItem], correlation_id: str | None = None,
                   owner: str | None = None) -> Run:
        now = utcnow()
        seq = self._next_run_seq
        run = Run(id=f"{self._tag}-r{seq}", kind=kind, venue=venue, plan_hash=plan_hash,
                  strategy=strategy, state=RunState.RUNNING, created_at=now, updated_at=now,
                  items=list(items), correlation_id=correlation_id, owner=owner)
        with self._atomic("create the run", venue=venue) as cursor:
            run_rows.insert_run(cursor, seq, run)
        self._next_run_seq = seq + 1
        return run

    def update_run(self, run_id: str, *, state: RunState | None = None,
                   note: str | None = None, items: Sequence[RunItem] = (),
                   resumed_by: str | None = None) -> None:
        if resumed_by is not None:
            state = RunState.RUNNING
        with self._atomic(f"record run {run_id}", run_id=run_id) as cursor:
            if not run_rows.update_run(cursor, run_id, utcnow(), state=state, note=note,
                                          clear_note=resumed_by is not None, owner=resumed_by,
                                          resumed=resumed_by is not None):
                raise error(Code.UNKNOWN_RUN, f"the journal {self.path} has no run "
                            f"{run_id!r}", details={"run_id": run_id})
            if items:
                run_rows.write_items(cursor, run_id, items)

    def _select_runs(self, where: str, params: Sequence[Any], limit: int | None) -> list[Run]:
        try:
            with self._snapshot() as conn:
                return run_rows.select_runs(conn, where, params, limit)
        except sqlite3.Error as exc:
            raise self._sqlite_error("read runs", exc) from exc
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise self._error(Code.JOURNAL_CORRUPT, f"a stored run is unreadable: {exc}",
                              exc) from exc

    # following the journal ------------------------------------------------------------
    def follow(self) -> PollingFollower:
        """A follower of the journal's changes from now on: it polls the open orders and
        those created since (SQLite has a single writer, on this machine)."""
        def query(sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
            try:
                with self._snapshot() as conn:
                    return [tuple(row) for row in conn.execute(sql, params).fetchall()]
            except sqlite3.Error as exc:
                raise self._sqlite_error("read the journal's changes", exc) from exc

        return PollingFollower(SQLiteChanges(query))

    # closing ----------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._behind:
                try:
                    self.flush()
                except JournalError:
                    log.exception("events written behind were lost at close; recovery "
                                  "rebuilds them from the venue",
                                  extra={"journal": str(self.path)})
            if self._checkpointer is not None:
                self._checkpointer.close()  # first: the writer's close checkpoints the rest
            self._conn.close()
            self._released()
            if self._lock is not None:
                # The file as this writer leaves it: the next open need not check it
                # whole while it stays so (see sqlite_file).
                noted = sqlite_file.settled_stamp(self.path)
                leave_note(self._lock, noted or "")  # no stamp: the next open checks
        finally:
            self._release_lock()
        log.info("journal closed", extra={"journal": str(self.path)})

    def _release_lock(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.close()  # closing the file releases the lock

    def __repr__(self) -> str:
        mode = "readonly" if self.readonly else self.durability
        return f"SQLiteJournal({str(self.path)!r}, {mode})"


class _UnknownOrder(Exception):
    """Raised inside a write transaction to roll it back: the order row does not exist."""
