"""`venuekit emulate` as a real process in tests: start it, read its first line, reap it."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
from collections.abc import Mapping


def start_emulate(name: str, *args: str,
                  env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m venuekit emulate NAME ARGS`` with pipes and unbuffered output."""
    environment = {**(env if env is not None else os.environ), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "venuekit", "emulate", name, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment)


def first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints; an AssertionError, with what it wrote to stderr,
    after ``timeout`` seconds or when it exits first."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            stderr = ""
            if process.poll() is not None and process.stderr is not None:
                stderr = process.stderr.read()[-2000:]
            raise AssertionError(f"the emulator printed nothing in {timeout} s. {stderr}")
    line = process.stdout.readline()
    if not line:  # the output ended: the process is gone
        process.wait(timeout=5)
        stderr = process.stderr.read()[-2000:] if process.stderr is not None else ""
        raise AssertionError(f"the emulator exited ({process.returncode}) before printing "
                             f"anything: {stderr}")
    return line


def reap(process: subprocess.Popen[str]) -> None:
    """Kill the process if it still runs, wait for it, and close its pipes."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=5)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
