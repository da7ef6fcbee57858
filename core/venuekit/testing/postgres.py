"""A throw-away PostgreSQL server for tests and benchmarks: :func:`server` and the fixtures.

:func:`server` starts one private server for the whole test session (about 0.7 s): it
finds ``initdb`` and ``pg_ctl``, creates a cluster in a temporary directory (as the
``postgres`` user when run as root: initdb refuses root), and starts it listening on a
unix socket in that directory only (no TCP port to find, no clash between parallel jobs),
with fsync off (``server(fsync=True)`` keeps it on: a benchmark's commits are then durable
commits, each waiting for its WAL flush). :meth:`Server.database` creates a fresh, empty
database and returns its ``postgresql://`` URL (the socket directory as its host).

The pytest plugin (:mod:`venuekit.testing.plugin`) offers it as fixtures:
``postgres_server`` (session) and ``postgres_url`` (a fresh database per test). Where the
binaries are absent the tests skip, saying how to install them, unless
``VENUEKIT_REQUIRE_POSTGRES=1`` is set (CI), where they fail instead. A benchmark or
script uses the server directly::

    from venuekit.testing.postgres import server

    with server() as pg:
        url = pg.database()
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["MISSING", "REQUIRE_ENV", "PostgresUnavailable", "Server", "find_binaries",
           "required", "server"]

MISSING = "PostgreSQL server binaries (initdb/pg_ctl) not found: apt-get install postgresql"
"""Why PostgreSQL tests skip on a machine without the server."""
REQUIRE_ENV = "VENUEKIT_REQUIRE_POSTGRES"
"""Set to 1 to make a missing server fail the tests instead of skipping them (CI)."""

_OWNER = "postgres"  # the unprivileged user the server runs as when we are root


class PostgresUnavailable(RuntimeError):
    """The server binaries were not found (:data:`MISSING`)."""


def required() -> bool:
    """True when ``VENUEKIT_REQUIRE_POSTGRES=1``: a missing server is a failure."""
    return os.environ.get(REQUIRE_ENV, "") == "1"


def find_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: on PATH, ``pg_config --bindir``, the
    newest ``/usr/lib/postgresql/*/bin``, ``/usr/local/pgsql/bin`` or Homebrew's; else None."""
    candidates: list[Path] = []
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 check=True, timeout=10).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                    key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                    else 0, reverse=True)
    candidates += [Path(p) for p in debian]
    candidates += [Path("/usr/local/pgsql/bin"), Path("/opt/homebrew/bin"),
                   Path("/usr/local/opt/postgresql/bin")]
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


class Server:
    """A running throw-away server; :meth:`stop` (or leaving ``with``) removes it."""

    def __init__(self, bindir: Path, *, fsync: bool = False) -> None:
        self.bindir = bindir
        self.fsync = fsync
        """Whether the server flushes its WAL to disk at each commit (off for tests)."""
        self.root = Path(tempfile.mkdtemp(prefix="venuekit-pg-"))
        self.socket_dir = self.root
        self.data = self.root / "data"
        self._user = _OWNER if os.geteuid() == 0 else None
        self._names = itertools.count(1)
        self._running = False
        if self._user is not None:
            shutil.chown(self.root, user=self._user)
        try:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--no-locale", "--no-sync")
            self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "30", "-l",
                      str(self.root / "server.log"), "-o",
                      f"-k {self.root} -c listen_addresses=''{'' if fsync else ' -F'} "
                      "-c max_connections=200",
                      "start")
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        self._running = True
        atexit.register(self.stop)

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run([str(self.bindir / program), *args], capture_output=True,
                                text=True, user=self._user, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}): "
                               f"{result.stderr.strip() or result.stdout.strip()}")

    def url(self, database: str = "postgres") -> str:
        """The URL of ``database`` on this server (user ``postgres``, the unix socket)."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def database(self) -> str:
        """Create a fresh, empty database and return its URL."""
        import psycopg  # the postgres extra; imported only when a database is asked for

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self._running:
            self._running = False
            with contextlib.suppress(RuntimeError, OSError, subprocess.SubprocessError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def server(*, fsync: bool = False) -> Server:
    """Start a throw-away server; raises :class:`PostgresUnavailable` without the binaries.

    ``fsync=False`` (the default, for tests) runs it with ``-F``: a commit does not wait for
    the disk, so a crash of the machine (not of a process) may lose it. ``fsync=True`` keeps
    PostgreSQL's default (``fsync=on``, ``synchronous_commit=on``): what a benchmark of
    durable commits needs."""
    bindir = find_binaries()
    if bindir is None:
        raise PostgresUnavailable(MISSING)
    return Server(bindir, fsync=fsync)
