"""What the Binance emulator trades: spot pairs quoted in USDT, and their exchange filters.

Each pair is a mock :class:`~venuekit_mock.sim.SymbolSpec` whose ``symbol`` is Binance's
symbol id (``BTCUSDT``), whose ``base_currency`` is the asset bought and sold (``BTC``) and
whose ``currency`` is the quote asset (``USDT``, the account's cash). ``/api/v3/exchangeInfo``
derives each symbol's filters from its spec:

* ``PRICE_FILTER``: ``minPrice`` one tick, ``maxPrice`` 10^8 ticks, ``tickSize`` the tick;
* ``LOT_SIZE`` and ``MARKET_LOT_SIZE``: ``minQty`` the spec's minimum quantity (one lot when
  it has none), ``maxQty`` 9 * 10^8 lots, ``stepSize`` the lot;
* ``NOTIONAL``: ``minNotional`` the spec's minimum notional, applied to market orders too,
  and a ``maxNotional`` of 9,000,000 that market orders ignore (Binance's usual settings).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from venuekit_mock.sim import SymbolSpec

__all__ = ["DEFAULT_SYMBOLS", "QUOTE", "Filters", "filters", "resolve_symbols"]

QUOTE = "USDT"
"""The quote asset of every pair, and the account's cash."""

_MAX_PRICE_TICKS = Decimal(10) ** 8
_MAX_QTY_LOTS = Decimal(9) * Decimal(10) ** 8
MAX_NOTIONAL = Decimal(9_000_000)


def _pair(base: str, price: str, lot: str, size: str) -> SymbolSpec:
    return SymbolSpec(f"{base}{QUOTE}", Decimal(price), tick_size=Decimal("0.01"),
                      lot_size=Decimal(lot), min_quantity=Decimal(lot),
                      min_notional=Decimal(5), fractional=True, currency=QUOTE,
                      base_currency=base, size=Decimal(size))


DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = (
    _pair("BTC", "60000", "0.00001", "5"),
    _pair("ETH", "3000", "0.0001", "80"),
    _pair("BNB", "600", "0.001", "400"),
    _pair("SOL", "150", "0.001", "2000"),
)
"""BTCUSDT, ETHUSDT, BNBUSDT and SOLUSDT: tick 0.01, minimum notional 5 USDT."""

_DEFAULTS = {spec.symbol: spec for spec in DEFAULT_SYMBOLS}


@dataclass(frozen=True, slots=True)
class Filters:
    """One symbol's exchange filters, as ``exchangeInfo`` lists them."""

    min_price: Decimal
    max_price: Decimal
    tick_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    step_size: Decimal
    min_notional: Decimal
    max_notional: Decimal


def filters(spec: SymbolSpec) -> Filters:
    """The filters ``spec`` implies (see the module documentation)."""
    return Filters(min_price=spec.tick_size, max_price=spec.tick_size * _MAX_PRICE_TICKS,
                   tick_size=spec.tick_size,
                   min_qty=spec.min_quantity or spec.lot_size,
                   max_qty=spec.lot_size * _MAX_QTY_LOTS, step_size=spec.lot_size,
                   min_notional=spec.min_notional, max_notional=MAX_NOTIONAL)


# resolving -------------------------------------------------------------------------------
def _money(value: object) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError(f"expected an exact decimal such as '0.01', got {value!r} "
                         "(floats are not exact: quote the number)")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(value)


_FIELDS: dict[str, tuple[str, Callable[[object], object]]] = {
    "price": ("price", _money), "tick_size": ("tick_size", _money),
    "tick": ("tick_size", _money), "lot_size": ("lot_size", _money),
    "lot": ("lot_size", _money), "min_quantity": ("min_quantity", _money),
    "min_notional": ("min_notional", _money), "base_currency": ("base_currency", str),
    "tradable": ("tradable", _flag), "volatility_bps": ("volatility_bps", _money),
    "spread_ticks": ("spread_ticks", _count), "size": ("size", _money),
}


def _base_of(symbol: str) -> str:
    if symbol.endswith(QUOTE) and len(symbol) > len(QUOTE):
        return symbol[:-len(QUOTE)]
    raise ValueError(f"{symbol}: a Binance emulator pair is quoted in {QUOTE} "
                     f"(BASE{QUOTE}), or names its base_currency")


def _table(symbol: str, settings: Mapping[str, Any]) -> SymbolSpec:
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in _FIELDS:
            raise ValueError(f"{symbol}: unknown setting {key!r} (known: "
                             f"{', '.join(sorted(_FIELDS))})")
        name, parse = _FIELDS[key]
        try:
            changes[name] = parse(value)
        except ValueError as exc:
            raise ValueError(f"{symbol}.{key}: {exc}") from None
    base = _DEFAULTS.get(symbol)
    if base is not None:
        return replace(base, **changes)
    if "price" not in changes:
        raise ValueError(f"{symbol} is not a default symbol "
                         f"({', '.join(_DEFAULTS)}), so it needs a price")
    changes.setdefault("base_currency", _base_of(symbol))
    changes.setdefault("lot_size", Decimal("0.001"))
    changes.setdefault("min_quantity", changes["lot_size"])
    return SymbolSpec(symbol, currency=QUOTE, fractional=True, **changes)


def _checked(spec: SymbolSpec) -> SymbolSpec:
    if spec.currency != QUOTE:
        raise ValueError(f"{spec.symbol}: the Binance emulator's pairs are quoted in {QUOTE} "
                         f"(the account's cash), not {spec.currency}")
    if spec.tick_table:
        raise ValueError(f"{spec.symbol}: Binance has one tick per symbol (no tick_table)")
    if spec.base_currency is None:
        spec = replace(spec, base_currency=_base_of(spec.symbol))
    return spec


def resolve_symbols(symbols: object) -> tuple[SymbolSpec, ...]:
    """Specs from specs, default pair names (``"BTCUSDT"``, or a comma-separated string of
    them), or ``{symbol: {setting: value}}`` tables; raises ValueError naming the problem.

    Every pair is quoted in USDT; a pair's base asset is its ``base_currency`` (by default
    the symbol without its ``USDT`` suffix). Base assets must differ from each other.
    """
    if symbols is None:
        return DEFAULT_SYMBOLS
    specs: list[SymbolSpec] = []
    if isinstance(symbols, Mapping):
        for name, settings in symbols.items():
            if settings is not None and not isinstance(settings, Mapping):
                raise ValueError(f"{name}: expected a table of settings, got {settings!r}")
            specs.append(_table(str(name), settings or {}))
    else:
        items: Sequence[Any] = ([s.strip() for s in symbols.split(",") if s.strip()]
                                if isinstance(symbols, str) else list(symbols))  # type: ignore[call-overload]
        for item in items:
            if isinstance(item, SymbolSpec):
                specs.append(item)
            elif isinstance(item, str) and item in _DEFAULTS:
                specs.append(_DEFAULTS[item])
            elif isinstance(item, str):
                raise ValueError(f"{item!r} is not a default symbol ({', '.join(_DEFAULTS)}); "
                                 f"define it with a table: symbols.{item}.price = ...")
            else:
                raise ValueError(f"a symbol is a SymbolSpec or a name, got {item!r}")
    specs = [_checked(spec) for spec in specs]
    if not specs:
        raise ValueError("at least one symbol is needed")
    bases = [spec.base_currency for spec in specs]
    if len(set(bases)) != len(bases) or QUOTE in bases:
        raise ValueError(f"each pair needs its own base asset, other than {QUOTE} "
                         f"(got {', '.join(str(b) for b in bases)})")
    return tuple(specs)
