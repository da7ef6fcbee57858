"""A command line click refuses (an unknown option, a missing argument) under ``--json``:
the error is JSON on stdout in the same shape as every other error, and the exit code is
the usage error's 2, as a script that parses the output expects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _venuekit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "VENUEKIT_JOURNAL"}
    return subprocess.run([sys.executable, "-m", "venuekit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("args", "message", "command"), [
    (("orders", "--bogus", "--json"), "No such option '--bogus'", "venuekit orders"),
    (("orders", "show", "--json"), "Missing argument 'ORDER_ID'", "venuekit orders show"),
    (("fills", "--json", "--since", "yesterday"), "is not an ISO 8601 date",
     "venuekit fills"),
])
def test_a_refused_command_line_is_json_on_stdout(tmp_path: Path, args: tuple[str, ...],
                                                  message: str, command: str) -> None:
    done = _venuekit(tmp_path, *args)
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "USAGE_ERROR" and error["category"] == "usage"
    assert message in error["message"]
    assert f"`{command} --help`" in error["action"]
    assert message in done.stderr  # a person reading the terminal sees it as before


def test_without_json_a_usage_error_writes_nothing_to_stdout(tmp_path: Path) -> None:
    done = _venuekit(tmp_path, "orders", "--bogus")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "No such option '--bogus'" in done.stderr
