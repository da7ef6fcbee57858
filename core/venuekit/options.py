"""Parsing a venue's settings: the values of ``-o key=value`` options and ``venuekit.toml``.

Venue plugins read their settings from the constructor, the CLI's options (strings) and
config tables (TOML values). These parsers accept both and raise ``INVALID_CONFIG`` naming
the venue and the key, with what a valid value looks like. :func:`confirm_live` is the
second of live trading's two opt-ins, shared by every venue.
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import Code, error

__all__ = ["FALSE", "TRUE", "confirm_live", "parse_bool", "parse_pool", "parse_seconds"]

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off", ""})

Pool = tuple[int, float]


def parse_bool(value: object, *, venue: str, key: str) -> bool:
    """``True``/``False``, or one of :data:`TRUE` / :data:`FALSE` in any case."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise error(Code.INVALID_CONFIG, f"{venue}: {key} must be true or false, got {value!r}",
                venue=venue)


def parse_seconds(value: object, *, venue: str, key: str) -> float:
    """A positive number of seconds."""
    try:
        number = float(str(value))
    except ValueError:
        number = -1.0
    if not number > 0:
        raise error(Code.INVALID_CONFIG, f"{venue}: {key} must be a positive number of "
                    f"seconds, got {value!r}", venue=venue)
    return number


def parse_pool(value: object, *, venue: str, key: str, default_period: float) -> Pool:
    """A rate-limit pool: ``6000`` (per ``default_period`` seconds) or ``6000/60`` (per so
    many seconds), as ``(capacity, seconds)``."""
    count, _, period = str(value).strip().partition("/")
    try:
        capacity, seconds = int(count), float(period) if period else default_period
    except ValueError:
        capacity = seconds = 0
    if capacity <= 0 or not seconds > 0:
        raise error(Code.INVALID_CONFIG, f"{venue}: {key} must be a capacity per "
                    f"{default_period:g} seconds ({count or 'N'}) or capacity/seconds "
                    f"(6000/60), got {value!r}", venue=venue)
    return capacity, seconds


def confirm_live(venue: str, env: Mapping[str, str]) -> None:
    """Live trading's second opt-in: ``VENUEKIT_LIVE=1`` in the environment (the first is
    the venue's own ``live = true``). Raises ``LIVE_TRADING_NOT_CONFIRMED`` without it."""
    if env.get("VENUEKIT_LIVE", "").strip().lower() in TRUE:
        return
    raise error(Code.LIVE_TRADING_NOT_CONFIRMED, f"live trading at {venue} needs both opt-ins; "
                "missing: VENUEKIT_LIVE=1 in the environment", venue=venue)
