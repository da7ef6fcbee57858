"""The outcome policy: an unclear answer to a create never becomes a reject or a duplicate."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest

from venuekit.engine import Engine
from venuekit.errors import Code, ValidationError, VenueKitError, error
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.lifecycle import EventKind
from venuekit.model import Order, OrderRequest, OrderSnapshot, OrderState
from venuekit.outcome import OutcomePolicy
from venuekit.reconcile import reconcile_order
from venuekit.venue import OrderRef

from .scripted_venue import ScriptedVenue, limit_buy

T = TypeVar("T")
FAST = OutcomePolicy(grace=0.05, confirmations=2, max_resends=1, resolve_timeout=5)


def with_engine(tmp_path: Path, venue: ScriptedVenue,
                body: Callable[[Engine], Awaitable[T]],
                policy: OutcomePolicy = FAST) -> T:
    async def main() -> T:
        with SQLiteJournal(tmp_path / "journal.sqlite3") as journal:
            engine = Engine(venue, journal, policy=policy)
            await engine.start()
            try:
                return await body(engine)
            finally:
                await engine.close()
    return asyncio.run(main())


def events(order_history: list[str], kind: EventKind) -> int:
    return sum(1 for k in order_history if k == kind.value)


def test_accepted_then_timed_out_is_found_not_resent(tmp_path: Path) -> None:
    venue = ScriptedVenue()
    venue.submit_script = ["accept+timeout"]
    order = with_engine(tmp_path, venue, lambda e: e.submit(limit_buy()))
    assert order.state is OrderState.ACKNOWLEDGED
    assert venue.submits == [order.id]  # sent once
    assert len(venue.orders) == 1
    assert order.venue_order_id == "V1"


@pytest.mark.parametrize("answer", ["429+", "5xx+", "429", "5xx", "timeout"])
def test_unknown_outcomes_never_reject_and_never_duplicate(tmp_path: Path, answer: str) -> None:
    venue = ScriptedVenue()
    venue.submit_script = [answer]
    order = with_engine(tmp_path, venue, lambda e: e.submit(limit_buy()))
    assert order.state is OrderState.ACKNOWLEDGED
    assert len(venue.orders) == 1, "exactly one order at the venue"
    kinds = [e.kind for e in order.history]
    assert "reject" not in kinds
    if answer.endswith("+"):
        assert venue.submits == [order.id]
    else:
        # proven absent after two not-found answers, then re-sent with the same client id
        assert venue.submits == [order.id, order.id]
        assert events(kinds, EventKind.SUBMIT) == 2


def test_a_definitive_refusal_rejects_with_the_code(tmp_path: Path) -> None:
    venue = ScriptedVenue()
    venue.submit_script = ["reject"]
    order = with_engine(tmp_path, venue, lambda e: e.submit(limit_buy()))
    assert order.state is OrderState.REJECTED
    assert order.reason is not None and order.reason.startswith("INSUFFICIENT_FUNDS")
    assert venue.submits == [order.id]


def test_not_found_inside_the_grace_window_is_not_believed(tmp_path: Path) -> None:
    """Eventual consistency: the venue says not-found for a while after accepting."""
    venue = ScriptedVenue()
    venue.submit_script = ["accept+timeout"]
    venue.fetch_script = ["notfound"]  # one stale answer, then the truth
    order = with_engine(tmp_path, venue, lambda e: e.submit(limit_buy()))
    assert order.state is OrderState.ACKNOWLEDGED
    assert venue.submits == [order.id]
    assert venue.lookups == 2


def test_transport_errors_during_lookup_do_not_count_as_not_found(tmp_path: Path) -> None:
    venue = ScriptedVenue()
    venue.submit_script = ["accept+timeout"]
    venue.fetch_script = ["conn", "conn", "conn", "conn", "conn", "conn"]
    order = with_engine(tmp_path, venue, lambda e: e.submit(limit_buy()))
    assert order.state is OrderState.ACKNOWLEDGED
    assert venue.submits == [order.id]


def test_resend_limit_ends_in_error_not_rejected(tmp_path: Path) -> None:
    venue = ScriptedVenue()
    venue.submit_script = ["timeout", "timeout"]
    order = with_engine(tmp_path, venue, lambda e: e.submit(limit_buy()))
    assert order.state is OrderState.ERROR
    assert "never received" in (order.reason or "")
    assert venue.submits == [order.id, order.id]
    assert venue.orders == {}


def test_evidence_arriving_stops_pending_lookups(tmp_path: Path) -> None:
    """An ack heard on another channel (a stream) ends the resolution at once."""
    venue = ScriptedVenue()
    venue.submit_script = ["accept+timeout"]
    slow = OutcomePolicy(grace=5.0, resolve_timeout=10)

    async def body(engine: Engine) -> tuple[float, OrderState, int]:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(engine.submit(limit_buy()))
        await asyncio.sleep(0.05)
        [order] = engine.tracker
        engine.tracker.apply(order, EventKind.ACK)  # what the stream consumer would do
        started = loop.time()
        await task
        return loop.time() - started, order.state, venue.lookups

    elapsed, state, lookups = with_engine(tmp_path, venue, body, slow)
    assert state is OrderState.ACKNOWLEDGED
    assert lookups == 0
    assert elapsed < 1.0


def test_venue_without_client_ids_is_resolved_by_fingerprint(tmp_path: Path) -> None:
    venue = ScriptedVenue(client_ids=False)
    venue.submit_script = ["ok", "accept+timeout"]

    async def body(engine: Engine) -> list[str | None]:
        first = await engine.submit(limit_buy())
        second = await engine.submit(limit_buy())  # identical fingerprint
        return [first.venue_order_id, second.venue_order_id]

    ids = with_engine(tmp_path, venue, body)
    assert ids == ["V1", "V2"], "the second order must not claim the first's venue order"
    assert len(venue.orders) == 2


def test_an_order_that_finished_keeps_its_venue_order_from_an_identical_one(
        tmp_path: Path) -> None:
    # The first order filled and left the tracker; its venue order is still its own.
    venue = ScriptedVenue(client_ids=False)
    venue.submit_script = ["ok", "accept+timeout"]

    async def body(engine: Engine) -> list[tuple[str | None, OrderState]]:
        first = await engine.submit(limit_buy())
        assert first.venue_order_id == "V1"
        venue.execute("V1", "T-1", "5", "10.00")
        await reconcile_order(venue, engine.tracker, first)
        assert first.state is OrderState.FILLED and engine.tracker.get(first.id) is None
        second = await engine.submit(limit_buy())  # identical fingerprint, answer lost
        return [(first.venue_order_id, first.state), (second.venue_order_id, second.state)]

    assert with_engine(tmp_path, venue, body) == [("V1", OrderState.FILLED),
                                                  ("V2", OrderState.ACKNOWLEDGED)]
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        assert sorted(o.venue_order_id or "" for o in journal.orders()) == ["V1", "V2"]
        assert [f.trade_id for f in journal.fills()] == ["T-1"]


class CrossedIdentical(ScriptedVenue):
    """A venue without client ids where two identical orders arrive out of order: the first
    created reaches it second and its answer is lost; the second's answer is held until the
    first's lookup has read the venue's recent orders."""

    def __init__(self) -> None:
        super().__init__(client_ids=False)
        self.calls = 0
        self.second_accepted = asyncio.Event()
        self.looked = asyncio.Event()
        self.on_lookup = self.looked.set

    async def submit(self, request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        self.calls += 1
        self.submits.append(client_order_id)
        if self.calls == 1:  # the first order: accepted after the second, answer lost
            await self.second_accepted.wait()
            self._accept(request, client_order_id)
            raise error(Code.TIMEOUT, "read timed out", venue=self.name)
        snapshot = self._accept(request, client_order_id)
        self.second_accepted.set()
        await self.looked.wait()  # its answer arrives once the first's lookup has read
        await asyncio.sleep(0.01)
        return snapshot


@pytest.mark.xfail(strict=True, reason=(
    "known defect, not fixed yet: the first order's fingerprint lookup takes the earliest "
    "unclaimed match, the second order's venue order, whose answer is still on its way; "
    "both journal orders then hold V1 and V2 is owned by none (a duplicate and lost fills "
    "in the fault suite's terms; likely seed 5558 of the mock at full size)"))
def test_identical_orders_crossing_on_the_way_each_keep_their_own_venue_order(
        tmp_path: Path) -> None:
    venue = CrossedIdentical()

    async def body(engine: Engine) -> list[str | None]:
        orders = await asyncio.gather(engine.submit(limit_buy()), engine.submit(limit_buy()))
        return [order.venue_order_id for order in orders]

    ids = with_engine(tmp_path, venue, body)
    assert len(venue.orders) == 2
    assert sorted(i or "" for i in ids) == ["V1", "V2"], ids


def test_an_order_that_cannot_be_quantized_is_refused_before_the_journal(tmp_path: Path
                                                                         ) -> None:
    venue = ScriptedVenue()
    with pytest.raises(ValidationError, match="ROUNDS_TO_ZERO"):
        with_engine(tmp_path, venue, lambda e: e.submit(limit_buy(quantity="0.4")))
    assert venue.submits == []
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        assert journal.orders() == []


def journal_with(tmp_path: Path, venue: ScriptedVenue, *events: EventKind) -> str:
    """Leave an order in the journal as a killed process would have, after ``events``."""
    from venuekit.journal.ids import ClientIdRules
    from venuekit.tracking import OrderTracker

    with SQLiteJournal(tmp_path / "journal.sqlite3") as journal:
        order = journal.create_order("scripted", limit_buy(), id_rules=ClientIdRules())
        tracker = OrderTracker("scripted", journal)
        tracker.track(order)
        for kind in events:
            tracker.apply(order, kind)
        return order.id


def test_recovery_ends_a_never_sent_order_in_error(tmp_path: Path) -> None:
    venue = ScriptedVenue()
    order_id = journal_with(tmp_path, venue)

    async def body(engine: Engine) -> None:
        assert engine.recovery is not None and engine.recovery.ok
        [change] = engine.recovery.changes
        assert change == (order_id, OrderState.NEW, OrderState.ERROR)

    with_engine(tmp_path, venue, body)
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        order = journal.get(order_id)
    assert order is not None and order.state is OrderState.ERROR
    assert "never sent" in (order.reason or "")
    assert venue.submits == [] and venue.lookups == 0


def test_an_acknowledged_order_missing_at_the_venue_stops_trading(tmp_path: Path) -> None:
    venue = ScriptedVenue()
    order_id = journal_with(tmp_path, venue, EventKind.SUBMIT, EventKind.ACK)

    async def body(engine: Engine) -> str:
        assert engine.recovery is not None and not engine.recovery.ok
        assert engine.recovery.failed[0][0] == order_id
        with pytest.raises(Exception) as refused:
            await engine.submit(limit_buy())
        return str(refused.value)

    message = with_engine(tmp_path, venue, body)
    assert "RECONCILIATION_FAILED" in message and order_id in message
    assert venue.submits == []


def test_recovery_finds_a_submitted_order_the_venue_accepted(tmp_path: Path) -> None:
    venue = ScriptedVenue()
    order_id = journal_with(tmp_path, venue, EventKind.SUBMIT)
    venue._accept(limit_buy(), order_id)  # the venue got it; the process died before the answer

    async def body(engine: Engine) -> None:
        assert engine.recovery is not None and engine.recovery.ok
        assert engine.recovery.changes == [(order_id, OrderState.SUBMITTED,
                                            OrderState.ACKNOWLEDGED)]
        assert engine.recovery.working == [order_id]

    with_engine(tmp_path, venue, body)
    assert venue.submits == []


def test_throttled_resends_do_not_use_up_the_resend_budget(tmp_path: Path) -> None:
    """A venue that keeps answering 429 has not refused the order: keep trying in time."""
    venue = ScriptedVenue()
    venue.submit_script = ["429", "429", "429"]  # refused without acting, three times
    order = with_engine(tmp_path, venue, lambda e: e.submit(limit_buy()))
    assert order.state is OrderState.ACKNOWLEDGED
    assert venue.submits == [order.id] * 4
    assert len(venue.orders) == 1


def test_time_spent_waiting_for_the_rate_limiter_does_not_count_against_resolve_timeout(
        tmp_path: Path) -> None:
    """A 429 whose Retry-After outlasts ``resolve_timeout``: the lookups wait it out, and
    the order is still resolved (proven absent, sent again) rather than left unknown."""
    venue = ScriptedVenue()
    venue.submit_script = ["429@0.6"]  # refused without acting; wait 0.6 s
    policy = replace(FAST, resolve_timeout=0.3)
    order = with_engine(tmp_path, venue, lambda e: e.submit(limit_buy()), policy)
    assert order.state is OrderState.ACKNOWLEDGED
    assert venue.submits == [order.id] * 2
    assert len(venue.orders) == 1


def test_the_allowance_bounds_how_long_rate_limits_may_stretch_a_resolution(
        tmp_path: Path) -> None:
    venue = ScriptedVenue()
    venue.submit_script = ["429@30"]  # a venue that asks to wait far longer than allowed

    async def body(engine: Engine) -> tuple[Order, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        order = await engine.submit(limit_buy())
        return order, loop.time() - started

    policy = replace(FAST, resolve_timeout=0.3, rate_wait_allowance=0.4)
    order, seconds = with_engine(tmp_path, venue, body, policy)
    assert order.state is OrderState.SUBMITTED  # left to recovery, not waited on for 30 s
    assert 0.7 <= seconds < 2.0


def test_resolve_timeout_still_bounds_a_resolution_the_venue_does_not_hold_back(
        tmp_path: Path) -> None:
    venue = ScriptedVenue()
    venue.submit_script = ["timeout"]
    venue.fetch_script = ["conn"] * 10_000  # lookups fail without any Retry-After

    async def body(engine: Engine) -> tuple[Order, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        order = await engine.submit(limit_buy())
        return order, loop.time() - started

    order, seconds = with_engine(tmp_path, venue, body, replace(FAST, resolve_timeout=0.3))
    assert order.state is OrderState.SUBMITTED
    assert 0.3 <= seconds < 2.0


# cancelling an order whose outcome is unknown, on a venue without client order ids --------
UNANSWERED = OutcomePolicy(grace=0.02, confirmations=2, max_resends=1, resolve_timeout=0.2)


def unanswered(venue: ScriptedVenue, create: str) -> Callable[[Engine], Awaitable[Order]]:
    """Submit an order whose create answer is lost and whose lookups all fail: it stays
    SUBMITTED with no venue order id, and the venue has no client id to name it by."""
    venue.submit_script = [create]
    venue.fetch_script = ["conn"] * 10_000

    async def submit(engine: Engine) -> Order:
        order = await engine.submit(limit_buy())
        assert order.state is OrderState.SUBMITTED and order.venue_order_id is None
        return order
    return submit


def test_a_cancel_finds_an_order_still_unknown_by_fingerprint_first(tmp_path: Path) -> None:
    venue = ScriptedVenue(client_ids=False)
    submit = unanswered(venue, "accept+timeout")

    async def body(engine: Engine) -> Order:
        order = await submit(engine)
        venue.fetch_script.clear()  # the venue answers lookups again
        return await engine.cancel(order, as_timeout=True, timeout=2)
    order = with_engine(tmp_path, venue, body, UNANSWERED)
    assert order.state is OrderState.TIMEOUT and order.venue_order_id == "V1"
    assert [ref.venue_order_id for ref in venue.cancels] == ["V1"]
    assert venue.submits == [order.id], "found, never sent again"


def test_a_cancel_of_an_order_proven_never_received_ends_it_in_error(tmp_path: Path) -> None:
    venue = ScriptedVenue(client_ids=False)
    submit = unanswered(venue, "timeout")

    async def body(engine: Engine) -> Order:
        order = await submit(engine)
        venue.fetch_script.clear()
        return await engine.cancel(order, as_timeout=True, timeout=2)
    order = with_engine(tmp_path, venue, body, UNANSWERED)
    assert order.state is OrderState.ERROR and "never received" in (order.reason or "")
    assert venue.cancels == [] and venue.submits == [order.id], "nothing sent again"


def test_a_cancel_that_cannot_name_the_order_is_a_typed_error_recovery_settles(
        tmp_path: Path) -> None:
    venue = ScriptedVenue(client_ids=False)
    submit = unanswered(venue, "accept+timeout")

    async def body(engine: Engine) -> Order:
        order = await submit(engine)
        with pytest.raises(VenueKitError) as raised:
            await engine.cancel(order, as_timeout=True, timeout=2)
        assert raised.value.code is Code.RECONCILIATION_FAILED
        assert order.id in raised.value.message and "recover" in raised.value.message
        # Nothing was recorded as requested: the order stays SUBMITTED, which recovery can
        # settle once the venue answers (a PENDING_CANCEL it could not look up).
        assert order.state is OrderState.SUBMITTED
        assert EventKind.CANCEL_REQUEST.value not in [e.kind for e in order.history]
        venue.fetch_script.clear()
        report = await engine.recover()
        assert report.ok and order.state is OrderState.ACKNOWLEDGED
        return await engine.cancel(order, timeout=2)
    order = with_engine(tmp_path, venue, body, UNANSWERED)
    assert order.state is OrderState.CANCELLED and venue.submits == [order.id]


def test_a_cancel_answered_not_found_before_any_ack_resolves_the_create(tmp_path: Path
                                                                         ) -> None:
    """With client order ids the cancel can be sent at once, but a not-found answer for an
    order never acknowledged may mean the create never arrived: that is resolved as for
    any unknown create (here: proven absent, ERROR), never left PENDING_CANCEL."""
    venue = ScriptedVenue()
    submit = unanswered(venue, "timeout")

    async def body(engine: Engine) -> Order:
        order = await submit(engine)
        venue.fetch_script.clear()
        return await engine.cancel(order, as_timeout=True, timeout=2)
    order = with_engine(tmp_path, venue, body, UNANSWERED)
    assert order.state is OrderState.ERROR and "never received" in (order.reason or "")
    assert len(venue.cancels) == 1 and venue.submits == [order.id], "nothing sent again"


def test_a_cancel_answered_not_found_cancels_an_order_the_venue_shows_later(
        tmp_path: Path) -> None:
    venue = ScriptedVenue()
    submit = unanswered(venue, "accept+timeout")
    original = venue.cancel

    async def not_yet(ref: OrderRef) -> OrderSnapshot | None:
        if len(venue.cancels) == 0:  # the first cancel comes before the venue shows it
            venue.cancels.append(ref)
            raise error(Code.ORDER_NOT_FOUND, "order not found", venue=venue.name)
        return await original(ref)
    venue.cancel = not_yet  # type: ignore[method-assign]

    async def body(engine: Engine) -> Order:
        order = await submit(engine)
        venue.fetch_script.clear()
        return await engine.cancel(order, as_timeout=True, timeout=2)
    order = with_engine(tmp_path, venue, body, UNANSWERED)
    assert order.state is OrderState.TIMEOUT and order.venue_order_id == "V1"
    assert len(venue.cancels) == 2 and venue.submits == [order.id]


def test_recovery_settles_a_cancel_requested_before_any_ack(tmp_path: Path) -> None:
    """A journal left with a cancel requested for an order never acknowledged (a crash)
    and unknown to the venue: recovery resolves it like a SUBMITTED order."""
    venue = ScriptedVenue()
    submit = unanswered(venue, "timeout")

    async def body(engine: Engine) -> Order:
        order = await submit(engine)
        engine.tracker.apply(order, EventKind.CANCEL_REQUEST)  # then the process stopped
        venue.fetch_script.clear()
        report = await engine.recover()
        assert report.ok, report.failed
        return order
    order = with_engine(tmp_path, venue, body, UNANSWERED)
    assert order.state is OrderState.ERROR and venue.submits == [order.id]


class ReplacingVenue(ScriptedVenue):
    """The scripted venue with a native replace: the new order takes what is left."""

    def __init__(self) -> None:
        super().__init__(client_ids=False)
        self.capabilities = replace(self.capabilities, replace=True)
        self.replaced: list[OrderRef] = []

    async def replace(self, ref: OrderRef, *, quantity: Decimal | None = None,
                      limit_price: Decimal | None = None,
                      client_order_id: str | None = None) -> OrderSnapshot:
        self.replaced.append(ref)
        assert ref.venue_order_id is not None
        old = self.orders[ref.venue_order_id]
        self.orders[old.venue_order_id] = old.model_copy(update={"state": OrderState.REPLACED})
        new = old.model_copy(update={"venue_order_id": f"V{len(self.orders) + 1}",
                                     "limit_price": limit_price,
                                     "state": OrderState.ACKNOWLEDGED,
                                     "replaces": old.venue_order_id})
        self.orders[new.venue_order_id] = new
        return new


def test_a_re_peg_of_an_order_still_unknown_waits_for_it_to_be_found(tmp_path: Path) -> None:
    """A replace must name the order to the venue: while its outcome is unknown (no client
    order ids, no venue id yet) nothing is journaled or sent and the order is returned as
    it is; once a lookup finds it, the replace goes out with its venue order id."""
    venue = ReplacingVenue()
    submit = unanswered(venue, "accept+timeout")

    async def body(engine: Engine) -> tuple[Order, Order]:
        order = await submit(engine)
        kept = await engine.replace(order, limit_price=Decimal("10.01"))
        assert kept is order and venue.replaced == []
        assert [o.id for o in engine.journal.orders()] == [order.id], "nothing journaled"
        venue.fetch_script.clear()
        return order, await engine.replace(order, limit_price=Decimal("10.01"))
    order, new = with_engine(tmp_path, venue, body, UNANSWERED)
    assert [ref.venue_order_id for ref in venue.replaced] == ["V1"]
    assert order.state is OrderState.REPLACED and new.venue_order_id == "V2"
    assert new.state is OrderState.ACKNOWLEDGED and new.replaces == order.id
