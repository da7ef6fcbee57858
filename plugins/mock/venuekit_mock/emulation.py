"""What every emulator built on the mock's simulator shares: the control of its market.

An emulator (``venuekit emulate alpaca``, ``binance``, ``kis``) serves a venue's wire protocol
on its own event loop, with a :class:`~venuekit_mock.MockVenue` behind the wire. Its
control object moves that venue's market, arms its faults and reads its ledger of truth,
from a test's thread or the loop's own: :class:`SimulatorControl` does this much for all of
them, each call handed to the emulator's loop (:func:`venuekit.emulator.call_on_loop`), and
an emulator's control adds what its wire needs (ids, balances, tokens, rate limits).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from venuekit.emulator import call_on_loop

from .control import MockControl
from .sim import Fault, Ledger
from .venue import MockVenue

__all__ = ["Amount", "EmulatorHost", "SimulatorControl", "control_amount"]

Amount = Decimal | int | str
T = TypeVar("T")

CALL_TIMEOUT = 30.0
"""Seconds a control call may wait for the emulator's loop."""


class EmulatorHost(Protocol):
    """The part of an emulator's state its control needs."""

    venue: MockVenue
    loop: asyncio.AbstractEventLoop | None
    loop_thread: int | None


def control_amount(value: object) -> Decimal:
    """An amount given to a control call: a Decimal, an int or a decimal string (a float is
    refused: it may not be the number the caller wrote)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value)
    raise ValueError(f"amounts are decimal strings such as \"12.50\", got {value!r}")


class SimulatorControl:
    """The market, faults and ledger of the mock venue behind an emulator; every call runs
    on the emulator's loop thread (directly when already on it)."""

    def __init__(self, host: EmulatorHost) -> None:
        self._host = host

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return call_on_loop(self._host.loop, self._host.loop_thread, fn, *args,
                            timeout=CALL_TIMEOUT)

    @property
    def _mock(self) -> MockControl:
        return self._host.venue.control

    # market --------------------------------------------------------------------------
    def advance(self, steps: int = 1) -> None:
        """Move the market ``steps`` steps; resting orders match after each one."""
        self._call(self._mock.advance, steps)

    def set_quote(self, symbol: str, bid: Amount, ask: Amount, bid_size: Amount | None = None,
                  ask_size: Amount | None = None) -> None:
        """Force ``symbol``'s quote until the next step; crossed resting orders fill."""
        self._call(self._mock.set_quote, symbol, bid, ask, bid_size, ask_size)

    def end_session(self) -> None:
        """Close the session now: auction orders for the close execute, then working day
        orders expire; each symbol's next quote opens the next session (and its opening
        auction)."""
        self._call(self._mock.end_session)

    def quote(self, symbol: str) -> tuple[Decimal, Decimal]:
        """The current bid and ask of ``symbol``."""
        book = self._call(self._host.venue.simulator.book, symbol)
        return book.bid, book.ask

    # faults --------------------------------------------------------------------------
    def set_fault(self, fault: Fault | str, probability: Amount | float) -> None:
        """Make ``fault`` strike with ``probability`` (0 turns it off). Faults act at the
        wire: see the emulator's module documentation."""
        self._call(self._mock.set_fault, fault, probability)

    def script_fault(self, fault: Fault | str, *order_indices: int) -> None:
        """Make ``fault`` strike on the new orders with these indices (1 is the first order
        the emulator receives; stream faults strike that order's first eligible event)."""
        self._call(self._mock.script_fault, fault, *order_indices)

    def fail_authentication(self, enabled: bool = True) -> None:
        """Refuse every request's credentials, the wire's way, until turned off."""
        self._call(self._mock.fail_authentication, enabled)

    def clear_faults(self) -> None:
        self._call(self._mock.clear_faults)

    # truth ---------------------------------------------------------------------------
    @property
    def ledger(self) -> Ledger:
        """The mock venue's ledger (its own order ids)."""
        return self._mock.ledger
