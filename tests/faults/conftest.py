"""Options of the reliability suite: ``--full`` runs every part at its published size.

The reduced size runs on every change (``tox -e faults``); the full size on demand
(``tox -e faults -- --full``, or ``VENUEKIT_FAULTS_FULL=1``). ``--faults-report PATH``
appends each part's JSON line of totals to PATH as well as printing it.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("venuekit reliability")
    group.addoption("--full", action="store_true", default=False,
                    help="run the fault, crash, fuzz and secret suites at full size")
    group.addoption("--faults-report", default=None, metavar="PATH",
                    help="also append every JSON line of totals to PATH")


def pytest_configure(config: pytest.Config) -> None:
    # Hypothesis sizes are fixed when the test modules are imported: pass the choice on.
    if config.getoption("--full", default=False):
        os.environ["VENUEKIT_FAULTS_FULL"] = "1"


@pytest.fixture(scope="session")
def full_size(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--full")) or \
        os.environ.get("VENUEKIT_FAULTS_FULL", "") not in ("", "0")
