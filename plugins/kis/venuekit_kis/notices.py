"""KIS's execution notices (체결통보, ``H0STCNI9`` on paper, ``H0STCNI0`` live): decrypting
and reading them.

A data frame is ``<encrypted 0|1>|<tr_id>|<count>|<payload>``; for the execution notice
the payload is base64 of AES-256-CBC (the subscription's 32-character key and 16-character
iv, as UTF-8 bytes) over the PKCS7-padded UTF-8 record, ``count`` records joined by ``^``.
A record has 26 fields (the current layout) or 23 (the older one, whose tail differs after
field 16). Fields 9 and 10 are the fill's quantity and price only on a fill notice
(``CNTG_YN`` 2); on other notices they carry the order's, so the order's own quantity is
read from field 16 and its price from the last field.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from venuekit.errors import Code, error
from venuekit.model import Side

__all__ = ["FIELDS", "Notice", "decrypt", "read_frame"]

FIELDS = (26, 23)
"""The record layouts: the current one first."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One execution-notice record, typed."""

    order_no: str
    """ODER_NO: the order number the notice is about (a cancel's own number for a cancel)."""
    original_no: str
    """OODER_NO: the order a cancel or modify acts on ("" for a new order)."""
    side: Side
    correction: str
    """RCTF_CLS: 0 (or empty) a new order, 1 a modify, 2 a cancel."""
    kind: str
    """ODER_KIND: the order division (00 limit, 01 market, ...)."""
    symbol: str
    quantity: Decimal
    """CNTG_QTY: the fill's quantity on a fill, else the quantity the notice concerns."""
    price: Decimal
    time: str
    """STCK_CNTG_HOUR: HHMMSS, KST."""
    refused: bool
    fill: bool
    acceptance: str
    """ACPT_YN: 1 accepted, 2 confirmed, 3 cancelled (IOC/FOK)."""
    branch: str
    order_quantity: Decimal
    order_price: Decimal


def decrypt(payload: str, key: str, iv: str) -> str:
    """The plaintext of an encrypted payload (AES-256-CBC, PKCS7, base64)."""
    try:
        data = base64.b64decode(payload, validate=True)
        decryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise error(Code.VENUE_ERROR, f"an execution notice could not be decrypted "
                    f"({type(exc).__name__})", venue="kis") from None


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text.strip() or "0")
    except InvalidOperation:
        raise error(Code.VENUE_ERROR, f"an execution notice has a bad {name}: {text!r}",
                    venue="kis") from None
    if not value.is_finite():
        raise error(Code.VENUE_ERROR, f"an execution notice has a bad {name}: {text!r}",
                    venue="kis")
    return value


def _record(fields: list[str]) -> Notice:
    side = {"01": Side.SELL, "02": Side.BUY}.get(fields[4].strip())
    if side is None:
        raise error(Code.VENUE_ERROR, f"an execution notice has an unknown side "
                    f"{fields[4]!r}", venue="kis")
    return Notice(
        order_no=fields[2].strip(), original_no=fields[3].strip(), side=side,
        correction=fields[5].strip() or "0", kind=fields[6].strip(), symbol=fields[8].strip(),
        quantity=_decimal(fields[9], "CNTG_QTY"), price=_decimal(fields[10], "CNTG_UNPR"),
        time=fields[11].strip(), refused=fields[12].strip() in ("1", "Y"),
        fill=fields[13].strip() == "2", acceptance=fields[14].strip(),
        branch=fields[15].strip(), order_quantity=_decimal(fields[16], "ODER_QTY"),
        order_price=_decimal(fields[-1], "ODER_PRC"))


def read_frame(frame: str, key: str | None, iv: str | None) -> tuple[str, list[Notice]]:
    """The tr_id of a data frame and its notices (none for a tr_id other than an
    execution notice's). Raises ``VENUE_ERROR`` for a frame that cannot be read."""
    parts = frame.split("|", 3)
    if len(parts) != 4:
        raise error(Code.VENUE_ERROR, "a stream frame is not encrypted|tr_id|count|data",
                    venue="kis")
    encrypted, tr_id, count_text, payload = parts
    if not tr_id.startswith("H0STCNI"):
        return tr_id, []
    if encrypted == "1":
        if key is None or iv is None:
            raise error(Code.VENUE_ERROR, "an encrypted notice arrived before its key",
                        venue="kis")
        payload = decrypt(payload, key, iv)
    fields = payload.split("^")
    try:
        count = int(count_text)
    except ValueError:
        count = 1
    for width in FIELDS:
        if count >= 1 and len(fields) == count * width:
            return tr_id, [_record(fields[i * width:(i + 1) * width]) for i in range(count)]
    raise error(Code.VENUE_ERROR, f"an execution notice has {len(fields)} fields for "
                f"{count} record(s); expected {' or '.join(map(str, FIELDS))} each",
                venue="kis")
