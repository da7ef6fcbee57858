"""``venuekit orders --follow``: another process's orders, as they change, for real.

A writer runs in one process (``venuekit order`` on the mock, or a small script writing a
burst) and ``venuekit orders --follow --json`` in another, both on one journal. On
PostgreSQL the follower must be woken by the writer's NOTIFY (well within its 5 s
fallback), and coalesced notices must lose nothing; on SQLite it polls.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.support import cli
from tests.support.helpers import flat
from venuekit.cli.orders import FALLBACK
from venuekit.journal import open_journal

SYMBOLS = (flat("AAA", "50.005"),)
ROOT = Path(__file__).resolve().parents[2]

BURST = """
import sys
from tests.core.journal_support import RULES, limit, step
from venuekit.journal import open_journal
from venuekit.lifecycle import EventKind

with open_journal(sys.argv[1], venues=["mock"]) as book:
    made = [book.create_order("mock", limit(), id_rules=RULES, submitted=True)
            for _ in range(int(sys.argv[2]))]
    for order in made:
        step(book, order, EventKind.ACK, EventKind.CANCELLED)
"""


class Follower:
    """``venuekit orders --follow --for SECONDS --json`` with each line's arrival time."""

    def __init__(self, directory: Path, journal: str, seconds: float) -> None:
        self.lines: list[tuple[float, dict[str, Any]]] = []
        self.process = cli.start(directory, "orders", "--follow", "--for", str(seconds),
                                 "--json", "--journal", journal)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), json.loads(line)))

    def listed(self) -> bool:
        return bool(self.lines) and "orders" in self.lines[0][1]

    def changes(self) -> list[tuple[float, dict[str, Any]]]:
        return [(at, line) for at, line in self.lines if "orders" not in line]

    def finish(self) -> tuple[int, str]:
        try:
            _, err = self.process.communicate(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.communicate()
        self._reader.join(timeout=5)
        return self.process.returncode, err


def test_follow_on_postgres_is_woken_by_notify(tmp_path: Path, postgres_url: str) -> None:
    # The venue's state where the SQLite journal would have put it (a URL has no directory).
    cli.workspace(tmp_path, symbols=SYMBOLS,
                  mock=f"state_path = {json.dumps(str(tmp_path / cli.STATE_FILE))}")
    open_journal(postgres_url).close()  # the book exists before anyone follows it
    follower = Follower(tmp_path, postgres_url, seconds=4 * FALLBACK)
    cli.wait_until(follower.listed, 30, "the follower's listing")
    done = cli.run(tmp_path, "order", "buy", "AAA", "7", "--limit", "60", "--json",
                   "--journal", postgres_url)
    ended = time.monotonic()
    assert done.returncode == 0, done.stderr
    placed = json.loads(done.stdout)
    assert placed["state"] == "filled"
    cli.wait_until(lambda: any(line["state"] == "filled" for _, line in follower.changes()),
                   FALLBACK * 2, "the filled order followed")
    arrived = next(at for at, line in follower.changes() if line["state"] == "filled")
    # Woken by the notice: far sooner than the fallback read at 5 s would have shown it.
    assert arrived - ended < 1.0, arrived - ended
    follower.process.send_signal(signal.SIGINT)  # Ctrl-C: 130, as every command
    code, err = follower.finish()
    assert code == 130 and "Traceback" not in err, err
    lines = [line for _, line in follower.changes()]
    assert {line["id"] for line in lines} == {placed["order_id"]}
    assert lines[-1]["venue"] == "mock" and lines[-1]["symbol"] == "AAA"
    assert lines[-1]["side"] == "buy" and lines[-1]["filled_quantity"] == "7"


def test_follow_a_burst_loses_no_order(tmp_path: Path, postgres_url: str) -> None:
    cli.workspace(tmp_path)
    open_journal(postgres_url).close()
    follower = Follower(tmp_path, postgres_url, seconds=60)
    cli.wait_until(follower.listed, 30, "the follower's listing")
    script = tmp_path / "burst.py"
    script.write_text(BURST, encoding="utf-8")
    writer = subprocess.run([sys.executable, str(script), postgres_url, "200"], cwd=ROOT,
                            capture_output=True, text=True, env=cli.environment(),
                            timeout=60)
    assert writer.returncode == 0, writer.stderr
    ended = time.monotonic()

    def final() -> dict[str, str]:
        return {line["id"]: line["state"] for _, line in follower.changes()}

    cli.wait_until(lambda: len(final()) == 200 and set(final().values()) == {"cancelled"},
                   FALLBACK * 2, "every order's final state")
    assert max(at for at, _ in follower.changes()) - ended < 1.0
    follower.process.send_signal(signal.SIGINT)
    code, err = follower.finish()
    assert code == 130, err
    assert len(final()) == 200 and set(final().values()) == {"cancelled"}


def test_follow_on_sqlite_polls(tmp_path: Path) -> None:
    cli.workspace(tmp_path, symbols=SYMBOLS)
    journal = str(tmp_path / "journal.sqlite3")
    open_journal(journal).close()
    # Followed until the order's last change is seen (however long the writer takes to
    # start on a busy machine), then stopped as a user would: Ctrl-C.
    follower = Follower(tmp_path, journal, seconds=120)
    cli.wait_until(follower.listed, 30, "the follower's listing")
    done = cli.run(tmp_path, "order", "buy", "AAA", "7", "--limit", "60", "--json")
    assert done.returncode == 0, done.stderr
    placed = json.loads(done.stdout)["order_id"]
    cli.wait_until(lambda: any(line["id"] == placed and line["state"] == "filled"
                               for _, line in follower.changes()),
                   30, "the filled order followed by polling")
    follower.process.send_signal(signal.SIGINT)
    code, err = follower.finish()
    assert code == 130 and "Traceback" not in err, err
    lines = [line for _, line in follower.changes()]
    assert lines[-1]["id"] == placed and lines[-1]["state"] == "filled"


def test_follow_for_seconds_ends_by_itself_with_0(tmp_path: Path) -> None:
    """``--for SECONDS`` bounds a follow for a script: it ends on its own, exit 0."""
    cli.workspace(tmp_path)
    journal = str(tmp_path / "journal.sqlite3")
    open_journal(journal).close()
    started = time.monotonic()
    done = cli.run(tmp_path, "orders", "--follow", "--for", "0.5", "--json",
                   "--journal", journal)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0]) == {"orders": []}
    assert time.monotonic() - started < 30
