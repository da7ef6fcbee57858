"""Fixtures of the core's tests: a journal file in ``tmp_path``, and a journal open on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from venuekit.journal import SQLiteJournal


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def journal(path: Path) -> Iterator[SQLiteJournal]:
    with SQLiteJournal(path) as opened:
        yield opened
