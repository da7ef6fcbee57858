"""Bring tracked orders in line with what the venue says: lookups, fills, final states.

Fills are trusted over status strings: when a snapshot shows more filled than the
tracker knows, the venue's executions are fetched and applied by trade id first; only
what the venue cannot itemize is inferred, with an id derived from the order id and the
cumulative quantity, so a restart that infers the same fill again dedupes it. When the
venue itemizes it later, its execution restates the inferred fill instead of adding to it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from .errors import Code, error
from .journal._time import as_utc
from .journal.ids import Fingerprint
from .lifecycle import TERMINAL, EventKind
from .model import Fill, Order, OrderSnapshot, OrderState
from .retry import DEFAULT_BACKOFF, Backoff, retry_call
from .tracking import OrderTracker
from .venue import OrderRef, Venue

__all__ = [
    "apply_snapshot",
    "fetch_fills",
    "find_by_fingerprint",
    "infer_fill",
    "lookup",
    "reconcile_order",
]

log = logging.getLogger("venuekit.reconcile")

# Venue clocks and ours disagree a little; look a bit further back than the order's birth.
CLOCK_SLACK = timedelta(seconds=5)
FINGERPRINT_WINDOW = timedelta(minutes=10)

_TERMINAL_EVENT = {
    OrderState.CANCELLED: EventKind.CANCELLED,
    OrderState.EXPIRED: EventKind.EXPIRED,
    OrderState.REJECTED: EventKind.REJECT,
    OrderState.REPLACED: EventKind.REPLACED,
}


# Venue states that do not say the venue accepted the order.
_NOT_ACKNOWLEDGED = frozenset({OrderState.NEW, OrderState.SUBMITTED, OrderState.REJECTED})
# Read once: on Python 3.11 each read of a member through its enum class is a call.
_SUBMITTED = OrderState.SUBMITTED
_ACK, _CANCELLED, _REPLACED = EventKind.ACK, EventKind.CANCELLED, EventKind.REPLACED
_TIMEOUT = EventKind.TIMEOUT


def _belongs(fill: Fill, order: Order) -> bool:
    if order.venue_order_id and fill.venue_order_id == order.venue_order_id:
        return True
    return fill.client_order_id is not None and fill.client_order_id == order.id


def find_by_fingerprint(order: Order, candidates: Iterable[OrderSnapshot],
                        claimed: set[str], *,
                        replaced: str | None = None) -> OrderSnapshot | None:
    """The venue order matching ``order``'s fingerprint, not already claimed by another.

    The fingerprint is symbol, side, quantity, limit price and a creation time window.
    Among several matches the earliest is taken, so that identical orders pair up in
    creation order.

    A replacement (``order.replaces`` set) is sized by the venue to what was still open of
    the order it replaced, which is less than asked when a fill raced the replace: its
    quantity may be anything above zero up to the quantity asked for, and a venue order
    that was itself replaced is not it (it is an earlier order of the chain). Where the
    venue links a replacement to the order it replaced (``OrderSnapshot.replaces``) and
    ``replaced``, the venue id of that order, is known, the link must match.
    """
    replacement = order.replaces is not None
    fingerprint = Fingerprint.of(order)
    if replacement:
        fingerprint = dataclasses.replace(fingerprint, quantity=None)
    best: OrderSnapshot | None = None
    for snap in candidates:
        if snap.venue_order_id in claimed and snap.venue_order_id != order.venue_order_id:
            continue
        if not fingerprint.matches(snap, FINGERPRINT_WINDOW):
            continue
        if replacement and not _may_replace(order, snap, replaced):
            continue
        if best is None or (snap.created_at is not None and (
                best.created_at is None or as_utc(snap.created_at) < as_utc(best.created_at))):
            best = snap
    return best


def _may_replace(order: Order, snap: OrderSnapshot, replaced: str | None) -> bool:
    """Whether ``snap`` can be the replacement ``order`` (its size aside, fingerprinted)."""
    if snap.state is OrderState.REPLACED:
        return False
    if snap.replaces is not None and replaced is not None:
        return snap.replaces == replaced
    asked = order.quantity
    return asked is None or snap.quantity is None or 0 < snap.quantity <= asked


def _replaced_venue_id(tracker: OrderTracker, order: Order) -> str | None:
    """The venue id of the order ``order`` replaced, when this process knows it."""
    if order.replaces is None:
        return None
    old = tracker.find(client_order_id=order.replaces) or tracker.journal.get(order.replaces)
    return old.venue_order_id if old is not None else None


async def lookup(venue: Venue, tracker: OrderTracker, order: Order,
                 backoff: Backoff = DEFAULT_BACKOFF) -> OrderSnapshot:
    """Find ``order`` at the venue or raise :class:`OrderNotFound` on a real not-found.

    By venue order id when known, else by client order id where the venue supports them,
    else by fingerprint over the venue's recent orders. Transport errors are retried and
    then raised as they are: they never count as not-found.
    """
    caps = venue.capabilities
    if order.venue_order_id or caps.client_order_ids is True:
        ref = OrderRef(client_order_id=order.id if caps.client_order_ids is True else None,
                       venue_order_id=order.venue_order_id, symbol=order.symbol)
        return await retry_call(lambda: venue.fetch_order(ref), operation="fetch_order",
                                backoff=backoff, venue=venue.name)
    since = order.created_at - CLOCK_SLACK
    recent = await retry_call(lambda: venue.recent_orders(since), operation="recent_orders",
                              backoff=backoff, venue=venue.name)
    # Orders that finished have left the tracker, but the venue orders they hold are
    # still taken: an identical order must not be paired with one of them.
    claimed = tracker.claimed_venue_ids() | tracker.journal.venue_order_ids(
        order.venue, order.created_at - FINGERPRINT_WINDOW)
    match = find_by_fingerprint(order, recent, claimed,
                                replaced=_replaced_venue_id(tracker, order))
    if match is None:
        raise error(Code.ORDER_NOT_FOUND,
                    f"no order at {venue.name} matches {order.id}'s fingerprint",
                    venue=venue.name)
    return match


async def fetch_fills(venue: Venue, since: datetime, symbol: str | None = None,
                      backoff: Backoff = DEFAULT_BACKOFF) -> Sequence[Fill]:
    return await retry_call(lambda: venue.fills_since(since, symbol), operation="fills_since",
                            backoff=backoff, venue=venue.name)


def _apply_fills(tracker: OrderTracker, order: Order, fills: Sequence[Fill]) -> None:
    for fill in fills:
        if _belongs(fill, order):
            tracker.apply_fill(order, fill)


def infer_fill(tracker: OrderTracker, order: Order, snapshot: OrderSnapshot) -> None:
    """Record the part of ``snapshot``'s filled quantity the venue did not itemize."""
    missing = snapshot.filled_quantity - order.filled_quantity
    if missing <= 0:
        return
    if snapshot.average_price is not None:
        notional = snapshot.average_price * snapshot.filled_quantity - order.filled_notional
        price = notional / missing
    elif order.limit_price is not None:
        price = order.limit_price
    else:
        raise error(Code.RECONCILIATION_FAILED,
                    f"{order.id}: {missing} filled at an unknown price (the venue reports no "
                    "average price and the order has no limit)", venue=tracker.venue)
    if price <= 0:
        price = snapshot.average_price or order.limit_price or Decimal(0)
    # Plain digits: normalize() alone would print 20 as 2E+1.
    fill = Fill(trade_id=f"inferred-{order.id}-{snapshot.filled_quantity.normalize():f}",
                symbol=order.symbol, side=order.side, quantity=missing, price=price,
                venue_order_id=snapshot.venue_order_id, client_order_id=order.id,
                at=snapshot.updated_at or order.created_at, inferred=True)
    log.warning("inferred a fill the venue did not itemize",
                extra={"order_id": order.id, "trade_id": fill.trade_id,
                       "quantity": str(missing), "price": str(price)})
    tracker.apply_fill(order, fill)


def _adopt_quantity(order: Order, snapshot: OrderSnapshot) -> None:
    """Take the venue's quantity where it is the venue's to decide.

    A notional order's quantity, and a replacement's: the venue sizes a replacement to
    what was still open of the order it replaced. Adopted before any fill is applied, so
    that the fill that completes the order reads FILLED.
    """
    if order.quantity is not None and order.replaces is None:
        return  # the order's own quantity stands (callers check first: the usual case)
    quantity = snapshot.quantity
    if quantity and quantity != order.quantity and quantity >= order.filled_quantity:
        order.quantity = quantity


def apply_snapshot(tracker: OrderTracker, order: Order, snapshot: OrderSnapshot, *,
                   cancelled_as: EventKind = EventKind.CANCELLED) -> None:
    """Apply the venue id, the ack and the final state of ``snapshot`` (not its fills)."""
    if order.quantity is None or order.replaces is not None:  # the venue sizes these
        _adopt_quantity(order, snapshot)
    venue_order_id = snapshot.venue_order_id
    if venue_order_id and venue_order_id != order.venue_order_id:
        tracker.set_venue_order_id(order, venue_order_id)
    state = snapshot.state
    if order.state is _SUBMITTED and state not in _NOT_ACKNOWLEDGED:
        tracker.apply(order, _ACK)
    if order.state in TERMINAL:
        return
    event = _TERMINAL_EVENT.get(state)
    if event is _CANCELLED:
        event = tracker.cancel_as.get(order.id, cancelled_as)
    if event is not None and order.filled_quantity >= snapshot.filled_quantity:
        data = None
        if event is _REPLACED and order.id in tracker.replacements:
            data = {"replaced_by": tracker.replacements[order.id]}
        reason = snapshot.reason
        if event is _TIMEOUT:
            # The venue says why it cancelled ("cancelled on request"); the order ended
            # because its deadline passed, which is what its record says.
            reason = "its deadline passed: cancelled, the venue confirmed nothing remains"
        tracker.apply(order, event, reason=reason, data=data)


async def reconcile_order(venue: Venue, tracker: OrderTracker, order: Order,
                          snapshot: OrderSnapshot | None = None, *,
                          fills: Sequence[Fill] | None = None,
                          cancelled_as: EventKind = EventKind.CANCELLED,
                          backoff: Backoff = DEFAULT_BACKOFF) -> OrderSnapshot:
    """Make ``order`` agree with the venue; returns the snapshot used.

    ``fills`` may carry executions already fetched for a batch of orders. When the
    snapshot shows fills the tracker lacks (after those), the venue is asked for the
    order's executions; only what it still does not itemize is inferred, and a venue
    execution that arrives later restates the inferred fill (see :mod:`venuekit.lifecycle`).
    """
    if snapshot is None:
        snapshot = await lookup(venue, tracker, order, backoff)
    if order.quantity is None or order.replaces is not None:
        _adopt_quantity(order, snapshot)  # before the venue id, which drains buffered fills
    venue_order_id = snapshot.venue_order_id
    if venue_order_id and venue_order_id != order.venue_order_id:
        tracker.set_venue_order_id(order, venue_order_id)
    if snapshot.filled_quantity > order.filled_quantity and fills is not None:
        _apply_fills(tracker, order, fills)
    if snapshot.filled_quantity > order.filled_quantity:
        # Executions read for a batch before this snapshot may predate its fills: read the
        # order's own before inferring anything.
        # From when the venue took the order, by its own clock (its executions carry
        # its times): an order that waited in the rate limiter after it was journaled
        # would otherwise read every execution made meanwhile.
        accepted = as_utc(snapshot.created_at) if snapshot.created_at else order.created_at
        _apply_fills(tracker, order, await fetch_fills(
            venue, accepted - CLOCK_SLACK, order.symbol, backoff))
        if snapshot.filled_quantity > order.filled_quantity:
            infer_fill(tracker, order, snapshot)
    apply_snapshot(tracker, order, snapshot, cancelled_as=cancelled_as)
    return snapshot

