"""A burst of orders against the Binance emulator enforcing Binance's real limits.

The emulator runs as a real process (``venuekit emulate binance``), so its clock and its
windows are independent of the client's event loop. It enforces Binance's counts: 6000
request weight per minute per IP, 100 new orders per 10 s, 200,000 per day, 429 with
``Retry-After`` beyond them and a 418 ban for a client that sends again too early.

One engine (a real SQLite journal) sends the burst: every order is a small market buy
(so it ends final, FILLED, with fills to compare), all submitted at once; while the burst
runs, four readers poll the account (weight 20 a read, a pause of an 80th of the weight
window after each) until the request-weight limit has been reached a few times: together
they ask for a little more weight than the window holds, so that both pools bind, the ORDERS
pool for the orders and the REQUEST_WEIGHT pool for the reads (which go ahead of orders
waiting for the ORDERS pool, see ``venuekit.ratelimit``).

* correct pools: the venue declares exactly the emulator's limits. The emulator answers no
  429 and no 418; every order is journaled once, at the venue once, and filled.
* wrong pools: the venue declares four times the real weight and orders. The emulator
  answers 429s (``-1015`` too many orders, ``-1003`` too much weight) and never a 418 (the
  limiter waits out each ``Retry-After``). Each refusal announces the limit in force, and
  the limiter adopts it (``RateLimiter.adopt``): the refusals come in the first window, not
  in every one. Each refused create is what the outcome policy says (``venuekit.outcome``):
  outcome unknown, looked up after the grace window, sent again with the same client order
  id only once proven absent; a submit whose outcome is still unknown after the policy's
  ``resolve_timeout`` would return the order SUBMITTED for recovery (``Engine.recover``) to
  settle without sending it again. The refusals are absorbed: every order ends FILLED and
  at the venue exactly once (never REJECTED: a 429 is no evidence of a refusal); none is
  duplicated, none lost, none left unresolved.

Sizes. By default (CI) 500 orders, Binance's counts kept and its windows shortened: the
weight window is 6 s and the orders window a sixth of it, 1 s (the emulator's
``weight_window``), declared alike on the venue (which adds its ``ARRIVAL_SLACK``); about
15 s a case. ``VENUEKIT_FAULTS_FULL=1`` (as for the reliability suite's ``--full``) runs
1,000 orders at Binance's real windows: minutes. Each case prints one JSON line of
figures (``pytest -s`` or not), also appended to ``--faults-report`` where it exists.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from venuekit.engine import Engine
from venuekit.errors import Code, VenueKitError
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import Fill, Order, OrderRequest, OrderState
from venuekit.plugins import PluginHost
from venuekit.ratelimit import RateLimiter, RateLimitStats
from venuekit_ccxt.venue import ARRIVAL_SLACK, BinanceVenue

from ..support.journal_truth import WireTruth, tally
from ..support.processes import first_line, reap, start_emulate

FULL = os.environ.get("VENUEKIT_FAULTS_FULL", "") not in ("", "0")

WEIGHT_LIMIT = 6000
"""Binance's REQUEST_WEIGHT per minute per IP."""
ORDERS_LIMIT = 100
"""Binance's ORDERS per 10 seconds per account."""
ORDERS_DAILY = 200_000
"""Binance's ORDERS per day per account."""
WRONG = 4
"""The wrong pools declare this many times the real weight and orders."""

SYMBOL = "BTC/USDT"
QUANTITY = Decimal("0.0002")  # about 12 USDT: above the 5 USDT minimum notional
READERS = 4
"""Readers polling the account during the burst."""
READ_PAUSE = 1 / 80
"""Each reader's pause after a read, as a part of the weight window: 4 readers of weight
20, 80 reads a window each, ask for 6,400 of the 6,000 a window holds."""
WEIGHT_HITS = 3
"""The readers stop once the weight limit held back (or refused) this many reads."""
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
LEDGER_TIMEOUT = 30.0
RECOVERY_ROUNDS = 4


@dataclass(frozen=True)
class Size:
    name: str
    orders: int
    weight_window: float
    """The REQUEST_WEIGHT window in seconds (Binance: 60); the ORDERS window is a sixth."""
    deadline: float
    """Seconds one case may take, start to finish; beyond that it fails."""

    @property
    def orders_window(self) -> float:
        return self.weight_window / 6


SIZE = Size("full", 1000, 60.0, 3600.0) if FULL else Size("reduced", 500, 6.0, 150.0)


# ---------------------------------------------------------------------------------------
# what the client saw


class CountingBinance(BinanceVenue):
    """The Binance venue, counting what went over the wire.

    * ``requests``: exchange requests by operation (a ``fills_since`` may send several:
      one per page), and ``fills_since_calls`` the venue calls, each charged once by the
      limiter;
    * ``refusals``: error answers by operation, HTTP status and exchange code;
    * the highest used weight and 10 s order count the exchange's headers reported, and
      the most by which that weight exceeded what the engine's limiter had charged in its
      own window at that moment (``limiter`` is set once the engine exists): weight sent
      that the limiter never counted.
    """

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.limiter: RateLimiter | None = None
        self.requests: Counter[str] = Counter()
        self.fills_since_calls = 0
        self.refusals: Counter[tuple[str, int | None, int | None]] = Counter()
        self.max_used_weight = 0
        self.max_orders_window = 0
        self.max_uncharged_weight = 0

    async def fills_since(self, since: datetime, symbol: str | None = None
                          ) -> Sequence[Fill]:
        self.fills_since_calls += 1
        return await super().fills_since(since, symbol)

    async def _call(self, operation: str, func: Any, *args: Any, side: Any = None,
                    **kwargs: Any) -> Any:
        self.requests[operation] += 1
        try:
            result = await super()._call(operation, func, *args, side=side, **kwargs)
        except VenueKitError as exc:
            details = exc.details or {}
            self.refusals[(operation, details.get("status"),
                           details.get("exchange_code"))] += 1
            raise
        self._headers(self._exchange.last_response_headers or {})
        return result

    def _headers(self, headers: Mapping[str, str]) -> None:
        for name, value in headers.items():
            key = name.upper()
            if key == "X-MBX-USED-WEIGHT-1M":
                used = int(value)
                self.max_used_weight = max(self.max_used_weight, used)
                if self.limiter is not None:
                    charged = next(p.used for p in self.limiter.stats().pools
                                   if p.name == "weight")
                    self.max_uncharged_weight = max(self.max_uncharged_weight,
                                                    used - charged)
            elif key == "X-MBX-ORDER-COUNT-10S":
                self.max_orders_window = max(self.max_orders_window, int(value))

    def count(self, *, status: int | None = None, code: int | None = None) -> int:
        return sum(n for (_, s, c), n in self.refusals.items()
                   if (status is None or s == status) and (code is None or c == code))


class LimiterWaits(logging.Filter):
    """Counts the client limiter's waits for room, by pool and operation (a filter on the
    ``venuekit.ratelimit`` logger, which drops those records: thousands of them)."""

    MESSAGE = "rate limit: waiting for room"

    def __init__(self) -> None:
        super().__init__()
        self.waits: Counter[tuple[str, str]] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != self.MESSAGE:
            return True
        self.waits[(str(getattr(record, "pool", "?")),
                    str(getattr(record, "operation", "?")))] += 1
        return False

    def by_pool(self) -> dict[str, int]:
        pools: Counter[str] = Counter()
        for (pool, _), n in self.waits.items():
            pools[pool] += n
        return dict(pools)

    def count(self, pool: str, operation: str | None = None) -> int:
        return sum(n for (p, o), n in self.waits.items()
                   if p == pool and (operation is None or o == operation))


# ---------------------------------------------------------------------------------------
# the emulator process


@dataclass
class Emulator:
    settings: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.settings["BINANCE_BASE_URL"]

    async def ledger(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        """``GET /_venuekit/ledger``: orders, fills, 429 and 418 counts, ..."""
        headers = {"X-MBX-APIKEY": self.settings["BINANCE_API_KEY"],
                   "X-MBX-SECRET-KEY": self.settings["BINANCE_API_SECRET"]}
        async with session.get(f"{self.base_url}/_venuekit/ledger", headers=headers) as reply:
            assert reply.status == 200, await reply.text()
            ledger: dict[str, Any] = await reply.json()
            return ledger


def _pools(factor: int, size: Size) -> dict[str, str]:
    """The venue's pool settings: Binance's counts (times ``factor``), the size's windows."""
    return {"request_weight": f"{WEIGHT_LIMIT * factor}/{size.weight_window:g}",
            "orders": f"{ORDERS_LIMIT * factor}/{size.orders_window:g}",
            "orders_daily": f"{ORDERS_DAILY}/86400"}


# ---------------------------------------------------------------------------------------
# the burst


@dataclass
class Run:
    """What one case did, filled in as it goes: reported even when the case fails."""

    venue: CountingBinance
    waits: LimiterWaits
    orders: int
    read_pause: float
    """Seconds each reader pauses after a read."""
    phase: str = "start"
    submits: list[Order | BaseException] = field(default_factory=list)
    """What each submit returned (or raised)."""
    returned: Counter[str] = field(default_factory=Counter)
    """The state each submit returned its order in (or what it raised)."""
    reads: int = 0
    read_errors: Counter[str] = field(default_factory=Counter)
    burst_s: float | None = None
    recovery_s: float | None = None
    recovery_rounds: int = 0
    failure: str | None = None
    """Why the case stopped early: the deadline passed (in which phase) or an error."""
    limiter: RateLimitStats | None = None
    ledger: dict[str, Any] = field(default_factory=dict)


async def _burst(run: Run, engine: Engine) -> None:
    """``run.orders`` market buys submitted at once, and the readers."""
    done = asyncio.Event()

    def weight_hits() -> int:
        return run.waits.count("weight", "account") + run.venue.count(code=-1003)

    async def reader() -> None:
        while not (done.is_set() and weight_hits() >= WEIGHT_HITS):
            try:
                await engine.venue.account()
                run.reads += 1
            except VenueKitError as exc:
                run.read_errors[exc.code.name] += 1
                if exc.code is not Code.RATE_LIMITED:
                    return  # a ban (or anything else) ends the reads: the test reports it
            # A bot's polling, not a flood: together the readers ask for a little more
            # weight than the window holds, so the weight pool binds.
            await asyncio.sleep(run.read_pause)

    async def submits() -> list[Order | BaseException]:
        request = OrderRequest(symbol=SYMBOL, side="buy", quantity=QUANTITY)
        try:
            return list(await asyncio.gather(*(engine.submit(request) for _ in range(run.orders)),
                                             return_exceptions=True))
        finally:
            done.set()

    run.phase = "burst"
    started = time.monotonic()
    readers = [asyncio.ensure_future(reader()) for _ in range(READERS)]
    try:
        run.submits = await submits()
        run.burst_s = time.monotonic() - started
        run.returned.update(r.state.value if isinstance(r, Order) else type(r).__name__
                            for r in run.submits)
        run.phase = "reads"
        await asyncio.gather(*readers)
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


async def _recover(run: Run, engine: Engine) -> None:
    """Recovery (the outcome policy's last word on orders a submit left SUBMITTED), until
    the journal holds no open order."""
    run.phase = "recovery"
    started = time.monotonic()
    while engine.journal.open_orders(engine.venue.name) and \
            run.recovery_rounds < RECOVERY_ROUNDS:
        run.recovery_rounds += 1
        await engine.recover()
    run.recovery_s = time.monotonic() - started


async def _case(run: Run, path: Path) -> None:
    logger = logging.getLogger("venuekit.ratelimit")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addFilter(run.waits)
    try:
        with SQLiteJournal(path) as journal:
            engine = Engine(run.venue, journal, host=PluginHost(load_entry_points=False))
            run.venue.limiter = engine.limiter
            await engine.start()
            try:
                await engine.instruments([SYMBOL])  # the rules, read once before the burst
                await _burst(run, engine)
                await _recover(run, engine)
            finally:
                run.limiter = engine.limiter.stats()
                await engine.close()
    finally:
        logger.removeFilter(run.waits)
        logger.setLevel(level)


def _emit(config: pytest.Config, totals: dict[str, Any]) -> None:
    """One JSON line on the terminal (and in ``--faults-report`` where that option exists),
    as the reliability suite prints its parts (``tests/faults/report.py``)."""
    line = json.dumps(totals, default=str)
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n" + line, flush=True)
    else:
        print(line, flush=True)
    path = config.getoption("--faults-report", default=None)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def _run(size: Size, factor: int, seed: int, path: Path) -> Run:
    """One case against a fresh emulator process, bounded by the size's deadline."""
    process = start_emulate("binance", "--port", "0", "--json", "-o", f"seed={seed}",
                            "-o", f"weight_window={size.weight_window:g}",
                            "-o", f"weight_limit={WEIGHT_LIMIT}",
                            "-o", f"orders_per_10s={ORDERS_LIMIT}",
                            "-o", f"orders_per_day={ORDERS_DAILY}")

    async def body(emulator: Emulator) -> Run:
        settings = emulator.settings
        run = Run(CountingBinance(base_url=emulator.base_url,
                                  api_key=settings["BINANCE_API_KEY"],
                                  secret=settings["BINANCE_API_SECRET"], timeout=10,
                                  stream_timeout=10, **_pools(factor, size)),
                  LimiterWaits(), size.orders, size.weight_window * READ_PAUSE)
        try:
            await asyncio.wait_for(_case(run, path), size.deadline)
        except TimeoutError:
            run.failure = f"deadline of {size.deadline:g} s passed during {run.phase}"
        except Exception as exc:
            run.failure = f"{run.phase}: {type(exc).__name__}: {exc}"
        async with aiohttp.ClientSession() as session:
            run.ledger = await asyncio.wait_for(emulator.ledger(session), LEDGER_TIMEOUT)
        return run

    try:
        info = json.loads(first_line(process, START_TIMEOUT))
        run = asyncio.run(body(Emulator(info["client_settings"])))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=STOP_TIMEOUT) == 0
        return run
    finally:
        reap(process)


# ---------------------------------------------------------------------------------------
# the tests


@pytest.mark.parametrize("size", [SIZE], ids=[f"{SIZE.name}-{SIZE.orders}"])
@pytest.mark.parametrize("pools", ["correct", "wrong"])
def test_order_burst_against_binance_limits(pools: str, size: Size, tmp_path: Path,
                                            request: pytest.FixtureRequest) -> None:
    factor = 1 if pools == "correct" else WRONG
    path = tmp_path / "journal.sqlite3"
    started = time.monotonic()
    run = _run(size, factor, 11 if pools == "correct" else 12, path)
    seconds = time.monotonic() - started

    ledger, venue = run.ledger, run.venue
    with SQLiteJournal(path, readonly=True) as book:
        counts = tally(book, WireTruth.of_binance(ledger["orders"], ledger["fills"]),
                       client_order_ids=True, venue=venue.name)
        orders = book.orders(venue=venue.name)
    states = Counter(order.state for order in orders)
    at_venue = Counter(str(row["clientOrderId"]) for row in ledger["orders"])
    returned = run.returned
    stats = run.limiter

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    totals = {
        "suite": "burst", "case": pools, "size": size.name, "orders": size.orders,
        "weight_window_s": size.weight_window, "orders_window_s": size.orders_window,
        "declared": _pools(factor, size), "arrival_slack_s": ARRIVAL_SLACK,
        "failure": run.failure, "seconds": round(seconds, 1),
        "burst_seconds": rounded(run.burst_s), "recovery_seconds": rounded(run.recovery_s),
        "responses_429": ledger["responses_429"], "responses_418": ledger["responses_418"],
        "refused_-1015": venue.count(code=-1015), "refused_-1003": venue.count(code=-1003),
        "refused_418": venue.count(status=418),
        "refusals": {f"{op}:{status}:{code}": n
                     for (op, status, code), n in sorted(venue.refusals.items(), key=str)},
        "limiter_waits_by_pool": run.waits.by_pool(),
        "penalties": stats.penalties if stats else None,
        "reads": run.reads, "read_errors": dict(run.read_errors),
        "requests": dict(venue.requests), "fills_since_calls": venue.fills_since_calls,
        "max_used_weight_seen": venue.max_used_weight,
        "max_order_count_seen": venue.max_orders_window,
        "max_uncharged_weight": venue.max_uncharged_weight,
        "returned": dict(returned), "recovery_rounds": run.recovery_rounds,
        "final_states": {s.value: n for s, n in states.items()},
        "venue_orders": len(ledger["orders"]), "venue_fills": len(ledger["fills"]),
        **counts,
    }
    _emit(request.config, totals)

    assert run.failure is None, totals
    # Nothing lost, nothing duplicated: the journal is the venue's truth.
    assert counts["intended"] == size.orders, totals
    for key in ("duplicates", "lost_fills", "phantom_fills", "overfills", "underfills",
                "unresolved"):
        assert counts[key] == 0, (key, totals)
    assert not ledger["duplicate_client_order_ids"], totals
    assert all(isinstance(r, Order) for r in run.submits), totals  # no error raised
    assert ledger["responses_418"] == 0 and venue.count(status=418) == 0, totals

    if pools == "correct":
        # The limiter kept to the venue's limits: not one refusal, and both pools held
        # requests back (the orders during the burst, the weight at its end).
        assert ledger["responses_429"] == 0 and not venue.refusals, totals
        assert run.waits.count("orders", "submit") > 0, totals
        assert run.waits.count("weight") > 0, totals
        assert returned == {OrderState.FILLED.value: size.orders}, totals
        assert states == {OrderState.FILLED: size.orders}, totals
        assert len(ledger["orders"]) == size.orders, totals
        return

    # Wrong pools: the venue refused, on both limits, and the refusals were absorbed.
    assert ledger["responses_429"] > 0, totals
    assert venue.count(code=-1015) > 0 and venue.count(code=-1003) > 0, totals
    assert ledger["responses_429"] == venue.count(status=429), totals
    # The limiter took the venue's word for both pools (its windows plus the slack).
    assert stats is not None, totals
    enforced = {pool.name: (pool.capacity, pool.period) for pool in stats.pools}
    assert enforced["orders"] == (ORDERS_LIMIT, size.orders_window + ARRIVAL_SLACK), totals
    assert enforced["weight"] == (WEIGHT_LIMIT, size.weight_window + ARRIVAL_SLACK), totals
    # The outcome policy: a 429 is no evidence of a refusal (nothing is REJECTED for it);
    # each refused order was proven absent and sent again: all of them filled, once.
    assert returned == {OrderState.FILLED.value: size.orders}, totals
    assert states == {OrderState.FILLED: size.orders}, totals
    assert all(at_venue[order.id] == 1 for order in orders), totals
    assert len(ledger["orders"]) == size.orders, totals
