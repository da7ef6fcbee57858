"""Execution notices: decryption checked against records encrypted here, with the
``cryptography`` primitives directly (not through the plugin's code), in both layouts."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from venuekit.errors import Code, VenueKitError
from venuekit.model import OrderState, Side
from venuekit_kis.notices import Notice, decrypt, read_frame
from venuekit_kis.stream import ExecutionStream

KEY = "uvbpznjqabrxhowcftgehxghhhsxtwro"  # 32 ASCII characters: AES-256
IV = "ca513e8bf725c575"  # 16 ASCII characters

# The current layout (26 fields), a fill: 3 shares at 71,000 of order 0000012345 for 10.
FILL_26 = ("HTSID01^5012345601^0000012345^^02^0^00^0^005930^3^71000^093015^0^2^2^00950^10^"
           "홍길동^0^KRX^N^^^^삼성전자^71000")
# The older layout (23 fields): 17 ACNT_NAME, 18 CNTG_ISNM, 19 CRDT_CLS, 20 CRDT_LOAN_DATE,
# 21 CNTG_ISNM40, 22 ODER_PRC. An acceptance: slots 9 and 10 carry the order's.
ACCEPT_23 = ("HTSID01^5012345601^0000012346^^01^0^00^0^000660^5^210500^093016^0^1^1^00950^5^"
             "홍길동^SK하이닉스^^^SK하이닉스^210500")


def encrypt(plain: str, key: str = KEY, iv: str = IV) -> str:
    """AES-256-CBC over the PKCS7-padded UTF-8 record, base64: as KIS sends it."""
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def test_a_record_encrypted_independently_decrypts_to_itself() -> None:
    assert decrypt(encrypt(FILL_26), KEY, IV) == FILL_26


def test_a_26_field_fill_notice_is_read() -> None:
    tr_id, [notice] = read_frame(f"1|H0STCNI9|001|{encrypt(FILL_26)}", KEY, IV)
    assert tr_id == "H0STCNI9"
    assert notice.fill and not notice.refused
    assert (notice.order_no, notice.symbol, notice.side) == ("0000012345", "005930", Side.BUY)
    assert (notice.quantity, notice.price, notice.time) == (Decimal(3), Decimal(71000), "093015")
    assert (notice.order_quantity, notice.order_price) == (Decimal(10), Decimal(71000))
    assert notice.branch == "00950"


def test_a_23_field_acceptance_notice_is_read() -> None:
    _, [notice] = read_frame(f"1|H0STCNI9|001|{encrypt(ACCEPT_23)}", KEY, IV)
    assert not notice.fill and notice.acceptance == "1"
    assert notice.side is Side.SELL
    assert (notice.order_quantity, notice.order_price) == (Decimal(5), Decimal(210500))


def test_several_records_in_one_frame() -> None:
    both = FILL_26 + "^" + FILL_26.replace("^3^71000^093015", "^7^71100^093020")
    _, notices = read_frame(f"1|H0STCNI9|002|{encrypt(both)}", KEY, IV)
    assert [n.quantity for n in notices] == [Decimal(3), Decimal(7)]
    assert [n.price for n in notices] == [Decimal(71000), Decimal(71100)]


@pytest.mark.parametrize(("frame", "why"), [
    (f"1|H0STCNI9|001|{encrypt(FILL_26, key='x' * 32)}", "decrypted"),
    (f"1|H0STCNI9|001|{encrypt(FILL_26 + '^extra')}", "fields"),
    ("1|H0STCNI9|001|not base64!", "decrypted"),
    ("garbage", "encrypted|tr_id|count|data"),
])
def test_an_unreadable_frame_is_a_typed_error(frame: str, why: str) -> None:
    with pytest.raises(VenueKitError, match=why) as info:
        read_frame(frame, KEY, IV)
    assert info.value.code is Code.VENUE_ERROR


def test_a_frame_of_another_tr_id_has_no_notices() -> None:
    assert read_frame("0|H0STCNT0|001|005930^093015^71000", None, None) == ("H0STCNT0", [])


def _notice(**fields: object) -> Notice:
    base: dict[str, object] = dict(
        order_no="0000000012", original_no="", side=Side.BUY, correction="0", kind="00",
        symbol="005930", quantity=Decimal(10), price=Decimal(71000), time="093015",
        refused=False, fill=False, acceptance="1", branch="00950",
        order_quantity=Decimal(10), order_price=Decimal(71000))
    return Notice(**(base | fields))  # type: ignore[arg-type]


def test_a_cancel_notice_ends_an_order_only_when_it_covers_what_the_stream_saw() -> None:
    """A confirmed cancel ends the order it names once the cancelled quantity and the fills
    counted cover it; a partial cancel, or a cancel of an order this stream never saw
    accepted (its size unknown here), is left to the daily inquiry."""
    async def noop() -> Any:
        raise AssertionError("not connected in this test")

    stream = ExecutionStream("ws://127.0.0.1:1", noop, "hts", live=False, venue="kis",
                             timeout=1)
    cancel = {"order_no": "0000000013", "original_no": "0000000012", "correction": "2",
              "acceptance": "2"}
    assert stream._update(_notice(**cancel, quantity=Decimal(7))) is None  # never seen
    accepted = stream._update(_notice())
    assert accepted is not None and accepted.order.state is OrderState.ACKNOWLEDGED
    fill = stream._update(_notice(fill=True, quantity=Decimal(3), acceptance="2"))
    assert fill is not None and fill.fill is not None and fill.fill.quantity == 3
    assert stream._update(_notice(**cancel, quantity=Decimal(5))) is None  # 3 + 5 < 10
    ended = stream._update(_notice(**cancel, quantity=Decimal(7)))
    assert ended is not None and ended.order.state is OrderState.CANCELLED
    assert ended.order.venue_order_id.endswith("-00950-0000000012")
    assert ended.order.filled_quantity == 3
    repeat = stream._update(_notice(fill=True, quantity=Decimal(3), acceptance="2"))
    assert repeat is None  # the same execution's notice again: not counted twice
