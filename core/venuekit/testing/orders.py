"""Standard tests of the order contract: instruments, submit, fills, cancel, replace, lookups.

These call the venue directly (not through the engine) where the contract itself is under
test, and check every answer against the ledger of truth the market-control handle reads.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ..errors import Code, OrderNotFound, Outcome, VenueKitError
from ..model import OrderState, OrderUpdate, Side
from ..venue import OrderRef
from .base import ABSENT, NATIVE, OFFERED, Gate, KitSession, VenueTestBase
from .control import FaultKind

__all__ = ["OrderTests"]

_WORKING = (OrderState.ACKNOWLEDGED, OrderState.PARTIALLY_FILLED)


class OrderTests(VenueTestBase):
    """The order contract every venue keeps."""

    def test_instruments_and_quantization(self) -> None:
        """The venue lists the kit's symbol with its rules, and orders land on its grid.

        If this fails: ``instruments()`` must return the symbol with a positive
        ``tick_size`` and ``lot_size`` (and ``tick_table`` for price bands), omit symbols it
        does not list, and ``instrument(unknown)`` must raise ``UNKNOWN_SYMBOL``. The engine
        rounds an off-grid price and quantity with those rules; if the venue then rejects
        the order, the declared rules do not match what the venue enforces.
        """
        async def body(kit: KitSession) -> None:
            listed = await kit.venue.instruments([kit.symbol, kit.suite.unknown_symbol])
            assert [i.symbol for i in listed] == [kit.symbol], (
                f"instruments([{kit.symbol!r}, unknown]) must list only {kit.symbol!r}")
            instrument = listed[0]
            assert instrument.tick_size > 0 and instrument.lot_size > 0
            try:
                await kit.venue.instrument(kit.suite.unknown_symbol)
            except VenueKitError as exc:
                assert exc.code is Code.UNKNOWN_SYMBOL, exc
            else:
                raise AssertionError("instrument(unknown) must raise UNKNOWN_SYMBOL")
            # Half a tick over a passive price, and half a lot over the quantity (when the
            # lot can be halved): the engine rounds both before anything is sent.
            price = kit.ticks_below_bid(3) + kit.tick / 2
            extra = instrument.lot_size / 2
            request = kit.limit(Side.BUY, price).model_copy(
                update={"quantity": kit.unit + extra})
            async with kit.engine() as engine:
                order = await engine.submit(request)
                assert order.state is OrderState.ACKNOWLEDGED, (order.state, order.reason)
                assert order.limit_price == kit.ticks_below_bid(3), "a buy rounds down"
                assert order.quantity == kit.unit, "quantities round down to the lot"
                [placed] = [o for o in await kit.ledger_orders()
                            if o.venue_order_id == order.venue_order_id]
                assert (placed.limit_price, placed.quantity) == (order.limit_price, kit.unit)
                await engine.cancel(order)
        self.run(body)

    def test_submit_and_ack(self) -> None:
        """A passive limit order is acknowledged with a venue order id and the request's terms.

        If this fails: ``submit`` must return an ``OrderSnapshot`` in state ACKNOWLEDGED
        (or a later state) with a non-empty ``venue_order_id``, the symbol, side, quantity
        and limit price sent, and the client order id echoed where the venue supports
        them; ``fetch_order`` by venue order id and ``open_orders`` must show it.
        """
        async def body(kit: KitSession) -> None:
            price = kit.ticks_below_bid(2)
            client_id, ack = await kit.submit(kit.limit(Side.BUY, price, 2))
            assert ack.venue_order_id, "the venue order id is never empty"
            assert ack.state is OrderState.ACKNOWLEDGED, ack.state
            assert (ack.symbol, ack.side, ack.quantity, ack.limit_price) == (
                kit.symbol, Side.BUY, kit.unit * 2, price)
            assert ack.filled_quantity == 0
            if kit.capabilities.client_order_ids is True:
                assert ack.client_order_id == client_id, "echo the client order id"
            fetched = await kit.venue.fetch_order(kit.ref(ack.venue_order_id))
            assert fetched.venue_order_id == ack.venue_order_id
            assert fetched.state is OrderState.ACKNOWLEDGED
            working = await kit.venue.open_orders(kit.symbol)
            assert ack.venue_order_id in {o.venue_order_id for o in working}
            placed = await kit.ledger_orders()
            assert [o.venue_order_id for o in placed] == [ack.venue_order_id], (
                "exactly one order reached the venue")
            assert (placed[0].quantity, placed[0].limit_price) == (kit.unit * 2, price)
        self.run(body)

    def test_full_fill(self) -> None:
        """A marketable order fills in full at the touch, and its fills are the venue's.

        If this fails: the snapshot (from ``submit`` or ``fetch_order``) must reach FILLED
        with ``filled_quantity`` equal to the quantity and ``average_price`` the fill
        price; ``fills_since`` must return each execution once with its trade id, quantity
        and price, exactly as the venue made them (compare with the handle's ``fills()``),
        or nothing where the venue declares ``itemized_fills = False``.
        """
        async def body(kit: KitSession) -> None:
            since = datetime.now(UTC) - timedelta(seconds=5)
            _, snapshot = await kit.submit(kit.marketable(Side.BUY, 3))
            final = await kit.settled(snapshot)
            assert final.state is OrderState.FILLED, final.state
            assert final.filled_quantity == kit.unit * 3
            assert final.average_price == kit.ask
            truth = await kit.ledger_fills(snapshot.venue_order_id)
            assert sum(f.quantity for f in truth) == kit.unit * 3
            reported = [f for f in await kit.venue.fills_since(since, kit.symbol)
                        if f.venue_order_id == snapshot.venue_order_id]
            if kit.venue.capabilities.itemized_fills is False:
                assert reported == [], "fills_since lists fills the venue does not itemize"
                return
            assert sorted((f.trade_id, f.quantity, f.price) for f in reported) == sorted(
                (f.trade_id, f.quantity, f.price) for f in truth), "fills_since != the ledger"
        self.run(body)

    def test_partial_fills(self) -> None:
        """An order larger than the displayed size fills in parts, then completes.

        If this fails: a limit buy at the ask for ten units against three displayed must
        read PARTIALLY_FILLED with three filled, then FILLED once the quote shows enough;
        each partial execution is a separate fill with its own trade id, and
        ``filled_quantity`` never exceeds the quantity.
        """
        async def body(kit: KitSession) -> None:
            await kit.show(bid_size=kit.depth, ask_size=kit.unit * 3)
            _, snapshot = await kit.submit(kit.limit(Side.BUY, kit.ask, 10))
            ref = kit.ref(snapshot.venue_order_id)
            partial = await kit.eventually(
                lambda: kit.venue.fetch_order(ref),
                lambda s: s.filled_quantity >= kit.unit * 3, what="the first partial fill")
            assert partial.state is OrderState.PARTIALLY_FILLED, partial.state
            assert partial.filled_quantity == kit.unit * 3
            await kit.show(bid_size=kit.depth, ask_size=kit.depth)
            final = await kit.settled(snapshot)
            assert final.state is OrderState.FILLED
            assert final.filled_quantity == kit.unit * 10
            truth = await kit.ledger_fills(snapshot.venue_order_id)
            assert len(truth) >= 2, "two executions: the partial and the rest"
            assert len({f.trade_id for f in truth}) == len(truth), "trade ids are unique"
            assert sum(f.quantity for f in truth) == kit.unit * 10
        self.run(body)

    def test_cancel(self) -> None:
        """Cancelling a working order ends it CANCELLED and takes it off the book.

        If this fails: ``cancel`` must return the cancelled snapshot (or None, with
        ``fetch_order`` then showing CANCELLED); ``open_orders`` must no longer list it;
        a later quote that would have crossed it must not fill it.
        """
        async def body(kit: KitSession) -> None:
            _, ack = await kit.submit(kit.limit(Side.BUY, kit.ticks_below_bid(2), 2))
            answer = await kit.venue.cancel(kit.ref(ack.venue_order_id))
            if answer is not None:
                assert answer.state in (OrderState.CANCELLED, OrderState.PENDING_CANCEL), (
                    answer.state)
            final = await kit.settled(ack, what="the cancel to be confirmed")
            assert final.state is OrderState.CANCELLED
            working = await kit.venue.open_orders(kit.symbol)
            assert ack.venue_order_id not in {o.venue_order_id for o in working}
            await kit.show(bid_size=kit.depth, ask_size=kit.depth,
                           bid=kit.ticks_below_bid(4), ask=kit.ticks_below_bid(3))
            assert await kit.ledger_fills(ack.venue_order_id) == [], "a cancelled order filled"
        self.run(body)

    def test_cancel_of_a_filled_order(self) -> None:
        """Cancelling an order that already filled tells the caller it is FILLED.

        If this fails: ``cancel`` of a filled order must return the FILLED snapshot or
        raise an error whose outcome is REJECTED (the venue refused the cancel). It must
        not raise ``ORDER_NOT_FOUND`` (the engine would believe the order vanished) nor an
        unknown-outcome error for a definitive refusal.
        """
        async def body(kit: KitSession) -> None:
            _, snapshot = await kit.submit(kit.marketable(Side.BUY, 2))
            await kit.settled(snapshot)
            try:
                answer = await kit.venue.cancel(kit.ref(snapshot.venue_order_id))
            except OrderNotFound as exc:
                raise AssertionError(f"cancel of a filled order raised not-found: {exc}") from exc
            except VenueKitError as exc:
                assert exc.outcome is Outcome.REJECTED, (
                    f"a refused cancel must have a rejected outcome, got {exc.code.name}")
            else:
                assert answer is None or answer.state is OrderState.FILLED, answer
            final = await kit.venue.fetch_order(kit.ref(snapshot.venue_order_id))
            assert final.state is OrderState.FILLED
            assert final.filled_quantity == kit.unit * 2
        self.run(body)

    def test_replace(self) -> None:
        """A native replace ends the old order REPLACED and a new one works at the new price.

        If this fails: ``replace(ref, limit_price=...)`` must return the new order's
        snapshot (new venue order id, the new price, the quantity still open); the old
        order must read REPLACED (or CANCELLED) and the venue must hold exactly one working
        order. A venue that cannot do this atomically must declare ``replace="emulated"``
        or ``False``.
        """
        async def body(kit: KitSession) -> None:
            _, old = await kit.submit(kit.limit(Side.BUY, kit.ticks_below_bid(4), 2))
            new_price = kit.ticks_below_bid(2)
            new = await kit.venue.replace(kit.ref(old.venue_order_id),
                                          limit_price=new_price,
                                          client_order_id=kit.client_order_id())
            assert new.venue_order_id and new.venue_order_id != old.venue_order_id
            assert new.limit_price == new_price and new.quantity == kit.unit * 2
            assert new.state in _WORKING, new.state
            before = await kit.venue.fetch_order(kit.ref(old.venue_order_id))
            assert before.state in (OrderState.REPLACED, OrderState.CANCELLED), before.state
            working = [o.venue_order_id for o in await kit.venue.open_orders(kit.symbol)]
            assert working == [new.venue_order_id], "exactly one order works after a replace"
        self.run(body, Gate("replace", NATIVE))

    def test_replace_through_the_engine(self) -> None:
        """The engine reprices a working order on any venue, natively or by cancel + new.

        If this fails with native replace: see ``test_replace``. Otherwise the cancel must
        be confirmed (``fetch_order`` reads CANCELLED) before the engine sends the new
        order; a venue still showing the old order working fails here.
        """
        async def body(kit: KitSession) -> None:
            async with kit.engine() as engine:
                order = await engine.submit(kit.limit(Side.BUY, kit.ticks_below_bid(4), 2))
                working = await engine.replace(order, limit_price=kit.ticks_below_bid(1))
                assert working.limit_price == kit.ticks_below_bid(1)
                assert working.state in _WORKING, (working.state, working.reason)
                assert order.state.is_terminal, order.state
                open_ids = [o.venue_order_id for o in await kit.venue.open_orders(kit.symbol)]
                assert open_ids == [working.venue_order_id]
                await engine.cancel(working)
        self.run(body)

    def test_lookup_by_client_order_id(self) -> None:
        """An order can be fetched by the client order id it was sent with.

        If this fails: ``fetch_order(OrderRef(client_order_id=...))`` must find the order
        (the engine resolves every unknown outcome this way); a venue that cannot must
        declare ``client_order_ids=False`` so the engine uses fingerprints instead.
        """
        async def body(kit: KitSession) -> None:
            client_id, ack = await kit.submit(kit.limit(Side.BUY, kit.ticks_below_bid(2)))
            found = await kit.venue.fetch_order(kit.ref(client_order_id=client_id))
            assert found.venue_order_id == ack.venue_order_id
            assert found.client_order_id == client_id
        self.run(body, Gate("client_order_ids", NATIVE))

    def test_lookup_by_fingerprint(self) -> None:
        """Without client order ids, ``recent_orders`` finds an order by its terms.

        If this fails: ``recent_orders(since)`` must list every order created since then,
        open or closed, with its symbol, side, quantity, limit price and creation time, so
        the engine can recognise its order by that fingerprint.
        """
        async def body(kit: KitSession) -> None:
            since = datetime.now(UTC) - timedelta(seconds=5)
            price = kit.ticks_below_bid(2)
            _, ack = await kit.submit(kit.limit(Side.BUY, price, 3))
            _, filled = await kit.submit(kit.marketable(Side.BUY, 1))
            await kit.settled(filled)
            recent = {o.venue_order_id: o for o in await kit.venue.recent_orders(since)}
            assert {ack.venue_order_id, filled.venue_order_id} <= set(recent), (
                "recent_orders must list open and closed orders")
            mine = recent[ack.venue_order_id]
            assert (mine.symbol, mine.side, mine.quantity, mine.limit_price) == (
                kit.symbol, Side.BUY, kit.unit * 3, price)
            async with kit.engine() as engine:  # the engine's own fingerprint lookup
                order = await engine.submit(kit.limit(Side.BUY, kit.ticks_below_bid(5), 4))
                assert order.venue_order_id, "the engine learned the venue order id"
                await engine.cancel(order)
        self.run(body, Gate("client_order_ids", ABSENT))

    def test_not_found_after_the_grace_window(self) -> None:
        """An order the venue never got reads as a definitive not-found, and is sent once.

        If this fails: ``fetch_order`` and ``cancel`` of an order the venue does not know
        must raise ``OrderNotFound`` (``ORDER_NOT_FOUND``), never a transport error; and
        within ``not_found_grace`` seconds of a create, a not-found must not be believed
        (declare a longer grace if new orders take longer to become visible). Here a create
        times out before the venue acts: the engine must wait out the grace window, find
        nothing, and send the order again exactly once.
        """
        async def body(kit: KitSession) -> None:
            ghost = OrderRef(venue_order_id="VK-NEVER-SENT-1",
                             client_order_id=kit.client_order_id()
                             if kit.capabilities.client_order_ids is True else None,
                             symbol=kit.symbol)
            for call in (kit.venue.fetch_order, kit.venue.cancel):
                try:
                    await call(ghost)
                except OrderNotFound:
                    pass
                else:
                    raise AssertionError(f"{call.__name__} of an unknown order must raise "
                                         "OrderNotFound")
            await kit.control.inject(FaultKind.TIMEOUT)
            loop = asyncio.get_running_loop()
            async with kit.engine() as engine:
                started = loop.time()
                order = await engine.submit(kit.limit(Side.BUY, kit.ticks_below_bid(2), 2))
                elapsed = loop.time() - started
                assert order.state is OrderState.ACKNOWLEDGED, (order.state, order.reason)
                assert elapsed >= kit.capabilities.not_found_grace, (
                    "the not-found was believed inside the grace window")
                assert [o.venue_order_id for o in await kit.ledger_orders()] == [
                    order.venue_order_id], "sent again exactly once"
                await engine.cancel(order)
        self.run(body)

    def test_stream_and_polling_agree(self) -> None:
        """The order stream and REST tell the same story: same states, same fills.

        If this fails: ``order_updates()`` must yield an ``OrderUpdate`` for the ack and for
        each fill (with the ``Fill`` and its trade id), in order, and the last update's
        snapshot must equal what ``fetch_order`` returns (state, filled quantity, average
        price); the stream's trade ids must be exactly the ones ``fills_since`` returns (where
        ``itemized_fills`` is False: the ones the handle's ``fills()`` names).
        """
        async def body(kit: KitSession) -> None:
            since = datetime.now(UTC) - timedelta(seconds=5)
            updates = kit.venue.order_updates()
            seen: list[OrderUpdate] = []

            async def read() -> None:
                async for update in updates:
                    seen.append(update)
                    if update.order.state is OrderState.FILLED:
                        return

            reader = asyncio.create_task(read())
            await asyncio.sleep(0.05)  # let the subscription open before acting
            await kit.show(bid_size=kit.depth, ask_size=kit.unit * 2)
            _, snapshot = await kit.submit(kit.limit(Side.BUY, kit.ask, 5))
            await kit.eventually(lambda: kit.venue.fetch_order(
                kit.ref(snapshot.venue_order_id)),
                lambda s: s.filled_quantity > 0, what="the partial fill")
            await kit.show(bid_size=kit.depth, ask_size=kit.depth)
            try:
                await asyncio.wait_for(reader, 5)
            finally:
                reader.cancel()
                aclose = getattr(updates, "aclose", None)
                if aclose is not None:
                    await aclose()
            mine = [u for u in seen if u.order.venue_order_id == snapshot.venue_order_id]
            assert mine, "the stream said nothing about the order"
            last = mine[-1].order
            polled = await kit.venue.fetch_order(kit.ref(snapshot.venue_order_id))
            assert (last.state, last.filled_quantity, last.average_price) == (
                polled.state, polled.filled_quantity, polled.average_price)
            streamed = sorted(u.fill.trade_id for u in mine if u.fill is not None)
            if kit.venue.capabilities.itemized_fills is False:
                # Only the stream itemizes: its trade ids are the ledger's, as the handle
                # names them.
                rest = sorted(f.trade_id for f in await kit.ledger_fills(
                    snapshot.venue_order_id))
            else:
                rest = sorted(f.trade_id for f in await kit.venue.fills_since(
                    since, kit.symbol) if f.venue_order_id == snapshot.venue_order_id)
            assert streamed == rest and len(rest) >= 2, (streamed, rest)
        self.run(body, Gate("order_stream", OFFERED))

