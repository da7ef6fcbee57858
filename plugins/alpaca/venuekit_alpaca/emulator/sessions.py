"""New York market days: Eastern time without a time-zone database, and ``GET /v2/calendar``.

Alpaca stamps daily bars at midnight New York time and lists market days with their
09:30-16:00 session. The emulated market never closes (``/v2/clock`` always reads open);
the calendar lists every weekday as a market day with the regular session, for clients
that plan around sessions. US Eastern time is UTC-5, and UTC-4 from the second Sunday of
March 02:00 to the first Sunday of November 02:00 (local time), the rule since 2007.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from . import errors
from .rest import json_response

__all__ = ["CalendarApi", "eastern_date", "eastern_midnight", "market_days", "utc_offset"]

OPEN, CLOSE = time(9, 30), time(16, 0)
_FIRST, _LAST = date(1970, 1, 1), date(2029, 12, 31)  # the span Alpaca's calendar covers


def _sunday(year: int, month: int, nth: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))


def utc_offset(at: datetime) -> timedelta:
    """New York's offset from UTC at the instant ``at``."""
    at = at.astimezone(UTC)
    begins = datetime.combine(_sunday(at.year, 3, 2), time(7), UTC)  # 02:00 EST
    ends = datetime.combine(_sunday(at.year, 11, 1), time(6), UTC)  # 02:00 EDT
    return timedelta(hours=-4) if begins <= at < ends else timedelta(hours=-5)


def eastern_date(at: datetime) -> date:
    """The New York calendar date at the instant ``at``."""
    return (at.astimezone(UTC) + utc_offset(at)).date()


def eastern_midnight(day: date) -> datetime:
    """Midnight New York time at the start of ``day``, in UTC."""
    noon = datetime.combine(day, time(12), UTC)  # offsets change at night, never at noon
    return datetime.combine(day, time(0), UTC) - utc_offset(noon)


def market_days(first: date, last: date) -> list[date]:
    """The weekdays from ``first`` to ``last``, both included."""
    days = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _date(text: str, key: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise errors.invalid(f"invalid {key} {text!r}: expected a date (YYYY-MM-DD)") from None


class CalendarApi:
    """``GET /v2/calendar?start=&end=``: the market days between two dates (defaults: the
    whole span Alpaca serves, 1970 to 2029), each with its 09:30-16:00 session."""

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/v2/calendar", self.calendar)]

    async def calendar(self, request: web.Request) -> web.Response:
        query = request.query
        first = _date(query["start"], "start") if "start" in query else _FIRST
        last = _date(query["end"], "end") if "end" in query else _LAST
        first, last = max(first, _FIRST), min(last, _LAST)
        body: list[dict[str, Any]] = []
        for day in market_days(first, last):
            body.append({"date": day.isoformat(), "open": OPEN.strftime("%H:%M"),
                         "close": CLOSE.strftime("%H:%M"),
                         "session_open": "0400", "session_close": "2000",
                         "settlement_date": _settles(day).isoformat()})
        return json_response(body)


def _settles(day: date) -> date:
    """T+1: the next weekday."""
    following = day + timedelta(days=1)
    while following.weekday() >= 5:
        following += timedelta(days=1)
    return following
