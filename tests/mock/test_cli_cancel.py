"""``venuekit cancel`` (each form), ``recover --cancel-working`` and ``venuekit.cancel``,
checked against the mock's ledger.

Each test starts from what a crash leaves: a rebalance killed (SIGKILL) while its limit
buys rest at the venue, so that its three orders are orphans of a run whose process is
gone.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

import venuekit
from tests.support import cli
from tests.support.crash import run_driver
from tests.support.helpers import flat
from venuekit.errors import Code, VenueKitError
from venuekit.model import OrderState

SYMBOLS = (flat("AAA", "50.005"), flat("BBB", "20.005"), flat("CCC", "80.005"))
PLAN = {"items": [{"symbol": symbol, "action": "BUY", "quantity": "5"}
                  for symbol in ("AAA", "BBB", "CCC")]}


def orphans(directory: Path) -> dict[str, str]:
    """A killed rebalance's working orders, by symbol: client order id."""
    cli.workspace(directory, symbols=SYMBOLS)
    (directory / "plan.json").write_text(json.dumps(PLAN), encoding="utf-8")
    killed = run_driver("tests.faults.crash_cli", "--kill", "time:1200", "--", "rebalance",
                        "plan.json", "--strategy", "limit", "--timeout", "60", cwd=directory,
                        unset=("VENUEKIT_JOURNAL",))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    open_at_venue = cli.venue_state(directory).open_orders()
    assert len(open_at_venue) == 3
    return {o.symbol: o.client_order_id or "" for o in open_at_venue}


def working_symbols(directory: Path) -> set[str]:
    return {o.symbol for o in cli.venue_state(directory).open_orders()}


def test_cancel_by_id_by_symbol_and_recover_cancel_working(tmp_path: Path) -> None:
    ids = orphans(tmp_path)
    run_id = {o.run_id for o in cli.journal_orders(tmp_path)}.pop()

    named = cli.run(tmp_path, "recover", "--json")
    assert named.returncode == 0, named.stderr
    report = json.loads(named.stdout)
    assert sorted(report["orphaned"], key=lambda o: o["order_id"]) == sorted(
        ({"order_id": i, "run_id": run_id} for i in ids.values()),
        key=lambda o: o["order_id"])
    assert report["cancelled"] == []
    assert working_symbols(tmp_path) == {"AAA", "BBB", "CCC"}, "recover cancels nothing"

    by_id = cli.run(tmp_path, "cancel", ids["AAA"], "--json")
    assert by_id.returncode == 0, by_id.stderr
    [outcome] = json.loads(by_id.stdout)["orders"]
    assert (outcome["order_id"], outcome["result"], outcome["before"]) == (
        ids["AAA"], "cancelled", "acknowledged")
    assert working_symbols(tmp_path) == {"BBB", "CCC"}

    by_symbol = cli.run(tmp_path, "cancel", "--all", "--symbol", "BBB", "--json")
    assert by_symbol.returncode == 0, by_symbol.stderr
    assert [o["symbol"] for o in json.loads(by_symbol.stdout)["orders"]] == ["BBB"]
    assert working_symbols(tmp_path) == {"CCC"}

    swept = cli.run(tmp_path, "recover", "--cancel-working", "--json")
    assert swept.returncode == 0, swept.stderr
    assert [(o["order_id"], o["result"]) for o in json.loads(swept.stdout)["cancelled"]] == [
        (ids["CCC"], "cancelled")]
    assert working_symbols(tmp_path) == set()

    ledger = cli.venue_state(tmp_path).ledger
    assert {c.client_order_id for c in ledger.cancels} == set(ids.values())
    assert {o.state for o in cli.journal_orders(tmp_path)} == {OrderState.CANCELLED}

    again = cli.run(tmp_path, "cancel", ids["AAA"])
    assert again.returncode == 0 and "cancelled" in again.stdout
    unknown = cli.run(tmp_path, "cancel", "no-such-order")
    assert unknown.returncode == 2 and "UNKNOWN_ORDER" in unknown.stderr
    nothing = cli.run(tmp_path, "cancel", "--all")
    assert nothing.returncode == 0 and "nothing to cancel" in nothing.stdout


def test_cancel_a_run_and_filter_by_venue(tmp_path: Path) -> None:
    ids = orphans(tmp_path)
    run_id = {o.run_id for o in cli.journal_orders(tmp_path)}.pop()
    elsewhere = cli.run(tmp_path, "cancel", "--all", "--venue", "alpaca", "--json")
    assert elsewhere.returncode == 0
    assert json.loads(elsewhere.stdout)["orders"] == []
    whole_run = cli.run(tmp_path, "cancel", "--run", run_id, "--venue", "mock", "--json")
    assert whole_run.returncode == 0, whole_run.stderr
    report = json.loads(whole_run.stdout)
    assert report["ok"] and report["cancelled"] == 3
    assert {o["order_id"] for o in report["orders"]} == set(ids.values())
    assert working_symbols(tmp_path) == set()
    unknown = cli.run(tmp_path, "cancel", "--run", "no-such-run")
    assert unknown.returncode == 2 and "UNKNOWN_RUN" in unknown.stderr
    usage = cli.run(tmp_path, "cancel")
    assert usage.returncode == 2 and "say what to cancel" in usage.stderr


def test_the_python_cancel_matches_the_cli(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ids = orphans(tmp_path)
    monkeypatch.chdir(tmp_path)  # venuekit.toml names the journal, as for the CLI
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)
    report = venuekit.cancel(ids["BBB"], ids["CCC"])
    assert report.ok and report.cancelled == 2
    assert working_symbols(tmp_path) == {"AAA"}
    run_id = {o.run_id for o in cli.journal_orders(tmp_path)}.pop()
    rest = venuekit.cancel(run=run_id)
    assert [(o.symbol, o.result) for o in rest.outcomes] == [("AAA", "cancelled")]
    assert working_symbols(tmp_path) == set()
    with pytest.raises(VenueKitError) as raised:
        venuekit.cancel()
    assert raised.value.code is Code.INVALID_CONFIG
