"""The guard: a plugin may not delete or silently override a standard test.

A subclass may replace a standard test only to mark it as an expected failure, with
``@pytest.mark.xfail(reason="...")`` and a non-empty reason that says why the venue
cannot pass it. Deleting a test (``test_x = None``) or overriding it in any other way
would let a plugin claim conformance it does not have.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["KIT_PACKAGE", "is_kit_class", "standard_tests", "violations"]

KIT_PACKAGE = "venuekit.testing"


def _is_kit_module(module: str) -> bool:
    return module == KIT_PACKAGE or module.startswith(KIT_PACKAGE + ".")


def is_kit_class(cls: type) -> bool:
    return _is_kit_module(cls.__module__)


def standard_tests(cls: type) -> dict[str, type]:
    """The standard tests ``cls`` inherits, each with the kit class that defines it."""
    found: dict[str, type] = {}
    for klass in reversed(cls.__mro__):
        if not is_kit_class(klass):
            continue
        for name, value in vars(klass).items():
            if name.startswith("test_") and inspect.isfunction(value):
                found[name] = klass
    return found


def _xfail_reason(function: Any) -> str | None:
    for mark in getattr(function, "pytestmark", []):
        if getattr(mark, "name", None) == "xfail":
            reason = mark.kwargs.get("reason")
            if isinstance(reason, str) and reason.strip():
                return reason
    return None


def violations(cls: type) -> list[str]:
    """What ``cls`` did to the standard tests it inherits that the guard refuses."""
    problems: list[str] = []
    for name, kit_class in sorted(standard_tests(cls).items()):
        owner = next(k for k in cls.__mro__ if name in vars(k))
        if is_kit_class(owner):
            continue
        value = vars(owner)[name]
        where = f"{cls.__name__}.{name}"
        if not inspect.isfunction(value):
            problems.append(
                f"{where} deletes the standard test {kit_class.__name__}.{name} "
                f"(set to {value!r} in {owner.__name__}). Keep it; if the venue cannot pass "
                "it, override it with @pytest.mark.xfail(reason='why') and call "
                "super().")
        elif _xfail_reason(value) is None:
            problems.append(
                f"{where} overrides the standard test {kit_class.__name__}.{name} without "
                "@pytest.mark.xfail(reason=...). Remove the override, or mark it xfail "
                "with a reason that says why the venue cannot pass it.")
    return problems
