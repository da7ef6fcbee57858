"""Fixtures of the core's tests: a journal in ``tmp_path`` (or in a fresh PostgreSQL database),
and a journal open on it.

A test module that sets ``BOTH_BACKENDS = True`` runs each test that takes ``path`` (or
``journal``) twice: on an SQLite file and on a PostgreSQL database (``path`` is then a
``postgresql://`` URL; see ``venuekit.testing.postgres``). A test of such a module that is
about the file itself is marked ``sqlite_only`` with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from venuekit.journal import Journal, open_journal


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only(reason): a journal test about the SQLite "
                            "file itself (not run against PostgreSQL)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if getattr(metafunc.module, "BOTH_BACKENDS", False) and (
            "path" in metafunc.fixturenames):
        metafunc.parametrize("path", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def path(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    backend = getattr(request, "param", "sqlite")
    if backend == "postgres":
        marker = request.node.get_closest_marker("sqlite_only")
        if marker is not None:
            pytest.skip(f"SQLite only: {marker.kwargs.get('reason') or marker.args[0]}")
        return request.getfixturevalue("postgres_url")
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def journal(path: Any) -> Iterator[Journal]:
    with open_journal(path) as opened:
        yield opened
