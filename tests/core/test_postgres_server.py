"""The throw-away PostgreSQL server: fsync off for tests, on when a benchmark asks."""

from __future__ import annotations

import pytest

from venuekit.testing import postgres
from venuekit.testing.postgres import Server


def _setting(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(f"SHOW {name}").fetchone()
        assert row is not None
        return str(row[0])


def test_the_test_server_runs_without_fsync(postgres_server: Server) -> None:
    assert postgres_server.fsync is False
    assert _setting(postgres_server.database(), "fsync") == "off"


def test_a_server_started_with_fsync_commits_durably(postgres_server: Server) -> None:
    # postgres_server first: it skips (or fails, in CI) where PostgreSQL is missing.
    if postgres.find_binaries() is None:  # pragma: no cover - the fixture skipped already
        pytest.skip(postgres.MISSING)
    with postgres.server(fsync=True) as pg:
        url = pg.database()
        assert pg.fsync is True
        assert _setting(url, "fsync") == "on"
        assert _setting(url, "synchronous_commit") == "on"
    assert not pg.root.exists()
