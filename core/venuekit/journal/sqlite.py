"""The embedded journal: one SQLite file (stdlib ``sqlite3``, WAL mode), one writer at a time.

This module owns opening a journal file safely, its durability settings, and the SQL that
stores and rebuilds orders, events and fills. The schema and its migrations live in
:mod:`venuekit.journal.sqlite_schema`.

Opening checks, before anything is written to the file:

* it is SQLite and a venuekit journal with every table, else ``JOURNAL_CORRUPT``;
* its schema is not newer than this venuekit knows, else ``JOURNAL_TOO_NEW``; an older
  one is upgraded in a single transaction;
* nothing else has it open for writing (see :mod:`venuekit.journal._lock`), else
  ``JOURNAL_LOCKED``. A read-only journal
  (``readonly=True``, for listing commands) takes no lock and can be opened alongside.

Durability. In WAL mode every transaction is one append to the write-ahead log:

* ``"normal"`` (default, ``synchronous=NORMAL``): a committed transaction survives the
  process crashing or being killed, because it is in the operating system's hands; a power
  loss or kernel crash may lose the last transactions (never corrupting the file);
* ``"full"`` (``synchronous=FULL``): every commit is flushed to the disk (``fsync``; on
  macOS ``F_FULLFSYNC``) before it returns, so it also survives power loss, at the cost
  of one disk flush per journal write.

Storage formats: Decimals are TEXT (read back digit for digit, ``Decimal("1.50")`` stays
``1.50``), instants are integer microseconds since the epoch in UTC.

A journal object is used from one thread, like the :mod:`sqlite3` connection it holds.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Literal, NoReturn

from ..errors import Code, ErrorCode, JournalError, error
from ..lifecycle import EventKind, restatements, standing_fills
from ..model import Fill, Order, OrderEvent, OrderRequest, OrderState, Side, utcnow
from ..runs.records import Run, RunItem, RunKind, RunLink, RunState
from ..version import __version__
from . import sqlite_file, sqlite_runs
from . import sqlite_schema as schema
from ._lock import lock_journal
from ._time import as_utc, from_micros, to_micros
from .base import Journal
from .ids import ClientIdRules, is_journal_tag, new_journal_tag
from .sqlite_writes import (
    EVENT_COLUMNS,
    INSERT_FILL,
    INSERT_NEW_EVENT,
    INSERT_ORDER,
    INSERT_SUBMITTED_EVENTS,
    INSERT_SUBMITTED_ORDER,
    Row,
    WriteQueue,
    execution_columns,
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

_MIN_SQLITE = (3, 24, 0)  # upsert (ON CONFLICT DO ...) syntax
_BUSY_TIMEOUT_MS = 5000
# How many taken ids to skip before giving up; a clash needs two rule sets in one journal.
_ID_ATTEMPTS = 100

_OPEN = "closed_at IS NULL"
_UNDECODABLE = "Could not decode to UTF-8"
_NO_RUN = (None, None)

_ORDER_COLUMNS = (
    "id, venue, symbol, side, order_type, time_in_force, request_quantity, request_notional, "
    "request_limit_price, correlation_id, quantity, limit_price, created_at, replaces, state, "
    "venue_order_id, filled_quantity, filled_notional, fees, replaced_by, reason, resume_state, "
    "run_id, run_item"
)
_FILL_COLUMNS = (
    "trade_id, symbol, side, quantity, price, fee, fee_currency, at, venue_order_id, "
    "client_order_id, inferred"
)



def default_journal_path() -> Path:
    """``$VENUEKIT_JOURNAL`` if set, else ``.venuekit/journal.sqlite3`` in the working directory."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path(".venuekit") / "journal.sqlite3"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _checked_amount(name: str, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive, finite decimal.Decimal, got {value!r}")
    return value


class SQLiteJournal(Journal):
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
        # Writes of that transaction or a batch, not executed yet.
        self._queue = WriteQueue(str(self.path))
        self._lock: BinaryIO | None = None
        if not readonly:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self._error(Code.JOURNAL_ERROR, f"cannot create its directory: {exc}",
                                  exc) from exc
            self._lock = lock_journal(self.path)
        try:
            (self._conn, self._tag, self._next_seq, self._next_run_seq,
             version) = self._open()
        except BaseException:
            self._release_lock()
            raise
        # One cursor for every write: conn.execute would create a cursor per statement.
        self._cursor = self._conn.cursor()
        self._write = self._cursor.execute
        log.info("journal opened",
                 extra={"journal": str(self.path), "schema_version": version,
                        "durability": durability, "readonly": readonly, "journal_tag": self._tag})

    # opening ----------------------------------------------------------------------------
    def _error(self, code: ErrorCode, what: str, cause: BaseException | None = None,
               **details: Any) -> JournalError:
        details["journal"] = str(self.path)
        if cause is not None:
            details["cause"] = f"{type(cause).__name__}: {cause}"
        exc = error(code, f"journal {self.path}: {what}", details=details)
        assert isinstance(exc, JournalError)
        return exc

    def _open(self) -> tuple[sqlite3.Connection, str, int, int, int]:
        path = self.path
        try:
            exists = sqlite_file.check_header(path)
            if not exists:
                if self.readonly:
                    raise self._error(Code.JOURNAL_ERROR, "there is no journal file yet (the "
                                      "first command that trades creates it)")
                sqlite_file.create_journal(path, self._write_new_schema)
                log.info("journal created", extra={"journal": str(path),
                                                   "schema_version": schema.latest_version()})
        except sqlite_file.FileProblem as exc:
            raise self._error(exc.code, exc.what, exc.__cause__) from None
        mode = "ro" if self.readonly else "rw"
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True,
                                   isolation_level=None, cached_statements=256)
        except sqlite3.Error as exc:
            raise self._error(Code.JOURNAL_ERROR, f"cannot open it: {exc}", exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            try:
                sqlite_file.quick_check(conn)
            except sqlite_file.FileProblem as exc:
                raise self._error(exc.code, exc.what, exc.__cause__) from None
            found, meta = self._inspect(conn)
            latest = schema.latest_version()
            if found == latest:
                self._check_tables(conn)  # before anything is written to the file
            if self.readonly:
                if found < latest:
                    raise self._error(Code.JOURNAL_ERROR,
                                      f"it has schema version {found} and needs an upgrade to "
                                      f"{latest}; open it once for writing to upgrade it",
                                      found=found, supported=latest)
            else:
                self._prepare_for_writing(conn)
                if found != latest:
                    schema.migrate(conn, found)
                    self._check_tables(conn)
                    log.info("journal schema ready",
                             extra={"journal": str(path), "from_version": found,
                                    "to_version": latest})
                if meta.get("venuekit_version") != __version__:
                    schema.set_meta(conn, "venuekit_version", __version__)
            tag = meta.get("journal_tag", "")
            if not is_journal_tag(tag):
                raise self._error(Code.JOURNAL_CORRUPT, f"its journal tag {tag!r} is invalid")
            # Orders and runs are never deleted, so one past the largest number is unused.
            (last,) = conn.execute("SELECT max(seq) FROM orders").fetchone()
            (last_run,) = conn.execute("SELECT max(seq) FROM runs").fetchone()
            conn.row_factory = sqlite3.Row
        except JournalError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise self._sqlite_error("open it", exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn, tag, (last or 0) + 1, (last_run or 0) + 1, latest

    @staticmethod
    def _write_new_schema(conn: sqlite3.Connection) -> None:
        """Every migration and a new journal's identity, in one transaction."""
        schema.migrate(conn, 0, meta={"application": schema.APPLICATION,
                                      "journal_tag": new_journal_tag(),
                                      "created_at": utcnow().isoformat(),
                                      "venuekit_version": __version__})

    def _inspect(self, conn: sqlite3.Connection) -> tuple[int, dict[str, str]]:
        """The schema version and meta entries of the file."""
        objects = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
        if not objects:
            raise self._error(Code.JOURNAL_CORRUPT, "it is an empty SQLite database, not a "
                              "venuekit journal; it was not modified")
        tables = {name for kind, name in objects if kind == "table"}
        if "meta" not in tables:
            raise self._error(Code.JOURNAL_CORRUPT, "it is an SQLite database but not a venuekit "
                              "journal (no meta table); it was not modified",
                              tables=sorted(tables))
        try:
            meta: dict[str, str] = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.OperationalError:  # a meta table of some other shape
            meta = {}
        if meta.get("application") != schema.APPLICATION:
            raise self._error(Code.JOURNAL_CORRUPT, "it is not a venuekit journal (its meta "
                              f"table names application {meta.get('application')!r}); it was "
                              "not modified")
        try:
            found = int(meta["schema_version"])
        except (KeyError, ValueError):
            raise self._error(Code.JOURNAL_CORRUPT, "its schema version "
                              f"{meta.get('schema_version')!r} is unreadable") from None
        latest = schema.latest_version()
        if found > latest:
            writer = meta.get("venuekit_version", "a newer release")
            raise self._error(Code.JOURNAL_TOO_NEW,
                              f"it has schema version {found}, written by venuekit {writer}; "
                              f"this venuekit {__version__} reads schema versions up to {latest}",
                              found=found, supported=latest, written_by=writer)
        return found, meta

    def _check_tables(self, conn: sqlite3.Connection) -> None:
        tables = {name for (name,) in
                  conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = schema.REQUIRED_TABLES - tables
        if missing:
            raise self._error(Code.JOURNAL_CORRUPT,
                              f"tables {', '.join(sorted(missing))} are missing",
                              missing=sorted(missing))

    def _prepare_for_writing(self, conn: sqlite3.Connection) -> None:
        (journal_mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if str(journal_mode).lower() != "wal":
            raise self._error(Code.JOURNAL_ERROR, f"cannot use write-ahead logging (the "
                              f"filesystem gave {journal_mode!r}); keep it on a local disk")
        conn.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[self.durability]}")
        if self.durability == "full":
            # Without these, fsync on macOS does not flush the drive's cache.
            conn.execute("PRAGMA fullfsync = ON")
            conn.execute("PRAGMA checkpoint_fullfsync = ON")

    # errors -----------------------------------------------------------------------------
    def _sqlite_error(self, what: str, exc: sqlite3.Error, **details: Any) -> JournalError:
        code = Code.JOURNAL_ERROR
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in sqlite_file.CORRUPT_CODES \
                or _UNDECODABLE in str(exc):  # a stored text damaged into invalid UTF-8
            code = Code.JOURNAL_CORRUPT
        return self._error(code, f"could not {what}: {exc}", exc, **details)

    def _refuse_read_only(self) -> NoReturn:
        raise self._error(Code.JOURNAL_ERROR, "it was opened read-only; open it without "
                          "readonly=True to write")

    def _rollback(self) -> None:
        self._queue.clear()  # it belonged to the transaction
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("journal rollback failed", extra={"journal": str(self.path)})

    # writing ----------------------------------------------------------------------------
    def _begin(self) -> bool:
        """Start one call's atomic unit: a transaction, or a savepoint inside an open one
        (a batch, or the transaction holding events written behind).

        Returns True when the call owns a transaction it must commit itself.
        """
        if self._batch_depth or self._behind:
            self._write("SAVEPOINT entry")
            return False
        self._write("BEGIN IMMEDIATE")
        return True

    def _end(self, owned: bool, *, durable: bool = True) -> None:
        """End one call's atomic unit; a durable call outside a batch commits, taking every
        event written behind with it."""
        if owned:
            self._write("COMMIT")
            return
        self._write("RELEASE entry")
        if durable and self._behind and not self._batch_depth:
            self._commit_behind()

    def _write_queued(self) -> None:
        """Execute the writes queued behind (inside the open transaction; not a commit)."""
        if self._queue:
            self._queue.write(self._cursor)

    def _commit_behind(self) -> None:
        self._behind = False
        try:
            self._write_queued()
            self._write("COMMIT")
        except sqlite3.Error:
            self._rollback()
            raise

    def flush(self) -> None:
        """Commit the events written behind (nothing to do inside a batch: it commits)."""
        if not self._behind or self._batch_depth:
            return
        try:
            self._commit_behind()
        except sqlite3.Error as exc:
            raise self._sqlite_error("commit the events written behind; they were not kept",
                                     exc) from exc

    @property
    def pending(self) -> bool:
        """True while events written behind wait for a commit."""
        return self._behind

    @property
    def refused_writes(self) -> int:
        """Orders whose events written behind the journal refused (and logged as "events
        written behind were not recorded") since it was opened: 0 in a healthy journal."""
        return self._queue.refused

    def _undo(self, owned: bool | None) -> None:
        """Undo what :meth:`_begin` started (``owned`` is None when it never started)."""
        if owned is None:
            return
        conn = self._conn
        try:
            if owned:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            else:
                conn.execute("ROLLBACK TO entry")
                conn.execute("RELEASE entry")
        except sqlite3.Error:
            log.exception("journal rollback failed", extra={"journal": str(self.path)})

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for every call inside the block (see :meth:`Journal.batch`)."""
        if self.readonly:
            self._refuse_read_only()
        if self._batch_depth == 0 and not self._behind:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._sqlite_error("start a batch", exc) from exc
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._behind = False  # the batch's commit takes them along
                try:
                    self._write_queued()
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback()
                    raise self._sqlite_error("commit the batch; nothing written in it was "
                                             "kept", exc) from exc

    def create_order(self, venue: str, request: OrderRequest, *, id_rules: ClientIdRules,
                     quantity: Decimal | None = None, limit_price: Decimal | None = None,
                     replaces: str | None = None, at: datetime | None = None,
                     submitted: bool = False, run: RunLink | None = None) -> Order:
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
        insert = INSERT_SUBMITTED_ORDER if submitted else INSERT_ORDER
        events = INSERT_SUBMITTED_EVENTS if submitted else INSERT_NEW_EVENT
        # The columns every attempt below writes alike, built inline: this runs before
        # each order is sent. Enum members give their value through ``_value_``, without
        # the descriptor.
        asked, notional, asked_price = request.quantity, request.notional, request.limit_price
        columns = (request.symbol, request.side._value_, request.order_type._value_,
                   request.time_in_force._value_, None if asked is None else str(asked),
                   None if notional is None else str(notional),
                   None if asked_price is None else str(asked_price), request.correlation_id,
                   None if quantity is None else str(quantity),
                   None if limit_price is None else str(limit_price))
        seq = self._next_seq
        for _ in range(_ID_ATTEMPTS):
            try:
                order_id = id_rules.client_order_id(self._tag, seq)
            except ValueError as exc:
                raise self._error(Code.JOURNAL_ERROR, f"no client order id is left under "
                                  f"{id_rules!r}; start a new journal", exc) from exc
            row = insert.bind((seq, order_id, venue, *columns, micros, replaces, micros,
                               *(run or _NO_RUN)))
            owned: bool | None = None
            try:
                event_args = ((order_id, micros, order_id, micros) if submitted
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
        return Order(id=order_id, venue=venue, request=request, quantity=quantity,
                     limit_price=limit_price, created_at=created, replaces=replaces,
                     state=history[-1].state, history=history,
                     run_id=None if run is None else run.run_id,
                     run_item=None if run is None else run.item)

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
        """Queue ``event``'s writes for the next commit (see :mod:`.sqlite_writes`).

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

    def _open_behind(self) -> None:
        if self._behind:
            return
        try:
            self._write("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._sqlite_error("start writing behind", exc) from exc
        self._behind = True

    def _insert_fill(self, order: Order, fill: Fill, execution: tuple[Any, ...],
                     data: dict[str, str] | None) -> bool:
        """Store ``fill`` (``execution`` is its :func:`execution_columns`) in the ledger of
        executions, with the inferred fills its event's ``data`` says it restated; False
        if it was there already."""
        text, args = INSERT_FILL.bind((order.venue, order.id, *execution))
        recorded = bool(self._write(text, args).rowcount == 1)
        if data:
            self._restate(order, fill, data)
        return recorded

    def _restate(self, order: Order, fill: Fill, data: dict[str, str]) -> None:
        """Record in the ledger of executions the inferred fills ``fill`` restated."""
        for trade_id, quantity in restatements(data):
            key = (order.venue, fill.symbol, fill.side.value, trade_id)
            row = self._write("SELECT restated FROM fills WHERE venue = ? AND symbol = ? "
                              "AND side = ? AND trade_id = ?", key).fetchone()
            if row is not None:
                self._write("UPDATE fills SET restated = ? WHERE venue = ? AND symbol = ? "
                            "AND side = ? AND trade_id = ?",
                            (str(Decimal(row[0]) + quantity), *key))

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
    def get(self, order_id: str) -> Order | None:
        found = self._select("id = ?", (order_id,))
        return found[0] if found else None

    def open_orders(self, venue: str | None = None) -> list[Order]:
        if venue is None:
            return self._select(_OPEN, ())
        return self._select(f"{_OPEN} AND venue = ?", (venue,))

    def orders(self, *, state: OrderState | Iterable[OrderState] | None = None,
               symbol: str | None = None, venue: str | None = None,
               since: datetime | None = None, until: datetime | None = None,
               limit: int | None = None, run_id: str | None = None) -> list[Order]:
        clauses: list[str] = []
        params: list[Any] = []
        if state is not None:
            states = [state] if isinstance(state, OrderState) else list(state)
            if not states:
                return []
            clauses.append(f"state IN ({', '.join('?' * len(states))})")
            params.extend(OrderState(s).value for s in states)
        for column, value in (("symbol", symbol), ("venue", venue), ("run_id", run_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(to_micros(since))
        if until is not None:
            clauses.append("created_at < ?")
            params.append(to_micros(until))
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        return self._select(" AND ".join(clauses) or "1", params, newest_first=True,
                            limit=limit)

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
        clauses: list[str] = []
        params: list[str] = []
        for column, value in (("venue", venue), ("symbol", symbol)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = " AND ".join(clauses) or "1"
        try:
            rows = self._conn.execute(
                f"SELECT {_FILL_COLUMNS}, restated FROM fills WHERE {where} "
                "ORDER BY at, venue, symbol, trade_id", params).fetchall()
        except sqlite3.Error as exc:
            raise self._sqlite_error("read fills", exc) from exc
        fills: list[Fill] = []
        try:
            for *columns, restated in rows:
                fill = _fill(*columns)
                if restated != "0":  # an inferred fill: only what no execution restated
                    left = fill.quantity - Decimal(restated)
                    if left <= 0:
                        continue
                    fill = fill.model_copy(update={"quantity": left})
                fills.append(fill)
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise self._error(Code.JOURNAL_CORRUPT, f"a stored fill is unreadable: {exc}",
                              exc) from exc
        return fills

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One consistent view for several queries, including what this journal wrote
        (its queued writes are executed first); inside a batch it is the batch's view."""
        conn = self._conn
        self._write_queued()
        opened = not conn.in_transaction
        if opened:
            conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if opened:
                self._rollback()

    def _select(self, where: str, params: Sequence[Any], *, newest_first: bool = False,
                limit: int | None = None) -> list[Order]:
        """Orders matching ``where`` with their histories, read from one snapshot."""
        order_by = f"ORDER BY seq {'DESC' if newest_first else 'ASC'}"
        if limit is not None:
            order_by += f" LIMIT {int(limit)}"
        chosen = f"SELECT id FROM orders WHERE {where} {order_by}"
        try:
            with self._snapshot() as conn:
                rows = conn.execute(
                    f"SELECT {_ORDER_COLUMNS} FROM orders WHERE {where} {order_by}",
                    params).fetchall()
                events = conn.execute(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE order_id IN ({chosen}) "
                    "ORDER BY order_id, seq", params).fetchall() if rows else []
        except sqlite3.Error as exc:
            raise self._sqlite_error("read orders", exc) from exc
        history: defaultdict[str, list[sqlite3.Row]] = defaultdict(list)
        for event in events:
            history[event["order_id"]].append(event)
        orders: list[Order] = []
        for row in rows:
            try:
                orders.append(_order(row, history.get(row["id"], [])))
            except (ValueError, ArithmeticError, TypeError) as exc:
                raise self._error(Code.JOURNAL_CORRUPT, f"order {row['id']} is unreadable: "
                                  f"{exc}", exc, order_id=row["id"]) from exc
        return orders

    # runs -------------------------------------------------------------------------------
    def create_run(self, *, kind: RunKind, venue: str, plan_hash: str, strategy: str,
                   items: Sequence[RunItem], correlation_id: str | None = None,
                   owner: str | None = None) -> Run:
        if self.readonly:
            self._refuse_read_only()
        now = utcnow()
        seq = self._next_run_seq
        run = Run(id=f"{self._tag}-r{seq}", kind=kind, venue=venue, plan_hash=plan_hash,
                  strategy=strategy, state=RunState.RUNNING, created_at=now, updated_at=now,
                  items=list(items), correlation_id=correlation_id, owner=owner)
        owned: bool | None = None
        try:
            self._write_queued()
            owned = self._begin()
            sqlite_runs.insert_run(self._cursor, seq, run)
            self._end(owned)
        except sqlite3.Error as exc:
            self._undo(owned)
            raise self._sqlite_error("create the run", exc, venue=venue) from exc
        except BaseException:
            self._undo(owned)
            raise
        self._next_run_seq = seq + 1
        return run

    def update_run(self, run_id: str, *, state: RunState | None = None,
                   note: str | None = None, items: Sequence[RunItem] = (),
                   resumed_by: str | None = None) -> None:
        if self.readonly:
            self._refuse_read_only()
        if resumed_by is not None:
            state = RunState.RUNNING
        owned: bool | None = None
        try:
            self._write_queued()
            owned = self._begin()
            found = sqlite_runs.update_run(self._cursor, run_id, utcnow(), state=state,
                                           note=note, clear_note=resumed_by is not None,
                                           owner=resumed_by, resumed=resumed_by is not None)
            if found and items:
                sqlite_runs.write_items(self._cursor, run_id, items)
            if not found:
                self._undo(owned)
                owned = None
                raise error(Code.UNKNOWN_RUN, f"the journal {self.path} has no run "
                            f"{run_id!r}", details={"run_id": run_id})
            self._end(owned)
        except sqlite3.Error as exc:
            self._undo(owned)
            raise self._sqlite_error(f"record run {run_id}", exc, run_id=run_id) from exc
        except BaseException:
            self._undo(owned)
            raise

    def get_run(self, run_id: str) -> Run | None:
        found = self._select_runs("id = ?", (run_id,), None)
        return found[0] if found else None

    def runs(self, *, venue: str | None = None, plan_hash: str | None = None,
             kind: RunKind | None = None, state: RunState | Iterable[RunState] | None = None,
             limit: int | None = None) -> list[Run]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("venue", venue), ("plan_hash", plan_hash),
                              ("kind", None if kind is None else RunKind(kind).value)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if state is not None:
            states = [state] if isinstance(state, RunState) else list(state)
            if not states:
                return []
            clauses.append(f"state IN ({', '.join('?' * len(states))})")
            params.extend(RunState(s).value for s in states)
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        return self._select_runs(" AND ".join(clauses) or "1", params, limit)

    def _select_runs(self, where: str, params: Sequence[Any], limit: int | None) -> list[Run]:
        try:
            with self._snapshot() as conn:
                return sqlite_runs.select_runs(conn, where, params, limit)
        except sqlite3.Error as exc:
            raise self._sqlite_error("read runs", exc) from exc
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise self._error(Code.JOURNAL_CORRUPT, f"a stored run is unreadable: {exc}",
                              exc) from exc

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
            self._conn.close()
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


# rebuilding -------------------------------------------------------------------------------
def _fill(trade_id: str, symbol: str, side: str, quantity: str, price: str, fee: str,
          fee_currency: str, at: int, venue_order_id: str | None, client_order_id: str | None,
          inferred: int) -> Fill:
    return Fill(trade_id=trade_id, symbol=symbol, side=Side(side), quantity=Decimal(quantity),
                price=Decimal(price), fee=Decimal(fee), fee_currency=fee_currency,
                at=from_micros(at), venue_order_id=venue_order_id,
                client_order_id=client_order_id, inferred=bool(inferred))


def _event(row: sqlite3.Row) -> OrderEvent:
    fill = None
    if row["trade_id"] is not None:
        fill = _fill(row["trade_id"], row["fill_symbol"], row["fill_side"], row["fill_quantity"],
                     row["fill_price"], row["fill_fee"], row["fill_fee_currency"], row["fill_at"],
                     row["fill_venue_order_id"], row["fill_client_order_id"],
                     row["fill_inferred"])
    data = row["data"]
    return OrderEvent(seq=row["seq"], kind=row["kind"], state=OrderState(row["state"]),
                      at=from_micros(row["at"]), fill=fill, reason=row["reason"],
                      data=None if data is None else json.loads(data))


def _order(row: sqlite3.Row, events: Sequence[sqlite3.Row]) -> Order:
    request = OrderRequest(
        symbol=row["symbol"], side=row["side"], quantity=_decimal(row["request_quantity"]),
        notional=_decimal(row["request_notional"]), order_type=row["order_type"],
        limit_price=_decimal(row["request_limit_price"]), time_in_force=row["time_in_force"],
        correlation_id=row["correlation_id"])
    history = [_event(event) for event in events]
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
        run_id=row["run_id"], run_item=row["run_item"])
