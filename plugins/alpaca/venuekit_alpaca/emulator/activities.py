"""``GET /v2/account/activities/FILL``: the account's executions, as Alpaca lists them.

One activity per execution, oldest first by default: ``id`` (``<time>::<execution id>``),
``activity_type`` ``FILL``, ``transaction_time``, ``type`` (``fill`` or ``partial_fill``),
``price`` and ``qty`` of the execution, ``cum_qty`` and ``leaves_qty`` of its order after it,
``side``, ``symbol``, ``order_id`` and ``order_status``. Query: ``after``, ``until``
(ISO 8601), ``direction`` (``asc`` / ``desc``), ``page_size`` (1 to 100, default 100) and
``page_token`` (the ``id`` of the last activity of the previous page).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from . import errors, payloads
from .ids import IdCodec
from .jsonio import number_text

__all__ = ["fill_activities"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PAGE_MAX = 100


def _moment(text: str, key: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise errors.invalid(f"invalid {key} {text!r}: an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def fill_activities(request: web.Request, venue: Any, ids: IdCodec) -> list[dict[str, Any]]:
    """The FILL activities ``request`` asks for (``venue`` is the emulator's mock venue)."""
    query = request.query
    after = _moment(query["after"], "after") if "after" in query else None
    until = _moment(query["until"], "until") if "until" in query else None
    direction = query.get("direction", "desc").lower()
    if direction not in ("asc", "desc"):
        raise errors.invalid(f"invalid direction {direction!r}: asc or desc")
    try:
        size = int(query.get("page_size", _PAGE_MAX))
    except ValueError:
        raise errors.invalid(f"invalid page_size {query.get('page_size')!r}") from None
    if not 1 <= size <= _PAGE_MAX:
        raise errors.invalid(f"page_size must be between 1 and {_PAGE_MAX}")
    sim = venue.simulator
    filled: dict[str, Decimal] = {}
    listed = []
    for fill in await venue.fills_since(_EPOCH):  # all of them: cum_qty counts from the start
        order = sim.order(fill.venue_order_id)
        cumulative = filled[fill.venue_order_id] = (
            filled.get(fill.venue_order_id, Decimal(0)) + fill.quantity)
        leaves = (order.quantity or cumulative) - cumulative
        at = fill.at.astimezone(UTC)
        listed.append((at, {
            "id": f"{at.strftime('%Y%m%d%H%M%S%f')[:17]}::{ids.execution_uuid(fill.trade_id)}",
            "activity_type": "FILL", "transaction_time": payloads.timestamp(at),
            "type": "fill" if leaves <= 0 else "partial_fill",
            "price": number_text(fill.price),
            "qty": number_text(fill.quantity), "side": fill.side.value,
            "symbol": fill.symbol, "leaves_qty": number_text(max(leaves, Decimal(0))),
            "order_id": ids.order_uuid(fill.venue_order_id),
            "cum_qty": number_text(cumulative),
            "order_status": "filled" if leaves <= 0 else "partially_filled"}))
    chosen = [item for at, item in listed
              if (after is None or at > after) and (until is None or at < until)]
    if direction == "desc":
        chosen.reverse()
    token = query.get("page_token")
    if token:
        marks = [item["id"] for item in chosen]
        chosen = chosen[marks.index(token) + 1:] if token in marks else []
    return chosen[:size]
