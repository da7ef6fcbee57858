"""Every fault knob: what the caller sees, what the venue really did (the ledger)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from tests.support.helpers import D, flat, run
from venuekit.errors import (
    AuthorizationError,
    Code,
    ConnectivityError,
    OrderNotFound,
    Outcome,
    RateLimited,
    SystemError_,
    VenueKitError,
)
from venuekit.model import OrderRequest, OrderState, OrderUpdate
from venuekit.venue import OrderRef
from venuekit_mock import Fault, FaultPlan, MockVenue


def market(quantity: str = "10") -> OrderRequest:
    return OrderRequest(symbol="XYZ", side="buy", quantity=quantity)


def resting() -> OrderRequest:
    return OrderRequest(symbol="XYZ", side="buy", quantity="1", order_type="limit",
                        limit_price="99.00")


def venue_with(plan: FaultPlan, **options: object) -> MockVenue:
    options.setdefault("symbols", [flat()])
    return MockVenue(faults=plan, **options)  # type: ignore[arg-type]


async def drain(stream: object, timeout: float = 0.05) -> list[OrderUpdate]:
    """Every update delivered until the stream goes quiet."""
    updates = []
    while True:
        try:
            updates.append(await asyncio.wait_for(stream.__anext__(),  # type: ignore[attr-defined]
                                                  timeout))
        except TimeoutError:
            return updates


def labels(updates: list[OrderUpdate]) -> list[tuple[str | None, str]]:
    return [(u.order.client_order_id, u.order.state.value) for u in updates]


# request faults --------------------------------------------------------------------------
def test_drop_response_accepts_the_order_but_the_caller_times_out() -> None:
    venue = venue_with(FaultPlan(schedule={"drop_response": [2]}))

    async def scenario() -> None:
        stream = venue.order_updates()
        await venue.submit(market(), "o-1")
        with pytest.raises(ConnectivityError) as lost:
            await venue.submit(market(), "o-2")
        assert lost.value.code is Code.TIMEOUT and lost.value.outcome is Outcome.UNKNOWN
        found = await venue.fetch_order(OrderRef(client_order_id="o-2"))
        assert found.state is OrderState.FILLED
        assert labels(await drain(stream))[-2:] == [("o-2", "acknowledged"), ("o-2", "filled")]

    run(scenario())
    ledger = venue.control.ledger
    assert [o.client_order_id for o in ledger.orders] == ["o-1", "o-2"]
    assert [f.client_order_id for f in ledger.fills] == ["o-1", "o-2"]
    [fault] = ledger.faults
    assert (fault.kind, fault.operation, fault.order_index, fault.venue_order_id) == \
        ("drop_response", "submit", 2, ledger.orders[1].venue_order_id)


def test_drop_response_on_cancel_cancels_anyway() -> None:
    plan = FaultPlan(probabilities={"drop_response": D(1)}, operations=["cancel"])
    venue = venue_with(plan)

    async def scenario() -> None:
        order = await venue.submit(resting(), "c-1")
        with pytest.raises(ConnectivityError) as lost:
            await venue.cancel(OrderRef(venue_order_id=order.venue_order_id))
        assert lost.value.code is Code.TIMEOUT
        assert (await venue.fetch_order(OrderRef(client_order_id="c-1"))).state \
            is OrderState.CANCELLED

    run(scenario())
    assert len(venue.control.ledger.cancels) == 1
    assert venue.control.ledger.faults[0].operation == "cancel"


def test_timeout_before_acceptance_leaves_nothing_at_the_venue() -> None:
    venue = venue_with(FaultPlan(schedule={"timeout": [1]}))

    async def scenario() -> None:
        with pytest.raises(ConnectivityError) as timed_out:
            await venue.submit(market(), "t-1")
        assert timed_out.value.code is Code.TIMEOUT
        with pytest.raises(OrderNotFound):
            await venue.fetch_order(OrderRef(client_order_id="t-1"))
        resent = await venue.submit(market(), "t-1")  # same id: the venue never had it
        assert resent.state is OrderState.FILLED

    run(scenario())
    ledger = venue.control.ledger
    assert [o.order_index for o in ledger.orders] == [2]
    assert [(f.kind, f.order_index, f.venue_order_id) for f in ledger.faults] == \
        [("timeout", 1, None)]


def test_server_error_before_acceptance_by_default() -> None:
    venue = venue_with(FaultPlan(schedule={"server_error": [1]}))

    async def scenario() -> None:
        with pytest.raises(SystemError_) as failed:
            await venue.submit(market(), "s-1")
        assert failed.value.code is Code.VENUE_ERROR
        assert failed.value.outcome is Outcome.UNKNOWN and failed.value.retryable

    run(scenario())
    assert venue.control.ledger.orders == []
    assert venue.control.ledger.faults[0].detail == "before the venue acted"


def test_server_error_after_acceptance_when_configured() -> None:
    venue = venue_with(FaultPlan(schedule={"server_error": [1]},
                                 server_error_after_accept=True))

    async def scenario() -> None:
        with pytest.raises(SystemError_) as failed:
            await venue.submit(market(), "s-1")
        assert failed.value.code is Code.VENUE_ERROR
        assert (await venue.fetch_order(OrderRef(client_order_id="s-1"))).state \
            is OrderState.FILLED

    run(scenario())
    ledger = venue.control.ledger
    assert [o.client_order_id for o in ledger.orders] == ["s-1"]
    assert ledger.faults[0].venue_order_id == ledger.orders[0].venue_order_id


def test_rate_limit_fault_refuses_without_acting() -> None:
    venue = venue_with(FaultPlan(schedule={"rate_limit": [1]}, retry_after=0.25))

    async def scenario() -> None:
        with pytest.raises(RateLimited) as limited:
            await venue.submit(market(), "r-1")
        assert limited.value.retry_after == 0.25
        assert limited.value.code is Code.RATE_LIMITED

    run(scenario())
    assert venue.control.ledger.orders == []
    assert venue.control.ledger.faults_of("rate_limit")[0].order_index == 1


def test_authentication_failure_refuses_every_call() -> None:
    venue = venue_with(FaultPlan(auth_failure=True))

    async def scenario() -> None:
        calls = [venue.submit(market(), "a-1"), venue.quote("XYZ"), venue.account(),
                 venue.instruments(), venue.open_orders(),
                 venue.fetch_order(OrderRef(venue_order_id="M00000001")),
                 venue.cancel(OrderRef(venue_order_id="M00000001"))]
        for call in calls:
            with pytest.raises(AuthorizationError) as refused:
                await call
            assert refused.value.code is Code.AUTHENTICATION_FAILED
            assert refused.value.outcome is Outcome.REJECTED
        with pytest.raises(AuthorizationError):
            venue.order_updates()
        venue.control.fail_authentication(False)
        assert (await venue.submit(market(), "a-1")).state is OrderState.FILLED

    run(scenario())


def test_probabilistic_faults_are_seeded_and_can_target_operations() -> None:
    def pattern(seed: int) -> list[bool]:
        plan = FaultPlan(probabilities={"server_error": Decimal("0.5")},
                         operations=["quote"], seed=seed)
        venue = venue_with(plan)

        async def scenario() -> list[bool]:
            failed = []
            for _ in range(40):
                try:
                    await venue.quote("XYZ")
                    failed.append(False)
                except VenueKitError:
                    failed.append(True)
            await venue.submit(market(), "not-targeted")  # submits are not in `operations`
            return failed

        return run(scenario())

    first = pattern(1)
    assert first == pattern(1) and first != pattern(2)
    assert 5 < sum(first) < 35


def test_fault_plan_validates_its_knobs() -> None:
    with pytest.raises(ValueError):
        FaultPlan(probabilities={"timeout": D("1.5")})
    with pytest.raises(ValueError):
        FaultPlan(probabilities={"no_such_fault": D(1)})
    with pytest.raises(ValueError):
        FaultPlan(schedule={"timeout": [0]})
    plan = FaultPlan(probabilities={"timeout": D("0.25")}, schedule={"timeout": [3]})
    assert plan.probability(Fault.TIMEOUT) == D("0.25") and plan.scripted("timeout") == {3}
    plan.clear()
    assert not plan.active


# stream faults ---------------------------------------------------------------------------
def test_stream_disconnect_loses_the_gap_until_reconnect() -> None:
    venue = venue_with(FaultPlan(schedule={"stream_disconnect": [2]}))

    async def scenario() -> None:
        stream = venue.order_updates()
        await venue.submit(market(), "d-1")
        await venue.submit(market(), "d-2")  # the stream drops before d-2's first update
        await venue.submit(market(), "d-3")  # published while disconnected: lost
        delivered = []
        with pytest.raises(ConnectivityError) as dropped:
            async for update in stream:
                delivered.append(update)
        assert dropped.value.code is Code.STREAM_DISCONNECTED
        assert labels(delivered) == [("d-1", "acknowledged"), ("d-1", "filled")]
        rest = venue.order_updates()  # reconnect: no replay of the gap
        await venue.submit(market(), "d-4")
        assert labels(await drain(rest)) == [("d-4", "acknowledged"), ("d-4", "filled")]
        for gap in ("d-2", "d-3"):  # REST still knows the truth
            assert (await venue.fetch_order(OrderRef(client_order_id=gap))).state \
                is OrderState.FILLED

    run(scenario())
    [fault] = venue.control.ledger.faults
    assert (fault.kind, fault.operation, fault.order_index) == ("stream_disconnect", "stream", 2)


def test_duplicate_events_are_delivered_twice() -> None:
    venue = venue_with(FaultPlan(schedule={"duplicate_event": [1]}))

    async def scenario() -> list[OrderUpdate]:
        stream = venue.order_updates()
        await venue.submit(market(), "u-1")
        return await drain(stream)

    updates = run(scenario())
    assert labels(updates) == [("u-1", "acknowledged"), ("u-1", "acknowledged"),
                               ("u-1", "filled")]
    assert updates[0] == updates[1]
    assert venue.control.ledger.faults[0].kind == "duplicate_event"
    assert len(venue.control.ledger.fills) == 1


def test_out_of_order_delivers_the_fill_before_the_ack() -> None:
    venue = venue_with(FaultPlan(schedule={"out_of_order": [1]}))

    async def scenario() -> list[OrderUpdate]:
        stream = venue.order_updates()
        await venue.submit(market(), "x-1")
        return await drain(stream)

    assert labels(run(scenario())) == [("x-1", "filled"), ("x-1", "acknowledged")]
    assert venue.control.ledger.faults[0].kind == "out_of_order"


def test_lost_final_fill_never_streams_but_rest_shows_it() -> None:
    venue = venue_with(FaultPlan(schedule={"lose_final_fill": [1]}), symbols=[flat(size="6")])

    async def scenario() -> None:
        stream = venue.order_updates()
        await venue.submit(market(), "f-1")  # 6 now, 4 at the next step
        venue.control.advance()
        assert labels(await drain(stream)) == [("f-1", "acknowledged"),
                                               ("f-1", "partially_filled")]
        snapshot = await venue.fetch_order(OrderRef(client_order_id="f-1"))
        assert snapshot.state is OrderState.FILLED and snapshot.filled_quantity == D(10)
        fills = await venue.fills_since(snapshot.created_at)  # type: ignore[arg-type]
        assert [f.quantity for f in fills] == [D(6), D(4)]

    run(scenario())
    [fault] = venue.control.ledger.faults
    assert fault.kind == "lose_final_fill" and "T00000002" in fault.detail


def test_stream_delay_is_applied_to_every_update() -> None:
    venue = MockVenue(symbols=[flat()], stream_delay=0.05)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        stream = venue.order_updates()
        sent = loop.time()
        await venue.submit(market(), "late")
        await drain(stream, 0.2)
        assert loop.time() - sent >= 0.05

    run(scenario())
