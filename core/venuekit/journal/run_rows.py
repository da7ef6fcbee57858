"""The SQL that stores and rebuilds runs and their items in the SQLite journal.

Functions of a cursor inside the caller's transaction: :class:`SQLiteJournal` owns the
transactions and the errors; this module owns the rows. Decimals are TEXT and instants
integer microseconds, as everywhere in the journal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..decimals import plain
from ._time import from_micros, to_micros
from .runs import Run, RunItem, RunKind, RunState
from .sql import Cursor

__all__ = ["insert_run", "select_runs", "update_run", "write_items"]

_RUN_COLUMNS = ("id, kind, venue, plan_hash, strategy, correlation_id, state, note, owner, "
                "sessions, created_at, updated_at, finished_at")
_ITEM_COLUMNS = "item, symbol, action, quantity, notional, limit_price, target, status, note"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)  # read back without an exponent


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def insert_run(cursor: Cursor, seq: int, run: Run) -> None:
    cursor.execute(
        "INSERT INTO runs (seq, id, kind, venue, plan_hash, strategy, correlation_id, state, "
        "note, owner, sessions, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, run.id, run.kind.value, run.venue, run.plan_hash, run.strategy,
         run.correlation_id, run.state.value, run.note, run.owner, run.sessions,
         to_micros(run.created_at), to_micros(run.updated_at)))
    cursor.executemany(
        f"INSERT INTO run_items (run_id, {_ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(run.id, *_item_columns(item)) for item in run.items])


def _item_columns(item: RunItem) -> tuple[Any, ...]:
    return (item.index, item.symbol, item.action, _text(item.quantity), _text(item.notional),
            _text(item.limit_price), _text(item.target), item.status, item.note)


def update_run(cursor: Cursor, run_id: str, at: datetime, *,
               state: RunState | None, note: str | None, clear_note: bool,
               owner: str | None, resumed: bool) -> bool:
    """Update the run's row; False when the journal has no such run."""
    sets = ["updated_at = ?"]
    args: list[Any] = [to_micros(at)]
    if state is not None:
        sets.append("state = ?")
        args.append(state.value)
        sets.append("finished_at = ?")
        args.append(to_micros(at) if state is RunState.FINISHED else None)
    if note is not None or clear_note:
        sets.append("note = ?")
        args.append(note)
    if owner is not None:
        sets.append("owner = ?")
        args.append(owner)
    if resumed:
        sets.append("sessions = sessions + 1")
    args.append(run_id)
    updated = cursor.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", args)
    return bool(updated.rowcount == 1)


def write_items(cursor: Cursor, run_id: str, items: Iterable[RunItem]) -> int:
    """Store the target, status and note of ``items`` (a target once stored is kept: an
    item without one leaves it as it is); returns how many rows changed."""
    changed = cursor.executemany(
        "UPDATE run_items SET target = coalesce(target, ?), status = ?, note = ? "
        "WHERE run_id = ? AND item = ?",
        [(_text(item.target), item.status, item.note, run_id, item.index) for item in items])
    return int(changed.rowcount)


def select_runs(conn: Cursor, where: str, params: Sequence[Any],
                limit: int | None) -> list[Run]:
    """Runs matching ``where``, newest first, with their items (one snapshot: the caller's
    transaction, or one opened here)."""
    order_by = "ORDER BY seq DESC" + (f" LIMIT {int(limit)}" if limit is not None else "")
    rows = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE {where} {order_by}",
                        params).fetchall()
    if not rows:
        return []
    chosen = f"SELECT id FROM runs WHERE {where} {order_by}"
    items: dict[str, list[RunItem]] = {}
    for run_id, *columns in conn.execute(
            f"SELECT run_id, {_ITEM_COLUMNS} FROM run_items WHERE run_id IN ({chosen}) "
            "ORDER BY run_id, item", params):
        items.setdefault(run_id, []).append(_item(*columns))
    return [_run(row, items.get(row[0], [])) for row in rows]


def _item(index: int, symbol: str, action: str, quantity: str | None, notional: str | None,
          limit_price: str | None, target: str | None, status: str | None,
          note: str | None) -> RunItem:
    return RunItem(index=index, symbol=symbol, action=action, quantity=_decimal(quantity),
                   notional=_decimal(notional), limit_price=_decimal(limit_price),
                   target=_decimal(target), status=status, note=note)


def _run(row: Sequence[Any], items: list[RunItem]) -> Run:
    (run_id, kind, venue, plan_hash, strategy, correlation_id, state, note, owner, sessions,
     created_at, updated_at, finished_at) = row
    return Run(id=run_id, kind=RunKind(kind), venue=venue, plan_hash=plan_hash,
               strategy=strategy, state=RunState(state), created_at=from_micros(created_at),
               updated_at=from_micros(updated_at), items=items,
               correlation_id=correlation_id, owner=owner, sessions=sessions,
               finished_at=None if finished_at is None else from_micros(finished_at),
               note=note)
