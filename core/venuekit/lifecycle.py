"""The order lifecycle: events, the transition table, and how an event changes an order.

Reality is racy, so the table allows what venues really do: a fill before the ack
(SUBMITTED -> FILLED), a fill after a cancel (CANCELLED -> FILLED when it completes the
order), a failed cancel or replace returning to the state before the request, repeated
cancel requests. A truly illegal event is logged and dropped with the reason; it is never
raised into the caller's flow. Fills are deduplicated by trade id and an overfill is
refused and reported.

Inferred fills are placeholders. When the venue reports more filled than it itemizes (its
execution list lags its order state), reconciliation infers the difference with a derived
id. A venue execution that arrives later under its own trade id first *restates* inferred
quantity of the same order, oldest first: it takes that quantity's place (with its real
price and fee) instead of adding to it, and only what exceeds the inferred quantity still
standing adds to the filled quantity. The fill event records what it restated
(:func:`restatements`), so the order's standing fills can be rebuilt from its history
(:func:`standing_fills`). ``order.fills`` always holds the standing fills: an inferred fill
shrinks to its part not yet itemized and leaves the list when nothing of it is left.

State diagram (terminal states in capitals on the right)::

    NEW ──hold──▶ HELD ──submit (trigger fired)──▶ SUBMITTED;  HELD ──cancelled──▶ CANCELLED
    NEW ──submit──▶ SUBMITTED ──ack──▶ ACKNOWLEDGED ──fill──▶ PARTIALLY_FILLED ──fill──▶ FILLED
     │                 │  └──────────────fill (before ack)──────────────────────────────▶ FILLED
     │                 ├──reject──▶ REJECTED
     ├──error──▶ ERROR └──error (venue proved absent)──▶ ERROR
     │
    ACKNOWLEDGED / PARTIALLY_FILLED ──cancel_request──▶ PENDING_CANCEL ──cancelled──▶ CANCELLED
                                    ──replace_request─▶ PENDING_REPLACE ──replaced──▶ REPLACED
    PENDING_* ──cancel_rejected / replace_rejected──▶ the state before the request
    PENDING_CANCEL ──replaced (a replace still in flight)──▶ REPLACED
    open states ──expired──▶ EXPIRED      open states ──timeout (venue confirmed idle)──▶ TIMEOUT
    CANCELLED / EXPIRED / TIMEOUT ──late fill──▶ same state, or FILLED when the fill completes it
    FILLED ──another fill──▶ refused as an overfill, unless it restates inferred quantity
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .model import Fill, Order, OrderEvent, OrderState, utcnow

__all__ = [
    "REPEATS",
    "RESTATES",
    "TERMINAL",
    "TRANSITIONS",
    "Applied",
    "EventKind",
    "OrderEventRecord",
    "Result",
    "apply",
    "apply_fill",
    "never_sent",
    "restatements",
    "standing_fills",
]

log = logging.getLogger("venuekit.lifecycle")

S = OrderState


class EventKind(enum.StrEnum):
    """What happened to an order. Fills are applied with :func:`apply_fill`."""

    HOLD = "hold"
    """The engine holds the order until its trigger fires (an emulated stop)."""
    MARK = "mark"
    """A held trailing stop saw a new best price; its data holds it as ``mark``."""
    SUBMIT = "submit"
    ACK = "ack"
    REJECT = "reject"
    FILL = "fill"
    CANCEL_REQUEST = "cancel_request"
    CANCEL_REJECTED = "cancel_rejected"
    CANCELLED = "cancelled"
    REPLACE_REQUEST = "replace_request"
    REPLACE_REJECTED = "replace_rejected"
    REPLACED = "replaced"
    EXPIRED = "expired"
    ERROR = "error"
    TIMEOUT = "timeout"


E = EventKind

# A marker for "go back to the state before the pending request".
_RESUME = S.NEW  # never a real target of these events; replaced at apply time

_LIVE = (S.SUBMITTED, S.ACKNOWLEDGED, S.PARTIALLY_FILLED)
_PENDING = (S.PENDING_CANCEL, S.PENDING_REPLACE)

TRANSITIONS: Mapping[OrderState, Mapping[EventKind, OrderState]] = {
    S.NEW: {
        E.HOLD: S.HELD,
        E.SUBMIT: S.SUBMITTED,
        E.ERROR: S.ERROR,
        E.REJECT: S.REJECTED,  # refused before sending (pre-trade validation)
        E.CANCELLED: S.CANCELLED,  # withdrawn before it was sent
    },
    S.HELD: {
        E.MARK: S.HELD,
        E.SUBMIT: S.SUBMITTED,  # the trigger fired: released to the venue
        E.REJECT: S.REJECTED,  # the released order failed pre-trade validation
        E.CANCELLED: S.CANCELLED,  # withdrawn while held: nothing was sent
        E.EXPIRED: S.EXPIRED,  # its time in force ended while held
        E.TIMEOUT: S.TIMEOUT,  # its deadline passed while held: nothing was sent
        E.ERROR: S.ERROR,
    },
    S.SUBMITTED: {
        E.SUBMIT: S.SUBMITTED,  # resent after a lookup proved the venue lacks it
        E.ACK: S.ACKNOWLEDGED,
        E.REJECT: S.REJECTED,
        E.CANCEL_REQUEST: S.PENDING_CANCEL,
        E.CANCELLED: S.CANCELLED,
        E.EXPIRED: S.EXPIRED,
        E.ERROR: S.ERROR,  # only when the venue proved it never had the order
        E.TIMEOUT: S.TIMEOUT,
    },
    S.ACKNOWLEDGED: {
        E.ACK: S.ACKNOWLEDGED,
        E.REJECT: S.REJECTED,  # some venues refuse an order after accepting it
        E.CANCEL_REQUEST: S.PENDING_CANCEL,
        E.REPLACE_REQUEST: S.PENDING_REPLACE,
        E.CANCELLED: S.CANCELLED,
        E.REPLACED: S.REPLACED,
        E.EXPIRED: S.EXPIRED,
        E.TIMEOUT: S.TIMEOUT,
    },
    S.PARTIALLY_FILLED: {
        E.ACK: S.PARTIALLY_FILLED,  # a late ack after the first fill
        E.CANCEL_REQUEST: S.PENDING_CANCEL,
        E.REPLACE_REQUEST: S.PENDING_REPLACE,
        E.CANCELLED: S.CANCELLED,
        E.REPLACED: S.REPLACED,
        E.EXPIRED: S.EXPIRED,
        E.TIMEOUT: S.TIMEOUT,
    },
    S.PENDING_CANCEL: {
        E.ACK: S.PENDING_CANCEL,
        E.CANCEL_REQUEST: S.PENDING_CANCEL,  # a repeated cancel request
        E.CANCEL_REJECTED: _RESUME,
        E.CANCELLED: S.CANCELLED,
        E.EXPIRED: S.EXPIRED,
        E.TIMEOUT: S.TIMEOUT,
        # A replace still in flight when the cancel was requested may be answered either way.
        E.REPLACE_REJECTED: S.PENDING_CANCEL,
        E.REPLACED: S.REPLACED,
    },
    S.PENDING_REPLACE: {
        E.ACK: S.PENDING_REPLACE,
        E.REPLACE_REQUEST: S.PENDING_REPLACE,
        E.REPLACE_REJECTED: _RESUME,
        E.REPLACED: S.REPLACED,
        E.CANCEL_REQUEST: S.PENDING_CANCEL,
        E.CANCELLED: S.CANCELLED,
        E.EXPIRED: S.EXPIRED,
        E.TIMEOUT: S.TIMEOUT,
    },
}
"""State -> event -> next state, for every event except fills (see :func:`apply_fill`).

Terminal states have no entry: nothing but a late fill moves them.
"""

# Terminal states in which a fill can still arrive: the venue cancelled (or expired) the
# rest of the order, but an execution raced the cancel.
_LATE_FILL_OK = frozenset({S.CANCELLED, S.EXPIRED, S.TIMEOUT, S.REPLACED, S.PENDING_CANCEL})
TERMINAL = frozenset(state for state in S if state.is_terminal)
"""The terminal states: ``state in TERMINAL`` is what the per-event paths test, a set
lookup where ``state.is_terminal`` adds a property call."""

# Terminal states no fill can follow (FILLED takes one that restates inferred quantity).
_NO_FILL_AFTER = frozenset(state for state in S if state.is_terminal
                           and state not in _LATE_FILL_OK and state is not S.FILLED)

# The terminal state each event leads to, to recognise a repeat of an ending as harmless.
REPEATS = {
    E.CANCELLED: S.CANCELLED,
    E.EXPIRED: S.EXPIRED,
    E.REJECT: S.REJECTED,
    E.REPLACED: S.REPLACED,
    E.ERROR: S.ERROR,
    E.TIMEOUT: S.TIMEOUT,
}


class Result(enum.StrEnum):
    APPLIED = "applied"
    """The event changed the order and was added to its history."""
    DUPLICATE = "duplicate"
    """A repeat of something already applied (same trade id, repeated ack); ignored."""
    DROPPED = "dropped"
    """Illegal in the order's current state; logged with the reason and ignored."""
    OVERFILL = "overfill"
    """A fill that would exceed the order quantity; refused and reported."""


# The members that every event is compared with, read once: on Python 3.11, reading a
# member through its class (``EventKind.ACK``) calls the enum's descriptor each time.
_APPLIED, _DUPLICATE = Result.APPLIED, Result.DUPLICATE
_ACK, _FILL, _REPLACED = E.ACK, E.FILL, E.REPLACED
_SUBMIT_VALUE = E.SUBMIT.value
_REQUESTS = frozenset({E.CANCEL_REQUEST, E.REPLACE_REQUEST})
_NEW = S.NEW
_HELD = S.HELD
_PARTIALLY_FILLED, _FILLED = S.PARTIALLY_FILLED, S.FILLED
_NOT_YET_FILLED = frozenset({S.SUBMITTED, S.ACKNOWLEDGED})


@dataclass(slots=True)
class Applied:
    """What :func:`apply` or :func:`apply_fill` did, with the event it recorded if any.

    Read-only by convention. Not a frozen dataclass, because one is made for every event
    and a frozen one sets each field through ``object.__setattr__``, several times slower.
    """

    result: Result
    event: OrderEvent | None = None
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.result is _APPLIED


def _record(order: Order, kind: str, state: OrderState, at: datetime | None,
            fill: Fill | None = None, reason: str | None = None,
            data: dict[str, str] | None = None) -> OrderEvent:
    history = order.history
    # The history is the record of what happened: keep a copy the caller cannot mutate later.
    # Fields passed by position (seq, kind, state, at, fill, reason, data): made for every
    # event, and matching seven keywords costs a quarter of the construction.
    event = OrderEvent(len(history) + 1, kind, state, at or utcnow(), fill, reason,
                       dict(data) if data is not None else None)
    history.append(event)
    order.state = state
    return event


def _drop(order: Order, kind: str, why: str) -> Applied:
    log.warning("dropped illegal order event",
                extra={"order_id": order.id, "event": kind, "state": order.state.value,
                       "reason": why})
    return Applied(Result.DROPPED, reason=why)


def _refuse_overfill(order: Order, fill: Fill, why: str) -> Applied:
    log.error("refused overfill",
              extra={"order_id": order.id, "trade_id": fill.trade_id,
                     "filled": str(order.filled_quantity), "fill": str(fill.quantity),
                     "quantity": str(order.quantity), "reason": why})
    return Applied(Result.OVERFILL, reason=why)


def _resume_state(order: Order) -> OrderState:
    before = order.resume_state or S.ACKNOWLEDGED
    if order.filled_quantity > 0 and before in (S.SUBMITTED, S.ACKNOWLEDGED):
        return S.PARTIALLY_FILLED
    return before


def apply(order: Order, kind: EventKind, *, at: datetime | None = None,
          reason: str | None = None, data: dict[str, str] | None = None) -> Applied:
    """Apply a non-fill event to ``order``; never raises for an illegal event."""
    if kind is _FILL:
        raise ValueError("fills are applied with apply_fill(order, fill)")
    current = order.state
    table = TRANSITIONS.get(current)
    target = table.get(kind) if table is not None else None
    if target is None:
        if current.is_terminal and (REPEATS.get(kind) is current or kind is E.ACK):
            # The same ending heard twice (stream and REST), or a late ack: harmless.
            return Applied(Result.DUPLICATE, reason=f"already {current.value}")
        return _drop(order, kind.value, f"{kind.value} is not allowed in state {current.value}")
    if kind is _ACK and target is current:
        # A late ack while a request is pending still tells us the venue has the order.
        if current in _PENDING and order.resume_state is S.SUBMITTED:
            order.resume_state = S.ACKNOWLEDGED
        elif any(e.kind == E.ACK for e in order.history):
            return Applied(Result.DUPLICATE, reason="already acknowledged")
    if kind in _REQUESTS and current not in _PENDING:
        order.resume_state = current
    if target is _RESUME:
        target = _resume_state(order)
        order.resume_state = None
    if kind is _REPLACED and data and "replaced_by" in data:
        order.replaced_by = data["replaced_by"]
    if reason and target.is_terminal:
        order.reason = reason
    # ``_value_`` rather than ``value``: the same string, without the enum descriptor's calls.
    return Applied(_APPLIED, _record(order, kind._value_, target, at, reason=reason,
                                           data=data))


def never_sent(order: Order) -> bool:
    """True when no SUBMIT was ever recorded for ``order``: the venue cannot know it (an
    order withdrawn while NEW or HELD)."""
    submit = _SUBMIT_VALUE
    return not any(event.kind == submit for event in order.history)


RESTATES = "restates:"
"""Prefix of a fill event's data keys naming an inferred fill it restated: the key is the
prefix and the inferred trade id, the value the quantity restated."""


def restatements(data: Mapping[str, str] | None) -> list[tuple[str, Decimal]]:
    """The inferred fills a fill event's ``data`` says it restated, with the quantities."""
    if not data:
        return []
    return [(key[len(RESTATES):], Decimal(value)) for key, value in data.items()
            if key.startswith(RESTATES)]


def _restate(fills: list[Fill], trade_id: str, quantity: Decimal) -> None:
    """Take ``quantity`` off the standing inferred fill ``trade_id`` in ``fills``."""
    for index, standing in enumerate(fills):
        if standing.trade_id == trade_id:
            left = standing.quantity - quantity
            if left > 0:
                fills[index] = standing.model_copy(update={"quantity": left})
            else:
                del fills[index]
            return


def standing_fills(history: Iterable[OrderEvent]) -> list[Fill]:
    """The fills an order's history leaves standing: every execution once, inferred fills
    reduced by what later executions restated (see the module docstring)."""
    fills: list[Fill] = []
    for event in history:
        if event.fill is None:
            continue
        for trade_id, quantity in restatements(event.data):
            _restate(fills, trade_id, quantity)
        fills.append(event.fill)
    return fills


def apply_fill(order: Order, fill: Fill, *, at: datetime | None = None) -> Applied:
    """Apply one execution: dedupe by trade id, restate inferred quantity, refuse overfills,
    move the state.

    A fill may arrive before the ack, while a cancel or replace is pending, or after the
    venue cancelled or expired the rest of the order. A venue execution on an order with
    inferred quantity standing takes that quantity's place first (see the module
    docstring), so it does not count what the inference already counted.
    """
    fills = order.fills
    trade_id = fill.trade_id
    for standing in fills:
        if standing.trade_id == trade_id:
            return Applied(_DUPLICATE, reason=f"trade {trade_id} already applied")
    current = order.state
    if current in _NO_FILL_AFTER:
        return _drop(order, E.FILL.value, f"a fill cannot follow state {current.value}")
    if current is _NEW or current is _HELD:
        return _drop(order, E.FILL.value, "a fill for an order that was never sent")
    request = order.request
    if fill.symbol != request.symbol or fill.side is not request.side:
        return _drop(order, E.FILL.value,
                     f"fill {trade_id} is for {fill.side} {fill.symbol}, "
                     f"not {order.side} {order.symbol}")
    restated: dict[str, str] = {}
    added = fill.quantity
    if not fill.inferred:
        for standing in fills:
            if added <= 0:
                break
            if standing.inferred:
                taken = min(standing.quantity, added)
                restated[RESTATES + standing.trade_id] = str(taken)
                added -= taken
    if current is _FILLED and added > 0:
        # A new execution on a complete order is an overfill, not a routine late event:
        # refuse it loudly.
        return _refuse_overfill(
            order, fill, f"fill {fill.trade_id} of {fill.quantity} arrived for an order "
                         f"already filled ({order.filled_quantity} of {order.quantity})")
    new_filled = order.filled_quantity + added
    if order.quantity is not None and new_filled > order.quantity:
        return _refuse_overfill(
            order, fill, f"fill {fill.trade_id} of {fill.quantity} would take the filled "
                         f"quantity to {new_filled}, above the order quantity {order.quantity}")
    if restated:
        for trade_id, quantity in restatements(restated):
            _restate(fills, trade_id, quantity)
        fills.append(fill)
        # Recounted from the standing fills, so that once every inferred fill is restated
        # the notional is exactly the venue executions'.
        order.filled_notional = sum((f.quantity * f.price for f in fills), Decimal(0))
        log.info("a venue execution restated an inferred fill",
                 extra={"order_id": order.id, "trade_id": fill.trade_id,
                        "restated": dict(restated)})
    else:
        fills.append(fill)
        order.filled_notional += fill.quantity * fill.price
    order.filled_quantity = new_filled
    order.fees += fill.fee
    complete = order.quantity is not None and new_filled == order.quantity
    if complete:
        target = _FILLED
    elif current in _NOT_YET_FILLED:
        target = _PARTIALLY_FILLED
    else:
        # PARTIALLY_FILLED, the pending states and the late-fill terminal states keep theirs.
        target = current
    return Applied(_APPLIED, _record(order, _FILL._value_, target, at, fill=fill,
                                           data=restated or None))


@dataclass(frozen=True, slots=True)
class OrderEventRecord:
    """What observers of ``venuekit_order_event`` receive."""

    order_id: str
    venue: str
    symbol: str
    kind: str
    state: OrderState
    previous_state: OrderState
    seq: int
    at: datetime
    fill: Fill | None = None
    reason: str | None = None
