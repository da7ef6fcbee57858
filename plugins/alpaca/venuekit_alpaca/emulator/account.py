"""The account's history and settings: ``GET /v2/account/portfolio/history`` and
``GET``/``PATCH /v2/account/configurations``.

Portfolio history values the account at the end of each interval: the cash and positions
it held then (today's, with every later execution undone) at the prices of the price
history (:mod:`.prices`). It begins when the emulator started (the account's opening
deposit). ``profit_loss`` is measured from ``base_value``, the equity at the start of the
first interval; ``profit_loss_pct`` is that as a fraction. Numbers are JSON numbers, as
Alpaca sends them here.

The configuration is stored as given and answered back; it does not change how orders are
handled.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from venuekit.model import Side

from . import errors
from .jsonio import loads
from .marketdata import Timeframe
from .rest import json_response
from .sessions import eastern_midnight
from .state import EmulatorState

__all__ = ["AccountApi"]

ZERO = Decimal(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CENTS = Decimal("0.01")
_FRACTION = Decimal("0.000001")
_PERIOD = re.compile(r"^(\d+)([DWMA])$")
_PERIOD_DAYS = {"D": 1, "W": 7, "M": 30, "A": 365}
_TIMEFRAMES = ("1Min", "5Min", "15Min", "1H", "1D")
_MAX_POINTS = 50_000

_CONFIG_CHOICES: dict[str, tuple[Any, ...]] = {
    "dtbp_check": ("both", "entry", "exit"),
    "pdt_check": ("both", "entry", "exit"),
    "trade_confirm_email": ("all", "none"),
    "max_margin_multiplier": ("1", "2", "4"),
    "max_options_trading_level": (0, 1, 2, 3),
}
_CONFIG_FLAGS = ("fractional_trading", "no_shorting", "suspend_trade", "ptp_no_exception_entry")


def _when(text: str, key: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise errors.invalid(f"invalid {key} {text!r}: expected an RFC 3339 time") from None
    if at.tzinfo is None:
        raise errors.invalid(f"invalid {key} {text!r}: the time zone is required")
    return at


def _day(text: str, key: str) -> datetime:
    """Midnight New York time starting the date ``text``."""
    try:
        return eastern_midnight(datetime.fromisoformat(text[:10]).date())
    except ValueError:
        raise errors.invalid(f"invalid {key} {text!r}: expected YYYY-MM-DD") from None


class AccountApi:
    """Portfolio history and account configuration of one emulator."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.venue = state.venue
        if not state.configuration:
            state.configuration.update({
                "fractional_trading": True, "max_margin_multiplier": "1",
                "no_shorting": self.venue.capabilities.short_selling is not True,
                "suspend_trade": False, "trade_confirm_email": "all",
                "ptp_no_exception_entry": False, "max_options_trading_level": 0})

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/v2/account/portfolio/history", self.portfolio_history),
                web.get("/v2/account/configurations", self.configurations),
                web.patch("/v2/account/configurations", self.configure)]

    # configuration -------------------------------------------------------------------
    async def configurations(self, request: web.Request) -> web.Response:
        return json_response(self.state.configuration)

    async def configure(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            body = loads(text) if text.strip() else {}
        except ValueError:
            raise errors.AlpacaError.of(400, errors.INVALID,
                                        "request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise errors.invalid("request body must be a JSON object")
        changes: dict[str, Any] = {}
        for key, value in body.items():
            if value is None:
                continue  # alpaca-py sends every field, unset ones as null
            if key in _CONFIG_FLAGS:
                if not isinstance(value, bool):
                    raise errors.invalid(f"{key} must be true or false")
            elif key in _CONFIG_CHOICES:
                if isinstance(value, Decimal) and value == value.to_integral_value():
                    value = int(value)
                if value not in _CONFIG_CHOICES[key] or isinstance(value, bool):
                    raise errors.invalid(f"invalid {key} {value!r}")
            else:
                raise errors.invalid(f"unknown account configuration {key!r}")
            changes[key] = value
        self.state.configuration.update(changes)
        return json_response(self.state.configuration)

    # portfolio history ---------------------------------------------------------------
    def _window(self, query: Any, now: datetime) -> tuple[datetime, datetime, str]:
        period = query.get("period")
        span = None
        if period is not None:
            match = _PERIOD.match(period)
            if match is None or int(match[1]) < 1:
                raise errors.invalid(f"invalid period {period!r}: a number and D, W, M or A")
            span = timedelta(days=int(match[1]) * _PERIOD_DAYS[match[2]])
        start = (_when(query["start"], "start") if "start" in query
                 else _day(query["date_start"], "date_start") if "date_start" in query
                 else None)
        end = (_when(query["end"], "end") if "end" in query
               else _day(query["date_end"], "date_end") + timedelta(days=1)
               if "date_end" in query else None)
        if end is None:
            end = start + span if start is not None and span is not None else now
        end = min(end, now)
        if start is None:
            start = end - (span or timedelta(days=30))
        if start > end:
            raise errors.invalid("the start of the history is after its end")
        timeframe = query.get("timeframe")
        if timeframe is None:
            length = end - start
            timeframe = ("1Min" if length < timedelta(days=7) else
                         "15Min" if length < timedelta(days=30) else "1D")
        if timeframe not in _TIMEFRAMES:
            raise errors.invalid(f"invalid timeframe {timeframe!r}: one of "
                                 f"{', '.join(_TIMEFRAMES)}")
        return start, end, timeframe

    async def portfolio_history(self, request: web.Request) -> web.Response:
        await self.venue.account()  # the venue's latency and faults apply
        sim = self.venue.simulator
        now: datetime = sim.now()
        history = self.state.history
        history.observe_books(sim.market.books, now)
        start, end, name = self._window(request.query, now)
        timeframe = Timeframe(name)
        opened = timeframe.floor(history.start)
        starts = list(_limited(timeframe.starts(max(start, opened), end)))
        ends = [min(timeframe.following(at), now) for at in starts]
        # Walk back from now: undo each execution from an interval's end on (an execution
        # at an interval's boundary belongs to the interval that begins there).
        cash = sim.account.cash
        held = {s: h.quantity for s, h in sim.account.positions.items() if h.quantity}
        fills = sorted(sim.ledger.fills, key=lambda f: f.at)
        equity: list[Decimal] = []
        for at in reversed([starts[0], *ends] if starts else []):
            while fills and (fills[-1].at > at or (fills[-1].at == at and at < now)):
                fill = fills.pop()
                sign = 1 if fill.side is Side.BUY else -1
                cash += sign * fill.quantity * fill.price + fill.fee
                held[fill.symbol] = held.get(fill.symbol, ZERO) - sign * fill.quantity
            value = sum((q * history.price_at(s, at) for s, q in held.items() if q), ZERO)
            equity.append((cash + value).quantize(_CENTS))
        equity.reverse()
        base = equity[0] if equity else sim.account.cash.quantize(_CENTS)
        points = equity[1:]
        return json_response({
            "timestamp": [(at - _EPOCH) // timedelta(seconds=1) for at in starts],
            "equity": points,
            "profit_loss": [e - base for e in points],
            "profit_loss_pct": [((e - base) / base).quantize(_FRACTION) if base else ZERO
                                for e in points],
            "base_value": base,
            "timeframe": name,
        })


def _limited(starts: Iterator[datetime]) -> Iterator[datetime]:
    for count, at in enumerate(starts):
        if count == _MAX_POINTS:
            raise errors.invalid(f"more than {_MAX_POINTS} points: choose a shorter period "
                                 "or a longer timeframe")
        yield at
