"""How the journal names an order so that it can be found again: client ids and fingerprints.

A client order id is the journal's tag, a separator and a sequence number::

    k3x9p2qa-1, k3x9p2qa-2, ...

* The **tag** is eight random base-36 characters (about 41 bits) drawn once, when the
  journal file is created, and stored in it. Two journals (two bots on one account, or a
  journal deleted and started again) therefore never hand out the same ids, which matters
  because venues such as Alpaca refuse a client order id forever once it was used.
* The **sequence number** is allocated in the same transaction that commits the order,
  so a crash can never hand out a committed id twice.
* Both parts are rendered with characters the venue accepts (:class:`ClientIdRules`). Where
  the venue allows lowercase letters and digits, which is almost everywhere, the tag
  appears as itself, so every id of one journal is recognisable at a glance.

Ids are deterministic: the same journal, sequence number and rules always give the same id.

Venues without client order ids (KIS) are searched by :class:`Fingerprint` instead: symbol,
side, quantity, limit price and a window around the creation time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ._time import as_utc

if TYPE_CHECKING:
    from ..model import Order, OrderSnapshot, Side
    from ..venue import Capabilities

__all__ = [
    "DEFAULT_ALPHABET",
    "DEFAULT_MAX_LENGTH",
    "MIN_CAPACITY",
    "TAG_LENGTH",
    "ClientIdRules",
    "Fingerprint",
    "is_journal_tag",
    "new_journal_tag",
]

DEFAULT_MAX_LENGTH = 32
DEFAULT_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz-"
"""The rules a venue gets unless its capabilities say otherwise (the Capabilities defaults)."""

TAG_LENGTH = 8
"""Base-36 characters in a journal tag."""

MIN_CAPACITY = 10**9
"""Rules must leave room for at least this many orders per journal."""

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE36_UPPER = _BASE36.upper()
_TAG_SPACE = 36**TAG_LENGTH
_SEPARATORS = "-_"
_PREFIXES_KEPT = 64  # journal tags whose rendered prefix one rule set remembers


def new_journal_tag() -> str:
    """A fresh random journal tag."""
    return "".join(secrets.choice(_BASE36) for _ in range(TAG_LENGTH))


def is_journal_tag(text: str) -> bool:
    return len(text) == TAG_LENGTH and all(c in _BASE36 for c in text)


def _width(value: int, base: int) -> int:
    """How many digits of ``base`` it takes to write ``value``."""
    width = 1
    while value >= base:
        value //= base
        width += 1
    return width


def _render(value: int, digits: str, width: int) -> str:
    base = len(digits)
    text = ""  # ids are short: prepending to a string is cheaper than a list and a join
    while value:
        value, digit = divmod(value, base)
        text = digits[digit] + text
    return text.rjust(width, digits[0])


def _prefix(tag: str, digits: str, width: int, separator: str) -> str:
    """The journal tag as ids of these rules begin (checked once, then remembered)."""
    if not is_journal_tag(tag):
        raise ValueError(f"{tag!r} is not a journal tag")
    return _render(int(tag, 36), digits, width) + separator


def _pick_digits(usable: set[str]) -> str:
    """The characters ids are written with: base 36 when allowed, else what the venue allows."""
    for candidate in (_BASE36, _BASE36_UPPER):
        if usable.issuperset(candidate):
            return candidate
    alnum = sorted(c for c in usable if c.isascii() and c.isalnum())
    return "".join(alnum) if len(alnum) >= 2 else "".join(sorted(usable))


@dataclass(frozen=True, slots=True)
class ClientIdRules:
    """What a venue accepts as a client order id: a maximum length and an alphabet.

    Build it from the venue's declaration with :meth:`from_capabilities`. Construction
    fails with :class:`ValueError` when the rules leave room for fewer than
    :data:`MIN_CAPACITY` orders per journal (for example an alphabet of one character).
    """

    max_length: int = DEFAULT_MAX_LENGTH
    alphabet: str = DEFAULT_ALPHABET
    _digits: str = field(init=False, repr=False, compare=False)
    _separator: str = field(init=False, repr=False, compare=False)
    _tag_width: int = field(init=False, repr=False, compare=False)
    _capacity: int = field(init=False, repr=False, compare=False)
    # The rendered prefix of each journal tag these rules were asked for (one or two).
    _prefixes: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_length < 1:
            raise ValueError(f"client order id max_length must be positive, got {self.max_length}")
        usable = {c for c in self.alphabet if c.isprintable() and not c.isspace()}
        separator = next((s for s in _SEPARATORS if s in usable), "")
        digits = _pick_digits(usable - {separator})
        if len(digits) < 2 and separator:  # the separator is needed as a digit
            separator, digits = "", _pick_digits(usable)
        if len(digits) < 2:
            raise ValueError(f"the client order id alphabet {self.alphabet!r} has fewer than two "
                             "usable characters")
        tag_width = _width(_TAG_SPACE - 1, len(digits))
        room = self.max_length - tag_width - len(separator)
        capacity = len(digits) ** room - 1 if room > 0 else 0
        if capacity < MIN_CAPACITY:
            raise ValueError(
                f"client order ids of at most {self.max_length} characters from "
                f"{self.alphabet!r} leave room for {capacity} orders per journal; at least "
                f"{MIN_CAPACITY} are needed (the journal tag alone takes {tag_width})")
        object.__setattr__(self, "_digits", digits)
        object.__setattr__(self, "_separator", separator)
        object.__setattr__(self, "_tag_width", tag_width)
        object.__setattr__(self, "_capacity", capacity)
        object.__setattr__(self, "_prefixes", {})

    @classmethod
    def from_capabilities(cls, capabilities: Capabilities) -> ClientIdRules:
        return cls(capabilities.client_order_id_max_length,
                   capabilities.client_order_id_alphabet)

    @property
    def capacity(self) -> int:
        """The highest sequence number these rules can express."""
        return self._capacity

    def client_order_id(self, tag: str, sequence: int) -> str:
        """The id of order number ``sequence`` (from 1) in the journal tagged ``tag``."""
        if not 1 <= sequence <= self._capacity:
            raise ValueError(f"sequence {sequence} is outside 1..{self._capacity} for {self!r}")
        prefix = self._prefixes.get(tag)
        if prefix is None:
            prefix = _prefix(tag, self._digits, self._tag_width, self._separator)
            if len(self._prefixes) >= _PREFIXES_KEPT:
                self._prefixes.clear()
            self._prefixes[tag] = prefix
        return prefix + _render(sequence, self._digits, 0)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What identifies an order at a venue that has no client order ids.

    ``quantity`` is None for a notional order (its quantity is the venue's to decide), in
    which case it is not compared. Naive datetimes are taken to be UTC.
    """

    symbol: str
    side: Side
    quantity: Decimal | None
    limit_price: Decimal | None
    created_at: datetime

    @classmethod
    def of(cls, order: Order) -> Fingerprint:
        return cls(order.symbol, order.side, order.quantity, order.limit_price,
                   order.created_at)

    def matches(self, snapshot: OrderSnapshot, window: timedelta) -> bool:
        """True when ``snapshot`` may be this order.

        Symbol, side, limit price and (when known) quantity must be equal as numbers
        (``Decimal("1.0")`` equals ``Decimal("1")``), and the venue's creation time must lie
        within ``window`` of ours. A snapshot without a creation time cannot be excluded by
        time, so it matches on the other fields alone; callers choosing among several
        matches should prefer those with a time.
        """
        if window < timedelta(0):
            raise ValueError(f"the fingerprint window must not be negative, got {window}")
        if snapshot.symbol != self.symbol or snapshot.side is not self.side:
            return False
        if self.quantity is not None and snapshot.quantity != self.quantity:
            return False
        if snapshot.limit_price != self.limit_price:
            return False
        if snapshot.created_at is None:
            return True
        return abs(as_utc(snapshot.created_at) - as_utc(self.created_at)) <= window
