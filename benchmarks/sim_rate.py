"""The raw rate of the mock venue's matching engine: simulated orders per second.

No journal, no SDK, no asyncio: orders go straight into ``venuekit_mock.sim.Simulator``.
The order flow is what execution code sends: 40 % market orders, 30 % marketable limit
orders, 30 % passive limit orders that rest (half of them cancelled 40 orders later, the
rest filled when the market crosses them), on six symbols, both sides, every order with a
client order id, the market advancing one step every 50 orders. Every order is validated,
reserved, matched, ledgered and reported as events; the steps and cancels are inside the
timing.

Two configurations run: ``default`` (the venue's defaults: no slippage or commission model)
and ``costed`` (2 bps percentage slippage and a per-share commission with a minimum and a
cap). Each runs ``--rounds`` times (default 5) on a fresh simulator with the same seed; a
configuration's rate is its best round (the one least disturbed by other work on the
machine), and every round is listed.

Prints one JSON line; ``orders_per_second`` is the default configuration's rate.
``--orders N`` sets the orders per round (default 100,000); ``--check`` exits with status 1
when that rate is below 50,000 orders per second.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import deque
from decimal import Decimal

from venuekit.model import OrderType, Side, TimeInForce
from venuekit_mock.sim import (
    CommissionModel,
    NoCommission,
    NoSlippage,
    PercentageSlippage,
    PerShareCommission,
    SimConfig,
    Simulator,
    SlippageModel,
)

TARGET = 50_000
STEP_EVERY = 50
CANCEL_AFTER = 40

CONFIGURATIONS: dict[str, tuple[SlippageModel, CommissionModel]] = {
    "default": (NoSlippage(), NoCommission()),
    "costed": (PercentageSlippage(Decimal(2)),
               PerShareCommission(Decimal("0.005"), Decimal(1), Decimal(100))),
}


def run(orders: int, seed: int, configuration: str = "default") -> dict[str, object]:
    """One round: ``orders`` orders through a fresh simulator; returns its figures."""
    slippage, commission = CONFIGURATIONS[configuration]
    sim = Simulator(SimConfig(seed=seed, cash=Decimal(10) ** 12, short_selling=True,
                              slippage=slippage, commission=commission))
    symbols = [spec.symbol for spec in sim.symbols]
    books = sim.market.books
    quantity = Decimal(5)
    two_ticks = Decimal("0.02")
    # The order flow, decided up front: client order id, symbol, side and kind of each
    # (plain values only, so these rows cost the garbage collector nothing while timed).
    flow = [(f"bench-{i}", symbols[i % len(symbols)], (i // len(symbols)) % 2 == 0, i % 10)
            for i in range(orders)]
    passive: deque[tuple[int, str]] = deque()
    events = cancels = 0
    started = time.perf_counter()
    for i, (client_id, symbol, buy, kind) in enumerate(flow):
        side = Side.BUY if buy else Side.SELL
        if kind < 4:
            _, produced = sim.submit(symbol, side, quantity, client_order_id=client_id)
        else:
            book = books[symbol]
            if kind < 7:  # marketable: through the touch by two ticks
                price = book.ask + two_ticks if side is Side.BUY else book.bid - two_ticks
            else:  # passive: one tick behind the touch
                tick = book.spec.tick_size
                price = book.bid - tick if side is Side.BUY else book.ask + tick
            order, produced = sim.submit(symbol, side, quantity, OrderType.LIMIT, price,
                                         TimeInForce.DAY, client_order_id=client_id)
            if kind >= 7 and kind % 2:
                passive.append((i, order.venue_order_id))
        events += len(produced)
        while passive and passive[0][0] <= i - CANCEL_AFTER:
            _, produced = sim.cancel(passive.popleft()[1])
            cancels += len(produced)
            events += len(produced)
        if i % STEP_EVERY == STEP_EVERY - 1:
            events += len(sim.advance())
    elapsed = time.perf_counter() - started
    stats = sim.statistics()
    return {"orders_per_second": round(orders / elapsed), "seconds": round(elapsed, 3),
            "fills": stats.fills, "cancels": cancels, "events": events,
            "steps": sim.step_index}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when the rate is below {TARGET:,} orders per second")
    args = parser.parse_args(argv)
    report: dict[str, object] = {"benchmark": "sim_rate", "orders": args.orders,
                                 "target": TARGET}
    for configuration in CONFIGURATIONS:
        rounds = [run(args.orders, args.seed, configuration)
                  for _ in range(max(args.rounds, 1))]
        rates = [int(str(r["orders_per_second"])) for r in rounds]
        best = rounds[rates.index(max(rates))]
        if configuration == "default":
            report.update(best)
        else:
            report[f"orders_per_second_{configuration}"] = max(rates)
        report[f"rounds_{configuration}"] = rates
    report["python"] = platform.python_version()
    sys.stdout.write(json.dumps(report) + "\n")
    if args.check and int(str(report["orders_per_second"])) < TARGET:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
