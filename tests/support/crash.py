"""Killing a real process at a chosen point, and running the drivers that do it.

A crash driver is a module run as ``python -m tests.<folder>.<driver>``: it trades, and
calls :func:`die` at the point under test (SIGKILL: no cleanup, no flush, no atexit),
exactly as a power cut or the OOM killer would stop it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def die() -> None:
    """SIGKILL this process now (stdout is flushed first so a report line survives)."""
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def run_driver(module: str, *args: str, timeout: float = 120.0, cwd: Path = ROOT,
               unset: Sequence[str] = (), extra_env: Mapping[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module args`` (from the repository root, or ``cwd``, without the
    environment variables ``unset``, with ``extra_env``); never raises on its exit."""
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env.update(extra_env or {})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=cwd, check=False)


def nth(count: int) -> Callable[[], bool]:
    """A counter whose ``count``-th call (and only that one) returns True."""
    seen = 0

    def tick() -> bool:
        nonlocal seen
        seen += 1
        return seen == count

    return tick


def die_after(target: object, names: Sequence[str], tick: Callable[[], bool]) -> None:
    """Make each method ``names`` of ``target`` (an object or a class) die right after the
    call on which ``tick()`` is True: after a journal write, before anything follows it."""
    for name in names:
        real = getattr(target, name)

        def wrapped(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            result = _real(*args, **kwargs)
            if tick():  # inside a batch this is before the commit: also a crash
                die()
            return result

        setattr(target, name, wrapped)


def die_during(target: object, names: Sequence[str], tick: Callable[[], bool],
               delay: float) -> None:
    """Make each async method ``names`` of ``target`` die ``delay`` seconds into the call
    on which ``tick()`` is True: the request is on its way, its answer not read yet."""
    for name in names:
        real = getattr(target, name)

        async def call(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            if tick():
                asyncio.get_running_loop().call_later(delay, die)
            return await _real(*args, **kwargs)

        setattr(target, name, call)
