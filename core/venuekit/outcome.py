"""The outcome policy: how a create is sent, and what an unclear answer means.

This is the invariant that protects money:

* an order is REJECTED only on definitive venue evidence;
* a timeout, a reset connection, a 5xx or a 429 after the request may have been sent
  leaves the order SUBMITTED (outcome unknown);
* an unknown order is resolved by lookup (client order id, or fingerprint) once the
  venue's grace window has passed; only a real not-found answer counts, and absence is
  believed only after ``confirmations`` not-found answers spaced by the grace window;
* a create is sent again only after absence was proven, and with the same client order id;
* the moment any venue evidence for the order arrives (an ack or fill on the stream, a
  lookup hit), pending lookups and re-sends stop.

Stream first for fills: when the answer to a create shows executions the tracker has not
seen and the venue's order stream is live, the stream (which itemizes them, with trade
ids) is given ``stream_fill_wait`` seconds to deliver them before they are fetched over
REST. A market order then costs one request instead of two, and its fills are never
inferred from an average price while the stream has them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import Code, OrderNotFound, Outcome, VenueKitError, error
from .lifecycle import EventKind
from .model import Order, OrderRequest, OrderSnapshot, OrderState, OrderType, utcnow
from .ratelimit import first_in_line, metered
from .reconcile import apply_snapshot, lookup, reconcile_order
from .retry import Backoff
from .tracking import OrderTracker
from .venue import BracketSnapshot, Venue

__all__ = ["OutcomePolicy", "Submitter"]

_HOLD = EventKind.HOLD.value
_MARKET, _LIMIT = OrderType.MARKET, OrderType.LIMIT

log = logging.getLogger("venuekit.outcome")


@dataclass(frozen=True, slots=True)
class OutcomePolicy:
    """How unknown outcomes are resolved.

    ``grace`` overrides the venue's declared ``not_found_grace`` (seconds during which a
    not-found answer after a create is not believed). ``max_resends`` bounds how often a
    create proven absent is sent again; after that the order ends in ERROR ("never reached
    the venue"). ``resolve_timeout`` bounds how long a submit waits for the outcome; the
    time its lookups and re-sends wait for the rate limiter (room in the venue's pools, a
    ``Retry-After`` being waited out) does not count, up to ``rate_wait_allowance``
    seconds. An order still unresolved then stays SUBMITTED for recovery, and the caller
    is told.
    ``stream_fill_wait`` bounds how long the fills a create's answer shows may take to
    arrive on a live order stream before they are fetched over REST (0: fetch at once).
    """

    grace: float | None = None
    confirmations: int = 2
    max_resends: int = 1
    resolve_timeout: float = 60.0
    rate_wait_allowance: float = 600.0
    stream_fill_wait: float = 0.5
    lookup_backoff: Backoff = field(default_factory=lambda: Backoff(base=0.05, cap=2.0,
                                                                     attempts=4))


class Submitter:
    """Sends creates for one venue under the outcome policy."""

    def __init__(self, venue: Venue, tracker: OrderTracker,
                 policy: OutcomePolicy | None = None, *,
                 streaming: Callable[[], bool] | None = None) -> None:
        self.venue = venue
        self.tracker = tracker
        self.policy = policy or OutcomePolicy()
        # True while the venue's order stream is live (the settlement component knows).
        self.streaming = streaming
        self._throttled: set[str] = set()
        # Told of a native bracket's answer, so that its exits learn their venue ids.
        self.on_bracket: Callable[[Order, BracketSnapshot], None] | None = None

    @property
    def grace(self) -> float:
        if self.policy.grace is not None:
            return self.policy.grace
        return self.venue.capabilities.not_found_grace

    def _request(self, order: Order) -> OrderRequest:
        request = order.request
        kind = request.order_type
        if kind is not _MARKET and kind is not _LIMIT and len(order.history) > 1 \
                and order.history[1].kind == _HOLD:
            # Held by the engine until its trigger fired: the venue gets what it became.
            request = request.released()
        if request.quantity == order.quantity and request.limit_price == order.limit_price:
            return request
        return request.model_copy(update={"quantity": order.quantity,
                                          "limit_price": order.limit_price})

    def begin(self, order: Order) -> None:
        """Track ``order`` and journal SUBMIT: after this, the order may be on the wire.

        Call it inside the same ``journal.batch()`` as the create, so that NEW and SUBMIT
        share one commit; :meth:`submit` calls it for an order still NEW. An order the
        journal created as sent (``create_order(submitted=True)``) is only tracked: its
        SUBMIT is already recorded, and observers hear of it now.
        """
        if order.state is OrderState.NEW:
            self.tracker.track(order)
            self.tracker.apply(order, EventKind.SUBMIT)
        else:
            self.tracker.track_recorded(order)

    async def submit(self, order: Order) -> Order:
        """Send ``order`` (journaled NEW) and settle what the answer means.

        Returns with the order acknowledged, filled, rejected, or, if the outcome could not
        be resolved within ``resolve_timeout``, still SUBMITTED (recovery resolves it).
        """
        if order.state is OrderState.NEW:
            self.begin(order)
        loop = asyncio.get_running_loop()
        sent_at = loop.time()
        outcome = await self._send(order)
        if outcome is Outcome.UNKNOWN:
            await self.resolve(order, sent_at)
        return order

    async def resolve(self, order: Order, sent_at: float, *, resend: bool = True) -> None:
        """Settle an unknown outcome by lookups (``sent_at`` in loop time).

        With ``resend=False`` (a replacement, whose re-send would be a second order) an
        order proven absent ends in ERROR instead of being sent again. An order still
        unresolved after ``resolve_timeout`` (plus the time its calls waited for the rate
        limiter, up to ``rate_wait_allowance``) stays SUBMITTED for recovery.
        """
        loop = asyncio.get_running_loop()
        policy = self.policy
        deadline = loop.time() + policy.resolve_timeout
        with metered() as meter:  # the task measures its own waits for the limiter
            task = asyncio.ensure_future(self._resolve(order, sent_at, resend))
        try:
            while True:
                left = deadline - loop.time() + min(meter.waited(),
                                                    policy.rate_wait_allowance)
                if left <= 0:
                    break
                done, _ = await asyncio.wait((task,), timeout=left)
                if done:
                    task.result()
                    return
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        log.error("order outcome still unknown; recovery will resolve it",
                  extra={"order_id": order.id, "venue": self.venue.name,
                         "timeout_s": policy.resolve_timeout,
                         "rate_wait_s": round(meter.waited(), 3)})

    async def settle_unknown(self, order: Order) -> None:
        """Resolve an order left SUBMITTED by an earlier create, never sending it again.

        The grace window counts from its last SUBMIT; an order proven absent ends in ERROR.
        """
        loop = asyncio.get_running_loop()
        await self.resolve(order, loop.time() - submit_age(order), resend=False)

    async def _send(self, order: Order) -> Outcome | None:
        """One create. Returns UNKNOWN when the answer did not settle the outcome."""
        self._throttled.discard(order.id)
        try:
            if order.bracket is not None and self.venue.capabilities.brackets is True:
                answer = await self.venue.submit_bracket(order.bracket, order.id)
                snapshot = answer.entry
                if self.on_bracket is not None:
                    self.on_bracket(order, answer)
            else:
                snapshot = await self.venue.submit(self._request(order), order.id)
        except VenueKitError as exc:
            if exc.outcome is Outcome.REJECTED:
                self.tracker.apply(order, EventKind.REJECT,
                                   reason=f"{exc.code.name}: {exc.message}")
                return Outcome.REJECTED
            log.warning("create outcome unknown; will look it up",
                        extra={"order_id": order.id, "venue": self.venue.name,
                               **exc.log_fields()})
            if exc.code is Code.RATE_LIMITED:
                self._throttled.add(order.id)
            return Outcome.UNKNOWN
        except Exception as exc:  # anything unexpected after the call began may have sent it
            log.error("unexpected error during create; outcome unknown",
                      extra={"order_id": order.id, "venue": self.venue.name,
                             "error": f"{type(exc).__name__}: {exc}"})
            return Outcome.UNKNOWN
        if snapshot.filled_quantity > order.filled_quantity:
            await self._stream_fills(order, snapshot)
        await reconcile_order(self.venue, self.tracker, order, snapshot,
                              backoff=self.policy.lookup_backoff)
        return None

    async def _stream_fills(self, order: Order, snapshot: OrderSnapshot) -> None:
        """Give a live order stream the chance to itemize the fills ``snapshot`` shows."""
        wait = self.policy.stream_fill_wait
        if wait <= 0 or self.streaming is None or not self.streaming():
            return
        tracker = self.tracker
        apply_snapshot(tracker, order, snapshot)  # the venue id and the ack, not the end
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while order.filled_quantity < snapshot.filled_quantity:
            left = deadline - loop.time()
            if left <= 0 or not await tracker.wait_for_change(
                    order, tracker.version(order), left):
                return  # the rest is fetched over REST

    def _has_evidence(self, order: Order) -> bool:
        return (order.state is not OrderState.SUBMITTED or order.venue_order_id is not None
                or order.filled_quantity > 0)

    async def _resolve(self, order: Order, sent_at: float, resend: bool) -> None:
        loop = asyncio.get_running_loop()
        max_resends = self.policy.max_resends if resend else 0
        not_found = 0
        resends = 0
        next_lookup = sent_at + self.grace
        while not self._has_evidence(order):
            version = self.tracker.version(order)
            wait = next_lookup - loop.time()
            if wait > 0 and await self.tracker.wait_for_change(order, version, wait):
                continue  # something happened to the order: re-check the evidence
            try:
                snapshot = await lookup(self.venue, self.tracker, order,
                                        self.policy.lookup_backoff)
            except OrderNotFound:
                not_found += 1
                log.info("lookup found no order",
                         extra={"order_id": order.id, "venue": self.venue.name,
                                "not_found": not_found,
                                "confirmations": self.policy.confirmations})
                if self._has_evidence(order):
                    return
                if not_found < self.policy.confirmations:
                    next_lookup = loop.time() + self.grace
                    continue
                if resends >= max_resends:
                    self.tracker.apply(order, EventKind.ERROR,
                                       reason="the venue never received the order "
                                              f"({not_found} not-found answers after the grace "
                                              "window)")
                    return
                resends += 1
                not_found = 0
                log.warning("venue proved the order absent; sending it again with the same "
                            "client order id",
                            extra={"order_id": order.id, "venue": self.venue.name,
                                   "resend": resends})
                self.tracker.apply(order, EventKind.SUBMIT, reason="resent after proven absence")
                sent_at = loop.time()
                with first_in_line():  # ahead of the orders queued since its first send
                    outcome = await self._send(order)
                if outcome is not Outcome.UNKNOWN:
                    return
                if order.id in self._throttled:
                    # The venue throttled the resend: that attempt does not count against
                    # max_resends (resolve_timeout still bounds the whole resolution).
                    resends -= 1
                next_lookup = sent_at + self.grace
                continue
            except VenueKitError as exc:
                if not exc.retryable:
                    raise
                # Transport trouble is not evidence of anything: wait and look again.
                log.warning("lookup failed; will retry",
                            extra={"order_id": order.id, "venue": self.venue.name,
                                   **exc.log_fields()})
                next_lookup = loop.time() + self.grace
                continue
            await reconcile_order(self.venue, self.tracker, order, snapshot,
                                  backoff=self.policy.lookup_backoff)
            return


def submit_age(order: Order) -> float:
    """Seconds since ``order`` was last sent (its last SUBMIT event, else its creation)."""
    for event in reversed(order.history):
        if event.kind == EventKind.SUBMIT.value:
            return (utcnow() - event.at).total_seconds()
    return (utcnow() - order.created_at).total_seconds()


def unresolved_error(order: Order, venue: str) -> VenueKitError:
    return error(Code.RECONCILIATION_FAILED,
                 f"order {order.id} is still SUBMITTED: its outcome at {venue} is unknown",
                 venue=venue)
