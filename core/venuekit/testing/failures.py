"""Standard tests of failure handling: lost answers, faults, rate limits, error mapping.

Each test arms a fault through the market-control handle, then checks two things: the
venue's error says the right thing (its code, category and outcome in
:mod:`venuekit.errors`), and the engine ends with the truth (one order at the venue, the
venue's fills) whatever the answers were.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from ..errors import Category, Code, Outcome, RateLimited, VenueKitError
from ..model import Order, OrderRequest, OrderState, Side
from .base import OFFERED, Gate, KitSession, VenueTestBase
from .control import FaultKind

__all__ = ["FailureTests"]


async def _refusal(kit: KitSession, request: OrderRequest) -> VenueKitError:
    try:
        _, snapshot = await kit.submit(request)
    except VenueKitError as exc:
        return exc
    raise AssertionError(f"the venue accepted {request!r}: {snapshot!r}")


async def _one_order_matches_the_venue(kit: KitSession, order: Order) -> None:
    """The engine's order is the venue's only order, with the venue's fills."""
    placed = await kit.ledger_orders()
    assert len(placed) == 1, f"{len(placed)} orders reached the venue for one request"
    assert order.venue_order_id == placed[0].venue_order_id
    truth = await kit.ledger_fills(order.venue_order_id)
    if kit.venue.capabilities.itemized_fills is False:
        # Only the stream itemizes: an execution it missed (the stream was down) stands
        # as an inferred fill of the right quantity, never as a made-up trade id.
        ids = {f.trade_id for f in truth}
        made_up = [f.trade_id for f in order.fills if not f.inferred and f.trade_id not in ids]
        assert not made_up, f"fills with trade ids the venue never made: {made_up}"
    else:
        assert sorted(f.trade_id for f in order.fills) == sorted(f.trade_id for f in truth)
    assert order.filled_quantity == sum((f.quantity for f in truth), Decimal(0))
    assert sum((f.quantity for f in order.fills), Decimal(0)) == order.filled_quantity


class FailureTests(VenueTestBase):
    """What a venue plugin must do when things go wrong."""

    def test_dropped_create_response_resolves_without_duplicate(self) -> None:
        """An accepted create whose answer was lost is found, not sent again.

        If this fails: a create whose response never arrives must raise an error with an
        UNKNOWN outcome (``TIMEOUT``, ``CONNECTION_ERROR``), never a rejection; and the
        lookup (``fetch_order`` by client order id, or ``recent_orders`` for a
        fingerprint) must find the order the venue accepted, so the engine never sends
        it twice.
        """
        async def body(kit: KitSession) -> None:
            await kit.control.inject(FaultKind.DROP_RESPONSE)
            async with kit.engine() as engine:
                order = await engine.submit(kit.limit(Side.BUY, kit.ticks_below_bid(2), 2))
                assert order.state is OrderState.ACKNOWLEDGED, (order.state, order.reason)
                assert sum(1 for e in order.history if e.kind == "submit") == 1, "re-sent"
                await _one_order_matches_the_venue(kit, order)
                await engine.cancel(order)
        self.run(body)

    def test_unknown_outcomes_are_never_rejections(self) -> None:
        """Timeouts, server errors and 429s raise errors whose outcome is UNKNOWN.

        If this fails: map transport timeouts to ``Code.TIMEOUT`` or
        ``Code.CONNECTION_ERROR``, HTTP 5xx to ``Code.VENUE_ERROR`` and HTTP 429 to
        ``Code.RATE_LIMITED`` (a ``RateLimited`` with ``retry_after``): a create that
        may have reached the venue is never reported as rejected.
        """
        async def body(kit: KitSession) -> None:
            expected = {FaultKind.TIMEOUT: Category.CONNECTIVITY,
                        FaultKind.SERVER_ERROR: None,
                        FaultKind.RATE_LIMIT: Category.CONNECTIVITY}
            for fault, category in expected.items():
                await kit.control.inject(fault)
                exc = await _refusal(kit, kit.limit(Side.BUY, kit.ticks_below_bid(2)))
                assert exc.outcome is Outcome.UNKNOWN, (
                    f"{fault.value}: {exc.code.name} has outcome {exc.outcome.value}")
                assert exc.retryable, f"{fault.value}: {exc.code.name} must be retryable"
                if category is not None:
                    assert exc.code.category is category, (fault.value, exc.code.name)
                if fault is FaultKind.RATE_LIMIT:
                    assert isinstance(exc, RateLimited), type(exc)
                await kit.control.clear_faults()
        self.run(body)

    def test_rate_limit_answer_resolves_without_duplicate(self) -> None:
        """A 429 on a create leaves the order unknown; the engine resolves it, one order.

        If this fails: see ``test_unknown_outcomes_are_never_rejections``; then the lookup
        after the grace window must report a real not-found (``OrderNotFound``) for the
        order the venue throttled, so the engine may send it again with the same client
        order id.
        """
        async def body(kit: KitSession) -> None:
            await kit.control.inject(FaultKind.RATE_LIMIT)
            async with kit.engine() as engine:
                order = await engine.submit(kit.limit(Side.BUY, kit.ticks_below_bid(2), 2))
                assert order.state is OrderState.ACKNOWLEDGED, (order.state, order.reason)
                await _one_order_matches_the_venue(kit, order)
                await engine.cancel(order)
        self.run(body)

    def test_declared_rate_limits_are_respected(self) -> None:
        """A burst larger than a declared pool is paced by the engine, never refused.

        If this fails: the venue refused requests the engine paced by the declared
        ``rate_limits`` and ``weights``: declare the pools the venue really enforces
        (capacity per period, and what each operation weighs).
        """
        async def body(kit: KitSession) -> None:
            pools = kit.capabilities.rate_limits
            burst = max(min(pool.capacity for pool in pools) + 5, 10)
            # Let the venue's windows forget the kit's own set-up calls: the engine's
            # limiter starts counting now.
            await asyncio.sleep(max(pool.period for pool in pools))
            async with kit.engine() as engine:
                quotes = await asyncio.gather(*(engine.venue.quote(kit.symbol)
                                                for _ in range(burst)))
                assert len(quotes) == burst
        self.run(body, Gate("rate_limits", ()))

    def test_error_insufficient_funds(self) -> None:
        """A buy the account cannot pay for is rejected as INSUFFICIENT_FUNDS.

        If this fails: map the venue's "insufficient buying power" answer to
        ``Code.INSUFFICIENT_FUNDS`` (a ``RiskError``, outcome REJECTED), and accept no
        order.
        """
        async def body(kit: KitSession) -> None:
            await kit.control.set_cash(kit.ask * kit.unit)
            exc = await _refusal(kit, kit.limit(Side.BUY, kit.ticks_below_bid(1), 50))
            assert exc.code is Code.INSUFFICIENT_FUNDS, exc
            assert exc.outcome is Outcome.REJECTED
            assert await kit.ledger_orders() == []
        self.run(body)

    def test_error_bad_quantity_or_tick(self) -> None:
        """Off-grid prices and quantities are rejected as validation errors.

        If this fails: map the venue's precision and tick errors to ``Code.INVALID_PRICE``
        and ``Code.INVALID_QUANTITY`` (or another VALIDATION code such as
        ``BELOW_MIN_QUANTITY``), outcome REJECTED. Do not round silently in the venue:
        the engine quantizes before sending, so an off-grid order is a bug to report.
        """
        async def body(kit: KitSession) -> None:
            off_tick = kit.ticks_below_bid(2) + kit.tick / 2
            exc = await _refusal(kit, kit.limit(Side.BUY, off_tick))
            assert exc.code.category is Category.VALIDATION, exc
            assert exc.outcome is Outcome.REJECTED
            lot = kit.instrument.lot_size
            off_lot = kit.limit(Side.BUY, kit.ticks_below_bid(2)).model_copy(
                update={"quantity": kit.unit + lot / 2})
            exc = await _refusal(kit, off_lot)
            assert exc.code.category is Category.VALIDATION, exc
            assert exc.outcome is Outcome.REJECTED
            assert await kit.ledger_orders() == []
        self.run(body)

    def test_error_authentication_failure(self) -> None:
        """Refused credentials raise AUTHENTICATION_FAILED, with nothing created.

        If this fails: map HTTP 401/403 on credentials (and the stream's auth refusal)
        to ``Code.AUTHENTICATION_FAILED`` (an ``AuthorizationError``, outcome REJECTED);
        never to a connectivity error, which the engine would retry forever.
        """
        async def body(kit: KitSession) -> None:
            await kit.control.fail_authentication(True)
            try:
                exc = await _refusal(kit, kit.limit(Side.BUY, kit.ticks_below_bid(2)))
                assert exc.code is Code.AUTHENTICATION_FAILED, exc
                assert exc.outcome is Outcome.REJECTED
                try:
                    await kit.venue.account()
                except VenueKitError as read:
                    assert read.code is Code.AUTHENTICATION_FAILED, read
                else:
                    raise AssertionError("account() succeeded with refused credentials")
            finally:
                await kit.control.fail_authentication(False)
            assert await kit.ledger_orders() == []
        self.run(body)

    def test_error_unknown_symbol(self) -> None:
        """An order or a quote for a symbol the venue does not list raises UNKNOWN_SYMBOL.

        If this fails: map the venue's "no such asset/symbol" answer to
        ``Code.UNKNOWN_SYMBOL`` (a ``ValidationError``, outcome REJECTED).
        """
        async def body(kit: KitSession) -> None:
            request = kit.limit(Side.BUY, kit.ticks_below_bid(2)).model_copy(
                update={"symbol": kit.suite.unknown_symbol})
            exc = await _refusal(kit, request)
            assert exc.code is Code.UNKNOWN_SYMBOL, exc
            assert exc.outcome is Outcome.REJECTED
            try:
                await kit.venue.quote(kit.suite.unknown_symbol)
            except VenueKitError as read:
                assert read.code is Code.UNKNOWN_SYMBOL, read
            else:
                raise AssertionError("quote() of an unknown symbol must raise UNKNOWN_SYMBOL")
        self.run(body)

    def test_stream_disconnect_loses_nothing(self) -> None:
        """When the stream drops, the engine still learns every fill (REST fills the gap).

        If this fails: ``order_updates()`` must end (or raise ``STREAM_DISCONNECTED``)
        when the connection drops, and a new call must open a new stream; the REST
        methods must show what the stream missed.
        """
        async def body(kit: KitSession) -> None:
            await kit.show(bid_size=kit.depth, ask_size=kit.unit * 2)
            async with kit.engine() as engine:
                await kit.control.inject(FaultKind.STREAM_DISCONNECT)
                order = await engine.submit(kit.limit(Side.BUY, kit.ask, 5))
                await kit.control.disconnect_stream()
                await kit.show(bid_size=kit.depth, ask_size=kit.depth)
                await engine.settle(order, timeout=5)
                assert order.state is OrderState.FILLED, (order.state, order.reason)
                await _one_order_matches_the_venue(kit, order)
        self.run(body, Gate("order_stream", OFFERED))

    def test_duplicate_and_out_of_order_events(self) -> None:
        """Repeated and reordered stream events count each fill once.

        If this fails: every streamed fill must carry the venue's trade id (the engine
        deduplicates by it), and a fill may arrive before its ack: never synthesise
        trade ids per message.
        """
        async def body(kit: KitSession) -> None:
            await kit.show(bid_size=kit.depth, ask_size=kit.unit * 2)
            async with kit.engine() as engine:
                await kit.control.inject(FaultKind.DUPLICATE_EVENT)
                await kit.control.inject(FaultKind.OUT_OF_ORDER)
                order = await engine.submit(kit.limit(Side.BUY, kit.ask, 6))
                await kit.show(bid_size=kit.depth, ask_size=kit.unit * 2)
                await kit.show(bid_size=kit.depth, ask_size=kit.depth)
                await engine.settle(order, timeout=5)
                assert order.state is OrderState.FILLED, (order.state, order.reason)
                assert order.filled_quantity == kit.unit * 6
                await _one_order_matches_the_venue(kit, order)
        self.run(body, Gate("order_stream", OFFERED))
