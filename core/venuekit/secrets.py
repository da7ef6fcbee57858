"""Credentials held so that nothing prints them: :class:`Secret`.

Venue plugins keep API keys in a :class:`Secret`: its repr, str and format are masked, it
cannot be pickled into a file by accident, and only :meth:`Secret.reveal` gives the value,
at the one place that sends it (a signature, a login request).

:func:`looks_secret` and :func:`masked` are for showing settings (``venuekit config``): a
value whose key names a credential (``api_key``, ``secret``, ``KIS_APP_SECRET``, a token, a
password, an account number) is shown masked, whatever its type.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MASK", "Secret", "looks_secret", "masked"]

MASK = "***"
"""What a masked value shows."""

_SECRET_NAME = re.compile(r"key|secret|token|password|passphrase|credential|account|auth",
                          re.IGNORECASE)


class Secret:
    """A credential: its repr, str and format are masked; :meth:`reveal` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:  # never pickle a credential into a file by accident
        raise TypeError("a Secret cannot be pickled")


def looks_secret(name: str) -> bool:
    """True when a setting or variable named ``name`` may hold a credential."""
    return bool(_SECRET_NAME.search(name))


def masked(name: str, value: Any) -> Any:
    """``value`` as it may be shown: :data:`MASK` when ``name`` looks like a credential or
    the value is a :class:`Secret` (an empty value stays empty); else the value itself, with
    the tables and lists in it masked the same way."""
    if isinstance(value, Secret) or looks_secret(name):
        return MASK if value not in (None, "") else value
    if isinstance(value, dict):
        return {key: masked(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(name, item) for item in value]
    return value
