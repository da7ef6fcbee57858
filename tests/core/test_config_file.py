"""venuekit.toml is checked strictly: what a user who misspells a table, a key or a value
is told, and that the environment's typos are logged.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from venuekit import environment
from venuekit.config_file import parse_config
from venuekit.errors import Code, VenueKitError
from venuekit.plugins import PluginHost
from venuekit.secrets import MASK, Secret, masked
from venuekit.settings import load_settings, unknown_venues
from venuekit.validation import ValidationRules

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)


def refused(text: str) -> str:
    Path("venuekit.toml").write_text(text)
    with pytest.raises(VenueKitError) as raised:
        load_settings()
    assert raised.value.code is Code.INVALID_CONFIG
    return raised.value.message


def test_the_misspelt_venue_table_of_the_mock_page_is_refused_with_the_right_name() -> None:
    said = refused('[venue.mock]\ncash = "250000"\n')
    assert said.startswith("unknown table [venue.mock] in venuekit.toml; "
                           "did you mean [venues.mock]?"), said


@pytest.mark.parametrize(("text", "expected"), [
    ('journl = "j.sqlite3"\n', "unknown key 'journl' in venuekit.toml; did you mean 'journal'?"),
    ("[validations]\nmax_spread_bps = 5\n",
     "unknown table [validations] in venuekit.toml; did you mean [validation]?"),
    ("[risk]\nmax = 1\n", "unknown table [risk] in venuekit.toml (known: journal, state_dir, "
     "venues, validation"),
])
def test_unknown_keys_and_tables_are_named_with_the_closest_known_one(text: str,
                                                                        expected: str) -> None:
    assert expected in refused(text)


def test_a_named_config_file_is_named_in_the_error(tmp_path: Path) -> None:
    desk = tmp_path / "etc" / "desk.toml"
    desk.parent.mkdir()
    desk.write_text("[venue.mock]\nseed = 1\n")
    with pytest.raises(VenueKitError, match=re.escape(f"[venue.mock] in {desk}")):
        load_settings(config_path=desk)


@pytest.mark.parametrize(("text", "expected"), [
    ("journal = 5\n", 'journal in venuekit.toml must be a path (a non-empty string), e.g. '
     'journal = "books/journal.sqlite3"; got 5'),
    ("state_dir = true\n", "state_dir in venuekit.toml must be a path"),
    ("validation = 3\n", "validation in venuekit.toml must be a table"),
    ("[venues]\nmock = 3\n", "[venues.mock] in venuekit.toml must be a table of the venue's "
     "options, got 3"),
])
def test_a_value_of_the_wrong_type_says_what_to_write(text: str, expected: str) -> None:
    assert expected in refused(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("[validation]\nmax_spread = 5\n", "venuekit.toml [validation]: unknown setting "
     "'max_spread'; did you mean 'max_spread_bps'?"),
    ("[validation.live]\nmax_order_notionl = 5\n", "[validation.live]: unknown setting "
     "'max_order_notionl'; did you mean 'max_order_notional'?"),
    ('[validation]\nallow_short = "maybe"\n', "allow_short must be true or false"),
    ('[validation]\nmax_spread_bps = "wide"\n', "max_spread_bps must be a number"),
    ("[validation]\nmax_spread_bps = [1]\n", "max_spread_bps must be a number written as"),
    ("[validation]\nbuying_power_reserve = 0.1\n", 'write it as "0.1"'),
    ('[validation]\nbuying_power_reserve = "2"\n', "buying_power_reserve: input should be "
     "less than 1"),
    ("[validation.live.deep]\nwarn_at = 1\n", "[validation.live.deep] is not allowed"),
])
def test_validation_tables_are_checked_when_the_file_is_loaded(text: str,
                                                               expected: str) -> None:
    assert expected in refused(text)


def test_allow_short_is_read_as_written_not_as_any_non_empty_string() -> None:
    assert ValidationRules.from_config({"allow_short": "false"}).allow_short is False
    assert ValidationRules.from_config({"allow_short": True}).allow_short is True


def test_an_unknown_environment_is_named_with_the_closest_one() -> None:
    with pytest.raises(VenueKitError, match=re.escape(
            "no [validation.lve] table in the config; did you mean [validation.live]?")):
        ValidationRules.from_config({"live": {"warn_at": "0.9"}}, "lve")


def test_a_valid_file_loads_with_its_paths_relative_to_the_file(tmp_path: Path) -> None:
    Path("venuekit.toml").write_text(
        'journal = "books/j.sqlite3"\n[venues.mock]\nseed = 7\n[venues.mock.commission]\n'
        'model = "per_share"\n[validation]\nmax_spread_bps = 50\n[validation.live]\n'
        'max_order_notional = "20000"\n')
    settings = load_settings()
    assert settings.journal == Path("books/j.sqlite3")
    assert settings.origins == {"config_file": "working directory", "journal": "config file",
                                "state_dir": "journal's directory"}
    assert settings.venue_options("mock")["commission"] == {"model": "per_share"}
    model = parse_config({"validation": settings.section("validation")})
    assert model.environments() == ["live"]


def test_a_venue_table_no_plugin_registers_loads_but_is_reported(
        caplog: pytest.LogCaptureFixture) -> None:
    """Its plugin may be installed elsewhere: the file loads, and building a venue (or
    ``venuekit config``) says the table is not used, with the closest installed name."""
    Path("venuekit.toml").write_text("[venues.mokc]\nseed = 1\n[venues.kraken]\nx = 1\n")
    settings = load_settings()
    host = PluginHost(load_entry_points=False)

    class Mock:
        name = "mock"

    host.venues().register("mock", Mock)  # type: ignore[arg-type]
    found = dict(unknown_venues(settings, host))
    assert found["[venues.mokc]"] == "did you mean [venues.mock]?"
    assert "no installed plugin registers a venue named 'kraken'" in found["[venues.kraken]"]


def test_an_unknown_venuekit_variable_is_logged_with_a_suggestion(
        caplog: pytest.LogCaptureFixture) -> None:
    env = {"VENUEKIT_JOURNL": "j.sqlite3", "VENUEKIT_LIVE": "1", "HOME": "/"}
    assert environment.unknown(env) == [("VENUEKIT_JOURNL", "VENUEKIT_JOURNAL")]
    with caplog.at_level(logging.WARNING, logger="venuekit.environment"):
        environment.warn_unknown(env)
        environment.warn_unknown(env)  # once per process
    records = [r for r in caplog.records if r.name == "venuekit.environment"]
    assert len(records) == 1
    assert "did you mean VENUEKIT_JOURNAL?" in records[0].getMessage()
    assert records[0].__dict__["variable"] == "VENUEKIT_JOURNL"


def test_every_venuekit_variable_in_the_sources_is_in_the_one_list() -> None:
    named = set()
    for folder in ("core", "plugins", "tests", "docs"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".md"} and "plugin_template" not in path.parts:
                named |= set(re.findall(r"\bVENUEKIT_[A-Z_]*[A-Z]\b", path.read_text()))
    named |= set(re.findall(r"\bVENUEKIT_[A-Z_]*[A-Z]\b", (ROOT / "README.md").read_text()))
    listed = environment.known_names() | {"VENUEKIT_JOURNL"}  # the tests' own typo
    assert sorted(named - listed) == [], "add them to venuekit.environment.VARIABLES"


def test_credentials_are_masked_by_name_and_by_type() -> None:
    assert masked("api_key", "PK123") == MASK
    assert masked("KIS_APP_SECRET", "s") == MASK
    assert masked("token", Secret("t")) == MASK
    assert masked("seed", 7) == 7
    assert masked("commission", {"model": "flat", "secret": "x"}) == {"model": "flat",
                                                                       "secret": MASK}
