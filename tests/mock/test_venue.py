"""MockVenue through the Venue contract: what the SDK sees and relies on."""

from __future__ import annotations

import asyncio
import gc
from datetime import timedelta

import pytest

from tests.support.helpers import D, flat, run
from venuekit.errors import (
    Code,
    ConfigurationError,
    ConnectivityError,
    OrderNotFound,
    RateLimited,
    VenueKitError,
)
from venuekit.model import (
    Account,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    OrderState,
    OrderUpdate,
    Quote,
    Side,
    utcnow,
)
from venuekit.plugins import PluginHost
from venuekit.venue import OrderRef, RateLimitPool
from venuekit_mock import DEFAULT_SYMBOLS, MockVenue
from venuekit_mock.sim import KRX_TICK_TABLE, SymbolSpec


def market(quantity: str = "10", symbol: str = "XYZ", side: str = "buy") -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, quantity=quantity)


def limit(price: str, quantity: str = "10", side: str = "buy", **kw: object) -> OrderRequest:
    return OrderRequest(symbol="XYZ", side=side, quantity=quantity, order_type="limit",
                        limit_price=price, **kw)  # type: ignore[arg-type]


async def next_update(stream: object, timeout: float = 1.0) -> OrderUpdate:
    return await asyncio.wait_for(stream.__anext__(), timeout)  # type: ignore[attr-defined]


def test_defaults_describe_a_us_equity_paper_venue() -> None:
    venue = MockVenue()
    caps = venue.capabilities
    assert (caps.client_order_ids, caps.order_stream, caps.replace, caps.market_orders,
            caps.fractional, caps.short_selling) == (True, True, True, True, True, False)
    assert caps.client_order_id_max_length == 64 and caps.rate_limits == ()

    async def scenario() -> None:
        async with venue:
            instruments = await venue.instruments()
            assert [i.symbol for i in instruments] == [s.symbol for s in DEFAULT_SYMBOLS]
            aapl = await venue.instrument("AAPL")
            assert aapl.fractional and aapl.tick_size == D("0.01")
            assert await venue.instruments(["SPY", "NOPE"]) == [await venue.instrument("SPY")]
            account = await venue.account()
            assert (account.cash, account.buying_power, account.positions) == \
                (D(100_000), D(100_000), ())
            quote = await venue.quote("AAPL")
            assert quote.bid < quote.ask and quote.ask_size == D(300)
            with pytest.raises(VenueKitError) as unknown:
                await venue.quote("NOPE")
            assert unknown.value.code is Code.UNKNOWN_SYMBOL

    run(scenario())


def test_plugin_registers_the_mock_venue() -> None:
    host = PluginHost()
    assert host.venues().get("mock") is MockVenue


def test_submit_fetch_and_stream_agree() -> None:
    async def scenario() -> None:
        async with MockVenue(symbols=[flat()]) as venue:
            stream = venue.order_updates()
            since = utcnow()
            snapshot = await venue.submit(market(), "cid-1")
            assert snapshot.state is OrderState.FILLED
            assert snapshot.venue_order_id == "M00000001"
            by_client = await venue.fetch_order(OrderRef(client_order_id="cid-1"))
            by_venue = await venue.fetch_order(OrderRef(venue_order_id="M00000001"))
            assert by_client == by_venue == snapshot
            ack, filled = await next_update(stream), await next_update(stream)
            assert ack.order.state is OrderState.ACKNOWLEDGED and ack.fill is None
            assert filled.order.state is OrderState.FILLED and filled.fill is not None
            fills = await venue.fills_since(since)
            assert fills == [filled.fill]
            assert fills[0].inferred is False and fills[0].client_order_id == "cid-1"
            assert [o.venue_order_id for o in await venue.recent_orders(since)] == \
                ["M00000001"]

    run(scenario())


def test_open_orders_cancel_and_cancel_of_a_filled_order() -> None:
    async def scenario() -> None:
        async with MockVenue(symbols=[flat()]) as venue:
            resting = await venue.submit(limit("99.00"), "rest-1")
            filled = await venue.submit(market(), "fill-1")
            assert [o.venue_order_id for o in await venue.open_orders()] == \
                [resting.venue_order_id]
            assert await venue.open_orders("OTHER") == []
            cancelled = await venue.cancel(OrderRef(client_order_id="rest-1"))
            assert cancelled is not None and cancelled.state is OrderState.CANCELLED
            again = await venue.cancel(OrderRef(venue_order_id=filled.venue_order_id))
            assert again is not None and again.state is OrderState.FILLED
            with pytest.raises(OrderNotFound):
                await venue.cancel(OrderRef(venue_order_id="M00000099"))
            with pytest.raises(OrderNotFound):
                await venue.fetch_order(OrderRef(client_order_id="never-sent"))

    run(scenario())


def test_replace_returns_the_new_order_and_streams_both() -> None:
    async def scenario() -> None:
        async with MockVenue(symbols=[flat()]) as venue:
            old = await venue.submit(limit("99.00"), "r-1")
            stream = venue.order_updates()
            new = await venue.replace(OrderRef(client_order_id="r-1"), limit_price=D("99.50"),
                                      client_order_id="r-2")
            assert new.state is OrderState.ACKNOWLEDGED and new.limit_price == D("99.50")
            assert new.client_order_id == "r-2"
            replaced, acked = await next_update(stream), await next_update(stream)
            assert (replaced.order.venue_order_id, replaced.order.state) == \
                (old.venue_order_id, OrderState.REPLACED)
            assert acked.order == new

    run(scenario())


def test_rejections_are_venuekit_errors_with_rejected_outcome() -> None:
    async def scenario() -> None:
        async with MockVenue(symbols=[flat()], cash=5_000) as venue:
            with pytest.raises(VenueKitError) as funds:
                await venue.submit(market("100"), "too-big")
            assert funds.value.code is Code.INSUFFICIENT_FUNDS
            assert funds.value.outcome.value == "rejected"
            with pytest.raises(VenueKitError) as notional:
                await venue.submit(OrderRequest(symbol="XYZ", side=Side.BUY,
                                                notional="100"), "by-notional")
            assert notional.value.code is Code.UNSUPPORTED_ORDER
            await venue.submit(limit("90.00", "1"), "once")
            with pytest.raises(VenueKitError) as duplicate:
                await venue.submit(limit("90.00", "1"), "once")
            assert duplicate.value.code is Code.DUPLICATE_CLIENT_ORDER_ID
            assert duplicate.value.outcome.value == "unknown"
            assert len(venue.control.ledger.rejects) == 2

    run(scenario())


def test_quotes_of_many_symbols_are_one_request() -> None:
    async def scenario() -> None:
        pool = RateLimitPool("requests", 2, 60)
        async with MockVenue(symbols=[flat("A"), flat("B", "50.005"), flat("C")],
                             rate_limits=[pool]) as venue:
            quotes = await venue.quotes(["B", "NOPE", "A"])
            assert [(q.symbol, q.bid, q.ask) for q in quotes] == [
                ("B", D("50.00"), D("50.01")), ("A", D("100.00"), D("100.01"))]
            await venue.quotes(["C"])
            with pytest.raises(RateLimited):  # two requests so far: the pool is spent
                await venue.quotes(["C"])

    run(scenario())


def test_a_halted_symbol_is_listed_as_tradable_but_its_orders_are_rejected() -> None:
    async def scenario() -> None:
        async with MockVenue(symbols=[flat(), flat("HLT")], halted=["HLT"]) as venue:
            # The reference data has not caught up with the halt: only the venue knows.
            assert (await venue.instrument("HLT")).tradable is True
            with pytest.raises(VenueKitError) as halted:
                await venue.submit(market("1", "HLT"), "halted-1")
            assert halted.value.code is Code.SYMBOL_HALTED
            assert halted.value.outcome.value == "rejected"
            assert halted.value.message == "HLT: trading is halted"
            [reject] = venue.control.ledger.rejects
            assert reject.code == "SYMBOL_HALTED" and reject.client_order_id == "halted-1"
            filled = await venue.submit(market("1"), "other-1")  # the others trade on
            assert filled.state is OrderState.FILLED
        with pytest.raises(ConfigurationError, match="halted: NOPE"):
            MockVenue(symbols=[flat()], halted=["NOPE"])

    run(scenario())


def test_a_venue_without_client_ids_is_looked_up_by_venue_id() -> None:
    async def scenario() -> None:
        async with MockVenue(symbols=[flat()], client_order_ids=False) as venue:
            assert venue.capabilities.client_order_ids is False
            assert MockVenue.capabilities.client_order_ids is True
            snapshot = await venue.submit(limit("99.00"), "ignored")
            assert snapshot.client_order_id is None
            with pytest.raises(VenueKitError) as by_client:
                await venue.fetch_order(OrderRef(client_order_id="ignored"))
            assert by_client.value.code is Code.CAPABILITY_NOT_SUPPORTED
            found = await venue.fetch_order(OrderRef(venue_order_id=snapshot.venue_order_id,
                                                     client_order_id="ignored"))
            assert found.venue_order_id == snapshot.venue_order_id

    run(scenario())


def test_stream_and_replace_can_be_switched_off() -> None:
    venue = MockVenue(symbols=[flat()], order_stream=False, replace=False)
    assert (venue.capabilities.order_stream, venue.capabilities.replace) == (False, False)
    with pytest.raises(VenueKitError) as no_stream:
        venue.order_updates()
    assert no_stream.value.code is Code.CAPABILITY_NOT_SUPPORTED

    async def scenario() -> None:
        old = await venue.submit(limit("99.00"), "x-1")
        with pytest.raises(VenueKitError) as no_replace:
            await venue.replace(OrderRef(venue_order_id=old.venue_order_id),
                                limit_price=D("99.10"))
        assert no_replace.value.code is Code.CAPABILITY_NOT_SUPPORTED

    run(scenario())


class FakeClock:
    """Stands in for the event loop's clock in the venue's time-based rules."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    for module in ("venuekit_mock.venue", "venuekit_mock.ratelimit"):
        monkeypatch.setattr(f"{module}.monotonic", fake)
    return fake


def test_new_orders_read_as_not_found_until_visible(clock: FakeClock) -> None:
    async def scenario() -> None:
        async with MockVenue(symbols=[flat()], visibility_delay=0.5) as venue:
            assert venue.capabilities.not_found_grace >= 0.5
            snapshot = await venue.submit(limit("99.00"), "late-1")
            ref = OrderRef(client_order_id="late-1")
            clock.now += 0.49
            with pytest.raises(OrderNotFound):
                await venue.fetch_order(ref)
            assert await venue.open_orders() == []
            assert await venue.recent_orders(snapshot.created_at) == []  # type: ignore[arg-type]
            with pytest.raises(OrderNotFound):
                await venue.cancel(ref)
            assert venue.control.ledger.orders[0].venue_order_id == snapshot.venue_order_id
            clock.now += 0.01
            assert (await venue.fetch_order(ref)).venue_order_id == snapshot.venue_order_id
            assert len(await venue.open_orders()) == 1

    run(scenario())


def test_latency_and_stream_delay_are_real_time() -> None:
    async def scenario() -> None:
        async with MockVenue(symbols=[flat()], latency=0.06, stream_delay=0.1) as venue:
            loop = asyncio.get_running_loop()
            stream = venue.order_updates()
            started = loop.time()
            await venue.submit(market(), "slow-1")
            took = loop.time() - started
            assert took >= 0.055
            await next_update(stream)
            assert loop.time() - started >= 0.1

    run(scenario())


def test_rate_limit_pools_are_enforced_with_retry_after(clock: FakeClock) -> None:
    pools = [RateLimitPool("orders", capacity=2, period=1.0)]
    venue = MockVenue(symbols=[flat()], rate_limits=pools,
                      weights={"submit": {"orders": 1}, "quote": {}})
    assert venue.capabilities.rate_limits == tuple(pools)

    async def scenario() -> None:
        await venue.submit(limit("99.00", "1"), "p-1")
        clock.now += 0.25
        await venue.submit(limit("99.00", "1"), "p-2")
        await venue.quote("XYZ")  # weighs nothing in the orders pool
        with pytest.raises(RateLimited) as limited:
            await venue.submit(limit("99.00", "1"), "p-3")
        assert limited.value.retry_after == pytest.approx(0.75)  # when p-1 leaves the window
        assert venue.control.ledger.orders[-1].client_order_id == "p-2"
        clock.now += 0.75
        await venue.submit(limit("99.00", "1"), "p-3")
        with pytest.raises(RateLimited):  # p-2 is still in the window
            await venue.submit(limit("99.00", "1"), "p-4")

    run(scenario())


def test_background_clock_moves_the_market() -> None:
    async def scenario() -> None:
        async with MockVenue(tick_interval=0.01) as venue:
            await asyncio.sleep(0.1)
            assert venue.simulator.step_index >= 3
        steps = venue.simulator.step_index
        await asyncio.sleep(0.03)
        assert venue.simulator.step_index == steps  # close() stopped it

    run(scenario())


def test_sim_clock_stamps_events_on_the_stepped_clock() -> None:
    async def scenario() -> None:
        venue = MockVenue(symbols=[flat()], clock="sim")
        first = await venue.submit(limit("99.00"), "t-1")
        venue.control.advance(5)
        second = await venue.submit(limit("99.00"), "t-2")
        assert second.created_at - first.created_at == timedelta(seconds=5)  # type: ignore[operator]

    run(scenario())


def test_control_surface_moves_the_market_and_the_account() -> None:
    async def scenario() -> None:
        async with MockVenue(symbols=[flat()]) as venue:
            stream = venue.order_updates()
            await venue.submit(limit("99.50"), "c-1")
            await next_update(stream)
            venue.control.set_quote("XYZ", "99.40", "99.45", bid_size="5", ask_size="7")
            update = await next_update(stream)
            assert update.fill is not None and update.fill.quantity == D(7)
            quote = await venue.quote("XYZ")
            assert (quote.bid, quote.ask, quote.ask_size) == (D("99.40"), D("99.45"), D(0))
            venue.control.set_cash("1234.56")
            venue.control.set_position("XYZ", "3", "95")
            account = await venue.account()
            assert account.cash == D("1234.56")
            assert account.position("XYZ").quantity == D(3)  # type: ignore[union-attr]
            venue.control.end_session()
            expired = await next_update(stream)
            assert expired.order.state is OrderState.EXPIRED

    run(scenario())


def test_bad_constructor_values_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        MockVenue(latency=-1)
    with pytest.raises(ConfigurationError):
        MockVenue(cash=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        MockVenue(clock="moon")  # type: ignore[arg-type]


def test_stream_ends_when_the_venue_closes() -> None:
    async def scenario() -> None:
        venue = MockVenue(symbols=[flat()])
        stream = venue.order_updates()
        await venue.close()
        with pytest.raises(StopAsyncIteration):
            await next_update(stream)

    run(scenario())


def test_stream_disconnect_from_control_raises_and_reconnect_works() -> None:
    async def scenario() -> None:
        async with MockVenue(symbols=[flat()]) as venue:
            stream = venue.order_updates()
            assert venue.control.stream_subscribers == 1
            venue.control.disconnect_stream()
            assert venue.control.stream_subscribers == 0
            with pytest.raises(ConnectivityError) as dropped:
                await next_update(stream)
            assert dropped.value.code is Code.STREAM_DISCONNECTED
            await venue.submit(market(), "gap-1")  # lost to the old subscriber
            fresh = venue.order_updates()
            await venue.submit(market(), "after-1")
            update = await next_update(fresh)
            assert update.order.client_order_id == "after-1"
            with pytest.raises(StopAsyncIteration):
                await next_update(stream)

    run(scenario())


def test_an_abandoned_subscriber_is_dropped_and_the_others_still_receive() -> None:
    async def scenario() -> None:
        async with MockVenue(symbols=[flat()]) as venue:
            kept = venue.order_updates()
            abandoned = venue.order_updates()
            assert venue.control.stream_subscribers == 2
            del abandoned  # its consumer let go of it without closing it
            gc.collect()
            assert venue.control.stream_subscribers == 1
            await venue.submit(market(), "still-1")
            update = await next_update(kept)
            assert update.order.client_order_id == "still-1"
            await kept.aclose()
            assert venue.control.stream_subscribers == 0

    run(scenario())


def test_quotes_orders_fills_and_updates_equal_their_validated_models() -> None:
    # The venue builds these without validating the simulator's values again: each must be
    # exactly the model validation would build from the same data, every field present.
    async def scenario() -> tuple[Quote, list[OrderUpdate]]:
        venue = MockVenue(symbols=[flat()])
        stream = venue.order_updates()
        await venue.submit(limit("100.00", quantity="5"), "resting")
        await venue.submit(market("3"), "filled")
        return await venue.quote("XYZ"), [await next_update(stream) for _ in range(3)]

    quote, updates = run(scenario())
    assert Quote.model_validate(quote.model_dump()) == quote
    assert quote.ask_size == D(497)  # 500 displayed, 3 taken
    assert [u.fill is not None for u in updates] == [False, False, True]
    assert quote.model_fields_set == set(Quote.model_fields)
    for update in updates:
        assert OrderUpdate.model_validate(update.model_dump()) == update
        assert update.model_fields_set == set(OrderUpdate.model_fields)
        assert update.order.model_fields_set == set(OrderSnapshot.model_fields)
        assert update.model_copy(update={"at": utcnow()}).order == update.order
    assert updates[2].order.average_price == updates[2].fill.price  # type: ignore[union-attr]


def test_instruments_and_the_account_equal_their_validated_models() -> None:
    # Built from the simulator's values without validating them again, like quotes.
    async def scenario() -> tuple[list[Instrument], Account]:
        banded = SymbolSpec("BAND", D(2_500), tick_table=KRX_TICK_TABLE, volatility_bps=D(0))
        async with MockVenue(symbols=["AAPL", "F", banded], halted=["F"]) as venue:
            await venue.submit(market("3", symbol="AAPL"), "held")
            await venue.submit(market("1", symbol="BAND"), "banded")
            return list(await venue.instruments()), await venue.account()

    instruments, account = run(scenario())
    assert [i.symbol for i in instruments] == ["AAPL", "F", "BAND"]
    assert instruments[2].tick_table and instruments[2].tick_at(D(2_000)) == D(5)
    for instrument in instruments:
        assert Instrument.model_validate(instrument.model_dump()) == instrument
    assert [p.symbol for p in account.positions] == ["AAPL", "BAND"]
    assert Account.model_validate(account.model_dump()) == account
    assert account.position("AAPL").quantity == D(3)  # type: ignore[union-attr]
