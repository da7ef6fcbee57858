"""alpaca-py objects built from recorded payloads, converted to venuekit's models exactly."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alpaca.data.models.quotes import Quote as AlpacaQuote
from alpaca.trading.models import Asset, Order

from venuekit.errors import Code, VenueKitError
from venuekit.model import Instrument, OrderRequest, OrderState, OrderType, Side, TimeInForce
from venuekit_alpaca import convert
from venuekit_alpaca.sdk import (
    LimitOrderRequest,
    MarketOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
    TradeUpdate,
    TradingClient,
    TrailingStopOrderRequest,
)
from venuekit_alpaca.venue import AlpacaVenue

from .wire import ORDER, Answer, ScriptedServer

FILL_EVENT = {
    "event": "partial_fill", "execution_id": "2f63ea93-423d-4169-b3f6-3fdafc10c418",
    "order": {**ORDER, "status": "partially_filled", "qty": "3", "filled_qty": "2",
              "filled_avg_price": "99.985"},
    "position_qty": "2", "price": "99.98", "qty": "1",
    "timestamp": "2022-04-19T17:45:05.024916716Z",
}


def test_order_payload_becomes_a_snapshot() -> None:
    snap = convert.snapshot(Order(**ORDER))
    assert snap.venue_order_id == ORDER["id"]
    assert snap.client_order_id == "cid-1"
    assert (snap.symbol, snap.side, snap.order_type) == ("AAPL", Side.BUY, OrderType.LIMIT)
    assert snap.state is OrderState.ACKNOWLEDGED
    assert snap.quantity == Decimal(1) and snap.limit_price == Decimal(100)
    assert snap.filled_quantity == 0 and snap.average_price is None


@pytest.mark.parametrize(("status", "state"), [
    ("new", OrderState.ACKNOWLEDGED), ("partially_filled", OrderState.PARTIALLY_FILLED),
    ("filled", OrderState.FILLED), ("canceled", OrderState.CANCELLED),
    ("expired", OrderState.EXPIRED), ("done_for_day", OrderState.EXPIRED),
    ("replaced", OrderState.REPLACED), ("pending_cancel", OrderState.PENDING_CANCEL),
    ("rejected", OrderState.REJECTED), ("held", OrderState.ACKNOWLEDGED),
])
def test_every_status_has_a_state(status: str, state: OrderState) -> None:
    assert convert.snapshot(Order(**{**ORDER, "status": status})).state is state


def test_float_numbers_keep_their_wire_text() -> None:
    order = Order(**{**ORDER, "qty": 0.1, "filled_qty": 0.1, "filled_avg_price": 187.33,
                     "status": "filled"})
    snap = convert.snapshot(order)
    assert snap.quantity == Decimal("0.1")
    assert snap.average_price == Decimal("187.33")


def test_filled_notional_order_reports_what_it_bought() -> None:
    order = Order(**{**ORDER, "qty": None, "notional": "250", "type": "market",
                     "order_type": "market", "limit_price": None, "filled_qty": "1.337",
                     "filled_avg_price": "187", "status": "filled"})
    snap = convert.snapshot(order)
    assert snap.notional == Decimal(250)
    assert snap.quantity == Decimal("1.337")


def test_fill_event_is_one_execution_named_by_cumulative_quantity() -> None:
    update = convert.update(TradeUpdate(**FILL_EVENT))
    assert update.order.state is OrderState.PARTIALLY_FILLED
    assert update.fill is not None
    assert update.fill.quantity == Decimal(1) and update.fill.price == Decimal("99.98")
    assert update.fill.trade_id == f"{ORDER['id']}:2"
    assert update.fill.client_order_id == "cid-1"


def test_non_fill_events_carry_no_fill() -> None:
    update = convert.update(TradeUpdate(**{**FILL_EVENT, "event": "new", "price": None,
                                           "qty": None}))
    assert update.fill is None


def test_fills_from_orders_itemize_what_the_stream_saw() -> None:
    """REST rebuilds the rest of an order's fills without repeating the stream's."""
    seen = convert.update(TradeUpdate(**FILL_EVENT)).fill
    assert seen is not None
    order = Order(**{**ORDER, "status": "filled", "qty": "3", "filled_qty": "3",
                     "filled_avg_price": "100", "filled_at": "2022-04-19T17:45:06Z"})
    since = datetime(2022, 1, 1, tzinfo=UTC)
    # The stream saw 1 @ 99.98 reaching cumulative 2; the order also shows 3 @ avg 100.
    first = seen.model_copy(update={"quantity": Decimal(2), "price": Decimal("99.985")})
    fills = convert.fills_from_orders([order], since, {ORDER["id"]: [first]})
    assert [f.trade_id for f in fills] == [f"{ORDER['id']}:2", f"{ORDER['id']}:3"]
    assert fills[1].quantity == Decimal(1)
    total = sum(f.quantity * f.price for f in fills)
    assert total == Decimal(300)  # 3 @ average 100
    alone = convert.fills_from_orders([order], since, {})
    assert [(f.trade_id, f.quantity, f.price) for f in alone] == [
        (f"{ORDER['id']}:3", Decimal(3), Decimal(100))]


def test_asset_becomes_an_instrument() -> None:
    asset = Asset(**{"id": "904837e3-3b76-47ec-b432-046db621571b", "class": "us_equity",
                     "exchange": "NASDAQ", "symbol": "AAPL", "status": "active",
                     "tradable": True, "marginable": True, "shortable": True,
                     "easy_to_borrow": True, "fractionable": True})
    item = convert.instrument(asset)
    assert item.fractional and item.lot_size == Decimal("0.000000001")
    assert item.tick_at(Decimal("0.5")) == Decimal("0.0001")
    assert item.tick_at(Decimal(150)) == Decimal("0.01")
    whole = convert.instrument(asset.model_copy(update={"fractionable": False,
                                                        "tradable": False}))
    assert whole.lot_size == Decimal(1) and not whole.fractional and not whole.tradable


def test_latest_quote_payload() -> None:
    raw = {"t": "2022-03-18T14:02:43.651613184Z", "ax": "P", "ap": 161.11, "as": 13,
           "bx": "K", "bp": 161.1, "bs": 2, "c": ["R"], "z": "C"}
    quote = convert.quote("AAPL", AlpacaQuote("AAPL", raw))
    assert (quote.bid, quote.ask) == (Decimal("161.1"), Decimal("161.11"))
    assert (quote.bid_size, quote.ask_size) == (Decimal(2), Decimal(13))


FRACTIONAL = Instrument(symbol="AAPL", tick_size=Decimal("0.01"),
                        lot_size=Decimal("0.000000001"), fractional=True)
WHOLE = FRACTIONAL.model_copy(update={"fractional": False, "lot_size": Decimal(1)})


def test_order_fields_send_exact_numbers() -> None:
    request = OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal("0.123456789"),
                           order_type=OrderType.LIMIT, limit_price=Decimal("187.33"))
    fields = convert.order_fields(request, "cid-7", FRACTIONAL)
    assert fields == {"symbol": "AAPL", "side": "buy", "type": "limit",
                      "time_in_force": "day", "client_order_id": "cid-7",
                      "qty": 0.123456789, "limit_price": 187.33}


@pytest.mark.parametrize(("request_", "instrument", "code"), [
    (OrderRequest(symbol="AAPL", side=Side.BUY, notional=Decimal(100),
                  order_type=OrderType.LIMIT, limit_price=Decimal(10)), None,
     Code.UNSUPPORTED_ORDER),
    (OrderRequest(symbol="AAPL", side=Side.BUY, notional=Decimal(100),
                  time_in_force=TimeInForce.GTC), None, Code.UNSUPPORTED_ORDER),
    (OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal("0.5"),
                  time_in_force=TimeInForce.GTC), FRACTIONAL, Code.UNSUPPORTED_ORDER),
    (OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal("0.5")), WHOLE,
     Code.INVALID_QUANTITY),
    (OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal("1.00000000000000001")),
     FRACTIONAL, Code.INVALID_QUANTITY),
])
def test_orders_alpaca_would_refuse_are_refused_before_sending(
        request_: OrderRequest, instrument: Instrument | None, code: object) -> None:
    with pytest.raises(VenueKitError) as caught:
        convert.order_fields(request_, "cid-1", instrument)
    assert caught.value.code is code


def test_notional_market_day_order_is_sent_as_notional() -> None:
    request = OrderRequest(symbol="AAPL", side=Side.BUY, notional=Decimal("250.5"))
    fields = convert.order_fields(request, "cid-2", FRACTIONAL)
    assert fields["notional"] == 250.5 and "qty" not in fields


def test_capabilities() -> None:
    caps = AlpacaVenue.capabilities
    assert caps.client_order_ids is True and caps.client_order_id_max_length == 128
    assert caps.order_stream is True and caps.replace is True
    assert caps.fractional is True and caps.notional_orders is True
    assert caps.short_selling is True and caps.market_orders is True
    assert (caps.stop_orders, caps.stop_limit_orders, caps.trailing_stops) == (True,) * 3
    assert caps.brackets is True  # native since Venue.submit_bracket
    assert [(p.capacity, p.period) for p in caps.rate_limits] == [(200, 61.0)]
    assert caps.weight("account") == {"requests": 2}  # the account and its positions


@pytest.mark.parametrize("broken", [{"side": None}, {"symbol": ""}, {"symbol": None}])
def test_an_order_payload_venuekit_cannot_read_is_a_venue_error(broken: dict[str, object]
                                                                 ) -> None:
    # Found by the parser fuzzing (tests/faults): these escaped as ValueError and pydantic's
    # ValidationError.
    order = Order(**{**ORDER, **broken})
    with pytest.raises(VenueKitError) as unreadable:
        convert.snapshot(order)
    assert unreadable.value.code is Code.VENUE_ERROR
    assert "cannot read" in unreadable.value.message


def test_a_trade_update_venuekit_cannot_read_is_a_venue_error() -> None:
    event = TradeUpdate(event="fill", timestamp="2024-01-02T15:00:01Z", qty="-3", price="10",
                        order={**ORDER, "status": "filled", "filled_qty": "1"})
    with pytest.raises(VenueKitError) as unreadable:
        convert.update(event)
    assert unreadable.value.code is Code.VENUE_ERROR


@pytest.mark.parametrize("request_", [
    OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal(3),
                 order_type=OrderType.LIMIT, limit_price=Decimal("187.33"),
                 time_in_force=TimeInForce.GTC),
    OrderRequest(symbol="MSFT", side=Side.SELL, quantity=Decimal("0.25")),
    OrderRequest(symbol="AAPL", side=Side.BUY, notional=Decimal("250.5")),
    OrderRequest(symbol="TSLA", side=Side.SELL, quantity=Decimal(1),
                 time_in_force=TimeInForce.IOC),
    OrderRequest(symbol="AAPL", side=Side.SELL, quantity=Decimal(2), order_type=OrderType.STOP,
                 stop_price=Decimal("181.07"), time_in_force=TimeInForce.GTC),
    OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal(2),
                 order_type=OrderType.STOP_LIMIT, stop_price=Decimal("191.5"),
                 limit_price=Decimal("192.25")),
    OrderRequest(symbol="AAPL", side=Side.SELL, quantity=Decimal(2),
                 order_type=OrderType.TRAILING_STOP, trail_amount=Decimal("1.35")),
    OrderRequest(symbol="AAPL", side=Side.SELL, quantity=Decimal(2),
                 order_type=OrderType.TRAILING_STOP, trail_percent=Decimal("0.5")),
])
def test_order_fields_are_the_body_alpaca_py_would_send(request_: OrderRequest) -> None:
    """The create posts ``order_fields`` as they are: they must be what alpaca-py's own
    request model, built from them, puts on the wire."""
    fields = convert.order_fields(request_, "cid-9", FRACTIONAL)
    model = REQUEST_MODELS[request_.order_type]
    assert json.dumps(fields, sort_keys=True) == json.dumps(
        model(**fields).to_request_fields(), sort_keys=True)


REQUEST_MODELS = {OrderType.MARKET: MarketOrderRequest, OrderType.LIMIT: LimitOrderRequest,
                  OrderType.STOP: StopOrderRequest, OrderType.STOP_LIMIT: StopLimitOrderRequest,
                  OrderType.TRAILING_STOP: TrailingStopOrderRequest}


def test_stop_fields_are_sent_by_alpacas_names_and_exactly() -> None:
    request = OrderRequest(symbol="AAPL", side=Side.SELL, quantity=Decimal(3),
                           order_type=OrderType.TRAILING_STOP, trail_amount=Decimal("2.05"))
    assert convert.order_fields(request, "t-1")["trail_price"] == 2.05
    request = OrderRequest(symbol="AAPL", side=Side.SELL, quantity=Decimal(3),
                           order_type=OrderType.STOP, stop_price=Decimal("180.123456789012345"))
    with pytest.raises(VenueKitError) as caught:
        convert.order_fields(request, "s-1")
    assert caught.value.code is Code.INVALID_PRICE and "stop price" in caught.value.message


@pytest.mark.parametrize(("kind", "extra", "order_type", "stop"), [
    ("stop", {"stop_price": "181.07"}, OrderType.STOP, Decimal("181.07")),
    ("stop_limit", {"stop_price": "181.07", "limit_price": "181"}, OrderType.STOP_LIMIT,
     Decimal("181.07")),
    ("trailing_stop", {"trail_price": "2", "hwm": "190.5", "stop_price": "188.5",
                       "limit_price": None}, OrderType.TRAILING_STOP, Decimal("188.5")),
])
def test_stop_orders_read_back_with_their_type_and_stop_price(
        kind: str, extra: dict[str, object], order_type: OrderType, stop: Decimal) -> None:
    payload = {**ORDER, "type": kind, "order_type": kind, **extra}
    snap = convert.snapshot(payload)
    assert (snap.order_type, snap.stop_price) == (order_type, stop)
    assert snap == convert.snapshot(Order(**payload))


@pytest.mark.parametrize("changes", [
    {}, {"status": "filled", "qty": "3", "filled_qty": "3", "filled_avg_price": "99.5"},
    {"qty": 0.1, "filled_qty": 0.1, "filled_avg_price": 187.33, "status": "filled"},
    {"qty": None, "notional": "250", "type": "market", "order_type": "market",
     "limit_price": None, "status": "new"},
    {"client_order_id": "", "status": "rejected"},
])
def test_order_json_reads_as_alpaca_py_model_reads(changes: dict[str, object]) -> None:
    """The create reads its answer's JSON directly; reads by model and by JSON agree."""
    payload = {**ORDER, **changes}
    assert convert.snapshot(payload) == convert.snapshot(Order(**payload))


@pytest.mark.parametrize("order_id", [None, "", 7, ["x"]])
def test_order_json_without_a_string_id_is_unreadable(order_id: object) -> None:
    with pytest.raises(VenueKitError) as caught:
        convert.snapshot({**ORDER, "id": order_id})
    assert caught.value.code is Code.VENUE_ERROR


def test_submit_posts_what_alpaca_py_posts() -> None:
    """The venue's create and alpaca-py's ``submit_order`` put the same request on the
    wire, headers included; only the credentials' values are compared by presence."""
    request = OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal(2),
                           order_type=OrderType.LIMIT, limit_price=Decimal("187.33"))
    with ScriptedServer([Answer(200, ORDER), Answer(200, ORDER)]) as server:
        venue = AlpacaVenue(api_key="key", secret_key="secret", base_url=server.url)
        snap = asyncio.run(venue.submit(request, "cid-1"))
        client = TradingClient("key", "secret", paper=True, url_override=server.url)
        client.submit_order(LimitOrderRequest(**convert.order_fields(request, "cid-1")))
    ours, theirs = server.seen
    assert (ours.method, ours.path) == (theirs.method, theirs.path) == ("POST", "/v2/orders")
    assert json.loads(ours.body) == json.loads(theirs.body)
    assert ours.headers["Content-Type"] == theirs.headers["Content-Type"]
    for name in ("APCA-API-KEY-ID", "APCA-API-SECRET-KEY", "User-Agent"):
        assert ours.headers[name] == theirs.headers[name]
    assert snap == convert.snapshot(Order(**ORDER))
