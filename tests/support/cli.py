"""The ``venuekit`` command as a real process in a working directory of its own.

A test directory holds what a user's would: ``venuekit.toml`` (the journal, the mock's
settings), a plan, and the mock venue's state beside the journal, so that successive
commands (and the test, reading the state file) see the same venue.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import Order
from venuekit_mock import MockVenue, state
from venuekit_mock.sim import Simulator, SymbolSpec

from .crash import ROOT

STATE_FILE = "mock-venue.state"


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI process: this one's, without a journal named by
    ``VENUEKIT_JOURNAL`` (the directory's venuekit.toml names it), unbuffered."""
    env = {key: value for key, value in os.environ.items() if key != "VENUEKIT_JOURNAL"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def workspace(directory: Path, *, mock: str = "", symbols: tuple[SymbolSpec, ...] = (),
              positions: Mapping[str, str] | None = None) -> Path:
    """Write ``venuekit.toml`` (journal ``journal.sqlite3``; ``mock`` lines added to the
    ``[venues.mock]`` table) and, with ``symbols``, the venue's state: those symbols,
    1,000,000 USD and ``positions`` held."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "venuekit.toml").write_text(
        f'journal = "journal.sqlite3"\n\n[venues.mock]\nseed = 3\n{mock}\n', encoding="utf-8")
    if symbols:
        venue = MockVenue(seed=3, symbols=symbols, cash=Decimal(10**6),
                          state_path=directory / STATE_FILE)
        for symbol, quantity in (positions or {}).items():
            price = next(spec.price for spec in symbols if spec.symbol == symbol)
            venue.control.set_position(symbol, Decimal(quantity), price)
        state.save(directory / STATE_FILE, venue.simulator)
    return directory


def start(directory: Path, *args: str, module: str = "venuekit") -> subprocess.Popen[str]:
    """``python -m venuekit ARGS`` (or another module) in ``directory``, piped."""
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=directory,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment())


def run(directory: Path, *args: str, timeout: float = 60.0,
        env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m venuekit ARGS`` in ``directory``; ``env`` adds to its environment."""
    return subprocess.run([sys.executable, "-m", "venuekit", *args], cwd=directory,
                          capture_output=True, text=True, env=environment(env),
                          timeout=timeout, check=False)


def venue_state(directory: Path) -> Simulator:
    """The simulated venue as the last command left it (read from its state file)."""
    restored = state.load(directory / STATE_FILE, "mock")
    assert restored is not None, "the venue state is kept beside the journal"
    return restored


def journal_orders(directory: Path) -> list[Order]:
    path = directory / "journal.sqlite3"
    if not path.exists():
        return []
    with SQLiteJournal(path, readonly=True) as journal:
        return journal.orders()


def wait_until(condition: Callable[[], bool], timeout: float, what: str,
               process: subprocess.Popen[str] | None = None) -> None:
    """Poll ``condition`` every 20 ms; an AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the command ended ({process.returncode}) before {what}: "
                                 f"{out[-1500:]} {err[-1500:]}")
        time.sleep(0.02)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def working_in_journal(directory: Path, count: int) -> Callable[[], bool]:
    """True once ``count`` orders are acknowledged and working at the venue."""
    def check() -> bool:
        try:
            orders = journal_orders(directory)
        except Exception:  # the first command may still be creating the journal
            return False
        return sum(1 for o in orders if o.venue_order_id and not o.state.is_terminal) >= count
    return check


def interrupt_when_working(directory: Path, args: Sequence[str], working: int,
                           signum: int) -> tuple[int, str, str]:
    """Start ``python ARGS`` in ``directory``, send ``signum`` once ``working`` of its
    orders work at the venue, and return its exit code, stdout and stderr."""
    process = subprocess.Popen([sys.executable, *args], cwd=directory, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment())
    try:
        wait_until(working_in_journal(directory, working), 20,
                   f"{working} order(s) working", process)
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, out, err
