"""Same seed, same orders: the same fills and events, byte for byte."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal

from tests.support.helpers import D, run
from venuekit.errors import VenueKitError
from venuekit.model import OrderRequest, OrderType, Side, TimeInForce
from venuekit.venue import OrderRef
from venuekit_mock import (
    FaultPlan,
    MockVenue,
    PerShareCommission,
    VolumeImpactSlippage,
)
from venuekit_mock.sim import SimConfig, Simulator

EPOCH = datetime.fromisoformat("2000-01-01T00:00:00+00:00")


def session(seed: int) -> bytes:
    """A trading session on the mock venue, as JSON lines: every streamed update, then every
    fill the venue reports over REST."""

    async def scenario() -> bytes:
        venue = MockVenue(
            seed=seed, clock="sim", short_selling=True,
            slippage=VolumeImpactSlippage(D(15), D(5)),
            commission=PerShareCommission(D("0.005"), D(1), D(100)),
            faults=FaultPlan(probabilities={"duplicate_event": D("0.2"),
                                            "out_of_order": D("0.2")}, seed=seed))
        async with venue:
            stream = venue.order_updates()
            symbols = [i.symbol for i in await venue.instruments()]
            for n in range(60):
                symbol = symbols[n % len(symbols)]
                side = Side.BUY if n % 3 else Side.SELL
                quote = await venue.quote(symbol)
                if n % 4 == 0:
                    request = OrderRequest(symbol=symbol, side=side, quantity="40")
                else:
                    price = quote.bid if side is Side.BUY else quote.ask
                    request = OrderRequest(
                        symbol=symbol, side=side, quantity="25", order_type=OrderType.LIMIT,
                        limit_price=price,
                        time_in_force=TimeInForce.IOC if n % 7 == 0 else TimeInForce.GTC)
                try:
                    order = await venue.submit(request, f"det-{n}")
                except VenueKitError as exc:
                    lines.append(json.dumps({"reject": exc.code.name, "n": n}))
                    continue
                if n % 5 == 0 and order.state.is_open:
                    await venue.cancel(OrderRef(venue_order_id=order.venue_order_id))
                elif n % 6 == 0 and order.state.is_open and order.limit_price is not None:
                    await venue.replace(OrderRef(venue_order_id=order.venue_order_id),
                                        limit_price=order.limit_price, client_order_id=None)
                venue.control.advance(3)
            await asyncio.sleep(0)
            while True:
                try:
                    update = await asyncio.wait_for(stream.__anext__(), 0.01)
                except TimeoutError:
                    break
                lines.append(update.model_dump_json())
            lines.extend(fill.model_dump_json() for fill in await venue.fills_since(EPOCH))
            account = await venue.account()
            lines.append(account.model_dump_json())
        return ("\n".join(lines) + "\n").encode()

    lines: list[str] = []
    return run(scenario())


def test_same_seed_same_session_byte_for_byte() -> None:
    first, second = session(11), session(11)
    assert first == second
    assert first.count(b'"trade_id"') > 30  # the session really traded
    assert session(12) != first


def encode(value: object) -> object:
    if isinstance(value, Decimal | datetime):
        return str(value)
    raise TypeError(type(value))


def test_the_bare_simulator_is_deterministic_too() -> None:
    def trace(seed: int) -> str:
        sim = Simulator(SimConfig(seed=seed, short_selling=True))
        events = []
        for n in range(200):
            symbol = sim.symbols[n % len(sim.symbols)].symbol
            book = sim.book(symbol)
            side = Side.SELL if n % 2 else Side.BUY
            _, produced = sim.submit(symbol, side, D(3), OrderType.LIMIT,
                                     book.bid if side is Side.BUY else book.ask,
                                     TimeInForce.GTC, f"s-{n}")
            events += produced + sim.advance()
        rows = [{"seq": e.seq, "order": e.order._asdict(),
                 "fill": e.fill._asdict() if e.fill else None} for e in events]
        return json.dumps(rows, default=encode, sort_keys=True)

    assert trace(5) == trace(5)
    assert trace(5) != trace(6)
