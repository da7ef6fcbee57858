"""Settings: credentials from the environment, paper by default, live only with both opt-ins."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit_alpaca.config import (
    DATA_URL,
    LIVE_STREAM_URL,
    LIVE_URL,
    PAPER_STREAM_URL,
    PAPER_URL,
    AlpacaSettings,
)
from venuekit_alpaca.venue import AlpacaVenue

CREDS = {"APCA_API_KEY_ID": "PKENV", "APCA_API_SECRET_KEY": "env-secret-value"}


def resolve(environ: dict[str, str] | None = None, **given: object) -> AlpacaSettings:
    return AlpacaSettings.resolve(environ=CREDS if environ is None else environ,
                                  **given)  # type: ignore[arg-type]


def test_paper_endpoints_and_environment_credentials_by_default() -> None:
    settings = resolve()
    assert settings.paper and not settings.live
    assert (settings.base_url, settings.stream_url, settings.data_url) == (
        PAPER_URL, PAPER_STREAM_URL, DATA_URL)
    assert settings.api_key.reveal() == "PKENV"
    assert settings.secret_key.reveal() == "env-secret-value"


def test_explicit_settings_win_over_the_environment() -> None:
    settings = resolve(api_key="PKARG", secret_key="arg-secret")
    assert settings.api_key.reveal() == "PKARG"


def test_missing_credentials_name_the_variables() -> None:
    with pytest.raises(VenueKitError) as caught:
        resolve(environ={})
    assert caught.value.code is Code.INVALID_CONFIG
    assert "APCA_API_KEY_ID" in caught.value.message
    assert "APCA_API_SECRET_KEY" in caught.value.message


def test_local_base_url_serves_stream_and_data_too() -> None:
    settings = resolve(base_url="http://127.0.0.1:8080/")
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.stream_url == "ws://127.0.0.1:8080/stream"
    assert settings.data_url == "http://127.0.0.1:8080"


def test_base_url_from_environment_on_alpaca_keeps_alpaca_data() -> None:
    settings = resolve(environ={**CREDS, "APCA_API_BASE_URL": PAPER_URL})
    assert settings.data_url == DATA_URL
    assert settings.stream_url == PAPER_STREAM_URL


def test_explicit_stream_and_data_urls() -> None:
    settings = resolve(base_url="http://127.0.0.1:1", stream_url="ws://127.0.0.1:2/stream",
                       data_url="http://127.0.0.1:3")
    assert (settings.stream_url, settings.data_url) == ("ws://127.0.0.1:2/stream",
                                                        "http://127.0.0.1:3")


@pytest.mark.parametrize("given", [{"live": True}, {"paper": "false"},
                                   {"base_url": LIVE_URL}])
def test_live_needs_the_environment_opt_in(given: dict[str, object]) -> None:
    with pytest.raises(VenueKitError) as caught:
        resolve(**given)
    assert caught.value.code is Code.LIVE_TRADING_NOT_CONFIRMED
    assert "VENUEKIT_LIVE=1" in caught.value.message


@pytest.mark.parametrize("given", [{}, {"paper": "false"}, {"base_url": LIVE_URL}])
def test_live_needs_the_setting_opt_in(given: dict[str, object]) -> None:
    """VENUEKIT_LIVE=1 alone does not switch to live, nor allow the live endpoint."""
    environ = {**CREDS, "VENUEKIT_LIVE": "1"}
    if not given:
        assert resolve(environ).paper
        return
    with pytest.raises(VenueKitError) as caught:
        resolve(environ, **given)
    assert caught.value.code is Code.LIVE_TRADING_NOT_CONFIRMED
    assert "live = true" in caught.value.message


def test_live_with_both_opt_ins(caplog: pytest.LogCaptureFixture) -> None:
    environ = {**CREDS, "VENUEKIT_LIVE": "1"}
    settings = resolve(environ, live="true")
    assert settings.live
    assert (settings.base_url, settings.stream_url) == (LIVE_URL, LIVE_STREAM_URL)


def test_live_venue_says_so_loudly(monkeypatch: pytest.MonkeyPatch,
                                   caplog: pytest.LogCaptureFixture) -> None:
    for key, value in {**CREDS, "VENUEKIT_LIVE": "1"}.items():
        monkeypatch.setenv(key, value)
    with caplog.at_level("WARNING", logger="venuekit_alpaca.venue"):
        venue = AlpacaVenue.from_config({"live": "true"})
    assert venue.settings.live
    assert any("LIVE TRADING" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("given", "word"), [
    ({"paper": "maybe"}, "paper"), ({"timeout": "0"}, "timeout"),
    ({"base_url": "127.0.0.1:8080"}, "base_url"), ({"stream_url": "http://x/stream"},
                                                    "stream_url"),
    ({"feed": "nasdaq"}, "feed"),
])
def test_bad_settings_name_the_setting(given: dict[str, object], word: str) -> None:
    with pytest.raises(VenueKitError) as caught:
        resolve(**given)
    assert caught.value.code is Code.INVALID_CONFIG
    assert word in caught.value.message


def test_unknown_config_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CREDS.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(VenueKitError) as caught:
        AlpacaVenue.from_config({"base_ulr": "http://127.0.0.1:1"})
    assert caught.value.code is Code.INVALID_CONFIG
    assert "base_ulr" in caught.value.message


def test_secrets_are_masked_and_not_picklable() -> None:
    settings = resolve()
    for text in (repr(settings), str(settings), repr(settings.secret_key),
                 f"{settings.secret_key}", str(settings.api_key)):
        assert "env-secret-value" not in text
        assert "PKENV" not in text
    with pytest.raises(TypeError):
        pickle.dumps(settings.secret_key)


@pytest.mark.parametrize(("value", "pool"), [("1000", (1000, 61.0)), ("40/2", (40, 3.0))])
def test_rate_limit_setting_declares_the_pool_with_slack(
        monkeypatch: pytest.MonkeyPatch, value: str, pool: tuple[int, float]) -> None:
    for key, env_value in CREDS.items():
        monkeypatch.setenv(key, env_value)
    venue = AlpacaVenue.from_config({"rate_limit": value})
    assert [(p.capacity, p.period) for p in venue.capabilities.rate_limits] == [pool]
    assert AlpacaVenue.capabilities.rate_limits[0].capacity == 200  # the class is untouched


def test_bad_rate_limit_is_refused() -> None:
    with pytest.raises(VenueKitError) as caught:
        resolve(rate_limit="fast")
    assert caught.value.code is Code.INVALID_CONFIG and "rate_limit" in caught.value.message


def test_venuekit_config_shows_the_plugins_variables_masked(tmp_path: Path) -> None:
    """`venuekit config` names the variables the Alpaca plugin reads (APCA_*), never their
    secret values."""
    secret = "sk-do-not-print-5d1e"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("APCA_", "ALPACA_")) and key != "VENUEKIT_JOURNAL"}
    env.update(APCA_API_KEY_ID=secret, APCA_API_SECRET_KEY=secret,
               APCA_API_BASE_URL="http://127.0.0.1:8080")
    shown = subprocess.run([sys.executable, "-m", "venuekit", "config", "--venue", "alpaca",
                            "--json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=60, check=False)
    assert shown.returncode == 0, shown.stderr
    assert secret not in shown.stdout + shown.stderr
    variables = json.loads(shown.stdout)["environment"]
    assert variables["APCA_API_KEY_ID"]["value"] == "***"
    assert variables["APCA_API_SECRET_KEY"]["value"] == "***"
    assert variables["APCA_API_BASE_URL"]["value"] == "http://127.0.0.1:8080"
