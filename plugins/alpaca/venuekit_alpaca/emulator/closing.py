"""Closing positions: ``DELETE /v2/positions/{symbol_or_asset_id}`` and ``DELETE
/v2/positions``.

Closing places a market day order on the other side of the position (a sell for a long, a
buy for a short) and answers that order as accepted, as a create does; its fill follows on
the stream and in reads. One position closes whole, or in part with ``qty`` (shares) or
``percentage`` (of the position, rounded down to the symbol's lot). Shares held for open
sell orders cannot be closed: 403 ``insufficient qty available for order``. No position:
404 ``{"code": 40410000, "message": "position not found: SYM"}``.

Closing all answers 207 with one ``{"symbol", "status", "body"}`` per position (``body`` the
order, or the refusal); ``cancel_orders=true`` cancels every open order first.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from venuekit.errors import Code, VenueKitError
from venuekit.model import OrderRequest, OrderType, Side, TimeInForce
from venuekit.venue import OrderRef

from . import errors, payloads
from .jsonio import number_text
from .rest import json_response
from .state import EmulatorState

__all__ = ["PositionClosing"]

ZERO = Decimal(0)
_HUNDRED = Decimal(100)


def _amount(text: str, key: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise errors.invalid(f"invalid {key} {text!r}: a positive number")
    return value


class PositionClosing:
    """The position-closing handlers of one emulator."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.venue = state.venue
        self.ids = state.ids
        self._closes = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.delete("/v2/positions", self.close_all),
                web.delete("/v2/positions/{symbol_or_asset_id}", self.close)]

    def _symbol(self, key: str) -> str | None:
        for symbol in self.venue.simulator.market.books:
            if key in (symbol, self.ids.asset_uuid(symbol)):
                return symbol
        return None

    def _client_id(self) -> str:
        self._closes += 1
        return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{self.state.seed}/close/{self._closes}"))

    async def close(self, request: web.Request) -> web.Response:
        key = request.match_info["symbol_or_asset_id"]
        query = request.query
        if "qty" in query and "percentage" in query:
            raise errors.invalid("only one of qty or percentage may be given")
        await self.venue.account()  # the venue's latency and faults apply
        symbol = self._symbol(key)
        held = self.venue.simulator.account.position(symbol) if symbol is not None else ZERO
        if symbol is None or not held:
            raise errors.not_found(f"position not found: {key}")
        quantity = abs(held)
        if "qty" in query:
            quantity = _amount(query["qty"], "qty")
            if quantity > abs(held):
                raise self._short_of(symbol, quantity, held)
        elif "percentage" in query:
            share = _amount(query["percentage"], "percentage")
            if share > _HUNDRED:
                raise errors.invalid("percentage must be at most 100")
            spec = self.venue.simulator.market.books[symbol].spec
            quantity = spec.floor_quantity(abs(held) * share / _HUNDRED)
            if quantity <= 0:
                raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                            f"{share}% of the position is less than one lot")
        return json_response(await self._close(symbol, quantity, held))

    async def _close(self, symbol: str, quantity: Decimal, held: Decimal) -> dict[str, Any]:
        side = Side.SELL if held > 0 else Side.BUY
        order = OrderRequest(symbol=symbol, side=side, quantity=quantity,
                             order_type=OrderType.MARKET, time_in_force=TimeInForce.DAY)
        try:
            snapshot = await self.venue.submit(order, self._client_id())
        except VenueKitError as exc:
            if exc.code is Code.INSUFFICIENT_POSITION:
                raise self._short_of(symbol, quantity, held) from None
            raise
        return payloads.accepted(self.venue.simulator.order(snapshot.venue_order_id),
                                 self.ids)

    def _short_of(self, symbol: str, quantity: Decimal, held: Decimal) -> errors.AlpacaError:
        """The 403 for a close beyond what is free to close (shares held for open orders
        are not)."""
        available = max(self.venue.simulator.account.sellable(symbol), ZERO) if held > 0 \
            else abs(held)
        return errors.AlpacaError.of(
            403, errors.FORBIDDEN, f"insufficient qty available for order (requested: "
            f"{number_text(quantity)}, available: {number_text(available)})",
            symbol=symbol, available=number_text(available),
            existing_qty=number_text(abs(held)),
            held_for_orders=number_text(abs(held) - available))

    async def close_all(self, request: web.Request) -> web.Response:
        if request.query.get("cancel_orders", "").lower() in ("true", "1"):
            for snapshot in await self.venue.open_orders():
                await self.venue.cancel(OrderRef(venue_order_id=snapshot.venue_order_id))
        account = await self.venue.account()
        results = []
        for position in sorted(account.positions, key=lambda p: p.symbol):
            if not position.quantity:
                continue
            entry: dict[str, Any] = {"symbol": position.symbol}
            try:
                body = await self._close(position.symbol, abs(position.quantity),
                                         position.quantity)
            except errors.AlpacaError as exc:
                entry.update(status=exc.status, body=exc.body)
            except VenueKitError as exc:
                if exc.code is Code.TIMEOUT:  # the wire answers nothing at all
                    raise
                refusal = errors.for_error(exc)
                entry.update(status=refusal.status, body=refusal.body)
            else:
                entry.update(status=200, body=body)
            results.append(entry)
        return json_response(results, status=207)
