"""Credentials held so that nothing prints them: :class:`Secret`.

Venue plugins keep API keys in a :class:`Secret`: its repr, str and format are masked, it
cannot be pickled into a file by accident, and only :meth:`Secret.reveal` gives the value,
at the one place that sends it (a signature, a login request).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Secret"]


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
