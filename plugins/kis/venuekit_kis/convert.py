"""KIS's answers read into venuekit's model, Decimal end to end.

Order ids. KIS numbers orders per day (ODNO, ten digits) and a cancel needs the order's
branch (KRX_FWDG_ORD_ORGNO) beside its number, so venuekit's venue order id is
``<KST date>-<branch>-<number>``: ``20261207-00950-0000000012``.

An order's state comes from its row of the daily order inquiry (주식일별주문체결조회): the
quantity filled (``tot_ccld_qty``) and what is left (``rmn_qty``). A cancel is an order of
its own (with ``orgn_odno`` naming the order cancelled); on the order's row, what a cancel
took leaves ``rmn_qty``, so an order with nothing left and not wholly filled has ended
cancelled. Rows of cancels and modifies are not orders of venuekit's and are skipped.

Times are KST (``ord_dt`` YYYYMMDD, ``ord_tmd`` HHMMSS) and become UTC.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from venuekit.errors import Code, error
from venuekit.model import (
    Account,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    OrderState,
    OrderType,
    Position,
    Quote,
    Side,
    utcnow,
)

from .auth import KST
from .krx import tick_table

__all__ = ["CURRENCY", "account", "from_order_answer", "instrument", "is_order_row",
           "kst_date", "order_id", "parse_order_id", "price_limits", "quote", "snapshot"]

CURRENCY = "KRW"
_KST_OFFSET = timedelta(hours=9)
ZERO = Decimal(0)
ONE = Decimal(1)
SELL, BUY = "01", "02"


def decimal(value: object, field: str, venue: str) -> Decimal:
    """A KIS number (a string of digits, maybe with decimals) as a Decimal."""
    text = str(value if value is not None else "").strip() or "0"
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise error(Code.VENUE_ERROR, f"{venue} answered a bad {field}: {value!r}",
                    venue=venue) from None
    if not number.is_finite():
        raise error(Code.VENUE_ERROR, f"{venue} answered a bad {field}: {value!r}", venue=venue)
    return number.quantize(ONE) if number == number.to_integral_value() else number


_today: tuple[float, str] = (0.0, "")
"""Until when (epoch seconds) the cached KST date holds, and the date: every order asks."""


def kst_date(at: datetime | None = None) -> str:
    """YYYYMMDD in KST (of ``at``, or now)."""
    global _today
    if at is not None:
        return at.astimezone(KST).strftime("%Y%m%d")
    now = time.time()
    until, day = _today
    if now < until:
        return day
    local = datetime.fromtimestamp(now, KST)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day = local.strftime("%Y%m%d")
    _today = ((midnight + timedelta(days=1)).timestamp(), day)
    return day


def kst_time(date: str, hhmmss: str) -> datetime | None:
    """``YYYYMMDD`` and ``HHMMSS`` in KST as a UTC datetime (None if not a time)."""
    clock = hhmmss.strip().rjust(6, "0")
    if len(date) != 8 or len(clock) != 6 or not (date + clock).isdigit():
        return None
    try:
        local = datetime(int(date[:4]), int(date[4:6]), int(date[6:]), int(clock[:2]),
                         int(clock[2:4]), int(clock[4:]), tzinfo=UTC)
    except ValueError:
        return None
    return local - _KST_OFFSET  # KST is UTC+9 all year (no daylight saving)


def order_id(date: str, branch: str, number: str) -> str:
    return f"{date}-{branch}-{number}"


def parse_order_id(venue_order_id: str, venue: str) -> tuple[str, str, str]:
    """``(date, branch, number)`` of a venue order id."""
    parts = venue_order_id.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 8:
        raise error(Code.UNKNOWN_ORDER, f"{venue_order_id!r} is not a {venue} order id "
                    "(date-branch-number, as 20261207-00950-0000000012)", venue=venue)
    return parts[0], parts[1], parts[2]


# orders ----------------------------------------------------------------------------------
def from_order_answer(output: Mapping[str, Any], request: OrderRequest, date: str,
                      venue: str) -> OrderSnapshot:
    """The order order-cash created, from its answer (``output``: ODNO, branch, time)."""
    number = str(output.get("ODNO") or "").strip()
    branch = str(output.get("KRX_FWDG_ORD_ORGNO") or "").strip()
    if not (number.isdigit() and branch.isdigit()):
        raise error(Code.VENUE_ERROR, f"{venue} accepted an order without its number "
                    f"(ODNO {number!r}, branch {branch!r})", venue=venue)
    return OrderSnapshot(
        venue_order_id=order_id(date, branch, number), symbol=request.symbol,
        side=request.side, order_type=request.order_type, state=OrderState.ACKNOWLEDGED,
        quantity=request.quantity, limit_price=request.limit_price,
        created_at=kst_time(date, str(output.get("ORD_TMD") or "")) or utcnow())


def is_order_row(row: Mapping[str, Any]) -> bool:
    """A row of an order (not of a cancel or a modify of one)."""
    return not str(row.get("orgn_odno") or "").strip().strip("0")


def snapshot(row: Mapping[str, Any], venue: str) -> OrderSnapshot:
    """An order's row of the daily order inquiry as a snapshot."""
    date = str(row.get("ord_dt") or "").strip()
    side = {SELL: Side.SELL, BUY: Side.BUY}.get(str(row.get("sll_buy_dvsn_cd")).strip())
    if side is None:
        raise error(Code.VENUE_ERROR, f"{venue} listed an order with an unknown side "
                    f"{row.get('sll_buy_dvsn_cd')!r}", venue=venue)
    market = str(row.get("ord_dvsn_cd") or "").strip() == "01"
    quantity = decimal(row.get("ord_qty"), "ord_qty", venue)
    filled = decimal(row.get("tot_ccld_qty"), "tot_ccld_qty", venue)
    left = decimal(row.get("rmn_qty"), "rmn_qty", venue)
    refused = decimal(row.get("rjct_qty"), "rjct_qty", venue)
    if filled >= quantity > 0:
        state = OrderState.FILLED
    elif refused > 0 and filled == 0:
        state = OrderState.REJECTED
    elif left <= 0:
        state = OrderState.CANCELLED
    elif filled > 0:
        state = OrderState.PARTIALLY_FILLED
    else:
        state = OrderState.ACKNOWLEDGED
    average = decimal(row.get("avg_prvs"), "avg_prvs", venue)
    return OrderSnapshot(
        venue_order_id=order_id(date, str(row.get("ord_gno_brno") or "").strip(),
                                str(row.get("odno") or "").strip()),
        symbol=str(row.get("pdno") or "").strip(), side=side,
        order_type=OrderType.MARKET if market else OrderType.LIMIT, state=state,
        quantity=quantity,
        limit_price=None if market else decimal(row.get("ord_unpr"), "ord_unpr", venue),
        filled_quantity=filled, average_price=average if filled > 0 and average > 0 else None,
        created_at=kst_time(date, str(row.get("ord_tmd") or "")))


# market data and the account -------------------------------------------------------------
def price_limits(output: Mapping[str, Any], venue: str) -> tuple[Decimal, Decimal]:
    """The day's lower and upper price limits (하한가, 상한가)."""
    return (decimal(output.get("stck_llam"), "stck_llam", venue),
            decimal(output.get("stck_mxpr"), "stck_mxpr", venue))


def instrument(symbol: str, output: Mapping[str, Any], venue: str) -> Instrument:
    """A stock's rules from its current price answer (inquire-price)."""
    last = decimal(output.get("stck_prpr"), "stck_prpr", venue)
    tick = decimal(output.get("aspr_unit"), "aspr_unit", venue)
    lot = decimal(output.get("hts_deal_qty_unit_val") or "1", "hts_deal_qty_unit_val", venue)
    if tick <= 0:
        raise error(Code.VENUE_ERROR, f"{venue} gave {symbol} no tick (aspr_unit)",
                    venue=venue)
    halted = str(output.get("temp_stop_yn") or "N").strip().upper() == "Y"
    return Instrument(symbol=symbol, tick_size=tick, lot_size=lot if lot > 0 else Decimal(1),
                      min_quantity=lot if lot > 0 else Decimal(1), fractional=False,
                      currency=CURRENCY, tick_table=tick_table(last, tick),
                      tradable=not halted)


def quote(symbol: str, book: Mapping[str, Any], venue: str) -> Quote:
    """The best bid and ask of the asking-price answer (호가, ``output1``)."""
    return Quote(symbol=symbol, bid=decimal(book.get("bidp1"), "bidp1", venue),
                 ask=decimal(book.get("askp1"), "askp1", venue),
                 bid_size=decimal(book.get("bidp_rsqn1"), "bidp_rsqn1", venue),
                 ask_size=decimal(book.get("askp_rsqn1"), "askp_rsqn1", venue))


def account(holdings: list[Mapping[str, Any]], totals: Mapping[str, Any],
            venue: str) -> Account:
    """Cash and positions from the balance inquiry (주식잔고조회).

    Cash is the deposit after pending settlements (``prvs_rcdl_excc_amt``, D+2): KRX
    settles two days after the trade, and what is bought today is paid from it."""
    cash = decimal(totals.get("prvs_rcdl_excc_amt"), "prvs_rcdl_excc_amt", venue)
    positions = []
    for row in holdings:
        quantity = decimal(row.get("hldg_qty"), "hldg_qty", venue)
        if quantity == 0:
            continue
        positions.append(Position(
            symbol=str(row.get("pdno") or "").strip(), quantity=quantity,
            average_price=decimal(row.get("pchs_avg_pric"), "pchs_avg_pric", venue),
            market_value=decimal(row.get("evlu_amt"), "evlu_amt", venue)))
    return Account(currency=CURRENCY, cash=cash, buying_power=cash,
                   positions=tuple(positions))
