"""The KIS venue's settings: paper first, live behind both opt-ins, typed errors that say
what to fix, and credentials that never print; the access-token cache."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit.secrets import Secret
from venuekit_kis.auth import TokenStore
from venuekit_kis.config import LIVE, PAPER, KisSettings
from venuekit_kis.rest import tr
from venuekit_kis.venue import KisVenue

KEY = "PSkey" + "k" * 31
SECRET = "secret-" + "s" * 173
ENV = {"KIS_APP_KEY": KEY, "KIS_APP_SECRET": SECRET, "KIS_ACCOUNT": "50012345-01"}


def settings(**kwargs: Any) -> KisSettings:
    environ = kwargs.pop("environ", ENV)
    return KisSettings.resolve("kis", environ=environ, token_cache="off", **kwargs)


def test_paper_is_the_default_and_reads_the_environment() -> None:
    resolved = settings(environ=ENV | {"KIS_HTS_ID": "myhts"})
    assert resolved.endpoints == PAPER and resolved.mode == "paper"
    assert (resolved.account, resolved.product, resolved.hts_id) == ("50012345", "01", "myhts")
    assert resolved.requests == (2, 1.0)


def test_an_emulator_url_gives_the_websocket_too() -> None:
    resolved = settings(base_url="http://127.0.0.1:8765/ignored")
    assert resolved.endpoints.rest == "http://127.0.0.1:8765"
    assert resolved.endpoints.websocket == "ws://127.0.0.1:8765"
    assert resolved.mode == "emulator"


def test_live_needs_both_opt_ins() -> None:
    with pytest.raises(VenueKitError) as info:
        settings(live=True)
    assert info.value.code is Code.LIVE_TRADING_NOT_CONFIRMED
    live = settings(live="true", environ=ENV | {"VENUEKIT_LIVE": "1"})
    assert live.endpoints == LIVE and live.requests == (20, 1.0)
    with pytest.raises(VenueKitError, match="remove base_url"):
        settings(live=True, base_url="http://127.0.0.1:1", environ=ENV | {"VENUEKIT_LIVE": "1"})


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"environ": {}}, "no KIS_APP_KEY and no KIS_APP_SECRET and no KIS_ACCOUNT"),
    ({"account": "5001234501x"}, "50012345-01"),
    ({"base_url": "ftp://x"}, "base_url must be"),
    ({"requests": "two"}, "requests must be"),
    ({"timeout": "-1"}, "timeout must be a positive"),
    ({"live": "maybe"}, "live must be true or false"),
])
def test_bad_settings_say_what_to_fix(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(VenueKitError, match=message) as info:
        settings(**kwargs)
    assert info.value.code is Code.INVALID_CONFIG


def test_unknown_settings_are_refused_by_name() -> None:
    with pytest.raises(VenueKitError, match=r"unknown setting.*apikey") as info:
        KisVenue(apikey="x", environ=ENV)
    assert info.value.code is Code.INVALID_CONFIG


def test_credentials_never_print() -> None:
    venue = KisVenue(environ=ENV, token_cache="off")
    for text in (repr(venue), repr(venue.settings), str(venue.settings), repr(venue._rest)):
        assert KEY not in text and SECRET not in text


def test_paper_transaction_ids_start_with_v() -> None:
    assert tr("TTTC0012U", live=False) == "VTTC0012U"
    assert tr("TTTC0012U", live=True) == "TTTC0012U"
    assert tr("FHKST01010100", live=False) == "FHKST01010100"  # quotes are the same


class Issuer:
    """Answers /oauth2/tokenP like KIS: counts the requests."""

    def __init__(self) -> None:
        self.requests: list[Mapping[str, str]] = []

    async def __call__(self, path: str, body: Mapping[str, str]) -> Mapping[str, Any]:
        assert path == "/oauth2/tokenP"
        self.requests.append(body)
        return {"access_token": f"token-{len(self.requests)}", "token_type": "Bearer",
                "expires_in": 86400}


def store(cache: Path | None, clock: list[float]) -> TokenStore:
    return TokenStore(Secret(KEY), Secret(SECRET), "http://127.0.0.1:1", venue="kis",
                      cache_dir=cache, clock=lambda: clock[0])


def test_a_token_is_cached_owner_only_and_reused_by_the_next_process(tmp_path: Path) -> None:
    issuer, clock = Issuer(), [1_000_000.0]
    cache = tmp_path / "tokens"
    first = asyncio.run(store(cache, clock).get(issuer))
    clock[0] += 3600
    again = asyncio.run(store(cache, clock).get(issuer))  # a second process, an hour later
    assert first == again and len(issuer.requests) == 1
    [path] = cache.iterdir()
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    written = path.read_text()
    assert KEY not in written and SECRET not in written  # the key only as a digest
    assert json.loads(written)["token"] == "token-1"


def test_a_token_near_its_expiry_is_replaced(tmp_path: Path) -> None:
    issuer, clock = Issuer(), [1_000_000.0]
    tokens = store(tmp_path, clock)
    asyncio.run(tokens.get(issuer))
    clock[0] += 86_400 - 300  # five minutes left: less than the ten kept in hand
    assert asyncio.run(tokens.get(issuer)).reveal() == "token-2"


def test_another_app_key_does_not_read_the_cached_token(tmp_path: Path) -> None:
    issuer, clock = Issuer(), [1_000_000.0]
    asyncio.run(store(tmp_path, clock).get(issuer))
    other = TokenStore(Secret("another-key"), Secret(SECRET), "http://127.0.0.1:1",
                       venue="kis", cache_dir=tmp_path, clock=lambda: clock[0])
    clock[0] += 120
    assert asyncio.run(other.get(issuer)).reveal() == "token-2"


def test_a_refused_token_is_replaced_but_not_within_the_minute(tmp_path: Path) -> None:
    """KIS issues one token a minute: a token refused right after its issue means the
    credentials are refused (the caller gets the error at once, nothing waits for the
    minute); one refused later (it expired) is replaced."""
    issuer, clock = Issuer(), [1_000_000.0]
    tokens = store(tmp_path, clock)
    first = asyncio.run(tokens.get(issuer))
    clock[0] += 30
    assert tokens.discard(first) is False  # within the minute: no new token to be had
    assert asyncio.run(tokens.get(issuer)) == first and len(issuer.requests) == 1
    clock[0] += 3600
    assert tokens.discard(first) is True
    assert asyncio.run(tokens.get(issuer)).reveal() == "token-2"
    assert len(issuer.requests) == 2


def test_a_cached_token_the_server_refuses_is_replaced(tmp_path: Path) -> None:
    """A token another process cached (a restarted emulator, a revoked token) is replaced
    even within KIS's minute: this store waits the minute out rather than fail."""
    issuer, clock = Issuer(), [1_000_000.0]
    asyncio.run(store(tmp_path, clock).get(issuer))
    clock[0] += 90  # the next process, a minute and a half later
    tokens = store(tmp_path, clock)
    cached = asyncio.run(tokens.get(issuer))
    assert cached.reveal() == "token-1" and len(issuer.requests) == 1
    assert tokens.discard(cached) is True
    assert asyncio.run(tokens.get(issuer)).reveal() == "token-2"
    assert not list(tmp_path.glob("*.tmp"))
