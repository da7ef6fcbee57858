"""Native brackets' exits: the take-profit and stop-loss orders a venue makes for a bracket.

Where a venue holds brackets itself (``capabilities.brackets`` is True, Alpaca), the engine
journals the entry and both exits in one commit before the bracket is sent, each exit
naming the entry (``parent``) and its leg. The venue makes the exits and names them itself:
it never sees the exits' client order ids. So an exit is known at the venue only once the
venue's answer names it: :func:`attach` takes each exit's venue id and state from a
:class:`~venuekit.venue.BracketSnapshot`, and :func:`find` asks the venue for one when the
answer was lost (an unknown outcome resolved by lookup, a crash). From then on an exit is
followed like any order, by its venue id.

An entry that never reached the venue, or that the venue refused, ends its exits the same
way (:func:`end_with_entry`).
"""

from __future__ import annotations

from collections.abc import Mapping

from .lifecycle import EventKind
from .model import Order, OrderState
from .reconcile import apply_snapshot
from .retry import Backoff, retry_call
from .tracking import OrderTracker
from .venue import BracketSnapshot, OrderRef, Venue

__all__ = ["LEGS", "attach", "end_with_entry", "find", "is_native_exit"]

LEGS = ("take_profit", "stop_loss")
"""The legs of a bracket, in the order they are journaled."""

_HOLD = EventKind.HOLD.value


def is_native_exit(order: Order) -> bool:
    """True for an exit of a bracket the venue holds (journaled as sent with its entry),
    False for an exit the engine held (journaled HELD) and for any other order."""
    history = order.history
    return order.parent is not None and not (len(history) > 1 and history[1].kind == _HOLD)


def attach(tracker: OrderTracker, exits: Mapping[str, Order], answer: BracketSnapshot) -> None:
    """Give each exit in ``exits`` (by leg) the venue id and state ``answer`` shows."""
    for leg in LEGS:
        order = exits.get(leg)
        snapshot = answer.take_profit if leg == "take_profit" else answer.stop_loss
        if order is None or snapshot is None:
            continue
        apply_snapshot(tracker, order, snapshot)


async def find(venue: Venue, tracker: OrderTracker, entry: Order,
               exits: Mapping[str, Order], backoff: Backoff) -> None:
    """Ask the venue for ``entry``'s bracket and attach its exits (OrderNotFound when the
    venue does not know the entry)."""
    client_id = entry.id if venue.capabilities.client_order_ids is True else None
    ref = OrderRef(client_order_id=client_id, venue_order_id=entry.venue_order_id,
                   symbol=entry.symbol)
    answer = await retry_call(lambda: venue.fetch_bracket(ref), operation="fetch_order",
                              backoff=backoff, venue=venue.name)
    attach(tracker, exits, answer)


def end_with_entry(tracker: OrderTracker, entry: Order, exits: Mapping[str, Order]) -> bool:
    """End the exits of an entry that never reached the venue (ERROR) or that the venue
    refused (REJECTED) the same way; True when it did."""
    if entry.state is OrderState.ERROR:
        kind = EventKind.ERROR
    elif entry.state is OrderState.REJECTED:
        kind = EventKind.REJECT
    else:
        return False
    for order in exits.values():
        if not order.state.is_terminal:
            tracker.apply(order, kind, reason=f"its bracket's entry {entry.id} ended "
                                              f"{entry.state.value}: {entry.reason}")
    return True
