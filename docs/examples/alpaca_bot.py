"""A small bot written against alpaca-py alone: it runs the same on Alpaca's paper account
and on ``venuekit emulate alpaca``.

It reads its endpoints and keys from the environment, as Alpaca's tools do:

    APCA_API_KEY_ID, APCA_API_SECRET_KEY   the keys
    APCA_API_BASE_URL                      the trading API (default: Alpaca's paper API)
    APCA_API_DATA_URL                      the market-data API (default: Alpaca's)
    BOT_SYMBOL                             what to trade (default: AAPL)

Then it reads a snapshot and the last hour of minute bars, buys one share with a bracket
order (take profit 5 % above the price, stop loss 5 % below), waits for the fill, lists
the account activities, closes its positions, and prints a summary. Any failure prints
what failed and exits with status 1.

    venuekit emulate alpaca --port 8080        # in one shell
    export APCA_API_KEY_ID=venuekit-emulator-key APCA_API_SECRET_KEY=venuekit-emulator-secret
    export APCA_API_BASE_URL=http://127.0.0.1:8080 APCA_API_DATA_URL=http://127.0.0.1:8080
    python docs/examples/alpaca_bot.py         # in another
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest, StockSnapshotRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, TimeInForce
from alpaca.trading.models import NonTradeActivity, TradeActivity
from alpaca.trading.requests import MarketOrderRequest, StopLossRequest, TakeProfitRequest

WAIT_SECONDS = 20.0
CENT = Decimal("0.01")


class BotError(Exception):
    """A step that did not go as it must."""


def clients() -> tuple[TradingClient, StockHistoricalDataClient]:
    key = os.environ.get("APCA_API_KEY_ID")
    secret = os.environ.get("APCA_API_SECRET_KEY")
    if not key or not secret:
        raise BotError("set APCA_API_KEY_ID and APCA_API_SECRET_KEY")
    trading = TradingClient(key, secret, paper=True,
                            url_override=os.environ.get("APCA_API_BASE_URL") or None)
    data = StockHistoricalDataClient(key, secret,
                                     url_override=os.environ.get("APCA_API_DATA_URL") or None)
    return trading, data


def step(name: str, detail: str) -> None:
    print(f"ok {name}: {detail}", flush=True)


def wait_for(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise BotError(f"{what}: not within {WAIT_SECONDS:.0f} s")


def run(symbol: str) -> dict[str, Any]:
    trading, data = clients()
    account = trading.get_account()
    step("account", f"cash {account.cash} {account.currency}")

    snapshot = data.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols=symbol))[symbol]
    if snapshot.latest_trade is None or snapshot.latest_quote is None:
        raise BotError(f"no snapshot for {symbol}")
    price = Decimal(str(snapshot.latest_trade.price))
    step("snapshot", f"{symbol} last {price}, bid {snapshot.latest_quote.bid_price} "
         f"ask {snapshot.latest_quote.ask_price}")

    now = snapshot.latest_trade.timestamp
    bars = data.get_stock_bars(StockBarsRequest(
        symbol_or_symbols=symbol, timeframe=TimeFrame.Minute, start=now - timedelta(hours=1),
        end=now)).data.get(symbol, [])
    if not bars:
        raise BotError("no minute bars for the last hour")
    closes = [Decimal(str(bar.close)) for bar in bars]
    average = sum(closes, Decimal(0)) / len(closes)
    step("bars", f"{len(bars)} minute bars, average close {average.quantize(CENT)}")

    take_profit = (price * Decimal("1.05")).quantize(CENT)
    stop_loss = (price * Decimal("0.95")).quantize(CENT)
    order = trading.submit_order(MarketOrderRequest(
        symbol=symbol, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfitRequest(limit_price=float(take_profit)),
        stop_loss=StopLossRequest(stop_price=float(stop_loss))))
    step("bracket", f"order {order.id} {order.status.value}, take profit {take_profit}, "
         f"stop loss {stop_loss}")

    filled = wait_for(lambda: (o := trading.get_order_by_id(order.id)).status
                      is OrderStatus.FILLED and o, "the buy to fill")
    step("filled", f"1 {symbol} at {filled.filled_avg_price}")

    raw = trading.get("/account/activities", {"activity_types": "FILL,CSD"})
    activities = [TradeActivity(**a) if a["activity_type"] == "FILL" else NonTradeActivity(**a)
                  for a in raw]
    fills = [a for a in activities if isinstance(a, TradeActivity)]
    if not any(a.order_id == order.id for a in fills):
        raise BotError("the buy's fill is not among the account activities")
    step("activities", f"{len(activities)} activities, {len(fills)} fills")

    closed = trading.close_all_positions(cancel_orders=True)
    refused = [c for c in closed if c.status != 200]
    if refused:
        raise BotError(f"closing refused: {refused}")
    wait_for(lambda: not trading.get_all_positions(), "the positions to close")
    step("closed", f"{len(closed)} position(s) closed")

    final = trading.get_account()
    return {"symbol": symbol, "bought_at": filled.filled_avg_price,
            "start_cash": account.cash, "end_cash": final.cash}


def main() -> int:
    symbol = os.environ.get("BOT_SYMBOL", "AAPL")
    try:
        summary = run(symbol)
    except Exception as exc:  # a bot reports any failure and exits non-zero
        print(f"failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    change = Decimal(summary["end_cash"]) - Decimal(summary["start_cash"])
    print(f"summary: bought 1 {summary['symbol']} at {summary['bought_at']}, closed; "
          f"cash {summary['start_cash']} -> {summary['end_cash']} ({change:+})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
