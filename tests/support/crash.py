"""Killing a real process at a chosen point, and running the drivers that do it.

A crash driver is a module run as ``python -m tests.<folder>.<driver>``: it trades, and
calls :func:`die` at the point under test (SIGKILL: no cleanup, no flush, no atexit),
exactly as a power cut or the OOM killer would stop it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def die() -> None:
    """SIGKILL this process now (stdout is flushed first so a report line survives)."""
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def run_driver(module: str, *args: str, timeout: float = 120.0, cwd: Path = ROOT,
               unset: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module args`` (from the repository root, or ``cwd``, without the
    environment variables ``unset``); never raises on its exit."""
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=cwd, check=False)
