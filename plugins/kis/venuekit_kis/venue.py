"""The KIS venue: KRX domestic stocks through Korea Investment & Securities' Open API.

REST goes through :mod:`.rest` (httpx), the execution notices through :mod:`.stream`
(websockets). See ``docs/venues/kis.md`` for every setting, the mapping and what is verified
where. What KIS lacks and how venuekit copes:

* **No client order id.** An order is known by its number (ODNO) once KIS answers; a create
  whose answer is lost is found by the engine's fingerprint (symbol, side, quantity, price,
  time) in the daily order inquiry (``recent_orders``), then followed by its number.
* **No execution ids over REST.** The daily inquiry gives an order's total filled and its
  average price, not each execution: executions come itemized only on the notice stream, and
  what REST shows beyond them is inferred by reconciliation (``inferred-…`` fills, restated
  when the notice arrives). ``fills_since`` therefore lists nothing and costs no request.
* **No native replace.** A modify gets a new order number and is not linked in a way the
  engine can follow; venuekit replaces by cancel and new order (``replace = "emulated"``).

Before an order leaves, it is checked against the day's rules of its symbol (read once a
day from the current price inquiry): the KRX tick of its price band, whole shares, and the
daily price limits; an order outside them is refused with the reason, not sent.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Self

from venuekit.errors import Code, OrderNotFound, VenueKitError, error
from venuekit.model import (
    Account,
    Fill,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    OrderType,
    OrderUpdate,
    Quote,
    Side,
)
from venuekit.venue import Capabilities, OrderRef, RateLimitPool, Venue, another_request

from . import convert
from .config import KisSettings
from .rest import KisRest, tr
from .stream import ExecutionStream

__all__ = ["ARRIVAL_SLACK", "KisVenue"]

log = logging.getLogger("venuekit_kis.venue")

ARRIVAL_SLACK = 0.1
"""Seconds added to the request window: KIS counts a request when it arrives."""

_SETTINGS = frozenset({"app_key", "app_secret", "account", "hts_id", "base_url", "ws_url",
                       "live", "timeout", "stream_timeout", "requests", "token_cache",
                       "environ"})

_STOCK = "/uapi/domestic-stock/v1"
ORDER_CASH = f"{_STOCK}/trading/order-cash"
ORDER_CANCEL = f"{_STOCK}/trading/order-rvsecncl"
DAILY_ORDERS = f"{_STOCK}/trading/inquire-daily-ccld"
BALANCE = f"{_STOCK}/trading/inquire-balance"
PRICE = f"{_STOCK}/quotations/inquire-price"
BOOK = f"{_STOCK}/quotations/inquire-asking-price-exp-ccn"

# Transaction ids in their live form (the paper form starts with V): the current generation.
TR_BUY, TR_SELL, TR_CANCEL = "TTTC0012U", "TTTC0011U", "TTTC0013U"
TR_DAILY, TR_BALANCE = "TTTC0081R", "TTTC8434R"
TR_PRICE, TR_BOOK = "FHKST01010100", "FHKST01010200"

_LOOKBACK = timedelta(seconds=5)
"""How far before ``since`` an order's KIS time (whole seconds) may fall and still count."""


@dataclass(frozen=True, slots=True)
class _Rules:
    """A symbol's rules for one KST day."""

    day: str
    instrument: Instrument
    low: Decimal
    high: Decimal


class KisVenue(Venue):
    """Korea Investment & Securities, domestic stocks (KRX): paper by default."""

    name: ClassVar[str] = "kis"
    capabilities = Capabilities(
        client_order_ids=False, order_stream=True, replace="emulated", market_orders=True,
        fractional=False, short_selling=False, notional_orders=False, itemized_fills=False,
        # KIS's order API has no stop types: the engine holds stops and brackets and
        # releases them on its quotes (see venuekit.triggers).
        stop_orders="emulated", stop_limit_orders="emulated", trailing_stops="emulated",
        brackets="emulated",
        not_found_grace=3.0,
        rate_limits=(RateLimitPool("requests", 2, 1.0 + ARRIVAL_SLACK),),
        weights={"fills_since": {}})

    def __init__(self, *, state_dir: Path | None = None, **settings: Any) -> None:
        unknown = sorted(set(settings) - _SETTINGS)
        if unknown:
            raise error(Code.INVALID_CONFIG, f"{self.name}: unknown setting(s) "
                        f"{', '.join(unknown)}; known: "
                        f"{', '.join(sorted(_SETTINGS - {'environ'}))}", venue=self.name)
        self.settings = KisSettings.resolve(self.name, state_dir=state_dir, **settings)
        count, seconds = self.settings.requests
        self.capabilities = replace(
            type(self).capabilities, order_stream=self.settings.hts_id is not None,
            rate_limits=(RateLimitPool("requests", count, seconds + ARRIVAL_SLACK),))
        self._rest = KisRest(self.settings)
        self._rules: dict[str, _Rules] = {}
        live = self.settings.live
        self._tr_order = {Side.BUY: tr(TR_BUY, live), Side.SELL: tr(TR_SELL, live)}
        if self.settings.live:
            log.warning("LIVE TRADING: orders will be sent to KIS", extra={"venue": self.name})

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, state_dir: Path | None = None) -> Self:
        """Build from CLI options or a config-file table; access tokens are cached under
        ``state_dir`` (``kis-tokens``) unless ``token_cache`` says otherwise."""
        return cls(state_dir=state_dir, **dict(config))

    def __repr__(self) -> str:
        return f"KisVenue({self.settings!r})"

    # lifecycle ---------------------------------------------------------------------------
    async def connect(self) -> None:
        """Get an access token and read the account once: keys KIS refuses, or an account
        that is not theirs, fail here rather than at the first order."""
        await self.account()

    async def close(self) -> None:
        await self._rest.close()

    # reads -------------------------------------------------------------------------------
    async def instruments(self, symbols: Sequence[str] | None = None) -> Sequence[Instrument]:
        """The rules of ``symbols`` (one price inquiry each, once a KST day). KIS lists no
        instruments: without ``symbols``, the ones already read."""
        if symbols is None:
            return [rules.instrument for rules in self._rules.values()]
        found = []
        first = True
        for symbol in symbols:
            if not first:
                await another_request("instruments")
            rules = await self._rules_of(symbol, fetch=True)
            first = False
            if rules is not None:
                found.append(rules.instrument)
        return found

    async def _rules_of(self, symbol: str, *, fetch: bool) -> _Rules | None:
        day = convert.kst_date()
        rules = self._rules.get(symbol)
        if rules is not None and rules.day == day:
            return rules
        if not fetch:
            return None
        if not (symbol.isdigit() and len(symbol) == 6):
            return None  # KRX codes are six digits (005930)
        answer = await self._rest.get(PRICE, TR_PRICE, {"FID_COND_MRKT_DIV_CODE": "J",
                                                         "FID_INPUT_ISCD": symbol},
                                      operation="instruments")
        output = answer.body.get("output") or {}
        if not output or not str(output.get("stck_prpr") or "").strip("0"):
            return None
        low, high = convert.price_limits(output, self.name)
        rules = _Rules(day, convert.instrument(symbol, output, self.name), low, high)
        self._rules[symbol] = rules
        return rules

    async def quote(self, symbol: str) -> Quote:
        answer = await self._rest.get(BOOK, TR_BOOK, {"FID_COND_MRKT_DIV_CODE": "J",
                                                       "FID_INPUT_ISCD": symbol},
                                      operation="quote")
        book = answer.body.get("output1") or {}
        if not isinstance(book, Mapping) or not book:
            raise error(Code.UNKNOWN_SYMBOL, f"{self.name} has no quote for {symbol!r}",
                        venue=self.name)
        return convert.quote(symbol, book, self.name)

    async def account(self) -> Account:
        params = {**self._rest.account_fields(), "AFHR_FLPR_YN": "N", "OFL_YN": "",
                  "INQR_DVSN": "02", "UNPR_DVSN": "01", "FUND_STTL_ICLD_YN": "N",
                  "FNCG_AMT_AUTO_RDPT_YN": "N", "PRCS_DVSN": "00"}
        holdings: list[Mapping[str, Any]] = []
        totals: Mapping[str, Any] = {}
        async for page in self._rest.pages(BALANCE, tr(TR_BALANCE, self.settings.live), params,
                                           operation="account"):
            holdings.extend(KisRest.rows(page))
            summary = page.body.get("output2")
            if isinstance(summary, list) and summary and isinstance(summary[0], Mapping):
                totals = summary[0]
        if not totals:
            raise error(Code.VENUE_ERROR, f"{self.name} answered the balance without its "
                        "totals (output2)", venue=self.name)
        return convert.account(holdings, totals, self.name)

    # orders ------------------------------------------------------------------------------
    async def submit(self, request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        """``order-cash``. KIS takes no client order id: ``client_order_id`` stays venuekit's
        (the journal's), and a lost answer is found by fingerprint."""
        if request.quantity is None:
            raise error(Code.UNSUPPORTED_ORDER, f"{self.name} takes orders by quantity (whole "
                        "shares), not by amount", venue=self.name)
        day = convert.kst_date()
        rules = self._rules.get(request.symbol)
        if rules is None or rules.day != day:
            await another_request("submit")
            rules = await self._rules_of(request.symbol, fetch=True)
        if rules is None:
            raise error(Code.UNKNOWN_SYMBOL, f"{self.name} has no KRX stock {request.symbol!r} "
                        "(codes are six digits, as 005930)", venue=self.name)
        self._check(request, rules)  # a limit price is then whole won (every tick is)
        market = request.order_type is OrderType.MARKET
        body = {**self._rest.account_fields(), "PDNO": request.symbol,
                "ORD_DVSN": "01" if market else "00",
                "ORD_QTY": str(int(request.quantity)),
                "ORD_UNPR": "0" if market else str(int(request.limit_price or 0)),
                "EXCG_ID_DVSN_CD": "KRX", "SLL_TYPE": "01" if request.side is Side.SELL else "",
                "CNDT_PRIC": ""}
        answer = await self._rest.post(ORDER_CASH, self._tr_order[request.side], body,
                                       operation="submit")
        output = answer.body.get("output") or {}
        return convert.from_order_answer(output, request, day, self.name)

    def _check(self, request: OrderRequest, rules: _Rules) -> None:
        quantity = request.quantity
        assert quantity is not None
        lot = rules.instrument.lot_size
        if quantity <= 0 or quantity % lot:
            raise error(Code.INVALID_QUANTITY, f"{self.name}: {request.symbol} trades in whole "
                        f"lots of {lot:f} share(s); {quantity:f} is not one", venue=self.name)
        if request.order_type is OrderType.MARKET:
            return
        price = request.limit_price
        if price is None or price <= 0:
            raise error(Code.INVALID_PRICE, f"{self.name}: a limit order needs a price",
                        venue=self.name)
        tick = rules.instrument.tick_at(price)
        if price % tick:
            raise error(Code.INVALID_PRICE, f"{self.name}: {price:f} is not on {request.symbol}'s "
                        f"tick of {tick:f} won at that price (호가단위)", venue=self.name)
        if not rules.low <= price <= rules.high:
            raise error(Code.PRICE_OUT_OF_BAND, f"{self.name}: {price:f} is outside "
                        f"{request.symbol}'s daily limits, {rules.low:f} (하한가) to "
                        f"{rules.high:f} (상한가)", venue=self.name)

    async def cancel(self, ref: OrderRef) -> OrderSnapshot | None:
        """``order-rvsecncl`` for the whole remainder. KIS answers with the cancel's own
        number; the order's end comes on the stream or from the daily inquiry."""
        if ref.venue_order_id is None:
            raise error(Code.UNKNOWN_ORDER, f"{self.name} cancels an order by its number; this "
                        "one has none yet", venue=self.name)
        _, branch, number = self._parts(ref.venue_order_id)
        body = {**self._rest.account_fields(), "KRX_FWDG_ORD_ORGNO": branch,
                "ORGN_ODNO": number, "ORD_DVSN": "00", "RVSE_CNCL_DVSN_CD": "02",
                "ORD_QTY": "0", "ORD_UNPR": "0", "QTY_ALL_ORD_YN": "Y",
                "EXCG_ID_DVSN_CD": "KRX"}
        try:
            await self._rest.post(ORDER_CANCEL, tr(TR_CANCEL, self.settings.live), body,
                                  operation="cancel")
        except OrderNotFound:
            # "Nothing to cancel" is KIS's answer alike for an order it never had and for
            # one that has ended: the order's own record tells them apart.
            await another_request("cancel")
            return await self.fetch_order(ref)
        return None

    def _parts(self, venue_order_id: str) -> tuple[str, str, str]:
        """The date, branch and number of an id; one that is not KIS's names no order."""
        try:
            return convert.parse_order_id(venue_order_id, self.name)
        except VenueKitError:
            raise OrderNotFound(Code.ORDER_NOT_FOUND, f"{self.name} has no order "
                                f"{venue_order_id!r}: its ids are date-branch-number",
                                venue=self.name) from None

    async def fetch_order(self, ref: OrderRef) -> OrderSnapshot:
        if ref.venue_order_id is None:
            raise error(Code.UNKNOWN_ORDER, f"{self.name} finds an order by its number only "
                        "(no client order ids): look it up by fingerprint", venue=self.name)
        day, _, number = self._parts(ref.venue_order_id)
        for row in await self._daily(day, day, odno=number, operation="fetch_order"):
            if str(row.get("odno") or "").strip() == number and convert.is_order_row(row):
                return convert.snapshot(row, self.name)
        raise OrderNotFound(Code.ORDER_NOT_FOUND, f"{self.name} lists no order "
                            f"{ref.venue_order_id}", venue=self.name)

    async def open_orders(self, symbol: str | None = None) -> Sequence[OrderSnapshot]:
        today = convert.kst_date()
        rows = await self._daily(today, today, symbol=symbol, unfilled=True,
                                 operation="open_orders")
        found = [convert.snapshot(row, self.name) for row in rows if convert.is_order_row(row)]
        return [snap for snap in found if not snap.state.is_terminal]

    async def recent_orders(self, since: datetime) -> Sequence[OrderSnapshot]:
        """Orders created since ``since`` (KIS keeps times to the second)."""
        rows = await self._daily(convert.kst_date(since - _LOOKBACK), convert.kst_date(),
                                 operation="recent_orders")
        horizon = since - _LOOKBACK
        found = []
        for row in rows:
            if not convert.is_order_row(row):
                continue
            snap = convert.snapshot(row, self.name)
            if snap.created_at is None or snap.created_at >= horizon:
                found.append(snap)
        return found

    async def fills_since(self, since: datetime, symbol: str | None = None) -> Sequence[Fill]:
        """KIS itemizes executions only on the notice stream: nothing to list over REST
        (reconciliation infers what an order's totals show beyond its itemized fills)."""
        return []

    async def _daily(self, start: str, end: str, *, odno: str = "", symbol: str | None = None,
                     unfilled: bool = False, operation: str) -> list[Mapping[str, Any]]:
        params = {**self._rest.account_fields(), "INQR_STRT_DT": start, "INQR_END_DT": end,
                  "SLL_BUY_DVSN_CD": "00", "INQR_DVSN": "01", "PDNO": symbol or "",
                  "CCLD_DVSN": "02" if unfilled else "00", "ORD_GNO_BRNO": "", "ODNO": odno,
                  "INQR_DVSN_3": "00", "INQR_DVSN_1": "", "EXCG_ID_DVSN_CD": "KRX"}
        rows: list[Mapping[str, Any]] = []
        async for page in self._rest.pages(DAILY_ORDERS, tr(TR_DAILY, self.settings.live),
                                           params, operation=operation):
            rows.extend(KisRest.rows(page))
        return rows

    # the stream --------------------------------------------------------------------------
    def order_updates(self) -> AsyncIterator[OrderUpdate]:
        """The execution notices (see :mod:`.stream`); needs the HTS id (``hts_id``)."""
        if self.settings.hts_id is None:
            raise error(Code.CAPABILITY_NOT_SUPPORTED, f"{self.name} streams execution notices "
                        "only with the HTS id (hts_id / KIS_HTS_ID); settlement polls",
                        venue=self.name)
        return ExecutionStream(self.settings.endpoints.websocket, self._rest.approval_key,
                               self.settings.hts_id, live=self.settings.live,
                               venue=self.name, timeout=self.settings.stream_timeout)
