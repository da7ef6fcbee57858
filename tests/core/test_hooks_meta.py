"""Every hook has a test and documentation (so a new hook cannot land without both)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from venuekit import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
               if name.startswith("venuekit_"))


def test_there_are_hooks() -> None:
    assert "venuekit_register_venues" in HOOKS and "venuekit_order_event" in HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook: str) -> None:
    me = Path(__file__).resolve()
    for path in (ROOT / "tests").rglob("test_*.py"):
        if path.resolve() != me and re.search(rf"\bdef {hook}\b", path.read_text()):
            return
    pytest.fail(f"no test implements {hook}; add one that registers a plugin using it")


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook: str) -> None:
    doc = (ROOT / "docs" / "plugins.md").read_text()
    assert re.search(rf"^### `{hook}\(", doc, re.MULTILINE), (
        f"docs/plugins.md has no '### `{hook}(...)`' section")


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_spec_has_a_docstring_saying_when_it_is_called(hook: str) -> None:
    doc = " ".join((inspect.getdoc(getattr(hookspecs, hook)) or "").split())
    assert "Called" in doc and ("firstresult" in doc or "every implementation" in doc.lower())
