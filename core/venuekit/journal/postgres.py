"""The shared journal: one PostgreSQL database, written by several processes on several
machines (psycopg 3, the ``postgres`` extra).

The same interface and guarantees as :class:`~venuekit.journal.sqlite.SQLiteJournal` (see
:mod:`venuekit.journal.base`), the same rows (:mod:`.rows`) and the same shared SQL
(:mod:`.writes`, :mod:`.reads`, :mod:`.run_rows`), plus ownership:

* a journal opened for writing registers a *writer* holding a lease
  (:mod:`.postgres_writers`); every order it creates is owned by it, and every write is
  fenced in SQL: a writer whose lease was taken over gets ``JOURNAL_FENCED`` and nothing
  is written;
* client order ids are the book's one tag and numbers taken in blocks from a sequence, so
  they are unique across processes; fills are unique across processes (``ON CONFLICT DO
  NOTHING``);
* :meth:`PostgresJournal.open_orders` returns the orders this writer owns (what its
  recovery reconciles); :meth:`PostgresJournal.adopt` takes over the open orders of dead
  writers on its venues. A read-only journal takes no writer row and sees the whole book.

Durability: a create (NEW, with SUBMIT or HOLD) always commits with
``synchronous_commit=on``; events written behind commit with ``synchronous_commit=off``
under ``"normal"`` (recovery rebuilds them from the venue) and ``on`` under ``"full"``.

The URL may carry ``lease=SECONDS`` (default 5): a writer whose heartbeat is older than
that may be terminated and taken over by another. Writers need a direct connection or
session pooling (session advisory locks do not survive transaction pooling).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..decimals import plain
from ..errors import Code, ErrorCode, JournalError, error
from ..model import (
    BracketRequest,
    Fill,
    Order,
    OrderEvent,
    OrderRequest,
    OrderState,
    utcnow,
)
from . import postgres_notify, postgres_schema, postgres_writers, reads, run_rows
from ._time import as_utc, to_micros
from .ids import ClientIdRules
from .postgres_conn import Cursor, connect, masked_url
from .rows import bracket_column, execution_columns, trigger_column
from .runs import Run, RunItem, RunKind, RunLink, RunState
from .sqlite_schema import APPLICATION
from .table import TableJournal
from .writes import Fence, Row, WriteQueue, restate

__all__ = ["DEFAULT_LEASE", "PostgresJournal"]

log = logging.getLogger("venuekit.journal")

DEFAULT_LEASE = 5.0
"""Seconds a writer's heartbeat may be late before another writer may take it over."""

_IDLE_TIMEOUT_MS = "30000"  # a writer hung inside a transaction loses its session
_ID_ATTEMPTS = 100
_ORDER = ("created_at", "seq")  # numbers are not in creation order across processes

_ORDER_CASTS = (
    ("seq", "bigint"), ("id", "text"), ("venue", "text"), ("symbol", "text"),
    ("side", "text"), ("order_type", "text"), ("time_in_force", "text"),
    ("request_quantity", "text"), ("request_notional", "text"),
    ("request_limit_price", "text"), ("correlation_id", "text"), ("quantity", "text"),
    ("limit_price", "text"), ("created_at", "bigint"), ("replaces", "text"),
    ("updated_at", "bigint"), ("run_id", "text"), ("run_item", "integer"),
    ("request_trigger", "text"), ("bracket", "text"),
)


def _create_statement(state: str, second: tuple[str, str] | None) -> str:
    """Insert an order and its first events in one statement, fenced: nothing is written
    unless this writer stands (its row locked FOR SHARE, so a takeover waits for it)."""
    names = ", ".join(name for name, _ in _ORDER_CASTS)
    values = ", ".join(f"%s::{kind}" for _, kind in _ORDER_CASTS)
    events = "SELECT id, 1, 'new', 'new', created_at FROM o"
    if second is not None:
        events += f" UNION ALL SELECT id, 2, '{second[0]}', '{second[1]}', created_at FROM o"
    return (
        f"WITH o AS (INSERT INTO orders ({names}, state, filled_quantity, filled_notional, "
        f"fees, owner) SELECT {values}, '{state}', '0', '0', '0', w.id FROM writers w "
        "WHERE w.id = %s AND w.epoch = %s AND w.live FOR SHARE "
        "ON CONFLICT (id) DO NOTHING RETURNING id, created_at) "
        f"INSERT INTO events (order_id, seq, kind, state, at) {events}")


_CREATE = {
    "new": _create_statement("new", None),
    "submitted": _create_statement("submitted", ("submit", "submitted")),
    "held": _create_statement("held", ("hold", "held")),
}
_INSERT_FILL = (
    "INSERT INTO fills (venue, order_id, trade_id, symbol, side, quantity, price, fee, "
    "fee_currency, at, venue_order_id, client_order_id, inferred) "
    "SELECT %s::text, %s::text, %s::text, %s::text, %s::text, %s::text, %s::text, %s::text, "
    "%s::text, %s::bigint, %s::text, %s::text, %s::integer FROM writers w "
    "WHERE w.id = %s AND w.epoch = %s AND w.live "
    "ON CONFLICT (venue, symbol, side, trade_id) DO NOTHING"
)


def _checked_amount(name: str, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive, finite decimal.Decimal, got {value!r}")
    return value


def split_url(url: str) -> tuple[str, float]:
    """``url`` without venuekit's own parameters (``lease``), and the lease in seconds."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    lease = DEFAULT_LEASE
    kept = []
    for key, value in query:
        if key == "lease":
            try:
                lease = float(value)
            except ValueError:
                raise error(Code.INVALID_CONFIG, f"the journal URL's lease must be seconds, "
                            f"got {value!r}") from None
        else:
            kept.append((key, value))
    if lease <= 0:
        raise error(Code.INVALID_CONFIG, f"the journal URL's lease must be positive, got {lease}")
    return urlunsplit(parts._replace(query=urlencode(kept, safe="/"))), lease


class _Unknown(Exception):
    """Raised inside a write to undo it: the order is not this writer's (or not there)."""


class PostgresJournal(TableJournal):
    """The journal in a PostgreSQL database shared by several writers (module docs).

    ``url`` is a ``postgresql://`` (or ``postgres://``) URL; ``lease`` (seconds, else the
    URL's ``lease`` parameter, else :data:`DEFAULT_LEASE`) bounds how late a writer's
    heartbeat may be before it may be taken over. ``venues`` are recorded in the writer's
    row. ``readonly=True`` reads the whole book without registering a writer.
    """

    def __init__(self, url: str, *, durability: str = "normal", readonly: bool = False,
                 lease: float | None = None, venues: Iterable[str] = ()) -> None:
        if durability not in ("normal", "full"):
            raise ValueError(f"durability must be 'normal' or 'full', got {durability!r}")
        try:
            import psycopg
        except ImportError:
            raise error(Code.INVALID_CONFIG, "the PostgreSQL journal needs psycopg: "
                        "pip install 'venuekit[postgres]'") from None
        self._psycopg_error: type[Exception] = psycopg.Error
        conninfo, url_lease = split_url(url)
        self.url = masked_url(url)
        """The URL as it may be shown (its password masked)."""
        self.path = self.url  # what the journal's errors and logs name it by
        self.durability = durability
        self.readonly = readonly
        self.lease = url_lease if lease is None else float(lease)
        self.writer_id: int | None = None
        """This process's writer (None when read-only)."""
        self._epoch = 0
        self._closed = False
        self._batch_depth = 0
        self._behind = False
        self._sync_off = False  # the open transaction commits with synchronous_commit=off
        self._fenced: str | None = None  # why this writer is fenced (sticky)
        self._fence_lock = threading.Lock()
        self._fence_listeners: list[Callable[[JournalError], None]] = []
        self._fence_error: JournalError | None = None
        self._seq = 0
        self._seq_end = 0
        self._venues = list(dict.fromkeys(venues))
        self._lease_conn: Any = None
        self._lease: postgres_writers.Lease | None = None
        self._notifier: postgres_notify.Notifier | None = None
        self._touched: set[str] = set()  # venues changed by the open transaction
        self._conninfo = conninfo
        try:
            self._conn: Any = connect(
                conninfo, idle_in_transaction_session_timeout=_IDLE_TIMEOUT_MS)
        except psycopg.Error as exc:
            raise self._error(Code.JOURNAL_ERROR, f"cannot connect: {exc}", exc) from None
        try:
            self._open(conninfo)
        except BaseException:
            self._disconnect()
            raise
        self._cursor = Cursor(self._conn)
        self._queue = WriteQueue(self.url, errors=(psycopg.Error,), fence=self._fence)
        log.info("journal opened",
                 extra={"journal": self.url, "schema_version": self._version,
                        "durability": durability, "readonly": readonly,
                        "journal_tag": self._tag, "writer_id": self.writer_id})

    def _open(self, conninfo: str) -> None:
        import psycopg

        try:
            if self.readonly:
                self._tag, self._version = self._read_meta()
            else:
                self._tag, self._version = postgres_schema.migrate(self._conn)
                self._lease_conn = connect(conninfo)
                backend = self._conn.execute("SELECT pg_backend_pid()").fetchone()[0]
                self.writer_id, self._epoch = postgres_writers.register(
                    self._lease_conn, backend, socket.gethostname(), os.getpid(),
                    self._venues)
                self._lease = postgres_writers.Lease(self._lease_conn, self.writer_id,
                                                     self._epoch, self.lease,
                                                     on_lost=self._declare_fenced)
                self._notifier = postgres_notify.Notifier(self._lease_conn)
        except postgres_schema.TooNew as exc:
            raise self._error(Code.JOURNAL_TOO_NEW, f"its schema version {exc} is newer than "
                              f"this venuekit reads ({postgres_schema.latest_version()})"
                              ) from None
        except postgres_schema.NotAJournal as exc:
            raise self._error(Code.JOURNAL_CORRUPT, f"not a venuekit journal: {exc}") from None
        except psycopg.Error as exc:
            raise self._error(Code.JOURNAL_ERROR, f"cannot open it: {exc}", exc) from None
        self._fence = Fence(postgres_writers.FENCE,
                            (self.writer_id, self.writer_id, self._epoch))

    def _read_meta(self) -> tuple[str, int]:
        if not self._conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]:
            raise self._error(Code.JOURNAL_ERROR, "there is no journal in this database yet")
        meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("application") != APPLICATION:
            raise postgres_schema.NotAJournal("its meta table is not a venuekit journal's")
        version = int(meta.get("schema_version", "0"))
        if version > postgres_schema.latest_version():
            raise postgres_schema.TooNew(str(version))
        return meta["journal_tag"], version

    # errors and standing --------------------------------------------------------------
    def _error(self, code: ErrorCode, what: str, cause: BaseException | None = None,
               **details: Any) -> JournalError:
        details["journal"] = self.url
        if cause is not None:
            details["cause"] = f"{type(cause).__name__}: {masked_url(str(cause))}"
        exc = error(code, f"journal {self.url}: {what}", details=details)
        assert isinstance(exc, JournalError)
        return exc

    def _db_error(self, what: str, exc: Exception, **details: Any) -> JournalError:
        if self._connection_gone():
            # A writer whose session is gone cannot prove it still owns its orders (a
            # takeover terminates the sessions of the writer it retires): it is fenced.
            return self._fenced_error(f"the journal's connection was lost while trying to "
                                      f"{what} ({type(exc).__name__}: {str(exc).strip()})")
        return self._error(Code.JOURNAL_ERROR, f"could not {what}: {exc}", exc, **details)

    def _connection_gone(self) -> bool:
        return self.writer_id is not None and bool(self._conn.closed or self._conn.broken)

    def _refuse_read_only(self) -> NoReturn:
        raise self._error(Code.JOURNAL_ERROR, "it was opened read-only; open it without "
                          "readonly=True to write")

    def _fenced_error(self, reason: str) -> JournalError:
        """The JOURNAL_FENCED error to raise, this writer fenced for ``reason`` if it was
        not already (the first reason stays)."""
        self._declare_fenced(reason)
        return self._fenced_now()

    def _fenced_now(self) -> JournalError:
        return self._error(Code.JOURNAL_FENCED, _fenced_message(self.writer_id, self._fenced),
                           writer_id=self.writer_id, reason=self._fenced)

    def _declare_fenced(self, reason: str) -> None:
        """Fence this writer for good (from any thread): one log record, and the listeners
        (:meth:`on_fenced`) told once."""
        with self._fence_lock:
            if self._fence_error is not None:
                return
            self._fenced = reason
            self._fence_error = fenced = self._fenced_now()
            listeners = list(self._fence_listeners)
        log.error("journal writer fenced: this process sends nothing more",
                  extra={"journal": self.url, "writer_id": self.writer_id, "reason": reason,
                         "code": Code.JOURNAL_FENCED.name})
        for listener in listeners:
            try:
                listener(fenced)
            except Exception:
                log.exception("a journal fence listener failed", extra={"journal": self.url})

    def on_fenced(self, listener: Callable[[JournalError], None]) -> None:
        with self._fence_lock:
            fenced = self._fence_error
            if fenced is None:
                self._fence_listeners.append(listener)
        if fenced is not None:
            listener(fenced)

    @property
    def fenced(self) -> str | None:
        """Why this writer is fenced; None while it stands."""
        return self._fenced

    def _check_writable(self) -> None:
        if self.readonly:
            self._refuse_read_only()
        if self._closed:
            raise self._error(Code.JOURNAL_ERROR, "it is closed")
        lease = self._lease
        if not self._fenced and lease is not None and not lease.fresh():
            # Stopped or starved past the point where another writer may take this one
            # over: nothing is written (nor sent) before the lease is known to hold.
            lease.renew()
        lost = self._fenced or (lease.lost if lease is not None else None)
        if lost:
            if not self._batch_depth:  # a batch's end rolls it back and raises
                self._rollback()
            raise self._fenced_error(lost)

    def _standing(self) -> str | None:
        assert self.writer_id is not None
        return postgres_writers.standing(self._conn, self.writer_id, self._epoch)

    # transactions ---------------------------------------------------------------------
    @property
    def _in_transaction(self) -> bool:
        return bool(self._batch_depth or self._behind)

    def _rollback(self) -> None:
        self._queue.clear()
        self._touched.clear()
        self._behind = False
        self._sync_off = False
        if self._conn.closed or self._conn.broken:
            return  # nothing to roll back: the server ended the transaction with the session
        try:
            if self._conn.info.transaction_status != 0:  # not idle
                self._conn.execute("ROLLBACK")
        except self._psycopg_error:
            self._rollback_failed()

    def _rollback_failed(self) -> None:
        if self._fenced or self._connection_gone():
            log.debug("journal rollback skipped: the connection is gone",
                      extra={"journal": self.url})
        else:
            log.exception("journal rollback failed", extra={"journal": self.url})

    def _commit(self) -> None:
        """Commit the open transaction durably (synchronous_commit back on)."""
        if self._sync_off:
            self._conn.execute("SET LOCAL synchronous_commit TO on")
        self._conn.execute("COMMIT")
        self._sync_off = False
        self._committed()

    def _committed(self) -> None:
        """Tell the other processes (a coalesced NOTIFY, sent after this commit and outside
        any order's transaction: :mod:`.postgres_notify`)."""
        if self._touched:
            if self._notifier is not None:
                self._notifier.changed(self._touched)
            self._touched = set()

    def _write_queued(self) -> None:
        if self._queue:
            refused = self._queue.refused
            self._queue.write(self._cursor)
            if self._queue.refused != refused and self.writer_id is not None:
                reason = self._standing()
                if reason:
                    raise self._fenced_error(reason)

    def _commit_behind(self, *, durable: bool = True) -> None:
        self._behind = False
        try:
            self._write_queued()
            if durable:
                self._commit()
            else:
                self._conn.execute("COMMIT")
                self._sync_off = False
                self._committed()
        except BaseException:
            self._rollback()
            raise

    def _open_behind(self) -> None:
        if self._behind:
            return
        try:
            self._conn.execute("BEGIN")
            if self.durability == "normal":
                self._conn.execute("SET LOCAL synchronous_commit TO off")
                self._sync_off = True
        except self._psycopg_error as exc:
            raise self._db_error("start writing behind", exc) from exc
        self._behind = True

    @contextmanager
    def _atomic(self, what: str, **details: Any) -> Iterator[Cursor]:
        """One call's writes as one atomic unit: a transaction (committed durably) or a
        savepoint inside the open one."""
        self._check_writable()
        owned: bool | None = None
        try:
            self._write_queued()
            if self._in_transaction:
                self._conn.execute("SAVEPOINT entry")
                owned = False
            else:
                self._conn.execute("BEGIN")
                owned = True
            yield self._cursor
            if owned:
                self._commit()
            else:
                self._conn.execute("RELEASE entry")
                if self._behind and not self._batch_depth:
                    self._commit_behind()
        except self._psycopg_error as exc:
            self._undo(owned)
            if getattr(getattr(exc, "diag", None), "constraint_name", None) == "events_pkey":
                raise self._error(Code.JOURNAL_ERROR, f"{what}: the event is already in the "
                                  "journal; an order must have a single writer", exc,
                                  **details) from exc
            raise self._db_error(what, exc, **details) from exc
        except BaseException:
            self._undo(owned)
            raise

    def _undo(self, owned: bool | None) -> None:
        if owned is None:
            return
        try:
            if owned:
                self._conn.execute("ROLLBACK")
            else:
                self._conn.execute("ROLLBACK TO entry")
                self._conn.execute("RELEASE entry")
        except self._psycopg_error:
            self._rollback_failed()

    def flush(self) -> None:
        if self._fenced:
            self._rollback()
            raise self._fenced_now()
        if not self._behind or self._batch_depth:
            return
        try:
            self._commit_behind(durable=self.durability == "full")
        except self._psycopg_error as exc:
            raise self._db_error("commit the events written behind; they were not kept",
                                 exc) from exc

    @property
    def pending(self) -> bool:
        return self._behind

    @property
    def refused_writes(self) -> int:
        return self._queue.refused

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for every call inside the block (see :meth:`Journal.batch`).

        A create is one statement: it either writes the order with its events or nothing.
        Should a statement fail unexpectedly, PostgreSQL aborts the whole transaction: the
        call raises, and so does the batch's end (nothing in the batch was kept).
        """
        self._check_writable()
        if self._batch_depth == 0 and not self._behind:
            try:
                self._conn.execute("BEGIN")
            except self._psycopg_error as exc:
                raise self._db_error("start a batch", exc) from exc
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._behind = False
                if self._fenced:  # nothing of the batch may be kept, nor sent
                    self._rollback()
                    raise self._fenced_error(self._fenced)
                try:
                    self._write_queued()
                    self._commit()
                except JournalError:
                    self._rollback()
                    raise
                except self._psycopg_error as exc:
                    self._rollback()
                    raise self._db_error("commit the batch; nothing written in it was kept",
                                         exc) from exc

    @contextmanager
    def _snapshot(self) -> Iterator[Cursor]:
        """One consistent view for several reads, including this journal's own writes."""
        if self._in_transaction:
            self._write_queued()
            yield self._cursor
            return
        self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield self._cursor
        finally:
            try:
                self._conn.execute("ROLLBACK")
            except self._psycopg_error:
                self._rollback_failed()

    # writing --------------------------------------------------------------------------
    def _next_seq(self) -> int:
        if self._seq >= self._seq_end:
            block = int(self._conn.execute("SELECT nextval('order_seq_block')").fetchone()[0])
            self._seq = (block - 1) * postgres_schema.SEQ_BLOCK + 1  # block 1: 1..1024
            self._seq_end = self._seq + postgres_schema.SEQ_BLOCK
        seq = self._seq
        self._seq += 1
        return seq

    def create_order(self, venue: str, request: OrderRequest, *, id_rules: ClientIdRules,
                     quantity: Decimal | None = None, limit_price: Decimal | None = None,
                     replaces: str | None = None, at: datetime | None = None,
                     submitted: bool = False, run: RunLink | None = None,
                     held: bool = False, bracket: BracketRequest | None = None,
                     parent: str | None = None, leg: str | None = None) -> Order:
        self._check_writable()
        if not venue:
            raise ValueError("venue must be a non-empty name")
        if submitted and held:
            raise ValueError("an order is created either submitted or held, not both")
        quantity = request.quantity if quantity is None else _checked_amount("quantity",
                                                                              quantity)
        limit_price = (request.limit_price if limit_price is None
                       else _checked_amount("limit_price", limit_price))
        created = utcnow() if at is None else as_utc(at)
        micros = to_micros(created)
        state = "held" if held else "submitted" if submitted else "new"
        statement = _CREATE[state]
        terms = (trigger_column(request), bracket_column(bracket, parent, leg))
        asked, notional, asked_price = request.quantity, request.notional, request.limit_price
        columns = (venue, request.symbol, request.side._value_, request.order_type._value_,
                   request.time_in_force._value_, None if asked is None else plain(asked),
                   None if notional is None else plain(notional),
                   None if asked_price is None else plain(asked_price), request.correlation_id,
                   None if quantity is None else plain(quantity),
                   None if limit_price is None else plain(limit_price), micros, replaces,
                   micros, None if run is None else run.run_id,
                   None if run is None else run.item, *terms)
        expected = 2 if (submitted or held) else 1
        conn = self._conn
        self._touched.add(venue)
        try:
            if self._behind and not self._batch_depth:
                self._write_queued()  # committed with this order, in their order
            for _ in range(_ID_ATTEMPTS):
                seq = self._next_seq()
                try:
                    order_id = id_rules.client_order_id(self._tag, seq)
                except ValueError as exc:
                    raise self._error(Code.JOURNAL_ERROR, f"no client order id is left under "
                                      f"{id_rules!r}; start a new journal", exc) from exc
                written = conn.execute(statement, (seq, order_id, *columns, self.writer_id,
                                                   self._epoch), prepare=True).rowcount
                if written == expected:
                    break
                if conn.execute("SELECT 1 FROM orders WHERE id = %s",
                                (order_id,)).fetchone() is None:
                    reason = self._standing() or "the order was not written"
                    if not self._batch_depth:  # a batch's end rolls it back and raises
                        self._rollback()
                    raise self._fenced_error(reason)
            else:
                raise self._error(Code.JOURNAL_ERROR, f"{_ID_ATTEMPTS} client order ids in a "
                                  f"row were taken under {id_rules!r}")
            if self._behind and not self._batch_depth:
                self._commit_behind()  # durable now, with what was written behind
            elif not self._in_transaction:
                self._committed()  # one statement, committed on its own
        except self._psycopg_error as exc:
            if self._in_transaction and not self._batch_depth:
                self._rollback()
            raise self._db_error("create the order", exc, venue=venue) from exc
        history = [OrderEvent(seq=1, kind="new", state=OrderState.NEW, at=created)]
        if submitted:
            history.append(OrderEvent(seq=2, kind="submit", state=OrderState.SUBMITTED,
                                      at=created))
        elif held:
            history.append(OrderEvent(seq=2, kind="hold", state=OrderState.HELD, at=created))
        return Order(id=order_id, venue=venue, request=request, quantity=quantity,
                     limit_price=limit_price, created_at=created, replaces=replaces,
                     state=history[-1].state, history=history,
                     run_id=None if run is None else run.run_id,
                     run_item=None if run is None else run.item,
                     bracket=bracket, parent=parent, leg=leg)

    def _insert_fill(self, order: Order, fill: Fill, execution: tuple[Any, ...],
                     data: dict[str, str] | None) -> bool:
        written = self._conn.execute(_INSERT_FILL, (order.venue, order.id, *execution,
                                                    self.writer_id, self._epoch)).rowcount
        recorded = bool(written == 1)
        if not recorded:
            reason = self._standing()
            if reason:
                raise self._fenced_error(reason)
        if data:
            restate(self._cursor, order.venue, fill, data)
        return recorded

    def append(self, order: Order, event: OrderEvent) -> bool:
        fill = event.fill
        execution = None if fill is None else execution_columns(fill)
        row = Row.of(order, event, execution, self._fence)
        self._touched.add(order.venue)
        try:
            with self._atomic(f"record event {event.seq} of order {order.id}",
                              order_id=order.id, seq=event.seq) as cursor:
                if not row.write(cursor.execute):
                    raise _Unknown
                recorded = (fill is None or execution is None
                            or self._insert_fill(order, fill, execution, event.data))
        except _Unknown:
            raise self._not_mine(order.id) from None
        if not recorded:
            assert fill is not None
            self._report_duplicate(order, fill)
        return recorded

    def _not_mine(self, order_id: str) -> JournalError:
        reason = self._standing()
        if reason:
            self._rollback()
            return self._fenced_error(reason)
        owner = self._conn.execute("SELECT owner FROM orders WHERE id = %s",
                                   (order_id,)).fetchone()
        if owner is None:
            return self._error(Code.JOURNAL_ERROR, f"order {order_id} is not in this journal; "
                               "orders must be created with create_order", order_id=order_id)
        return self._error(Code.JOURNAL_FENCED, f"order {order_id} is owned by writer "
                           f"{owner[0]}, not by this one ({self.writer_id})",
                           order_id=order_id, writer_id=self.writer_id)

    def append_behind(self, order: Order, event: OrderEvent) -> bool:
        self._check_writable()
        fill = event.fill
        execution = None if fill is None else execution_columns(fill)
        row = Row.of(order, event, execution, self._fence)
        if not self._in_transaction:
            self._open_behind()
        self._touched.add(order.venue)
        recorded = True
        if fill is not None and execution is not None:
            try:
                recorded = self._insert_fill(order, fill, execution, event.data)
            except self._psycopg_error as exc:
                self._rollback()
                raise self._db_error(f"record event {event.seq} of order {order.id}", exc,
                                     order_id=order.id, seq=event.seq) from exc
        self._queue.add(row)
        if not recorded:
            assert fill is not None
            self._report_duplicate(order, fill)
        return recorded

    def _report_duplicate(self, order: Order, fill: Fill) -> None:
        try:
            row = self._conn.execute(
                "SELECT order_id FROM fills WHERE venue = %s AND symbol = %s AND side = %s "
                "AND trade_id = %s", (order.venue, fill.symbol, fill.side.value,
                                      fill.trade_id)).fetchone()
        except self._psycopg_error:
            row = None  # the warning matters more than naming the first order
        log.warning("execution already journaled; not stored again",
                    extra={"journal": self.url, "order_id": order.id, "venue": order.venue,
                           "symbol": fill.symbol, "side": fill.side.value,
                           "trade_id": fill.trade_id,
                           "recorded_for": row[0] if row else None})

    def set_venue_order_id(self, order_id: str, venue_order_id: str, *,
                           behind: bool = False) -> None:
        self._check_writable()
        if behind:
            if not self._in_transaction:
                self._open_behind()
            self._queue.set_venue_order_id(order_id, venue_order_id)
            return
        try:
            with self._atomic(f"record the venue id of order {order_id}",
                              order_id=order_id) as cursor:
                if cursor.execute(self._fence.venue_id, (venue_order_id, order_id,
                                                         *self._fence.args)).rowcount != 1:
                    raise _Unknown
        except _Unknown:
            raise self._not_mine(order_id) from None

    # ownership ------------------------------------------------------------------------
    def adopt(self, venues: Iterable[str]) -> list[str]:
        """Take over the open orders on ``venues`` of writers that are gone: each other
        live writer whose lease is free (its session ended) or whose heartbeat is older
        than the lease (its backends are terminated first) is retired, and its open orders
        and unfinished runs on ``venues`` become this writer's; then open orders of retired
        writers on ``venues`` are claimed (``SKIP LOCKED``). Returns the adopted orders'
        ids; run recovery on them next (the client does, at open)."""
        self._check_writable()
        assert self.writer_id is not None
        chosen = list(dict.fromkeys(venues))
        if not chosen:
            return []
        self.flush()
        try:
            if self._in_transaction:
                raise self._error(Code.JOURNAL_ERROR, "adopt() inside a batch")
            self._conn.execute(
                "UPDATE writers SET venues = ARRAY(SELECT DISTINCT unnest(venues || %s)) "
                "WHERE id = %s", (chosen, self.writer_id))
            taken = postgres_writers.adopt(self._conn, self._lease_conn, self.writer_id,
                                           self._epoch, chosen, self.lease)
            claimed = postgres_writers.claim_orphans(self._conn, self.writer_id, self._epoch,
                                                     chosen)
        except self._psycopg_error as exc:
            raise self._db_error("adopt the orders of writers that are gone", exc) from exc
        ids: list[str] = []
        for adopted in taken:
            ids += adopted.orders
            log.warning("journal writer taken over",
                        extra={"journal": self.url, "writer_id": self.writer_id,
                               "dead_writer": adopted.writer_id, "dead_host": adopted.host,
                               "dead_pid": adopted.pid, "terminated": adopted.terminated,
                               "venues": chosen, "orders": adopted.orders,
                               "runs": adopted.runs})
        if claimed:
            log.warning("journal orders of retired writers claimed",
                        extra={"journal": self.url, "writer_id": self.writer_id,
                               "venues": chosen, "orders": claimed})
        ids += claimed
        reason = self._standing()
        if reason:
            raise self._fenced_error(reason)
        return list(dict.fromkeys(ids))

    # reading --------------------------------------------------------------------------
    def open_orders(self, venue: str | None = None) -> list[Order]:
        where = reads.Where().equals("venue", venue).equals("owner", self.writer_id)
        where.clauses.insert(0, "closed_at IS NULL")
        return self._select(where.text, where.params)

    def venues(self) -> list[str]:
        with self._reading("read the venues") as cursor:
            rows = cursor.execute("SELECT DISTINCT venue FROM orders ORDER BY venue")
            return [row[0] for row in rows.fetchall()]

    def venue_order_ids(self, venue: str, since: datetime) -> set[str]:
        with self._reading("read venue order ids") as cursor:
            rows = cursor.execute("SELECT venue_order_id FROM orders WHERE venue = ? AND "
                                  "created_at >= ? AND venue_order_id IS NOT NULL",
                                  (venue, to_micros(since))).fetchall()
            return {row[0] for row in rows}

    def fills(self, *, venue: str | None = None, symbol: str | None = None) -> list[Fill]:
        where = reads.Where().equals("venue", venue).equals("symbol", symbol)
        with self._reading("read fills") as cursor:
            return reads.select_fills(cursor, where.text, where.params)

    def _select(self, where: str, params: Sequence[Any], *, newest_first: bool = False,
                limit: int | None = None, open_only: bool = False) -> list[Order]:
        with self._reading("read orders") as cursor:
            return reads.select_orders(cursor, where, params, newest_first=newest_first,
                                       limit=limit, order=_ORDER)

    @contextmanager
    def _reading(self, what: str) -> Iterator[Cursor]:
        if self._closed:
            raise self._error(Code.JOURNAL_ERROR, "it is closed")
        if self._fenced:
            raise self._fenced_now()
        try:
            with self._snapshot() as cursor:
                yield cursor
        except self._psycopg_error as exc:
            raise self._db_error(what, exc) from exc
        except reads.Unreadable as exc:
            raise self._error(Code.JOURNAL_CORRUPT, str(exc), exc.__cause__,
                              order_id=exc.order_id) from exc

    # following the book ---------------------------------------------------------------
    def follow(self) -> postgres_notify.PostgresFollower:
        """A follower of the whole book's changes from now on, from every writer, woken by
        their notices (:mod:`.postgres_notify`); close it when done."""
        def read(after: int) -> list[tuple[int, str, int]]:
            with self._reading("read the book's new events") as cursor:
                rows = cursor.raw("SELECT gid, order_id, seq FROM events WHERE gid > %s "
                                  "ORDER BY gid", (after,)).fetchall()
            return [(int(gid), str(order_id), int(seq)) for gid, order_id, seq in rows]

        try:
            with self._reading("read the book's last event") as cursor:
                top = cursor.raw("SELECT coalesce(max(gid), 0) FROM events").fetchone()[0]
            listen = connect(self._conninfo)
        except self._psycopg_error as exc:
            raise self._db_error("listen for the book's changes", exc) from exc
        return postgres_notify.PostgresFollower(listen, read, start=int(top))

    # runs -----------------------------------------------------------------------------
    def create_run(self, *, kind: RunKind, venue: str, plan_hash: str, strategy: str,
                   items: Sequence[RunItem], correlation_id: str | None = None,
                   owner: str | None = None) -> Run:
        now = utcnow()
        with self._atomic("create the run", venue=venue) as cursor:
            self._stand(cursor)
            seq = int(cursor.execute("SELECT nextval('run_seq')").fetchone()[0])
            run = Run(id=f"{self._tag}-r{seq}", kind=kind, venue=venue, plan_hash=plan_hash,
                      strategy=strategy, state=RunState.RUNNING, created_at=now,
                      updated_at=now, items=list(items), correlation_id=correlation_id,
                      owner=owner)
            run_rows.insert_run(cursor, seq, run)
            cursor.execute("UPDATE runs SET writer = ? WHERE id = ?", (self.writer_id, run.id))
        return run

    def _stand(self, cursor: Cursor) -> None:
        """Inside a write: lock this writer's row (a takeover waits) or raise FENCED."""
        if cursor.execute("SELECT 1 FROM writers WHERE id = ? AND epoch = ? AND live "
                          "FOR SHARE", (self.writer_id, self._epoch)).fetchone() is None:
            raise self._fenced_error(self._standing() or "fenced")

    def update_run(self, run_id: str, *, state: RunState | None = None,
                   note: str | None = None, items: Sequence[RunItem] = (),
                   resumed_by: str | None = None) -> None:
        if resumed_by is not None:
            state = RunState.RUNNING
        with self._atomic(f"record run {run_id}", run_id=run_id) as cursor:
            self._stand(cursor)
            if not run_rows.update_run(cursor, run_id, utcnow(), state=state, note=note,
                                       clear_note=resumed_by is not None, owner=resumed_by,
                                       resumed=resumed_by is not None):
                raise error(Code.UNKNOWN_RUN, f"the journal {self.url} has no run "
                            f"{run_id!r}", details={"run_id": run_id})
            if items:
                run_rows.write_items(cursor, run_id, items)

    def _select_runs(self, where: str, params: Sequence[Any], limit: int | None) -> list[Run]:
        try:
            with self._reading("read runs") as cursor:
                return run_rows.select_runs(cursor, where, params, limit)
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise self._error(Code.JOURNAL_CORRUPT, f"a stored run is unreadable: {exc}",
                              exc) from exc

    # closing --------------------------------------------------------------------------
    def close(self) -> None:
        """Commit what was written behind, retire the writer (its open orders become
        claimable by the next writer of their venue) and disconnect; safe twice."""
        if self._closed:
            return
        try:
            if self._behind and not self._fenced:
                try:
                    self.flush()
                except JournalError:
                    log.exception("events written behind were lost at close; recovery "
                                  "rebuilds them from the venue", extra={"journal": self.url})
            if self._notifier is not None:
                self._notifier.stop()
            if self._lease is not None:
                self._lease.stop()
            if self.writer_id is not None and self._fenced is None:
                try:
                    postgres_writers.retire(self._conn, self.writer_id, self._epoch)
                except self._psycopg_error:
                    log.exception("journal writer not retired", extra={"journal": self.url})
        finally:
            self._closed = True
            self._disconnect()
        log.info("journal closed", extra={"journal": self.url, "writer_id": self.writer_id})

    def _disconnect(self) -> None:
        if self._notifier is not None:
            self._notifier.stop()
        if self._lease is not None:
            self._lease.stop()
        for conn in (self._conn, self._lease_conn):
            if conn is not None:
                with suppress(self._psycopg_error):
                    conn.close()

    def __repr__(self) -> str:
        mode = "readonly" if self.readonly else self.durability
        return f"PostgresJournal({self.url!r}, {mode}, writer={self.writer_id})"


def _fenced_message(writer_id: int | None, reason: str | None) -> str:
    return (f"writer {writer_id} is fenced ({reason}): another process has taken over, or "
            "may take over at any moment, this writer's orders. This process may not write "
            "or send anything more and must stop. Its orders are recovered by the process "
            "that took them over; see them with `venuekit orders`, and run `venuekit "
            "recover` from a process that serves their venue if none did")
