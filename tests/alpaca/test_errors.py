"""Every Alpaca answer maps into the taxonomy with its outcome (real alpaca-py over HTTP).

The answers are the bodies recorded in the reference notes, served by a scripted server on
127.0.0.1; the emulator's own answers are covered by the conformance and venue tests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal

import pytest

from venuekit.errors import Code, OrderNotFound, Outcome, RateLimited, VenueKitError
from venuekit.model import OrderRequest, OrderType, Side
from venuekit.venue import OrderRef
from venuekit_alpaca.venue import AlpacaVenue

from .wire import ORDER, Answer, ScriptedServer

KEY, SECRET = "PKTESTKEY0001", "s3cr3t-never-to-be-seen-0001"
LIMIT_BUY = OrderRequest(symbol="AAPL", side=Side.BUY, quantity=Decimal(1),
                         order_type=OrderType.LIMIT, limit_price=Decimal(100))


def venue_for(server: ScriptedServer, **extra: object) -> AlpacaVenue:
    settings: dict[str, object] = {"timeout": 2, **extra}
    return AlpacaVenue(api_key=KEY, secret_key=SECRET, base_url=server.url, **settings)


def submit_error(answer: Answer) -> tuple[VenueKitError, int]:
    with ScriptedServer([answer]) as server:
        venue = venue_for(server)
        with pytest.raises(VenueKitError) as caught:
            asyncio.run(venue.submit(LIMIT_BUY, "cid-1"))
        return caught.value, len(server.seen)


@pytest.mark.parametrize(("status", "body", "code", "outcome"), [
    (403, {"buying_power": "176531.28", "code": 40310000, "cost_basis": "48640000",
           "message": "insufficient buying power"}, Code.INSUFFICIENT_FUNDS, Outcome.REJECTED),
    (403, {"code": 40310000, "message": "insufficient qty available for order (requested: 5, "
           "available: 0)"}, Code.INSUFFICIENT_POSITION, Outcome.REJECTED),
    (403, {"code": 40310000, "message": "asset AAPL cannot be sold short"},
     Code.SHORT_NOT_ALLOWED, Outcome.REJECTED),
    (403, {"message": "forbidden"}, Code.PERMISSION_DENIED, Outcome.REJECTED),
    (422, {"code": 40010001, "message": "order_id is missing"}, Code.INVALID_ORDER,
     Outcome.REJECTED),
    (422, {"code": 40010001, "message": "qty must be > 0"}, Code.INVALID_QUANTITY,
     Outcome.REJECTED),
    (422, {"code": 42210000, "message": "sub-penny increment does not fulfill minimum "
           "pricing criteria"}, Code.INVALID_PRICE, Outcome.REJECTED),
    (422, {"code": 40010001, "message": "client_order_id must be unique"},
     Code.DUPLICATE_CLIENT_ORDER_ID, Outcome.UNKNOWN),
    (401, {"message": "unauthorized"}, Code.AUTHENTICATION_FAILED, Outcome.REJECTED),
    (429, {"code": 42910000, "message": "rate limit exceeded"}, Code.RATE_LIMITED,
     Outcome.UNKNOWN),
    (500, {"code": 50010000, "message": "internal server error"}, Code.VENUE_ERROR,
     Outcome.UNKNOWN),
    (503, {"code": 50010000, "message": "service unavailable"}, Code.VENUE_ERROR,
     Outcome.UNKNOWN),
    (504, {"code": 50410000, "message": "gateway timeout"}, Code.TIMEOUT, Outcome.UNKNOWN),
])
def test_submit_answers_map_to_code_and_outcome(status: int, body: dict[str, object],
                                                code: object, outcome: Outcome) -> None:
    exc, requests_sent = submit_error(Answer(status, body))
    assert exc.code is code
    assert exc.outcome is outcome
    assert exc.venue == "alpaca"
    assert exc.details["status"] == status
    assert str(body["message"]) in exc.message
    assert requests_sent == 1, "alpaca-py must not retry on its own"


@pytest.mark.parametrize("status", [429, 504])
def test_alpaca_py_does_not_retry_429_or_504(status: int) -> None:
    """alpaca-py retries these three times, 3 s apart, by default; venuekit's venue must not."""
    started = time.monotonic()
    exc, requests_sent = submit_error(Answer(status, {"code": 1, "message": "slow down"}))
    assert requests_sent == 1
    assert time.monotonic() - started < 2.5  # no 3 s sleep inside alpaca-py
    assert exc.retryable


def test_rate_limit_carries_the_reset_time() -> None:
    reset = int(time.time()) + 30
    exc, _ = submit_error(Answer(429, {"code": 42910000, "message": "rate limit exceeded"},
                                 {"X-Ratelimit-Limit": "200", "X-Ratelimit-Remaining": "0",
                                  "X-Ratelimit-Reset": str(reset)}))
    assert isinstance(exc, RateLimited)
    assert exc.retry_after is not None and 20 < exc.retry_after <= 31


def test_not_found_lookups_raise_order_not_found() -> None:
    body = {"code": 40410000, "message": "order not found"}
    with ScriptedServer([Answer(404, body), Answer(404, body), Answer(404, body)]) as server:
        venue = venue_for(server)
        for ref in (OrderRef(client_order_id="cid-9"),
                    OrderRef(venue_order_id="61e69015-8549-4bfd-b9c3-01e75843f47d")):
            with pytest.raises(OrderNotFound):
                asyncio.run(venue.fetch_order(ref))
        with pytest.raises(OrderNotFound):
            asyncio.run(venue.cancel(OrderRef(
                venue_order_id="61e69015-8549-4bfd-b9c3-01e75843f47d")))
        assert server.seen[0].path == "/v2/orders:by_client_order_id?client_order_id=cid-9"
        assert server.seen[1].path.startswith("/v2/orders/61e69015-")
        assert server.seen[2].method == "DELETE"


def test_uncancelable_order_is_a_rejected_cancel() -> None:
    exc: VenueKitError
    with ScriptedServer([Answer(422, {"code": 42210000, "message": "order is not cancelable"})
                         ]) as server:
        with pytest.raises(VenueKitError) as caught:
            asyncio.run(venue_for(server).cancel(OrderRef(
                venue_order_id="61e69015-8549-4bfd-b9c3-01e75843f47d")))
        exc = caught.value
    assert exc.outcome is Outcome.REJECTED
    assert not isinstance(exc, OrderNotFound)


def test_unknown_asset_is_omitted_from_instruments() -> None:
    with ScriptedServer([Answer(404, {"code": 40410000, "message": "asset not found"})
                         ]) as server:
        assert asyncio.run(venue_for(server).instruments(["NOPE"])) == []
        assert server.seen[0].path == "/v2/assets/NOPE"


def test_transport_failures_are_unknown_outcomes() -> None:
    with ScriptedServer([Answer(200, ORDER, delay=1.5)]) as server:
        venue = venue_for(server, timeout=0.3)
        with pytest.raises(VenueKitError) as caught:
            asyncio.run(venue.submit(LIMIT_BUY, "cid-1"))
    assert caught.value.code is Code.TIMEOUT
    assert caught.value.outcome is Outcome.UNKNOWN

    with ScriptedServer() as server:
        url = server.url
    venue = AlpacaVenue(api_key=KEY, secret_key=SECRET, base_url=url, timeout=1)
    with pytest.raises(VenueKitError) as caught:
        asyncio.run(venue.submit(LIMIT_BUY, "cid-1"))  # nothing listens any more
    assert caught.value.code is Code.CONNECTION_ERROR
    assert caught.value.outcome is Outcome.UNKNOWN


def test_unreadable_success_is_an_unknown_outcome() -> None:
    """A 2xx the client cannot read may still have placed the order."""
    for answer in (Answer(200, raw=b"<html>oops</html>"),
                   Answer(200, {"id": "not-an-order"}), Answer(200, [ORDER]),
                   Answer(200, {**ORDER, "id": None}), Answer(200, raw=b"")):
        exc, _ = submit_error(answer)
        assert exc.code is Code.VENUE_ERROR
        assert exc.outcome is Outcome.UNKNOWN


def test_non_json_error_body_still_maps() -> None:
    exc, _ = submit_error(Answer(502, raw=b"Bad Gateway"))
    assert exc.code is Code.VENUE_ERROR
    assert "Bad Gateway" in exc.message


def test_credentials_never_appear_in_errors_reprs_or_logs(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answers = [Answer(403, {"code": 40310000, "message": "insufficient buying power"}),
               Answer(401, {"message": "unauthorized"})]
    with ScriptedServer(answers) as server:
        venue = venue_for(server)
        caught = []
        for _ in answers:
            with pytest.raises(VenueKitError) as info:
                asyncio.run(venue.submit(LIMIT_BUY, "cid-1"))
            caught.append(info.value)
        # the credentials did go on the wire, as Alpaca's headers
        assert server.seen[0].headers["APCA-API-SECRET-KEY"] == SECRET
    texts = [repr(venue), str(venue.settings), repr(venue.settings.secret_key),
             f"{venue.settings.api_key}"]
    for exc in caught:
        texts += [str(exc), repr(exc), str(exc.to_dict()), str(exc.details)]
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(str(record.__dict__))
    for text in texts:
        assert SECRET not in text
        assert KEY not in text


def test_an_id_that_is_not_a_uuid_is_looked_up_by_client_id_or_not_found() -> None:
    """Alpaca names orders by UUID: another id cannot be one of its orders."""
    body = {"code": 40410000, "message": "order not found"}
    with ScriptedServer([Answer(404, body)]) as server:
        venue = venue_for(server)
        with pytest.raises(OrderNotFound):
            asyncio.run(venue.fetch_order(OrderRef(venue_order_id="VK-1")))
        assert server.seen == []
        with pytest.raises(OrderNotFound):
            asyncio.run(venue.fetch_order(OrderRef(venue_order_id="VK-1",
                                                   client_order_id="cid-5")))
        assert [s.path for s in server.seen] == [
            "/v2/orders:by_client_order_id?client_order_id=cid-5"]
