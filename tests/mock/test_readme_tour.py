"""The README's set-up and its short tour, run as a user runs them: each command a `venuekit`
process in one directory, in the README's order, read from README.md itself.

The directory is the user's checkout as far as the commands can tell (the plan the set-up runs
sits at docs/examples/rebalance.json) and holds the journal and the mock venue's state, so
each command sees what the ones before it did. `ID` and `RUN` are an order's and a run's id
from the journal. A command of a plugin this environment does not have (the emulators in
`tox -e mock`) must fail naming what to install, and the tour must say to install it; with
the plugin there, the emulator starts and is stopped.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from venuekit.plugins import PROJECT_PLUGINS, PluginHost

from ..support.cli import environment

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PLAN = "docs/examples/rebalance.json"
TIMEOUT = 120.0


def _fence_after(text: str, marker: str) -> str:
    """The content of the first fenced block after ``marker``."""
    _, rest = text.split(marker, 1)
    return rest.split("```", 2)[1].split("\n", 1)[1]


def setup_commands() -> list[str]:
    """The `venuekit` commands of the README's first command (the rest sets up Python)."""
    line = _fence_after(README.read_text(encoding="utf-8"), "**Set up and run**").strip()
    return [part.strip() for part in line.split("&&") if part.strip().startswith("venuekit ")]


def tour_commands() -> list[str]:
    """The tour's lines without their comments; `A | B | C` is three commands."""
    block = _fence_after(README.read_text(encoding="utf-8"), "## A short tour")
    commands = []
    for line in block.splitlines():
        command = re.split(r"\s+#", line, maxsplit=1)[0].strip()
        if not command:
            continue
        first, *alternatives = [part.strip() for part in command.split(" | ")]
        commands.append(first)
        program = " ".join(first.split()[:2])
        commands += [f"{program} {alternative}" for alternative in alternatives]
    return commands


def run(directory: Path, command: str) -> subprocess.CompletedProcess[str]:
    args = shlex.split(command)
    assert args[0] == "venuekit", command
    return subprocess.run([sys.executable, "-m", "venuekit", *args[1:]], cwd=directory,
                          capture_output=True, text=True, timeout=TIMEOUT,
                          env=_environment())


def _environment() -> dict[str, str]:
    env = environment()
    for name in [name for name in env if name.startswith("VENUEKIT_")]:
        del env[name]
    return env


def _ids(directory: Path, what: str) -> list[dict[str, object]]:
    done = run(directory, f"venuekit {what} --json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, object]] = json.loads(done.stdout)[what]
    assert rows, f"`venuekit {what}` lists nothing by now"
    return rows


def _with_ids(directory: Path, command: str) -> str:
    words = command.split()
    if "ID" in words:
        orders = _ids(directory, "orders")
        working = [row for row in orders if row["state"] not in
                   ("filled", "cancelled", "rejected", "expired")]
        words[words.index("ID")] = str((working or orders)[0]["id"])
    if "RUN" in words:
        words[words.index("RUN")] = str(_ids(directory, "runs")[0]["id"])
    return " ".join(words)


def _emulate(directory: Path, command: str, installs: str) -> None:
    name = command.split()[2]
    if name in PluginHost(environ=_environment()).emulators():
        # The plugin is here: the emulator starts (on a free port) and stops on SIGTERM.
        args = shlex.split(re.sub(r"--port \d+", "--port 0", command))[1:]
        process = subprocess.Popen([sys.executable, "-m", "venuekit", *args], cwd=directory,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=_environment())
        # Bounded: a server that never announces itself is killed, and the test fails.
        deadline = threading.Timer(TIMEOUT, process.kill)
        deadline.start()
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert "emulator running" in first, (command, first)
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
            deadline.cancel()
        assert process.returncode == 0, (command, err)
        return
    _, distribution, folder = PROJECT_PLUGINS[("emulator", name)]
    done = run(directory, command)
    assert done.returncode == 2, (command, done.stdout, done.stderr)
    message = " ".join(done.stderr.split())
    assert f"pip install -e {folder}" in message and distribution in message, message
    assert f"Install the plugin named above, then run `venuekit emulate {name}`" in message
    assert "Traceback" not in done.stderr
    assert folder in installs.split(), f"the tour does not say to install {folder} first"


def test_the_readme_set_up_then_its_tour(tmp_path: Path) -> None:
    (tmp_path / PLAN).parent.mkdir(parents=True)
    (tmp_path / PLAN).write_bytes((ROOT / PLAN).read_bytes())
    commands = setup_commands()
    assert commands == [f"venuekit rebalance {PLAN}"]
    tour = tour_commands()
    assert len(tour) > 20
    installs = ""
    for command in commands + tour:
        if command.startswith("pip install"):
            installs = command
            continue
        if command.startswith("venuekit emulate "):
            _emulate(tmp_path, command, installs)
            continue
        command = _with_ids(tmp_path, command)
        done = run(tmp_path, command)
        # `order` exits 1 when its order ended unfilled (the limit sell at its deadline).
        allowed = (0, 1) if command.startswith("venuekit order ") else (0,)
        assert done.returncode in allowed, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, (command, done.stderr)
    assert (tmp_path / "venuekit-acme").is_dir()


@pytest.mark.parametrize("command", ["venuekit rebalance missing.json",
                                     "venuekit rebalance missing.json --dry-run"])
def test_a_plan_that_is_not_there_is_named_as_missing(tmp_path: Path, command: str) -> None:
    done = run(tmp_path, command)
    assert done.returncode == 2, (done.stdout, done.stderr)
    message = " ".join(done.stderr.split())
    assert "missing.json: cannot be read: the file does not exist" in message, message
