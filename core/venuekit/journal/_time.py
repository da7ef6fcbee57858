"""How the journal stores instants: integer microseconds since the Unix epoch, in UTC.

Integers are exact (a float timestamp is not, at microsecond resolution), sort correctly,
and compare cheaply in SQL. A naive datetime is taken to be UTC, as venue payloads
without an offset almost always are; refusing it would risk losing a fill's record.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["as_utc", "from_micros", "to_micros"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken to be UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND  # timedelta arithmetic is exact


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime ``micros`` microseconds after the epoch."""
    return _EPOCH + timedelta(microseconds=micros)
