"""A new order's parameters and the checks Binance makes before its matching engine acts.

:func:`read_order` reads ``POST /api/v3/order`` (and a cancel-replace's new order) and
refuses, in Binance's words: missing or malformed parameters (``-1102``, ``-1100``,
``-1111``, ``-1106``), unknown enum values (``-1116`` order type, ``-1117`` side, ``-1115``
time in force), an unknown symbol (``-1121``), a client order id outside
``^[a-zA-Z0-9-_]{1,36}$`` (``-1100``), and the symbol's filters (``-1013 Filter failure:
PRICE_FILTER`` / ``LOT_SIZE`` / ``NOTIONAL``).

Order types: ``LIMIT`` (GTC, IOC, FOK), ``LIMIT_MAKER`` and ``MARKET`` (by ``quantity`` or by
``quoteOrderQty``). The stop and take-profit types that exchangeInfo lists are refused as
Binance refuses a type a symbol does not offer (``-2010 Stop loss orders are not supported
for this symbol.``), and so are icebergs, trailing stops and pegged prices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from venuekit.model import Side
from venuekit_mock.sim import Book, SymbolSpec

from . import errors
from .params import Params
from .symbols import filters

__all__ = ["ORDER_TYPES", "NewOrder", "check_filters", "client_id", "read_order"]

ORDER_TYPES = ("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
               "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
_NOT_OFFERED = {
    "STOP_LOSS": "Stop loss orders are not supported for this symbol.",
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT": "Take profit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}
_TIFS = ("GTC", "IOC", "FOK")
_RESPONSE_TYPES = ("ACK", "RESULT", "FULL")
STP_MODES = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT")
_CLIENT_ID = re.compile(r"^[a-zA-Z0-9\-_]{1,36}$")
_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}


@dataclass(frozen=True)
class NewOrder:
    """A new order as the request asks for it (already checked against the filters)."""

    spec: SymbolSpec
    side: Side
    type: str
    time_in_force: str
    quantity: Decimal | None
    quote_order_qty: Decimal | None
    price: Decimal | None
    client_order_id: str
    response_type: str
    stp_mode: str

    @property
    def symbol(self) -> str:
        return self.spec.symbol


def client_id(params: Params, name: str) -> str | None:
    """A client order id parameter, checked against Binance's pattern."""
    value = params.values.get(name)
    if value is None:
        return None
    if not _CLIENT_ID.match(value):
        raise errors.illegal(name, errors.CLIENT_ID_RANGE)
    return value


def _spec(params: Params, specs: dict[str, SymbolSpec]) -> SymbolSpec:
    symbol = params.required("symbol")
    spec = specs.get(symbol)
    if spec is None:
        raise errors.invalid_symbol()
    return spec


def read_order(params: Params, specs: dict[str, SymbolSpec], book_of: dict[str, Book],
               generated_id: str) -> NewOrder:
    """Read and check a new order (``generated_id`` names it if the request does not)."""
    spec = _spec(params, specs)
    side = _SIDES.get(params.required("side"))
    if side is None:
        raise errors.BinanceError(400, -1117, "Invalid side.")
    kind = params.required("type")
    if kind not in ORDER_TYPES:
        raise errors.BinanceError(400, -1116, "Invalid orderType.")
    tif = params.choice("timeInForce", _TIFS,
                        errors.BinanceError(400, -1115, "Invalid timeInForce."))
    quantity = params.decimal("quantity")
    quote_qty = params.decimal("quoteOrderQty")
    price = params.decimal("price")
    cid = client_id(params, "newClientOrderId") or generated_id
    default_response = "FULL" if kind in ("LIMIT", "MARKET") else "ACK"
    response = params.choice("newOrderRespType", _RESPONSE_TYPES,
                             errors.malformed("newOrderRespType"), default_response)
    stp = params.choice("selfTradePreventionMode", STP_MODES,
                        errors.malformed("selfTradePreventionMode"), "EXPIRE_MAKER")
    limit = kind in ("LIMIT", "LIMIT_MAKER")
    if limit:
        if kind == "LIMIT" and tif is None:
            raise errors.mandatory("timeInForce")
        if quantity is None:
            raise errors.mandatory("quantity")
        if price is None:
            raise errors.mandatory("price")
        if quote_qty is not None:
            raise errors.not_required("quoteOrderQty")
    if kind == "MARKET":
        if quantity is None and quote_qty is None:
            raise errors.either("quantity", "quoteOrderQty")
        if quantity is not None and quote_qty is not None:
            raise errors.not_required("quoteOrderQty")
        if price is not None:
            raise errors.not_required("price")
    if kind in ("MARKET", "LIMIT_MAKER") and tif is not None:
        raise errors.not_required("timeInForce")
    if kind in _NOT_OFFERED:
        raise errors.rejected(_NOT_OFFERED[kind])
    if "stopPrice" in params:
        raise errors.not_required("stopPrice")
    if "icebergQty" in params:
        raise errors.rejected("Iceberg orders are not supported for this symbol.")
    if "trailingDelta" in params:
        raise errors.rejected("Trailing stop orders are not supported for this symbol.")
    if "pegPriceType" in params:
        raise errors.rejected("Pegged orders are not supported for this symbol.")
    order = NewOrder(spec, side, kind, tif or "GTC", quantity, quote_qty, price, cid,
                     response.upper() if response else default_response, stp or "EXPIRE_MAKER")
    check_filters(order, book_of[spec.symbol])
    return order


def check_filters(order: NewOrder, book: Book) -> None:
    """PRICE_FILTER, LOT_SIZE (and MARKET_LOT_SIZE) and NOTIONAL, as Binance applies them;
    a market order's notional is valued at the mid (Binance's average price)."""
    rules = filters(order.spec)
    price = order.price
    if price is not None and (price < rules.min_price or price > rules.max_price
                              or price % rules.tick_size):
        raise errors.filter_failure("PRICE_FILTER")
    quantity = order.quantity
    if quantity is not None and (quantity < rules.min_qty or quantity > rules.max_qty
                                 or quantity % rules.step_size):
        raise errors.filter_failure("LOT_SIZE")
    if order.quote_order_qty is not None:
        notional = order.quote_order_qty
    else:
        reference = price if price is not None else (book.bid + book.ask) / 2
        notional = (quantity or Decimal(0)) * reference
    if notional < rules.min_notional or (price is not None
                                         and notional > rules.max_notional):
        raise errors.filter_failure("NOTIONAL")


def quote_quantity(order: NewOrder, book: Book) -> Decimal:
    """The quantity a market order by ``quoteOrderQty`` trades: as much as the quote amount
    buys at the ask (or, selling, as much as it takes at the bid to receive it), in whole
    lots; refused with LOT_SIZE when that is less than the minimum."""
    assert order.quote_order_qty is not None
    touch = book.ask if order.side is Side.BUY else book.bid
    rules = filters(order.spec)
    quantity = order.spec.floor_quantity(order.quote_order_qty / touch) if touch > 0 \
        else Decimal(0)
    if quantity < rules.min_qty:
        raise errors.filter_failure("LOT_SIZE")
    return min(quantity, rules.max_qty)
