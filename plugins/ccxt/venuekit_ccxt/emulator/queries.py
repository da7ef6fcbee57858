"""The account's reads: ``GET /api/v3/order``, ``openOrders``, ``allOrders``, ``myTrades``,
``account`` and ``rateLimit/order``, through the mock venue.

Each read goes through the mock venue's pipeline (its latency, eventual consistency and
injected faults apply): an order the venue does not show yet reads as ``-2013 Order does
not exist.``. Lists follow Binance's rules: chronological; without ``startTime`` (or
``orderId`` / ``fromId``) the most recent ``limit`` items, with it the oldest from there;
``limit`` 500 by default and 1000 at most; ``startTime`` and ``endTime`` at most 24 hours
apart (``-1127``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from venuekit.errors import Code, VenueKitError
from venuekit.venue import OrderRef

from . import errors, payloads
from .jsonio import millis
from .orders import OrderDesk
from .params import Params
from .records import ExpiredOrder
from .state import EmulatorState
from .views import BinanceFill, BinanceOrder, BinanceView

__all__ = ["AccountReads"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MS = 86_400_000


class AccountReads:
    """The signed read endpoints."""

    def __init__(self, state: EmulatorState, view: BinanceView, desk: OrderDesk) -> None:
        self.state = state
        self.view = view
        self.desk = desk

    def _symbol(self, params: Params, *, required: bool = True) -> str | None:
        symbol = params.required("symbol") if required else params.text("symbol")
        if symbol is not None and symbol not in self.state.venue.simulator.market.books:
            raise errors.invalid_symbol()
        return symbol

    @staticmethod
    def _window(params: Params, default: int = 500) -> tuple[int | None, int | None, int]:
        start, end = params.integer("startTime"), params.integer("endTime")
        if start is not None and end is not None and end - start > _DAY_MS:
            raise errors.BinanceError(400, -1127, "More than 24 hours between startTime "
                                      "and endTime.")
        limit = params.integer("limit")
        if limit is None:
            limit = default
        if not 1 <= limit <= 1000:
            raise errors.malformed("limit")
        return start, end, limit

    async def order(self, params: Params) -> dict[str, Any]:
        """``GET /api/v3/order``."""
        symbol = self._symbol(params)
        assert symbol is not None
        target = self.desk.find(symbol, params.integer("orderId"),
                                params.text("origClientOrderId"), errors.no_such_order)
        if isinstance(target, ExpiredOrder):
            return payloads.order(BinanceView.expired(target))
        try:
            snapshot = await self.state.venue.fetch_order(OrderRef(venue_order_id=target))
        except VenueKitError as exc:
            if exc.code is Code.ORDER_NOT_FOUND:
                raise errors.no_such_order() from None
            raise
        meta = self.view.meta(snapshot.client_order_id, snapshot.venue_order_id)
        return payloads.order(self.view.order(snapshot, meta))

    async def open_orders(self, params: Params) -> list[dict[str, Any]]:
        """``GET /api/v3/openOrders`` (every symbol when none is given)."""
        symbol = self._symbol(params, required=False)
        snapshots = await self.state.venue.open_orders(symbol)
        return [payloads.order(self.view.order(s, self.view.meta(s.client_order_id,
                                                                 s.venue_order_id)))
                for s in snapshots]

    async def all_orders(self, params: Params) -> list[dict[str, Any]]:
        """``GET /api/v3/allOrders``."""
        symbol = self._symbol(params)
        from_id = params.integer("orderId")
        start, end, limit = self._window(params)
        snapshots = await self.state.venue.recent_orders(_EPOCH)
        orders: list[BinanceOrder] = [
            self.view.order(s, self.view.meta(s.client_order_id, s.venue_order_id))
            for s in snapshots if s.symbol == symbol]
        orders += [BinanceView.expired(e) for e in self.state.account.records.expired
                   if e.symbol == symbol]
        orders.sort(key=lambda o: o.order_id)
        chosen = [o for o in orders
                  if (from_id is None or o.order_id >= from_id)
                  and (start is None or o.created_ms >= start)
                  and (end is None or o.created_ms <= end)]
        chosen = chosen[:limit] if from_id is not None or start is not None \
            else chosen[-limit:]
        return [payloads.order(o) for o in chosen]

    async def my_trades(self, params: Params) -> list[dict[str, Any]]:
        """``GET /api/v3/myTrades``."""
        symbol = self._symbol(params)
        order_id, from_id = params.integer("orderId"), params.integer("fromId")
        start, end, limit = self._window(params)
        if (from_id is not None and (start is not None or end is not None)) or \
                (order_id is not None and (start is not None or end is not None)):
            raise errors.BinanceError(400, -1128, "Combination of optional parameters "
                                      "invalid.")
        fills = await self.state.venue.fills_since(_EPOCH, symbol)
        rows: list[BinanceFill] = [self.view.fill(self.view.fill_index(f.trade_id))
                                   for f in fills]
        chosen = [f for f in rows
                  if (order_id is None or f.order_id == order_id)
                  and (from_id is None or f.trade_id >= from_id)
                  and (start is None or f.time_ms >= start)
                  and (end is None or f.time_ms <= end)]
        chosen = chosen[:limit] if from_id is not None or start is not None \
            else chosen[-limit:]
        return [payloads.trade_row(f) for f in chosen]

    async def account(self, params: Params) -> dict[str, Any]:
        """``GET /api/v3/account`` (``omitZeroBalances=true`` leaves out empty assets)."""
        await self.state.venue.account()
        balances = self.view.balances()
        if params.text("omitZeroBalances") == "true":
            balances = [b for b in balances if b[1] or b[2]]
        account = self.state.account
        return payloads.account(balances, account.rate * 10_000,
                                millis(self.state.venue.simulator.now()),
                                uid=100_000_000 + self.state.seed)

    async def unfilled_order_count(self, params: Params) -> list[dict[str, Any]]:
        """``GET /api/v3/rateLimit/order``."""
        rows = self.state.limiter.rate_limits(ip="")
        return [row for row in rows if row["rateLimitType"] == "ORDERS"]
