"""The kit's pytest plugin (entry point ``venuekit`` in group ``pytest11``).

It refuses, at collection, a test class that deletes a standard test or overrides one
without ``@pytest.mark.xfail(reason=...)`` (see :mod:`venuekit.testing.guard`). It imports
only the guard, so it costs nothing in test runs that do not use the kit.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from .guard import is_kit_class, standard_tests, violations


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
