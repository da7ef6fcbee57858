"""Market data: ``inquire-price`` (``FHKST01010100``) and ``inquire-asking-price-exp-ccn``
(``FHKST01010200``), from the simulated quote.

Both read ``FID_COND_MRKT_DIV_CODE`` (``J`` is KRX; ``NX`` and ``UN`` are read as the same
book, the emulator having one) and ``FID_INPUT_ISCD`` (the product code), and go through the
mock venue's pipeline (latency and injected faults apply).

**Current price.** ``stck_prpr`` is the current price (:mod:`.prices`), ``prdy_vrss`` its
change from the base price ``stck_sdpr`` with its sign (``prdy_vrss_sign``: ``1`` at the
upper limit, ``2`` up, ``3`` unchanged, ``4`` at the lower limit, ``5`` down) and
``prdy_ctrt`` in percent; ``stck_oprc`` is the base price (the day opened there: the
emulator's choice), ``stck_hgpr``/``stck_lwpr`` the extremes of the base price, the current
price and today's executions; ``acml_vol``/``acml_tr_pbmn`` today's executed volume and
value (the account's own: the simulated market has no other trades); ``stck_mxpr`` and
``stck_llam`` the daily limits; ``aspr_unit`` the tick at the current price;
``hts_deal_qty_unit_val`` ``"1"``; ``iscd_stat_cls_code`` ``"55"``; ``temp_stop_yn`` ``"N"``
(``"Y"`` for a halted product).

**Order book.** Level 1 is the simulated touch with the size still available this step;
levels 2 to 10 are the next grid prices outward, each showing the product's displayed size
(the emulator's choice: the simulated book has one level). A level beyond the daily limit
shows price and size ``"0"``. ``aspr_acpt_hour`` is the current KST time.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import errors
from .fields import ZERO, percent, whole
from .kst import date_text, time_text
from .messages import Answer, KisRequest, success
from .prices import current_price, next_above, next_below
from .state import EmulatorState
from .symbols import Listing

__all__ = ["Quotations"]

MARKETS = ("J", "NX", "UN")
LEVELS = 10


class Quotations:
    """Serves the two quotation endpoints."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def _listing(self, request: KisRequest) -> Listing:
        market = request.get("FID_COND_MRKT_DIV_CODE")
        if market not in MARKETS:
            raise errors.refusal(errors.QUOTE_SYMBOL, f"FID_COND_MRKT_DIV_CODE {market!r}")
        listing = self.state.listings.get(request.get("FID_INPUT_ISCD"))
        if listing is None:
            raise errors.refusal(errors.QUOTE_SYMBOL, repr(request.get("FID_INPUT_ISCD")))
        await self.state.venue.quote(listing.symbol)  # the venue's latency and faults
        return listing

    def _today(self, symbol: str) -> tuple[Decimal, Decimal, list[Decimal]]:
        """Today's executed volume and value of ``symbol``, and its execution prices."""
        today = self.state.today()
        volume = value = ZERO
        prices = []
        for fill in self.state.sim.ledger.fills:
            if fill.symbol == symbol and date_text(fill.at) == today:
                volume += fill.quantity
                value += fill.quantity * fill.price
                prices.append(fill.price)
        return volume, value, prices

    def _summary(self, listing: Listing) -> dict[str, Any]:
        symbol = listing.symbol
        spec = listing.spec
        book = self.state.book(symbol)
        prices = self.state.prices
        base = prices.base(symbol)
        lower, upper = prices.limits(symbol)
        price = current_price(book)
        volume, value, traded = self._today(symbol)
        change = price - base
        sign = "1" if price >= upper else "4" if price <= lower else \
            "2" if change > 0 else "5" if change < 0 else "3"
        halted = not spec.tradable or symbol in self.state.sim.config.halted
        seen = [base, price, *traded]
        return {
            "stck_prpr": whole(price), "prdy_vrss": whole(change), "prdy_vrss_sign": sign,
            "prdy_ctrt": percent(change, base), "acml_vol": whole(volume),
            "acml_tr_pbmn": whole(value), "stck_oprc": whole(base),
            "stck_hgpr": whole(max(seen)), "stck_lwpr": whole(min(seen)),
            "stck_mxpr": whole(upper), "stck_llam": whole(lower), "stck_sdpr": whole(base),
            "aspr_unit": whole(spec.tick_at(price)), "hts_deal_qty_unit_val": "1",
            "iscd_stat_cls_code": "55", "temp_stop_yn": "Y" if halted else "N",
        }

    async def price(self, request: KisRequest) -> Answer:
        listing = await self._listing(request)
        return success(errors.QUOTED, output=self._summary(listing))

    async def asking_price(self, request: KisRequest) -> Answer:
        listing = await self._listing(request)
        spec = listing.spec
        book = self.state.book(listing.symbol)
        lower, upper = self.state.prices.limits(listing.symbol)
        levels: dict[str, str] = {"aspr_acpt_hour": time_text(self.state.now())}
        asks: list[tuple[Decimal, Decimal]] = []
        bids: list[tuple[Decimal, Decimal]] = []
        ask, bid = book.ask, book.bid
        for level in range(LEVELS):
            asks.append((ask, book.ask_left if level == 0 else spec.size)
                        if ZERO < ask <= upper else (ZERO, ZERO))
            bids.append((bid, book.bid_left if level == 0 else spec.size)
                        if bid >= lower and bid > ZERO else (ZERO, ZERO))
            ask, bid = next_above(spec, ask), next_below(spec, bid)
        for prefix, side in (("askp", asks), ("bidp", bids)):
            for number, (price, _) in enumerate(side, start=1):
                levels[f"{prefix}{number}"] = whole(price)
        for prefix, side in (("askp_rsqn", asks), ("bidp_rsqn", bids)):
            for number, (_, size) in enumerate(side, start=1):
                levels[f"{prefix}{number}"] = whole(size)
        levels["total_askp_rsqn"] = whole(sum((size for _, size in asks), ZERO))
        levels["total_bidp_rsqn"] = whole(sum((size for _, size in bids), ZERO))
        summary = self._summary(listing)
        output2 = {key: summary[key] for key in (
            "stck_prpr", "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_sdpr", "stck_mxpr",
            "stck_llam", "prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "acml_vol")}
        output2["stck_shrn_iscd"] = listing.symbol
        return success(errors.QUOTED, output1=levels, output2=output2)
