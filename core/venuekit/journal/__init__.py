"""The durable order journal: every order is committed here before it is sent.

:class:`Journal` is the interface the engine and recovery use; :class:`SQLiteJournal` is the
embedded backend (one SQLite file). :class:`ClientIdRules` and :class:`Fingerprint` decide
how an order is named and found again at its venue. See docs/journal.md.
"""

from __future__ import annotations

from .base import Journal
from .ids import ClientIdRules, Fingerprint
from .sqlite import NEW_EVENT, Durability, SQLiteJournal, default_journal_path

__all__ = [
    "NEW_EVENT",
    "ClientIdRules",
    "Durability",
    "Fingerprint",
    "Journal",
    "SQLiteJournal",
    "default_journal_path",
]
