"""Printing a part's totals: one JSON line on the terminal (and in ``--faults-report``)."""

from __future__ import annotations

import json
import platform
from typing import Any

import pytest


def machine() -> dict[str, Any]:
    import os

    return {"python": platform.python_version(), "platform": platform.platform(terse=True),
            "cpus": os.cpu_count()}


def emit(config: pytest.Config, totals: dict[str, Any]) -> None:
    line = json.dumps(totals, sort_keys=False, default=str)
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n" + line, flush=True)
    else:
        print(line, flush=True)
    path = config.getoption("--faults-report")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
