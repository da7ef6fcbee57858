"""ccxt's structures, read into venuekit's model, exactly.

The exchange object returns numbers as strings (``exchange.number = str``), so every price,
quantity and fee is read into a Decimal from the exchange's own digits, never through a
float. Orders are named ``<market id>:<order id>``: exchanges such as Binance number orders
per symbol and need the symbol to find one, so the venue order id carries it.

Binance's user-data ``executionReport`` is read from its raw fields (:func:`from_report`),
the stream's exact record of each execution: the order as it stands and the trade (id,
quantity, price, commission and its asset) that moved it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from venuekit.errors import Code, error
from venuekit.model import (
    ZERO,
    Account,
    Fill,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    OrderState,
    OrderType,
    OrderUpdate,
    Position,
    Quote,
    Side,
    TimeInForce,
)

__all__ = [
    "account",
    "binance_order",
    "fill",
    "fills_of",
    "from_answer",
    "from_report",
    "instrument",
    "number",
    "order_id",
    "quote",
    "snapshot",
    "split_order_id",
    "when",
]

_STATES = {"open": OrderState.ACKNOWLEDGED, "closed": OrderState.FILLED,
           "canceled": OrderState.CANCELLED, "cancelled": OrderState.CANCELLED,
           "expired": OrderState.EXPIRED, "rejected": OrderState.REJECTED}
# Binance's own order statuses (raw ``status`` / executionReport ``X``).
_RAW_STATES = {"NEW": OrderState.ACKNOWLEDGED, "PENDING_NEW": OrderState.ACKNOWLEDGED,
               "PARTIALLY_FILLED": OrderState.PARTIALLY_FILLED, "FILLED": OrderState.FILLED,
               "CANCELED": OrderState.CANCELLED, "PENDING_CANCEL": OrderState.PENDING_CANCEL,
               "REJECTED": OrderState.REJECTED, "EXPIRED": OrderState.EXPIRED,
               "EXPIRED_IN_MATCH": OrderState.EXPIRED}
_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
        TimeInForce.DAY: "GTC"}


def number(value: Any, what: str, venue: str) -> Decimal | None:
    """A wire number (a string from ccxt) as a Decimal; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, float):  # ccxt computed it: its shortest repr is what it meant
        value = repr(value)
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise error(Code.VENUE_ERROR, f"{venue} sent {what}={value!r}, which is not a number",
                    venue=venue) from None
    if not result.is_finite():
        raise error(Code.VENUE_ERROR, f"{venue} sent {what}={value!r}, which is not finite",
                    venue=venue)
    return trimmed(result)


def trimmed(value: Decimal) -> Decimal:
    """``value`` without the trailing zeros Binance pads to eight places (no exponent)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def when(ms: Any) -> datetime | None:
    if ms is None or ms == "":
        return None
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


def order_id(market_id: str, exchange_order_id: Any) -> str:
    """The venue order id of an exchange's order: its market and its own id."""
    return f"{market_id}:{exchange_order_id}"


def split_order_id(venue_order_id: str) -> tuple[str, str] | None:
    """``(market id, exchange order id)`` of a venue order id, or None when it is not one."""
    market_id, sep, exchange_id = venue_order_id.partition(":")
    if not sep or not market_id or not exchange_id:
        return None
    return market_id, exchange_id


def instrument(market: Mapping[str, Any], venue: str) -> Instrument:
    """One ccxt market (spot) as an Instrument: its tick, lot, minimum quantity and
    notional (Binance's PRICE_FILTER, LOT_SIZE and NOTIONAL filters, as ccxt reads them)."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    tick = number(precision.get("price"), "price precision", venue)
    lot = number(precision.get("amount"), "amount precision", venue)
    if tick is None or lot is None or tick <= 0 or lot <= 0:
        raise error(Code.VENUE_ERROR, f"{venue}: market {market.get('symbol')!r} has no tick "
                    "or lot size (ccxt's precision mode must be TICK_SIZE)", venue=venue)
    minimum = number((limits.get("amount") or {}).get("min"), "minimum amount", venue)
    notional = number((limits.get("cost") or {}).get("min"), "minimum cost", venue)
    return Instrument(symbol=str(market["symbol"]), tick_size=tick, lot_size=lot,
                      min_quantity=minimum or ZERO, min_notional=notional or ZERO,
                      fractional=lot < 1, currency=str(market["quote"]),
                      base_currency=str(market["base"]),
                      tradable=bool(market.get("active", True)))


def _side(value: Any, venue: str) -> Side:
    text = str(value or "").lower()
    if text not in ("buy", "sell"):
        raise error(Code.VENUE_ERROR, f"{venue} sent an order side {value!r}", venue=venue)
    return Side(text)


def _order_type(value: Any) -> OrderType:
    return OrderType.MARKET if str(value or "").lower() == "market" else OrderType.LIMIT


def quote(symbol: str, ticker: Mapping[str, Any], venue: str) -> Quote | None:
    """A ccxt ticker's best bid and ask (None when it has no two-sided book)."""
    bid = number(ticker.get("bid"), "bid", venue)
    ask = number(ticker.get("ask"), "ask", venue)
    if bid is None or ask is None:
        return None
    return Quote(symbol=symbol, bid=bid, ask=ask,
                 bid_size=number(ticker.get("bidVolume"), "bidVolume", venue) or ZERO,
                 ask_size=number(ticker.get("askVolume"), "askVolume", venue) or ZERO,
                 at=when(ticker.get("timestamp")) or datetime.now(UTC))


def snapshot(order: Mapping[str, Any], market_id: str, venue: str) -> OrderSnapshot:
    """A ccxt order as an OrderSnapshot (Binance's raw status refines ccxt's ``open``)."""
    info = order.get("info") or {}
    filled = number(order.get("filled"), "filled", venue) or ZERO
    raw_status = str(info.get("status") or info.get("X") or "")
    state = _RAW_STATES.get(raw_status) or _STATES.get(str(order.get("status")),
                                                       OrderState.ACKNOWLEDGED)
    if state is OrderState.ACKNOWLEDGED and filled > 0:
        state = OrderState.PARTIALLY_FILLED
    cost = number(order.get("cost"), "cost", venue)
    average = cost / filled if cost is not None and filled > 0 else \
        number(order.get("average"), "average", venue)
    order_type = _order_type(order.get("type"))
    quantity = number(order.get("amount"), "amount", venue)
    notional = number(info.get("origQuoteOrderQty"), "origQuoteOrderQty", venue)
    created = order.get("timestamp") or info.get("time") or info.get("transactTime")
    updated = info.get("updateTime") or order.get("lastUpdateTimestamp") or created
    return OrderSnapshot(
        venue_order_id=order_id(market_id, order["id"]),
        # A cancel's answer names the cancel request's own id; the order's is the original.
        client_order_id=info.get("origClientOrderId") or order.get("clientOrderId") or None,
        symbol=str(order["symbol"]), side=_side(order.get("side"), venue),
        order_type=order_type, state=state,
        quantity=quantity if quantity else None,
        notional=notional if notional else None,
        limit_price=number(order.get("price"), "price", venue)
        if order_type is OrderType.LIMIT else None,
        filled_quantity=filled, average_price=average,
        created_at=when(created), updated_at=when(updated),
        reason="rejected by the exchange" if state is OrderState.REJECTED else None)


def fill(trade: Mapping[str, Any], market_id: str, venue: str, *, currency: str,
         side: Side | None = None, client_order_id: str | None = None,
         at: Any = None) -> Fill:
    """A ccxt trade as a Fill: its trade id, fee and fee asset as the exchange charged
    (``currency``, the market's quote asset, when the trade names no fee asset)."""
    fee = trade.get("fee") or {}
    quantity = number(trade.get("amount"), "trade amount", venue)
    price = number(trade.get("price"), "trade price", venue)
    if quantity is None or price is None:
        raise error(Code.VENUE_ERROR, f"{venue} sent a trade without amount or price",
                    venue=venue)
    exchange_order = trade.get("order")
    return Fill(trade_id=str(trade["id"]), symbol=str(trade["symbol"]),
                side=side or _side(trade.get("side"), venue), quantity=quantity, price=price,
                fee=number(fee.get("cost"), "fee", venue) or ZERO,
                fee_currency=str(fee.get("currency") or "") or currency,
                at=when(trade.get("timestamp") or at) or datetime.now(UTC),
                venue_order_id=order_id(market_id, exchange_order)
                if exchange_order is not None else None,
                client_order_id=client_order_id)


def fills_of(order: Mapping[str, Any], market_id: str, venue: str, currency: str
             ) -> list[Fill]:
    """The executions an order answer lists (Binance's FULL response: ``fills[]``)."""
    out = []
    for trade in order.get("trades") or ():
        if trade.get("id") is None or not trade.get("amount"):
            continue
        out.append(fill({**trade, "order": order["id"], "symbol": order["symbol"]},
                        market_id, venue, currency=currency,
                        side=_side(order.get("side"), venue),
                        client_order_id=order.get("clientOrderId") or None,
                        at=order.get("timestamp")))
    return out


def from_report(event: Mapping[str, Any], symbol: str, venue: str, currency: str
                ) -> OrderUpdate:
    """A Binance ``executionReport`` as an OrderUpdate, with its trade when it has one
    (``currency``: the market's quote asset, when the report names no commission asset)."""
    def dec(key: str) -> Decimal:
        return number(event.get(key), key, venue) or ZERO

    market_id = str(event["s"])
    execution = str(event.get("x") or "")
    # On a cancel, ``c`` is the cancel request's own id and ``C`` the order's.
    client_id = str(event.get("C") or "") if execution in ("CANCELED", "EXPIRED") else ""
    client_id = client_id or str(event.get("c") or "")
    side = _side(event.get("S"), venue)
    order_type = OrderType.MARKET if str(event.get("o")) == "MARKET" else OrderType.LIMIT
    filled = dec("z")
    quote = dec("Z")
    state = _RAW_STATES.get(str(event.get("X") or ""), OrderState.ACKNOWLEDGED)
    quantity = dec("q")
    notional = dec("Q")
    snap = OrderSnapshot(
        venue_order_id=order_id(market_id, event["i"]), client_order_id=client_id or None,
        symbol=symbol, side=side, order_type=order_type, state=state,
        quantity=quantity or None, notional=notional or None,
        limit_price=dec("p") if order_type is OrderType.LIMIT else None,
        filled_quantity=filled, average_price=quote / filled if filled > 0 else None,
        created_at=when(event.get("O")), updated_at=when(event.get("E")),
        reason=str(event.get("r")) if state is OrderState.REJECTED else None)
    trade: Fill | None = None
    if execution == "TRADE" and dec("l") > 0:
        trade = Fill(trade_id=str(event["t"]), symbol=symbol, side=side, quantity=dec("l"),
                     price=dec("L"), fee=dec("n"), fee_currency=str(event.get("N") or "")
                     or currency, at=when(event.get("T")) or datetime.now(UTC),
                     venue_order_id=snap.venue_order_id, client_order_id=client_id or None)
    return OrderUpdate(order=snap, fill=trade, at=when(event.get("E")) or datetime.now(UTC))


def account(balances: Mapping[str, Any], quote: str, symbol_of: Callable[[str], str | None],
            venue: str) -> Account:
    """Balances per asset as an Account: cash in ``quote``, each other asset a position in
    its pair against ``quote`` (``symbol_of(asset)``; assets without one are left out)."""
    def total(asset: str) -> Decimal:
        row = balances.get(asset) or {}
        return number(row.get("total"), f"{asset} balance", venue) or ZERO

    def free(asset: str) -> Decimal:
        row = balances.get(asset) or {}
        return number(row.get("free"), f"{asset} free balance", venue) or ZERO

    positions = []
    for asset in sorted(balances):
        if asset == quote or not isinstance(balances.get(asset), Mapping):
            continue
        held = total(asset)
        symbol = symbol_of(asset)
        if held != 0 and symbol is not None:
            positions.append(Position(symbol=symbol, quantity=held))
    return Account(currency=quote, cash=total(quote), buying_power=free(quote),
                   positions=tuple(positions))


def binance_order(request: OrderRequest, market_id: str, client_order_id: str
                  ) -> dict[str, str]:
    """Binance's own ``POST /api/v3/order`` parameters for ``request`` (the order ccxt's
    ``create_order`` would send, without its request building)."""
    params = {"symbol": market_id, "side": request.side.value.upper(),
              "newClientOrderId": client_order_id, "newOrderRespType": "RESULT"}
    if request.notional is not None:
        params |= {"type": "MARKET", "quoteOrderQty": f"{request.notional:f}"}
    elif request.order_type is OrderType.LIMIT:
        params |= {"type": "LIMIT", "timeInForce": _TIF[request.time_in_force],
                   "quantity": f"{request.quantity:f}", "price": f"{request.limit_price:f}"}
    else:
        params |= {"type": "MARKET", "quantity": f"{request.quantity:f}"}
    return params


def from_answer(answer: Mapping[str, Any], symbol: str, venue: str) -> OrderSnapshot:
    """Binance's own answer to a new order (``RESULT``) as an OrderSnapshot, read the way
    :func:`snapshot` reads ccxt's order (whose ``info`` that answer is)."""
    try:
        order = {"id": answer["orderId"], "symbol": symbol,
                 "side": str(answer.get("side") or "").lower(),
                 "type": str(answer.get("type") or "").lower(),
                 "amount": answer.get("origQty"), "filled": answer.get("executedQty"),
                 "cost": answer.get("cummulativeQuoteQty"), "price": answer.get("price"),
                 "timestamp": answer.get("transactTime"),
                 "clientOrderId": answer.get("clientOrderId"), "info": answer}
    except (KeyError, TypeError):
        raise error(Code.VENUE_ERROR, f"{venue} answered a new order without its orderId",
                    venue=venue) from None
    return snapshot(order, str(answer.get("symbol") or ""), venue)


def grid(market: Mapping[str, Any], venue: str) -> tuple[Decimal, Decimal]:
    """The market's price tick and quantity lot (what :func:`check_grid` checks)."""
    rules = instrument(market, venue)
    return rules.tick_size, rules.lot_size


def check_grid(request: OrderRequest, tick: Decimal, lot: Decimal, venue: str) -> None:
    """Refuse a price or quantity off the market's grid before it is sent: ccxt would round
    it to the grid silently (a buy's price up), and the order sent would not be the order
    journaled."""
    if request.quantity is not None and request.quantity % lot:
        raise error(Code.INVALID_QUANTITY, f"{request.symbol}: quantity {request.quantity} is "
                    f"not a multiple of the lot size {lot}", venue=venue)
    price = request.limit_price
    if price is not None and price % tick:
        raise error(Code.INVALID_PRICE, f"{request.symbol}: price {price} is not a multiple of "
                    f"the tick size {tick}", venue=venue)
    if request.notional is not None and request.notional % tick:
        raise error(Code.INVALID_ORDER, f"{request.symbol}: notional {request.notional} has "
                    f"more decimals than the price's tick {tick}", venue=venue)


def create_params(request: OrderRequest, client_order_id: str) -> dict[str, Any]:
    """ccxt ``create_order`` params for ``request``: its client order id and time in force."""
    params: dict[str, Any] = {"clientOrderId": client_order_id}
    if request.order_type is OrderType.LIMIT:
        params["timeInForce"] = _TIF[request.time_in_force]
    return params


def sorted_fills(fills: Iterable[Fill]) -> list[Fill]:
    return sorted(fills, key=lambda f: (f.at, f.trade_id))


def market_ids(markets: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {str(m["symbol"]): str(m["id"]) for m in markets}
