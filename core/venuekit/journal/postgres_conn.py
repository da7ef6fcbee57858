"""Connections to the PostgreSQL journal: opening one, and running the shared SQL on it.

:func:`connect` opens a psycopg connection in autocommit mode (the journal issues its own
``BEGIN`` and ``COMMIT``, as on SQLite) whose rows are read by position and by column
name. :class:`Cursor` runs the journal's shared statements (written with ``?``
placeholders, see :mod:`.sql`) with psycopg's ``%s``. :func:`masked_url` is a URL as it may
be shown: without its password.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import psycopg

__all__ = ["Cursor", "NamedRow", "connect", "masked_url", "query_text"]

_PASSWORD = re.compile(r"(?P<head>://[^:/?#@]*):(?P<secret>[^/?#]*)@")
_PASSWORD_PARAM = re.compile(r"(?P<head>[?&]password=)(?P<secret>[^&#]*)", re.IGNORECASE)


def masked_url(url: str) -> str:
    """``url`` with its password (in the user part or a ``password=`` parameter) as ***."""
    url = _PASSWORD.sub(r"\g<head>:***@", url)
    return _PASSWORD_PARAM.sub(r"\g<head>***", url)


class NamedRow(tuple[Any, ...]):
    """A row that reads by position and by column name, like ``sqlite3.Row``."""

    _index: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    index = {column.name: i for i, column in enumerate(description)}
    kind = type("Row", (NamedRow,), {"_index": index, "__slots__": ()})
    return kind


_TEXTS: dict[str, str] = {}


def query_text(sql: str) -> str:
    """A shared statement (``?`` placeholders) as psycopg takes it (``%s``)."""
    text = _TEXTS.get(sql)
    if text is None:
        if len(_TEXTS) > 4096:
            _TEXTS.clear()
        text = _TEXTS[sql] = sql.replace("%", "%%").replace("?", "%s")
    return text


class Cursor:
    """The journal's shared statements on a psycopg connection (see :mod:`.sql`)."""

    __slots__ = ("_cursor",)

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._cursor = conn.cursor()

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        return self._cursor.execute(query_text(sql), parameters, prepare=False)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> Any:
        cursor = self._cursor
        cursor.executemany(query_text(sql), seq_of_parameters)
        return cursor

    def raw(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """A statement written for PostgreSQL (``%s`` placeholders)."""
        return self._cursor.execute(sql, parameters)

    def close(self) -> None:
        self._cursor.close()


def connect(url: str, **settings: str) -> psycopg.Connection[Any]:
    """A connection to ``url`` in autocommit mode, rows by position and name, with the
    server ``settings`` given (``idle_in_transaction_session_timeout``, say)."""
    import psycopg

    options = " ".join(f"-c {name}={value}" for name, value in settings.items())
    conn: psycopg.Connection[Any] = psycopg.connect(url, autocommit=True,
                                                    row_factory=_row_factory, options=options)
    return conn
