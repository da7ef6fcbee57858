"""One configuration: where the journal, the venue state and a venue's options come from.

Every command and Python entry point resolves them through ``venuekit.settings``: the
journal given, else ``$VENUEKIT_JOURNAL``, else ``journal`` in the config file, else
``./.venuekit/journal.sqlite3``; the venue state beside the journal unless the config
names ``state_dir``; a venue's options given over its ``[venues.NAME]`` table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit.settings import load_settings


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)


def test_the_defaults_keep_everything_under_dot_venuekit() -> None:
    settings = load_settings()
    assert settings.journal == Path(".venuekit/journal.sqlite3")
    assert settings.state_dir == Path(".venuekit")
    assert settings.config_path is None and dict(settings.config) == {}


def test_precedence_is_given_then_environment_then_config_then_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("venuekit.toml").write_text('journal = "books/from-config.sqlite3"\n')
    assert load_settings().journal == Path("books/from-config.sqlite3")
    monkeypatch.setenv("VENUEKIT_JOURNAL", str(tmp_path / "env" / "j.sqlite3"))
    assert load_settings().journal == tmp_path / "env" / "j.sqlite3"
    given = load_settings(journal="given/j.sqlite3")
    assert given.journal == Path("given/j.sqlite3")
    assert given.state_dir == Path("given"), "the venue state follows the journal"


def test_paths_in_a_config_file_are_relative_to_its_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    config = elsewhere / "desk.toml"
    config.write_text('journal = "journal.sqlite3"\nstate_dir = "state"\n')
    settings = load_settings(config_path=config)
    assert settings.journal == elsewhere / "journal.sqlite3"
    assert settings.state_dir == elsewhere / "state"
    assert settings.config_path == config


def test_venue_options_given_win_over_the_config_table() -> None:
    Path("venuekit.toml").write_text('[venues.mock]\nseed = 4\ncash = "5000"\n')
    settings = load_settings()
    assert settings.venue_options("mock", {"seed": "9"}) == {"seed": "9", "cash": "5000"}
    assert settings.venue_options("alpaca") == {}


@pytest.mark.parametrize(("text", "fragment"), [
    ("journal = 5\n", "journal in venuekit.toml must be a path"),
    ('state_dir = ""\n', "state_dir in venuekit.toml must be a path"),
    ("journal = [\n", "not valid TOML"),
])
def test_bad_settings_are_configuration_errors(text: str, fragment: str) -> None:
    Path("venuekit.toml").write_text(text)
    with pytest.raises(VenueKitError) as raised:
        load_settings()
    assert raised.value.code is Code.INVALID_CONFIG and fragment in raised.value.message


def test_a_venue_table_that_is_not_a_table_is_refused() -> None:
    Path("venuekit.toml").write_text('venues = "mock"\n')
    with pytest.raises(VenueKitError) as raised:
        load_settings()
    assert raised.value.code is Code.INVALID_CONFIG
    assert "venues in venuekit.toml must be a table of [venues.NAME] tables" \
        in raised.value.message


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(VenueKitError) as raised:
        load_settings(config_path=tmp_path / "missing.toml")
    assert raised.value.code is Code.INVALID_CONFIG and "does not exist" in raised.value.message
