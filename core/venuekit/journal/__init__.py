"""The durable order journal: every order is committed here before it is sent.

:class:`Journal` is the interface the engine and recovery use; :class:`SQLiteJournal` is the
embedded backend (one SQLite file), :class:`PostgresJournal` the one several processes share
(a PostgreSQL database); :func:`open_journal` opens either, from a path or a URL.
:class:`ClientIdRules` and :class:`Fingerprint` decide how an order is named and found again
at its venue. See docs/journal.md.
"""

from __future__ import annotations

from .base import Journal
from .ids import ClientIdRules, Fingerprint
from .postgres import PostgresJournal
from .sqlite import NEW_EVENT, Durability, SQLiteJournal, default_journal_path
from .target import JournalTarget, JournalURL, is_url, journal_target, open_journal

__all__ = [
    "NEW_EVENT",
    "ClientIdRules",
    "Durability",
    "Fingerprint",
    "Journal",
    "JournalTarget",
    "JournalURL",
    "PostgresJournal",
    "SQLiteJournal",
    "default_journal_path",
    "is_url",
    "journal_target",
    "open_journal",
]
