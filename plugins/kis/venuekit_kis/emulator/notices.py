"""Execution notices (``H0STCNI9``): which order updates make which notices, and their
records.

The mock venue's order stream says what the engine did; :func:`notices_for` turns each
update into KIS's notices, resolving engine orders to KIS orders (:mod:`.records`):

* an engine order accepted for a **new order** → an acceptance notice: ``CNTG_YN`` ``1``,
  ``ACPT_YN`` ``1``, ``RFUS_YN`` ``0``, ``RCTF_CLS`` ``0``, fields 9/10 the order quantity and
  price (``0`` for a market order);
* an engine order accepted for a **modify order** → its confirmation: ``ODER_NO`` the modify
  order, ``OODER_NO`` the original, ``RCTF_CLS`` ``1``, ``CNTG_YN`` ``1``, ``ACPT_YN`` ``2``,
  fields 9/10 the quantity moved and the new price;
* every **execution** → a fill notice: ``CNTG_YN`` ``2``, ``ACPT_YN`` ``2``, field 9 the
  executed quantity, 10 its price, 11 its time (``HHMMSS`` KST);
* an engine order **cancelled**, or replaced by a smaller one for a partial cancel → the
  cancel's confirmation: ``ODER_NO`` the cancel order, ``OODER_NO`` the original,
  ``RCTF_CLS`` ``2``, ``CNTG_YN`` ``1``, ``ACPT_YN`` ``2``, fields 9 and 16 the quantity
  cancelled, 10 and 25 the original's price.

An engine order that only continues a KIS order (after a partial cancel or modify) is
announced by nothing; neither is an order that expires at a session close (the emulator's
choice). Every notice carries ``CUST_ID`` (the HTS id), ``ACNT_NO`` (``CANO`` +
``ACNT_PRDT_CD``), ``SELN_BYOV_CLS`` (``01`` sell, ``02`` buy), ``ODER_KIND`` (the order's
``ORD_DVSN``), ``ODER_COND`` ``0``, the product code, ``BRNC_NO`` ``00950``, ``ODER_QTY``
(field 16), ``ORD_EXG_GB`` (``KRX``), the product name and ``ODER_PRC``.

:func:`record` writes the ``^``-separated record: 26 fields (the current layout) or, with
``record_fields=23``, python-kis 2.1.6's older tail (17 ``ACNT_NAME``, 18 ``CNTG_ISNM``, 19
``CRDT_CLS``, 20 ``CRDT_LOAN_DATE``, 21 ``CNTG_ISNM40``, 22 ``ODER_PRC``). The account holder
name (``ACNT_NAME``) is ``모의투자`` (the emulator's choice).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from venuekit.model import OrderState, OrderUpdate

from .auth import Credentials
from .fields import whole
from .kst import time_text
from .records import BRANCH, KisOrder, OrderRecords

__all__ = ["ACCOUNT_NAME", "Notice", "notices_for", "record"]

ACCOUNT_NAME = "모의투자"  # emulator's choice
RECORD_FIELDS = (23, 26)


@dataclass(frozen=True, slots=True)
class Notice:
    """One execution notice, before it is written."""

    order_no: str
    original_no: str
    side_code: str
    correction: str
    """``RCTF_CLS``: ``0`` none, ``1`` modify, ``2`` cancel."""
    kind: str
    symbol: str
    quantity: Decimal
    """Field 9: executed, ordered, moved or cancelled quantity, as the notice says."""
    price: Decimal
    """Field 10."""
    time: str
    executed: bool
    """``CNTG_YN`` ``2`` (an execution) rather than ``1``."""
    acceptance: str
    """``ACPT_YN``: ``1`` accepted, ``2`` confirmed."""
    order_quantity: Decimal
    order_price: Decimal
    exchange: str
    name: str


def _notice(order: KisOrder, name: str, **changes: Any) -> Notice:
    """``order``'s acceptance notice, with ``changes``."""
    accepted = Notice(
        order_no=order.odno, original_no=order.orgn_odno, side_code=order.side_code,
        correction="0", kind=order.dvsn, symbol=order.symbol, quantity=order.quantity,
        price=order.price, time=order.ord_tmd, executed=False, acceptance="1",
        order_quantity=order.quantity, order_price=order.price, exchange=order.exchange,
        name=name)
    return replace(accepted, **changes)


def notices_for(update: OrderUpdate, records: OrderRecords,
                names: dict[str, str]) -> list[Notice]:
    """The notices one order update makes (see the module documentation)."""
    snapshot = update.order
    engine_id = snapshot.venue_order_id
    fill = update.fill
    if fill is not None:
        order = records.confirm(snapshot)
        if order is None:
            return []
        return [_notice(order, names[order.symbol], quantity=fill.quantity,
                        price=fill.price, time=time_text(fill.at), executed=True,
                        acceptance="2")]
    state = snapshot.state
    if state is OrderState.ACKNOWLEDGED:
        order = records.confirm(snapshot)
        if order is None or order.engine_ids[0] != engine_id or order.kind == "cancel":
            return []
        if order.kind == "new":
            return [_notice(order, names[order.symbol])]
        return [_notice(order, names[order.symbol], correction="1", acceptance="2")]
    if state in (OrderState.CANCELLED, OrderState.REPLACED):
        amendment = records.amendment_on(engine_id)
        if amendment is None or amendment.kind != "cancel":
            return []
        remaining = (snapshot.quantity or Decimal(0)) - snapshot.filled_quantity
        cancel = records.confirm_cancel(engine_id, remaining
                                        if state is OrderState.CANCELLED
                                        else amendment.asked or remaining)
        if cancel is None:
            return []
        original = amendment.original
        return [_notice(cancel, names[cancel.symbol], correction="2", acceptance="2",
                        quantity=cancel.confirmed, order_quantity=cancel.confirmed,
                        price=original.price, order_price=original.price,
                        kind=original.dvsn, time=time_text(update.at))]
    return []


def record(notice: Notice, credentials: Credentials, fields: int = 26) -> str:
    """The ``^``-separated record of ``notice`` with ``fields`` (26 or 23) fields."""
    head = [
        credentials.hts_id, credentials.account_number, notice.order_no, notice.original_no,
        notice.side_code, notice.correction, notice.kind, "0", notice.symbol,
        whole(notice.quantity), whole(notice.price), notice.time, "0",
        "2" if notice.executed else "1", notice.acceptance, BRANCH,
        whole(notice.order_quantity)]
    price = whole(notice.order_price)
    if fields == 23:
        tail = [ACCOUNT_NAME, notice.name, "", "", notice.name, price]
    else:
        tail = [ACCOUNT_NAME, "0", notice.exchange, "N", "", "", "", notice.name, price]
    return "^".join(head + tail)
