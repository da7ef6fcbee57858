"""Pre-acceptance checks: the rules an order must pass before the venue takes it.

In the order a venue applies them: tradable symbol, positive quantity, price on the tick
grid (price-band aware), a well-formed and unused client order id, quantity on the lot,
minimum quantity, minimum notional, buying power or position, and for fill-or-kill orders
whether the displayed size can fill them now. Each failure raises the venuekit error that
names it (``INVALID_PRICE``, ``INSUFFICIENT_FUNDS``, ...).
"""

from __future__ import annotations

from collections.abc import Container
from decimal import Decimal

from venuekit.errors import Code, ErrorCode, VenueKitError, error
from venuekit.model import OrderType, Side

from .account import SimAccount
from .config import CLIENT_ID_ALPHABET, SimConfig
from .market import Book

__all__ = ["OrderChecks"]

ZERO = Decimal(0)
_BPS = Decimal(10_000)

# Enum members are slow to look up on Python 3.11 (see engine.py): aliases for hot paths.
_BUY = Side.BUY
_LIMIT = OrderType.LIMIT


class OrderChecks:
    """The acceptance rules of one simulated venue, over its config and account."""

    def __init__(self, config: SimConfig, account: SimAccount) -> None:
        self.config = config
        self.account = account
        self._alphabet = frozenset(CLIENT_ID_ALPHABET)
        self._market_markup = 1 + config.market_reserve_bps / _BPS

    def error(self, code: ErrorCode, message: str) -> VenueKitError:
        return error(code, message, venue=self.config.venue)

    def validate(self, book: Book, side: Side, quantity: Decimal, order_type: OrderType,
                 limit_price: Decimal | None, cid: str | None,
                 used_client_ids: Container[str]) -> Decimal:
        """Check an order against the instrument's rules; returns its reserve price.

        The reserve price is what buying power is reserved at per unit: the limit, or for
        a market buy the ask marked up by ``market_reserve_bps``.
        """
        spec = book.spec
        if not spec.tradable:
            raise self.error(Code.SYMBOL_HALTED, f"{spec.symbol} is not tradable")
        if spec.symbol in self.config.halted:
            raise self.error(Code.SYMBOL_HALTED, f"{spec.symbol}: trading is halted")
        if not quantity.is_finite() or quantity <= 0:
            raise self.error(Code.INVALID_QUANTITY,
                             f"{spec.symbol}: quantity {quantity} is not a positive number")
        if order_type is _LIMIT:
            if limit_price is None or not limit_price.is_finite() or limit_price <= 0:
                raise self.error(Code.INVALID_PRICE, f"{spec.symbol}: a limit order needs a "
                                 f"positive limit price, got {limit_price}")
            if not spec.on_tick(limit_price):
                raise self.error(Code.INVALID_PRICE, f"{spec.symbol}: price {limit_price} is "
                                 f"not a multiple of the tick {spec.tick_at(limit_price)}")
        elif limit_price is not None:
            raise self.error(Code.INVALID_ORDER, "a market order takes no limit price")
        # The check_client_id test, inlined (every order may carry an id); that method
        # then raises the precise error.
        if cid is not None and (not cid or len(cid) > self.config.client_order_id_max_length
                                or not self._alphabet.issuperset(cid)
                                or cid in used_client_ids):
            self.check_client_id(cid, used_client_ids)
        if quantity % spec.lot_size:
            raise self.error(Code.INVALID_QUANTITY, f"{spec.symbol}: quantity {quantity} is "
                             f"not a multiple of the lot size {spec.lot_size}")
        if quantity < spec.min_quantity:
            raise self.error(Code.BELOW_MIN_QUANTITY, f"{spec.symbol}: quantity {quantity} "
                             f"is below the minimum {spec.min_quantity}")
        buy = side is _BUY
        touch = book.ask if buy else book.bid
        price = touch if limit_price is None else limit_price
        if spec.min_notional and quantity * price < spec.min_notional:
            raise self.error(Code.BELOW_MIN_NOTIONAL, f"{spec.symbol}: notional "
                             f"{quantity * price} is below the minimum {spec.min_notional}")
        if limit_price is not None or not buy:
            return price
        return touch * self._market_markup

    def market_reserve(self, price: Decimal) -> Decimal:
        """What a market buy reserves per unit when it trades at about ``price``."""
        return price * self._market_markup

    def check_stop(self, book: Book, side: Side, stop_price: Decimal | None) -> None:
        """A stop price must be positive, on the tick grid, and not yet crossed: a buy stop
        above the ask, a sell stop below the bid (else it would fire on arrival)."""
        spec = book.spec
        if stop_price is None or not stop_price.is_finite() or stop_price <= 0:
            raise self.error(Code.INVALID_PRICE, f"{spec.symbol}: a stop order needs a "
                             f"positive stop price, got {stop_price}")
        if not spec.on_tick(stop_price):
            raise self.error(Code.INVALID_PRICE, f"{spec.symbol}: stop price {stop_price} is "
                             f"not a multiple of the tick {spec.tick_at(stop_price)}")
        if side is _BUY and stop_price <= book.ask:
            raise self.error(Code.STOP_CROSSED, f"{spec.symbol}: a buy stop at {stop_price} "
                             f"is already crossed by the ask {book.ask}; a buy stop must lie "
                             "above the ask")
        if side is not _BUY and stop_price >= book.bid:
            raise self.error(Code.STOP_CROSSED, f"{spec.symbol}: a sell stop at "
                             f"{stop_price} is already crossed by the bid {book.bid}; a sell "
                             "stop must lie below the bid")

    def check_exits(self, book: Book, side: Side, base: Decimal,
                    take_profit: Decimal | None, stop_loss: Decimal | None,
                    stop_loss_limit: Decimal | None) -> None:
        """Exits of ``side`` around ``base`` (the entry's price): prices on the grid, the
        take-profit at least a tick on the profitable side of it, the stop-loss at least a
        tick on the other (for sell exits: take-profit above, stop-loss below)."""
        spec = book.spec
        tick = spec.tick_at(base)
        sell = side is not _BUY
        for label, price in (("take-profit", take_profit), ("stop-loss", stop_loss),
                             ("stop-loss limit", stop_loss_limit)):
            if price is None:
                continue
            if not price.is_finite() or price <= 0 or not spec.on_tick(price):
                raise self.error(Code.INVALID_PRICE, f"{spec.symbol}: {label} price {price} "
                                 f"must be positive and a multiple of the tick "
                                 f"{spec.tick_at(abs(price))}")
        if take_profit is not None and (take_profit < base + tick if sell
                                        else take_profit > base - tick):
            bound = f">= {base + tick}" if sell else f"<= {base - tick}"
            raise self.error(Code.INVALID_PRICE, f"{spec.symbol}: the take-profit "
                             f"{take_profit} must be {bound} (a tick beyond the base price "
                             f"{base})")
        if stop_loss is not None and (stop_loss > base - tick if sell
                                      else stop_loss < base + tick):
            bound = f"<= {base - tick}" if sell else f">= {base + tick}"
            raise self.error(Code.INVALID_PRICE, f"{spec.symbol}: the stop-loss {stop_loss} "
                             f"must be {bound} (a tick beyond the base price {base})")

    def check_trail(self, amount: Decimal | None, percent: Decimal | None) -> None:
        """A trailing stop takes exactly one trail: an amount > 0 or a percentage in (0, 100)."""
        if (amount is None) == (percent is None):
            raise self.error(Code.INVALID_ORDER, "a trailing stop needs exactly one of a "
                             "trail amount or a trail percent")
        if amount is not None and (not amount.is_finite() or amount <= 0):
            raise self.error(Code.INVALID_PRICE, f"a trail amount must be > 0, got {amount}")
        if percent is not None and (not percent.is_finite() or not 0 < percent < 100):
            raise self.error(Code.INVALID_PRICE, f"a trail percent must lie between 0 and "
                             f"100, got {percent}")

    def check_client_id(self, cid: str, used: Container[str]) -> None:
        limit = self.config.client_order_id_max_length
        if not cid or len(cid) > limit or not self._alphabet.issuperset(cid):
            raise self.error(Code.INVALID_ORDER, f"client order id {cid!r} must be 1 to "
                             f"{limit} characters of [A-Za-z0-9-_.]")
        if cid in used:
            raise self.error(Code.DUPLICATE_CLIENT_ORDER_ID,
                             f"client order id {cid!r} was already used")

    def buy_reservation(self, quantity: Decimal, price: Decimal, volume: Decimal) -> Decimal:
        """Cash a buy of ``quantity`` at ``price`` holds back: notional plus commission."""
        if quantity <= 0:
            return ZERO
        notional = quantity * price
        commission = self.config.commission
        if commission.free:
            return notional
        return notional + commission.order_commission(quantity, notional, volume)

    def check_funds(self, symbol: str, side: Side, quantity: Decimal,
                    reserve_price: Decimal) -> None:
        """Refuse what the account cannot pay for (buys, short sales) or deliver (sells)."""
        account = self.account
        if side is _BUY:
            need = self.buy_reservation(quantity, reserve_price, account.traded_notional)
            if need > account.cash - account.reserved_cash:
                raise self.error(Code.INSUFFICIENT_FUNDS, f"buying {quantity} {symbol} needs "
                                 f"{need:.2f}, buying power is {account.buying_power:.2f}")
            return
        sellable = account.sellable(symbol)
        if quantity <= sellable:
            return
        if not self.config.short_selling:
            raise self.error(Code.INSUFFICIENT_POSITION, f"selling {quantity} {symbol}, "
                             f"{max(sellable, ZERO)} available")
        short = quantity - max(sellable, ZERO)
        if short * reserve_price > account.cash - account.reserved_cash:
            raise self.error(Code.INSUFFICIENT_FUNDS, f"shorting {short} {symbol} needs "
                             f"{short * reserve_price:.2f} of buying power")

    def check_fill_or_kill(self, book: Book, side: Side, quantity: Decimal,
                           limit_price: Decimal | None) -> None:
        touch = book.touch(side)
        marketable = limit_price is None or (
            limit_price >= touch if side is _BUY else limit_price <= touch)
        available = book.available(side) if marketable else ZERO
        if quantity > available:
            fillable = book.spec.floor_quantity(available)
            raise self.error(Code.FILL_OR_KILL_UNFILLABLE, f"fill-or-kill {side.value} "
                             f"{quantity} {book.spec.symbol}: {fillable} can fill now")
