"""The journal backends a suite runs on, as one pytest parameter: SQLite and PostgreSQL.

A suite that builds its own journals (the fault scenarios, the crash suites) takes a
:class:`JournalBackend` and asks it for a fresh, empty journal per run: a SQLite file in the
run's directory, or a ``postgresql://`` URL of a fresh database on the session's
throw-away server (the ``postgres_server`` fixture of ``venuekit.testing.plugin``). The
journal is opened with :func:`venuekit.journal.open_journal`, so the code under test is the
same for both; only the place differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["POSTGRES", "SQLITE", "JournalBackend", "backend_for"]

SQLITE = "sqlite"
POSTGRES = "postgres"


@dataclass(frozen=True)
class JournalBackend:
    """Where a suite's journals are: SQLite files, or databases on ``server``."""

    kind: str = SQLITE
    server: Any = None  # venuekit.testing.postgres.Server, for POSTGRES

    def new(self, directory: Path, name: str = "journal") -> str:
        """A fresh, empty journal: ``directory/NAME.sqlite3``, or a new database's URL."""
        if self.server is not None:
            url: str = self.server.database()
            return url
        return str(directory / f"{name}.sqlite3")

    @staticmethod
    def discard(target: str) -> None:
        """Remove a SQLite journal's files (a database goes with the session's server)."""
        if "://" in target:
            return
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)


def backend_for(request: pytest.FixtureRequest, kind: str) -> JournalBackend:
    """The backend ``kind`` for a test or fixture (PostgreSQL starts the session's server,
    skipping or failing as the ``postgres_server`` fixture does where it is missing)."""
    if kind == POSTGRES:
        return JournalBackend(POSTGRES, request.getfixturevalue("postgres_server"))
    if kind != SQLITE:
        raise ValueError(f"unknown journal backend {kind!r}")
    return JournalBackend()
