"""What the two table backends (SQLite, PostgreSQL) share above their SQL: the filtered
reads of orders and runs, written once.

A backend supplies :meth:`TableJournal._select` (orders matching a ``WHERE`` clause, in
the shared row format of :mod:`.rows`) and :meth:`TableJournal._select_runs`; the filters
(:class:`.reads.Where`, ``?`` placeholders) read the same on both.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from ..model import Order, OrderState
from . import reads
from ._time import to_micros
from .base import Journal
from .runs import Run, RunKind, RunState

__all__ = ["TableJournal"]

_Enum = TypeVar("_Enum", OrderState, RunState)


def _values(given: _Enum | Iterable[_Enum] | None, kind: type[_Enum]) -> list[str] | None:
    """A state filter's values: one state, several, or None for no filter."""
    if given is None:
        return None
    chosen = [given] if isinstance(given, kind) else list(given)
    return [kind(state).value for state in chosen]


class TableJournal(Journal):
    """A journal kept in the tables of :mod:`.rows`: the reads by filter of both backends."""

    @abc.abstractmethod
    def _select(self, where: str, params: Sequence[Any], *, newest_first: bool = False,
                limit: int | None = None, open_only: bool = False) -> list[Order]:
        """The orders matching ``where`` (with ``?`` placeholders), rebuilt. ``open_only``
        says that ``where`` keeps only open orders (``closed_at IS NULL``): a backend may
        find them through its index of open orders."""

    @abc.abstractmethod
    def _select_runs(self, where: str, params: Sequence[Any],
                     limit: int | None) -> list[Run]:
        """The runs matching ``where``, newest first."""

    def get(self, order_id: str) -> Order | None:
        found = self._select("id = ?", (order_id,))
        return found[0] if found else None

    def orders(self, *, state: OrderState | Iterable[OrderState] | None = None,
               symbol: str | None = None, venue: str | None = None,
               since: datetime | None = None, until: datetime | None = None,
               limit: int | None = None, run_id: str | None = None) -> list[Order]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        where = (reads.Where().among("state", _values(state, OrderState))
                 .equals("symbol", symbol).equals("venue", venue).equals("run_id", run_id)
                 .compare("created_at", ">=", None if since is None else to_micros(since))
                 .compare("created_at", "<", None if until is None else to_micros(until)))
        if where.nothing:
            return []
        # Orders in open states only (`venuekit orders --open`): an order's closed_at is set
        # when it reaches a final state, so its index finds them among the open orders,
        # however many closed ones the journal holds.
        open_only = state is not None and all(not OrderState(value).is_terminal
                                              for value in _values(state, OrderState) or ())
        if open_only:
            where.clauses.insert(0, "closed_at IS NULL")
        return self._select(where.text, where.params, newest_first=True, limit=limit,
                            open_only=open_only)

    def get_run(self, run_id: str) -> Run | None:
        found = self._select_runs("id = ?", (run_id,), None)
        return found[0] if found else None

    def runs(self, *, venue: str | None = None, plan_hash: str | None = None,
             kind: RunKind | None = None, state: RunState | Iterable[RunState] | None = None,
             limit: int | None = None) -> list[Run]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        where = (reads.Where().equals("venue", venue).equals("plan_hash", plan_hash)
                 .equals("kind", None if kind is None else RunKind(kind).value)
                 .among("state", _values(state, RunState)))
        if where.nothing:
            return []
        return self._select_runs(where.text, where.params, limit)
