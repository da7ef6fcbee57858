"""Configuration of the mock venue from plain values: CLI options and config-file sections.

:func:`parse_config` turns a mapping of strings, numbers, booleans, lists and nested
mappings (a TOML or JSON section, or ``key=value`` options where dotted keys such as
``faults.drop_response`` nest) into ``MockVenue`` keyword arguments. Every problem raises
``ConfigurationError`` (``INVALID_CONFIG``) naming the key. Amounts of money refuse floats
(pass ``"100000.50"``); durations and probabilities accept them.

The full reference, with examples, is in ``docs/venues/mock.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from venuekit.errors import Code, VenueKitError, error
from venuekit.venue import RateLimitPool

from .sim import (
    DEFAULT_SYMBOLS,
    KRX_TICK_TABLE,
    CommissionModel,
    Fault,
    FaultPlan,
    NoCommission,
    NoSlippage,
    PercentageCommission,
    PercentageSlippage,
    PerShareCommission,
    SlippageModel,
    SymbolSpec,
    TieredCommission,
    VolumeImpactSlippage,
)

__all__ = ["STOP_MODES", "money", "parse_config", "resolve_symbols"]

STOP_MODES = ("native", "emulated", "none")
"""How the mock venue offers stop, stop-limit and trailing-stop orders (its ``stops``)."""

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class _Bad(ValueError):
    """A value problem; :func:`parse_config` adds the key and raises ConfigurationError."""


def money(value: object) -> Decimal:
    """An exact amount from a Decimal, an int or a decimal string; floats are refused."""
    if isinstance(value, bool | float):
        raise _Bad(f"expected an exact decimal such as '12.50', got {value!r} "
                   "(floats are not exact: quote the number)")
    if isinstance(value, Decimal | int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise _Bad(f"{value!r} is not a decimal number") from None
    else:
        raise _Bad(f"expected a decimal number, got {type(value).__name__}")
    if not result.is_finite():
        raise _Bad(f"expected a finite number, got {value!r}")
    return result


def _fraction(value: object) -> Decimal:
    """A probability: floats are fine here (0.05 in TOML means what it says)."""
    number = Decimal(repr(value)) if isinstance(value, float) else money(value)
    if not number.is_finite() or not 0 <= number <= 1:
        raise _Bad(f"expected a probability between 0 and 1, got {value!r}")
    return number


def _seconds(value: object) -> float:
    if isinstance(value, bool):
        raise _Bad(f"expected a number of seconds, got {value!r}")
    try:
        seconds = float(value) if isinstance(value, int | float | str | Decimal) else None
    except ValueError:
        seconds = None
    if seconds is None or seconds != seconds or seconds < 0 or seconds == float("inf"):
        raise _Bad(f"expected a number of seconds >= 0, got {value!r}")
    return seconds


def _integer(value: object, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _Bad(f"expected an integer, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise _Bad(f"expected an integer, got {value!r}") from None
    if number < minimum:
        raise _Bad(f"expected an integer >= {minimum}, got {number}")
    return number


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Bad(f"expected true or false, got {value!r}")


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _items(value: object) -> list[Any]:
    """A list from a list or a comma-separated string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, Sequence):
        return list(value)
    raise _Bad(f"expected a list or a comma-separated string, got {value!r}")


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(f"expected a table of settings, got {value!r}")
    return value


# symbols ---------------------------------------------------------------------------------
_DEFAULTS = {spec.symbol: spec for spec in DEFAULT_SYMBOLS}
_SPEC_FIELDS: dict[str, tuple[str, Callable[[object], object]]] = {
    "price": ("price", money), "tick_size": ("tick_size", money), "tick": ("tick_size", money),
    "lot_size": ("lot_size", money), "lot": ("lot_size", money),
    "min_quantity": ("min_quantity", money), "min_notional": ("min_notional", money),
    "fractional": ("fractional", _boolean), "currency": ("currency", _text),
    "base_currency": ("base_currency", _text),
    "tradable": ("tradable", _boolean), "volatility_bps": ("volatility_bps", money),
    "spread_ticks": ("spread_ticks", lambda v: _integer(v, 1)), "size": ("size", money),
}


def _tick_table(value: object) -> tuple[tuple[Decimal, Decimal], ...]:
    if isinstance(value, str) and value.strip().lower() == "krx":
        return KRX_TICK_TABLE
    bands = []
    for band in _items(value):
        parts = band.split(":") if isinstance(band, str) else band
        if not isinstance(parts, Sequence) or len(parts) != 2:
            raise _Bad(f"a tick band is 'floor:tick' or [floor, tick], got {band!r}")
        bands.append((money(parts[0]), money(parts[1])))
    return tuple(bands)


def _symbol(symbol: str, settings: Mapping[str, Any]) -> SymbolSpec:
    base = _DEFAULTS.get(symbol)
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        if key == "tick_table":
            changes["tick_table"] = _tick_table(value)
            continue
        if key not in _SPEC_FIELDS:
            raise _Bad(f"{symbol}: unknown setting {key!r} (known: tick_table, "
                       f"{', '.join(sorted(_SPEC_FIELDS))})")
        field, parse = _SPEC_FIELDS[key]
        try:
            changes[field] = parse(value)
        except _Bad as exc:
            raise _Bad(f"{symbol}.{key}: {exc}") from None
    if base is None:
        if "price" not in changes:
            raise _Bad(f"{symbol} is not a default symbol, so it needs a price")
        return SymbolSpec(symbol, **changes)
    return replace(base, **changes)


def resolve_symbols(symbols: object) -> tuple[SymbolSpec, ...]:
    """Specs from specs, default symbol names, or ``{symbol: {setting: value}}`` tables."""
    if isinstance(symbols, Mapping):
        return tuple(_symbol(str(name), _mapping(settings) if settings else {})
                     for name, settings in symbols.items())
    specs = []
    for item in _items(symbols):
        if isinstance(item, SymbolSpec):
            specs.append(item)
        elif isinstance(item, str):
            if item not in _DEFAULTS:
                raise _Bad(f"{item!r} is not a default symbol ({', '.join(_DEFAULTS)}); "
                           f"define it with a table: symbols.{item}.price = ...")
            specs.append(_DEFAULTS[item])
        elif isinstance(item, Mapping) and "symbol" in item:
            settings = {k: v for k, v in item.items() if k != "symbol"}
            specs.append(_symbol(_text(item["symbol"]), settings))
        else:
            raise _Bad(f"a symbol is a name or a table with a 'symbol' key, got {item!r}")
    if not specs:
        raise _Bad("at least one symbol is needed")
    return tuple(specs)


# models ----------------------------------------------------------------------------------
def _model_settings(value: object) -> tuple[str, Mapping[str, Any]]:
    if isinstance(value, str):
        return value.strip().lower(), {}
    settings = _mapping(value)
    return _text(settings.get("model", "")).lower(), settings


def _only(settings: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(settings) - allowed - {"model"}
    if unknown:
        raise _Bad(f"unknown setting(s) {', '.join(sorted(unknown))} "
                   f"(known: {', '.join(sorted(allowed)) or 'none'})")


def _slippage(value: object) -> SlippageModel:
    model, settings = _model_settings(value)
    if model == "none":
        _only(settings, set())
        return NoSlippage()
    if model == "percentage":
        _only(settings, {"bps"})
        return PercentageSlippage(money(settings.get("bps", 0)))
    if model == "volume_impact":
        _only(settings, {"temporary_bps", "permanent_bps"})
        return VolumeImpactSlippage(money(settings.get("temporary_bps", 0)),
                                    money(settings.get("permanent_bps", 0)))
    raise _Bad(f"model must be none, percentage or volume_impact, got {model!r}")


def _commission(value: object) -> CommissionModel:
    model, settings = _model_settings(value)
    if model == "none":
        _only(settings, set())
        return NoCommission()
    if model == "percentage":
        _only(settings, {"bps"})
        return PercentageCommission(money(settings.get("bps", 0)))
    if model == "tiered":
        _only(settings, {"tiers"})
        tiers = []
        for tier in _items(settings.get("tiers", "")):
            parts = tier.split(":") if isinstance(tier, str) else tier
            if not isinstance(parts, Sequence) or len(parts) != 2:
                raise _Bad(f"a tier is 'volume:bps' or [volume, bps], got {tier!r}")
            tiers.append((money(parts[0]), money(parts[1])))
        return TieredCommission(tiers)
    if model == "per_share":
        _only(settings, {"per_share", "minimum", "maximum_bps"})
        maximum = settings.get("maximum_bps")
        return PerShareCommission(money(settings.get("per_share", 0)),
                                  money(settings.get("minimum", 0)),
                                  money(maximum) if maximum is not None else None)
    raise _Bad(f"model must be none, percentage, tiered or per_share, got {model!r}")


# rate limits and faults ------------------------------------------------------------------
def _rate_limits(value: object) -> tuple[RateLimitPool, ...]:
    """``{pool: {capacity, period}}`` or ``"orders=10/1, requests=200/60"``."""
    pools = []
    if isinstance(value, Mapping):
        for name, spec in value.items():
            settings = _mapping(spec)
            _only(settings, {"capacity", "period"})
            pools.append(RateLimitPool(str(name), _integer(settings.get("capacity"), 1),
                                       _seconds(settings.get("period"))))
        return tuple(pools)
    for item in _items(value):
        name, _, budget = str(item).partition("=")
        capacity, _, period = budget.partition("/")
        if not name.strip() or not period:
            raise _Bad(f"a pool is 'name=capacity/seconds', got {item!r}")
        pools.append(RateLimitPool(name.strip(), _integer(capacity, 1), _seconds(period)))
    return tuple(pools)


def _weights(value: object) -> dict[str, dict[str, int]]:
    return {str(operation): {str(pool): _integer(weight) for pool, weight
                             in _mapping(charges).items()}
            for operation, charges in _mapping(value).items()}


def _faults(value: object, seed: int) -> FaultPlan:
    settings = dict(_mapping(value))
    options: dict[str, Any] = {"seed": seed}
    if "server_error_after_accept" in settings:
        options["server_error_after_accept"] = _boolean(
            settings.pop("server_error_after_accept"))
    if "retry_after" in settings:
        options["retry_after"] = _seconds(settings.pop("retry_after"))
    if "auth_failure" in settings:
        options["auth_failure"] = _boolean(settings.pop("auth_failure"))
    if "operations" in settings:
        options["operations"] = [str(op) for op in _items(settings.pop("operations"))]
    schedule = {}
    for name, indices in _mapping(settings.pop("schedule", {})).items():
        schedule[_fault_name(str(name))] = [_integer(i, 1) for i in _items(indices)]
    probabilities = {}
    for name, probability in settings.items():
        probabilities[_fault_name(name)] = _fraction(probability)
    return FaultPlan(probabilities, schedule, **options)


def _fault_name(name: str) -> str:
    try:
        return Fault(name).value
    except ValueError:
        raise _Bad(f"unknown fault {name!r} (known: {', '.join(f.value for f in Fault)}, "
                   "schedule, server_error_after_accept, retry_after, auth_failure, "
                   "operations)") from None


# the whole section -----------------------------------------------------------------------
def _start(value: object) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(_text(value))
        except ValueError:
            raise _Bad(f"expected an ISO 8601 time such as 2024-01-02T14:30:00Z, "
                       f"got {value!r}") from None
    if moment.tzinfo is None:
        raise _Bad("the start time needs a UTC offset (for example a trailing Z)")
    return moment


_SIMPLE: dict[str, Callable[[object], object]] = {
    "symbols": resolve_symbols,
    "cash": money,
    "currency": _text,
    "slippage": _slippage,
    "commission": _commission,
    "short_selling": _boolean,
    "client_order_ids": _boolean,
    "client_order_id_max_length": lambda v: _integer(v, 1),
    "order_stream": _boolean,
    "replace": _boolean,
    "latency": _seconds,
    "stream_delay": _seconds,
    "visibility_delay": _seconds,
    "rate_limits": _rate_limits,
    "weights": _weights,
    "clock": lambda v: _choice(v, ("wall", "sim")),
    "start": _start,
    "steps_per_session": lambda v: _integer(v, 1),
    "replay": _text,
    "halted": lambda v: tuple(_text(symbol) for symbol in _items(v)),
    "market_reserve_bps": money,
    "state_path": _text,
    "stops": lambda v: _choice(v, STOP_MODES),
}
KEYS = frozenset({*_SIMPLE, "seed", "faults", "tick_interval", "step_seconds"})
"""Every key :func:`parse_config` accepts."""


def _choice(value: object, options: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in options:
        raise _Bad(f"expected one of {', '.join(options)}, got {value!r}")
    return text


def _nest(config: Mapping[str, Any]) -> dict[str, Any]:
    """Fold dotted keys (``faults.drop_response``) into nested tables."""
    nested: dict[str, Any] = {}
    for key, value in config.items():
        parts = str(key).split(".")
        table = nested
        for part in parts[:-1]:
            existing = table.get(part)
            if not isinstance(existing, dict):
                existing = table[part] = dict(existing) if isinstance(existing, Mapping) \
                    else {}
            table = existing
        leaf = parts[-1]
        if isinstance(value, Mapping) and isinstance(table.get(leaf), dict):
            table[leaf].update(value)
        else:
            table[leaf] = dict(value) if isinstance(value, Mapping) else value
    return nested


CLI_TICK_INTERVAL = 0.05
STATE_FILE = "mock-venue.state"
"""The venue state's file name in the state directory (see ``MockVenue.from_config``)."""


def parse_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``MockVenue`` keyword arguments from a configuration mapping."""
    nested = _nest(config)
    unknown = set(nested) - KEYS
    if unknown:
        raise error(Code.INVALID_CONFIG, f"mock: unknown setting(s) "
                    f"{', '.join(sorted(unknown))} (known: {', '.join(sorted(KEYS))})",
                    venue="mock")
    options: dict[str, Any] = {}
    key = "seed"
    try:
        seed = options["seed"] = _integer(nested.get("seed", 0))
        for key, value in nested.items():
            if key in _SIMPLE:
                options[key] = _SIMPLE[key](value)
            elif key == "faults":
                options["faults"] = _faults(value, seed)
            elif key == "tick_interval":
                options["tick_interval"] = None if value in (None, "", "none") \
                    else _seconds(value) or None
            elif key == "step_seconds":
                seconds = _seconds(value)
                if not seconds:
                    raise _Bad("a step must last more than 0 seconds")
                options["step"] = timedelta(seconds=seconds)
    except (_Bad, ValueError, OverflowError) as exc:  # OverflowError: an absurd duration
        raise error(Code.INVALID_CONFIG, f"mock: {key}: {exc}", venue="mock") from None
    except VenueKitError:
        raise
    # Built from a CLI or a config file, the venue lives across commands like a real one:
    # its market moves on its own and its orders and ledger persist between runs.
    options.setdefault("tick_interval", CLI_TICK_INTERVAL)
    if "state_path" in options and options["state_path"] in ("", "none"):
        options["state_path"] = None  # kept in memory, as asked
    return options
