"""Standard tests that run the engine's strategies: the same run ends the same on every venue.

Each test shows a known quote, runs one small strategy through
:func:`venuekit.strategies.run_strategy`, and checks the states and quantities the run ends
with. The expected endings are what the reference venue (the mock) produces; the kit's
self-test runs these same tests on the mock, so a venue that passes them behaves, for a
strategy, exactly like the mock.
"""

from __future__ import annotations

from ..model import OrderState, OrderType, Side
from ..strategies import run_strategy
from .base import NATIVE, OFFERED, Gate, KitSession, VenueTestBase

__all__ = ["StrategyTests"]


def _ending(orders: list[tuple[OrderType, OrderState]], kit: KitSession,
            expected: list[tuple[OrderType, OrderState]]) -> None:
    assert orders == expected, (
        f"the strategy's orders ended as {[(t.value, s.value) for t, s in orders]}; on the "
        f"mock they end as {[(t.value, s.value) for t, s in expected]}")


class StrategyTests(VenueTestBase):
    """Market, limit and aggressive-limit runs end as they do on the mock."""

    def test_strategy_market(self) -> None:
        """A market run fills its whole quantity at the touch with one order.

        If this fails while the order tests pass: the venue's fills do not reach the
        engine (stream or ``fills_since``), or the final state is not confirmed over
        REST; compare ``result.orders[0].history`` with the venue's ledger.
        """
        async def body(kit: KitSession) -> None:
            async with kit.engine() as engine:
                result = await run_strategy(engine, kit.market(Side.BUY, 4), "market", timeout=5)
            _ending([(o.request.order_type, o.state) for o in result.orders], kit,
                    [(OrderType.MARKET, OrderState.FILLED)])
            assert result.state is OrderState.FILLED
            assert result.filled_quantity == kit.unit * 4
            assert result.average_price == kit.ask
        self.run(body, Gate("market_orders", OFFERED))

    def test_strategy_limit_fills(self) -> None:
        """A limit run at the ask fills in full with one order.

        If this fails: see ``test_full_fill``; the engine must learn the fill before the
        strategy's timeout.
        """
        async def body(kit: KitSession) -> None:
            request = kit.limit(Side.BUY, kit.ask, 3)
            async with kit.engine() as engine:
                result = await run_strategy(engine, request, "limit", timeout=5)
            _ending([(o.request.order_type, o.state) for o in result.orders], kit,
                    [(OrderType.LIMIT, OrderState.FILLED)])
            assert result.filled_quantity == kit.unit * 3
        self.run(body)

    def test_strategy_limit_times_out(self) -> None:
        """A passive limit run that never fills ends TIMEOUT once the venue confirms the cancel.

        If this fails: the cancel was not confirmed (``fetch_order`` must read CANCELLED
        after ``cancel``), or the order filled although no quote crossed it.
        """
        async def body(kit: KitSession) -> None:
            request = kit.limit(Side.BUY, kit.ticks_below_bid(3), 3)
            async with kit.engine() as engine:
                result = await run_strategy(engine, request, "limit", timeout=0.3)
            _ending([(o.request.order_type, o.state) for o in result.orders], kit,
                    [(OrderType.LIMIT, OrderState.TIMEOUT)])
            assert result.filled_quantity == 0
            assert await kit.ledger_fills() == []
        self.run(body)

    def test_strategy_aggressive_limit_falls_back_to_market(self) -> None:
        """An aggressive-limit run whose resting order never fills ends filled by market.

        If this fails: the cancel of the resting order must be confirmed before the
        market order for the rest is sent (the engine sizes it from confirmed fills);
        a venue that reports the cancel late causes an overfill or a missing remainder.
        """
        async def body(kit: KitSession) -> None:
            request = kit.limit(Side.BUY, kit.ticks_below_bid(2), 5)
            async with kit.engine() as engine:
                result = await run_strategy(engine, request, "aggressive-limit", budget=0.3,
                                              interval=0.1, policy="disabled",
                                              fallback_timeout=5)
            _ending([(o.request.order_type, o.state) for o in result.orders], kit,
                    [(OrderType.LIMIT, OrderState.CANCELLED),
                     (OrderType.MARKET, OrderState.FILLED)])
            assert result.state is OrderState.FILLED
            assert result.filled_quantity == kit.unit * 5
            assert [o.quantity for o in result.orders] == [kit.unit * 5, kit.unit * 5]
            truth = await kit.ledger_fills()
            assert sum(f.quantity for f in truth) == kit.unit * 5
        self.run(body, Gate("market_orders", NATIVE))
