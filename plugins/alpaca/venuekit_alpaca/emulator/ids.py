"""Alpaca's identifiers for the simulator's records.

Alpaca names orders, executions, assets and the account by UUID; the simulator numbers its
orders (``M00000001``) and trades (``T00000001``). :class:`IdCodec` maps one to the other
without a table: an order's UUID is a fixed, seed-derived prefix followed by the order's
sequence number in hexadecimal, so any UUID can be decoded back (or recognised as not one
of ours). Equal seeds give equal ids.
"""

from __future__ import annotations

import uuid

__all__ = ["IdCodec"]

_NAMESPACE = uuid.UUID("6f0c1a52-6e0b-4c8e-9a55-3f4d9b1e7c21")
_PREFIX_HEX = 20  # hex digits of the fixed part; the last 12 carry the sequence number


def _base(seed: int, kind: str) -> str:
    return uuid.uuid5(_NAMESPACE, f"{seed}/{kind}").hex[:_PREFIX_HEX]


class IdCodec:
    """UUIDs for one emulator's orders and executions, and the way back."""

    def __init__(self, seed: int, order_prefix: str, trade_prefix: str) -> None:
        self._order_prefix = order_prefix
        self._trade_prefix = trade_prefix
        self._order_base = _base(seed, "orders")
        self._trade_base = _base(seed, "executions")
        self.account_id = str(uuid.uuid5(_NAMESPACE, f"{seed}/account"))
        self.account_number = "PA" + self.account_id.replace("-", "")[:10].upper()

    @staticmethod
    def _encode(base: str, prefix: str, record_id: str) -> str:
        number = int(record_id[len(prefix):])
        return str(uuid.UUID(hex=f"{base}{number:012x}"))

    @staticmethod
    def _decode(base: str, prefix: str, text: str) -> str | None:
        try:
            hex_ = uuid.UUID(text).hex
        except ValueError:
            return None
        if hex_[:_PREFIX_HEX] != base:
            return None
        return prefix + str(int(hex_[_PREFIX_HEX:], 16)).zfill(8)

    def order_uuid(self, venue_order_id: str) -> str:
        """The Alpaca id of a simulator order."""
        return self._encode(self._order_base, self._order_prefix, venue_order_id)

    def order_record(self, order_id: str) -> str | None:
        """The simulator's id for an Alpaca order id, or None when it is not one of ours."""
        return self._decode(self._order_base, self._order_prefix, order_id)

    def execution_uuid(self, trade_id: str) -> str:
        return self._encode(self._trade_base, self._trade_prefix, trade_id)

    @staticmethod
    def asset_uuid(symbol: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"asset/{symbol}"))

    @staticmethod
    def is_uuid(text: str) -> bool:
        try:
            uuid.UUID(text)
        except ValueError:
            return False
        return True
