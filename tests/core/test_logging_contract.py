"""The library logs and never configures logging: that is the program's choice (the
``venuekit`` command configures it in ``venuekit.cli.logs``; a bot does its own)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIGURES = re.compile(r"logging\.basicConfig|\.addHandler\(|\.setLevel\(|dictConfig")


def test_no_library_module_configures_logging() -> None:
    sources = [*(ROOT / "core" / "venuekit").rglob("*.py"),
               *(ROOT / "plugins").glob("*/venuekit_*/**/*.py")]
    assert len(sources) > 50
    offenders = [str(path.relative_to(ROOT)) for path in sources
                 if "cli" not in path.relative_to(ROOT).parts[:3]
                 and CONFIGURES.search(path.read_text(encoding="utf-8"))]
    assert offenders == [], f"configure logging only in venuekit.cli.logs: {offenders}"
