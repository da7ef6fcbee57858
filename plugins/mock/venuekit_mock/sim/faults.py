"""Fault injection: the knobs, when each fires, and how stream faults reshape delivery.

Every fault is a knob with a probability (drawn from its own seeded generator, so turning
faults on never changes the market's prices) and an optional script of order indices (the
ordinal of the create request, starting at 1) on which it fires for sure.

Request faults, decided by the venue around each call:

* ``drop_response``: the venue acts (accepts the order, cancels, replaces), then the
  response is lost; the caller sees a timeout.
* ``timeout``: the request times out before the venue acts.
* ``server_error``: the venue answers 5xx, before acting unless
  ``server_error_after_accept``.
* ``rate_limit``: the venue answers 429 with ``retry_after`` seconds, without acting.

Stream faults, decided per event by :meth:`FaultPlan.route`:

* ``stream_disconnect``: the stream drops before this event; it and everything until the
  subscriber reconnects are lost to it.
* ``duplicate_event``: the event is delivered twice.
* ``out_of_order``: the event is delivered after the one that follows it in the same batch
  (an ack after its fill, for example).
* ``lose_final_fill``: the update that fills the order completely is never streamed;
  reads still show the order filled.

A scripted stream fault fires once, on the first eligible event of that order. Every fault
that fires is recorded in the ledger.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Literal, TypeAlias

from venuekit.model import OrderState

from .ledger import Ledger
from .records import SimEvent

__all__ = [
    "DISCONNECT",
    "REQUEST_FAULTS",
    "STREAM_FAULTS",
    "Delivery",
    "Fault",
    "FaultPlan",
    "StreamMarker",
]


class Fault(enum.StrEnum):
    DROP_RESPONSE = "drop_response"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    RATE_LIMIT = "rate_limit"
    STREAM_DISCONNECT = "stream_disconnect"
    DUPLICATE_EVENT = "duplicate_event"
    OUT_OF_ORDER = "out_of_order"
    LOSE_FINAL_FILL = "lose_final_fill"


REQUEST_FAULTS = frozenset({Fault.DROP_RESPONSE, Fault.TIMEOUT, Fault.SERVER_ERROR,
                            Fault.RATE_LIMIT})
STREAM_FAULTS = frozenset(set(Fault) - REQUEST_FAULTS)


class StreamMarker(enum.Enum):
    DISCONNECT = "disconnect"


DISCONNECT = StreamMarker.DISCONNECT
Delivery: TypeAlias = SimEvent | Literal[StreamMarker.DISCONNECT]
"""What a stream subscriber receives: an event, or the disconnect that ends its stream."""

_PPM = 1_000_000


class FaultPlan:
    """Which faults fire, and when.

    ``probabilities`` maps a fault to a probability in [0, 1]; ``schedule`` maps a fault
    to the order indices on which it fires for sure (request faults only on the create
    with that index). ``operations`` limits probabilistic request faults to some venue
    methods (``"submit"``, ``"cancel"``, ``"fetch_order"``, ...); None means all of them.
    ``auth_failure`` makes every call fail authentication. ``seed`` seeds the draws.
    """

    def __init__(self, probabilities: Mapping[str, Decimal] | None = None,
                 schedule: Mapping[str, Iterable[int]] | None = None, *,
                 server_error_after_accept: bool = False, retry_after: float = 1.0,
                 auth_failure: bool = False, operations: Iterable[str] | None = None,
                 seed: int = 0) -> None:
        if retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        self.server_error_after_accept = server_error_after_accept
        self.retry_after = retry_after
        self.auth_failure = auth_failure
        self.operations = frozenset(operations) if operations is not None else None
        self._ppm: dict[Fault, int] = {}
        self._scripted: dict[Fault, set[int]] = {}
        self._spent: set[tuple[Fault, int]] = set()
        # Whether any probability or schedule is set: the venue asks on every request.
        self._armed = False
        self._rng = random.Random(f"venuekit-mock/faults/{seed}")
        for name, probability in (probabilities or {}).items():
            self.set(name, probability)
        for name, indices in (schedule or {}).items():
            self.script(name, *indices)

    def __repr__(self) -> str:
        odds = {k.value: str(self.probability(k)) for k in Fault if self._ppm.get(k)}
        script = {k.value: sorted(v) for k, v in self._scripted.items() if v}
        return (f"FaultPlan(probabilities={odds}, schedule={script}, "
                f"auth_failure={self.auth_failure})")

    def set(self, fault: str, probability: Decimal) -> None:
        """Set one fault's probability (0 turns it off), to one part in a million."""
        kind = Fault(fault)
        if not isinstance(probability, Decimal) or not 0 <= probability <= 1:
            raise ValueError(f"{kind.value}: a probability is a Decimal in [0, 1], "
                             f"got {probability!r}")
        self._ppm[kind] = int(probability * _PPM)
        self._rearm()

    def script(self, fault: str, *indices: int) -> None:
        """Make ``fault`` fire on the orders with these indices (1 is the first create)."""
        kind = Fault(fault)
        if any(not isinstance(i, int) or i < 1 for i in indices):
            raise ValueError(f"{kind.value}: order indices are integers from 1")
        self._scripted.setdefault(kind, set()).update(indices)
        self._rearm()

    def _rearm(self) -> None:
        self._armed = any(self._ppm.values()) or any(self._scripted.values())

    def clear(self) -> None:
        """Turn every fault off (authentication failures included)."""
        self._ppm.clear()
        self._scripted.clear()
        self._spent.clear()
        self._armed = False
        self.auth_failure = False

    def probability(self, fault: str) -> Decimal:
        return Decimal(self._ppm.get(Fault(fault), 0)) / _PPM

    def scripted(self, fault: str) -> frozenset[int]:
        return frozenset(self._scripted.get(Fault(fault), ()))

    @property
    def active(self) -> bool:
        return self.auth_failure or self._armed

    # decisions -----------------------------------------------------------------------
    def _draw(self, fault: Fault) -> bool:
        ppm = self._ppm.get(fault, 0)
        return ppm > 0 and self._rng.randrange(_PPM) < ppm

    def fires(self, fault: Fault, operation: str, index: int | None = None) -> bool:
        """Whether request fault ``fault`` hits this call (``index`` for creates)."""
        if index is not None and operation == "submit" \
                and index in self._scripted.get(fault, ()):
            return True
        if self.operations is not None and operation not in self.operations:
            return False
        return self._draw(fault)

    def _fires_on_event(self, fault: Fault, index: int) -> bool:
        if index in self._scripted.get(fault, ()) and (fault, index) not in self._spent:
            self._spent.add((fault, index))
            return True
        return self._draw(fault)

    def route(self, events: Sequence[SimEvent], ledger: Ledger) -> list[Delivery]:
        """What subscribers receive for one batch of events, after stream faults."""
        out: list[Delivery] = []
        count = len(events)
        k = 0
        while k < count:
            event = events[k]
            if k + 1 < count and self._fires_on_event(Fault.OUT_OF_ORDER, event.order.order_index):
                later = events[k + 1]
                self._note(ledger, Fault.OUT_OF_ORDER, event,
                           f"event {event.seq} delivered after event {later.seq}")
                self._deliver(later, out, ledger)
                self._deliver(event, out, ledger)
                k += 2
                continue
            self._deliver(event, out, ledger)
            k += 1
        return out

    def _deliver(self, event: SimEvent, out: list[Delivery], ledger: Ledger) -> None:
        index = event.order.order_index
        if event.fill is not None and event.order.state is OrderState.FILLED \
                and self._fires_on_event(Fault.LOSE_FINAL_FILL, index):
            self._note(ledger, Fault.LOSE_FINAL_FILL, event,
                       f"final fill {event.fill.trade_id} not streamed")
            return
        if self._fires_on_event(Fault.STREAM_DISCONNECT, index):
            self._note(ledger, Fault.STREAM_DISCONNECT, event,
                       f"stream dropped before event {event.seq}")
            out.append(DISCONNECT)
            return
        out.append(event)
        if self._fires_on_event(Fault.DUPLICATE_EVENT, index):
            self._note(ledger, Fault.DUPLICATE_EVENT, event, f"event {event.seq} sent twice")
            out.append(event)

    @staticmethod
    def _note(ledger: Ledger, fault: Fault, event: SimEvent, detail: str) -> None:
        ledger.record_fault(fault.value, "stream", event.at, order_index=event.order.order_index,
                            venue_order_id=event.order.venue_order_id, detail=detail)
