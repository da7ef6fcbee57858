"""The CLI as a user meets it: ``python -m venuekit ...`` in a subprocess, at a given
terminal width, in a directory of its own (journal and mock state under ./.venuekit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def venuekit(cwd: Path, *args: str, columns: int = 80,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith("VENUEKIT_")}
    environ |= {"COLUMNS": str(columns), "TERM": "dumb", "NO_COLOR": "1"} | (env or {})
    return subprocess.run([sys.executable, "-m", "venuekit", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=120, check=False)


def json_of(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


def widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)
