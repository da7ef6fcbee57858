"""Where a journal is: a file path (the SQLite journal) or a ``postgresql://`` URL (the
PostgreSQL journal shared by several processes), and :func:`open_journal`, which opens
either.

A URL may carry a password: :class:`JournalURL` keeps it, but shows (``str``, ``repr``,
logs, errors, ``venuekit config``) only the URL with its password masked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import Journal
from .postgres_conn import masked_url

if TYPE_CHECKING:
    from .postgres import PostgresJournal

__all__ = ["URL_SCHEMES", "JournalTarget", "JournalURL", "is_url", "journal_target",
           "open_journal"]

URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(text: str | os.PathLike[str]) -> bool:
    """True when ``text`` names a PostgreSQL journal by URL."""
    return isinstance(text, JournalURL) or (
        isinstance(text, str) and text.strip().lower().startswith(URL_SCHEMES))


class JournalURL:
    """A PostgreSQL journal's URL; shown (str, repr, format) with its password masked."""

    __slots__ = ("_url",)

    def __init__(self, url: str) -> None:
        self._url = url.strip()

    def reveal(self) -> str:
        """The URL with its password, for the one place that connects."""
        return self._url

    @property
    def masked(self) -> str:
        return masked_url(self._url)

    def exists(self) -> bool:
        """A server's database is there to ask (whether it holds a journal, opening tells)."""
        return True

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"JournalURL({self.masked!r})"

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JournalURL) and other._url == self._url

    def __hash__(self) -> int:
        return hash(self._url)

    def __reduce__(self) -> Any:
        raise TypeError("a journal URL may hold a password: it is not pickled")


JournalTarget = Path | JournalURL
"""A journal's place: a file, or a PostgreSQL URL."""


def journal_target(given: str | os.PathLike[str] | JournalURL) -> JournalTarget:
    """``given`` as a :data:`JournalTarget`: a URL stays a URL, anything else is a path."""
    if isinstance(given, JournalURL):
        return given
    if is_url(given):
        return JournalURL(str(given))
    return Path(given).expanduser()


def open_journal(target: str | os.PathLike[str] | JournalURL, *, readonly: bool = False,
                 durability: str | None = None, **options: Any) -> Journal:
    """Open the journal at ``target``: a path gives the SQLite journal, a
    ``postgresql://`` (or ``postgres://``) URL the PostgreSQL journal
    (:class:`~venuekit.journal.postgres.PostgresJournal`, which needs the ``postgres``
    extra: ``pip install 'venuekit[postgres]'``). ``options`` go to the backend
    (``lease=`` and ``venues=`` for PostgreSQL)."""
    place = journal_target(target)
    if isinstance(place, JournalURL):
        return open_postgres(place, readonly=readonly, durability=durability, **options)
    from .sqlite import SQLiteJournal

    if durability is None:
        return SQLiteJournal(place, readonly=readonly, **options)
    if durability not in ("normal", "full"):
        raise ValueError(f"durability must be 'normal' or 'full', got {durability!r}")
    return SQLiteJournal(place, readonly=readonly,
                         durability="full" if durability == "full" else "normal", **options)


def open_postgres(url: JournalURL | str, *, readonly: bool = False,
                  durability: str | None = None, **options: Any) -> PostgresJournal:
    from .postgres import PostgresJournal

    raw = url.reveal() if isinstance(url, JournalURL) else url
    return PostgresJournal(raw, readonly=readonly, durability=durability or "normal",
                           **options)
