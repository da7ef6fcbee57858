"""The ``[venues.NAME]`` tables of the docs' ``venuekit.toml`` examples are accepted by the
venue's own ``from_config`` (built without a state directory: nothing is written, nothing
connects), for each venue whose plugin is installed here.
"""

from __future__ import annotations

import tomllib

import pytest

from tests.core.test_docs_config import EXAMPLES
from venuekit.errors import VenueKitError
from venuekit.plugins import default_host

TABLES = [(f"{where} [venues.{name}]", name, options)
          for where, text in EXAMPLES
          for name, options in tomllib.loads(text).get("venues", {}).items()]


def test_the_docs_have_venue_tables_to_check() -> None:
    assert any(name == "mock" for _, name, _ in TABLES)


@pytest.mark.parametrize(("where", "name", "options"), TABLES, ids=[w for w, _, _ in TABLES])
def test_every_documented_venue_table_is_accepted_by_its_venue(
        where: str, name: str, options: dict[str, object],
        monkeypatch: pytest.MonkeyPatch) -> None:
    venues = default_host().venues()
    if name not in venues:
        pytest.skip(f"the {name} plugin is not installed")
    # Examples leave credentials to the environment, as the docs advise.
    for variable in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "KIS_APP_KEY",
                     "KIS_APP_SECRET", "BINANCE_API_KEY", "BINANCE_API_SECRET"):
        monkeypatch.setenv(variable, "example")
    monkeypatch.setenv("KIS_ACCOUNT", "50012345-01")
    try:
        venues.get(name).from_config(options, state_dir=None)
    except VenueKitError as exc:
        pytest.fail(f"{where}: {exc.message}")
