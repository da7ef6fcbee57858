"""``GET /v2/account/activities`` and ``/v2/account/activities/{activity_type}``: the
account's activities, as Alpaca lists them.

Two kinds exist in the emulator:

* ``FILL``, one per execution: ``id`` (``<time>::<execution id>``), ``account_id``,
  ``activity_type``, ``transaction_time``, ``type`` (``fill`` or ``partial_fill``), ``price``
  and ``qty`` of the execution, ``cum_qty`` and ``leaves_qty`` of its order after it,
  ``side``, ``symbol``, ``order_id`` and ``order_status``;
* ``CSD``, the cash deposit that opened the account when the emulator started: ``date``,
  ``net_amount`` (the starting cash), ``description``, ``status`` ``executed``.

Query: ``activity_types`` (comma-separated, on the first path only), ``date`` (one New
York date) or ``after`` / ``until`` (times), ``direction`` (``desc`` by default),
``page_size`` (at most 100; without a limit when ``date`` is given) and ``page_token`` (the
``id`` of the last activity of the previous page). Amounts are strings, as Alpaca sends them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from . import errors, payloads
from .jsonio import number_text
from .rest import json_response
from .sessions import eastern_date
from .state import EmulatorState

__all__ = ["ACTIVITY_TYPES", "ActivitiesApi"]

ACTIVITY_TYPES = frozenset({
    "FILL", "ACATC", "ACATS", "CFEE", "CIL", "CSD", "CSW", "DIV", "DIVCGL", "DIVCGS",
    "DIVNRA", "DIVROC", "DIVTXEX", "DIVWH", "EXTRD", "FEE", "FXTRD", "INT", "INTPNL", "JNLC",
    "JNLS", "MA", "MEM", "NC", "OCT", "OPASN", "OPCSH", "OPEXC", "OPEXP", "OPTRD", "PTC",
    "REORG", "SPIN", "SPLIT", "SWP", "VOF", "WH"})
"""Alpaca's activity types (alpaca-py's ``ActivityType``)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PAGE_MAX = 100
_NAMESPACE = uuid.UUID("0d3f0c55-3a43-4a8e-8f3c-6b0a4b2e9d17")

Listed = tuple[datetime, dict[str, Any]]


def _moment(text: str, key: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise errors.invalid(f"invalid {key} {text!r}: an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise errors.invalid(f"invalid date {text!r}: YYYY-MM-DD") from None


def _id(at: datetime, tail: str) -> str:
    return f"{at.astimezone(UTC).strftime('%Y%m%d%H%M%S%f')[:17]}::{tail}"


class ActivitiesApi:
    """The account activities of one emulator."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.venue = state.venue
        self.ids = state.ids

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/v2/account/activities", self.activities),
                web.get("/v2/account/activities/{activity_type}", self.activities_of_type)]

    async def activities(self, request: web.Request) -> web.Response:
        wanted = {t.strip().upper() for t in request.query.get("activity_types", "").split(",")
                  if t.strip()}
        unknown = sorted(wanted - ACTIVITY_TYPES)
        if unknown:
            raise errors.invalid(f"invalid activity_types {', '.join(unknown)}")
        return json_response(await self._listed(request, wanted or ACTIVITY_TYPES))

    async def activities_of_type(self, request: web.Request) -> web.Response:
        kind = request.match_info["activity_type"].upper()
        if kind not in ACTIVITY_TYPES:
            raise errors.invalid(f"invalid activity type {kind!r}")
        return json_response(await self._listed(request, {kind}))

    async def _listed(self, request: web.Request, kinds: set[str] | frozenset[str]
                      ) -> list[dict[str, Any]]:
        query = request.query
        on_day = _day(query["date"]) if "date" in query else None
        if on_day is not None and ("after" in query or "until" in query):
            raise errors.invalid("date cannot be combined with after or until")
        after = _moment(query["after"], "after") if "after" in query else None
        until = _moment(query["until"], "until") if "until" in query else None
        direction = query.get("direction", "desc").lower()
        if direction not in ("asc", "desc"):
            raise errors.invalid(f"invalid direction {direction!r}: asc or desc")
        limit = _PAGE_MAX if on_day is None else None
        try:
            size = int(query.get("page_size", limit or 0)) or None
        except ValueError:
            raise errors.invalid(f"invalid page_size {query.get('page_size')!r}") from None
        if size is not None and not 1 <= size <= (limit or size):
            raise errors.invalid(f"page_size must be between 1 and {_PAGE_MAX}")
        listed: list[Listed] = []
        if "FILL" in kinds:
            listed += await self._fills()
        if "CSD" in kinds:
            listed.append(self._opening_deposit())
        # In time order; at one instant the deposit comes before the trades it paid for.
        listed.sort(key=lambda item: (item[0], item[1]["activity_type"] != "CSD",
                                      item[1]["id"]))
        chosen = [item for at, item in listed
                  if (after is None or at > after) and (until is None or at < until)
                  and (on_day is None or eastern_date(at) == on_day)]
        if direction == "desc":
            chosen.reverse()
        token = query.get("page_token")
        if token:
            marks = [item["id"] for item in chosen]
            chosen = chosen[marks.index(token) + 1:] if token in marks else []
        return chosen[:size] if size is not None else chosen

    async def _fills(self) -> list[Listed]:
        sim = self.venue.simulator
        ids = self.ids
        filled: dict[str, Decimal] = {}
        listed: list[Listed] = []
        for fill in await self.venue.fills_since(_EPOCH):  # all: cum_qty counts from the start
            record = fill.venue_order_id
            if record is None:  # the mock names the order of every fill
                continue
            order = sim.order(record)
            cumulative = filled[record] = filled.get(record, Decimal(0)) + fill.quantity
            leaves = (order.quantity or cumulative) - cumulative
            at = fill.at.astimezone(UTC)
            listed.append((at, {
                "id": _id(at, ids.execution_uuid(fill.trade_id)),
                "account_id": ids.account_id,
                "activity_type": "FILL", "transaction_time": payloads.timestamp(at),
                "type": "fill" if leaves <= 0 else "partial_fill",
                "price": number_text(fill.price),
                "qty": number_text(fill.quantity), "side": fill.side.value,
                "symbol": fill.symbol, "leaves_qty": number_text(max(leaves, Decimal(0))),
                "order_id": ids.order_uuid(record),
                "cum_qty": number_text(cumulative),
                "order_status": "filled" if leaves <= 0 else "partially_filled"}))
        return listed

    def _opening_deposit(self) -> Listed:
        opened = self.state.history.start.astimezone(UTC)
        tail = str(uuid.uuid5(_NAMESPACE, f"{self.ids.account_id}/opening-deposit"))
        return opened, {
            "id": _id(opened, tail), "account_id": self.ids.account_id,
            "activity_type": "CSD", "date": eastern_date(opened).isoformat(),
            "net_amount": number_text(self.venue.simulator.config.cash),
            "description": "opening deposit", "status": "executed", "symbol": None,
            "qty": None, "per_share_amount": None}
