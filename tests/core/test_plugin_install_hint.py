"""A venue or an emulator of venuekit's own plugins, asked for without its plugin, names the
distribution to install; one installed but left out by the environment is said to be so."""

from __future__ import annotations

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit.plugins import PluginHost


@pytest.mark.parametrize(("kind", "name", "distribution", "folder"), [
    ("emulator", "alpaca", "venuekit-alpaca", "plugins/alpaca"),
    ("emulator", "binance", "venuekit-ccxt", "plugins/ccxt"),
    ("emulator", "kis", "venuekit-kis", "plugins/kis"),
    ("venue", "binance", "venuekit-ccxt", "plugins/ccxt"),
    ("venue", "mock", "venuekit-mock", "plugins/mock"),
])
def test_a_missing_plugin_is_named_with_how_to_install_it(kind: str, name: str,
                                                           distribution: str,
                                                           folder: str) -> None:
    host = PluginHost(load_entry_points=False)
    registry = host.emulators() if kind == "emulator" else host.venues()
    with pytest.raises(VenueKitError) as caught:
        registry.get(name)
    message = str(caught.value)
    assert caught.value.code in (Code.UNKNOWN_COMPONENT, Code.UNKNOWN_VENUE)
    assert f"`pip install {distribution}`" in message
    assert f"`pip install -e {folder}`" in message


def test_another_name_gets_no_install_advice() -> None:
    with pytest.raises(VenueKitError) as caught:
        PluginHost(load_entry_points=False).emulators().get("nasdaq")
    assert "pip install" not in str(caught.value)


def test_a_plugin_left_out_by_the_environment_is_not_said_to_be_missing() -> None:
    host = PluginHost(load_entry_points=False)
    host.left_out["alpaca"] = "VENUEKIT_LOAD_PLUGINS"
    with pytest.raises(VenueKitError) as caught:
        host.emulators().get("alpaca")
    assert "pip install" not in str(caught.value)
    assert "VENUEKIT_LOAD_PLUGINS leaves out the installed plugin(s) alpaca" in str(caught.value)
