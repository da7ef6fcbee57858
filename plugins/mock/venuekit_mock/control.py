"""The test-facing control surface of a mock venue: ``venue.control``.

Tests (and the conformance kit) move the market, force quotes, adjust the account, turn
faults on and off, and read the ledger of truth through it. Every change that produces
order events streams them and saves the venue state exactly as a request would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from .config import money
from .sim import DISCONNECT, Fault, FaultPlan, Ledger, SimEvent, Simulator, Statistics
from .stream import StreamHub

__all__ = ["MockControl"]

Amount = Decimal | int | str


class MockControl:
    """Drives one :class:`~venuekit_mock.venue.MockVenue`'s market and shows its truth.

    The venue hands over what the control acts on: its simulator (read each time: a venue
    restored from its state file replaces it), its fault plan, its stream hub, and
    ``commit``, which streams a change's events and saves the state as a request would.
    """

    def __init__(self, *, simulator: Callable[[], Simulator], faults: FaultPlan,
                 hub: StreamHub, commit: Callable[[Sequence[SimEvent]], None]) -> None:
        self._simulator = simulator
        self._faults = faults
        self._hub = hub
        self._commit = commit

    @property
    def simulator(self) -> Simulator:
        return self._simulator()

    @property
    def ledger(self) -> Ledger:
        """What the venue really did: orders, fills, cancels, rejects, injected faults."""
        return self.simulator.ledger

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    def statistics(self) -> Statistics:
        return self.simulator.statistics()

    # market --------------------------------------------------------------------------
    def advance(self, steps: int = 1) -> None:
        """Move the market ``steps`` steps; resting orders match after each one."""
        self._commit(self.simulator.advance(steps))

    def set_quote(self, symbol: str, bid: Amount, ask: Amount, bid_size: Amount | None = None,
                  ask_size: Amount | None = None) -> None:
        """Force ``symbol``'s quote until the next step; crossed resting orders fill."""
        self._commit(self.simulator.set_quote(
            symbol, money(bid), money(ask),
            money(bid_size) if bid_size is not None else None,
            money(ask_size) if ask_size is not None else None))

    def end_session(self) -> None:
        """Close the trading session now: the closing auction, then working DAY orders
        expire; each symbol's next quote opens the next session with its opening auction
        (see :mod:`venuekit_mock.sim.auctions`)."""
        self._commit(self.simulator.end_session())

    # account -------------------------------------------------------------------------
    def set_cash(self, amount: Amount) -> None:
        self.simulator.set_cash(money(amount))
        self._commit(())

    def set_position(self, symbol: str, quantity: Amount,
                     average_price: Amount | None = None) -> None:
        self.simulator.set_position(symbol, money(quantity),
                                    money(average_price) if average_price is not None else None)
        self._commit(())

    # faults --------------------------------------------------------------------------
    def set_fault(self, fault: Fault | str, probability: Amount | float) -> None:
        """Make ``fault`` strike with ``probability`` (0 turns it off)."""
        value = Decimal(repr(probability)) if isinstance(probability, float) \
            else money(probability)
        self.faults.set(fault, value)

    def script_fault(self, fault: Fault | str, *order_indices: int) -> None:
        """Make ``fault`` strike on the creates with these indices (1 is the first)."""
        self.faults.script(fault, *order_indices)

    def fail_authentication(self, enabled: bool = True) -> None:
        """Refuse every call's credentials (``AUTHENTICATION_FAILED``) until turned off."""
        self.faults.auth_failure = enabled

    def clear_faults(self) -> None:
        self.faults.clear()

    def disconnect_stream(self) -> None:
        """Drop every current stream subscriber now, as a network failure would."""
        self._hub.publish([DISCONNECT])

    @property
    def stream_subscribers(self) -> int:
        return self._hub.subscribers
