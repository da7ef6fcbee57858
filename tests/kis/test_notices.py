"""Execution notices: decryption checked against records encrypted here, with the
``cryptography`` primitives directly (not through the plugin's code), in both layouts."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from venuekit.errors import Code, VenueKitError
from venuekit.model import Side
from venuekit_kis.notices import decrypt, read_frame

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
