"""The JSON bodies the emulator sends, shaped as alpaca-py 0.44's models require.

Trading payloads (Order, TradeAccount, Position, Asset, TradeUpdate) carry amounts as
strings, as Alpaca does; the market-data quote carries numbers (written exactly, see
:mod:`.jsonio`). Times are ISO 8601 in UTC with microseconds and a ``Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from venuekit.model import OrderState, OrderType, Quote, Side, TimeInForce
from venuekit_mock.sim import OrderView, SimFill, SymbolSpec

from .ids import IdCodec
from .jsonio import number_text

__all__ = [
    "ORDER_STATUS",
    "accepted",
    "account",
    "asset",
    "clock",
    "order",
    "position",
    "quote",
    "time_in_force",
    "timestamp",
    "trade_update",
]

ZERO = Decimal(0)

ORDER_STATUS: dict[OrderState, str] = {
    OrderState.ACKNOWLEDGED: "new",
    OrderState.PARTIALLY_FILLED: "partially_filled",
    OrderState.FILLED: "filled",
    OrderState.CANCELLED: "canceled",
    OrderState.EXPIRED: "expired",
    OrderState.REPLACED: "replaced",
    OrderState.REJECTED: "rejected",
    OrderState.PENDING_CANCEL: "pending_cancel",
    OrderState.PENDING_REPLACE: "pending_replace",
}
"""Alpaca's order status for each simulator state."""

# The trade_updates event that reports an order reaching each state without a fill.
_EVENT = {OrderState.ACKNOWLEDGED: "new", OrderState.CANCELLED: "canceled",
          OrderState.EXPIRED: "expired", OrderState.REPLACED: "replaced",
          OrderState.REJECTED: "rejected"}

EXCHANGE = "NASDAQ"


_IMMEDIATE = frozenset({TimeInForce.IOC, TimeInForce.FOK})


_STOPS = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})

_AUCTION_TIF = {"open": "opg", "close": "cls"}


def time_in_force(view: OrderView) -> str:
    """Alpaca's time in force of an order: ``opg`` or ``cls`` for an auction order."""
    if view.auction is not None:
        return _AUCTION_TIF[view.auction]
    return view.time_in_force.value


def alpaca_status(view: OrderView) -> str:
    """Alpaca's status of an order: an IOC or FOK order's unfilled rest ends ``canceled``,
    and so does what an auction left of an ``opg`` or ``cls`` order (``expired`` is a day
    order the session's end took); an ``opg`` order waiting for the next open is
    ``accepted`` (queued, not yet routed: see :mod:`.auctions`); a leg waiting for its
    entry, or a stop-loss leg waiting for its trigger, is ``held``."""
    if view.state is OrderState.EXPIRED and (view.time_in_force in _IMMEDIATE
                                             or view.auction is not None):
        return "canceled"
    if view.state is OrderState.ACKNOWLEDGED and view.auction == "open":
        return "accepted"
    if view.state is OrderState.ACKNOWLEDGED and (view.held or (
            view.parent is not None and view.order_type in _STOPS
            and view.triggered_at is None)):
        return "held"
    return ORDER_STATUS[view.state]


def timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else number_text(value)


def order(view: OrderView, ids: IdCodec, *, status: str | None = None,
          notional: Decimal | None = None,
          average_price: Decimal | None = None, order_class: str = "simple",
          legs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An Alpaca Order for a simulator order view.

    ``status`` overrides the status the view's state maps to (a create answers
    ``accepted``); ``notional`` is set for orders placed by notional amount;
    ``average_price`` overrides the view's (a stream event reports the average then);
    ``order_class`` and ``legs`` (the child orders' bodies) are a contingent order's.
    """
    state = view.state
    updated = timestamp(view.updated_at)
    average = average_price if average_price is not None else view.average_price
    return {
        "id": ids.order_uuid(view.venue_order_id),
        "client_order_id": view.client_order_id or "",
        "created_at": timestamp(view.created_at),
        "updated_at": updated,
        "submitted_at": timestamp(view.created_at),
        "filled_at": updated if state is OrderState.FILLED else None,
        "expired_at": updated if alpaca_status(view) == "expired" else None,
        "canceled_at": updated if alpaca_status(view) == "canceled" else None,
        "failed_at": None,
        "replaced_at": updated if state is OrderState.REPLACED else None,
        "replaced_by": ids.order_uuid(view.replaced_by) if view.replaced_by else None,
        "replaces": ids.order_uuid(view.replaces) if view.replaces else None,
        "asset_id": ids.asset_uuid(view.symbol),
        "symbol": view.symbol,
        "asset_class": "us_equity",
        "notional": _text(notional),
        "qty": None if notional is not None else _text(view.quantity),
        "filled_qty": number_text(view.filled_quantity),
        "filled_avg_price": _text(average),
        "order_class": order_class,
        "order_type": view.order_type.value,
        "type": view.order_type.value,
        "side": view.side.value,
        "position_intent": "buy_to_open" if view.side is Side.BUY else "sell_to_close",
        "time_in_force": time_in_force(view),
        "limit_price": _text(view.limit_price),
        "stop_price": _text(view.stop_price),
        "status": status or alpaca_status(view),
        "extended_hours": False,
        "legs": legs,
        "trail_percent": _text(view.trail_percent),
        "trail_price": _text(view.trail_amount),
        "hwm": _text(view.mark),
        "commission": number_text(view.fees),
    }


def as_accepted(view: OrderView) -> OrderView:
    """``view`` as the venue accepted it, before any fill."""
    return view._replace(state=OrderState.ACKNOWLEDGED, filled_quantity=ZERO,
                         filled_notional=ZERO, fees=ZERO, updated_at=view.created_at,
                         reason=None, replaced_by=None)


def accepted(view: OrderView, ids: IdCodec, *, notional: Decimal | None = None
             ) -> dict[str, Any]:
    """The order as the venue accepted it, before any fill: what a create answers."""
    return order(as_accepted(view), ids, status="accepted", notional=notional)


def trade_update(view: OrderView, ids: IdCodec, at: datetime, fill: SimFill | None = None,
                 position_qty: Decimal | None = None, notional: Decimal | None = None,
                 average_price: Decimal | None = None,
                 order_class: str = "simple") -> dict[str, Any] | None:
    """One ``trade_updates`` message (the whole frame), or None for a state Alpaca does not
    announce. A fill's ``price`` and ``qty`` are the execution's, not the order's average."""
    body = order(view, ids, notional=notional, average_price=average_price,
                 order_class=order_class)
    if fill is not None:
        data: dict[str, Any] = {
            "event": "fill" if view.state is OrderState.FILLED else "partial_fill",
            "execution_id": ids.execution_uuid(fill.trade_id),
            "order": body,
            "timestamp": timestamp(fill.at),
            "price": number_text(fill.price),
            "qty": number_text(fill.quantity),
            "position_qty": _text(position_qty),
        }
    else:
        event = _EVENT.get(view.state)
        if event in ("expired", "new") and alpaca_status(view) in ("canceled", "accepted"):
            event = alpaca_status(view)  # an opg order is accepted until the next open
        if event is None:
            return None
        data = {"event": event, "order": body, "timestamp": timestamp(at)}
    return {"stream": "trade_updates", "data": data}


def account(ids: IdCodec, *, cash: Decimal, buying_power: Decimal, long_value: Decimal,
            short_value: Decimal, currency: str, created_at: datetime,
            shorting: bool) -> dict[str, Any]:
    """An Alpaca TradeAccount: a cash account (multiplier 1), never blocked."""
    equity = cash + long_value + short_value
    money = number_text
    return {
        "id": ids.account_id,
        "account_number": ids.account_number,
        "status": "ACTIVE",
        "crypto_status": "INACTIVE",
        "currency": currency,
        "buying_power": money(buying_power),
        "regt_buying_power": money(buying_power),
        "non_marginable_buying_power": money(buying_power),
        "options_buying_power": money(buying_power),
        "cash": money(cash),
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "portfolio_value": money(equity),
        "equity": money(equity),
        "last_equity": money(equity),
        "long_market_value": money(long_value),
        "short_market_value": money(short_value),
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "multiplier": "1",
        "shorting_enabled": shorting,
        "pattern_day_trader": False,
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "trade_suspended_by_user": False,
        "created_at": timestamp(created_at),
        "options_approved_level": 0,
        "options_trading_level": 0,
    }


def position(ids: IdCodec, symbol: str, quantity: Decimal, average_price: Decimal,
             price: Decimal, available: Decimal) -> dict[str, Any]:
    """An Alpaca Position valued at ``price`` (the mid of the current quote), with the same
    figures in ``usd`` (the account's currency is the dollar)."""
    money = number_text
    cost = quantity * average_price
    value = quantity * price
    pnl = value - cost
    plpc = (pnl / abs(cost)).quantize(Decimal("0.0000001")) if cost else ZERO
    values = {
        "avg_entry_price": money(average_price),
        "market_value": money(value),
        "cost_basis": money(cost),
        "unrealized_pl": money(pnl),
        "unrealized_plpc": money(plpc),
        "unrealized_intraday_pl": money(pnl),
        "unrealized_intraday_plpc": money(plpc),
        "current_price": money(price),
        "lastday_price": money(price),
        "change_today": "0",
    }
    return {
        "asset_id": ids.asset_uuid(symbol),
        "symbol": symbol,
        "exchange": EXCHANGE,
        "asset_class": "us_equity",
        "asset_marginable": True,
        "qty": money(quantity),
        "qty_available": money(available),
        "side": "long" if quantity > 0 else "short",
        **values,
        "usd": values,
    }


def asset(ids: IdCodec, spec: SymbolSpec, *, shortable: bool) -> dict[str, Any]:
    """An Alpaca Asset with the instrument rules the simulator enforces."""
    return {
        "id": ids.asset_uuid(spec.symbol),
        "class": "us_equity",
        "exchange": EXCHANGE,
        "symbol": spec.symbol,
        "name": f"{spec.symbol} (emulated)",
        "status": "active",
        "tradable": spec.tradable,
        "marginable": True,
        "shortable": shortable,
        "easy_to_borrow": shortable,
        "fractionable": spec.fractional,
        "min_order_size": number_text(spec.min_quantity or spec.lot_size),
        "min_trade_increment": number_text(spec.lot_size),
        "price_increment": number_text(spec.tick_size),
        "attributes": [],
    }


def clock(now: datetime) -> dict[str, Any]:
    """The market clock: the emulated market is always open; the next regular session
    times are given for clients that display them."""
    now = now.astimezone(UTC)
    close = now.replace(hour=20, minute=0, second=0, microsecond=0)
    if close <= now:
        close += timedelta(days=1)
    next_open = (now + timedelta(days=1)).replace(hour=13, minute=30, second=0, microsecond=0)
    return {"timestamp": timestamp(now), "is_open": True,
            "next_open": timestamp(next_open), "next_close": timestamp(close)}


def quote(value: Quote) -> dict[str, Any]:
    """A market-data latest quote (numbers, not strings, as the data API sends them)."""
    return {"t": timestamp(value.at), "ax": "V", "ap": value.ask, "as": value.ask_size,
            "bx": "V", "bp": value.bid, "bs": value.bid_size, "c": ["R"], "z": "C"}
