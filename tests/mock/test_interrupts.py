"""Ctrl-C and SIGTERM during ``venuekit order`` and ``venuekit rebalance``, for real.

Each test starts the command as a real process, waits until its orders work at the
venue, and signals it. The first signal stops sending, cancels the working orders (each
cancel confirmed by the venue), prints the partial report and exits 130 (SIGINT) or 143
(SIGTERM); a second one exits at once, leaving the run resumable. Nothing ever prints a
traceback, and no order is left working at the venue by the first signal.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support import cli
from tests.support.helpers import flat
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import OrderState
from venuekit.runs import RunState

SYMBOLS = (flat("AAA", "50.005"), flat("BBB", "20.005"), flat("CCC", "80.005"))
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
CODES = {"SIGINT": 130, "SIGTERM": 143}


def no_traceback(stderr: str) -> None:
    for marker in ("Traceback", "exception was never retrieved", "Aborted!",
                   "CancelledError"):
        assert marker not in stderr, stderr


def finish(process: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


@pytest.mark.parametrize("name", list(SIGNALS))
def test_order_interrupted_cancels_reports_and_exits(tmp_path: Path, name: str) -> None:
    cli.workspace(tmp_path, symbols=SYMBOLS)
    code, out, err = cli.interrupt_when_working(
        tmp_path, ["-m", "venuekit", "order", "buy", "AAA", "7", "--limit", "40", "--timeout",
                   "60", "--json"], 1, SIGNALS[name])
    assert code == CODES[name], err
    no_traceback(err)
    result = json.loads(out)
    assert result["state"] == "cancelled" and result["interrupted"] == name
    assert result["filled_quantity"] == "0"
    assert cli.venue_state(tmp_path).open_orders() == [], "nothing is left working"
    [order] = cli.journal_orders(tmp_path)
    assert order.state is OrderState.CANCELLED
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        [run] = journal.runs()
    assert run.state is RunState.INTERRUPTED and f"interrupted by {name}" in (run.note or "")


@pytest.mark.parametrize("name", list(SIGNALS))
def test_rebalance_interrupted_in_its_sells_cancels_them_and_sends_no_buy(
        tmp_path: Path, name: str) -> None:
    cli.workspace(tmp_path, symbols=SYMBOLS, positions={"AAA": "30", "BBB": "40"})
    (tmp_path / "plan.json").write_text(json.dumps({"items": [
        {"symbol": "AAA", "action": "SELL", "quantity": "10"},
        {"symbol": "BBB", "action": "SELL", "quantity": "20"},
        {"symbol": "CCC", "action": "BUY", "quantity": "5"}]}))
    # The limit strategy rests each sell at the ask of a market that does not move.
    code, out, err = cli.interrupt_when_working(
        tmp_path, ["-m", "venuekit", "rebalance", "plan.json", "--strategy", "limit",
                   "--timeout", "60", "--json"], 2, SIGNALS[name])
    assert code == CODES[name], err
    no_traceback(err)
    report = json.loads(out)
    assert report["interrupted"] == f"interrupted by {name}"
    statuses = {item["symbol"]: (item["status"], item["note"]) for item in report["items"]}
    assert statuses["AAA"][0] == statuses["BBB"][0] == "interrupted"
    assert statuses["CCC"] == ("interrupted", f"not sent: interrupted by {name}")
    venue = cli.venue_state(tmp_path)
    assert venue.open_orders() == []
    assert {o.symbol for o in venue.ledger.orders} == {"AAA", "BBB"}, "no buy was sent"
    assert all(o.state is OrderState.CANCELLED for o in cli.journal_orders(tmp_path))
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        [run] = journal.runs()
    assert run.state is RunState.INTERRUPTED


def test_a_second_interrupt_exits_at_once_and_the_run_resumes(tmp_path: Path) -> None:
    # A slow venue: the first interrupt's cancels take seconds to be confirmed.
    cli.workspace(tmp_path, symbols=SYMBOLS, mock='latency = "1.5"')
    process = cli.start(tmp_path, "order", "buy", "AAA", "7", "--limit", "40",
                        "--timeout", "60")
    try:
        cli.wait_until(cli.working_in_journal(tmp_path, 1), 30, "the order works", process)
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        code, _, err = finish(process)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 130
    assert took < 1.0, f"the second interrupt took {took:.2f} s to exit"
    assert "interrupted again" in err
    no_traceback(err)
    # The journal is consistent and the run resumable: the same order again resumes it,
    # cancelling what the interrupted session left working before sending the rest.
    again = cli.run(tmp_path, "order", "buy", "AAA", "7", "--limit", "40", "--timeout",
                    "0.5", "--json", "-o", "latency=0")
    assert again.returncode == 1, again.stderr  # the limit does not fill by its deadline
    result = json.loads(again.stdout)
    assert result["resumed"] is True
    venue = cli.venue_state(tmp_path)
    assert venue.open_orders() == []
    assert sum(o.filled_quantity for o in venue.ledger.orders) == 0
    assert len(venue.ledger.cancels) == len(venue.ledger.orders) == 2


def test_an_interrupt_before_anything_is_sent_exits_130(tmp_path: Path) -> None:
    # A venue that takes 3 s to answer: the interrupt comes while the order's quote is on
    # its way, before anything is journaled or sent.
    cli.workspace(tmp_path, symbols=SYMBOLS, mock='latency = "3"')
    process = cli.start(tmp_path, "order", "buy", "AAA", "1", "--limit", "40")
    try:
        # The journal is open: the command runs, and the venue answers nothing for 3 s.
        cli.wait_until((tmp_path / "journal.sqlite3").exists, 20, "the journal is open",
                       process)
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        code, _, err = finish(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 130
    no_traceback(err)
    assert cli.journal_orders(tmp_path) == []


def test_an_interrupt_outside_the_commands_exits_130_without_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """While Python imports the command line, or click parses it, Ctrl-C raises
    KeyboardInterrupt in the main thread: the entry point ends with 130, no traceback."""
    import venuekit.cli
    from venuekit.__main__ import run

    def interrupted(**_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(venuekit.cli, "main", interrupted)
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_the_journal_left_by_an_interrupt_reads_back(tmp_path: Path) -> None:
    """After an interrupted rebalance, every command reads the journal as it is."""
    test_rebalance_interrupted_in_its_sells_cancels_them_and_sends_no_buy(tmp_path, "SIGINT")
    listed = cli.run(tmp_path, "orders", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {o["state"] for o in json.loads(listed.stdout)["orders"]} == {"cancelled"}
    recovered = cli.run(tmp_path, "recover", "--json")
    assert recovered.returncode == 0, recovered.stderr
    assert json.loads(recovered.stdout)["orphaned"] == []
    assert Decimal(0) == sum(o.filled_quantity for o in cli.journal_orders(tmp_path))
