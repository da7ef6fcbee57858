"""The order lifecycle: the races venues really produce, dedupe, overfills, illegal events."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from venuekit import lifecycle
from venuekit.lifecycle import EventKind, Result
from venuekit.model import Fill, Order, OrderRequest, OrderState, Side

from .lifecycle_support import (
    LOGGER,
    T0,
    E,
    S,
    fill,
    new_order,
    run,
    snapshot,
    states,
    ticks,
)

# --- the ordinary path ------------------------------------------------------------------


def test_submit_ack_partial_then_complete() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK, fill("t1", "4", "100"), fill("t2", "6", "101"))
    assert order.state is S.FILLED
    assert states(order) == [S.SUBMITTED, S.ACKNOWLEDGED, S.PARTIALLY_FILLED, S.FILLED]
    assert [event.kind for event in order.history] == ["submit", "ack", "fill", "fill"]
    assert order.filled_quantity == Decimal(10)
    assert order.remaining_quantity == 0
    assert order.average_price == Decimal("100.6")
    assert order.trade_ids == ["t1", "t2"]


def test_fees_accumulate() -> None:
    order = new_order()
    run(order, E.SUBMIT, fill("t1", "4", fee="0.10"), fill("t2", "6", fee="0.15"))
    assert order.fees == Decimal("0.25")


def test_the_fill_event_carries_the_fill() -> None:
    order = new_order()
    run(order, E.SUBMIT)
    the_fill = fill("t1", "4")
    applied = lifecycle.apply_fill(order, the_fill)
    assert applied.event is not None
    assert applied.event.fill is the_fill
    assert order.history[-1] is applied.event


def test_applied_is_truthy_only_when_applied() -> None:
    order = new_order()
    assert lifecycle.apply(order, E.SUBMIT)
    assert not lifecycle.apply(order, E.REPLACE_REQUEST)  # dropped


def test_a_reject_records_its_reason() -> None:
    order = new_order()
    run(order, E.SUBMIT)
    applied = lifecycle.apply(order, E.REJECT, reason="insufficient buying power")
    assert applied.result is Result.APPLIED
    assert order.state is S.REJECTED
    assert order.reason == "insufficient buying power"
    assert order.history[-1].reason == "insufficient buying power"


def test_an_order_can_be_withdrawn_or_refused_before_it_is_sent() -> None:
    for kind, target in [(E.CANCELLED, S.CANCELLED), (E.REJECT, S.REJECTED),
                         (E.ERROR, S.ERROR)]:
        order = new_order()
        run(order, kind)
        assert order.state is target


# --- fill before ack --------------------------------------------------------------------


def test_fill_before_ack_completing_the_order() -> None:
    order = new_order()
    run(order, E.SUBMIT, fill("t1", "10"))
    assert order.state is S.FILLED
    assert states(order) == [S.SUBMITTED, S.FILLED]


def test_fill_before_ack_partial_then_the_late_ack() -> None:
    order = new_order()
    run(order, E.SUBMIT, fill("t1", "3"))
    assert order.state is S.PARTIALLY_FILLED

    late_ack = lifecycle.apply(order, E.ACK)
    assert late_ack.result is Result.APPLIED
    assert order.state is S.PARTIALLY_FILLED  # the ack does not undo the fill
    assert lifecycle.apply(order, E.ACK).result is Result.DUPLICATE
    assert [event.kind for event in order.history] == ["submit", "fill", "ack"]


def test_a_repeated_ack_is_a_duplicate_and_changes_nothing() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK)
    before = snapshot(order)
    applied = lifecycle.apply(order, E.ACK)
    assert applied.result is Result.DUPLICATE
    assert applied.event is None
    assert snapshot(order) == before


# --- fill after cancel ------------------------------------------------------------------


def test_a_late_partial_fill_after_cancel_is_counted_and_the_order_stays_cancelled() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK, E.CANCEL_REQUEST, E.CANCELLED)
    applied = lifecycle.apply_fill(order, fill("t1", "4", "99.5"))
    assert applied.result is Result.APPLIED
    assert order.state is S.CANCELLED
    assert order.filled_quantity == Decimal(4)
    assert order.average_price == Decimal("99.5")
    assert order.history[-1].kind == "fill"
    assert order.history[-1].state is S.CANCELLED


def test_a_late_fill_completing_a_cancelled_order_makes_it_filled() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK, fill("t1", "4"), E.CANCEL_REQUEST, E.CANCELLED)
    run(order, fill("t2", "6"))
    assert order.state is S.FILLED
    assert order.filled_quantity == Decimal(10)


@pytest.mark.parametrize("end", [E.EXPIRED, E.TIMEOUT])
def test_late_fills_after_expiry_or_timeout(end: EventKind) -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK, end)
    terminal = order.state
    run(order, fill("t1", "4"))
    assert order.state is terminal
    run(order, fill("t2", "6"))
    assert order.state is S.FILLED


def test_a_fill_while_a_cancel_is_pending_keeps_it_pending() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK, E.CANCEL_REQUEST, fill("t1", "4"))
    assert order.state is S.PENDING_CANCEL
    assert order.filled_quantity == Decimal(4)
    run(order, fill("t2", "6"))
    assert order.state is S.FILLED


# --- failed cancel and replace ----------------------------------------------------------


@pytest.mark.parametrize(
    ("request_kind", "rejected_kind", "pending"),
    [(E.CANCEL_REQUEST, E.CANCEL_REJECTED, S.PENDING_CANCEL),
     (E.REPLACE_REQUEST, E.REPLACE_REJECTED, S.PENDING_REPLACE)],
    ids=["cancel", "replace"],
)
class TestFailedRequests:
    def test_returns_to_acknowledged(self, request_kind: EventKind,
                                     rejected_kind: EventKind, pending: OrderState) -> None:
        order = new_order()
        run(order, E.SUBMIT, E.ACK, request_kind)
        assert order.state is pending
        run(order, rejected_kind)
        assert order.state is S.ACKNOWLEDGED
        assert order.resume_state is None

    def test_returns_to_partially_filled(self, request_kind: EventKind,
                                         rejected_kind: EventKind,
                                         pending: OrderState) -> None:
        order = new_order()
        run(order, E.SUBMIT, E.ACK, fill("t1", "2"), request_kind, rejected_kind)
        assert order.state is S.PARTIALLY_FILLED

    def test_a_fill_while_pending_returns_to_partially_filled(
            self, request_kind: EventKind, rejected_kind: EventKind,
            pending: OrderState) -> None:
        order = new_order()
        run(order, E.SUBMIT, E.ACK, request_kind, fill("t1", "2"))
        assert order.state is pending
        run(order, rejected_kind)
        assert order.state is S.PARTIALLY_FILLED
        assert order.filled_quantity == Decimal(2)

    def test_the_rejection_reason_is_recorded(self, request_kind: EventKind,
                                              rejected_kind: EventKind,
                                              pending: OrderState) -> None:
        order = new_order()
        run(order, E.SUBMIT, E.ACK, request_kind)
        lifecycle.apply(order, rejected_kind, reason="too late to change")
        assert order.history[-1].reason == "too late to change"
        assert order.reason is None  # only terminal states keep a reason on the order


def test_a_cancel_requested_before_the_ack_fails_back_to_submitted() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.CANCEL_REQUEST, E.CANCEL_REJECTED)
    assert order.state is S.SUBMITTED


def test_an_ack_while_the_cancel_is_pending_is_remembered() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.CANCEL_REQUEST, E.ACK)
    assert order.state is S.PENDING_CANCEL
    assert lifecycle.apply(order, E.ACK).result is Result.DUPLICATE
    run(order, E.CANCEL_REJECTED)
    assert order.state is S.ACKNOWLEDGED


def test_a_fill_while_a_cancel_from_submitted_is_pending() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.CANCEL_REQUEST, fill("t1", "1"), E.CANCEL_REJECTED)
    assert order.state is S.PARTIALLY_FILLED


def test_repeated_cancel_requests_remember_the_state_before_the_first() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK, fill("t1", "2"), E.CANCEL_REQUEST, E.CANCEL_REQUEST,
        E.CANCEL_REQUEST)
    assert order.state is S.PENDING_CANCEL
    assert order.resume_state is S.PARTIALLY_FILLED
    run(order, E.CANCEL_REJECTED)
    assert order.state is S.PARTIALLY_FILLED


def test_a_cancel_after_a_replace_request_fails_back_to_before_the_replace() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK, E.REPLACE_REQUEST, E.CANCEL_REQUEST)
    assert order.state is S.PENDING_CANCEL
    run(order, E.CANCEL_REJECTED)
    assert order.state is S.ACKNOWLEDGED


def test_a_replace_answered_while_a_cancel_is_pending() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK, E.REPLACE_REQUEST, E.CANCEL_REQUEST)
    run(order, E.REPLACE_REJECTED)
    assert order.state is S.PENDING_CANCEL  # the cancel is still outstanding
    run(order, E.CANCELLED)
    assert order.state is S.CANCELLED

    order = new_order("10", "vk-2")
    run(order, E.SUBMIT, E.ACK, E.REPLACE_REQUEST, E.CANCEL_REQUEST)
    applied = lifecycle.apply(order, E.REPLACED, data={"replaced_by": "vk-3"})
    assert applied.result is Result.APPLIED
    assert order.state is S.REPLACED
    assert order.replaced_by == "vk-3"


# --- replace ----------------------------------------------------------------------------


def test_replaced_records_the_new_order() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK, E.REPLACE_REQUEST)
    applied = lifecycle.apply(order, E.REPLACED, data={"replaced_by": "vk-2"})
    assert applied.result is Result.APPLIED
    assert order.state is S.REPLACED
    assert order.state.is_terminal
    assert order.replaced_by == "vk-2"
    assert order.history[-1].data == {"replaced_by": "vk-2"}


def test_event_data_cannot_be_changed_after_the_fact() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK, E.REPLACE_REQUEST)
    data = {"replaced_by": "vk-2"}
    lifecycle.apply(order, E.REPLACED, data=data)
    data["replaced_by"] = "someone-else"
    assert order.history[-1].data == {"replaced_by": "vk-2"}


def test_a_replace_needs_an_acknowledged_order() -> None:
    order = new_order()
    run(order, E.SUBMIT)
    assert lifecycle.apply(order, E.REPLACE_REQUEST).result is Result.DROPPED


# --- fills: dedupe, overfill, mismatches ------------------------------------------------


@pytest.mark.parametrize("state_setup", [[E.SUBMIT], [E.SUBMIT, E.ACK],
                                         [E.SUBMIT, E.ACK, E.CANCEL_REQUEST]])
def test_a_duplicate_trade_id_changes_nothing(state_setup: list[EventKind]) -> None:
    order = new_order()
    run(order, *state_setup, fill("t1", "4"))
    before = snapshot(order)
    # A replay with the same trade id is ignored even if its other fields differ.
    for replay in (fill("t1", "4"), fill("t1", "5", "120")):
        applied = lifecycle.apply_fill(order, replay)
        assert applied.result is Result.DUPLICATE
        assert applied.event is None
        assert "t1" in (applied.reason or "")
    assert snapshot(order) == before


def test_a_duplicate_after_the_order_completed_is_still_a_duplicate() -> None:
    order = new_order()
    run(order, E.SUBMIT, fill("t1", "10"))
    assert lifecycle.apply_fill(order, fill("t1", "10")).result is Result.DUPLICATE
    assert order.filled_quantity == Decimal(10)


def test_an_overfill_is_refused_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK, fill("t1", "7"))
    before = snapshot(order)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        applied = lifecycle.apply_fill(order, fill("t2", "4"))
    assert applied.result is Result.OVERFILL
    assert applied.event is None
    assert "11" in (applied.reason or "") and "10" in (applied.reason or "")
    assert snapshot(order) == before
    assert order.filled_quantity == Decimal(7)

    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.name == LOGGER
    assert record.order_id == "vk-1"
    assert record.trade_id == "t2"
    assert record.filled == "7"
    assert record.fill == "4"
    assert record.quantity == "10"


def test_an_overfill_does_not_block_a_later_fill_that_fits() -> None:
    order = new_order()
    run(order, E.SUBMIT, fill("t1", "7"))
    assert lifecycle.apply_fill(order, fill("t2", "4")).result is Result.OVERFILL
    run(order, fill("t3", "3"))
    assert order.state is S.FILLED
    assert order.trade_ids == ["t1", "t3"]


def test_a_new_fill_on_a_filled_order_is_an_overfill(caplog: pytest.LogCaptureFixture) -> None:
    # The order is complete from venue executions (an inferred fill would be restated
    # instead: tests/core/test_inferred_fills.py).
    order = new_order()
    run(order, E.SUBMIT, fill("t0", "10"))
    before = snapshot(order)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        applied = lifecycle.apply_fill(order, fill("real-1", "10"))
    assert applied.result is Result.OVERFILL
    assert snapshot(order) == before
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.trade_id == "real-1"


def test_a_notional_order_accepts_fills_until_its_quantity_is_known() -> None:
    request = OrderRequest(symbol="AAPL", side=Side.BUY, notional="1000")
    order = Order(id="vk-n", venue="mock", request=request, quantity=None)
    run(order, E.SUBMIT, fill("t1", "3"), fill("t2", "4"))
    assert order.state is S.PARTIALLY_FILLED
    assert order.filled_quantity == Decimal(7)


@pytest.mark.parametrize(
    ("bad", "why"),
    [(fill("t1", "1", symbol="MSFT"), "MSFT"), (fill("t1", "1", side=Side.SELL), "sell")],
    ids=["other-symbol", "other-side"],
)
def test_a_fill_for_another_instrument_or_side_is_dropped(
        bad: Fill, why: str, caplog: pytest.LogCaptureFixture) -> None:
    order = new_order()
    run(order, E.SUBMIT)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        applied = lifecycle.apply_fill(order, bad)
    assert applied.result is Result.DROPPED
    assert why in (applied.reason or "")
    assert order.filled_quantity == 0
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


@pytest.mark.parametrize("setup", [[], [E.REJECT], [E.SUBMIT, E.ERROR]],
                         ids=["new", "rejected", "error"])
def test_a_fill_that_cannot_be_is_dropped(setup: list[EventKind],
                                          caplog: pytest.LogCaptureFixture) -> None:
    order = new_order()
    run(order, *setup)
    before = snapshot(order)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        applied = lifecycle.apply_fill(order, fill("t1", "1"))
    assert applied.result is Result.DROPPED
    assert snapshot(order) == before
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.event == "fill"


# --- illegal events ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "kind"),
    [
        ([E.CANCELLED], E.SUBMIT),
        ([E.SUBMIT, E.ACK, E.CANCELLED], E.SUBMIT),
        ([], E.ACK),
        ([], E.CANCEL_REQUEST),
        ([E.SUBMIT], E.CANCEL_REJECTED),
        ([E.SUBMIT, E.ACK], E.REPLACE_REJECTED),
        ([E.SUBMIT, E.ACK, E.REPLACE_REQUEST, E.REPLACED], E.CANCEL_REQUEST),
        ([E.SUBMIT, E.ACK, E.CANCELLED], E.EXPIRED),
    ],
    ids=["submit-on-cancelled-new", "submit-on-cancelled", "ack-on-new",
         "cancel-request-on-new", "cancel-rejected-without-request",
         "replace-rejected-without-request", "cancel-request-on-replaced",
         "expired-after-cancelled"],
)
def test_an_illegal_event_is_logged_and_dropped(
        setup: list[EventKind | Fill], kind: EventKind,
        caplog: pytest.LogCaptureFixture) -> None:
    order = new_order()
    run(order, *setup)
    state = order.state
    before = snapshot(order)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        applied = lifecycle.apply(order, kind)  # must not raise
    assert applied.result is Result.DROPPED
    assert applied.event is None
    assert snapshot(order) == before

    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.order_id == "vk-1"
    assert record.event == kind.value
    assert record.state == state.value
    assert kind.value in record.reason
    assert state.value in record.reason
    assert record.reason == applied.reason


def test_fills_go_through_apply_fill() -> None:
    # A programming error, not a venue event: fail loudly at the call site.
    with pytest.raises(ValueError, match="apply_fill"):
        lifecycle.apply(new_order(), E.FILL)


# --- history: timestamps and order ------------------------------------------------------


def test_every_event_carries_its_timestamp_and_a_sequence_number() -> None:
    order = new_order()
    clock = ticks()
    lifecycle.apply(order, E.SUBMIT, at=next(clock))
    lifecycle.apply(order, E.ACK, at=next(clock))
    lifecycle.apply_fill(order, fill("t1", "4"), at=next(clock))
    lifecycle.apply(order, E.CANCEL_REQUEST, at=next(clock))
    lifecycle.apply(order, E.CANCEL_REJECTED, at=next(clock))
    lifecycle.apply_fill(order, fill("t2", "6"), at=next(clock))
    assert [event.seq for event in order.history] == [1, 2, 3, 4, 5, 6]
    assert [event.at for event in order.history] == [T0 + timedelta(seconds=n)
                                                     for n in range(6)]
    assert states(order) == [S.SUBMITTED, S.ACKNOWLEDGED, S.PARTIALLY_FILLED,
                             S.PENDING_CANCEL, S.PARTIALLY_FILLED, S.FILLED]


def test_ignored_events_leave_no_gap_in_the_sequence() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK)
    lifecycle.apply(order, E.ACK)  # duplicate
    lifecycle.apply(order, E.SUBMIT)  # dropped
    lifecycle.apply_fill(order, fill("t1", "11"))  # overfill
    run(order, fill("t2", "1"))
    assert [event.seq for event in order.history] == [1, 2, 3]


def test_the_default_timestamp_is_now_in_utc() -> None:
    order = new_order()
    before = datetime.now(UTC)
    lifecycle.apply(order, E.SUBMIT)
    after = datetime.now(UTC)
    at = order.history[0].at
    assert at.utcoffset() == timedelta(0)
    assert before <= at <= after
