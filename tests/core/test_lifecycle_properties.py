"""Properties of the lifecycle over random event streams: what no sequence of events can break.

The streams mix every event kind with fills that repeat trade ids, overshoot the order
quantity, or belong to another instrument, arriving in any order, the way a stream, a REST
poll and a reconciliation interleave in practice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from venuekit import lifecycle
from venuekit.lifecycle import TRANSITIONS, Applied, EventKind, Result
from venuekit.model import Fill, Order, OrderRequest, OrderState, Side

S = OrderState
T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
CANCEL_LIKE = frozenset({S.CANCELLED, S.EXPIRED, S.TIMEOUT, S.REPLACED})
RESUMABLE = frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.PARTIALLY_FILLED})
MAX_STEPS = 30

# Deterministic: the same examples on every run and every machine. The properties are
# cheap; the exhaustive state-by-event check is in test_lifecycle.
PROPERTY = settings(max_examples=500, deadline=None, derandomize=True)


@dataclass(frozen=True)
class Event:
    kind: EventKind
    reason: str | None
    replaced_by: str | None


@dataclass(frozen=True)
class Step:
    item: Event | Fill
    gap: timedelta  # time since the previous step; zero is allowed (same timestamp)


gaps = st.sampled_from([timedelta(0), timedelta(milliseconds=1), timedelta(seconds=3)])

fills = st.builds(
    Fill,
    trade_id=st.sampled_from([f"t{n}" for n in range(8)]),  # few ids: many duplicates
    symbol=st.sampled_from(["AAPL"] * 9 + ["MSFT"]),
    side=st.sampled_from([Side.BUY] * 9 + [Side.SELL]),
    quantity=st.sampled_from(["0.5", "1", "1", "2", "2.5", "4", "9"]),
    price=st.sampled_from(["99.5", "100", "100.25"]),
    fee=st.sampled_from(["0", "0.01"]),
    at=st.just(T0),
)

# Every kind (FILL included: a stream may hand any kind to its dispatcher), with the kinds
# that keep an order open drawn about three times in four: uniformly random kinds end most
# streams within two steps, and the pending states and failed requests would hardly be
# exercised.
_KEEP_OPEN = st.sampled_from([
    EventKind.SUBMIT, EventKind.ACK, EventKind.CANCEL_REQUEST, EventKind.CANCEL_REJECTED,
    EventKind.REPLACE_REQUEST, EventKind.REPLACE_REJECTED,
])
kinds = st.one_of(_KEEP_OPEN, st.sampled_from(list(EventKind)))

events = st.builds(Event, kind=kinds, reason=st.none() | st.just("venue said so"),
                   replaced_by=st.none() | st.sampled_from(["vk-2", "vk-3"]))

steps = st.builds(Step, item=st.one_of(events, fills), gap=gaps)


def _opening(kinds: tuple[EventKind, ...]) -> list[Step]:
    return [Step(Event(kind, None, None), timedelta(0)) for kind in kinds]


# Most streams start from an order the venue has (or may have); some from a fresh one.
scripts = st.builds(
    lambda opening, rest: opening + rest,
    st.sampled_from([(), (EventKind.SUBMIT,), (EventKind.SUBMIT, EventKind.ACK)]).map(_opening),
    st.lists(steps, max_size=MAX_STEPS),
)

order_quantities = st.sampled_from(["3", "7.5", "10", "25", None])


def make_order(quantity: str | None) -> Order:
    if quantity is None:
        request = OrderRequest(symbol="AAPL", side=Side.BUY, notional="1000")
        return Order(id="vk-1", venue="mock", request=request, quantity=None)
    request = OrderRequest(symbol="AAPL", side=Side.BUY, quantity=quantity)
    return Order(id="vk-1", venue="mock", request=request, quantity=Decimal(quantity))


def apply_step(order: Order, step: Step, at: datetime) -> Applied:
    item = step.item
    if isinstance(item, Fill):
        return lifecycle.apply_fill(order, item, at=at)
    if item.kind is EventKind.FILL:
        # A fill-kind event without an execution carries nothing to apply; apply() refuses
        # FILL by design (covered in test_lifecycle), so the dispatcher skips it.
        return Applied(Result.DROPPED, reason="no execution attached")
    data = {"replaced_by": item.replaced_by} if item.replaced_by else None
    return lifecycle.apply(order, item.kind, at=at, reason=item.reason, data=data)


def observable(order: Order) -> tuple[object, ...]:
    return (order.state, order.filled_quantity, order.filled_notional, order.fees,
            tuple(order.fills), tuple(order.history), order.resume_state, order.reason,
            order.replaced_by)


def check_transition(before: OrderState, step: Step, applied: Applied, order: Order) -> None:
    """The state change ``applied`` made is one the lifecycle allows."""
    after = order.state
    if applied.result is not Result.APPLIED:
        assert after is before
        return
    item = step.item
    if isinstance(item, Fill):
        allowed = {before, S.FILLED}
        if before in (S.SUBMITTED, S.ACKNOWLEDGED):
            allowed.add(S.PARTIALLY_FILLED)
        assert after in allowed, (before, after)
        assert before not in (S.NEW, S.FILLED, S.REJECTED, S.ERROR)
        return
    target = TRANSITIONS[before][item.kind]
    if target is S.NEW:
        # The table's marker for "back to the state before the request".
        assert before in (S.PENDING_CANCEL, S.PENDING_REPLACE)
        assert after in RESUMABLE, after
        if order.filled_quantity > 0:
            assert after is S.PARTIALLY_FILLED
    else:
        assert after is target, (before, item.kind, target, after)


@PROPERTY
@given(quantity=order_quantities, script=scripts)
def test_no_event_stream_breaks_the_lifecycle(quantity: str | None, script: list[Step]) -> None:
    order = make_order(quantity)
    clock = T0
    accepted: list[Fill] = []

    for step in script:
        clock += step.gap  # clocks never go backwards
        before = order.state
        seen_before = observable(order)
        history_len = len(order.history)

        applied = apply_step(order, step, clock)  # never raises

        assert isinstance(order.state, OrderState)
        assert isinstance(applied.result, Result)

        # Only an applied event changes the order, and it adds exactly one history entry.
        if applied.result is Result.APPLIED:
            assert applied.event is not None
            assert len(order.history) == history_len + 1
            assert order.history[-1] is applied.event
            assert applied.event.state is order.state
            assert applied.event.at == clock
            if isinstance(step.item, Fill):
                accepted.append(step.item)
                assert applied.event.fill is step.item
        else:
            assert applied.event is None
            assert observable(order) == seen_before

        check_transition(before, step, applied, order)

        # Terminal states stay terminal; only a late fill after a cancel-like end may move
        # one, and only to FILLED.
        if before.is_terminal and order.state is not before:
            assert before in CANCEL_LIKE
            assert order.state is S.FILLED
            assert isinstance(step.item, Fill)

        # Quantities: never above the order, always the sum of the accepted fills.
        if order.quantity is not None:
            assert order.filled_quantity <= order.quantity
            assert (order.filled_quantity == order.quantity) == (order.state is S.FILLED)
        assert order.fills == accepted
        assert order.filled_quantity == sum((f.quantity for f in accepted), Decimal(0))
        assert order.filled_notional == sum((f.quantity * f.price for f in accepted),
                                            Decimal(0))
        assert order.fees == sum((f.fee for f in accepted), Decimal(0))
        assert len(set(order.trade_ids)) == len(order.trade_ids)

        # Once anything has filled, the order never looks unfilled again.
        if order.filled_quantity > 0:
            assert order.state not in (S.NEW, S.SUBMITTED, S.ACKNOWLEDGED)

    seqs = [event.seq for event in order.history]
    assert seqs == list(range(1, len(seqs) + 1))  # strictly increasing, no gaps
    times = [event.at for event in order.history]
    assert times == sorted(times)
    assert all(isinstance(event.state, OrderState) for event in order.history)


@settings(PROPERTY, max_examples=200)
@given(quantity=order_quantities, script=scripts)
def test_replaying_every_fill_changes_nothing(quantity: str | None, script: list[Step]) -> None:
    # A reconnect re-sends executions already seen; a recovery re-reads them all.
    order = make_order(quantity)
    clock = T0
    for step in script:
        clock += step.gap
        apply_step(order, step, clock)
    seen = observable(order)
    for fill in list(order.fills):
        assert lifecycle.apply_fill(order, fill, at=clock).result is Result.DUPLICATE
    assert observable(order) == seen
