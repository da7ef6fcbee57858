"""``inquire-daily-ccld``: the day's orders and their executions, one row per KIS order.

Every order KIS numbered is a row: new orders, and cancel and modify orders as rows of
their own. The row of

* a **new or modify order** shows its quantity and price, what executed over all its
  engine orders (``tot_ccld_qty``, ``tot_ccld_amt`` as the exact sum of quantity × price,
  ``avg_prvs`` their exact average, ``"0"`` before any), what cancel orders took off it
  (``cnc_cfrm_qty``; the emulator's choice: the original's row shows it too, so one row
  tells the whole story) and what still works (``rmn_qty``: the live engine order's
  remainder, 0 once the order is filled, cancelled or expired). ``cncl_yn`` is ``"N"``;
  ``orgn_odno`` is empty for a new order and names the original for a modify order;
* a **cancel order** shows the quantity it asked for (``ord_qty``: the remainder when it
  asked for all of it) and the quantity cancelled (``cnc_cfrm_qty``), ``cncl_yn`` ``"Y"``,
  ``orgn_odno`` the order it cancelled, nothing executed and nothing remaining; its price
  and order kind are its original's.

For a new order ``ord_qty = tot_ccld_qty + cnc_cfrm_qty + rmn_qty + the quantity moved to
modify orders`` (+ what expired at a session close). Names (``ord_dvsn_name``,
``sll_buy_dvsn_cd_name``, ``ccld_cndt_name``) and ``infm_tmd`` (the order time) are the
emulator's choices.

Filters: ``INQR_STRT_DT``..``INQR_END_DT`` (KST dates; today when empty), ``SLL_BUY_DVSN_CD``
(``00`` all, ``01`` sells, ``02`` buys), ``PDNO``, ``ODNO``, ``ORD_GNO_BRNO``, ``CCLD_DVSN``
(``00`` all, ``01`` rows with executions, ``02`` rows with a remainder), ``INQR_DVSN``
(``00`` newest first, ``01`` oldest first). Rows are keyed ``ord_dt`` + ``odno`` for paging
(15 a page, :mod:`.paging`). ``output2`` sums the whole match, every page alike:
``tot_ord_qty`` (new and modify orders), ``tot_ccld_qty``, ``tot_ccld_amt``,
``prsm_tlex_smtl`` (``"0"``: the emulator charges no fees or taxes) and ``pchs_avg_pric``
(the average execution price). An order is listed only once ``visibility_delay`` has
passed since it was accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from . import errors
from .fields import ZERO, average, whole
from .messages import Answer, KisRequest, success
from .orders import OrderDesk
from .paging import DAILY_CCLD_PAGE, paginate
from .records import BRANCH, KisOrder
from .state import EmulatorState

__all__ = ["DailyOrders", "order_row"]

DVSN_NAMES = {"00": "지정가", "01": "시장가"}  # emulator's choice
SIDE_NAMES = {  # emulator's choice
    ("new", "01"): "현금매도", ("new", "02"): "현금매수",
    ("modify", "01"): "매도정정", ("modify", "02"): "매수정정",
    ("cancel", "01"): "매도취소", ("cancel", "02"): "매수취소",
}
NO_CONDITION = "없음"  # emulator's choice
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _day(request: KisRequest, name: str, default: str) -> str:
    text = request.get(name) or default
    try:
        datetime.strptime(text, "%Y%m%d")
    except ValueError:
        raise errors.refusal(errors.REQUEST, name) from None
    if len(text) != 8:
        raise errors.refusal(errors.REQUEST, name)
    return text


def _choice(request: KisRequest, name: str, options: tuple[str, ...]) -> str:
    value = request.get(name)
    if value not in options:
        raise errors.refusal(errors.REQUEST, f"{name} {value!r}")
    return value


def order_row(state: EmulatorState, order: KisOrder) -> dict[str, Any]:
    """One row of ``output1`` (call ``records.sync_fills`` first)."""
    records = state.records
    if order.kind == "cancel":
        filled = amount = remaining = ZERO
        cancelled = order.confirmed
    else:
        filled, amount = records.executed(order)
        view = state.sim.order(order.engine_ids[-1])
        remaining = view.quantity - view.filled_quantity if view.state.is_open else ZERO
        cancelled = order.cancelled
    return {
        "ord_dt": order.ord_dt, "ord_gno_brno": BRANCH, "odno": order.odno,
        "orgn_odno": order.orgn_odno, "ord_dvsn_name": DVSN_NAMES.get(order.dvsn, ""),
        "ord_dvsn_cd": order.dvsn, "sll_buy_dvsn_cd": order.side_code,
        "sll_buy_dvsn_cd_name": SIDE_NAMES[(order.kind, order.side_code)],
        "pdno": order.symbol, "prdt_name": state.listings[order.symbol].name,
        "ord_qty": whole(order.quantity), "ord_unpr": whole(order.price),
        "ord_tmd": order.ord_tmd, "tot_ccld_qty": whole(filled),
        "avg_prvs": average(amount, filled), "cncl_yn": "Y" if order.kind == "cancel" else "N",
        "tot_ccld_amt": whole(amount), "cnc_cfrm_qty": whole(cancelled),
        "rmn_qty": whole(remaining), "rjct_qty": "0", "ccld_cndt_name": NO_CONDITION,
        "excg_id_dvsn_cd": order.exchange, "infm_tmd": order.ord_tmd,
    }


class DailyOrders:
    """Serves ``GET /uapi/domestic-stock/v1/trading/inquire-daily-ccld``."""

    def __init__(self, state: EmulatorState, desk: OrderDesk) -> None:
        self.state = state
        self.desk = desk

    async def inquire(self, request: KisRequest) -> Answer:
        self.desk.check_account(request)
        today = self.state.today()
        start = _day(request, "INQR_STRT_DT", today)
        end = _day(request, "INQR_END_DT", today)
        side = _choice(request, "SLL_BUY_DVSN_CD", ("", "00", "01", "02"))
        executed = _choice(request, "CCLD_DVSN", ("", "00", "01", "02"))
        newest_first = _choice(request, "INQR_DVSN", ("", "00", "01")) != "01"
        symbol = request.get("PDNO")
        odno = request.get("ODNO")
        branch = request.get("ORD_GNO_BRNO")
        await self.state.venue.recent_orders(_EPOCH)  # the venue's latency and faults
        records = self.state.records
        records.sync_fills(self.state.sim.ledger.fills)
        rows: list[tuple[str, dict[str, Any]]] = []
        if branch in ("", BRANCH):
            for order in records.orders:
                if not (start <= order.ord_dt <= end) or not records.visible(order) \
                        or (side not in ("", "00") and order.side_code != side) \
                        or (symbol and order.symbol != symbol) \
                        or (odno and order.odno != odno.zfill(10)):
                    continue
                row = order_row(self.state, order)
                if (executed == "01" and row["tot_ccld_qty"] == "0") or \
                        (executed == "02" and row["rmn_qty"] == "0"):
                    continue
                rows.append((order.ord_dt + order.odno, row))
        if newest_first:
            rows.reverse()
        page = paginate(request, rows, DAILY_CCLD_PAGE, descending=newest_first,
                        valid=lambda key: len(key) == 18 and key.isdigit())
        matched = [row for _, row in rows]
        quantity = sum((Decimal(r["tot_ccld_qty"]) for r in matched), ZERO)
        amount = sum((Decimal(r["tot_ccld_amt"]) for r in matched), ZERO)
        totals = {
            "tot_ord_qty": whole(sum((Decimal(r["ord_qty"]) for r in matched
                                      if r["cncl_yn"] == "N"), ZERO)),
            "tot_ccld_qty": whole(quantity), "tot_ccld_amt": whole(amount),
            "prsm_tlex_smtl": "0", "pchs_avg_pric": average(amount, quantity),
        }
        credentials = self.state.credentials
        search = "^".join((credentials.cano, credentials.product_code, start, end,
                           side or "00", symbol, executed or "00"))
        return success(errors.INQUIRED, page.headers, ctx_area_fk100=search,
                       ctx_area_nk100=page.next_key, output1=page.rows, output2=totals)
