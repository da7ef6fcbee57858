"""What the KIS emulator trades: KRX shares and ETFs in won, whole shares only.

Each product is a :class:`Listing`: a mock :class:`~venuekit_mock.sim.SymbolSpec` (its
``symbol`` is the six-digit KRX code, ``price`` the day's base price, the currency KRW, the
lot one share) and the Korean product name KIS reports as ``prdt_name``. Stocks trade on the
KRX tick table (:data:`~venuekit_mock.sim.KRX_TICK_TABLE`: 1 won below 2,000, 5 below 5,000,
10 below 20,000, 50 below 50,000, 100 below 200,000, 500 below 500,000, then 1,000); ETFs on
a flat 5-won tick.

The defaults cover every band a test needs (the prices are illustrative, not market data):

========  ================  =========  ======
code      name              price      tick
========  ================  =========  ======
005930    삼성전자            71,000     100
000660    SK하이닉스          210,000    500
035720    카카오              45,000     50
010140    삼성중공업          9,500      10
003530    한화투자증권        3,500      5
001510    SK증권              650        1
069500    KODEX 200          35,000     5 (ETF)
========  ================  =========  ======
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from venuekit_mock.sim import KRX_TICK_TABLE, SymbolSpec

__all__ = ["CURRENCY", "DEFAULT_LISTINGS", "DEFAULT_SYMBOLS", "ETF_TICK", "Listing",
           "resolve_listings"]

CURRENCY = "KRW"
ETF_TICK = Decimal(5)
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Listing:
    """One KRX product: its rules and quote generator (``spec``) and its name."""

    spec: SymbolSpec
    name: str

    @property
    def symbol(self) -> str:
        return self.spec.symbol


def stock(code: str, name: str, price: int, size: int = 5_000) -> Listing:
    """A KRX share on the KRX tick table."""
    return Listing(SymbolSpec(code, Decimal(price), tick_size=_ONE, lot_size=_ONE,
                              min_quantity=_ONE, currency=CURRENCY,
                              tick_table=KRX_TICK_TABLE, size=Decimal(size)), name)


def etf(code: str, name: str, price: int, size: int = 20_000) -> Listing:
    """An ETF on the flat 5-won tick."""
    return Listing(SymbolSpec(code, Decimal(price), tick_size=ETF_TICK, lot_size=_ONE,
                              min_quantity=_ONE, currency=CURRENCY, size=Decimal(size)), name)


DEFAULT_LISTINGS: tuple[Listing, ...] = (
    stock("005930", "삼성전자", 71_000),
    stock("000660", "SK하이닉스", 210_000, size=2_000),
    stock("035720", "카카오", 45_000),
    stock("010140", "삼성중공업", 9_500, size=20_000),
    stock("003530", "한화투자증권", 3_500, size=50_000),
    stock("001510", "SK증권", 650, size=200_000),
    etf("069500", "KODEX 200", 35_000),
)
DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = tuple(listing.spec for listing in DEFAULT_LISTINGS)
_DEFAULTS = {listing.symbol: listing for listing in DEFAULT_LISTINGS}


# resolving -------------------------------------------------------------------------------
def _money(value: object) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError(f"expected an exact number such as '71000', got {value!r} "
                         "(floats are not exact: quote the number)")
    if not isinstance(value, int | str | Decimal):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
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


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a product name, got {value!r}")
    return value.strip()


_FIELDS: dict[str, Callable[[object], object]] = {
    "price": _money, "size": _money, "volatility_bps": _money, "spread_ticks": _count,
    "tradable": _flag, "name": _name, "etf": _flag,
}


def _table(code: str, settings: Mapping[str, Any]) -> Listing:
    values: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in _FIELDS:
            raise ValueError(f"{code}: unknown setting {key!r} (known: "
                             f"{', '.join(sorted(_FIELDS))})")
        try:
            values[key] = _FIELDS[key](value)
        except ValueError as exc:
            raise ValueError(f"{code}.{key}: {exc}") from None
    name = values.pop("name", None)
    is_etf = values.pop("etf", None)
    base = _DEFAULTS.get(code)
    if base is None:
        if "price" not in values:
            raise ValueError(f"{code} is not a default product "
                             f"({', '.join(_DEFAULTS)}), so it needs a price")
        base = (etf if is_etf else stock)(code, name or code, 1)
    elif is_etf is not None and is_etf != (not base.spec.tick_table):
        maker = etf if is_etf else stock
        base = maker(code, base.name, int(base.spec.price))
    return Listing(replace(base.spec, **values), name or base.name)


def _checked(listing: Listing) -> Listing:
    spec = listing.spec
    code = spec.symbol
    if not (len(code) == 6 and code.isascii() and code.isalnum()):
        raise ValueError(f"{code!r}: a KRX product code has six characters (e.g. 005930)")
    if spec.currency != CURRENCY:
        raise ValueError(f"{code}: KRX products trade in {CURRENCY}, not {spec.currency}")
    if spec.fractional or spec.lot_size != _ONE:
        raise ValueError(f"{code}: KRX trades whole shares (lot 1, not fractional)")
    if spec.price != spec.price.to_integral_value() or not spec.on_tick(spec.price):
        raise ValueError(f"{code}: the base price {spec.price} is not on the tick grid")
    return listing


def resolve_listings(symbols: object, names: Mapping[str, str] | None = None
                     ) -> tuple[Listing, ...]:
    """Listings from specs, listings, default codes (``"005930"``, or a comma-separated
    string of them), or ``{code: {setting: value}}`` tables (settings: ``price``, ``name``,
    ``etf``, ``size``, ``volatility_bps``, ``spread_ticks``, ``tradable``). ``names`` gives
    the product names of specs passed as such (their code otherwise). Raises ValueError
    naming the problem."""
    if symbols is None:
        return DEFAULT_LISTINGS
    names = dict(names or {})
    listings: list[Listing] = []
    if isinstance(symbols, Mapping):
        for code, settings in symbols.items():
            if settings is not None and not isinstance(settings, Mapping):
                raise ValueError(f"{code}: expected a table of settings, got {settings!r}")
            listings.append(_table(str(code), settings or {}))
    else:
        if isinstance(symbols, str):
            items: list[Any] = [s.strip() for s in symbols.split(",") if s.strip()]
        elif isinstance(symbols, Iterable):
            items = list(symbols)
        else:
            raise ValueError(f"expected products, got {symbols!r}")
        for item in items:
            if isinstance(item, Listing):
                listings.append(item)
            elif isinstance(item, SymbolSpec):
                known = _DEFAULTS.get(item.symbol)
                listings.append(Listing(item, names.get(item.symbol) or (
                    known.name if known is not None else item.symbol)))
            elif isinstance(item, str) and item in _DEFAULTS:
                listings.append(_DEFAULTS[item])
            elif isinstance(item, str):
                raise ValueError(f"{item!r} is not a default product ({', '.join(_DEFAULTS)});"
                                 f" define it with a table: symbols.{item}.price = ...")
            else:
                raise ValueError(f"a product is a SymbolSpec or a code, got {item!r}")
    listings = [_checked(listing) for listing in listings]
    if not listings:
        raise ValueError("at least one product is needed")
    codes = [listing.symbol for listing in listings]
    if len(set(codes)) != len(codes):
        raise ValueError(f"a product is listed twice ({', '.join(codes)})")
    return tuple(listings)
