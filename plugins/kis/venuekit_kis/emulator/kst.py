"""Korea Standard Time: the clock every KIS date and time field is written in.

KST is UTC+9 all year (Korea keeps no daylight saving time). KIS writes dates as
``YYYYMMDD`` (``ord_dt``, ``INQR_STRT_DT``), times of day as ``HHMMSS`` (``ORD_TMD``, the
notices' execution time), the token's expiry as ``YYYY-MM-DD HH:MM:SS`` and the PINGPONG
heartbeat's ``datetime`` as ``YYYYMMDDHHMMSS``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["KST", "compact", "date_text", "kst", "stamp", "time_text"]

KST = timezone(timedelta(hours=9), "KST")


def kst(at: datetime) -> datetime:
    """``at`` (an aware datetime) in Korea Standard Time."""
    return at.astimezone(KST)


def date_text(at: datetime) -> str:
    """``YYYYMMDD`` in KST."""
    return kst(at).strftime("%Y%m%d")


def time_text(at: datetime) -> str:
    """``HHMMSS`` in KST."""
    return kst(at).strftime("%H%M%S")


def stamp(at: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in KST (``access_token_token_expired``)."""
    return kst(at).strftime("%Y-%m-%d %H:%M:%S")


def compact(at: datetime) -> str:
    """``YYYYMMDDHHMMSS`` in KST (the PINGPONG heartbeat's ``datetime``)."""
    return kst(at).strftime("%Y%m%d%H%M%S")
