"""The JSON bodies of orders, trades and balances, shaped as Binance sends them.

Built from :class:`~.views.BinanceOrder` and :class:`~.views.BinanceFill`, so the order
answers (``ACK``, ``RESULT``, ``FULL`` with ``fills[]``), the order queries, the cancels,
``myTrades``, ``/api/v3/account`` and the user-data events (``executionReport``,
``outboundAccountPosition``) say the same thing. Amounts are strings with eight decimals
(:func:`~.jsonio.amount`), times integers in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from .jsonio import amount
from .views import BinanceFill, BinanceOrder

__all__ = ["account", "account_position", "cancelled", "execution_report", "fill_row",
           "new_order", "order", "trade_row"]

ZERO = Decimal(0)
_ZERO_TEXT = amount(ZERO)


def _common(o: BinanceOrder) -> dict[str, Any]:
    return {"price": amount(o.price), "origQty": amount(o.quantity),
            "executedQty": amount(o.executed), "origQuoteOrderQty": amount(o.quote_order_qty),
            "cummulativeQuoteQty": amount(o.quote_executed), "status": o.status,
            "timeInForce": o.time_in_force, "type": o.type, "side": o.side}


def _expiry(body: dict[str, Any], o: BinanceOrder) -> dict[str, Any]:
    reason = o.expiry_reason
    if reason is not None:
        body["expiryReason"] = reason
    return body


def fill_row(f: BinanceFill) -> dict[str, Any]:
    """One entry of a FULL order answer's ``fills``."""
    return {"price": amount(f.price), "qty": amount(f.quantity),
            "commission": amount(f.commission), "commissionAsset": f.commission_asset,
            "tradeId": f.trade_id}


def new_order(o: BinanceOrder, fills: Sequence[BinanceFill], response_type: str,
              transact_ms: int) -> dict[str, Any]:
    """The answer to a new order: ``ACK``, ``RESULT`` or ``FULL``."""
    body: dict[str, Any] = {"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1,
                            "clientOrderId": o.client_order_id, "transactTime": transact_ms}
    if response_type == "ACK":
        return body
    body |= _common(o)
    body |= {"workingTime": o.created_ms, "selfTradePreventionMode": o.meta.stp_mode}
    if response_type == "FULL":
        body["fills"] = [fill_row(f) for f in fills]
    return _expiry(body, o)


def order(o: BinanceOrder) -> dict[str, Any]:
    """An order as ``GET /api/v3/order``, ``openOrders`` and ``allOrders`` show it."""
    body: dict[str, Any] = {"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1,
                            "clientOrderId": o.client_order_id}
    body |= _common(o)
    body |= {"stopPrice": _ZERO_TEXT, "icebergQty": _ZERO_TEXT, "time": o.created_ms,
             "updateTime": o.updated_ms, "isWorking": True, "workingTime": o.created_ms,
             "origQuoteOrderQty": amount(o.quote_order_qty),
             "selfTradePreventionMode": o.meta.stp_mode}
    return _expiry(body, o)


def cancelled(o: BinanceOrder, cancel_client_id: str, transact_ms: int) -> dict[str, Any]:
    """The answer to a cancel: the order, CANCELED, named by the cancel's client id."""
    body: dict[str, Any] = {"symbol": o.symbol, "origClientOrderId": o.client_order_id,
                            "orderId": o.order_id, "orderListId": -1,
                            "clientOrderId": cancel_client_id, "transactTime": transact_ms}
    body |= _common(o)
    body["selfTradePreventionMode"] = o.meta.stp_mode
    return body


def trade_row(f: BinanceFill) -> dict[str, Any]:
    """One row of ``GET /api/v3/myTrades``."""
    return {"symbol": f.symbol, "id": f.trade_id, "orderId": f.order_id, "orderListId": -1,
            "price": amount(f.price), "qty": amount(f.quantity),
            "quoteQty": amount(f.quantity * f.price), "commission": amount(f.commission),
            "commissionAsset": f.commission_asset, "time": f.time_ms,
            "isBuyer": f.side == "BUY", "isMaker": f.maker, "isBestMatch": True}


def account(balances: Sequence[tuple[str, Decimal, Decimal]], commission_bps: Decimal,
            update_ms: int, uid: int) -> dict[str, Any]:
    """``GET /api/v3/account``."""
    rate = amount(commission_bps / 10_000)
    bps = int(commission_bps) if commission_bps == commission_bps.to_integral_value() \
        else commission_bps
    return {"makerCommission": bps, "takerCommission": bps, "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": rate, "taker": rate, "buyer": _ZERO_TEXT,
                                "seller": _ZERO_TEXT},
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": update_ms, "accountType": "SPOT",
            "balances": [{"asset": asset, "free": amount(free), "locked": amount(locked)}
                         for asset, free, locked in balances],
            "permissions": ["SPOT"], "uid": uid}


def account_position(balances: Sequence[tuple[str, Decimal, Decimal]],
                     event_ms: int) -> dict[str, Any]:
    """The ``outboundAccountPosition`` event."""
    return {"e": "outboundAccountPosition", "E": event_ms, "u": event_ms,
            "B": [{"a": asset, "f": amount(free), "l": amount(locked)}
                  for asset, free, locked in balances]}


def execution_report(o: BinanceOrder, execution: str, fill: BinanceFill | None, *,
                     event_ms: int, transact_ms: int, execution_id: int) -> dict[str, Any]:
    """The ``executionReport`` event for one change of ``o`` (``fill`` for a TRADE)."""
    cancelled_by = o.meta.cancel_client_order_id if execution == "CANCELED" else None
    last_qty = fill.quantity if fill is not None else ZERO
    last_price = fill.price if fill is not None else ZERO
    report: dict[str, Any] = {
        "e": "executionReport", "E": event_ms, "s": o.symbol,
        "c": cancelled_by or o.client_order_id, "S": o.side, "o": o.type,
        "f": o.time_in_force, "q": amount(o.quantity), "p": amount(o.price),
        "P": _ZERO_TEXT, "F": _ZERO_TEXT, "g": -1,
        "C": o.client_order_id if cancelled_by else "", "x": execution, "X": o.status,
        "r": "NONE", "i": o.order_id, "l": amount(last_qty), "z": amount(o.executed),
        "L": amount(last_price),
        "n": amount(fill.commission) if fill is not None else "0",
        "N": fill.commission_asset if fill is not None else None,
        "T": transact_ms, "t": fill.trade_id if fill is not None else -1,
        "I": execution_id, "w": o.status in ("NEW", "PARTIALLY_FILLED") and o.type != "MARKET",
        "m": fill.maker if fill is not None else False, "M": False, "O": o.created_ms,
        "Z": amount(o.quote_executed), "Y": amount(last_qty * last_price),
        "Q": amount(o.quote_order_qty), "W": o.created_ms, "V": o.meta.stp_mode}
    reason = o.expiry_reason
    if reason is not None:
        report["eR"] = reason
    return report
