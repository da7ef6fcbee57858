"""Seeded randomized fault scenarios: the engine, its strategies and a rebalance against
every fault knob of the simulated venue at once, judged by the venue's ledger of truth.

One scenario, from its seed alone:

1. draw the venue (:class:`~tests.faults.targets.Knobs`): three symbols with thin or deep
   books and a moving market; each fault (dropped response after accepting, timeout,
   5xx before or after acting, 429, stream disconnect, duplicate and out-of-order events,
   lost final fill) on or off with its own probability; latency, stream delay, visibility
   delay; client order ids on or off where the venue allows it;
2. draw the work: market, limit and aggressive-limit executions, and sometimes a
   rebalance (sells of held positions, then buys), all running at once on one engine with
   a real journal (a fresh SQLite file, or a fresh PostgreSQL database: the suite runs on
   both, see :class:`tests.support.journal_backends.JournalBackend`);
3. run it with the faults on; every error the caller sees must be a venuekit error;
4. heal the network (faults off), reconcile (``Engine.recover``), cancel whatever is still
   working, and reconcile again, as an operator would;
5. compare the journal with the ledger (:func:`tests.support.journal_truth.tally`).

A scenario fails when it counts a duplicate, a lost or phantom fill, an overfill or
underfill, an unresolved order, or an exception that is not a venuekit error. Re-run one
with ``python -m tests.faults.scenarios SEED`` to see its tally and knobs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import random
import sys
import tempfile
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.journal_backends import JournalBackend
from tests.support.journal_truth import tally
from venuekit.engine import Engine
from venuekit.errors import VenueKitError
from venuekit.journal import Journal, open_journal
from venuekit.model import OrderRequest
from venuekit.outcome import OutcomePolicy
from venuekit.plugins import PluginHost
from venuekit.rebalance import Rebalancer, parse_plan
from venuekit.settlement import SettlementOptions
from venuekit.strategies import run_strategy
from venuekit.validation import PreTradeValidator, ValidationRules
from venuekit_mock.sim import Fault, SymbolSpec

from .targets import MOCK, Knobs, Target

D = Decimal

FAILURES = ("duplicates", "lost_fills", "phantom_fills", "overfills", "underfills",
            "unresolved", "crashes", "hung", "lost_events")
"""Counts that must stay 0; a scenario with any of them is reported with its seed."""

SETTLEMENT = SettlementOptions(poll_min=0.02, poll_max=0.2, silence=0.2, late_grace=0.02)
FINISH_ROUNDS = 4
SCENARIO_TIMEOUT = 90.0
"""A scenario that has not finished by then counts as ``hung`` (nothing should take 10 s)."""

_PRICES = ("25.005", "80.005", "140.005")
_STRATEGIES = ("market", "limit", "aggressive-limit")


@dataclass(frozen=True)
class Job:
    """One piece of work: an execution with a strategy, or a rebalance plan."""

    kind: str
    symbol: str = ""
    side: str = "buy"
    quantity: Decimal = Decimal(0)
    options: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] | None = None


@dataclass
class Result:
    seed: int
    target: str
    counts: dict[str, int]
    knobs: dict[str, Any]
    jobs: list[str]
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Codes of the venuekit errors the work raised to its caller (allowed, counted)."""

    @property
    def failed(self) -> bool:
        return any(self.counts.get(k, 0) for k in FAILURES)

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "venue": self.target,
                "counts": {k: v for k, v in self.counts.items() if v},
                "knobs": self.knobs, "jobs": self.jobs, "notes": self.notes[:5]}


def draw_knobs(rng: random.Random, seed: int, target: Target) -> Knobs:
    symbols = tuple(SymbolSpec(f"F{i}", D(price), volatility_bps=D(rng.choice((0, 5, 20))),
                               size=D(rng.choice((5, 20, 1000))))
                    for i, price in enumerate(_PRICES))
    faults = {}
    for fault in Fault:
        if rng.random() < 0.5:
            faults[fault] = D(rng.choice((2, 5, 10, 20, 35))) / 100
    return Knobs(
        seed=seed, symbols=symbols, faults=faults,
        server_error_after_accept=rng.random() < 0.5,
        latency=rng.choice((0.0, 0.002, 0.01)),
        visibility_delay=rng.choice((0.0, 0.0, 0.03, 0.1)),
        stream_delay=rng.choice((0.0, 0.0, 0.005, 0.02)),
        client_order_ids=rng.random() < 0.7 if target.client_order_ids_optional else True)


def draw_jobs(rng: random.Random, knobs: Knobs) -> tuple[list[Job], dict[str, Decimal]]:
    """The work and the positions it needs to hold before it starts."""
    names = [s.symbol for s in knobs.symbols]
    jobs: list[Job] = []
    positions: dict[str, Decimal] = {}
    for _ in range(rng.randint(1, 5)):
        kind = rng.choice(_STRATEGIES)
        symbol = rng.choice(names)
        side = rng.choice(("buy", "sell"))
        quantity = D(rng.randint(1, 40))
        if side == "sell":
            positions[symbol] = positions.get(symbol, D(0)) + quantity
        options: dict[str, Any] = {}
        if kind == "market":
            options = {"timeout": 1.0}
            if rng.random() < 0.3:
                options["max_slippage_bps"] = D(rng.choice((1, 5, 50)))
        elif kind == "limit":
            options = {"timeout": rng.choice((0.1, 0.3, 0.6)),
                       "pricer": rng.choice(("touch", "mid", "cross"))}
        else:
            options = {"budget": rng.choice((0.2, 0.5)), "interval": rng.choice((0.04, 0.1)),
                       "policy": rng.choice(("conservative", "aggressive")),
                       "market_fallback": rng.random() < 0.7, "fallback_timeout": 1.0}
        jobs.append(Job(kind, symbol, side, quantity, options))
    if rng.random() < 0.4:
        items = []
        for symbol in rng.sample(names, rng.randint(1, len(names))):
            action = rng.choice(("BUY", "SELL", "HOLD"))
            if action == "HOLD":
                items.append({"symbol": symbol, "action": action})
                continue
            quantity = D(rng.randint(1, 30))
            if action == "SELL":
                positions[symbol] = positions.get(symbol, D(0)) + quantity
            amount = {"quantity": str(quantity)} if rng.random() < 0.5 else \
                {"notional": str(quantity * 50)}
            items.append({"symbol": symbol, "action": action, **amount})
        strategy = rng.choice(_STRATEGIES)
        options = {"market": {"timeout": 1.0}, "limit": {"timeout": 0.3},
                   "aggressive-limit": {"budget": 0.3, "interval": 0.05,
                                        "fallback_timeout": 1.0}}[strategy]
        jobs.append(Job("rebalance", options={"strategy": strategy, "options": options},
                        plan={"correlation_id": f"plan-{knobs.seed}", "items": items}))
    return jobs, positions


def localized(job: Job, target: Target) -> Job:
    """``job`` in the target's symbols (``F0/USDT`` on an exchange of pairs)."""
    if target.symbol is None:
        return job
    rename = target.symbol
    if job.plan is not None:
        items = [{**item, "symbol": rename(item["symbol"])} for item in job.plan["items"]]
        if target.money_scale != 1:
            items = [{**item, "notional": str(Decimal(item["notional"]) * target.money_scale)}
                     if "notional" in item else item for item in items]
        return replace(job, plan={**job.plan, "items": items})
    return replace(job, symbol=rename(job.symbol))


def _label(job: Job) -> str:
    if job.plan is not None:
        return f"rebalance[{job.options['strategy']}]({len(job.plan['items'])} items)"
    return f"{job.kind} {job.side} {job.quantity} {job.symbol}"


async def _perform(engine: Engine, job: Job) -> None:
    if job.plan is not None:
        rebalancer = Rebalancer(engine, strategy=job.options["strategy"],
                                strategy_options=job.options["options"],
                                validator=PreTradeValidator(ValidationRules(
                                    max_concentration=None, max_spread_bps=None)))
        await rebalancer.run(parse_plan(job.plan))
        return
    request = OrderRequest(symbol=job.symbol, side=job.side, quantity=job.quantity)
    await run_strategy(engine, request, job.kind, **job.options)


async def _finish(engine: Engine, notes: list[str], pause: float) -> None:
    """The operator's part once the network heals: reconcile, cancel what still works,
    and reconcile again, pausing ``pause`` seconds (the venue's grace) between rounds."""
    for attempt in range(FINISH_ROUNDS):
        if attempt:
            await asyncio.sleep(pause)
        report = await engine.recover()
        for order_id in report.working:
            order = engine.tracker.get(order_id)
            if order is not None and not order.state.is_terminal:
                try:
                    await engine.cancel(order, timeout=5.0)
                except VenueKitError as exc:
                    notes.append(f"cancel {order_id}: {exc.code.name}: {exc.message}")
        if report.ok and not engine.journal.open_orders(engine.venue.name):
            return
    notes.extend(f"recovery failed {i}: {e}" for i, e in report.failed)


async def _open_journal(journals: JournalBackend, directory: Path,
                        name: str) -> tuple[str, Journal]:
    """A fresh journal for one scenario. A database is created and migrated off the loop,
    so that the other scenarios run meanwhile (a psycopg connection may move between
    threads; a SQLite one may not, and opens at once)."""
    if journals.server is None:
        place = journals.new(directory, name)
        return place, open_journal(place)
    place = await asyncio.to_thread(journals.new, directory, name)
    return place, await asyncio.to_thread(open_journal, place)


async def run_scenario(seed: int, directory: Path, target: Target = MOCK,
                       journals: JournalBackend | None = None) -> Result:
    rng = random.Random(f"venuekit-faults/{seed}")
    knobs = draw_knobs(rng, seed, target)
    drawn, positions = draw_jobs(rng, knobs)
    jobs = [localized(job, target) for job in drawn]
    result = Result(seed, target.name, {}, knobs.describe(), [_label(j) for j in jobs])
    crashes = hung = 0
    grace = knobs.visibility_delay + knobs.latency + 0.05
    policy = OutcomePolicy(grace=grace, resolve_timeout=5.0)
    journals = journals or JournalBackend()
    place, journal = await _open_journal(journals, directory, f"journal-{target.name}-{seed}")
    async with target.open(knobs) as session:
        with journal:
            engine = Engine(session.venue, journal, host=PluginHost(load_entry_points=False),
                            policy=policy, settlement=SETTLEMENT)
            await engine.start()
            for symbol, quantity in positions.items():
                session.handle.set_position((target.symbol or str)(symbol), quantity,
                                            D(_PRICES[int(symbol[1:])]))
            session.inject(knobs)
            try:
                outcomes = await asyncio.wait_for(asyncio.gather(
                    *(_perform(engine, job) for job in jobs), return_exceptions=True),
                    SCENARIO_TIMEOUT)
            except TimeoutError:
                hung += 1
                outcomes = []
            for job, outcome in zip(jobs, outcomes, strict=False):
                if isinstance(outcome, VenueKitError):
                    result.errors.append(f"{job.kind}: {outcome.code.name}")
                    result.notes.append(f"{_label(job)}: {outcome.code.name}: "
                                        f"{outcome.message}")
                elif isinstance(outcome, BaseException):
                    crashes += 1
                    result.notes.append(f"{_label(job)}: " + "".join(
                        traceback.format_exception(outcome)))
            session.handle.clear_faults()
            try:
                await asyncio.wait_for(_finish(engine, result.notes, grace),
                                       SCENARIO_TIMEOUT)
            except TimeoutError:
                hung += 1
            finally:
                await engine.close()
            # Events the journal refused (their order's history is then incomplete), and
            # journal errors raised to the work: each one fails the scenario.
            lost_events = journal.refused_writes + sum(
                1 for code in result.errors if code.endswith(": JOURNAL_ERROR"))
            result.counts = tally(journal, session.truth(),
                                  client_order_ids=knobs.client_order_ids,
                                  venue=session.venue.name)
    journals.discard(place)
    result.counts.update(crashes=crashes, hung=hung, lost_events=lost_events,
                         typed_errors=len(result.errors),
                         faults_injected=len(session.handle.ledger.faults))
    return result


WHOLE_SCENARIO_LIMIT = 3 * SCENARIO_TIMEOUT + 30.0
"""Seconds a scenario may take from opening the venue to closing it, start-up, recovery and
close included; beyond that it counts as ``hung`` and the run goes on without it."""


async def run_many(seeds: Sequence[int], directory: Path, target: Target = MOCK, *,
                   concurrency: int = 24,
                   journals: JournalBackend | None = None) -> list[Result]:
    """Run scenarios ``concurrency`` at a time (most of a scenario is waiting on timers).

    A scenario stuck anywhere (even in a close that ignores cancellation) is left behind,
    cancelled, and reported as ``hung`` with its seed: the run always ends. Run it with a
    loop that is closed without waiting for leftovers (:func:`run_bounded`).
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(seed: int) -> Result:
        async with gate:
            task = asyncio.ensure_future(run_scenario(seed, directory, target, journals))
            done, _ = await asyncio.wait({task}, timeout=WHOLE_SCENARIO_LIMIT)
            if done:
                return task.result()
            where = io.StringIO()
            task.print_stack(limit=12, file=where)
            task.cancel()
            return Result(seed, target.name, {"hung": 1}, {}, [],
                          notes=[f"stuck beyond {WHOLE_SCENARIO_LIMIT} s: {where.getvalue()}"])

    return list(await asyncio.gather(*(one(s) for s in seeds)))


def run_bounded(seeds: Sequence[int], directory: Path, target: Target = MOCK, *,
                concurrency: int = 24,
                journals: JournalBackend | None = None) -> list[Result]:
    """:func:`run_many` on a fresh loop, closed without waiting for scenarios left behind."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(run_many(seeds, directory, target,
                                                concurrency=concurrency, journals=journals))
    finally:
        loop.close()


def totals(results: Sequence[Result], **extra: Any) -> dict[str, Any]:
    """One JSON-able summary: scenarios, every count summed, and the failing seeds."""
    summed: dict[str, int] = {}
    for result in results:
        for key, value in result.counts.items():
            summed[key] = summed.get(key, 0) + value
    failing = [r for r in results if r.failed]
    codes: dict[str, int] = {}
    for result in results:
        for code in result.errors:
            codes[code] = codes.get(code, 0) + 1
    return {"suite": "faults", **extra, "scenarios": len(results), **summed,
            "typed_errors_by_code": dict(sorted(codes.items())),
            "failing_scenarios": len(failing),
            "failing_seeds": [{"seed": r.seed, "venue": r.target,
                               "counts": {k: r.counts[k] for k in FAILURES
                                          if r.counts.get(k)}} for r in failing[:20]]}


def main(argv: Sequence[str] | None = None) -> None:
    """Re-run scenarios by seed and print each one's tally, knobs, work and notes."""
    from .targets import TARGETS

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("seeds", type=int, nargs="+")
    parser.add_argument("--venue", default="mock", choices=sorted(TARGETS))
    parser.add_argument("--journal", default="sqlite", choices=("sqlite", "postgres"),
                        help="the journal backend (postgres: a throw-away server)")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # the tallies are the output; warnings are expected
    with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as stack:
        journals = JournalBackend()
        if args.journal == "postgres":
            from venuekit.testing.postgres import server

            journals = JournalBackend("postgres", stack.enter_context(server()))
        results = run_bounded(args.seeds, Path(directory), TARGETS[args.venue],
                              journals=journals)
    for result in results:
        sys.stdout.write(json.dumps(result.as_dict()) + "\n")


if __name__ == "__main__":
    main()
