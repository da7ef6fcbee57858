"""The client, asynchronous and synchronous, through the same scenarios on the mock venue.

Each scenario is written once against :class:`Driver`: ``call(name, ...)`` runs the method
``name`` of an :class:`AsyncClient` (on an event loop the test holds) or of its twin
:class:`Client` (which runs its own loop in a thread), so both shapes are held to the same
behaviour, figure for figure.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import flat
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit import AsyncClient, Client
from venuekit.errors import Code, VenueKitError, error
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.lifecycle import OrderEventRecord
from venuekit.model import BracketRequest, OrderRequest, OrderState, OrderType, Side, TimeInForce
from venuekit.plugins import PluginHost
from venuekit.settings import Settings
from venuekit.settlement import SettlementOptions
from venuekit_mock import MockVenue
from venuekit_mock.sim.models import PercentageCommission

D = Decimal
FAST = SettlementOptions(poll_min=0.02, poll_max=0.1, silence=0.2, late_grace=0.02)


class Driver:
    """One client, asynchronous or synchronous, behind one calling convention."""

    def __init__(self, kind: str, loop: asyncio.AbstractEventLoop, *venues: Any,
                 **options: Any) -> None:
        self.kind = kind
        self.loop = loop
        options.setdefault("host", PluginHost(load_entry_points=False))
        options.setdefault("settlement", FAST)
        if kind == "async":
            self.client: AsyncClient | Client = AsyncClient(*venues, **options)
        else:
            self.client = Client(*venues, **options)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, name)(*args, **kwargs)
        if self.kind == "async" and inspect.isawaitable(result):
            return self.loop.run_until_complete(result)
        return result

    def events(self) -> Iterator[OrderEventRecord]:
        if isinstance(self.client, Client):
            return self.client.events()
        subscription = self.client.events()

        def following() -> Iterator[OrderEventRecord]:
            while True:
                try:
                    yield self.loop.run_until_complete(
                        asyncio.wait_for(anext(subscription), 10))
                except StopAsyncIteration:
                    return
        return following()

    def __enter__(self) -> Driver:
        self.call("open")
        return self

    def __exit__(self, *exc: object) -> None:
        self.call("close")


Connect = Callable[..., Driver]


@pytest.fixture(params=["async", "sync"])
def connect(request: pytest.FixtureRequest) -> Iterator[Connect]:
    """``connect(*venues, **options)``: a client of the kind under test (not opened)."""
    loop = asyncio.new_event_loop()
    yield functools.partial(Driver, str(request.param), loop)
    loop.close()


def settings(tmp_path: Path) -> Settings:
    return Settings(journal=tmp_path / "journal.sqlite3", state_dir=tmp_path)


def market(**options: Any) -> MockVenue:
    return MockVenue(seed=11, symbols=[flat("XYZ"), flat("ABC", price="50.005")], **options)


def resting(quantity: str = "5", price: str = "90") -> OrderRequest:
    return OrderRequest(symbol="XYZ", side=Side.BUY, quantity=D(quantity),
                        order_type=OrderType.LIMIT, limit_price=D(price),
                        time_in_force=TimeInForce.GTC)


def test_trading_reading_back_and_positions(connect: Connect, tmp_path: Path) -> None:
    mock = market(commission=PercentageCommission(bps=D(10)))
    with connect(mock, settings=settings(tmp_path)) as vk:
        bought = vk.call("buy", "XYZ", "10")
        sold = vk.call("sell", "XYZ", "4", limit="99")  # marketable: fills at the bid
        other = vk.call("execute", OrderRequest(symbol="ABC", side=Side.BUY,
                                                quantity=D(3)), "market")
        assert [r.state for r in (bought, sold, other)] == [OrderState.FILLED] * 3
        assert (bought.average_price, sold.average_price) == (D("100.01"), D("100.00"))
        assert sold.strategy == "limit" and bought.strategy == "market"

        orders = vk.call("orders")
        assert [o.id for o in orders] == [other.order_id, sold.order_id, bought.order_id]
        assert vk.call("order", bought.order_id).filled_quantity == 10
        assert vk.call("orders", working=True) == []
        fills = vk.call("fills")
        assert len(fills) == 3
        assert [f.symbol for f in vk.call("fills", since=fills[1].at)] == ["XYZ", "ABC"]
        naive = fills[1].at.replace(tzinfo=None)  # a time without a zone is UTC
        assert vk.call("fills", since=naive) == vk.call("fills", since=fills[1].at)
        second = orders[1].created_at.replace(tzinfo=None)
        assert [o.id for o in vk.call("orders", since=second)] == [o.id for o in orders[:2]]
        assert vk.call("quote", "XYZ").bid == D("100.00")
        account = vk.call("account")
        assert {p.symbol: p.quantity for p in account.positions} == {"XYZ": 6, "ABC": 3}

        lines = {line.symbol: line for line in vk.call("positions")}
        xyz = lines["XYZ"]
        # Bought 10 at 100.01 (fee 1.0001 -> 1.00), sold 4 at 100.00 (fee 0.40).
        assert xyz.fees == D("1.40")
        assert xyz.quantity == 6 and xyz.average_cost == D("100.11")  # (1000.10 + 1.00) / 10
        assert xyz.realized_pnl == D("-0.84")  # (100.00 - 100.11) x 4 - 0.40
        assert xyz.mark == D("100.005") and xyz.unrealized_pnl == D("-0.630")
        assert (xyz.venue_quantity, xyz.difference, xyz.note) == (D(6), D(0), None)
        assert lines["ABC"].quantity == 3 and lines["ABC"].realized_pnl == 0
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        assert_journal_matches_ledger(journal, mock.control.ledger)


def test_place_wait_and_cancel(connect: Connect, tmp_path: Path) -> None:
    mock = market()
    with connect(mock, settings=settings(tmp_path)) as vk:
        one = vk.call("place", resting())
        assert one.state is OrderState.ACKNOWLEDGED
        assert [o.id for o in vk.call("orders", working=True)] == [one.id]
        outcome = vk.call("cancel", one.id)
        assert (outcome.before, outcome.result) == (OrderState.ACKNOWLEDGED, "cancelled")

        others = [vk.call("place", resting(price=price)) for price in ("91", "92")]
        report = vk.call("cancel_all")
        assert report.ok and report.cancelled == 2
        assert {o.order_id for o in report.outcomes} == {o.id for o in others}
        assert not mock.simulator.open_orders()

        # A placed order is followed while it works: it fills when the market comes down.
        waiting = vk.call("place", resting(price="95"))
        mock.control.set_quote("XYZ", "94.50", "94.99")
        done = vk.call("wait", waiting, timeout=10)
        assert done.state is OrderState.FILLED and done.filled_quantity == 5
        assert vk.call("order", waiting.id).state is OrderState.FILLED
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        assert_journal_matches_ledger(journal, mock.control.ledger)


def test_a_placed_order_still_working_at_close_is_taken_up_by_the_next_client(
        connect: Connect, tmp_path: Path) -> None:
    mock = market()
    with connect(mock, settings=settings(tmp_path)) as vk:
        left = vk.call("place", resting())
    with connect(mock, settings=settings(tmp_path)) as vk:
        recovery = vk.call("recovery")
        assert recovery.standalone == [left.id]
        assert vk.call("cancel", left.id).result == "cancelled"


def test_order_events_arrive_in_order_from_the_moment_of_subscribing(
        connect: Connect, tmp_path: Path) -> None:
    with connect(market(), settings=settings(tmp_path)) as vk:
        vk.call("buy", "XYZ", "1")  # before subscribing: not heard
        events = vk.events()
        result = vk.call("buy", "ABC", "2")
        heard = list(itertools.islice(events, 3))
        assert {e.order_id for e in heard} == {result.order_id}
        # Observers hear an order from its SUBMIT on (journaled with its NEW, in one commit).
        assert [e.kind for e in heard] == ["submit", "ack", "fill"]
        assert heard[-1].state is OrderState.FILLED


def test_errors_are_the_taxonomys(connect: Connect, tmp_path: Path) -> None:
    with connect(market(), settings=settings(tmp_path)) as vk:
        with pytest.raises(VenueKitError) as unknown:
            vk.call("order", "nope-1")
        assert unknown.value.code is Code.UNKNOWN_ORDER
        with pytest.raises(VenueKitError) as elsewhere:
            vk.call("buy", "XYZ", "1", venue="elsewhere")
        assert elsewhere.value.code is Code.INVALID_CONFIG
        assert "holds no venue 'elsewhere'" in elsewhere.value.message
        with pytest.raises(VenueKitError) as bad:
            vk.call("buy", "XYZ", "-1")
        assert bad.value.code.category.name == "VALIDATION"
        with pytest.raises(VenueKitError) as floated:
            vk.call("buy", "XYZ", 1.5)
        assert floated.value.code is Code.INVALID_QUANTITY
        assert "pass a string such as '1.5'" in floated.value.message
        assert "never floats" in floated.value.action  # advice about the input, not lots
        assert vk.call("orders") == []  # nothing was journaled
    with pytest.raises(VenueKitError) as closed:
        vk.call("buy", "XYZ", "1")
    assert closed.value.code is Code.INVALID_CONFIG and "not open" in closed.value.message


class Unreachable(MockVenue):
    """A venue whose connection fails until it is allowed to connect."""

    up = False

    async def connect(self) -> None:
        if not self.up:
            raise error(Code.CONNECTION_ERROR, "no route to the venue", venue=self.name)
        await super().connect()


def test_a_venue_that_fails_is_refused_while_the_others_trade(connect: Connect,
                                                              tmp_path: Path) -> None:
    mock = market()
    down = Unreachable(seed=2, symbols=[flat("XYZ")])
    down.name = "down"
    with connect(mock, down, "nowhere", settings=settings(tmp_path)) as vk:
        refused = vk.client.refused_venues
        assert set(refused) == {"down", "nowhere"}
        assert refused["down"].startswith("CONNECTION_ERROR")
        assert refused["nowhere"].startswith("UNKNOWN_VENUE")
        assert vk.call("buy", "XYZ", "1", venue="mock").state is OrderState.FILLED
        with pytest.raises(VenueKitError) as raised:
            vk.call("buy", "XYZ", "1", venue="down")
        assert raised.value.code is Code.CONNECTION_ERROR
        with pytest.raises(VenueKitError) as unnamed:
            vk.call("buy", "XYZ", "1")  # several venues: say which
        assert unnamed.value.code is Code.INVALID_CONFIG

        Unreachable.up = True  # the venue comes back: recover() connects it
        try:
            assert vk.call("recover", "down").ok
        finally:
            Unreachable.up = False
        assert set(vk.client.refused_venues) == {"nowhere"}
        assert vk.call("buy", "XYZ", "2", venue="down").filled_quantity == 2
        assert {o.venue for o in vk.call("orders")} == {"mock", "down"}
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        assert_journal_matches_ledger(journal, mock.control.ledger, "mock")
        assert_journal_matches_ledger(journal, down.control.ledger, "down")


def test_a_client_reused_for_1000_orders_opens_its_journal_and_recovers_once(
        connect: Connect, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Path] = []
    recoveries: list[str] = []
    original_init = SQLiteJournal.__init__
    import venuekit.engine as engine_module
    original_recover = engine_module.recover

    def counting_init(self: SQLiteJournal, path: Any, *args: Any, **kwargs: Any) -> None:
        opened.append(Path(path))
        original_init(self, path, *args, **kwargs)

    async def counting_recover(venue: Any, *args: Any, **kwargs: Any) -> Any:
        recoveries.append(venue.name)
        return await original_recover(venue, *args, **kwargs)

    monkeypatch.setattr(SQLiteJournal, "__init__", counting_init)
    monkeypatch.setattr(engine_module, "recover", counting_recover)
    mock = MockVenue(seed=5, symbols=[flat("XYZ", size="100000")])
    with connect(mock, settings=settings(tmp_path)) as vk:
        for n in range(1000):
            result = vk.call("buy" if n % 2 == 0 else "sell", "XYZ", "1")
            assert result.state is OrderState.FILLED, (n, result)
    assert opened == [tmp_path / "journal.sqlite3"]
    assert recoveries == ["mock"]
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        assert len(journal.orders()) == 1000
        assert_journal_matches_ledger(journal, mock.control.ledger)


def test_place_a_stop_and_a_bracket(connect: Connect, tmp_path: Path) -> None:
    """A stop is placed as it is (a strategy would throw its trigger away and is refused);
    a bracket's three orders are followed by the client until they are final."""
    mock = market()
    with connect(mock, settings=settings(tmp_path)) as vk:
        stop = OrderRequest(symbol="XYZ", side=Side.BUY, quantity=D(2),
                            order_type=OrderType.STOP, stop_price=D("101.00"))
        with pytest.raises(VenueKitError) as refused:
            vk.call("execute", stop)
        assert refused.value.code is Code.STRATEGY_MISMATCH
        assert "waits for its trigger" in refused.value.message
        placed = vk.call("place", stop)
        assert placed.state is OrderState.ACKNOWLEDGED  # the mock holds stops natively
        mock.control.set_quote("XYZ", "100.99", "101.00")
        assert vk.call("wait", placed, timeout=10).state is OrderState.FILLED

        bracket = BracketRequest(entry=OrderRequest(symbol="XYZ", side=Side.BUY,
                                                    quantity=D(4)),
                                 take_profit=D("103.00"), stop_loss=D("99.00"))
        legs = vk.call("place_bracket", bracket)
        assert legs.entry.state is OrderState.FILLED
        mock.control.set_quote("XYZ", "103.00", "103.01")
        assert vk.call("wait", legs.take_profit, timeout=10).state is OrderState.FILLED
        assert vk.call("wait", legs.stop_loss, timeout=10).state is OrderState.CANCELLED
    with SQLiteJournal(tmp_path / "journal.sqlite3", readonly=True) as journal:
        assert_journal_matches_ledger(journal, mock.control.ledger)
