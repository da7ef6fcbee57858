"""``BinanceEmulator.from_config``: emulator keyword options from ``-o key=value`` settings.

Keys of the emulator's own: ``api_key``, ``secret_key``, ``stall`` (seconds a timed-out
request is held), ``commission_bps``, ``commission_asset`` (``received``, ``quote`` or
``BNB``), ``bnb`` (the BNB balance), ``balances.<ASSET>`` (other assets' balances),
``weight_limit``, ``orders_per_10s``, ``orders_per_day``, ``weight_window`` (seconds),
``ban_seconds``, ``ban_grace`` (seconds after a 429 in which more requests get a 429
rather than a ban), and ``symbols`` (Binance pairs: names of the defaults, or tables such as
``symbols.BTCUSDT.price=65000``). The mock venue's market, account, latency and fault
settings pass through (``cash``, ``seed``, ``latency``, ``faults.*``, ``tick_interval``,
``clock``, ``start``, ``step_seconds``, ``steps_per_session``, ``replay``, ``halted``,
``slippage``, ``stream_delay``, ``visibility_delay``, ``market_reserve_bps``,
``state_path``; see ``docs/venues/mock.md``). The market moves on its own (``tick_interval``
0.05 s) unless told otherwise. Settings Binance's behaviour fixes (``currency``,
``commission``, ``client_order_ids``, ``short_selling``, ...) are refused, and so is any
unknown key: each problem raises ``ConfigurationError`` (``INVALID_CONFIG``) naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from venuekit.errors import Code, VenueKitError, error
from venuekit_mock.config import KEYS as MOCK_KEYS
from venuekit_mock.config import parse_config

from .account import COMMISSION_ASSETS
from .symbols import resolve_symbols

__all__ = ["options_from_config"]

_FIXED = frozenset({"client_order_ids", "client_order_id_max_length", "order_stream",
                    "replace", "rate_limits", "weights", "currency", "commission",
                    "short_selling"})


def _bad(message: str) -> VenueKitError:
    return error(Code.INVALID_CONFIG, f"binance emulator: {message}", venue="binance")


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(value)


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number of seconds, got {value!r}")
    seconds = float(value)
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        raise ValueError(f"expected a number of seconds >= 0, got {value!r}")
    return seconds


def _money(value: object) -> Decimal:
    if isinstance(value, bool | float) or not isinstance(value, int | str | Decimal):
        raise ValueError(f"expected an exact decimal such as '5', got {value!r} (quote it)")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _asset(value: object) -> str:
    text = _text(value)
    if text.lower() == "bnb":
        return "BNB"
    if text not in COMMISSION_ASSETS:
        raise ValueError(f"expected one of {', '.join(COMMISSION_ASSETS)}, got {value!r}")
    return text


_OWN: dict[str, Callable[[object], object]] = {
    "api_key": _text, "secret_key": _text, "stall": _seconds, "commission_bps": _money,
    "commission_asset": _asset, "weight_limit": _integer, "orders_per_10s": _integer,
    "orders_per_day": _integer, "weight_window": _seconds, "ban_seconds": _seconds,
    "ban_grace": _seconds,
}
_SPECIAL = frozenset({"symbols", "bnb", "balances"})


def _as_table(value: object) -> dict[str, Any]:
    """A table from a table, or from a list of names (``"BTCUSDT,ETHUSDT"``)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        return {name.strip(): {} for name in value.split(",") if name.strip()}
    if isinstance(value, list | tuple):
        return {str(name): {} for name in value}
    return {}


def _nest(config: Mapping[str, Any]) -> dict[str, Any]:
    """Fold dotted keys (``symbols.BTCUSDT.price``) into nested tables; a list of names
    and tables under the same key merge (``symbols=BTCUSDT,ETHUSDT`` with
    ``symbols.BTCUSDT.price=65000``)."""
    nested: dict[str, Any] = {}
    for key, value in config.items():
        parts = str(key).split(".")
        table = nested
        for part in parts[:-1]:
            inner = table.get(part)
            if not isinstance(inner, dict):
                inner = table[part] = _as_table(inner)
            table = inner
        leaf = parts[-1]
        if isinstance(table.get(leaf), dict):
            table[leaf] = _as_table(value) | table[leaf]
        else:
            table[leaf] = dict(value) if isinstance(value, Mapping) else value
    return nested


def options_from_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """:class:`~.server.BinanceEmulator` keyword options from plain settings."""
    known = (MOCK_KEYS - _FIXED - {"symbols"}) | set(_OWN) | _SPECIAL
    own: dict[str, Any] = {}
    mock: dict[str, Any] = {}
    for key, value in config.items():
        top = str(key).split(".")[0]
        if top in _FIXED:
            raise _bad(f"{top!r} is fixed by Binance's behaviour and cannot be set")
        if top not in known:
            raise _bad(f"unknown setting {top!r} (known: {', '.join(sorted(known))})")
        (own if top in _OWN or top in _SPECIAL else mock)[str(key)] = value
    try:
        options = parse_config(mock)
    except VenueKitError as exc:
        raise _bad(exc.message.removeprefix("mock: ")) from None
    if "state_path" not in mock:
        options.pop("state_path", None)
    options.pop("commission", None)
    nested = _nest(own)
    name = ""
    try:
        for name, parse in _OWN.items():
            if name in nested:
                options[name] = parse(nested[name])
        name = "symbols"
        if "symbols" in nested:
            options["symbols"] = resolve_symbols(nested["symbols"])
        name = "balances"
        balances = {str(asset): _money(amount)
                    for asset, amount in dict(nested.get("balances") or {}).items()}
        name = "bnb"
        if "bnb" in nested:
            balances["BNB"] = _money(nested["bnb"])
        if balances:
            options["balances"] = balances
    except (ValueError, TypeError) as exc:
        raise _bad(f"{name}: {exc}") from None
    return options
