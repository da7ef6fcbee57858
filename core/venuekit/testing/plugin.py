"""The kit's pytest plugin (entry point ``venuekit`` in group ``pytest11``).

It refuses, at collection, a test class that deletes a standard test or overrides one
without ``@pytest.mark.xfail(reason=...)`` (see :mod:`venuekit.testing.guard`). It imports
only the guard, so it costs nothing in test runs that do not use the kit.

It also offers a throw-away PostgreSQL server (:mod:`venuekit.testing.postgres`, started on
first use): ``postgres_server`` (one per session) and ``postgres_url`` (a fresh database per
test, as a ``postgresql://`` URL). They skip where the server or psycopg is missing, and
fail instead under ``VENUEKIT_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .guard import is_kit_class, standard_tests, violations

if TYPE_CHECKING:
    from .postgres import Server


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str,
                              obj: object) -> Generator[None, Any, Any]:
    result = yield
    # Only classes pytest collects (Test*): a helper base is checked through its subclasses.
    if result is not None and isinstance(obj, type) and not is_kit_class(obj) \
            and standard_tests(obj):
        problems = violations(obj)
        if problems:
            raise collector.CollectError(
                "venuekit conformance kit: standard tests were removed or overridden\n  "
                + "\n  ".join(problems))
    return result


def _unavailable(reason: str) -> None:
    from .postgres import required

    if required():
        pytest.fail(f"{reason} (VENUEKIT_REQUIRE_POSTGRES=1 requires it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """A throw-away PostgreSQL server for the session (unix socket only, fsync off)."""
    from . import postgres

    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed: pip install 'venuekit[postgres]'")
    bindir = postgres.find_binaries()
    if bindir is None:
        _unavailable(postgres.MISSING)
        raise AssertionError("unreachable")
    with postgres.Server(bindir) as running:
        yield running


@pytest.fixture
def postgres_url(postgres_server: Server) -> str:
    """A fresh, empty database on the session's server, as a ``postgresql://`` URL."""
    return postgres_server.database()
