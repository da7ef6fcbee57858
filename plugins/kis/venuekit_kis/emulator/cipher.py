"""The execution notices' encryption: AES-256-CBC, PKCS7 padding, base64.

Each ``H0STCNI9`` subscription gets a fresh key (32 ASCII letters: AES-256 uses their
UTF-8 bytes) and initialisation vector (16 ASCII hex digits), sent in the subscription's
ack. A notice's record is UTF-8 encoded, padded to the 16-byte block (PKCS7), encrypted
with that key and vector, and base64-encoded, as KIS's own clients decrypt it.
"""

from __future__ import annotations

import base64
import secrets
import string

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["SubscriptionKey", "encrypt"]

_LETTERS = string.ascii_lowercase


class SubscriptionKey:
    """One subscription's key and vector (their values stay out of the repr)."""

    def __init__(self) -> None:
        self.key = "".join(secrets.choice(_LETTERS) for _ in range(32))
        self.iv = secrets.token_hex(8)

    def __repr__(self) -> str:
        return "SubscriptionKey(...)"


def encrypt(text: str, secret: SubscriptionKey) -> str:
    """``base64(AES-256-CBC(key, iv, PKCS7(text as UTF-8)))``."""
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(text.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(secret.key.encode("ascii")),
                       modes.CBC(secret.iv.encode("ascii"))).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")
