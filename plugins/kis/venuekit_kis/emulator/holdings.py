"""``inquire-balance`` (holdings and cash) and ``inquire-psbl-order`` (buying power).

**Balance.** ``output1`` lists the holdings, by product code, 20 a page (:mod:`.paging`,
keyed by ``pdno``): quantity held (``hldg_qty``), quantity not reserved by working sells
(``ord_psbl_qty``), the average purchase price (``pchs_avg_pric``, exact up to eight
decimals), the purchase amount (``pchs_amt``, whole won, half up), the current price
(``prpr``, see :mod:`.prices`) and the valuation at it (``evlu_amt``, ``evlu_pfls_amt``,
``evlu_pfls_rt`` in percent), and today's executed buy and sell quantities
(``thdt_buyqty``, ``thdt_sll_qty``). ``output2`` is a one-element array with the account's
totals. Cash settles at once in the emulator, so the deposit (``dnca_tot_amt``), the D+1
and the D+2 cash (``nxdy_excc_amt``, ``prvs_rcdl_excc_amt``) are equal (the emulator's
simplification); ``nass_amt`` and ``tot_evlu_amt`` are cash plus holdings at the current
price.

**Buying power.** For ``PDNO`` at ``ORD_UNPR`` (a limit order, ``ORD_DVSN`` ``00``), or at
the ask (a market order, ``01``, or no price; marked up by ``market_reserve_bps`` as the
engine reserves a market buy): ``ord_psbl_cash``, ``nrcvb_buy_amt`` and
``max_buy_amt`` are the cash not reserved by working buys; ``nrcvb_buy_qty`` and
``max_buy_qty`` the whole shares it pays for at ``psbl_qty_calc_unpr``. Without margin
trading the "max" fields equal the cash-only ones (the emulator's simplification).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from venuekit.model import Side

from . import errors
from .fields import ZERO, decimal, percent, whole
from .kst import date_text
from .messages import Answer, KisRequest, success
from .orders import OrderDesk, whole_number
from .paging import BALANCE_PAGE, paginate
from .prices import current_price
from .state import EmulatorState

__all__ = ["Holdings"]

_BPS = Decimal(10_000)


class Holdings:
    """Serves ``inquire-balance`` and ``inquire-psbl-order``."""

    def __init__(self, state: EmulatorState, desk: OrderDesk) -> None:
        self.state = state
        self.desk = desk

    def _today_quantities(self) -> dict[tuple[str, Side], Decimal]:
        today = self.state.today()
        totals: dict[tuple[str, Side], Decimal] = {}
        for fill in self.state.sim.ledger.fills:
            if date_text(fill.at) == today:
                key = (fill.symbol, fill.side)
                totals[key] = totals.get(key, ZERO) + fill.quantity
        return totals

    def _holding(self, symbol: str, quantity: Decimal, average_price: Decimal,
                 today: dict[tuple[str, Side], Decimal]) -> tuple[dict[str, Any], Decimal,
                                                                   Decimal]:
        """One ``output1`` row, its purchase amount and its valuation (whole won)."""
        account = self.state.sim.account
        cost = Decimal(whole(quantity * average_price))
        price = current_price(self.state.book(symbol))
        value = quantity * price
        row = {
            "pdno": symbol, "prdt_name": self.state.listings[symbol].name,
            "trad_dvsn_name": "현금", "hldg_qty": whole(quantity),  # emulator's choice
            "ord_psbl_qty": whole(max(account.sellable(symbol), ZERO)),
            "pchs_avg_pric": decimal(average_price), "pchs_amt": whole(cost),
            "prpr": whole(price), "evlu_amt": whole(value),
            "evlu_pfls_amt": whole(value - cost), "evlu_pfls_rt": percent(value - cost, cost),
            "thdt_buyqty": whole(today.get((symbol, Side.BUY), ZERO)),
            "thdt_sll_qty": whole(today.get((symbol, Side.SELL), ZERO)),
        }
        return row, cost, value

    async def balance(self, request: KisRequest) -> Answer:
        self.desk.check_account(request)
        await self.state.venue.account()  # the venue's latency and faults
        account = self.state.sim.account
        today = self._today_quantities()
        rows: list[tuple[str, dict[str, Any]]] = []
        cost_total = value_total = ZERO
        for symbol in sorted(account.positions):
            holding = account.positions[symbol]
            if not holding.quantity or symbol not in self.state.listings:
                continue
            row, cost, value = self._holding(symbol, holding.quantity,
                                             holding.average_price, today)
            rows.append((symbol, row))
            cost_total += cost
            value_total += value
        page = paginate(request, rows, BALANCE_PAGE, descending=False,
                        valid=lambda key: len(key) == 6)
        cash = whole(account.cash)
        totals = {
            "dnca_tot_amt": cash, "nxdy_excc_amt": cash, "prvs_rcdl_excc_amt": cash,
            "scts_evlu_amt": whole(value_total),
            "tot_evlu_amt": whole(account.cash + value_total),
            "nass_amt": whole(account.cash + value_total),
            "pchs_amt_smtl_amt": whole(cost_total), "evlu_amt_smtl_amt": whole(value_total),
            "evlu_pfls_smtl_amt": whole(value_total - cost_total),
        }
        credentials = self.state.credentials
        return success(errors.INQUIRED, page.headers,
                       ctx_area_fk100=f"{credentials.cano}^{credentials.product_code}",
                       ctx_area_nk100=page.next_key, output1=page.rows, output2=[totals])

    async def buying_power(self, request: KisRequest) -> Answer:
        self.desk.check_account(request)
        listing = self.desk.listing(request.get("PDNO"))
        dvsn = request.get("ORD_DVSN") or "00"
        text = request.get("ORD_UNPR")
        await self.state.venue.account()  # the venue's latency and faults
        book = self.state.book(listing.symbol)
        if dvsn == "01" or text in ("", "0"):  # what the engine reserves for a market buy
            markup = 1 + self.state.sim.config.market_reserve_bps / _BPS
            price = book.spec.ceil_price(book.ask * markup)
        else:
            price = whole_number(text, errors.PRICE, minimum=1)
        cash = self.state.sim.account.buying_power
        quantity = (cash // price) if cash > 0 else ZERO
        return success(errors.INQUIRED, {"tr_cont": "D"}, output={
            "ord_psbl_cash": whole(cash), "ord_psbl_sbst": "0", "ruse_psbl_amt": "0",
            "psbl_qty_calc_unpr": whole(price), "nrcvb_buy_amt": whole(cash),
            "nrcvb_buy_qty": whole(quantity), "max_buy_amt": whole(cash),
            "max_buy_qty": whole(quantity), "cma_evlu_amt": "0",
        })
