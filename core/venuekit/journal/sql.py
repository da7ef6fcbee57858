"""What the journal's shared SQL needs of a database connection or cursor.

The statements of :mod:`.writes`, :mod:`.reads` and :mod:`.run_rows` are written once, with
``?`` placeholders, and run on SQLite (``sqlite3``) and on PostgreSQL (psycopg, through
:class:`venuekit.journal.postgres_conn.Cursor`, which renders them with ``%s``). Rows are
read by position and by column name (``sqlite3.Row``; a named row on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

__all__ = ["Cursor", "Result"]


class Result(Protocol):
    """An executed statement: its rows and how many it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Cursor(Protocol):
    """Executes the journal's statements (``?`` placeholders)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Result: ...

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> Result: ...
