"""The raw rate of the mock venue's matching engine: simulated orders per second.

No journal, no SDK, no asyncio: orders go straight into ``venuekit_mock.sim.Simulator``.
The mix is what execution code sends: 40 % market orders, 30 % marketable limit orders, 30 %
passive limit orders that rest (half of them are cancelled later, the rest fill when the
market crosses them), every order with a client order id, percentage slippage and a
per-share commission, and the market advancing one step every 50 orders. Every order is
validated, reserved, matched, ledgered and streamed as events.

Prints one JSON line. ``--orders N`` sets the count per round (default 100,000) and
``--rounds R`` the number of rounds (default 3), each on a fresh simulator with the same
seed; the rate reported is the best round's (the one least disturbed by other work on the
machine), and every round's rate is listed. ``--check`` exits with status 1 below 50,000
orders per second.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from decimal import Decimal

from venuekit.model import OrderType, Side, TimeInForce
from venuekit_mock.sim import (
    PercentageSlippage,
    PerShareCommission,
    SimConfig,
    Simulator,
)

TARGET = 50_000
STEP_EVERY = 50
CANCEL_AFTER = 40


def run(orders: int, seed: int) -> dict[str, object]:
    sim = Simulator(SimConfig(
        seed=seed, cash=Decimal(10) ** 12, short_selling=True,
        slippage=PercentageSlippage(Decimal(2)),
        commission=PerShareCommission(Decimal("0.005"), Decimal(1), Decimal(100))))
    symbols = [spec.symbol for spec in sim.symbols]
    books = sim.market.books
    quantity = Decimal(5)
    two_ticks = Decimal("0.02")
    passive: list[tuple[int, str]] = []
    events = cancels = 0
    started = time.perf_counter()
    for i in range(orders):
        symbol = symbols[i % len(symbols)]
        side = Side.BUY if (i // len(symbols)) % 2 == 0 else Side.SELL
        cid = f"bench-{i}"
        kind = i % 10
        if kind < 4:
            _, produced = sim.submit(symbol, side, quantity, client_order_id=cid)
        else:
            book = books[symbol]
            if kind < 7:  # marketable: through the touch by two ticks
                price = book.ask + two_ticks if side is Side.BUY else book.bid - two_ticks
            else:  # passive: one tick behind the touch
                price = book.bid - book.spec.tick_size if side is Side.BUY \
                    else book.ask + book.spec.tick_size
            order, produced = sim.submit(symbol, side, quantity, OrderType.LIMIT, price,
                                         TimeInForce.DAY, client_order_id=cid)
            if kind >= 7 and kind % 2:
                passive.append((i, order.venue_order_id))
        events += len(produced)
        while passive and passive[0][0] <= i - CANCEL_AFTER:
            _, venue_order_id = passive.pop(0)
            _, produced = sim.cancel(venue_order_id)
            cancels += len(produced)
            events += len(produced)
        if i % STEP_EVERY == STEP_EVERY - 1:
            events += len(sim.advance())
    elapsed = time.perf_counter() - started
    stats = sim.statistics()
    return {
        "benchmark": "sim_rate",
        "orders": orders,
        "seconds": round(elapsed, 3),
        "orders_per_second": round(orders / elapsed),
        "target": TARGET,
        "fills": stats.fills,
        "cancels": cancels,
        "events": events,
        "steps": sim.step_index,
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when the rate is below {TARGET:,} orders per second")
    args = parser.parse_args(argv)
    rounds = [run(args.orders, args.seed) for _ in range(max(args.rounds, 1))]
    best = max(rounds, key=lambda r: int(str(r["orders_per_second"])))
    result = {**best, "rounds": [r["orders_per_second"] for r in rounds]}
    sys.stdout.write(json.dumps(result) + "\n")
    if args.check and int(str(result["orders_per_second"])) < TARGET:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
