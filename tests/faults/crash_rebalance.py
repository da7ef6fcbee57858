"""A process that runs a rebalance and SIGKILLs itself at a seeded point, then a restart.

    python -m tests.faults.crash_rebalance run    --dir D --seed S --kill MODE:N [--journal J]
    python -m tests.faults.crash_rebalance resume --dir D --seed S [--journal J]

``run`` builds the venue (state persisted to ``D/venue.state``, so the venue outlives the
process as a real one does) and the journal (``--journal``: a path or a ``postgresql://``
URL; ``D/journal.sqlite3`` by default), then runs the seed's plan. ``--kill`` says where it
dies:

* ``journal:N``: just after the N-th journal write (a create, an event, an event written
  behind, or the flush that commits those; inside a batch, before its commit);
* ``venue:N``: during the N-th venue call, after the request left and before the answer
  came back (the venue may have acted, or not);
* ``time:MS``: MS milliseconds after the rebalance started, wherever it is.

``resume`` is the restart: on a shared (PostgreSQL) journal it first adopts the open orders
of the dead process's writer, as the client does at open; then the engine recovers every
open order, cancels the ones the dead
process left working (their deadlines have passed), then finishes the job (runs the plan's
items none of whose orders can have reached the venue), and prints the recovery report as
one JSON line. A run that finishes before its kill point exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.crash import die, die_after, die_during, nth
from venuekit.engine import Engine
from venuekit.journal import Journal, open_journal
from venuekit.journal.postgres import PostgresJournal
from venuekit.outcome import OutcomePolicy
from venuekit.plugins import PluginHost
from venuekit.rebalance import Rebalancer, parse_plan
from venuekit.settlement import SettlementOptions
from venuekit.validation import PreTradeValidator, ValidationRules
from venuekit_mock import MockVenue
from venuekit_mock.sim import SymbolSpec

D = Decimal
LATENCY = 0.01
SETTLEMENT = SettlementOptions(poll_min=0.02, poll_max=0.2, silence=0.2, late_grace=0.02)
POLICY = OutcomePolicy(grace=0.1, resolve_timeout=5.0)
PRICES = {"KA": "40.005", "KB": "75.005", "KC": "120.005", "KD": "15.005", "KE": "60.005",
          "KF": "200.005"}
HELD = D(60)
MODES = ("journal", "venue", "time")
_JOURNAL_WRITES = ("create_order", "append", "append_behind", "flush")
_VENUE_CALLS = ("submit", "cancel", "replace", "fetch_order", "open_orders", "recent_orders",
                "fills_since", "account", "quote", "instruments")


def symbols() -> list[SymbolSpec]:
    # Thin books (20 displayed, refreshed every step) and a moving market: orders fill in
    # parts over several steps, so a kill lands between partial fills too.
    return [SymbolSpec(name, D(price), volatility_bps=D(5), size=D(20))
            for name, price in PRICES.items()]


def venue(directory: Path) -> MockVenue:
    return MockVenue(seed=5, symbols=symbols(), cash=D(10**6), latency=LATENCY,
                     tick_interval=0.02, state_path=directory / "venue.state")


def job(seed: int) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The seed's plan (sells of held positions, buys), strategy and strategy options."""
    rng = random.Random(f"venuekit-crash/{seed}")
    names = list(PRICES)
    rng.shuffle(names)
    items: list[dict[str, Any]] = []
    for name in names[:2]:
        items.append({"symbol": name, "action": "SELL", "quantity": str(rng.randint(10, 45))})
    for name in names[2:5]:
        amount = {"quantity": str(rng.randint(5, 40))} if rng.random() < 0.5 else \
            {"notional": str(rng.randint(500, 3000))}
        items.append({"symbol": name, "action": "BUY", **amount})
    items.append({"symbol": names[5], "action": "HOLD"})
    strategy = rng.choice(("market", "limit", "aggressive-limit"))
    options = {"market": {"timeout": 2.0}, "limit": {"timeout": 0.4},
               "aggressive-limit": {"budget": 0.4, "interval": 0.05,
                                    "fallback_timeout": 2.0}}[strategy]
    return {"correlation_id": f"crash-{seed}", "items": items}, strategy, options


def _rebalancer(engine: Engine, strategy: str, options: dict[str, Any]) -> Rebalancer:
    return Rebalancer(engine, strategy=strategy, strategy_options=options,
                      validator=PreTradeValidator(ValidationRules(max_concentration=None,
                                                                  max_spread_bps=None)))


def _engine(mock: MockVenue, journal: Journal) -> Engine:
    return Engine(mock, journal, host=PluginHost(load_entry_points=False), policy=POLICY,
                  settlement=SETTLEMENT)


def _arm(mode: str, count: int, mock: MockVenue, journal: Journal) -> None:
    """Make the process die at the ``count``-th journal write or venue call."""
    if mode == "journal":
        die_after(journal, _JOURNAL_WRITES, nth(count))
    elif mode == "venue":
        die_during(mock, _VENUE_CALLS, nth(count), LATENCY / 4)


async def run(directory: Path, seed: int, kill: str, target: str) -> None:
    mode, _, amount = kill.partition(":")
    plan, strategy, options = job(seed)
    mock = venue(directory)
    with open_journal(target) as journal:
        engine = _engine(mock, journal)
        await engine.start()
        for item in plan["items"]:
            if item["action"] == "SELL":
                mock.control.set_position(item["symbol"], HELD, D(PRICES[item["symbol"]]))
        if mode == "time":
            asyncio.get_running_loop().call_later(int(amount) / 1000, die)
        else:
            _arm(mode, int(amount), mock, journal)
        await _rebalancer(engine, strategy, options).run(parse_plan(plan))
        await engine.close()


async def resume(directory: Path, seed: int, target: str) -> dict[str, Any]:
    plan, strategy, options = job(seed)
    with open_journal(target) as journal:
        mock = venue(directory)
        if isinstance(journal, PostgresJournal):
            journal.adopt([mock.name])  # the killed writer's session is gone: its lease too
        engine = _engine(mock, journal)
        report = await engine.start()
        # Orders the killed process left working have outlived their strategy's deadline:
        # cancel them (fills that race the cancel are counted).
        for order_id in report.working:
            order = engine.tracker.get(order_id)
            if order is not None:
                await engine.cancel(order)
        # An item is done once one of its orders may have reached the venue; items whose
        # orders all ended in ERROR (never sent, or proven absent) are run again.
        started = {(o.symbol, o.side.value.upper()) for o in journal.orders()
                   if o.venue_order_id or o.filled_quantity or o.state.value != "error"}
        rest = [item for item in plan["items"] if item["action"] != "HOLD"
                and (item["symbol"], item["action"]) not in started]
        if rest and report.ok:
            await _rebalancer(engine, strategy, options).run(
                parse_plan({**plan, "items": rest}))
        final = await engine.recover()
        await engine.close()
        return {**report.as_dict(), "finished_items": len(rest), "final_ok": final.ok,
                "final_working": final.working}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=("run", "resume"))
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--kill", default="journal:1000000")
    parser.add_argument("--journal", default=None, help="a path or a postgresql:// URL")
    args = parser.parse_args(argv)
    target = args.journal or str(args.dir / "journal.sqlite3")
    if args.phase == "run":
        asyncio.run(run(args.dir, args.seed, args.kill, target))
    else:
        sys.stdout.write(json.dumps(asyncio.run(resume(args.dir, args.seed, target))) + "\n")


if __name__ == "__main__":
    main()
