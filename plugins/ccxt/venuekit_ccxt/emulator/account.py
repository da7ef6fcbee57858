"""The simulated account as Binance keeps it: a balance per asset, commissions per fill.

The mock venue's account holds one currency (USDT, the cash) and a position per symbol
(the pair's base asset). :class:`BinanceAccount` is that account with what Binance adds:

* other assets' balances (``BNB`` when BNBUSDT is not traded, or any asset the account
  holds without a pair);
* the commission of every fill, charged when the fill is booked (the engine books a fill
  and this charge in one synchronous step, so no request ever sees one without the
  other): ``commission_bps`` of what the fill received, in the asset it received
  (``"received"``: a buy pays in the base asset, a sell in USDT), in USDT (``"quote"``),
  or in BNB valued at BNBUSDT's mid (``"BNB"``, paid that way only while the free BNB
  balance covers it, else as ``"received"``). Commissions are rounded half up to eight
  decimals. There is no BNB discount;
* the Binance trade id of every fill (numbered per symbol from 1) and the Binance order
  records (:class:`~.records.OrderRecords`).

The engine's account object becomes a :class:`BinanceAccount` in place (:func:`install`),
so the engine's checks and fills use it, and the mock venue's saved state (``state_path``)
keeps all of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, NamedTuple

from venuekit.model import Side
from venuekit_mock.sim import Book, SimAccount, Simulator

from .records import OrderRecords
from .symbols import QUOTE

__all__ = ["COMMISSION_ASSETS", "BinanceAccount", "CommissionAsset", "FillRecord", "install"]

ZERO = Decimal(0)
_EIGHT = Decimal("1e-8")
_BPS = Decimal(10_000)
BNB = "BNB"

CommissionAsset = Literal["received", "quote", "BNB"]
COMMISSION_ASSETS: tuple[str, ...] = ("received", "quote", "BNB")


class FillRecord(NamedTuple):
    """What Binance says about one fill beyond the engine's record of it."""

    trade_id: int
    """Binance's trade id: per symbol, from 1."""
    commission: Decimal
    asset: str


class BinanceAccount(SimAccount):
    """The engine's account with Binance's balances, commissions and records."""

    assets: dict[str, Decimal]
    fill_records: list[FillRecord]
    trade_seq: dict[str, int]
    records: OrderRecords
    rate: Decimal
    commission_asset: str
    base_of: dict[str, str]
    symbol_of: dict[str, str]
    books: Mapping[str, Book]

    # balances ------------------------------------------------------------------------
    def asset_names(self) -> list[str]:
        """Every asset the account shows: USDT, each base asset, BNB and the others."""
        return sorted({QUOTE, BNB, *self.base_of.values(), *self.assets})

    def balance(self, asset: str) -> tuple[Decimal, Decimal]:
        """``(free, locked)`` of ``asset``; locked is what open orders reserve."""
        if asset == self.currency:
            return self.cash - self.reserved_cash, self.reserved_cash
        symbol = self.symbol_of.get(asset)
        if symbol is not None:
            locked = self.reserved_quantity.get(symbol, ZERO)
            return self.position(symbol) - locked, locked
        return self.assets.get(asset, ZERO), ZERO

    def set_balance(self, asset: str, total: Decimal) -> None:
        """Set an asset's total (free plus locked); a base asset keeps its average price."""
        if asset == self.currency:
            self.cash = total
            return
        symbol = self.symbol_of.get(asset)
        if symbol is None:
            self.assets[asset] = total
            return
        holding = self.positions.get(symbol)
        book = self.books[symbol]
        price = holding.average_price if holding is not None and holding.quantity \
            else (book.bid + book.ask) / 2
        self.set_position(symbol, total, price)

    def _charge(self, asset: str, amount: Decimal) -> None:
        if asset == self.currency:
            self.cash -= amount
            return
        symbol = self.symbol_of.get(asset)
        if symbol is None:
            self.assets[asset] = self.assets.get(asset, ZERO) - amount
            return
        holding = self.positions[symbol]
        holding.quantity -= amount
        if not holding.quantity:
            holding.average_price = ZERO

    # fills ---------------------------------------------------------------------------
    def commission_for(self, symbol: str, side: Side, quantity: Decimal,
                       notional: Decimal) -> tuple[Decimal, str]:
        """The commission of a fill of ``quantity`` for ``notional`` USDT, and its asset."""
        base = self.base_of[symbol]
        if self.commission_asset == BNB:
            bnb_symbol = self.symbol_of.get(BNB)
            book = self.books.get(bnb_symbol) if bnb_symbol is not None else None
            if book is not None and book.bid > 0:
                fee = (notional * self.rate / ((book.bid + book.ask) / 2)).quantize(
                    _EIGHT, ROUND_HALF_UP)
                if self.balance(BNB)[0] >= fee:
                    return fee, BNB
        if self.commission_asset == "quote" or side is Side.SELL:
            return (notional * self.rate).quantize(_EIGHT, ROUND_HALF_UP), self.currency
        return (quantity * self.rate).quantize(_EIGHT, ROUND_HALF_UP), base

    def apply_fill(self, symbol: str, side: Side, quantity: Decimal, price: Decimal,
                   notional: Decimal, fee: Decimal) -> None:
        """Book one execution and charge its commission, in one step."""
        super().apply_fill(symbol, side, quantity, price, notional, fee)
        commission, asset = self.commission_for(symbol, side, quantity, notional)
        if commission:
            self._charge(asset, commission)
        seq = self.trade_seq[symbol] = self.trade_seq.get(symbol, 0) + 1
        self.fill_records.append(FillRecord(seq, commission, asset))


def install(sim: Simulator, *, commission_bps: Decimal, commission_asset: str,
            order_prefix: str) -> BinanceAccount:
    """Make ``sim``'s account a :class:`BinanceAccount` (kept as is when it already is one:
    a venue restored from its saved state), with these commission settings."""
    account = sim.account
    if not isinstance(account, BinanceAccount):
        account.__class__ = BinanceAccount
        assert isinstance(account, BinanceAccount)
        account.assets = {}
        account.fill_records = []
        account.trade_seq = {}
        account.records = OrderRecords(order_prefix)
    specs = sim.symbols
    account.base_of = {spec.symbol: str(spec.base_currency) for spec in specs}
    account.symbol_of = {base: symbol for symbol, base in account.base_of.items()}
    account.books = sim.market.books
    account.rate = commission_bps / _BPS
    account.commission_asset = commission_asset
    return account
