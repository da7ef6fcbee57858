"""Every ``venuekit.toml`` example in the README and the docs loads through the strict model.

A ```toml block is a ``venuekit.toml`` example unless its first line is a comment naming
another file (``# pyproject.toml of your distribution``). The venue tables of the examples
are checked against the venues' own ``from_config`` in tests/mock/test_docs_venue_tables.py
(the plugins are installed there).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from venuekit.config_file import parse_config

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"^```toml\n(.*?)^```", re.DOTALL | re.MULTILINE)
_OTHER_FILE = re.compile(r"#\s*\S+\.toml\b")


def toml_examples() -> list[tuple[str, str]]:
    """``(where, text)`` of every venuekit.toml example, ``where`` as ``page:line``."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    found = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            body = match.group(1)
            first = body.lstrip().splitlines()[0] if body.strip() else ""
            if _OTHER_FILE.match(first) and "venuekit.toml" not in first:
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{page.relative_to(ROOT)}:{line}", body))
    return found


EXAMPLES = toml_examples()


def test_the_docs_have_examples_to_check() -> None:
    pages = {where.split(":")[0] for where, _ in EXAMPLES}
    assert {"docs/venues/mock.md", "docs/configuration.md", "docs/rebalance.md"} <= pages


@pytest.mark.parametrize(("where", "text"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_every_toml_example_loads_through_the_strict_model(where: str, text: str) -> None:
    parse_config(tomllib.loads(text), where)


def test_a_block_naming_another_file_is_left_out() -> None:
    plugins = [text for where, text in EXAMPLES if where.startswith("docs/plugins.md")]
    assert all("[project.entry-points" not in text for text in plugins)
