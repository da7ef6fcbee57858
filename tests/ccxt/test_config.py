"""The ccxt venues' settings: credentials from the environment, paper first, live only with
both opt-ins, venuekit's pools, and no secret in any repr or message."""

from __future__ import annotations

from typing import Any

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit_ccxt.config import CcxtSettings
from venuekit_ccxt.venue import BinanceVenue, CcxtVenue

KEYS = {"BINANCE_API_KEY": "key-123", "BINANCE_API_SECRET": "the-secret-456"}


def settings(environ: dict[str, str] | None = None, **given: Any) -> CcxtSettings:
    return CcxtSettings.resolve("binance", "binance", environ=KEYS | (environ or {}), **given)


def refused(**given: Any) -> VenueKitError:
    environ = given.pop("environ", KEYS)
    with pytest.raises(VenueKitError) as raised:
        CcxtSettings.resolve("binance", "binance", environ=environ, **given)
    return raised.value


def test_credentials_come_from_the_environment_named_after_the_exchange() -> None:
    found = settings()
    assert (found.api_key.reveal(), found.secret.reveal()) == ("key-123", "the-secret-456")
    missing = refused(environ={})
    assert missing.code is Code.INVALID_CONFIG
    assert "BINANCE_API_KEY and BINANCE_API_SECRET" in missing.message
    given = CcxtSettings.resolve("ccxt", "kraken", api_key="a", secret="b", environ={})
    assert given.api_key.reveal() == "a" and given.exchange == "kraken"


def test_paper_first_sandbox_emulator_or_live_with_both_opt_ins() -> None:
    assert settings().mode == "sandbox"
    emulated = settings({"BINANCE_BASE_URL": "http://127.0.0.1:8090/"})
    assert (emulated.mode, emulated.base_url, emulated.sandbox) == (
        "emulator", "http://127.0.0.1:8090", False)
    assert refused(live=True).code is Code.LIVE_TRADING_NOT_CONFIRMED
    assert refused(sandbox="false").code is Code.LIVE_TRADING_NOT_CONFIRMED
    live = settings({"VENUEKIT_LIVE": "1"}, live="true")
    assert (live.mode, live.sandbox) == ("live", False)
    both = refused(live=True, base_url="http://127.0.0.1:1",
                   environ=KEYS | {"VENUEKIT_LIVE": "1"})
    assert both.code is Code.INVALID_CONFIG and "base_url" in both.message


def test_bad_values_are_refused_naming_the_setting() -> None:
    for given, named in (({"base_url": "ftp://x"}, "base_url"), ({"timeout": "0"}, "timeout"),
                         ({"request_weight": "lots"}, "request_weight"),
                         ({"orders": "10/0"}, "orders"), ({"live": "maybe"}, "live")):
        problem = refused(**given)
        assert problem.code is Code.INVALID_CONFIG and named in problem.message, given
    assert settings(request_weight="1200/6", orders="50").request_weight == (1200, 6.0)
    assert settings(orders="50").orders == (50, 10.0)


def test_no_secret_in_reprs_or_errors() -> None:
    venue = BinanceVenue(base_url="http://127.0.0.1:9", api_key="key-123",
                         secret="the-secret-456")
    for text in (repr(venue), repr(venue.settings), str(venue.settings.secret),
                 f"{venue.settings.secret}"):
        assert "the-secret-456" not in text
    with pytest.raises(VenueKitError) as unknown:
        BinanceVenue(base_url="http://127.0.0.1:9", api_key="k", secret="the-secret-456",
                     colour="blue")
    assert "colour" in unknown.value.message and "the-secret-456" not in str(unknown.value)


def test_the_exchange_object_talks_only_where_it_was_told() -> None:
    venue = BinanceVenue(base_url="http://127.0.0.1:8090", api_key="k", secret="s",
                         request_weight="600/6", orders="10/1")
    exchange = venue._exchange
    api = exchange.urls["api"]
    assert api["public"] == api["private"] == "http://127.0.0.1:8090/api/v3"
    assert api["ws"]["ws-api"]["spot"] == "ws://127.0.0.1:8090/ws-api/v3"
    assert api["sapi"] == "http://127.0.0.1:8090/sapi/v1"
    assert exchange.number is str and exchange.enableRateLimit is False
    assert exchange.options["fetchMarkets"]["types"] == ["spot"]
    pools = {p.name: (p.capacity, p.period) for p in venue.capabilities.rate_limits}
    assert pools["weight"] == (600, 7.0) and pools["orders"] == (10, 2.0)
    sandbox = BinanceVenue(api_key="k", secret="s")
    assert "testnet" in sandbox._exchange.urls["api"]["public"]


def test_the_generic_venue_needs_an_exchange_and_declares_only_what_all_share() -> None:
    with pytest.raises(VenueKitError) as unnamed:
        CcxtVenue(api_key="k", secret="s", base_url="http://127.0.0.1:9")
    assert "name the exchange" in unnamed.value.message
    with pytest.raises(VenueKitError) as unknown:
        CcxtVenue(exchange="nosuchexchange", api_key="k", secret="s",
                  base_url="http://127.0.0.1:9")
    assert "nosuchexchange" in unknown.value.message
    kraken = CcxtVenue(exchange="kraken", api_key="k", secret="s",
                       base_url="http://127.0.0.1:9")
    caps = kraken.capabilities
    assert (caps.client_order_ids, caps.order_stream, caps.replace) == (False, False,
                                                                         "emulated")
    with pytest.raises(VenueKitError) as other:
        BinanceVenue(exchange="kraken", api_key="k", secret="s")
    assert "use the `ccxt` venue" in other.value.message
