"""``KisEmulator.from_config``: emulator keyword options from ``-o key=value`` settings.

Keys of the emulator's own: ``app_key``, ``app_secret``, ``account`` (``CANO-ACNT_PRDT_CD``),
``hts_id``, ``stall`` (seconds a timed-out request is held), ``rate_limit`` (requests per
second), ``token_interval`` and ``token_lifetime`` (seconds), ``record_fields`` (26 or 23),
``heartbeat`` (seconds; 0 turns it off) and ``symbols`` (KRX codes of the defaults, or
tables such as ``symbols.005930.price=70000``, ``symbols.123456.name=…``,
``symbols.123456.etf=true``). The mock venue's market, account, latency and fault settings
pass through (``cash``, ``seed``, ``latency``, ``faults.*``, ``tick_interval``, ``clock``,
``start``, ``step_seconds``, ``steps_per_session``, ``replay``, ``halted``, ``slippage``,
``stream_delay``, ``visibility_delay``, ``market_reserve_bps``; see ``docs/venues/mock.md``).
The market moves on its own (``tick_interval`` 0.05 s) unless told otherwise. Settings KIS's
behaviour fixes (``currency``, ``commission``, ``short_selling``, ``client_order_ids``,
``state_path``, ...) are refused, and so is any unknown key: each problem raises
``ConfigurationError`` (``INVALID_CONFIG``) naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from venuekit.errors import Code, VenueKitError, error
from venuekit_mock.config import KEYS as MOCK_KEYS
from venuekit_mock.config import parse_config

from .symbols import resolve_listings

__all__ = ["config_error", "options_from_config"]

_FIXED = frozenset({"client_order_ids", "client_order_id_max_length", "order_stream",
                    "replace", "rate_limits", "weights", "currency", "commission",
                    "short_selling", "state_path"})


def config_error(message: str) -> VenueKitError:
    return error(Code.INVALID_CONFIG, f"kis emulator: {message}", venue="kis")


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number of seconds, got {value!r}")
    seconds = float(value)
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        raise ValueError(f"expected a number of seconds >= 0, got {value!r}")
    return seconds


def _rate(value: object) -> float:
    rate = _seconds(value)
    if not rate:
        raise ValueError("expected a number of requests per second > 0")
    return rate


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _fields(value: object) -> int:
    if isinstance(value, bool) or str(value).strip() not in ("23", "26"):
        raise ValueError(f"expected 26 or 23, got {value!r}")
    return int(str(value).strip())


_OWN: dict[str, Callable[[object], object]] = {
    "app_key": _text, "app_secret": _text, "account": _text, "hts_id": _text,
    "stall": _seconds, "rate_limit": _rate, "token_interval": _seconds,
    "token_lifetime": _rate, "record_fields": _fields, "heartbeat": _seconds,
}


def _as_table(value: object) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        return {name.strip(): {} for name in value.split(",") if name.strip()}
    if isinstance(value, list | tuple):
        return {str(name): {} for name in value}
    return {}


def _symbols(config: Mapping[str, Any]) -> dict[str, Any]:
    """Fold ``symbols`` and ``symbols.<code>.<setting>`` keys into one table."""
    table: dict[str, Any] = {}
    for key, value in config.items():
        parts = str(key).split(".")
        if len(parts) == 1:
            for code, settings in _as_table(value).items():
                table.setdefault(code, {}).update(settings or {})
        elif len(parts) == 3:
            table.setdefault(parts[1], {})[parts[2]] = value
        else:
            raise ValueError(f"{key}: expected symbols.<code>.<setting>")
    return table


def options_from_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """:class:`~.server.KisEmulator` keyword options from plain settings."""
    known = (MOCK_KEYS - _FIXED - {"symbols"}) | set(_OWN) | {"symbols"}
    own: dict[str, Any] = {}
    symbols: dict[str, Any] = {}
    mock: dict[str, Any] = {}
    for key, value in config.items():
        top = str(key).split(".")[0]
        if top in _FIXED:
            raise config_error(f"{top!r} is fixed by KIS's behaviour and cannot be set")
        if top not in known:
            raise config_error(f"unknown setting {top!r} (known: {', '.join(sorted(known))})")
        if top == "symbols":
            symbols[str(key)] = value
        elif top in _OWN:
            own[top] = value
        else:
            mock[str(key)] = value
    try:
        options = parse_config(mock)
    except VenueKitError as exc:
        raise config_error(exc.message.removeprefix("mock: ")) from None
    options.pop("state_path", None)
    options.pop("commission", None)
    name = ""
    try:
        for name, value in own.items():
            options[name] = _OWN[name](value)
        name = "symbols"
        if symbols:
            options["symbols"] = resolve_listings(_symbols(symbols))
    except (ValueError, TypeError) as exc:
        raise config_error(f"{name}: {exc}") from None
    return options
